// Counting a YAML document's nodes before yaml-cpp builds them: its node tree
// costs a few hundred bytes a node, so a 4 MiB file of `[1,1,1,...]` would
// take about a gigabyte. The parser's event stream costs nothing per node, so
// the file is parsed once for counting and stopped at the limit. (Aliases are
// one event each: what they expand to is the converter's budget.)
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <sstream>

#include "loop/load_limits.hpp"
#include "loop/structured_formats.hpp"
#include "loop/structured_text.hpp"

namespace avenor::host::detail {
namespace {

class NodeCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { count(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { count(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    count(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    count(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    count(mark);
  }
  void OnMapEnd() override {}

 private:
  void count(const YAML::Mark& mark) {
    if (++nodes_ <= kMaxYamlNodes) return;
    const std::string message = "more than " + std::to_string(kMaxYamlNodes) + " YAML nodes";
    if (mark.is_null()) throw StructuredTextError(message);
    throw StructuredTextError(at_position(mark.line + 1, mark.column + 1, message));
  }

  std::size_t nodes_ = 0;
};

}  // namespace

void check_yaml_node_count(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  NodeCounter counter;
  while (parser.HandleNextDocument(counter)) {
  }
}

}  // namespace avenor::host::detail
