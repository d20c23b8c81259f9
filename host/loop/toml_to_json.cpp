// TOML → JSON for loop files. Tables and arrays of tables (`[[loop]]`) map
// one to one; dates and times have no JSON type and become their TOML text.

// toml++ 3.3 states some parser preconditions as assertions that NDEBUG turns
// into compiler assumptions (TOML_ASSERT_ASSUME), so a hostile file breaking
// one would be undefined behaviour. One is reachable: a table header's `[`
// followed by a byte no key starts with (found by the loop_config fuzzer,
// which builds with asserts on and aborted there). The parser reports that
// error itself right after, so here the checks are neither assumptions nor
// aborts. toml++ is compiled in this file only (header-only).
#ifdef NDEBUG
#undef NDEBUG
#define AVENOR_TOML_RESTORE_NDEBUG
#endif
#define TOML_ASSERT(expr) static_cast<void>(0)
#include <toml++/toml.h>
#ifdef AVENOR_TOML_RESTORE_NDEBUG
#undef AVENOR_TOML_RESTORE_NDEBUG
#define NDEBUG
#endif

#include <boost/json.hpp>
#include <sstream>
#include <string>

#include "loop/load_limits.hpp"
#include "loop/structured_formats.hpp"
#include "loop/structured_text.hpp"

namespace avenor::host::detail {
namespace {

namespace bj = boost::json;

template <typename T>
std::string toml_text(const T& value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

bj::value convert(const toml::node& node, int depth);

// `depth`: containers from the root table (1) down to this one.
void check_depth(const toml::node& node, int depth) {
  if (depth <= kMaxNestingDepth) return;
  const auto& begin = node.source().begin;
  throw StructuredTextError(at_position(begin.line, begin.column, nesting_too_deep_message()));
}

bj::object convert_table(const toml::table& table, int depth) {
  check_depth(table, depth);
  bj::object object;
  for (const auto& [key, value] : table) object.emplace(key.str(), convert(value, depth + 1));
  return object;
}

bj::value convert(const toml::node& node, int depth) {
  return node.visit([depth](const auto& n) -> bj::value {
    using T = std::decay_t<decltype(n)>;
    if constexpr (std::is_same_v<T, toml::table>) {
      return convert_table(n, depth);
    } else if constexpr (std::is_same_v<T, toml::array>) {
      check_depth(n, depth);
      bj::array array;
      for (const toml::node& item : n) array.push_back(convert(item, depth + 1));
      return array;
    } else if constexpr (std::is_same_v<T, toml::value<std::string>>) {
      return bj::string(n.get());
    } else if constexpr (std::is_same_v<T, toml::value<std::int64_t>>) {
      return n.get();
    } else if constexpr (std::is_same_v<T, toml::value<double>>) {
      return n.get();
    } else if constexpr (std::is_same_v<T, toml::value<bool>>) {
      return n.get();
    } else {
      return bj::string(toml_text(n));  // date, time, date-time
    }
  });
}

}  // namespace

bj::value toml_to_json(std::string_view text) {
  check_toml_nesting(text);  // before toml++ can recurse on a deep header
  try {
    return convert_table(toml::parse(text, std::string_view()), 1);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    throw StructuredTextError(at_position(begin.line, begin.column, e.description()));
  }
}

}  // namespace avenor::host::detail
