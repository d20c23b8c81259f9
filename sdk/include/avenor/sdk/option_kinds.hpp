// Permission option kinds (events.md §7.3): every backend and the host agree
// on what "allow" and "reject" mean, whatever spelling the agent used.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace avenor::sdk {

enum class OptionKind { allow, reject, unknown };

inline OptionKind normalize_option_kind(std::string_view raw) {
  std::string kind;
  for (char c : raw) kind.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  kind.erase(kind.begin(), std::find_if(kind.begin(), kind.end(), not_space));
  kind.erase(std::find_if(kind.rbegin(), kind.rend(), not_space).base(), kind.end());
  if (kind == "allow" || kind == "allow_once" || kind == "allow_always") return OptionKind::allow;
  if (kind == "reject" || kind == "reject_once" || kind == "reject_always" || kind == "deny" ||
      kind == "deny_once" || kind == "deny_always")
    return OptionKind::reject;
  return OptionKind::unknown;
}

inline std::string_view to_string(OptionKind k) {
  switch (k) {
    case OptionKind::allow:
      return "allow";
    case OptionKind::reject:
      return "reject";
    case OptionKind::unknown:
      break;
  }
  return "unknown";
}

}  // namespace avenor::sdk
