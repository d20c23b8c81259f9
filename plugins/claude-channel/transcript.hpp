// Claude Code's session transcript (backends.md §7.6):
// `<config dir>/projects/<mangled dir>/<session id>.jsonl`, read
// incrementally, each record mapped onto normalized events.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::claude_channel {

// Every character outside [A-Za-z0-9-] becomes '-' ("/tmp/a.b" → "-tmp-a-b").
std::string mangle_project_dir(std::string_view dir);

// `config_dir` is $CLAUDE_CONFIG_DIR, else `<home>/.claude`.
std::string transcript_path(std::string_view config_dir, std::string_view dir,
                            std::string_view session_id);

// Milliseconds since the epoch of an ISO-8601 UTC timestamp
// ("2026-11-24T03:01:53.880Z"); nullopt when it is not one.
std::optional<std::int64_t> parse_timestamp_ms(std::string_view text);

// What one batch of transcript lines says.
struct TranscriptBatch {
  std::vector<boost::json::object> events;  // chunks, tool calls, in file order
  int records = 0;                          // records read (any type)
  bool end_turn = false;                    // an assistant record ended the turn
  std::optional<std::string> api_error;     // an API error record ended the turn
};

// Maps complete JSONL lines. Records older than `turn_started_ms` (by their
// timestamp) belong to an earlier turn: they still produce their events but
// cannot end this turn. Lines that are not JSON objects are skipped.
TranscriptBatch map_transcript_lines(std::string_view lines, std::string_view session_id,
                                     std::int64_t turn_started_ms);

}  // namespace avenor::claude_channel
