// claude-channel's inbound text, in three sections separated by "---" lines:
//   1. Claude Code transcript JSONL, mapped to events;
//   2. relay requests from the sidecar, one per line: "<METHOD> <path> <authorization
//      or -> <body>" (the relay's run id is run-1, its token tok, its push token push;
//      use "Bearer push" to reach /push-control);
//   3. a tmux pane screen, read for dialogs, readiness and a pasted prompt.
#include <cstddef>
#include <cstdint>
#include <string>

#include "claude-channel/channel_relay.hpp"
#include "claude-channel/pane_screen.hpp"
#include "claude-channel/transcript.hpp"
#include "fuzz_text.hpp"

namespace {

namespace cc = avenor::claude_channel;
using avenor::fuzz::require;

void transcript(std::string_view lines) {
  std::int64_t started = 0;
  if (std::size_t quote = lines.find("\"timestamp\":\""); quote != std::string_view::npos)
    started = cc::parse_timestamp_ms(lines.substr(quote + 13, 24)).value_or(0);
  cc::TranscriptBatch batch = cc::map_transcript_lines(lines, "ses_1", started);
  for (const boost::json::object& event : batch.events) {
    const auto* name = event.if_contains("event");
    require(name && name->is_string(), "a transcript event has no string \"event\"");
  }
  (void)cc::mangle_project_dir(lines.substr(0, 256));
}

void relay(std::string_view requests) {
  int ids = 0;
  cc::ChannelRelay relay(
      {"run-1", "tok", "push", "avenor-channel-run-1", "ses_1"},
      [] { return std::string("2026-01-01T00:00:00.000Z"); },
      [&ids] { return "c" + std::to_string(++ids); });
  for (std::string_view line : avenor::fuzz::split_lines(requests)) {
    cc::RelayRequest request;
    auto take = [&line]() {
      std::size_t sp = line.find(' ');
      std::string word(line.substr(0, sp));
      line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
      return word;
    };
    request.method = take();
    request.path = take();
    request.authorization = take();
    if (request.authorization.starts_with("Bearer")) request.authorization += " " + take();
    if (request.authorization == "-") request.authorization.clear();
    request.body = std::string(line);
    if (request.path == "/delete") {
      relay.delete_run();
      continue;
    }
    cc::RelayOutcome out = relay.handle(request);
    (void)boost::json::serialize(out.body);
    if (out.session_end) (void)cc::stop_reason_for_finish(request.body);
    if (relay.has_queued()) (void)relay.take_queued();
  }
}

void screen(std::string_view text) {
  cc::StartupDialog dialog = cc::find_startup_dialog(text);
  (void)cc::keys_for(dialog);
  (void)cc::name_of(dialog);
  if (auto found = cc::find_permission_dialog(text))
    require(!found->options.empty(), "a permission dialog without options");
  (void)cc::pane_idle(text);
  (void)cc::pane_ready(text);
  (void)cc::channels_unavailable(text);
  std::string_view first = text.substr(0, text.find('\n'));
  (void)cc::prompt_still_in_input(text, first);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto [lines, rest] = avenor::fuzz::split_at_line(avenor::fuzz::as_text(data, size), "---");
  auto [requests, pane] = avenor::fuzz::split_at_line(rest, "---");
  transcript(lines);
  relay(requests);
  screen(pane);
  return 0;
}
