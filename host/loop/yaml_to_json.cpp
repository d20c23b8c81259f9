// YAML → JSON for loop files. yaml-cpp leaves scalars as text, so their types
// are resolved here: the tag tells plain ("?") from quoted or block ("!")
// scalars, and plain ones follow the YAML 1.2 core schema.
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "loop/load_limits.hpp"
#include "loop/structured_formats.hpp"
#include "loop/structured_text.hpp"

namespace avenor::host::detail {
namespace {

namespace bj = boost::json;

constexpr std::string_view kCoreTag = "tag:yaml.org,2002:";

[[noreturn]] void fail_at(const YAML::Mark& mark, std::string_view message) {
  if (mark.is_null()) throw StructuredTextError(std::string(message));
  throw StructuredTextError(at_position(mark.line + 1, mark.column + 1, message));
}

std::optional<bool> core_bool(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

bool core_null(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

// Decimal, 0o octal or 0x hex; out of int64 range is a float, like JSON.
std::optional<bj::value> core_int(const std::string& s) {
  static const std::regex decimal("[-+]?[0-9]+");
  static const std::regex octal("0o[0-7]+");
  static const std::regex hex("0x[0-9a-fA-F]+");
  int base = 10;
  std::string_view digits = s;
  if (std::regex_match(s, octal)) {
    base = 8;
    digits.remove_prefix(2);
  } else if (std::regex_match(s, hex)) {
    base = 16;
    digits.remove_prefix(2);
  } else if (!std::regex_match(s, decimal)) {
    return std::nullopt;
  }
  if (base == 10 && digits.front() == '+') digits.remove_prefix(1);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (ec == std::errc() && end == digits.data() + digits.size()) return bj::value(value);
  if (base == 10) return bj::value(std::strtod(s.c_str(), nullptr));
  return std::nullopt;
}

std::optional<double> core_float(const std::string& s) {
  static const std::regex number(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  static const std::regex inf(R"([-+]?\.(inf|Inf|INF))");
  static const std::regex nan(R"(\.(nan|NaN|NAN))");
  if (std::regex_match(s, number)) return std::strtod(s.c_str(), nullptr);
  if (std::regex_match(s, inf)) return s.front() == '-' ? -HUGE_VAL : HUGE_VAL;
  if (std::regex_match(s, nan)) return std::nan("");
  return std::nullopt;
}

// Every core-schema number starts like this; testing it first spares the
// regexes for most strings, which matters when aliases repeat one many times.
bool could_be_number(const std::string& s) {
  return !s.empty() && std::string_view("+-.0123456789").find(s.front()) != std::string_view::npos;
}

bj::value plain_scalar(const std::string& s) {
  if (core_null(s)) return nullptr;
  if (auto b = core_bool(s)) return *b;
  if (!could_be_number(s)) return bj::string(s);
  if (auto i = core_int(s)) return *i;
  if (auto f = core_float(s)) return *f;
  return bj::string(s);
}

// An explicit core tag (!!str, !!int, …) forces the type; the text must fit it.
bj::value tagged_scalar(const YAML::Node& node, std::string_view tag) {
  const std::string& s = node.Scalar();
  const std::string_view type = tag.substr(kCoreTag.size());
  if (type == "str") return bj::string(s);
  if (type == "null" && core_null(s)) return nullptr;
  if (type == "bool")
    if (auto b = core_bool(s)) return *b;
  if (type == "int")
    if (auto i = core_int(s)) return *i;
  if (type == "float") {
    if (auto f = core_float(s)) return *f;
    if (auto i = core_int(s)) return i->is_int64() ? static_cast<double>(i->get_int64()) : *i;
  }
  fail_at(node.Mark(), "cannot read \"" + s + "\" as !!" + std::string(type));
}

bj::value convert_scalar(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  if (tag == "!") return bj::string(node.Scalar());  // quoted or block scalar
  if (tag.empty() || tag == "?") return plain_scalar(node.Scalar());
  if (tag.starts_with(kCoreTag)) return tagged_scalar(node, tag);
  fail_at(node.Mark(), "unsupported YAML tag \"" + tag + "\"");
}

// yaml-cpp shares an aliased node rather than copying it, so the tree it
// builds is small even when aliases make the document huge ("billion
// laughs"), and an alias inside the node it names makes a cycle. Both show up
// here, where the document is expanded: the budget counts what expanding
// produces, and the path from the root finds a node inside itself.
class Converter {
 public:
  explicit Converter(LoadBudget& budget) : budget_(budget) {}

  bj::value convert(const YAML::Node& node) {
    charge(node, budget_.charge_values(1));
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return nullptr;
      case YAML::NodeType::Scalar:
        charge(node, budget_.charge_text(node.Scalar().size()));
        return convert_scalar(node);
      case YAML::NodeType::Sequence: {
        const Level level(*this, node);
        bj::array array;
        for (const auto& item : node) array.push_back(convert(item));
        return array;
      }
      case YAML::NodeType::Map: {
        const Level level(*this, node);
        return convert_map(node);
      }
    }
    return nullptr;
  }

 private:
  // A container on the path from the root while its content is converted.
  class Level {
   public:
    Level(Converter& c, const YAML::Node& node) : path_(c.path_) {
      for (const YAML::Node& outer : path_)
        if (outer.is(node)) fail_at(node.Mark(), "an alias refers to a node that contains it");
      path_.push_back(node);
      if (path_.size() > static_cast<std::size_t>(kMaxNestingDepth))
        fail_at(node.Mark(), nesting_too_deep_message());
    }
    Level(const Level&) = delete;
    Level& operator=(const Level&) = delete;
    ~Level() { path_.pop_back(); }

   private:
    std::vector<YAML::Node>& path_;
  };

  static void charge(const YAML::Node& node, const std::string& problem) {
    if (!problem.empty()) fail_at(node.Mark(), problem);
  }

  bj::value convert_map(const YAML::Node& node) {
    bj::object object;
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar() && !key.IsNull()) fail_at(key.Mark(), "mapping keys must be scalars");
      const std::string name = key.IsNull() ? std::string() : key.Scalar();
      charge(key, budget_.charge_text(name.size()));
      if (object.contains(name)) fail_at(key.Mark(), "duplicate key \"" + name + "\"");
      object.emplace(name, convert(entry.second));
    }
    return object;
  }

  LoadBudget& budget_;
  std::vector<YAML::Node> path_;
};

}  // namespace

bj::value yaml_to_json(std::string_view text, LoadBudget& budget) {
  const std::string input(text);
  std::vector<YAML::Node> documents;
  try {
    check_yaml_node_count(input);
    documents = YAML::LoadAll(input);
  } catch (const YAML::DeepRecursion& e) {
    fail_at(e.mark, nesting_too_deep_message());  // yaml-cpp's own guard, far below the stack's end
  } catch (const YAML::Exception& e) {
    fail_at(e.mark, e.msg);
  }
  if (documents.size() > 1)
    fail_at(documents[1].Mark(),
            "expected one YAML document, found " + std::to_string(documents.size()));
  if (documents.empty() || documents.front().IsNull())
    throw StructuredTextError("empty YAML document");
  return Converter(budget).convert(documents.front());
}

}  // namespace avenor::host::detail
