// The smallest useful backend: the "agent" is `cat`. The plugin sends each
// prompt as one line to cat's stdin and turns the line cat echoes back into a
// message chunk and a session.end. It shows the plugin model: the host owns
// the process and the pipes; the plugin only translates bytes and commands.
#include <avenor/sdk/export.hpp>
#include <deque>
#include <memory>
#include <string>

namespace {

class EchoBackend : public avenor::sdk::Backend {
 public:
  using Backend::Backend;

  avenor::sdk::LaunchSpec launch() override { return {{"cat"}, {}, {}, {}}; }

  void on_bytes(std::string_view bytes) override {
    buffer_.append(bytes);
    for (auto nl = buffer_.find('\n'); nl != std::string::npos; nl = buffer_.find('\n')) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      finish_turn(line);
    }
  }

  void on_closed(std::string_view reason) override {
    for (auto& op : turns_) op.fail("echo backend exited: " + std::string(reason));
    turns_.clear();
  }

  void start_session(avenor::sdk::Operation op, std::optional<std::string> resume) override {
    op.complete(boost::json::object{{"session_id", resume.value_or("echo-session")}});
  }

  void prompt(avenor::sdk::Operation op, const std::string&, const std::string& text) override {
    std::string line = text;
    for (char& c : line)
      if (c == '\n') c = ' ';  // one prompt, one line
    host().write(line + "\n");
    turns_.push_back(std::move(op));
  }

  void cancel(avenor::sdk::Operation op, const std::string&) override { op.complete(); }

  void answer_permission(avenor::sdk::Operation op, const avenor::sdk::PermissionAnswer&) override {
    op.fail("the echo backend never asks for permission");
  }

 private:
  void finish_turn(const std::string& echoed) {
    if (turns_.empty()) return;
    host().emit({{"event", "agent.message_chunk"},
                 {"session_id", "echo-session"},
                 {"content", {{"type", "text"}, {"text", "echo: " + echoed}}}});
    host().emit(
        {{"event", "session.end"}, {"session_id", "echo-session"}, {"stop_reason", "end_turn"}});
    turns_.front().complete();
    turns_.pop_front();
  }

  std::string buffer_;
  std::deque<avenor::sdk::Operation> turns_;
};

constexpr avenor_backend_info kBackends[] = {
    {sizeof(avenor_backend_info), "echo", "cat", AVENOR_CAP_RESUME, 0, nullptr}};

std::unique_ptr<avenor::sdk::Backend> make(std::string_view backend, avenor::sdk::Host host,
                                           avenor::sdk::StartOptions options) {
  if (backend != "echo") return nullptr;
  return std::make_unique<EchoBackend>(host, std::move(options));
}

}  // namespace

AVENOR_PLUGIN("echo", "1.0.0", kBackends, make)
