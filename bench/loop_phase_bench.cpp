// loop_phase_bench: what a loop phase costs. One `avenor run --loop-file` of
// N trivial phases against N separate `avenor run --prompt` runs of the same
// trivial turn (the loop reuses one avenor process; every phase still starts
// its own agent), and the same loop in a git work dir (three git calls per
// phase for the templates). All with the scripted fake agent. See README.md.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace {

using namespace avenor::bench;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string avenor, fake_agent;
  int phases = 20;
  int repeat = 3;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "loop_phase_bench: " << problem
            << "\nusage: loop_phase_bench --avenor PATH --fake-agent PATH [--phases N] "
               "[--repeat K]\n";
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  std::map<std::string, std::string> values;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (!arg.starts_with("--")) usage("unexpected argument " + arg);
    auto eq = arg.find('=');
    if (eq != std::string::npos) {
      values[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      values[arg.substr(2)] = argv[++i];
    } else {
      usage(arg + " needs a value");
    }
  }
  for (const auto& [key, value] : values) {
    if (key == "avenor")
      o.avenor = value;
    else if (key == "fake-agent")
      o.fake_agent = value;
    else if (key == "phases")
      o.phases = std::atoi(value.c_str());
    else if (key == "repeat")
      o.repeat = std::atoi(value.c_str());
    else
      usage("unknown flag --" + key);
  }
  if (o.avenor.empty() || o.fake_agent.empty()) usage("--avenor and --fake-agent are required");
  if (o.phases < 1 || o.repeat < 1) usage("--phases and --repeat must be >= 1");
  // Children start in their work dirs, so relative paths would point elsewhere.
  o.avenor = fs::absolute(o.avenor).string();
  o.fake_agent = fs::absolute(o.fake_agent).string();
  return o;
}

// Runs argv in `cwd` with environment `env`; returns wall milliseconds.
double run_ms(const std::vector<std::string>& argv, const fs::path& cwd,
              const std::vector<std::string>& env, const fs::path& err) {
  std::vector<char*> envp, args;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const auto start = Clock::now();
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::system_error(rc, std::generic_category(), "spawn " + argv[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) fail_errno("waitpid");
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(argv[0] + " failed; stderr:\n" + tail_of(err));
  return ms;
}

std::string loop_file(int phases) {
  return "{\"max_iterations\": " + std::to_string(phases) +
         ", \"loop\": [{\"name\": \"p\", \"prompt\": \"phase {{.Iteration}} at "
         "{{.PrevPhaseCommit}} {{.ChangedFiles}}\"}]}";
}

int run(const Options& o) {
  TempDir tmp;
  const fs::path bin = tmp.path() / "bin", plain = tmp.path() / "plain", git = tmp.path() / "git";
  for (const auto& d : {bin, plain, git}) fs::create_directories(d);
  write_file(bin / "opencode", "#!/bin/sh\nexec '" + o.fake_agent + "' \"$@\"\n", true);
  write_file(tmp.path() / "script.json", "{\"turns\": [[{\"chunk\": \"ok\"}]]}");
  write_file(tmp.path() / "loop.json", loop_file(o.phases));
  const char* path = std::getenv("PATH");
  const auto env = environment_with({{"PATH", bin.string() + ":" + (path ? path : "")},
                                     {"FAKE_ACP_SCRIPT", (tmp.path() / "script.json").string()}});
  const fs::path err = tmp.path() / "stderr", log = tmp.path() / "ev.ndjson";
  run_ms({"/usr/bin/git", "-C", git.string(), "init", "-q"}, tmp.path(), env, err);
  run_ms({"/usr/bin/git", "-C", git.string(), "-c", "user.email=b@example.invalid", "-c",
          "user.name=b", "commit", "-q", "--allow-empty", "-m", "start"},
         tmp.path(), env, err);

  auto loop_in = [&](const fs::path& dir) {
    return run_ms({o.avenor, "run", "--loop-file", (tmp.path() / "loop.json").string(), "--dir",
                   dir.string(), "--on-event", log.string(), "--auto-approve"},
                  dir, env, err);
  };
  auto separate = [&] {
    double total = 0;
    for (int i = 0; i < o.phases; ++i)
      total += run_ms({o.avenor, "run", "--prompt", "phase", "--dir", plain.string(), "--on-event",
                       log.string(), "--auto-approve"},
                      plain, env, err);
    return total;
  };
  loop_in(plain);  // page everything in once, untimed
  std::vector<double> loop_plain, loop_git, runs;
  for (int k = 0; k < o.repeat; ++k) {
    loop_plain.push_back(loop_in(plain));
    loop_git.push_back(loop_in(git));
    runs.push_back(separate());
  }
  const double n = o.phases, lp = median(loop_plain), lg = median(loop_git), sr = median(runs);
  std::cout << std::fixed << std::setprecision(1);
  std::cout << "loop, " << o.phases << " phases, no git:  " << lp << " ms (" << lp / n
            << " ms/phase)\n";
  std::cout << "loop, " << o.phases << " phases, in git:  " << lg << " ms (" << lg / n
            << " ms/phase; git for templates +" << (lg - lp) / n << " ms/phase)\n";
  std::cout << o.phases << " separate avenor runs:   " << sr << " ms (" << sr / n << " ms/run)\n";
  std::cout << std::setprecision(2) << "ratio loop/separate: " << lp / sr << " (median of "
            << o.repeat << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::cerr << "loop_phase_bench: " << e.what() << "\n";
    return 1;
  }
}
