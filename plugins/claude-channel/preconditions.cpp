#include "preconditions.hpp"

#include <array>
#include <charconv>

namespace avenor::claude_channel {
namespace {

// The first "X.Y.Z" in `text`.
std::optional<std::array<int, 3>> first_version(std::string_view text) {
  for (std::size_t start = 0; start < text.size(); ++start) {
    if (text[start] < '0' || text[start] > '9') continue;
    if (start > 0 && text[start - 1] >= '0' && text[start - 1] <= '9') continue;
    std::array<int, 3> v{};
    const char* p = text.data() + start;
    const char* end = text.data() + text.size();
    bool ok = true;
    for (int i = 0; i < 3 && ok; ++i) {
      auto [next, ec] = std::from_chars(p, end, v[static_cast<std::size_t>(i)]);
      ok = ec == std::errc{} && next != p;
      p = next;
      if (ok && i < 2) {
        ok = p < end && *p == '.';
        ++p;
      }
    }
    if (ok) return v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_claude_version(std::string_view output) {
  std::string_view first_line = output.substr(0, output.find('\n'));
  if (output.find("Claude Code") == std::string_view::npos)
    return "`claude --version` does not report Claude Code (got \"" + std::string(first_line) +
           "\")";
  const auto v = first_version(output);
  if (!v)
    return "cannot read the version in `claude --version` (\"" + std::string(first_line) + "\")";
  const std::array<int, 3> min{kMinVersion[0], kMinVersion[1], kMinVersion[2]};
  if (*v < min)
    return "Claude Code " + std::to_string((*v)[0]) + "." + std::to_string((*v)[1]) + "." +
           std::to_string((*v)[2]) + " is too old: channels need 2.1.80 or later";
  return std::nullopt;
}

bool help_lists_effort(std::string_view help) {
  return help.find("--effort <level>") != std::string_view::npos;
}

}  // namespace avenor::claude_channel
