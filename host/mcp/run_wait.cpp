#include "mcp/run_wait.hpp"

#include <algorithm>
#include <avenor/sdk/json.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "mcp/run_status.hpp"

namespace avenor::host::mcp {

namespace asio = boost::asio;
namespace bj = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

bool pending(const bj::object& s) {
  const bj::value* v = s.if_contains("pending_permission");
  return v != nullptr && v->is_bool() && v->get_bool();
}

// A pending permission ends every kind of wait.
bool wait_over(WaitKind kind, const bj::object& s, const std::string& first_phase) {
  if (pending(s)) return true;
  if (kind == WaitKind::permission) return false;
  if (is_terminal(sdk::json::string_or(s, "status"))) return true;
  return kind == WaitKind::phase_change && sdk::json::string_or(s, "phase") != first_phase;
}

}  // namespace

std::optional<WaitKind> parse_wait_kind(std::string_view name) {
  if (name == "terminal") return WaitKind::terminal;
  if (name == "phase_change") return WaitKind::phase_change;
  if (name == "turn_complete") return WaitKind::turn_complete;
  if (name == "permission") return WaitKind::permission;
  return std::nullopt;
}

asio::awaitable<bj::object> wait_for_run(ToolRunner& tools, RunRecord& run, WaitKind kind,
                                         std::optional<std::chrono::milliseconds> limit,
                                         ProgressReport progress) {
  const auto max_wait = tools.settings().max_wait;
  const auto span = std::min(limit.value_or(max_wait), max_wait);
  const auto start = Clock::now();
  const auto deadline = start + span;
  const double total = std::chrono::duration<double>(span).count();
  std::optional<std::string> first_phase;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    bj::object s = co_await tools.status(run);
    if (!first_phase) first_phase = sdk::json::string_or(s, "phase");
    const bool over = wait_over(kind, s, *first_phase);
    const auto now = Clock::now();
    if (over || now >= deadline || tools.waits_ended()) {
      s["timed_out"] = !over;
      co_return s;
    }
    if (progress) {
      std::string message = run.label + " " + sdk::json::string_or(s, "status");
      if (const std::string phase = sdk::json::string_or(s, "phase"); !phase.empty())
        message += ", phase " + phase;
      progress(std::chrono::duration<double>(now - start).count(), total, message);
    }
    timer.expires_after(std::min<Clock::duration>(tools.settings().poll_interval, deadline - now));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace avenor::host::mcp
