// What a permission policy rule looks at, read from a `permission.request`
// event of any backend: the ACP tool kind, the tool title and the command
// line. Each backend shapes its requests differently (backends.md); this is
// the one place that maps them onto the ACP vocabulary.
#pragma once

#include <boost/json/object.hpp>
#include <string_view>

#include "permissions/permission_policy.hpp"

namespace avenor::host {

// - ACP backends (a `toolCall` object): toolCall.kind, toolCall.title,
//   toolCall.rawInput.command (a string, or an argv array joined by spaces).
// - codex-app-server: `kind` command → execute, file → edit; `command`.
// - opencode-http: the `permission` name (bash → execute, edit → edit, read →
//   read, glob/grep/list → search, webfetch/websearch → fetch); the command is
//   metadata.command, else the first of `patterns` for bash.
// - pi, claude-channel and others: the `tool` name mapped like opencode's
//   (case-insensitive; write/multiedit/notebookedit → edit, find/ls → search);
//   pi's command is input.command.
// The title falls back to `tool`, then `question`. Anything unknown: `other`.
PermissionFacts describe_permission(std::string_view backend, const boost::json::object& request);

}  // namespace avenor::host
