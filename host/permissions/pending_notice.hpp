// The one stderr line a pending file-handler request prints (new): what is
// asked, the options, and the exact `avenor answer` command to run, so a
// person or agent watching stderr knows a run waits and how to unblock it.
#pragma once

#include <boost/json/object.hpp>
#include <filesystem>
#include <string>
#include <string_view>

namespace avenor::host {

// `text` as one shell word: unchanged when it holds only characters no
// shell treats specially, else in single quotes ('\'' for a quote).
std::string shell_quote(std::string_view text);

// `avenor: permission <id> pending: <title> — options: <id> (<kind>), ...;
// answer with: avenor answer <base> --option <id>` (no newline) for a
// `<base>.req` document (events.md §7.4). The title is the tool call's title,
// else the tool, else the question, on one line and cut to 200 bytes; the
// base is absolute so the command works from any directory.
std::string pending_permission_notice(const boost::json::object& request_document,
                                      const std::filesystem::path& base);

}  // namespace avenor::host
