// event_path_bench: how fast `avenor run` turns an ACP agent's session/update
// flood into NDJSON event lines, compared with a raw byte relay of the same
// stream, plus avenor's start-to-exit overhead and peak RSS. See README.md.
//
//   event_path_bench --avenor PATH --fake-agent PATH [--events N] [--repeat K]
//                    [--startup-runs K]
//
// Exit status: 0 whenever the measurements ran (a figure below its target is
// reported, not failed), 1 when a run failed, 2 for a usage error.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

namespace {

using namespace avenor::bench;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The targets of issue 15: events/s through avenor, the ratio to a raw relay
// of the same bytes (long-term goal 0.5), and avenor's fixed cost per run.
constexpr double kTargetRate = 1.2e6;
constexpr double kTargetRatio = 0.25;
constexpr double kLongTermRatio = 0.5;
constexpr double kTargetOverheadMs = 5.0;

struct Options {
  std::string avenor;
  std::string fake_agent;
  std::int64_t events = 200000;
  int repeat = 3;
  // Start-to-exit runs are ~10 ms each and their spread is a VM's scheduling noise of
  // about a millisecond: many more of them than flood runs give a median that holds still.
  int startup_runs = 31;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << "event_path_bench: " << message << "\n"
            << "usage: event_path_bench --avenor PATH --fake-agent PATH [--events N default "
               "200000] [--repeat K default 3] [--startup-runs K default 31]\n";
  std::exit(2);
}

std::int64_t parse_positive(std::string_view flag, std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value <= 0)
    usage_error(std::string(flag) + " needs a positive integer, got \"" + std::string(text) + "\"");
  return value;
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
    if (arg != "--avenor" && arg != "--fake-agent" && arg != "--events" && arg != "--repeat" &&
        arg != "--startup-runs")
      usage_error("unknown argument " + std::string(arg));
    if (!inline_value) {
      if (i + 1 >= argc) usage_error(std::string(arg) + " needs a value");
      value = argv[++i];
    }
    if (arg == "--avenor") o.avenor = value;
    if (arg == "--fake-agent") o.fake_agent = value;
    if (arg == "--events") o.events = parse_positive(arg, value);
    if (arg == "--repeat")
      o.repeat = static_cast<int>(std::min<std::int64_t>(parse_positive(arg, value), 1000));
    if (arg == "--startup-runs")
      o.startup_runs = static_cast<int>(std::min<std::int64_t>(parse_positive(arg, value), 10000));
  }
  if (std::string problem = resolve_binaries(o.avenor, o.fake_agent); !problem.empty())
    usage_error(problem);
  return o;
}

// --- files ------------------------------------------------------------------------------------

struct LineCount {
  std::int64_t lines = 0;
  std::int64_t matches = 0;  // occurrences of the needle
  std::uintmax_t bytes = 0;
};

// Streams the file in 1 MiB blocks: the bench stays small, which matters because a spawned
// child's ru_maxrss starts from the spawning process's high-water mark.
LineCount count_lines(const fs::path& path, std::string_view needle) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  LineCount c;
  std::vector<char> block(1 << 20);
  std::string window;  // the tail of the previous block (shorter than needle) + this block
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0) break;
    c.bytes += got;
    c.lines += std::count(block.begin(), block.begin() + static_cast<std::ptrdiff_t>(got), '\n');
    window.append(block.data(), got);
    for (std::size_t at = window.find(needle); at != std::string::npos;
         at = window.find(needle, at + needle.size()))
      ++c.matches;
    const std::size_t keep = std::min(window.size(), needle.size() - 1);
    window.erase(0, window.size() - keep);
  }
  return c;
}

// --- processes --------------------------------------------------------------------------------

// Opens a file for a child's stdin (read) or stdout/stderr (write, truncated), close-on-exec
// in the bench itself: posix_spawn's dup2 gives the child its own inheritable copy.
Fd open_for_child(const fs::path& path, bool write) {
  const int flags = write ? (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC);
  const int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) fail_errno("open " + path.string());
  // Keep every descriptor off 0-2 so that dup2 onto a standard stream always happens
  // (dup2(fd, fd) would leave close-on-exec set).
  if (fd <= 2) {
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    ::close(fd);
    if (moved < 0) fail_errno("fcntl");
    return Fd(moved);
  }
  return Fd(fd);
}

std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) fail_errno("pipe2");
  Fd r(fds[0]), w(fds[1]);
  for (Fd* f : {&r, &w}) {
    if (f->get() <= 2) {
      const int moved = ::fcntl(f->get(), F_DUPFD_CLOEXEC, 3);
      if (moved < 0) fail_errno("fcntl");
      *f = Fd(moved);
    }
  }
  return {std::move(r), std::move(w)};
}

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, int in,
            int out, int err) {
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn " + argv[0]);
  return pid;
}

struct Exit {
  int status = 0;
  rusage usage{};
  Clock::time_point when;
};

// VmHWM (peak resident set) of a live process, in KiB; 0 once it is gone.
long read_vmhwm_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmHWM:")) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

// Waits for the child to exit and reaps it. With `hwm_kib`, a thread samples the child's own
// VmHWM every 5 ms meanwhile (ru_maxrss would also count the children it reaped). The exit
// is first observed with WNOWAIT, so the pid stays reserved until the sampler has stopped.
Exit wait_for(pid_t pid, long* hwm_kib = nullptr) {
  Exit e;
  std::atomic<bool> stop{false};
  std::thread sampler;
  if (hwm_kib != nullptr) {
    sampler = std::thread([&stop, hwm_kib, pid] {
      while (!stop.load()) {
        *hwm_kib = std::max(*hwm_kib, read_vmhwm_kib(pid));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) != 0) {
    if (errno != EINTR) {
      stop = true;
      if (sampler.joinable()) sampler.join();
      fail_errno("waitid");
    }
  }
  e.when = Clock::now();
  stop = true;
  if (sampler.joinable()) sampler.join();
  for (;;) {
    const pid_t r = ::wait4(pid, &e.status, 0, &e.usage);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) fail_errno("wait4");
  }
  return e;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double cpu_seconds(const rusage& ru) {
  auto s = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// --- the workspace ----------------------------------------------------------------------------

class Workspace {
 public:
  explicit Workspace(const Options& o) {
    std::string templ = (fs::temp_directory_path() / "avenor-bench-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) fail_errno("mkdtemp");
    root_ = templ;
    fs::create_directories(root_ / "bin");
    fs::create_directories(root_ / "work");
    // avenor's default backend (opencode-acp) runs `opencode acp ...` from PATH.
    write_file(wrapper(), "#!/bin/sh\nexec '" + o.fake_agent + "' \"$@\"\n", true);

    const std::string count = std::to_string(o.events);
    const std::string flood = R"({"flood": {"count": )" + count + R"(, "text": "x"}})";
    const std::string end = R"({"end": {"stopReason": "end_turn"}})";
    write_file(flood_script(), R"({"turns": [[)" + flood + ", " + end + "]]}\n");
    // The raw relay has no host to close the fake's stdin, so its script exits after the
    // turn; the bytes on stdout are the same.
    write_file(flood_exit_script(), R"({"turns": [[)" + flood + ", " + end +
                                        R"(, {"exit": 0}]]})"
                                        "\n");
    write_file(trivial_script(), R"({"turns": [[{"chunk": "x"}, )" + end + "]]}\n");
    // What a client sends to reach the turn: initialize, session/new, session/prompt.
    write_file(
        requests(),
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{}}})"
        "\n"
        R"({"jsonrpc":"2.0","id":1,"method":"session/new","params":{"cwd":")" +
            (root_ / "work").string() +
            R"(","mcpServers":[]}})"
            "\n"
            R"({"jsonrpc":"2.0","id":2,"method":"session/prompt","params":{"sessionId":"ses_fake_1","prompt":[{"type":"text","text":"x"}]}})"
            "\n");
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  fs::path path(std::string_view name) const { return root_ / name; }
  fs::path wrapper() const { return root_ / "bin" / "opencode"; }
  fs::path flood_script() const { return root_ / "flood.json"; }
  fs::path flood_exit_script() const { return root_ / "flood_exit.json"; }
  fs::path trivial_script() const { return root_ / "trivial.json"; }
  fs::path requests() const { return root_ / "requests.ndjson"; }

  std::vector<std::string> env_for(const fs::path& script) const {
    const char* old_path = std::getenv("PATH");
    std::string path = (root_ / "bin").string();
    path += ":";
    path += old_path != nullptr && *old_path != '\0' ? old_path : "/usr/bin:/bin";
    return environment_with({{"PATH", path}, {"FAKE_ACP_SCRIPT", script.string()}});
  }

 private:
  fs::path root_;
};

// --- the measurements -------------------------------------------------------------------------

struct Sample {
  double seconds = 0;
  double cpu = 0;       // user + sys of the process and its reaped children
  long maxrss_kib = 0;  // ru_maxrss: the largest of the process and its reaped children
  long hwm_kib = 0;     // the process's own VmHWM, sampled (avenor flood runs only)
  LineCount output;
};

// `avenor run` with the fake agent playing `script`; wall time from spawn to exit.
Sample run_avenor(const Workspace& ws, const Options& o, const fs::path& script,
                  std::string_view needle, bool sample_rss = false) {
  const fs::path log = ws.path("ev.ndjson");
  const fs::path err_path = ws.path("avenor.stderr");
  Fd in = open_for_child("/dev/null", false);
  Fd out = open_for_child(ws.path("avenor.stdout"), true);
  Fd err = open_for_child(err_path, true);
  const std::vector<std::string> argv{o.avenor,
                                      "run",
                                      "--prompt",
                                      "x",
                                      "--on-event",
                                      log.string(),
                                      "--auto-approve",
                                      "--dir",
                                      ws.path("work").string()};
  const auto env = ws.env_for(script);
  const auto start = Clock::now();
  const pid_t pid = spawn(argv, env, in.get(), out.get(), err.get());
  long hwm = 0;
  const Exit e = wait_for(pid, sample_rss ? &hwm : nullptr);
  if (!WIFEXITED(e.status) || WEXITSTATUS(e.status) != 0)
    throw std::runtime_error("avenor run failed (" + describe_status(e.status) +
                             "): " + tail_of(err_path));
  Sample s{seconds_between(start, e.when), cpu_seconds(e.usage), e.usage.ru_maxrss, hwm, {}};
  if (!needle.empty()) s.output = count_lines(log, needle);
  return s;
}

// The same fake agent behind the wrapper, its stdout relayed by `cat` into a file:
//   requests | opencode acp | cat > out.ndjson
// Wall time from the first spawn until both processes have exited.
Sample run_raw_relay(const Workspace& ws, std::string_view needle) {
  const fs::path out_path = ws.path("raw.ndjson");
  const fs::path err_path = ws.path("raw.stderr");
  auto [stdin_r, stdin_w] = make_pipe();
  auto [relay_r, relay_w] = make_pipe();
  Fd out = open_for_child(out_path, true);
  Fd err = open_for_child(err_path, true);
  // The requests fit in the pipe buffer; the write end stays open until the fake has exited,
  // since the fake quits at once on stdin EOF, even in the middle of a turn.
  const std::string requests = read_file(ws.requests());
  if (::write(stdin_w.get(), requests.data(), requests.size()) !=
      static_cast<ssize_t>(requests.size()))
    fail_errno("write requests");
  const auto env = ws.env_for(ws.flood_exit_script());

  const auto start = Clock::now();
  const pid_t agent =
      spawn({ws.wrapper().string(), "acp"}, env, stdin_r.get(), relay_w.get(), err.get());
  relay_w.reset();
  stdin_r.reset();
  pid_t relay = -1;
  try {
    relay = spawn({"/bin/cat"}, env, relay_r.get(), out.get(), err.get());
  } catch (...) {
    ::kill(agent, SIGKILL);
    wait_for(agent);
    throw;
  }
  relay_r.reset();
  const Exit agent_exit = wait_for(agent);
  const Exit relay_exit = wait_for(relay);
  stdin_w.reset();
  for (const Exit* e : {&agent_exit, &relay_exit}) {
    if (!WIFEXITED(e->status) || WEXITSTATUS(e->status) != 0)
      throw std::runtime_error("raw relay failed (" + describe_status(e->status) +
                               "): " + tail_of(err_path));
  }
  Sample s{seconds_between(start, std::max(agent_exit.when, relay_exit.when)),
           cpu_seconds(agent_exit.usage) + cpu_seconds(relay_exit.usage),
           agent_exit.usage.ru_maxrss, 0, count_lines(out_path, needle)};
  return s;
}

// The fake agent alone (behind the same wrapper) on the trivial turn, its stdin the
// handshake file: it answers, plays the turn, and exits at stdin EOF.
Sample run_fake_alone(const Workspace& ws) {
  const fs::path err_path = ws.path("fake.stderr");
  Fd in = open_for_child(ws.requests(), false);
  Fd out = open_for_child(ws.path("fake.stdout"), true);
  Fd err = open_for_child(err_path, true);
  const auto env = ws.env_for(ws.trivial_script());
  const auto start = Clock::now();
  const pid_t pid = spawn({ws.wrapper().string(), "acp"}, env, in.get(), out.get(), err.get());
  const Exit e = wait_for(pid);
  if (!WIFEXITED(e.status) || WEXITSTATUS(e.status) != 0)
    throw std::runtime_error("fake agent failed (" + describe_status(e.status) +
                             "): " + tail_of(err_path));
  return Sample{seconds_between(start, e.when), cpu_seconds(e.usage), e.usage.ru_maxrss, 0, {}};
}

std::vector<double> seconds_of(const std::vector<Sample>& samples) {
  std::vector<double> v;
  for (const auto& s : samples) v.push_back(s.seconds);
  return v;
}

// 412k, 1.90M: events per second, compact.
std::string rate(double per_second) {
  char buf[32];
  if (per_second >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", per_second / 1e6);
  } else if (per_second >= 1e3) {
    std::snprintf(buf, sizeof buf, "%.1fk", per_second / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", per_second);
  }
  return buf;
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

int run(const Options& o) {
  Workspace ws(o);
  const auto n = static_cast<double>(o.events);
  const std::string k = std::to_string(o.repeat) + (o.repeat == 1 ? " run" : " runs");
  std::cout << "event_path_bench: " << o.events << " events, median of " << k << "\n" << std::flush;

  // Warm-up: page in avenor, its plugins and the fake.
  run_avenor(ws, o, ws.trivial_script(), "");
  run_fake_alone(ws);

  // 1 + 4. The event path, with peak RSS; 2. the raw relay of the same bytes.
  std::vector<Sample> av, raw;
  for (int i = 0; i < o.repeat; ++i) {
    av.push_back(run_avenor(ws, o, ws.flood_script(), "\"agent.message_chunk\"", true));
    raw.push_back(run_raw_relay(ws, "\"agent_message_chunk\""));
  }
  const double av_s = median(seconds_of(av));
  const std::vector<double> av_times = seconds_of(av);
  const double av_best = *std::min_element(av_times.begin(), av_times.end());
  const double raw_s = median(seconds_of(raw));
  const double av_rate = n / av_s;
  const double raw_rate = n / raw_s;
  const double ratio = av_rate / raw_rate;

  // 3. Start to exit on a trivial turn.
  std::vector<Sample> av_small, fake_small;
  for (int i = 0; i < o.startup_runs; ++i) {
    av_small.push_back(run_avenor(ws, o, ws.trivial_script(), ""));
    fake_small.push_back(run_fake_alone(ws));
  }
  const double av_small_ms = median(seconds_of(av_small)) * 1e3;
  const double fake_small_ms = median(seconds_of(fake_small)) * 1e3;

  long peak_kib = 0, hwm_kib = 0;
  double av_cpu = 0, raw_cpu = 0;
  long fake_kib = 0;
  for (const auto& s : av) {
    peak_kib = std::max(peak_kib, s.maxrss_kib);
    hwm_kib = std::max(hwm_kib, s.hwm_kib);
    av_cpu += s.cpu;
  }
  for (const auto& s : raw) {
    fake_kib = std::max(fake_kib, s.maxrss_kib);
    raw_cpu += s.cpu;
  }
  av_cpu /= o.repeat;
  raw_cpu /= o.repeat;

  const bool fast_enough = av_rate >= kTargetRate && ratio >= kTargetRatio;
  std::cout << "event path: avenor " << rate(av_rate) << " ev/s (target >= " << rate(kTargetRate)
            << "), raw relay " << rate(raw_rate) << " ev/s, ratio " << fixed(ratio, 2)
            << " (target >= " << fixed(kTargetRatio, 2) << ", long-term "
            << fixed(kLongTermRatio, 1) << "): " << (fast_enough ? "PASS" : "BELOW TARGET") << "\n";
  std::cout << "  avenor flood: median " << fixed(av_s * 1e3, 1) << " ms, best "
            << fixed(av_best * 1e3, 1) << " ms, cpu " << fixed(av_cpu * 1e3, 0)
            << " ms (with the fake), net of startup "
            << rate(n / std::max(av_s - av_small_ms / 1e3, 1e-9)) << " ev/s; log "
            << av.back().output.lines << " lines (" << av.back().output.matches << " chunks), "
            << fixed(static_cast<double>(av.back().output.bytes) / (1 << 20), 1) << " MiB\n";
  std::cout << "  raw relay:    median " << fixed(raw_s * 1e3, 1) << " ms, cpu "
            << fixed(raw_cpu * 1e3, 0) << " ms (fake + cat); out " << raw.back().output.lines
            << " lines (" << raw.back().output.matches << " chunks), "
            << fixed(static_cast<double>(raw.back().output.bytes) / (1 << 20), 1) << " MiB\n";
  for (const auto* s : {&av.back(), &raw.back()}) {
    if (s->output.matches != o.events)
      std::cout << "  WARNING: expected " << o.events << " chunks, counted " << s->output.matches
                << "\n";
  }
  const double overhead_ms = av_small_ms - fake_small_ms;
  std::cout << "start to exit: avenor " << fixed(av_small_ms, 1) << " ms, fake agent alone "
            << fixed(fake_small_ms, 1) << " ms, avenor overhead " << fixed(overhead_ms, 1)
            << " ms (median of " << o.startup_runs
            << " runs each; target <= " << fixed(kTargetOverheadMs, 0)
            << " ms with the log on tmpfs): "
            << (overhead_ms <= kTargetOverheadMs ? "PASS" : "ABOVE TARGET") << "\n";
  std::cout << "peak RSS (flood, " << o.events << " events): avenor "
            << fixed(static_cast<double>(hwm_kib) / 1024, 1)
            << " MiB (VmHWM sampled; wait4 ru_maxrss "
            << fixed(static_cast<double>(peak_kib) / 1024, 1)
            << " MiB counts the reaped fake too); fake agent alone "
            << fixed(static_cast<double>(fake_kib) / 1024, 1) << " MiB\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "event_path_bench: " << e.what() << "\n";
    return 1;
  }
}
