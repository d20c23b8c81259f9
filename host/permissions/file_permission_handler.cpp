#include "permissions/file_permission_handler.hpp"

#include <avenor/sdk/json.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "permissions/pending_notice.hpp"
#include "util/atomic_file.hpp"
#include "util/json_text.hpp"
#include "util/read_file.hpp"
#include "util/replaceable_path.hpp"

namespace avenor::host {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using sdk::OptionKind;

// The response is written by whoever answers, so it is read as outside
// input: regular files only (a FIFO or /dev/zero must not block or flood the
// event loop) and no more than any valid answer could take.
constexpr std::size_t kMaxResponseBytes = 1024 * 1024;

// The whole file, or nullopt when it does not exist. Throws on other errors.
std::optional<std::string> read_if_exists(const std::filesystem::path& path) {
  try {
    return read_regular_file(path, kMaxResponseBytes);
  } catch (const FileReadError& e) {
    if (e.missing()) return std::nullopt;
    throw std::runtime_error(std::string("read permission response: ") + e.what());
  }
}

std::string json_quote(std::string_view s) { return bj::serialize(s); }

}  // namespace

// One begin() call. Shared with the timer and posted handlers, so a late
// wake-up after abandon() or destruction finds `finished` and does nothing.
struct FilePermissionHandler::Request : std::enable_shared_from_this<Request> {
  Request(asio::any_io_executor ex, std::filesystem::path req, std::filesystem::path resp)
      : timer(std::move(ex)), req_path(std::move(req)), resp_path(std::move(resp)) {}

  asio::steady_timer timer;
  std::filesystem::path req_path;
  std::filesystem::path resp_path;
  bj::value options;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds poll_interval{500};
  std::function<void(FileAnswer)> done;
  std::function<void(std::string)> fail;
  bool finished = false;
  bool published = false;  // <base>.req is ours to withdraw only once we wrote it

  void succeed(FileAnswer answer) {
    if (finished) return;
    finished = true;
    auto cb = std::move(done);
    fail = nullptr;
    if (cb) cb(std::move(answer));
  }

  void error(std::string message) {
    if (finished) return;
    finished = true;
    timer.cancel();
    // The request is void now; consumers must not answer it.
    if (published) {
      if (auto err = remove_regular_file(req_path)) message += " (" + *err + ")";
    }
    auto cb = std::move(fail);
    done = nullptr;
    if (cb) cb(std::move(message));
  }

  void abandon() {
    if (finished) return;
    finished = true;
    timer.cancel();
    // Best effort: the turn is already over and nobody waits for a result;
    // a leftover .req is replaced by the next request or the pre-run cleanup.
    if (published) (void)remove_regular_file(req_path);
    done = nullptr;
    fail = nullptr;
  }

  void poll() {
    if (finished) return;
    try {
      std::optional<std::string> text = read_if_exists(resp_path);
      if (text && !text->empty()) {
        succeed(parse_response(*text, &options));
        return;
      }
    } catch (const std::exception& e) {
      error(e.what());
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      error(kTimeoutMessage);
      return;
    }
    timer.expires_at(std::min(now + poll_interval, deadline));
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->poll();
    });
  }
};

FilePermissionHandler::FilePermissionHandler(asio::any_io_executor executor,
                                             std::filesystem::path base,
                                             std::chrono::milliseconds timeout,
                                             std::chrono::milliseconds poll)
    : executor_(std::move(executor)), base_(std::move(base)), timeout_(timeout), poll_(poll) {}

FilePermissionHandler::~FilePermissionHandler() { abandon(); }

std::filesystem::path FilePermissionHandler::request_path() const {
  return base_.string() + ".req";
}

std::filesystem::path FilePermissionHandler::response_path() const {
  return base_.string() + ".req.response";
}

bool FilePermissionHandler::pending() const { return current_ && !current_->finished; }

void FilePermissionHandler::abandon() {
  if (current_) current_->abandon();
}

bj::object FilePermissionHandler::request_document(const bj::object& event) {
  std::string request_id;
  if (const bj::value* id = event.if_contains("request_id")) {
    if (id->is_string()) {
      request_id = std::string(id->get_string());
    } else if (id->is_number()) {
      request_id = to_compact_json(*id);
    }
  }
  if (request_id.empty()) throw std::runtime_error("permission.request missing request_id");

  bj::object doc;
  doc["request_id"] = request_id;
  auto add_non_empty = [&doc](std::string_view key, const std::string& value) {
    if (!value.empty()) doc[key] = value;
  };
  add_non_empty("session_id", sdk::json::string_or(event, "session_id"));
  add_non_empty("tool", sdk::json::string_or(event, "tool"));
  std::string question = sdk::json::string_or(event, "question");
  if (question.empty()) question = sdk::json::string_or(event, "message");
  add_non_empty("question", question);
  if (const bj::value* options = event.if_contains("options")) doc["options"] = *options;
  bj::object payload;
  for (const auto& member : event) {
    if (member.key() != "event" && member.key() != "session_id")
      payload[member.key()] = member.value();
  }
  doc["payload"] = std::move(payload);
  return doc;
}

FileAnswer FilePermissionHandler::parse_response(std::string_view text, const bj::value* options) {
  boost::system::error_code ec;
  // Boost.JSON rejects invalid UTF-8 and unpaired surrogate escapes here,
  // which covers the message encoding rule.
  bj::value parsed = bj::parse(text, ec);
  if (ec) throw std::runtime_error("parse permission response: " + ec.message());
  const bj::object* response = parsed.if_object();
  if (response == nullptr) throw std::runtime_error("permission response is not a JSON object");

  auto string_field = [response](std::string_view key) -> std::string {
    const bj::value* v = response->if_contains(key);
    if (v == nullptr || v->is_null()) return {};
    if (!v->is_string())
      throw std::runtime_error("permission response " + std::string(key) +
                               " must be a string or null");
    return std::string(v->get_string());
  };

  FileAnswer answer;
  const std::string outcome = string_field("outcome");
  if (!outcome.empty() && outcome != "selected" && outcome != "cancelled")
    throw std::runtime_error("invalid permission response outcome " + json_quote(outcome));
  answer.option_id = string_field("option_id");
  answer.message = string_field("message");
  if (answer.message.size() > kMaxMessageBytes)
    throw std::runtime_error("permission response message exceeds " +
                             std::to_string(kMaxMessageBytes) + " bytes");
  if (outcome == "cancelled") {
    answer.cancelled = true;
    return answer;
  }

  const bj::array* offered = options != nullptr ? options->if_array() : nullptr;
  if (offered == nullptr) throw std::runtime_error("permission request options must be an array");
  for (const bj::value& option : *offered) {
    const bj::object* o = option.if_object();
    if (o == nullptr || sdk::json::string_or(*o, "optionId") != answer.option_id) continue;
    const std::string raw_kind = sdk::json::string_or(*o, "kind");
    answer.kind = sdk::normalize_option_kind(raw_kind);
    if (answer.kind == OptionKind::unknown)
      throw std::runtime_error("option " + json_quote(answer.option_id) + " has unsupported kind " +
                               json_quote(raw_kind));
    if (sdk::json::bool_or(*o, "requiresMessage") && answer.message.empty())
      throw std::runtime_error("option " + json_quote(answer.option_id) + " requires a message");
    return answer;
  }
  throw std::runtime_error("option " + json_quote(answer.option_id) + " is not in the offered set");
}

void FilePermissionHandler::begin(const bj::object& request_event,
                                  std::function<void(FileAnswer)> done,
                                  std::function<void(std::string)> fail) {
  auto request = std::make_shared<Request>(executor_, request_path(), response_path());
  request->done = std::move(done);
  request->fail = std::move(fail);
  request->poll_interval = poll_;
  request->deadline = std::chrono::steady_clock::now() + timeout_;

  std::optional<std::string> setup_error;
  if (pending()) {
    // Keep the pending request (and its files) intact; only the new one fails.
    asio::post(executor_, [request] {
      request->finished = true;
      if (request->fail) request->fail("another permission request is already pending");
    });
    return;
  }
  current_ = request;
  try {
    bj::object doc = request_document(request_event);
    request->options = doc.contains("options") ? doc.at("options") : bj::value();
    if (auto err = remove_regular_file(request->resp_path)) throw std::runtime_error(*err);
    write_file_atomically(request->req_path, to_pretty_json(doc) + "\n",
                          base_.filename().string() + ".req.", 0600);
    request->published = true;
    // Only once the file exists: the printed command can be run at once.
    if (notices_) *notices_ << pending_permission_notice(doc, base_) << "\n" << std::flush;
  } catch (const std::exception& e) {
    setup_error = e.what();
  }
  if (setup_error) {
    asio::post(executor_, [request, message = std::move(*setup_error)]() mutable {
      request->error(std::move(message));
    });
    return;
  }
  // The first poll is immediate (§7.4 step 4) but still asynchronous.
  asio::post(executor_, [request] { request->poll(); });
}

}  // namespace avenor::host
