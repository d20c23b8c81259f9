// Internal to structured_text.cpp: one converter per non-JSON format, each in
// its own file so only it includes its parser library.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace avenor::host {
class LoadBudget;
}

namespace avenor::host::detail {

// Both throw StructuredTextError, for syntax and for the limits in
// load_limits.hpp (YAML: depth, nodes, alias cycles, the budget; TOML: depth).
boost::json::value yaml_to_json(std::string_view text, LoadBudget& budget);
boost::json::value toml_to_json(std::string_view text);

// Throws StructuredTextError when the YAML `text` holds more than
// kMaxYamlNodes nodes as written, counted on the parser's events before the
// library builds its node tree (a few hundred bytes per node).
void check_yaml_node_count(const std::string& text);

// Where TOML `text` first nests deeper than kMaxNestingDepth through table
// headers, dotted keys and inline arrays or tables, found by a lexical scan:
// the TOML library recurses on such keys, so they must be refused first. Never
// refuses a document nested no deeper than the limit; a document it passes may
// still be a little deeper, for the converter's exact check to refuse.
// Throws StructuredTextError ("line L, column C: nesting deeper than ...").
void check_toml_nesting(std::string_view text);

// "line L, column C: <message>" (1-based), the prefix every converter uses.
std::string at_position(long line, long column, std::string_view message);

}  // namespace avenor::host::detail
