// pi extension UI dialogs as avenor permission requests (backends.md §6.4).
// An extension's ctx.ui.select/confirm/input/editor blocks pi until the
// client sends an `extension_ui_response` with the same id; avenor shows it
// as a `permission.request` and turns the decision back into that response.
#pragma once

#include <avenor/sdk/backend.hpp>
#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace avenor::pi {

enum class UiMethodKind { dialog, fire_and_forget, unknown };
UiMethodKind classify_ui_method(std::string_view method);

// The tool call an extension dialog is most likely about: the one pi is
// executing when it asks (extensions ask from their tool_call hook).
struct ToolContext {
  std::string title;
  boost::json::value args;
};

// One open dialog.
struct Dialog {
  std::string id;      // pi's extension_ui_request id (also avenor's request_id)
  std::string method;  // select | confirm | input | editor
  std::string session_id;
  boost::json::array options;  // as offered in the permission.request
};

struct DialogRequest {
  Dialog dialog;
  boost::json::object event;  // the permission.request to emit
};

// The largest serialized tool input copied into a request (4 KiB); larger
// inputs are cut, on a UTF-8 boundary, into a string ending in "...".
inline constexpr std::size_t kMaxDialogInputBytes = 4096;

// The permission.request for a dialog `request` (method select, confirm,
// input or editor), or nullopt when the request has no usable id.
std::optional<DialogRequest> dialog_request(const boost::json::object& request,
                                            const std::string& session_id, const ToolContext* tool);

// The extension_ui_response that delivers `answer` to `dialog`, or an error
// text when the answer names an option that is missing or of the wrong kind.
struct DialogAnswer {
  std::optional<boost::json::object> response;
  std::string error;
};
DialogAnswer dialog_response(const Dialog& dialog, const sdk::PermissionAnswer& answer);

// The response that dismisses `dialog` (deny, cancel, abort).
boost::json::object cancelled_response(const Dialog& dialog);

}  // namespace avenor::pi
