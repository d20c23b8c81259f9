// Reading Claude Code's terminal (backends.md §7.3, §7.5, §7.6): what a
// `tmux capture-pane -p` text shows. Depends on Claude Code 2.1.x screen texts;
// every marker is named here and nowhere else.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::claude_channel {

// A startup dialog and the keys that get past it.
enum class StartupDialog { none, new_mcp_server, development_channels, trust_folder };
StartupDialog find_startup_dialog(std::string_view screen);
std::vector<std::string> keys_for(StartupDialog dialog);
std::string_view name_of(StartupDialog dialog);

// One numbered choice of a permission dialog ("❯ 1. Yes").
struct PaneOption {
  std::string number;   // "1"
  std::string label;    // "Yes"
  bool reject = false;  // a label starting with "No"
};

struct PaneDialog {
  std::string description;  // the text above the options, question included
  std::vector<PaneOption> options;
};

// A permission dialog ("Do you want to proceed?", "Do you want to make this
// edit", "Yes, allow all edits") with at least one numbered option.
std::optional<PaneDialog> find_permission_dialog(std::string_view screen);

// The empty input box is on screen and Claude is not busy: a line starting
// with "❯" right below a horizontal rule (the input box, not an old prompt in
// the scrollback), no "esc to interrupt" footer, no dialog.
bool pane_idle(std::string_view screen);

// Ready for the first prompt: the welcome screen's "Tips for getting
// started" or "❯ Try", or an empty framed input box (a line that is exactly
// "❯" and a rule of at least 20 "─"), with no dialog open.
bool pane_ready(std::string_view screen);

// The input box still holds (the first 96 characters of the first line of)
// `prompt`: it was pasted but not submitted.
bool prompt_still_in_input(std::string_view screen, std::string_view prompt);

// "Channels are not currently available" and its siblings: Claude Code
// ignored --dangerously-load-development-channels.
bool channels_unavailable(std::string_view screen);

}  // namespace avenor::claude_channel
