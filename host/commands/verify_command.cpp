#include "commands/verify_command.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>
#include <filesystem>
#include <system_error>

#include "cli/go_flags.hpp"
#include "cli/usage_reporter.hpp"
#include "loop/loop_file_tree.hpp"

namespace avenor::host {
namespace {

namespace fs = std::filesystem;

constexpr int kExitError = 1;

// The run's working directory plays no part in resolving loop files (they are
// relative to their config), but a run there would fail, so say so.
std::string work_dir_problem(const std::string& dir) {
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (ec) return ec.message();
  if (!fs::is_directory(status)) return "not a directory";
  return {};
}

}  // namespace

int verify_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  GoFlagSet flags("avenor verify");
  flags.set_usage_header(
      "Usage: avenor verify --loop-file <path> [--dir <dir>]\n"
      "       avenor verify <path> [--dir <dir>]   (the same; flags may follow <path>)\n");
  flags.set_interspersed(true);  // D13
  std::string loop_file;
  std::string dir;
  flags.string_var(loop_file, "loop-file", "",
                   "loop config `file` to check, with its prompt files and nested loop files");
  flags.string_var(dir, "dir", ".", "working `directory` a run would use");

  const UsageReporter usage("verify", kExitError, out, err);
  const GoFlagSet::ParseResult parsed = flags.parse(args);
  if (!parsed.ok()) return usage.parse_failure(flags, parsed);
  // (new) The loop file may also be the one positional argument.
  const std::vector<std::string>& words = flags.args();
  if (const std::size_t allowed = loop_file.empty() ? 1 : 0; words.size() > allowed)
    return usage.error("unexpected argument " +
                       boost::json::serialize(boost::json::string_view(words[allowed])) +
                       " (verify checks one loop file: --loop-file <path> or <path>)");
  if (loop_file.empty() && !words.empty()) loop_file = words.front();
  if (loop_file.empty()) return usage.error("--loop-file is required");

  bool failed = false;
  if (const std::string problem = work_dir_problem(dir); !problem.empty()) {
    err << "error: " << dir << ": --dir: " << problem << "\n";
    failed = true;
  }
  std::vector<LoopFileCheck> checks;
  try {
    checks = check_loop_files(loop_file);
  } catch (const std::exception& e) {
    // Not expected (loading is bounded), but a failure must not abort
    // without a word: say it like any other problem.
    err << "error: " << loop_file << ": " << e.what() << "\n";
    failed = true;
  }
  for (const LoopFileCheck& check : checks)
    for (const std::string& error : check.errors) {
      err << "error: " << check.path.string() << ": " << error << "\n";
      failed = true;
    }
  err.flush();  // errors before the ok lines, even when both go to one terminal
  for (const LoopFileCheck& check : checks)
    if (check.ok()) out << "ok: " << check.path.string() << "\n";
  out.flush();
  return failed ? kExitError : 0;
}

}  // namespace avenor::host
