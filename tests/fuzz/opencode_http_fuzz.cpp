// opencode-http's inbound text: the /event SSE stream through the SDK parser
// into the event mapper (with the permission reply chosen for every request
// it maps), the managed server's stdout scanner, and server URL parsing.
#include <avenor/sdk/sse_parser.hpp>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fuzz_text.hpp"
#include "opencode-http/event_mapper.hpp"
#include "opencode-http/listening_line.hpp"
#include "opencode-http/permission_options.hpp"
#include "opencode-http/server_address.hpp"

namespace {

namespace oc = avenor::opencode_http;
using avenor::fuzz::require;

// Answers a mapped request with each of its options, then cancelled.
void answer_all(const oc::PermissionRequest& request) {
  avenor::sdk::PermissionAnswer answer;
  answer.request_id = request.request_id;
  for (const boost::json::value& option : request.options) {
    const auto* o = option.if_object();
    const auto* id = o ? o->if_contains("optionId") : nullptr;
    answer.option_id = id && id->is_string() ? std::string(id->get_string()) : std::string();
    for (bool allow : {true, false}) {
      answer.allow = allow;
      if (oc::PermissionReply reply = oc::choose_reply(request.options, answer))
        (void)oc::fallback_reply_body(reply.reply);
    }
  }
  answer.cancelled = true;
  (void)oc::choose_reply(request.options, answer);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = avenor::fuzz::as_text(data, size);

  avenor::sdk::SseParser parser;
  oc::EventMapper mapper;
  for (const avenor::sdk::SseEvent& event : parser.feed(input)) {
    try {
      oc::MappedEvent mapped = mapper.map(event.data, event.id);
      if (mapped.event) {
        const auto* name = mapped.event->if_contains("event");
        require(name && name->is_string(), "a mapped event has no string \"event\"");
      }
      if (mapped.permission) answer_all(*mapped.permission);
    } catch (const std::runtime_error&) {
      // Documented: a payload that is not an object with a string type.
    }
  }

  oc::ListeningLineScanner scanner;
  (void)scanner.feed(input);
  (void)scanner.recent_output();
  for (std::string_view line : avenor::fuzz::split_lines(input.substr(0, 4096))) {
    (void)oc::listening_url(line);
    (void)oc::redact_userinfo(line);
    (void)oc::dir_allowed_with_url(line);
    try {
      oc::ServerAddress address = oc::ServerAddress::parse(line);
      (void)address.url("/event");
    } catch (const std::invalid_argument&) {
    }
  }
  return 0;
}
