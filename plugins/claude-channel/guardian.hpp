// The process the claude-channel backend asks the host to launch: a small
// POSIX shell script that holds the session's cleanup. The tmux session
// outlives any one process, so something the host owns must end it: when
// the host closes the backend (stdin EOF, SIGTERM) or avenor dies (stdin
// EOF), the guardian kills the tmux session, removes the temp dir and runs
// `avenor claude-channel-cleanup --dir <dir>`, which drops the `.mcp.json`
// entry once its relay reports the terminal gone.
//
// The backend tells it the temp dir later, as a line "tempdir <path>" on its
// stdin (the dir is made after launch).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace avenor::claude_channel {

// argv of the guardian: sh -c <script> avenor-claude-guardian <session> <dir> <avenor>.
std::vector<std::string> guardian_argv(std::string_view tmux_session, std::string_view dir,
                                       std::string_view avenor_executable);

// The line that hands it the temp dir.
std::string guardian_tempdir_line(std::string_view temp_dir);

}  // namespace avenor::claude_channel
