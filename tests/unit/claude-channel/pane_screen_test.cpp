// Screens captured from Claude Code 2.1.197 in tmux (220x50), trimmed.
#include "claude-channel/pane_screen.hpp"

#include <gtest/gtest.h>

namespace {

using namespace avenor::claude_channel;

std::string rule() {
  std::string r;
  for (int i = 0; i < 60; ++i) r += "\u2500";
  return r;
}

std::string trust_screen() {
  return rule() +
         "\n Accessing workspace:\n\n /tmp/cexp/proj2\n\n Quick safety check: Is this a "
         "project you created or one you trust?\n\n \u276F 1. Yes, I trust this folder\n"
         "   2. No, exit\n\n Enter to confirm \u00B7 Esc to cancel\n";
}

std::string mcp_screen() {
  return rule() +
         "\n  New MCP server found in this project: avenor-channel-abcd1234\n  MCP servers may "
         "execute code.\n  \u276F 1. Use this MCP server\n    2. Use this and all future MCP "
         "servers in this project\n    3. Continue without using this MCP server\n  Enter to "
         "confirm \u00B7 Esc to cancel\n";
}

std::string idle_screen(const std::string& history = "") {
  return "\u256D\u2500\u2500\u2500 Claude Code v2.1.197 \u2500\u2500\u2500\u256E\n"
         "\u2502 Tips for getting started \u2502\n"
         " \u258E Channels are not currently available\n" +
         history + rule() + "\n\u276F \n" + rule() +
         "\n  ? for shortcuts \u00B7 \u2190 for agents\n";
}

std::string bash_dialog() {
  return "\u276F Create the file\n\u25CF Bash(touch /tmp/x/made.txt)\n  \u23BF  Waiting\u2026\n" +
         rule() +
         "\n Bash command\n   touch /tmp/x/made.txt\n   Run shell command\n Do you want to "
         "proceed?\n \u276F 1. Yes\n   2. Yes, and always allow access to x/ from this project\n"
         "   3. No\n Esc to cancel \u00B7 Tab to amend \u00B7 ctrl+e to explain\n";
}

TEST(PaneScreen, StartupDialogs) {
  EXPECT_EQ(find_startup_dialog(trust_screen()), StartupDialog::trust_folder);
  EXPECT_EQ(keys_for(StartupDialog::trust_folder), (std::vector<std::string>{"Enter"}));
  EXPECT_EQ(find_startup_dialog(mcp_screen()), StartupDialog::new_mcp_server);
  EXPECT_EQ(keys_for(StartupDialog::new_mcp_server), (std::vector<std::string>{"1", "Enter"}));
  EXPECT_EQ(find_startup_dialog("Loading development channels\n"),
            StartupDialog::development_channels);
  EXPECT_EQ(find_startup_dialog(idle_screen()), StartupDialog::none);
}

TEST(PaneScreen, ReadyAndIdle) {
  EXPECT_TRUE(pane_ready(idle_screen()));
  EXPECT_TRUE(pane_idle(idle_screen()));
  EXPECT_FALSE(pane_ready(trust_screen()));
  EXPECT_FALSE(pane_ready(mcp_screen()));
  EXPECT_FALSE(pane_idle(bash_dialog()));
  // Busy: the input box is there but Claude is working.
  std::string busy = idle_screen();
  busy.replace(busy.find("? for shortcuts"), 15, "esc to interrupt");
  EXPECT_FALSE(pane_idle(busy));
  // An old prompt in the scrollback is not the input box.
  EXPECT_FALSE(pane_idle("\u276F Say hello\n\u25CF HELLO\n"));
  // The empty framed box alone is ready.
  EXPECT_TRUE(pane_ready(rule() + "\n\u276F\n" + rule() + "\n"));
}

TEST(PaneScreen, PermissionDialog) {
  auto d = find_permission_dialog(bash_dialog());
  ASSERT_TRUE(d);
  ASSERT_EQ(d->options.size(), 3u);
  EXPECT_EQ(d->options[0].number, "1");
  EXPECT_EQ(d->options[0].label, "Yes");
  EXPECT_FALSE(d->options[0].reject);
  EXPECT_FALSE(d->options[1].reject);
  EXPECT_EQ(d->options[2].label, "No");
  EXPECT_TRUE(d->options[2].reject);
  EXPECT_EQ(d->description,
            "Bash command\ntouch /tmp/x/made.txt\nRun shell command\nDo you want to proceed?");
  EXPECT_FALSE(find_permission_dialog(idle_screen()));
  EXPECT_FALSE(find_permission_dialog(mcp_screen()));
}

TEST(PaneScreen, EditDialogMarkers) {
  const std::string edit = rule() +
                           "\n Edit file\n   a.txt\n Do you want to make this edit to a.txt?\n"
                           " \u276F 1. Yes\n   2. Yes, allow all edits during this session\n"
                           "   3. No, and tell Claude what to do differently (esc)\n";
  auto d = find_permission_dialog(edit);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->options.size(), 3u);
  EXPECT_TRUE(d->options[2].reject);
  EXPECT_EQ(d->description, "Edit file\na.txt\nDo you want to make this edit to a.txt?");
}

TEST(PaneScreen, PromptStillInInput) {
  const std::string pasted = rule() + "\n\u276F Please fix the build now\n" + rule() + "\n";
  EXPECT_TRUE(prompt_still_in_input(pasted, "Please fix the build now\nsecond line"));
  EXPECT_FALSE(prompt_still_in_input(idle_screen("\u276F Please fix the build now\n"),
                                     "Please fix the build now"));
  EXPECT_FALSE(prompt_still_in_input(pasted, ""));
}

TEST(PaneScreen, ChannelsUnavailable) {
  EXPECT_TRUE(channels_unavailable(idle_screen()));
  EXPECT_FALSE(channels_unavailable(bash_dialog()));
}

}  // namespace
