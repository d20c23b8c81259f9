#include "cli/go_flags.hpp"

#include <boost/json.hpp>
#include <limits>
#include <stdexcept>

#include "util/duration.hpp"

namespace avenor::host {
namespace {

constexpr const char* kParseError = "parse error";
constexpr const char* kRangeError = "value out of range";

// Go's %q for the ASCII values flags normally carry.
std::string go_quote(std::string_view s) { return boost::json::serialize(s); }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// strconv's underscoreOK: underscores only between digits or after a base
// prefix (base-0 parsing only).
bool underscores_ok(std::string_view s) {
  char saw = '^';
  std::size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

// strconv.ParseUint(s, 0, 64) without the sign.
std::optional<std::string> parse_go_uint(std::string_view s0, std::uint64_t& out) {
  if (s0.empty()) return kParseError;
  std::string_view s = s0;
  unsigned base = 10;
  if (s[0] == '0') {
    if (s.size() >= 3 && lower(s[1]) == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else if (s.size() >= 3 && lower(s[1]) == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else if (s.size() >= 3 && lower(s[1]) == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t n = 0;
  bool underscores = false;
  for (char c : s) {
    unsigned digit = 0;
    if (c == '_') {
      underscores = true;
      continue;
    }
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (lower(c) >= 'a' && lower(c) <= 'z') {
      digit = static_cast<unsigned>(lower(c) - 'a' + 10);
    } else {
      return kParseError;
    }
    if (digit >= base) return kParseError;
    // Like strconv, overflow is reported at once, before later characters
    // are checked.
    if (n > max / base || n * base > max - digit) return kRangeError;
    n = n * base + digit;
  }
  if (underscores && !underscores_ok(s0)) return kParseError;
  out = n;
  return std::nullopt;
}

constexpr const char* kDurationExamples = "use e.g. 5s, 10m, 1h30m";

}  // namespace

std::string duration_error_reason(std::string_view text) {
  std::string_view number = text;
  if (!number.empty() && (number[0] == '+' || number[0] == '-')) number.remove_prefix(1);
  bool digit = false;
  bool only_number = !number.empty();
  for (char c : number) {
    if (c >= '0' && c <= '9')
      digit = true;
    else if (c != '.')
      only_number = false;
  }
  if (only_number && digit)
    return std::string("missing unit in duration (") + kDurationExamples + ")";
  return std::string(kParseError) + " (" + kDurationExamples + ")";
}

GoIntParse parse_go_int(std::string_view text) {
  GoIntParse result;
  if (text.empty()) {
    result.error = kParseError;
    return result;
  }
  std::string_view s = text;
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::uint64_t magnitude = 0;
  if (auto err = parse_go_uint(s, magnitude)) {
    result.error = *err;
    return result;
  }
  const std::uint64_t cutoff = std::uint64_t{1} << 63;
  if (!negative && magnitude >= cutoff) {
    result.error = kRangeError;
    return result;
  }
  if (negative && magnitude > cutoff) {
    result.error = kRangeError;
    return result;
  }
  result.value =
      negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
  return result;
}

std::optional<bool> parse_go_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False")
    return false;
  return std::nullopt;
}

GoFlagSet::GoFlagSet(std::string name)
    : name_(std::move(name)),
      usage_header_(name_.empty() ? "Usage:\n" : "Usage of " + name_ + ":\n") {}

void GoFlagSet::define(Flag flag) {
  if (flag.name.empty() || flag.name.front() == '-' || flag.name.find('=') != std::string::npos)
    throw std::logic_error("flag " + go_quote(flag.name) + " has an invalid name");
  if (flags_.count(flag.name) > 0) throw std::logic_error(name_ + " flag redefined: " + flag.name);
  std::string key = flag.name;
  flags_.emplace(std::move(key), std::move(flag));
}

void GoFlagSet::string_var(std::string& target, std::string name, std::string default_value,
                           std::string usage) {
  target = default_value;
  Flag flag{std::move(name),
            std::move(usage),
            [&target](std::string_view v) -> std::optional<std::string> {
              target = std::string(v);
              return std::nullopt;
            },
            false,
            "string",
            default_value,
            true,
            default_value.empty()};
  define(std::move(flag));
}

void GoFlagSet::bool_var(bool& target, std::string name, bool default_value, std::string usage) {
  target = default_value;
  Flag flag{std::move(name),
            std::move(usage),
            [&target](std::string_view v) -> std::optional<std::string> {
              auto b = parse_go_bool(v);
              if (!b) return kParseError;
              target = *b;
              return std::nullopt;
            },
            true,
            "",
            default_value ? "true" : "false",
            false,
            !default_value};
  define(std::move(flag));
}

void GoFlagSet::int_var(int& target, std::string name, int default_value, std::string usage) {
  target = default_value;
  Flag flag{
      std::move(name),
      std::move(usage),
      [&target](std::string_view v) -> std::optional<std::string> {
        GoIntParse p = parse_go_int(v);
        if (p.error) return p.error;
        if (p.value < std::numeric_limits<int>::min() || p.value > std::numeric_limits<int>::max())
          return kRangeError;
        target = static_cast<int>(p.value);
        return std::nullopt;
      },
      false,
      "int",
      std::to_string(default_value),
      false,
      default_value == 0};
  define(std::move(flag));
}

void GoFlagSet::int64_var(std::int64_t& target, std::string name, std::int64_t default_value,
                          std::string usage) {
  target = default_value;
  Flag flag{std::move(name),
            std::move(usage),
            [&target](std::string_view v) -> std::optional<std::string> {
              GoIntParse p = parse_go_int(v);
              if (p.error) return p.error;
              target = p.value;
              return std::nullopt;
            },
            false,
            "int",
            std::to_string(default_value),
            false,
            default_value == 0};
  define(std::move(flag));
}

void GoFlagSet::duration_var(std::chrono::nanoseconds& target, std::string name,
                             std::chrono::nanoseconds default_value, std::string usage) {
  target = default_value;
  Flag flag{std::move(name),
            std::move(usage),
            [&target](std::string_view v) -> std::optional<std::string> {
              auto d = parse_go_duration(v);
              if (!d) return duration_error_reason(v);
              target = *d;
              return std::nullopt;
            },
            false,
            "duration",
            format_go_duration(default_value),
            false,
            default_value.count() == 0};
  define(std::move(flag));
}

void GoFlagSet::func_var(std::string name, std::string usage, Setter set, bool is_bool,
                         std::string type_name, std::string default_text) {
  const bool zero = default_text.empty();
  Flag flag{std::move(name),
            std::move(usage),
            std::move(set),
            is_bool,
            is_bool ? std::string() : std::move(type_name),
            std::move(default_text),
            false,
            zero};
  define(std::move(flag));
}

std::optional<GoFlagSet::ParseResult> GoFlagSet::parse_one(
    std::vector<std::string>::const_iterator& it, std::vector<std::string>::const_iterator end,
    Step& step) {
  step = Step::flag;
  const std::string& s = *it;
  if (s.size() < 2 || s[0] != '-') {
    step = Step::positional;
    return std::nullopt;
  }
  std::size_t minuses = 1;
  if (s[1] == '-') {
    minuses = 2;
    if (s.size() == 2) {  // "--" ends the flags and is consumed
      ++it;
      step = Step::terminator;
      return std::nullopt;
    }
  }
  std::string name = s.substr(minuses);
  if (name.empty() || name[0] == '-' || name[0] == '=')
    return ParseResult{ParseResult::Status::error, "bad flag syntax: " + s};
  ++it;

  bool has_value = false;
  std::string value;
  if (const std::size_t eq = name.find('=', 1); eq != std::string::npos) {
    value = name.substr(eq + 1);
    has_value = true;
    name.resize(eq);
  }

  auto found = flags_.find(name);
  if (found == flags_.end()) {
    if (name == "help" || name == "h") return ParseResult{ParseResult::Status::help, ""};
    return ParseResult{ParseResult::Status::error, "flag provided but not defined: -" + name};
  }
  Flag& flag = found->second;
  if (flag.is_bool) {
    if (auto err = flag.set(has_value ? value : "true")) {
      if (has_value)
        return ParseResult{ParseResult::Status::error, "invalid boolean value " + go_quote(value) +
                                                           " for -" + name + ": " + *err};
      return ParseResult{ParseResult::Status::error, "invalid boolean flag " + name + ": " + *err};
    }
  } else {
    if (!has_value && it != end) {
      value = *it++;
      has_value = true;
    }
    if (!has_value)
      return ParseResult{ParseResult::Status::error, "flag needs an argument: -" + name};
    if (auto err = flag.set(value))
      return ParseResult{ParseResult::Status::error,
                         "invalid value " + go_quote(value) + " for flag -" + name + ": " + *err};
  }
  set_.insert(name);
  return std::nullopt;
}

GoFlagSet::ParseResult GoFlagSet::parse(const std::vector<std::string>& args) {
  positional_.clear();
  auto it = args.cbegin();
  while (it != args.cend()) {
    // Once a positional was seen, only a defined flag (or help) is a flag:
    // any other word stays the argument it was under Go's rules, so a
    // command line that worked before still means the same.
    if (interspersed_ && !positional_.empty() && *it != "--" && !names_a_flag(*it)) {
      positional_.push_back(*it++);
      continue;
    }
    Step step = Step::flag;
    if (auto result = parse_one(it, args.cend(), step)) return *result;
    if (step == Step::flag) continue;
    if (step == Step::positional && interspersed_) {
      positional_.push_back(*it++);
      continue;
    }
    break;  // Go stops at the first positional; "--" ends the flags
  }
  positional_.insert(positional_.end(), it, args.cend());
  return ParseResult{};
}

bool GoFlagSet::names_a_flag(std::string_view word) const {
  if (word.size() < 2 || word[0] != '-') return false;
  word.remove_prefix(word[1] == '-' ? 2 : 1);
  const std::string_view name = word.substr(0, word.find('='));
  if (name.empty() || name[0] == '-') return false;
  return flags_.count(name) > 0 || name == "h" || name == "help";
}

bool GoFlagSet::is_bool_flag(std::string_view name) const {
  auto found = flags_.find(name);
  return found != flags_.end() && found->second.is_bool;
}

std::string GoFlagSet::defaults_text() const {
  std::string out;
  for (const auto& [name, flag] : flags_) {
    std::string line = "  -" + name;
    std::string usage = flag.usage;
    std::string type_name = flag.type_name;
    // A `backquoted` word in the usage names the value (Go's UnquoteUsage).
    if (const std::size_t open = usage.find('`'); open != std::string::npos) {
      if (const std::size_t close = usage.find('`', open + 1); close != std::string::npos) {
        type_name = usage.substr(open + 1, close - open - 1);
        usage = usage.substr(0, open) + type_name + usage.substr(close + 1);
      }
    }
    if (!type_name.empty()) line += " " + type_name;
    // One-letter bool flags share the line with their usage.
    line += line.size() <= 4 ? "\t" : "\n    \t";
    for (char c : usage) {
      if (c == '\n') {
        line += "\n    \t";
      } else {
        line += c;
      }
    }
    if (!flag.default_is_zero) {
      line += " (default " +
              (flag.quote_default ? go_quote(flag.default_text) : flag.default_text) + ")";
    }
    out += line + "\n";
  }
  return out;
}

std::string GoFlagSet::usage() const { return usage_header_ + defaults_text(); }

void GoFlagSet::print_error_and_usage(const ParseResult& result, std::ostream& out) const {
  if (result.status == ParseResult::Status::error) out << result.error << "\n";
  out << usage();
}

}  // namespace avenor::host
