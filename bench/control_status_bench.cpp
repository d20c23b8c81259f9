// control_status_bench: round-trip latency of the control socket's `status` call while
// `avenor run` streams events at full speed to one subscriber, against the same calls with no
// stream. See README.md.
//
//   control_status_bench --avenor PATH --fake-agent PATH [--calls N]
//
// Exit status: 0 whenever the measurements ran (figures are reported, not judged), 1 when the
// run or a call failed, 2 for a usage error.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "control_client/rpc_client.hpp"

extern char** environ;

namespace {

using namespace avenor::bench;

namespace bj = boost::json;
namespace fs = std::filesystem;
using avenor::host::control_client::RpcClient;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kWarmupCalls = 100;
constexpr int kReadyFd = 7;  // the fd number avenor gets for AVENOR_CONTROL_READY_FD (>= 3)
// The flood outlasts any measurement; the bench cancels the run when it is done.
constexpr std::int64_t kFloodEvents = 1'000'000'000;

struct Options {
  std::string avenor;
  std::string fake_agent;
  int calls = 2000;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "control_status_bench: " << message << "\n"
            << "usage: control_status_bench --avenor PATH --fake-agent PATH [--calls N default "
               "2000]\n";
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool inline_value = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    if (arg == "-h" || arg == "--help") usage_error("help requested");
    if (arg != "--avenor" && arg != "--fake-agent" && arg != "--calls")
      usage_error("unknown argument " + std::string(arg));
    if (!inline_value) {
      if (i + 1 >= argc) usage_error(std::string(arg) + " needs a value");
      value = argv[++i];
    }
    if (arg == "--avenor") o.avenor = value;
    if (arg == "--fake-agent") o.fake_agent = value;
    if (arg == "--calls") {
      int calls = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), calls);
      if (ec != std::errc{} || end != value.data() + value.size() || calls <= 0 ||
          calls > 1'000'000)
        usage_error("--calls needs an integer in 1..1000000, got \"" + std::string(value) + "\"");
      o.calls = calls;
    }
  }
  if (std::string problem = resolve_binaries(o.avenor, o.fake_agent); !problem.empty())
    usage_error(problem);
  return o;
}

// `avenor run --control-socket` on the fake agent. The destructor kills a run still going, so
// an exception never leaves it behind.
class AvenorRun {
 public:
  AvenorRun(const Options& o, const fs::path& dir) : socket_((dir / "c.sock").string()) {
    const fs::path bin = dir / "bin";
    fs::create_directory(bin);
    // avenor's default backend (opencode-acp) runs `opencode` from PATH: make that the fake.
    write_file(bin / "opencode", "#!/bin/sh\nexec '" + o.fake_agent + "' \"$@\"\n", true);
    // The permission is the gate between the quiet baseline and the flood.
    write_file(dir / "script.json",
               R"({"turns":[[{"permission":{},"on_allow":[{"flood":{"count":)" +
                   std::to_string(kFloodEvents) + R"(,"text":"x"}}]}]]})");
    stderr_path_ = dir / "avenor.stderr";

    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view entry(*e);
      if (entry.starts_with("PATH=") || entry.starts_with("FAKE_ACP_") ||
          entry.starts_with("AVENOR_CONTROL_"))
        continue;
      env.emplace_back(entry);
    }
    const char* path = std::getenv("PATH");
    env.push_back("PATH=" + bin.string() + ":" + (path != nullptr ? path : "/usr/bin:/bin"));
    env.push_back("FAKE_ACP_SCRIPT=" + (dir / "script.json").string());
    env.push_back("AVENOR_CONTROL_READY_FD=" + std::to_string(kReadyFd));
    const std::vector<std::string> args{o.avenor,           "run",       "--prompt", "x",
                                        "--on-event",       "/dev/null", "--dir",    dir.string(),
                                        "--control-socket", socket_};

    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) fail_errno("pipe2");
    Fd ready_read(ready[0]);
    Fd ready_write(ready[1]);
    Fd err(::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    Fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (err.get() < 0 || null.get() < 0) fail_errno("open");

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, null.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, null.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, err.get(), 2);
    posix_spawn_file_actions_adddup2(&actions, ready_write.get(), kReadyFd);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const int rc =
        ::posix_spawn(&pid_, o.avenor.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn avenor");
    ready_write.reset();

    // One byte 0x01 once the socket is bound; EOF means avenor failed before that.
    pollfd p{ready_read.get(), POLLIN, 0};
    char byte = 0;
    if (::poll(&p, 1, 30000) <= 0 || ::read(ready_read.get(), &byte, 1) != 1 || byte != 1)
      throw std::runtime_error("avenor's control socket did not become ready; stderr:\n" +
                               tail_of(stderr_path_));
  }
  AvenorRun(const AvenorRun&) = delete;
  AvenorRun& operator=(const AvenorRun&) = delete;
  ~AvenorRun() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  const std::string& socket() const { return socket_; }

  // Exit status, or nullopt when avenor is still running after `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (true) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (r < 0) fail_errno("waitpid");
      if (Clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(5ms);  // polling a child's exit, not synchronising
    }
  }
  std::string stderr_text() const { return tail_of(stderr_path_); }

 private:
  std::string socket_;
  fs::path stderr_path_;
  pid_t pid_ = -1;
};

// The one subscriber: its own connection, read by a thread as fast as it can parse.
class Subscriber {
 public:
  explicit Subscriber(const std::string& socket) : client_(socket) {
    client_.call("subscribe", std::nullopt);
    thread_ = std::thread([this] { read(); });
  }
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;
  ~Subscriber() {
    client_.close_from_any_thread();
    thread_.join();
  }
  std::int64_t delivered() const { return delivered_.load(); }
  std::int64_t dropped() const { return dropped_.load(); }
  bool ended() const { return ended_.load(); }
  std::optional<std::string> error() const {
    return failed_.load() ? std::optional<std::string>(error_) : std::nullopt;
  }

 private:
  void read() {
    try {
      while (std::optional<bj::object> event = client_.next_event()) {
        const bj::value* name = event->if_contains("event");
        if (name != nullptr && name->is_string() && name->get_string() == "subscriber.lagged") {
          if (const bj::value* n = event->if_contains("dropped_count"); n && n->is_int64())
            dropped_ += n->get_int64();
          continue;
        }
        if (name != nullptr && name->is_string() && name->get_string() == "session.end")
          ended_ = true;
        ++delivered_;
      }
    } catch (const std::exception& e) {
      error_ = e.what();
      failed_ = true;
    }
  }

  RpcClient client_;
  std::atomic<std::int64_t> delivered_{0};
  std::atomic<std::int64_t> dropped_{0};
  std::atomic<bool> ended_{false};
  std::atomic<bool> failed_{false};
  std::string error_;  // written before failed_ is set
  std::thread thread_;
};

struct Latency {
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

Latency measure_status(RpcClient& client, int calls) {
  for (int i = 0; i < kWarmupCalls; ++i) client.call("status", std::nullopt);
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(calls));
  for (int i = 0; i < calls; ++i) {
    const auto start = Clock::now();
    client.call("status", std::nullopt);
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    const auto index = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1));
    return samples[index];
  };
  return {at(0.50), at(0.99), samples.back()};
}

template <typename Pred>
void wait_for(Pred done, const std::string& what, AvenorRun& run) {
  const auto deadline = Clock::now() + 30s;
  while (!done()) {
    if (run.wait(0ms))
      throw std::runtime_error("avenor exited while waiting for " + what + "; stderr:\n" +
                               run.stderr_text());
    if (Clock::now() > deadline) throw std::runtime_error("timed out waiting for " + what);
    std::this_thread::sleep_for(2ms);  // polling a condition with a deadline
  }
}

void print_row(const char* label, const Latency& l) {
  std::printf("  %-22s p50 %8.1f us   p99 %8.1f us   max %9.1f us\n", label, l.p50_us, l.p99_us,
              l.max_us);
}

int run_bench(const Options& o) {
  TempDir dir;
  AvenorRun run(o, dir.path());
  Subscriber subscriber(run.socket());
  RpcClient control(run.socket());

  // Baseline: the turn waits on its permission, so no event flows.
  bj::value snapshot;
  wait_for(
      [&] {
        snapshot = control.call("status", std::nullopt);
        const bj::value* pending = snapshot.as_object().if_contains("pending_permission");
        return pending != nullptr && pending->is_bool() && pending->get_bool();
      },
      "the permission gate", run);
  const std::int64_t quiet_events = subscriber.delivered();
  const Latency baseline = measure_status(control, o.calls);
  const std::int64_t baseline_events = subscriber.delivered() - quiet_events;

  // Open the gate: the fake floods agent_message_chunk as fast as avenor takes it.
  const bj::value& request_id = snapshot.at("permission").at("request_id");
  control.call("answer_permission", bj::object{{"request_id", request_id}, {"option_id", "once"}});
  wait_for([&] { return subscriber.delivered() - quiet_events > 10000; }, "the flood to start",
           run);

  const std::int64_t delivered_before = subscriber.delivered();
  const std::int64_t dropped_before = subscriber.dropped();
  const auto stream_start = Clock::now();
  const Latency streaming = measure_status(control, o.calls);
  const double stream_seconds = std::chrono::duration<double>(Clock::now() - stream_start).count();
  const std::int64_t delivered = subscriber.delivered() - delivered_before;
  const std::int64_t dropped = subscriber.dropped() - dropped_before;
  const bool flood_outlasted = !subscriber.ended();

  control.call("cancel", std::nullopt);
  const std::optional<int> exit_code = run.wait(30s);
  if (!exit_code) throw std::runtime_error("avenor did not exit within 30 s of the cancel");
  if (std::optional<std::string> error = subscriber.error())
    throw std::runtime_error("subscriber: " + *error);

  std::printf("control status round trip, %d calls each (after %d warm-up calls)\n", o.calls,
              kWarmupCalls);
  print_row("baseline (no stream)", baseline);
  print_row("streaming", streaming);
  std::printf("  ratio streaming/baseline: p50 %.2fx   p99 %.2fx\n",
              streaming.p50_us / baseline.p50_us, streaming.p99_us / baseline.p99_us);
  std::printf(
      "  stream during the timed calls: %lld events delivered to the subscriber (%.0f "
      "events/s), %lld dropped by the server (subscriber.lagged), %.2f s\n",
      static_cast<long long>(delivered), static_cast<double>(delivered) / stream_seconds,
      static_cast<long long>(dropped), stream_seconds);
  if (baseline_events != 0)
    std::printf("  WARNING: %lld events arrived during the baseline\n",
                static_cast<long long>(baseline_events));
  if (!flood_outlasted) std::printf("  WARNING: the flood ended before the timed calls did\n");
  if (*exit_code != 130)
    std::printf("  WARNING: avenor exited %d after the cancel (expected 130); stderr:\n%s\n",
                *exit_code, run.stderr_text().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_args(argc, argv);
  try {
    return run_bench(options);
  } catch (const std::exception& e) {
    std::cerr << "control_status_bench: " << e.what() << "\n";
    return 1;
  }
}
