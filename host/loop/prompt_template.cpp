#include "loop/prompt_template.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <type_traits>
#include <variant>

#include "loop/load_limits.hpp"

namespace avenor::host {

namespace {

// A field is a member of TemplateValues, or monostate for the team fields that
// exist for compatibility with team templates but are always empty in loop runs.
using FieldRef = std::variant<std::monostate, std::string TemplateValues::*, int TemplateValues::*>;

struct FieldDef {
  std::string_view name;
  FieldRef ref;
};

constexpr std::array<FieldDef, 10> kFields{{
    {"RunID", &TemplateValues::run_id},
    {"Phase", &TemplateValues::phase},
    {"Iteration", &TemplateValues::iteration},
    {"MaxIterations", &TemplateValues::max_iterations},
    {"WorkDir", &TemplateValues::work_dir},
    {"PrevPhaseCommit", &TemplateValues::prev_phase_commit},
    {"DiffStat", &TemplateValues::diff_stat},
    {"ChangedFiles", &TemplateValues::changed_files},
    {"TeamOutput", std::monostate{}},
    {"TeamFinalOutput", std::monostate{}},
}};

// Appended to every "not supported" error so the user sees what is.
constexpr std::string_view kSubset =
    "; only {{.Field}} and {{if .Field}}...{{else}}...{{end}} are supported";

// Go's space characters; trim markers and action tokens use exactly these.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(
      a, b, [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Splits an action into words; | ( ) are words of their own so that ".X|len"
// is reported as a pipeline rather than as an odd field name.
std::vector<std::string_view> split_action(std::string_view s) {
  std::vector<std::string_view> words;
  constexpr std::string_view kPunct = "|()";
  size_t i = 0;
  while (i < s.size()) {
    if (is_space(s[i])) {
      ++i;
    } else if (kPunct.find(s[i]) != std::string_view::npos) {
      words.push_back(s.substr(i++, 1));
    } else {
      size_t j = i;
      while (j < s.size() && !is_space(s[j]) && kPunct.find(s[j]) == std::string_view::npos) ++j;
      words.push_back(s.substr(i, j - i));
      i = j;
    }
  }
  return words;
}

}  // namespace

struct PromptTemplate::Node {
  enum class Kind { kText, kField, kIf };
  Kind kind = Kind::kText;
  std::string text;  // kText
  FieldRef field;    // kField, and the condition of kIf
  std::vector<std::shared_ptr<const Node>> then_nodes, else_nodes;  // kIf
};

namespace {

using Node = PromptTemplate::Node;
using NodeList = std::vector<std::shared_ptr<const Node>>;

// One pass over the text, keeping a stack of open {{if}}s; the first error wins.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  NodeList parse() {
    size_t pos = 0;
    bool trim_next = false;  // the previous action ended with " -}}"
    for (;;) {
      const size_t open = text_.find("{{", pos);
      std::string_view chunk =
          text_.substr(pos, open == std::string_view::npos ? open : open - pos);
      if (trim_next) chunk = trim_left(chunk);
      if (open == std::string_view::npos) {
        add_text(chunk);
        break;
      }
      const int line = line_at(open);
      const Action action = read_action(open, line);
      if (action.trim_left) chunk = trim_right(chunk);
      add_text(chunk);
      if (!action.comment) handle(action, line);
      trim_next = action.trim_right;
      pos = action.end;
    }
    if (!open_ifs_.empty()) {
      const OpenIf& inner = open_ifs_.back();
      fail(line_at(text_.size()), "unexpected EOF: missing {{end}} for {{if ." +
                                      std::string(inner.name) + "}} on line " +
                                      std::to_string(inner.line));
    }
    return std::move(root_);
  }

 private:
  struct Action {
    std::string_view body;  // between the delimiters and trim markers
    bool trim_left = false, trim_right = false, comment = false;
    size_t end = 0;  // just past "}}"
  };

  struct OpenIf {
    std::shared_ptr<Node> node;
    int line;
    std::string_view name;
    bool in_else = false;
  };

  [[noreturn]] static void fail(int line, const std::string& what) {
    throw TemplateError("template: line " + std::to_string(line) + ": " + what);
  }

  // Positions only grow, so newlines are counted once.
  int line_at(size_t pos) {
    line_ += static_cast<int>(std::count(text_.begin() + counted_, text_.begin() + pos, '\n'));
    counted_ = pos;
    return line_;
  }

  Action read_action(size_t open, int line) const {
    Action a;
    size_t p = open + 2;
    // Like Go, "{{-" trims only when followed by a space; "{{-3" would be a number.
    if (p + 1 < text_.size() && text_[p] == '-' && is_space(text_[p + 1])) {
      a.trim_left = true;
      p += 2;
    }
    if (text_.substr(p).starts_with("/*")) {
      // Comments may contain "}}", so they end at "*/", which must be followed by the delimiter.
      const size_t close = text_.find("*/", p + 2);
      if (close == std::string_view::npos) fail(line, "unclosed comment");
      const std::string_view rest = text_.substr(close + 2);
      a.comment = true;
      if (rest.size() >= 4 && is_space(rest[0]) && rest.substr(1).starts_with("-}}")) {
        a.trim_right = true;
        a.end = close + 6;
      } else if (rest.starts_with("}}")) {
        a.end = close + 4;
      } else {
        fail(line, "comment ends before closing delimiter; write {{/* ... */}}");
      }
      return a;
    }
    const size_t close = text_.find("}}", p);
    a.body = text_.substr(p, close == std::string_view::npos ? close : close - p);
    // A "{{" before the "}}" means this action was never closed.
    if (close == std::string_view::npos || a.body.find("{{") != std::string_view::npos) {
      fail(line, "unclosed action");
    }
    if (a.body.size() >= 2 && a.body.back() == '-' && is_space(a.body[a.body.size() - 2])) {
      a.trim_right = true;
      a.body.remove_suffix(1);
    }
    a.end = close + 2;
    return a;
  }

  void handle(const Action& action, int line) {
    const std::string_view body = action.body;
    if (!action.trim_left && body.starts_with('-')) {
      fail(line, "\"{{-\" needs a space after the dash to trim whitespace");
    }
    if (!action.trim_right && body.ends_with('-')) {
      fail(line, "\"-}}\" needs a space before the dash to trim whitespace");
    }
    const std::vector<std::string_view> words = split_action(body);
    if (words.empty()) fail(line, "empty action {{}}; write a field such as {{.RunID}}");

    const std::string_view keyword = words[0];
    if (keyword == "if") {
      if (words.size() == 1) fail(line, "{{if}} needs a field, e.g. {{if .DiffStat}}");
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kIf;
      node->field = field(words[1], line);
      expect_end(words, 2, line);
      // Rendering, `uses` and freeing the tree recurse once per level.
      if (open_ifs_.size() >= static_cast<std::size_t>(kMaxTemplateNesting))
        fail(line, "{{if}} " + nesting_too_deep_message(kMaxTemplateNesting));
      current().push_back(node);
      open_ifs_.push_back({node, line, words[1].substr(1)});
    } else if (keyword == "else") {
      if (words.size() > 1 && words[1] == "if") {
        fail(line, "{{else if}} is not supported; nest an {{if}} inside {{else}}");
      }
      if (words.size() > 1) fail(line, "unexpected " + quoted(words[1]) + " in {{else}}");
      if (open_ifs_.empty()) fail(line, "{{else}} without a matching {{if}}");
      OpenIf& top = open_ifs_.back();
      if (top.in_else) {
        fail(line, "duplicate {{else}} in {{if ." + std::string(top.name) + "}} on line " +
                       std::to_string(top.line));
      }
      top.in_else = true;
    } else if (keyword == "end") {
      if (words.size() > 1) fail(line, "unexpected " + quoted(words[1]) + " in {{end}}");
      if (open_ifs_.empty()) fail(line, "{{end}} without a matching {{if}}");
      open_ifs_.pop_back();
    } else {
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kField;
      node->field = field(keyword, line);
      expect_end(words, 1, line);
      current().push_back(std::move(node));
    }
  }

  // Resolves a word that must be a field reference, naming what it is otherwise.
  static FieldRef field(std::string_view word, int line) {
    if (word == ".") fail(line, "{{.}} is not supported; refer to a field such as {{.RunID}}");
    if (word.starts_with('.')) {
      const std::string_view name = word.substr(1);
      if (name.find('.') != std::string_view::npos) {
        fail(line, "field chains like " + std::string(word) + " are not supported" +
                       std::string(kSubset));
      }
      for (const FieldDef& def : kFields) {
        if (def.name == name) return def.ref;
      }
      std::string what = "unknown field " + std::string(word);
      for (const FieldDef& def : kFields) {
        if (iequals(def.name, name)) what += " (did you mean ." + std::string(def.name) + "?)";
      }
      fail(line, what);
    }
    constexpr std::array<std::string_view, 7> kUnsupportedKeywords = {
        "range", "with", "define", "template", "block", "break", "continue"};
    if (std::ranges::find(kUnsupportedKeywords, word) != kUnsupportedKeywords.end()) {
      fail(line, "{{" + std::string(word) + "}} is not supported" + std::string(kSubset));
    }
    const unsigned char first = word[0];
    if (first == '$')
      fail(line, "variables (" + std::string(word) + ") are not supported" + std::string(kSubset));
    if (first == '(') fail(line, "parentheses are not supported" + std::string(kSubset));
    if (first == '|') fail(line, "pipelines (|) are not supported" + std::string(kSubset));
    if (std::isdigit(first) ||
        std::string_view("\"`'+-").find(static_cast<char>(first)) != std::string_view::npos ||
        word == "true" || word == "false" || word == "nil") {
      fail(line, "literals are not supported" + std::string(kSubset));
    }
    if (word.starts_with("/*")) fail(line, "a comment must start right after {{: {{/* ... */}}");
    if (std::isalpha(first) || first == '_') {
      fail(line, "function " + quoted(word) + " is not supported" + std::string(kSubset));
    }
    fail(line, "unexpected " + quoted(word) + " in action");
  }

  // A field takes no arguments and cannot feed a pipeline.
  static void expect_end(const std::vector<std::string_view>& words, size_t next, int line) {
    if (next >= words.size()) return;
    if (words[next] == "|") {
      fail(line, "pipelines (|) are not supported" + std::string(kSubset));
    }
    fail(line, "unexpected " + quoted(words[next]) + " after " + std::string(words[next - 1]) +
                   "; a field takes no arguments");
  }

  NodeList& current() {
    if (open_ifs_.empty()) return root_;
    OpenIf& top = open_ifs_.back();
    return top.in_else ? top.node->else_nodes : top.node->then_nodes;
  }

  void add_text(std::string_view chunk) {
    if (chunk.empty()) return;
    auto node = std::make_shared<Node>();
    node->text = chunk;
    current().push_back(std::move(node));
  }

  std::string_view text_;
  int line_ = 1;
  size_t counted_ = 0;
  NodeList root_;
  std::vector<OpenIf> open_ifs_;
};

bool is_true(const FieldRef& field, const TemplateValues& values) {
  return std::visit(
      [&](auto member) {
        using M = decltype(member);
        if constexpr (std::is_same_v<M, int TemplateValues::*>) {
          return values.*member != 0;
        } else if constexpr (std::is_same_v<M, std::string TemplateValues::*>) {
          return !(values.*member).empty();
        } else {
          return false;
        }
      },
      field);
}

void append_field(const FieldRef& field, const TemplateValues& values, std::string& out) {
  std::visit(
      [&](auto member) {
        using M = decltype(member);
        if constexpr (std::is_same_v<M, int TemplateValues::*>) {
          out += std::to_string(values.*member);
        } else if constexpr (std::is_same_v<M, std::string TemplateValues::*>) {
          out += values.*member;  // verbatim: text/template does no escaping
        }
      },
      field);
}

void render_nodes(const NodeList& nodes, const TemplateValues& values, std::string& out) {
  for (const auto& node : nodes) {
    switch (node->kind) {
      case Node::Kind::kText:
        out += node->text;
        break;
      case Node::Kind::kField:
        append_field(node->field, values, out);
        break;
      case Node::Kind::kIf:
        render_nodes(is_true(node->field, values) ? node->then_nodes : node->else_nodes, values,
                     out);
        break;
    }
  }
}

}  // namespace

PromptTemplate PromptTemplate::parse(std::string_view text) {
  PromptTemplate result;
  result.nodes_ = Parser(text).parse();
  return result;
}

std::string PromptTemplate::render(const TemplateValues& values) const {
  std::string out;
  render_nodes(nodes_, values, out);
  return out;
}

namespace {

bool any_uses(const NodeList& nodes, std::string TemplateValues::*field) {
  return std::ranges::any_of(nodes, [&](const auto& node) {
    const auto* ref = std::get_if<std::string TemplateValues::*>(&node->field);
    if (node->kind != Node::Kind::kText && ref && *ref == field) return true;
    return any_uses(node->then_nodes, field) || any_uses(node->else_nodes, field);
  });
}

}  // namespace

bool PromptTemplate::uses(std::string TemplateValues::*field) const {
  return any_uses(nodes_, field);
}

}  // namespace avenor::host
