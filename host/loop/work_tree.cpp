#include "loop/work_tree.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "plugin_host/launch_environment.hpp"
#include "process/child_process.hpp"

namespace avenor::host {

namespace asio = boost::asio;

namespace {

// A git that does not answer within this is treated as failed.
constexpr auto kGitTimeout = std::chrono::seconds(30);

std::string trim_trailing_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// One git child. The `done` timer never expires on its own: the child's end
// cancels it, which wakes the waiting coroutine.
struct GitCall {
  explicit GitCall(asio::io_context& io)
      : done(io, asio::steady_timer::time_point::max()), deadline(io) {}
  std::unique_ptr<ChildProcess> child;
  std::string out;
  std::optional<std::string> result;
  asio::steady_timer done;
  asio::steady_timer deadline;
};

}  // namespace

asio::awaitable<std::optional<std::string>> GitWorkTree::git(std::vector<std::string> args) {
  LaunchRequest request;
  request.argv = {"git", "-C", dir_};
  request.argv.insert(request.argv.end(), args.begin(), args.end());
  // Reading must not take the index lock an agent's own git may need.
  request.env["GIT_OPTIONAL_LOCKS"] = "0";
  request.env["GIT_TERMINAL_PROMPT"] = "0";

  auto call = std::make_shared<GitCall>(io_);
  ChildHandlers handlers;
  handlers.on_stdout = [call](std::string_view bytes) { call->out.append(bytes); };
  handlers.on_closed = [call](std::string) {
    auto child = std::move(call->child);  // the call ends here; so does the child
    if (child && child->exit_code() == 0) call->result = std::move(call->out);
    call->deadline.cancel();
    call->done.cancel();
  };
  try {
    call->child = ChildProcess::spawn(io_, make_child_spec(request), std::move(handlers));
  } catch (const std::exception&) {
    co_return std::nullopt;  // no git on PATH, or a work dir that is gone
  }
  call->child->finish_input();
  call->deadline.expires_after(kGitTimeout);
  call->deadline.async_wait([call](boost::system::error_code ec) {
    if (!ec && call->child) call->child->kill_now("git timed out");
  });
  co_await call->done.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return std::move(call->result);
}

asio::awaitable<std::string> GitWorkTree::head() {
  // A named vector: GCC 12 cannot pass a braced list straight to a coroutine.
  std::vector<std::string> args{"rev-parse", "HEAD"};
  auto out = co_await git(std::move(args));
  co_return out ? trim_trailing_newlines(std::move(*out)) : std::string();
}

asio::awaitable<std::string> GitWorkTree::diff_stat(std::string since) {
  if (since.empty()) co_return std::string();
  std::vector<std::string> args{"diff", "--no-color", "--no-ext-diff", "--stat", since, "--"};
  auto out = co_await git(std::move(args));
  co_return out ? trim_trailing_newlines(std::move(*out)) : std::string();
}

asio::awaitable<std::string> GitWorkTree::changed_files(std::string since) {
  if (since.empty()) co_return std::string();
  std::vector<std::string> args{"diff", "--no-color", "--no-ext-diff", "--name-only", since, "--"};
  auto out = co_await git(std::move(args));
  co_return out ? trim_trailing_newlines(std::move(*out)) : std::string();
}

}  // namespace avenor::host
