// The file permission handler `file:<base>` (events.md §7.4): publishes a
// pending request as `<base>.req` and polls `<base>.req.response` (written by
// `avenor answer` or any other tool) until an answer, an error or a timeout.
#pragma once

#include <avenor/sdk/option_kinds.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace avenor::host {

struct FileAnswer {
  bool cancelled = false;  // outcome "cancelled": the run is cancelled (exit 130)
  std::string option_id;
  std::string message;                                              // write-in text; never logged
  avenor::sdk::OptionKind kind = avenor::sdk::OptionKind::unknown;  // allow/reject when selected
};

class FilePermissionHandler {
 public:
  static constexpr std::size_t kMaxMessageBytes = 64 * 1024;
  static constexpr const char* kTimeoutMessage =
      "wait for permission response: context deadline exceeded";

  FilePermissionHandler(boost::asio::any_io_executor executor, std::filesystem::path base,
                        std::chrono::milliseconds timeout = std::chrono::minutes(10),
                        std::chrono::milliseconds poll = std::chrono::milliseconds(500));
  FilePermissionHandler(const FilePermissionHandler&) = delete;
  FilePermissionHandler& operator=(const FilePermissionHandler&) = delete;
  // Abandons a pending request (deletes `<base>.req`, no callbacks).
  ~FilePermissionHandler();

  // Deletes a stale response, writes <base>.req atomically (pretty JSON,
  // 2-space indent, final \n, mode 0600), then polls. done(answer) or
  // fail(error message) is called exactly once, asynchronously (never from
  // inside begin). Throws nothing: a write failure is reported through fail.
  // On any error and on timeout the `<base>.req` it published is deleted;
  // after an answer both files are kept. Only regular files are replaced or
  // deleted, and the response is read only if it is a regular file of at
  // most 1 MiB (a FIFO or /dev/zero there fails the request at once). One request at a time: begin
  // while another is pending fails the new one.
  void begin(const boost::json::object& request_event, std::function<void(FileAnswer)> done,
             std::function<void(std::string)> fail);

  // The turn ended without an answer: stop polling, delete <base>.req, call
  // neither callback. A no-op when nothing is pending.
  void abandon();

  // Where each published request is announced in one line (new; see
  // pending_notice.hpp); null, the default, keeps the handler silent.
  void set_notices(std::ostream* out) { notices_ = out; }

  bool pending() const;
  const std::filesystem::path& base() const { return base_; }
  std::filesystem::path request_path() const;
  std::filesystem::path response_path() const;

  // The `<base>.req` document for a permission.request event (without the
  // final newline). Throws std::runtime_error when request_id is missing.
  static boost::json::object request_document(const boost::json::object& request_event);

  // Validates response text against the request's `options` (§7.4 step 5).
  // Throws std::runtime_error with the reason.
  static FileAnswer parse_response(std::string_view text, const boost::json::value* options);

 private:
  struct Request;

  boost::asio::any_io_executor executor_;
  std::filesystem::path base_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds poll_;
  std::shared_ptr<Request> current_;
  std::ostream* notices_ = nullptr;
};

}  // namespace avenor::host
