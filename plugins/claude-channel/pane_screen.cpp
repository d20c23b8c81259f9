#include "pane_screen.hpp"

#include <algorithm>

namespace avenor::claude_channel {
namespace {

constexpr std::string_view kPointer = "\u276F";  // ❯
constexpr std::string_view kRule = "\u2500";     // ─

std::vector<std::string_view> lines_of(std::string_view screen) {
  std::vector<std::string_view> lines;
  while (!screen.empty()) {
    const std::size_t nl = screen.find('\n');
    lines.push_back(screen.substr(0, nl));
    if (nl == std::string_view::npos) break;
    screen.remove_prefix(nl + 1);
  }
  return lines;
}

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  // U+00A0 (no-break space) shows up after the pointer in some builds.
  while (s.size() >= 2 && s.substr(s.size() - 2) == "\u00A0") s.remove_suffix(2);
  return s;
}

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// A line drawn with at least `n` box rules (the input box frame, separators).
bool is_rule(std::string_view line, std::size_t n = 20) {
  std::size_t count = 0;
  for (std::size_t pos = line.find(kRule); pos != std::string_view::npos;
       pos = line.find(kRule, pos + kRule.size()))
    ++count;
  return count >= n;
}

// "[❯] N. label" → the option.
std::optional<PaneOption> parse_option(std::string_view line) {
  std::string_view s = trim(line);
  if (starts_with(s, kPointer)) s = trim(s.substr(kPointer.size()));
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0 || digits > 2 || digits + 1 >= s.size() || s[digits] != '.' ||
      s[digits + 1] != ' ')
    return std::nullopt;
  PaneOption option;
  option.number = std::string(s.substr(0, digits));
  option.label = std::string(trim(s.substr(digits + 2)));
  option.reject = starts_with(option.label, "No");
  return option;
}

// Index of the input box line ("❯ ..." right below a rule), or -1.
int input_box_line(const std::vector<std::string_view>& lines) {
  for (int i = static_cast<int>(lines.size()) - 1; i > 0; --i) {
    if (!starts_with(lines[static_cast<std::size_t>(i)], kPointer)) continue;
    if (is_rule(lines[static_cast<std::size_t>(i - 1)])) return i;
  }
  return -1;
}

bool any_dialog(std::string_view screen) {
  return find_startup_dialog(screen) != StartupDialog::none ||
         find_permission_dialog(screen).has_value();
}

}  // namespace

StartupDialog find_startup_dialog(std::string_view screen) {
  if (contains(screen, "New MCP server found in this project"))
    return StartupDialog::new_mcp_server;
  if (contains(screen, "Loading development channels")) return StartupDialog::development_channels;
  if (contains(screen, "Quick safety check") && contains(screen, "Yes, I trust this folder"))
    return StartupDialog::trust_folder;
  return StartupDialog::none;
}

std::vector<std::string> keys_for(StartupDialog dialog) {
  switch (dialog) {
    case StartupDialog::new_mcp_server:
      return {"1", "Enter"};
    case StartupDialog::development_channels:
    case StartupDialog::trust_folder:
      return {"Enter"};
    case StartupDialog::none:
      break;
  }
  return {};
}

std::string_view name_of(StartupDialog dialog) {
  switch (dialog) {
    case StartupDialog::new_mcp_server:
      return "new_mcp_server";
    case StartupDialog::development_channels:
      return "development_channels";
    case StartupDialog::trust_folder:
      return "trust_folder";
    case StartupDialog::none:
      break;
  }
  return "none";
}

std::optional<PaneDialog> find_permission_dialog(std::string_view screen) {
  const std::vector<std::string_view> lines = lines_of(screen);
  std::size_t marker = lines.size();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (contains(lines[i], "Do you want to proceed?") ||
        contains(lines[i], "Do you want to make this edit") ||
        contains(lines[i], "Yes, allow all edits")) {
      marker = i;
      break;
    }
  }
  if (marker == lines.size()) return std::nullopt;
  // The question is the marker line unless the marker is itself an option.
  std::size_t question = marker;
  if (parse_option(lines[marker])) {
    question = marker;
    while (question > 0 && parse_option(lines[question])) --question;
  }

  PaneDialog dialog;
  for (std::size_t i = question; i < lines.size(); ++i) {
    if (auto option = parse_option(lines[i])) {
      dialog.options.push_back(std::move(*option));
    } else if (!dialog.options.empty() && !trim(lines[i]).empty()) {
      break;  // the footer below the options
    }
  }
  if (dialog.options.empty()) return std::nullopt;

  // The prompt text: from below the nearest rule above the question down to it.
  std::size_t top = question;
  while (top > 0 && !is_rule(lines[top - 1])) --top;
  for (std::size_t i = top; i <= question; ++i) {
    const std::string_view text = trim(lines[i]);
    if (text.empty() || parse_option(lines[i])) continue;
    if (!dialog.description.empty()) dialog.description += "\n";
    dialog.description += std::string(text);
  }
  return dialog;
}

bool pane_idle(std::string_view screen) {
  if (contains(screen, "esc to interrupt") || any_dialog(screen)) return false;
  return input_box_line(lines_of(screen)) >= 0;
}

bool pane_ready(std::string_view screen) {
  if (any_dialog(screen)) return false;
  if (contains(screen, "Tips for getting started")) return true;
  const std::vector<std::string_view> lines = lines_of(screen);
  bool pointer_try = false, empty_box = false, rule = false;
  for (std::string_view line : lines) {
    const std::string_view t = trim(line);
    if (starts_with(t, std::string(kPointer) + " Try")) pointer_try = true;
    if (t == kPointer) empty_box = true;
    if (is_rule(line)) rule = true;
  }
  return pointer_try || (empty_box && rule);
}

bool prompt_still_in_input(std::string_view screen, std::string_view prompt) {
  std::string_view first = prompt.substr(0, prompt.find('\n'));
  first = trim(first);
  // 96 characters, not bytes: cut at a UTF-8 boundary.
  std::size_t chars = 0, cut = 0;
  while (cut < first.size() && chars < 96) {
    ++cut;
    while (cut < first.size() && (static_cast<unsigned char>(first[cut]) & 0xC0) == 0x80) ++cut;
    ++chars;
  }
  first = first.substr(0, cut);
  if (first.empty()) return false;
  const std::vector<std::string_view> lines = lines_of(screen);
  const int box = input_box_line(lines);
  if (box < 0) return false;
  // The box runs from its "❯" line to the next rule; the prompt may wrap.
  std::string box_text;
  for (std::size_t i = static_cast<std::size_t>(box); i < lines.size() && !is_rule(lines[i]); ++i) {
    std::string_view t = trim(lines[i]);
    if (i == static_cast<std::size_t>(box)) t = trim(t.substr(kPointer.size()));
    box_text += std::string(t);
  }
  std::string wanted;
  for (char c : first)
    if (c != ' ') wanted += c;
  std::string have;
  for (char c : box_text)
    if (c != ' ') have += c;
  return !wanted.empty() && have.find(wanted) != std::string::npos;
}

bool channels_unavailable(std::string_view screen) {
  return contains(screen, "Channels are not currently available") ||
         contains(screen, "--dangerously-load-development-channels ignored") ||
         contains(screen, "channels are not available");
}

}  // namespace avenor::claude_channel
