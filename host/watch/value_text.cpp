#include "watch/value_text.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <vector>

#include "util/json_text.hpp"
#include "watch/text_clean.hpp"

namespace avenor::host::watch {
namespace {

namespace bj = boost::json;

void append_value(std::string& out, const bj::value* value) {
  if (value == nullptr || value->is_null()) {
    out += "<nil>";
    return;
  }
  switch (value->kind()) {
    case bj::kind::string:
      out += valid_utf8(value->get_string());
      return;
    case bj::kind::array: {
      out += '[';
      bool first = true;
      for (const bj::value& item : value->get_array()) {
        if (!first) out += ' ';
        first = false;
        append_value(out, &item);
      }
      out += ']';
      return;
    }
    case bj::kind::object: {
      // Go prints map keys sorted.
      std::vector<const bj::key_value_pair*> members;
      for (const bj::key_value_pair& member : value->get_object()) members.push_back(&member);
      std::sort(members.begin(), members.end(),
                [](const bj::key_value_pair* a, const bj::key_value_pair* b) {
                  return a->key() < b->key();
                });
      out += "map[";
      bool first = true;
      for (const bj::key_value_pair* member : members) {
        if (!first) out += ' ';
        first = false;
        out += valid_utf8(member->key());
        out += ':';
        append_value(out, &member->value());
      }
      out += ']';
      return;
    }
    default:
      // Numbers and booleans: the JSON text is exactly the wanted form
      // (json_text prints Go's shortest number form).
      out += to_compact_json(*value);
      return;
  }
}

}  // namespace

std::string value_text(const boost::json::value* value) {
  std::string out;
  append_value(out, value);
  return out;
}

}  // namespace avenor::host::watch
