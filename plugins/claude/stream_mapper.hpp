// Claude Code's stream-json output → avenor events (docs/backends/claude.md):
//   stream_event content_block_delta text_delta / thinking_delta
//       → agent.message_chunk / agent.thought_chunk {delta, message_id}
//   assistant {message{id, content[]}}: text / thinking blocks → chunks, but
//       only for a message whose deltas were not streamed (they would repeat);
//       tool_use → tool.call {toolCallId, title, kind, status:"pending", rawInput, tool}
//   user tool_result → tool.call_update {toolCallId, status completed|failed, content}
//   system (not init) → avenor.system.<subtype>; anything else unknown is dropped.
#pragma once

#include <boost/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::claude {

// The ACP tool kind of a Claude Code tool, so permission rules on
// `tool_kind` work as for ACP backends: Bash → execute, Edit/Write/… → edit,
// Read → read, Grep/Glob → search, WebFetch/WebSearch → fetch, else other.
std::string_view tool_kind(std::string_view tool_name);

// A short title: Bash's command, a file tool's path, else the tool name.
std::string tool_title(std::string_view tool_name, const boost::json::value& input);

class StreamMapper {
 public:
  std::vector<boost::json::object> map(const boost::json::object& message,
                                       const std::string& session_id);

  // A turn ended: the message ids seen so far cannot come again.
  void reset_turn();

 private:
  void map_stream_event(const boost::json::object& message, const std::string& session_id,
                        std::vector<boost::json::object>& out);
  void map_assistant(const boost::json::object& message, const std::string& session_id,
                     std::vector<boost::json::object>& out);
  void map_user(const boost::json::object& message, const std::string& session_id,
                std::vector<boost::json::object>& out);

  std::string current_message_id_;  // of the last stream_event message_start
  std::set<std::string> streamed_;  // message ids whose text came as deltas
};

}  // namespace avenor::claude
