// The permission readers (host/permissions, `avenor answer`), in three
// sections separated by "---" lines:
//   1. a permission.request event (any backend's shape);
//   2. the text of a `<base>.req.response`;
//   3. a permission policy (JSON).
// The event becomes its `.req` document, facts for the policy, a pending
// notice and a decision; the response is validated against its options. Then
// `avenor answer` reads the document from a real `.req` file, and the response
// it writes for an offered option must be accepted by the handler.
#include <unistd.h>

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/option_kinds.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands/answer_command.hpp"
#include "fuzz_text.hpp"
#include "permissions/file_permission_handler.hpp"
#include "permissions/pending_notice.hpp"
#include "permissions/permission_facts.hpp"
#include "permissions/permission_policy.hpp"
#include "scratch_dir.hpp"

namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
using avenor::fuzz::require;
using namespace avenor::host;

// A private directory for the .req files, removed when the fuzzer exits.
const fs::path& scratch() {
  // perm.req, perm.req.response and answer's temp files: everything this target writes
  static const avenor::fuzz::ScratchDir dir("avenor-perm-fuzz",
                                            "perm.req");  // one per fuzzing process
  return dir.path();
}

// The first offered option with a string id, if its kind is one the handler
// accepts (an option of another kind is refused by design).
const bj::object* first_usable_option(const bj::value* options) {
  const bj::array* list = options ? options->if_array() : nullptr;
  if (!list) return nullptr;
  for (const bj::value& option : *list) {
    const auto* o = option.if_object();
    const auto* id = o ? o->if_contains("optionId") : nullptr;
    if (!id || !id->is_string()) continue;
    const bool usable = avenor::sdk::normalize_option_kind(avenor::sdk::json::string_or(
                            *o, "kind")) != avenor::sdk::OptionKind::unknown;
    return usable ? o : nullptr;
  }
  return nullptr;
}

PermissionPolicy policy_from(std::string_view text) {
  try {
    PermissionPolicy policy = parse_permission_policy_text(text);
    // to_json must parse back to the same policy.
    const bj::object once = policy.to_json();
    require(parse_permission_policy(once).to_json() == once,
            "a policy's to_json does not parse back to the same policy");
    return policy;
  } catch (const PolicyError&) {
    PermissionPolicy fallback;
    add_approve_reads(fallback);
    add_deny_all(fallback);
    return fallback;
  }
}

// `avenor answer --force --option <id> <base>` on `document`, then the handler
// reads what it wrote.
void answer_round_trip(const std::string& document, const bj::value* options) {
  const bj::object* option = first_usable_option(options);
  if (!option) return;
  const std::string id(option->at("optionId").get_string());
  if (id.empty() || id.front() == '-') return;
  const fs::path base = scratch() / "perm";
  {
    std::ofstream out(base.string() + ".req", std::ios::binary | std::ios::trunc);
    out << document;
  }
  std::ostringstream out, err;
  const int code =
      answer_main({"--force", "--option", id, "--message", "why", base.string()}, out, err);
  require(code == 0, "avenor answer refused an offered option");
  std::ifstream in(base.string() + ".req.response", std::ios::binary);
  std::string response((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  FileAnswer answer = FilePermissionHandler::parse_response(response, options);
  require(answer.option_id == id, "the handler read another option than answer wrote");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto [event_text, rest] = avenor::fuzz::split_at_line(avenor::fuzz::as_text(data, size), "---");
  auto [response_text, policy_text] = avenor::fuzz::split_at_line(rest, "---");

  const PermissionPolicy policy = policy_from(policy_text);
  (void)policy.inert();

  boost::system::error_code ec;
  bj::value event = bj::parse(event_text, ec);
  const bj::object* request = ec ? nullptr : event.if_object();
  if (request == nullptr) {
    try {
      (void)FilePermissionHandler::parse_response(response_text, nullptr);
    } catch (const std::runtime_error&) {
    }
    return 0;
  }

  const bj::value* options = request->if_contains("options");
  for (const char* backend :
       {"opencode-acp", "codex-app-server", "opencode-http", "pi", "claude-channel", "unknown"}) {
    PermissionFacts facts = describe_permission(backend, *request);
    (void)decide_permission(policy, facts,
                            options && options->is_array() ? options->get_array() : bj::array{});
    if (facts.command) (void)glob_match(facts.title, *facts.command);
  }

  try {
    (void)FilePermissionHandler::parse_response(response_text, options);
  } catch (const std::runtime_error&) {
  }

  bj::object document;
  try {
    document = FilePermissionHandler::request_document(*request);
  } catch (const std::runtime_error&) {
    return 0;  // documented: no request_id
  }
  const std::string notice = pending_permission_notice(document, scratch() / "perm");
  require(notice.find('\n') == std::string::npos, "a pending notice is not one line");
  answer_round_trip(bj::serialize(document), document.if_contains("options"));
  return 0;
}
