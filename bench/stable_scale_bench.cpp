// stable_scale_bench: `avenor stable` with N runtimes of the scripted fake agent. Spawn latency
// against a plain `avenor run` start-to-exit, supervisor and per-runtime RSS with N parked
// runtimes, and `list` / `status` latency, quiet and while some runtimes stream. See README.md.
//
//   stable_scale_bench --avenor PATH --fake-agent PATH [--runtimes 50,100,200] [--streamers 50]
//                      [--calls 200] [--plain-runs 7] [--quick]
//
// Exit status: 0 whenever the measurements ran (figures are reported, not judged), 1 when the
// supervisor or a call failed, 2 for a usage error.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
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

namespace {

using namespace avenor::bench;

namespace bj = boost::json;
namespace fs = std::filesystem;
using avenor::host::control_client::RpcClient;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kReadyFd = 7;  // the fd number the supervisor gets for AVENOR_CONTROL_READY_FD
constexpr int kWarmupCalls = 20;
// Every process the bench starts carries MARK=<temp dir>, so clean-up can find the runtimes and
// agents the supervisor left behind whatever their process groups.
constexpr const char* kMarkVar = "AVENOR_BENCH_STABLE_MARK";
// The timed calls of each method while streaming stop after this (the flood fills the disk).
constexpr std::chrono::seconds kStreamBudget{30};
constexpr std::int64_t kFloodEvents = 1'000'000'000;  // outlasts any measurement

struct Options {
  std::string avenor, fake_agent;
  std::vector<int> runtimes{50, 100, 200};
  int streamers = 50;
  int calls = 200;
  int plain_runs = 7;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "stable_scale_bench: " << message << "\n"
            << "usage: stable_scale_bench --avenor PATH --fake-agent PATH [--runtimes N,N,... "
               "default 50,100,200]\n"
               "       [--streamers S default 50] [--calls C default 200] [--plain-runs K "
               "default 7]\n"
               "       [--quick  (N=20, S=10, C=50, K=3; explicit flags still win)]\n";
  std::exit(2);
}

int parse_int(std::string_view flag, std::string_view value, int low, int high) {
  int n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || end != value.data() + value.size() || n < low || n > high)
    usage_error(std::string(flag) + " needs an integer in " + std::to_string(low) + ".." +
                std::to_string(high) + ", got \"" + std::string(value) + "\"");
  return n;
}

Options parse_args(int argc, char** argv) {
  std::map<std::string, std::string> values;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") usage_error("help requested");
    if (arg == "--quick") {
      quick = true;
      continue;
    }
    if (!arg.starts_with("--")) usage_error("unexpected argument " + arg);
    if (auto eq = arg.find('='); eq != std::string::npos)
      values[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
    else if (i + 1 < argc)
      values[arg.substr(2)] = argv[++i];
    else
      usage_error(arg + " needs a value");
  }
  Options o;
  if (quick) o = Options{"", "", {20}, 10, 50, 3};
  for (const auto& [key, value] : values) {
    if (key == "avenor") {
      o.avenor = value;
    } else if (key == "fake-agent") {
      o.fake_agent = value;
    } else if (key == "streamers") {
      o.streamers = parse_int("--streamers", value, 0, 10000);
    } else if (key == "calls") {
      o.calls = parse_int("--calls", value, 1, 1'000'000);
    } else if (key == "plain-runs") {
      o.plain_runs = parse_int("--plain-runs", value, 1, 1000);
    } else if (key == "runtimes") {
      o.runtimes.clear();
      std::string_view rest = value;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        o.runtimes.push_back(parse_int("--runtimes", rest.substr(0, comma), 1, 5000));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
      if (o.runtimes.empty()) usage_error("--runtimes needs at least one number");
    } else {
      usage_error("unknown flag --" + key);
    }
  }
  if (std::string problem = resolve_binaries(o.avenor, o.fake_agent); !problem.empty())
    usage_error(problem);
  return o;
}

// ---- Processes ----

// A child process; the destructor SIGKILLs one still running (its process group when it got
// its own), so an exception never leaves it behind.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::vector<std::string>& env,
        const fs::path& stderr_path, int ready_write = -1, bool own_group = false)
      : own_group_(own_group) {
    Fd err(::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    Fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (err.get() < 0 || null.get() < 0) fail_errno("open");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, null.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, null.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, err.get(), 2);
    if (ready_write >= 0) posix_spawn_file_actions_adddup2(&actions, ready_write, kReadyFd);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    if (own_group) {
      posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
      posix_spawnattr_setpgroup(&attr, 0);
    }
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0].c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn " + args[0]);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(own_group_ ? -pid_ : pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

  pid_t pid() const { return pid_; }

  // Exit status (128+signal when killed), or nullopt when still running after `limit`.
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
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(1ms);  // polling a child's exit, not synchronising
    }
  }

 private:
  bool own_group_;
  pid_t pid_ = -1;
};

// A "Key:   1234 kB" line of /proc/PID/<file>, in MiB; 0 when absent or the process is gone.
double proc_mib(pid_t pid, const char* file, std::string_view key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':')
      return double(std::strtol(line.c_str() + key.size() + 1, nullptr, 10)) / 1024;
  return 0;
}

// Time a process spent runnable but waiting for a CPU (schedstat), in ms.
double run_queue_ms(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/schedstat");
  unsigned long long on_cpu = 0, waiting = 0;
  in >> on_cpu >> waiting;
  return static_cast<double>(waiting) / 1e6;
}

// utime + stime of a live process, in ms; 0 once it is gone.
double cpu_ms(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt (fields 3..13)
  long long utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Live (not zombie) processes whose environment holds MARK=<mark>.
std::vector<pid_t> marked_processes(const std::string& mark) {
  const std::string needle = std::string(kMarkVar) + "=" + mark;
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "environ", std::ios::binary);
    std::string var;
    bool marked = false;
    while (!marked && std::getline(in, var, '\0')) marked = var == needle;
    if (!marked) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    if (paren != std::string::npos && paren + 2 < text.size() &&
        (text[paren + 2] == 'Z' || text[paren + 2] == 'X'))
      continue;
    out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

// Waits up to `grace` for the marked processes to go on their own, then SIGKILLs the rest.
// Returns how many had to be killed.
std::size_t reap_marked(const std::string& mark, std::chrono::milliseconds grace) {
  const auto deadline = Clock::now() + grace;
  std::vector<pid_t> left = marked_processes(mark);
  while (!left.empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);  // polling /proc with a deadline
    left = marked_processes(mark);
  }
  const std::size_t killed = left.size();
  for (int round = 0; round < 100 && !left.empty(); ++round) {
    for (pid_t pid : left) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(20ms);
    left = marked_processes(mark);
  }
  return killed;
}

// Kills whatever carries the mark when the bench unwinds (declared after the TempDir, so it runs
// before the directory is removed).
class MarkedReaper {
 public:
  explicit MarkedReaper(std::string mark) : mark_(std::move(mark)) {}
  MarkedReaper(const MarkedReaper&) = delete;
  MarkedReaper& operator=(const MarkedReaper&) = delete;
  ~MarkedReaper() {
    try {
      if (const std::size_t n = reap_marked(mark_, 0ms))
        std::fprintf(stderr, "stable_scale_bench: killed %zu leftover processes\n", n);
    } catch (const std::exception&) {
    }
  }

 private:
  std::string mark_;
};

// ---- Figures ----

struct Latency {
  double p50 = 0, p99 = 0, max = 0;  // ms
  std::size_t count = 0;
};

Latency percentiles(std::vector<double> ms) {
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[static_cast<std::size_t>(q * double(ms.size() - 1))]; };
  return {at(0.50), at(0.99), ms.back(), ms.size()};
}

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

const char* verdict(bool ok) { return ok ? "PASS" : "MISSED"; }

struct Entry {  // what the bench uses of a runtime entry (control.md §10.5)
  std::string id, status, phase;
  pid_t runtime_pid = 0, agent_pid = 0;
  std::int64_t latest_seq = 0;
};

std::int64_t int_or_zero(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

std::string string_or_empty(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(std::string_view(v->get_string()))
                                        : std::string();
}

std::map<std::string, Entry> list_entries(RpcClient& client) {
  std::map<std::string, Entry> out;
  const bj::value listing = client.call("list", std::nullopt);
  for (const bj::value& v : listing.as_array()) {
    const bj::object& o = v.as_object();
    Entry e{string_or_empty(o, "runtime_id"),
            string_or_empty(o, "status"),
            string_or_empty(o, "phase"),
            static_cast<pid_t>(int_or_zero(o, "runtime_pid")),
            static_cast<pid_t>(int_or_zero(o, "pid")),
            int_or_zero(o, "latest_seq")};
    out.emplace(e.id, e);
  }
  return out;
}

struct RssFigures {
  double mean_mib = 0, max_mib = 0, anon_mean_mib = 0, pss_mean_mib = 0, total_mib = 0;
  int counted = 0;
};

// VmRSS of the live processes among `pids`; PSS divides shared pages among their users.
RssFigures rss_of(const std::vector<pid_t>& pids) {
  RssFigures r;
  for (pid_t pid : pids) {
    const double rss = proc_mib(pid, "status", "VmRSS");
    if (rss == 0) continue;  // gone
    r.total_mib += rss;
    r.max_mib = std::max(r.max_mib, rss);
    r.anon_mean_mib += proc_mib(pid, "status", "RssAnon");
    r.pss_mean_mib += proc_mib(pid, "smaps_rollup", "Pss");
    ++r.counted;
  }
  if (r.counted > 0) {
    r.mean_mib = r.total_mib / r.counted;
    r.anon_mean_mib /= r.counted;
    r.pss_mean_mib /= r.counted;
  }
  return r;
}

// `calls` timed round trips of `method` (status cycles through `ids`), after a warm-up; fewer
// when they take longer than `budget` in all.
Latency time_calls(RpcClient& client, const std::string& method,
                   const std::vector<std::string>& ids, int calls,
                   Clock::duration budget = Clock::duration::max()) {
  auto one = [&](int i) {
    if (method == "status")
      client.call("status", bj::object{{"runtime_id", ids[std::size_t(i) % ids.size()]}});
    else
      client.call(method, std::nullopt);
  };
  for (int i = 0; i < kWarmupCalls; ++i) one(i);
  std::vector<double> samples;
  samples.reserve(std::size_t(calls));
  const auto deadline =
      budget == Clock::duration::max() ? Clock::time_point::max() : Clock::now() + budget;
  for (int i = 0; i < calls && Clock::now() < deadline; ++i) {
    const auto start = Clock::now();
    one(i);
    samples.push_back(elapsed_ms(start));
  }
  return percentiles(std::move(samples));
}

void print_latency(const char* label, const Latency& l, const char* extra = "") {
  std::printf("  %-34s p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms  n=%zu%s\n", label, l.p50, l.p99,
              l.max, l.count, extra);
}

// ---- The world: wrapper, script, environment ----

struct World {
  fs::path root;
  fs::path work;  // every runtime's --dir
  std::vector<std::string> env;
};

World make_world(const Options& o, const fs::path& root) {
  World w{root, root / "work", {}};
  const fs::path bin = root / "bin";
  fs::create_directories(bin);
  fs::create_directories(w.work);
  // The first prompt parks the runtime after one chunk; "@stream" floods until killed.
  const fs::path script = root / "script.json";
  write_file(script, R"({"session_id":"ses_bench","by_prompt":[{"contains":"@stream","turn":)"
                     R"([{"flood":{"count":)" +
                         std::to_string(kFloodEvents) +
                         R"(,"text":"streaming chunk"}}]}],)"
                         R"("turns":[[{"chunk":"parked"},{"end":{"stopReason":"end_turn"}}]]})");
  // avenor's default backend (opencode-acp) runs `opencode` from PATH: make that the fake.
  write_file(bin / "opencode",
             "#!/bin/sh\nFAKE_ACP_SCRIPT='" + script.string() +
                 "'\nexport FAKE_ACP_SCRIPT\nunset FAKE_ACP_RECORD\nexec '" + o.fake_agent +
                 "' \"$@\"\n",
             true);
  const char* path = std::getenv("PATH");
  for (std::string& e :
       environment_with({{"PATH", bin.string() + ":" + (path ? path : "/usr/bin:/bin")},
                         {"FAKE_ACP_SCRIPT", script.string()},
                         {kMarkVar, root.string()}})) {
    if (e.starts_with("AVENOR_CONTROL_") || e.starts_with("AVENOR_OPENCODE_URL=")) continue;
    w.env.push_back(std::move(e));
  }
  return w;
}

// One plain `avenor run` of the same first turn, start to exit, in ms.
double plain_run_ms(const Options& o, const World& w, int i) {
  const fs::path dir = w.root / "plain";
  fs::create_directories(dir);
  const fs::path err = dir / ("run-" + std::to_string(i) + ".stderr");
  const std::vector<std::string> args{o.avenor, "run",          "--prompt",
                                      "hello",  "--on-event",   (dir / "events.ndjson").string(),
                                      "--dir",  w.work.string()};
  const auto start = Clock::now();
  Child run(args, w.env, err);
  const std::optional<int> code = run.wait(60s);
  const double ms = elapsed_ms(start);
  if (!code) throw std::runtime_error("plain avenor run did not exit within 60 s");
  if (*code != 0)
    throw std::runtime_error("plain avenor run exited " + std::to_string(*code) + "; stderr:\n" +
                             tail_of(err));
  return ms;
}

// ---- One supervisor with N runtimes ----

class Supervisor {
 public:
  Supervisor(const Options& o, const World& w, const fs::path& dir, int max_runtimes)
      : socket_((dir / "s.sock").string()), stderr_path_(dir / "stable.stderr") {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) fail_errno("pipe2");
    Fd ready_read(ready[0]);
    Fd ready_write(ready[1]);
    std::vector<std::string> env = w.env;
    env.push_back("AVENOR_CONTROL_READY_FD=" + std::to_string(kReadyFd));
    const std::vector<std::string> args{o.avenor,           "stable",
                                        "--control-socket", socket_,
                                        "--state-dir",      (dir / "state").string(),
                                        "--max-runtimes",   std::to_string(max_runtimes),
                                        "--parked-timeout", "0"};
    child_.emplace(args, env, stderr_path_, ready_write.get(), true);
    ready_write.reset();
    // One byte 0x01 once the socket is bound; EOF means the supervisor failed before that.
    pollfd p{ready_read.get(), POLLIN, 0};
    char byte = 0;
    if (::poll(&p, 1, 30000) <= 0 || ::read(ready_read.get(), &byte, 1) != 1 || byte != 1)
      throw std::runtime_error("avenor stable did not become ready; stderr:\n" + stderr_text());
  }

  const std::string& socket() const { return socket_; }
  pid_t pid() const { return child_->pid(); }
  std::string stderr_text() const { return tail_of(stderr_path_); }
  std::optional<int> wait(std::chrono::milliseconds limit) { return child_->wait(limit); }

 private:
  std::string socket_;
  fs::path stderr_path_;
  std::optional<Child> child_;
};

struct SizeResult {
  int n = 0;
  int parked = 0;
  Latency spawn;
  double supervisor_rss_mib = 0, supervisor_hwm_mib = 0;
  RssFigures runtimes;
  Latency list_quiet, status_quiet, list_stream, status_stream;
};

// Polls `list` until `ready` holds for every runtime in `ids`; returns the last listing.
template <typename Pred>
std::map<std::string, Entry> wait_entries(RpcClient& reader, const std::vector<std::string>& ids,
                                          Pred ready, std::chrono::seconds limit,
                                          const std::string& what, Supervisor& sup) {
  const auto deadline = Clock::now() + limit;
  while (true) {
    std::map<std::string, Entry> entries = list_entries(reader);
    int missing = 0;
    for (const std::string& id : ids)
      if (auto it = entries.find(id); it == entries.end() || !ready(it->second)) ++missing;
    if (missing == 0) return entries;
    if (sup.wait(0ms))
      throw std::runtime_error("avenor stable exited while waiting for " + what + "; stderr:\n" +
                               sup.stderr_text());
    if (Clock::now() > deadline)
      throw std::runtime_error(what + ": " + std::to_string(missing) +
                               " runtimes not there after " + std::to_string(limit.count()) + " s");
    std::this_thread::sleep_for(50ms);  // polling the supervisor with a deadline
  }
}

// The supervisor's CPU use, and its time runnable but without a CPU, over a window.
class LoadWindow {
 public:
  explicit LoadWindow(pid_t pid)
      : pid_(pid), start_(Clock::now()), cpu0_(cpu_ms(pid)), wait0_(run_queue_ms(pid)) {}
  double seconds() const { return elapsed_ms(start_) / 1000; }
  void print(const char* label) const {
    const double ms = elapsed_ms(start_);
    std::printf("  %-34s %.0f%% of a core, %.0f%% waiting for a CPU, over %.1f s\n", label,
                100 * (cpu_ms(pid_) - cpu0_) / ms, 100 * (run_queue_ms(pid_) - wait0_) / ms,
                ms / 1000);
  }

 private:
  pid_t pid_;
  Clock::time_point start_;
  double cpu0_, wait0_;
};

std::string target_note(bool applies, const char* target, bool ok) {
  return applies ? std::string("   target ") + target + "   " + verdict(ok) : std::string();
}

// One supervisor with N runtimes, measured phase by phase.
class SizeRun {
 public:
  SizeRun(const Options& o, const World& w, int n, const fs::path& dir)
      : o_(o), w_(w), sup_(o, w, dir, n + 60), owner_(sup_.socket()), reader_(sup_.socket()) {
    r_.n = n;
  }

  const SizeResult& result() const { return r_; }

  // Sequential spawns over the owner connection, against the plain run.
  void spawn_all(double plain_ms) {
    std::vector<double> ms;
    std::string error;
    const auto spawning = Clock::now();
    while (int(ids_.size()) < r_.n) {
      const auto start = Clock::now();
      try {
        const bj::value result =
            owner_.call("spawn", bj::object{{"prompt", "hello"}, {"dir", w_.work.string()}}, 60s);
        ms.push_back(elapsed_ms(start));
        ids_.emplace_back(std::string_view(result.at("runtime_id").as_string()));
      } catch (const avenor::host::control_client::CallError& e) {
        error = e.what();
        break;
      }
    }
    r_.spawn = percentiles(ms);
    print_latency("spawn round trip (sequential)", r_.spawn);
    std::printf("  %-34s %zu of %d ok in %.1f s\n", "", ids_.size(), r_.n,
                elapsed_ms(spawning) / 1000);
    if (!error.empty())
      std::printf("  WARNING: spawn %zu failed: %s\n", ids_.size() + 1, error.c_str());
    std::printf("  %-34s %8.2fx   target <= 2x   %s\n", "spawn p50 / plain run start-to-exit",
                r_.spawn.p50 / plain_ms, verdict(r_.spawn.p50 <= 2 * plain_ms));
    if (ids_.empty()) throw std::runtime_error("no runtime could be spawned: " + error);

    const auto parking = Clock::now();
    entries_ = wait_entries(
        reader_, ids_, [](const Entry& e) { return e.status == "idle" && e.phase == "done"; },
        std::chrono::seconds(60 + r_.n), "runtimes parked", sup_);
    r_.parked = int(ids_.size());
    std::printf("  %-34s %d of %d, all idle %.1f s after the last spawn%s\n", "parked runtimes",
                r_.parked, r_.n, elapsed_ms(parking) / 1000,
                target_note(r_.n >= 200, "200", r_.parked >= 200).c_str());
  }

  // RSS with N parked runtimes, and what they cost while idle.
  void memory() {
    for (const auto& [id, e] : entries_) {
      if (e.runtime_pid > 0) runtime_pids_.push_back(e.runtime_pid);
      if (e.agent_pid > 0) agent_pids_.push_back(e.agent_pid);
    }
    r_.supervisor_rss_mib = proc_mib(sup_.pid(), "status", "VmRSS");
    r_.supervisor_hwm_mib = proc_mib(sup_.pid(), "status", "VmHWM");
    r_.runtimes = rss_of(runtime_pids_);
    std::printf("  %-34s VmRSS %6.1f MiB  VmHWM %6.1f MiB  (RssAnon %.1f MiB)%s\n",
                "supervisor RSS, N parked", r_.supervisor_rss_mib, r_.supervisor_hwm_mib,
                proc_mib(sup_.pid(), "status", "RssAnon"),
                target_note(r_.n >= 200, "<= 64 MiB", r_.supervisor_hwm_mib <= 64).c_str());
    print_rss("per-runtime RSS (avenor run)", r_.runtimes,
              target_note(true, "<= 8 MiB (max VmRSS)", r_.runtimes.max_mib <= 8));
    print_rss("fake agent RSS", rss_of(agent_pids_), "");

    auto cpu_all = [&] {
      double total = cpu_ms(sup_.pid());
      for (pid_t p : runtime_pids_) total += cpu_ms(p);
      for (pid_t p : agent_pids_) total += cpu_ms(p);
      return total;
    };
    const double sup0 = cpu_ms(sup_.pid()), all0 = cpu_all();
    std::this_thread::sleep_for(2s);  // a measurement window, not synchronisation
    std::printf("  %-34s supervisor %.0f ms, all %zu processes %.0f ms\n", "CPU over 2 s, N parked",
                cpu_ms(sup_.pid()) - sup0, 1 + runtime_pids_.size() + agent_pids_.size(),
                cpu_all() - all0);
  }

  // list / status over the second connection, no runtime busy.
  void quiet_calls() {
    const LoadWindow load(sup_.pid());
    r_.list_quiet = time_calls(reader_, "list", ids_, o_.calls);
    r_.status_quiet = time_calls(reader_, "status", ids_, o_.calls);
    std::printf("  quiet (%d calls each, after %d warm-up):\n", o_.calls, kWarmupCalls);
    print_latency("list", r_.list_quiet,
                  target_note(r_.n >= 200, "p99 <= 20 ms", r_.list_quiet.p99 <= 20).c_str());
    print_latency("status {runtime_id}", r_.status_quiet);
    load.print("supervisor");
  }

  // The same calls while S runtimes stream at full speed (their agents flood until killed).
  void streaming_calls() {
    const int s = std::min<int>(o_.streamers, int(ids_.size()));
    if (s == 0) return;
    const std::vector<std::string> streamers(ids_.begin(), ids_.begin() + s);
    std::map<std::string, std::int64_t> seq_before;
    for (const std::string& id : streamers) seq_before[id] = entries_.at(id).latest_seq;
    for (const std::string& id : streamers)
      owner_.call("prompt", bj::object{{"runtime_id", id}, {"text", "@stream"}});
    entries_ = wait_entries(
        reader_, streamers,
        [&](const Entry& e) {
          return e.status == "running" && e.latest_seq > seq_before.at(e.id) + 100;
        },
        std::chrono::seconds(60 + s), "streams running", sup_);
    auto seq_sum = [&] {
      std::int64_t sum = 0;
      for (const std::string& id : streamers) sum += entries_.at(id).latest_seq;
      return sum;
    };
    const std::int64_t seq0 = seq_sum();
    const LoadWindow load(sup_.pid());
    r_.list_stream = time_calls(reader_, "list", ids_, o_.calls, kStreamBudget);
    r_.status_stream = time_calls(reader_, "status", ids_, o_.calls, kStreamBudget);
    const double seconds = load.seconds();
    entries_ = list_entries(reader_);
    const std::int64_t events = seq_sum() - seq0;
    int running = 0;
    for (const std::string& id : streamers) running += entries_.at(id).status == "running";

    std::printf("  while %d runtimes stream (%d calls each or %lld s, after %d warm-up):\n", s,
                o_.calls, static_cast<long long>(kStreamBudget.count()), kWarmupCalls);
    print_latency("list", r_.list_stream,
                  target_note(r_.n >= 200, "p99 <= 20 ms", r_.list_stream.p99 <= 20).c_str());
    print_latency("status {runtime_id}", r_.status_stream);
    load.print("supervisor");
    std::printf("  %-34s %lld events in %.1f s (%.0f events/s)\n", "streamers' latest_seq advance",
                static_cast<long long>(events), seconds, double(events) / seconds);
    if (running != s)
      std::printf("  WARNING: only %d of %d streamers were still running after the calls\n",
                  running, s);
    const double hwm = proc_mib(sup_.pid(), "status", "VmHWM");
    r_.supervisor_hwm_mib = std::max(r_.supervisor_hwm_mib, hwm);
    std::printf("  %-34s VmRSS %6.1f MiB  VmHWM %6.1f MiB%s\n", "supervisor RSS after the stream",
                proc_mib(sup_.pid(), "status", "VmRSS"), hwm,
                target_note(r_.n >= 200, "<= 64 MiB", hwm <= 64).c_str());
    std::vector<pid_t> pids;
    for (const std::string& id : streamers) pids.push_back(entries_.at(id).runtime_pid);
    print_rss("streaming runtimes' RSS", rss_of(pids), "");
  }

  // `shutdown kill`; afterwards no process of this supervisor may be left.
  void shut_down() {
    const auto start = Clock::now();
    owner_.call("shutdown", bj::object{{"mode", "kill"}}, 60s);
    const double reply_ms = elapsed_ms(start);
    const std::optional<int> code = sup_.wait(30s);
    const double exit_ms = elapsed_ms(start);
    const std::size_t left = reap_marked(w_.root.string(), 10s);
    std::printf(
        "  %-34s reply %.0f ms, supervisor exit %.0f ms (status %s), all gone %.0f ms; "
        "left behind: %zu\n",
        "shutdown kill", reply_ms, exit_ms, code ? std::to_string(*code).c_str() : "none",
        elapsed_ms(start), left);
    if (!code) throw std::runtime_error("avenor stable did not exit within 30 s of shutdown kill");
  }

 private:
  static void print_rss(const char* label, const RssFigures& f, const std::string& note) {
    std::printf(
        "  %-34s VmRSS mean %5.2f MiB  max %5.2f MiB  (PSS mean %.2f, RssAnon mean %.2f, "
        "%d procs)%s\n",
        label, f.mean_mib, f.max_mib, f.pss_mean_mib, f.anon_mean_mib, f.counted, note.c_str());
  }

  const Options& o_;
  const World& w_;
  Supervisor sup_;
  RpcClient owner_;   // spawn, prompt, shutdown: the first mutator owns the supervisor
  RpcClient reader_;  // list and status, which any connection may call
  SizeResult r_;
  std::vector<std::string> ids_;
  std::map<std::string, Entry> entries_;
  std::vector<pid_t> runtime_pids_, agent_pids_;
};

SizeResult run_size(const Options& o, const World& w, int n, double plain_ms) {
  const fs::path dir = w.root / ("n" + std::to_string(n));
  fs::create_directories(dir);
  std::printf("\nN = %d runtimes (avenor stable --max-runtimes %d --parked-timeout 0)\n", n,
              n + 60);
  SizeResult result;
  {
    SizeRun run(o, w, n, dir);
    run.spawn_all(plain_ms);
    run.memory();
    run.quiet_calls();
    run.streaming_calls();
    run.shut_down();
    result = run.result();
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);  // the streamers' logs can be large
  return result;
}

void raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) fail_errno("getrlimit");
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) fail_errno("setrlimit");
  std::printf("RLIMIT_NOFILE %llu (inherited by the supervisor and its runtimes)\n",
              static_cast<unsigned long long>(limit.rlim_cur));
}

int run_bench(const Options& o) {
  raise_fd_limit();
  TempDir dir;
  MarkedReaper reaper(dir.path().string());
  const World w = make_world(o, dir.path());

  plain_run_ms(o, w, 0);  // pages the binaries in
  std::vector<double> plain;
  for (int i = 1; i <= o.plain_runs; ++i) plain.push_back(plain_run_ms(o, w, i));
  const double plain_ms = median(plain);
  std::printf(
      "plain avenor run start-to-exit (one fake agent turn): median %.2f ms of %d, "
      "min %.2f, max %.2f\n",
      plain_ms, o.plain_runs, *std::min_element(plain.begin(), plain.end()),
      *std::max_element(plain.begin(), plain.end()));

  std::vector<SizeResult> results;
  for (int n : o.runtimes) results.push_back(run_size(o, w, n, plain_ms));

  std::printf(
      "\nsummary (targets from issue 11: 200 parked; spawn p50 <= 2x plain run; "
      "runtime RSS <= 8 MiB; supervisor RSS <= 64 MiB and list p99 <= 20 ms at 200)\n");
  std::printf("  %5s %7s %9s %7s %9s %9s %9s %9s %9s %9s %9s\n", "N", "parked", "spawn p50",
              "ratio", "sup RSS", "sup HWM", "rt max", "list q99", "list s99", "stat q99",
              "stat s99");
  for (const SizeResult& r : results)
    std::printf(
        "  %5d %7d %7.1fms %6.2fx %6.1fMiB %6.1fMiB %6.2fMiB %7.2fms %7.2fms %7.2fms "
        "%7.2fms\n",
        r.n, r.parked, r.spawn.p50, r.spawn.p50 / plain_ms, r.supervisor_rss_mib,
        r.supervisor_hwm_mib, r.runtimes.max_mib, r.list_quiet.p99, r.list_stream.p99,
        r.status_quiet.p99, r.status_stream.p99);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_args(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures show up as they come, also through a pipe
  try {
    return run_bench(options);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::cerr << "stable_scale_bench: " << e.what() << "\n";
    return 1;
  }
}
