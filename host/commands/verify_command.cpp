#include "commands/verify_command.hpp"

#include <filesystem>
#include <system_error>

#include "cli/go_flags.hpp"
#include "loop/loop_file_tree.hpp"

namespace avenor::host {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPrefix = "avenor verify: ";
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
  flags.set_usage_header("Usage: avenor verify --loop-file <path> [--dir <dir>]\n");
  std::string loop_file;
  std::string dir;
  flags.string_var(loop_file, "loop-file", "",
                   "loop config `file` to check, with its prompt files and nested loop files");
  flags.string_var(dir, "dir", ".", "working `directory` a run would use");

  const GoFlagSet::ParseResult parsed = flags.parse(args);
  if (!parsed.ok()) {
    flags.print_error_and_usage(parsed, err);
    return kExitError;
  }
  if (!flags.args().empty()) {
    err << kPrefix << "unexpected argument " << flags.args().front() << "\n" << flags.usage();
    return kExitError;
  }
  if (loop_file.empty()) {
    err << kPrefix << "--loop-file is required\n";
    return kExitError;
  }

  bool failed = false;
  if (const std::string problem = work_dir_problem(dir); !problem.empty()) {
    err << "error: " << dir << ": --dir: " << problem << "\n";
    failed = true;
  }
  const std::vector<LoopFileCheck> checks = check_loop_files(loop_file);
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
