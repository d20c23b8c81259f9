#include "run/sentinel.hpp"

#include "util/atomic_file.hpp"
#include "util/replaceable_path.hpp"

namespace avenor::host {
namespace {

// CR and LF become spaces so a value cannot start a line of its own.
std::string one_line(std::string_view value) {
  std::string out(value);
  for (char& c : out)
    if (c == '\r' || c == '\n') c = ' ';
  return out;
}

}  // namespace

std::string stop_reason_for_exit(int exit_code) {
  switch (exit_code) {
    case 0:
      return "end_turn";
    case 2:
      return "refusal";
    case 3:
      return "max_tokens";
    case 4:
      return "max_turn_requests";
    case 5:
      return "blocked";
    case 124:
      return "timeout";
    case 130:
      return "cancelled";
    default:
      return "";
  }
}

int exit_code_for_stop_reason(std::string_view stop_reason) {
  if (stop_reason == "end_turn") return 0;
  if (stop_reason == "refusal") return 2;
  if (stop_reason == "max_tokens") return 3;
  if (stop_reason == "max_turn_requests") return 4;
  if (stop_reason == "blocked") return 5;
  if (stop_reason == "timeout" || stop_reason == "progress_timeout") return 124;
  if (stop_reason == "cancelled") return 130;
  return 1;
}

std::string format_sentinel(const SentinelInfo& info) {
  const int code = info.exit_code;
  std::string status;
  std::string fallback;
  bool exit_line = false;
  switch (code) {
    case 0:
      status = "DONE", fallback = "end_turn";
      break;
    case 124:
      status = "TIMEOUT", fallback = "timeout";
      break;
    case 130:
      status = "KILLED", fallback = "cancelled", exit_line = true;
      break;
    case 5:
      status = "BLOCKED", fallback = "blocked";
      break;
    default:
      status = "FAILED", fallback = "exit_" + std::to_string(code), exit_line = true;
      break;
  }
  std::string out = status + "\n";
  out += "SESSION=" + info.session_id + "\n";
  out += "STOP_REASON=" + (info.stop_reason.empty() ? fallback : info.stop_reason) + "\n";
  if (exit_line) out += "EXIT_CODE=" + std::to_string(code) + "\n";
  if (code == 5 && !info.reason_label.empty())
    out += "REASON=" + one_line(info.reason_label) + "\n";
  if (!info.run_id.empty()) out += "RUN=" + one_line(info.run_id) + "\n";
  return out;
}

bool write_sentinel(const std::filesystem::path& path, const SentinelInfo& info,
                    std::ostream& err) {
  try {
    // 0644: the sentinel is a status file meant for other tools to read.
    write_file_atomically(path, format_sentinel(info), ".sentinel-", 0644);
    return true;
  } catch (const std::exception& e) {
    err << "avenor: write sentinel: " << e.what() << "\n";
    return false;
  }
}

std::filesystem::path derive_permission_base(const std::filesystem::path& sentinel) {
  constexpr std::string_view kDone = ".done";
  std::string s = sentinel.string();
  if (s.size() >= kDone.size() && s.compare(s.size() - kDone.size(), kDone.size(), kDone) == 0)
    s.resize(s.size() - kDone.size());
  return std::filesystem::path(s + ".perm");
}

std::optional<std::string> sentinel_path_problem(const std::filesystem::path& sentinel) {
  if (sentinel.empty()) return std::nullopt;
  if (auto refusal = replace_refusal(sentinel)) return "--sentinel-file: " + *refusal;
  return std::nullopt;
}

void cleanup_run_files(const std::filesystem::path& sentinel,
                       const std::filesystem::path& perm_base, std::ostream& err) {
  // Only regular files go: a FIFO or directory at one of these paths is
  // someone else's and stays (the file handler refuses it when it needs it).
  auto remove = [&err](const std::filesystem::path& p) {
    if (p.empty()) return;
    if (auto problem = remove_regular_file(p)) err << "avenor: cleanup: " << *problem << "\n";
  };
  remove(sentinel);
  if (!perm_base.empty()) {
    remove(perm_base.string() + ".req");
    remove(perm_base.string() + ".req.response");
  }
}

}  // namespace avenor::host
