// TOML → JSON for loop files. Tables and arrays of tables (`[[loop]]`) map
// one to one; dates and times have no JSON type and become their TOML text.
#include <toml++/toml.h>

#include <boost/json.hpp>
#include <sstream>
#include <string>

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

bj::value convert(const toml::node& node);

bj::object convert_table(const toml::table& table) {
  bj::object object;
  for (const auto& [key, value] : table) object.emplace(key.str(), convert(value));
  return object;
}

bj::value convert(const toml::node& node) {
  return node.visit([](const auto& n) -> bj::value {
    using T = std::decay_t<decltype(n)>;
    if constexpr (std::is_same_v<T, toml::table>) {
      return convert_table(n);
    } else if constexpr (std::is_same_v<T, toml::array>) {
      bj::array array;
      for (const toml::node& item : n) array.push_back(convert(item));
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
  try {
    return convert_table(toml::parse(text, std::string_view()));
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    throw StructuredTextError(at_position(begin.line, begin.column, e.description()));
  }
}

}  // namespace avenor::host::detail
