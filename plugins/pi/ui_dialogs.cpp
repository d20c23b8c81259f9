#include "ui_dialogs.hpp"

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/option_kinds.hpp>
#include <avenor/sdk/utf8_cut.hpp>

namespace avenor::pi {

namespace json = sdk::json;
using boost::json::array;
using boost::json::object;

UiMethodKind classify_ui_method(std::string_view method) {
  if (method == "select" || method == "confirm" || method == "input" || method == "editor")
    return UiMethodKind::dialog;
  if (method == "notify" || method == "setStatus" || method == "setWidget" ||
      method == "setTitle" || method == "set_editor_text")
    return UiMethodKind::fire_and_forget;
  return UiMethodKind::unknown;
}

namespace {

object option(std::string id, std::string_view kind) {
  return {{"optionId", id}, {"name", id}, {"kind", kind}};
}

// A select's choices in order; the first is the "allow" choice, the rest
// reject (extensions list the permissive answer first: ["Allow", "Block"]).
array select_options(const object& request) {
  array out;
  if (const auto* choices = json::find_array(request, "options")) {
    for (const auto& c : *choices) {
      if (!c.is_string()) continue;
      out.push_back(option(std::string(c.get_string()), out.empty() ? "allow" : "reject"));
    }
  }
  return out;
}

boost::json::value capped_input(const boost::json::value& args) {
  std::string text = json::dump(args);
  if (text.size() <= kMaxDialogInputBytes) return args;
  return boost::json::string(sdk::excerpt(text, kMaxDialogInputBytes));
}

}  // namespace

std::optional<DialogRequest> dialog_request(const object& request, const std::string& session_id,
                                            const ToolContext* tool) {
  DialogRequest out;
  Dialog& d = out.dialog;
  d.id = json::string_or(request, "id");
  if (d.id.empty()) return std::nullopt;
  d.method = json::string_or(request, "method");
  d.session_id = session_id;
  const std::string title = json::string_or(request, "title");

  object& e = out.event;
  e["event"] = "permission.request";
  e["session_id"] = session_id;
  e["request_id"] = d.id;
  e["ui_request_id"] = d.id;
  std::string description;
  if (d.method == "select") {
    e["kind"] = "command";
    description = title;
    d.options = select_options(request);
  } else if (d.method == "confirm") {
    e["kind"] = "confirm";
    description = json::string_or(request, "message", title);
    d.options = {option("yes", "allow"), option("no", "reject")};
  } else {  // input, editor: free text only a person can give
    e["kind"] = "input";
    description = title;
    e["requires_user_input"] = true;
    if (auto prefill = json::find_string(request, "prefill")) e["default"] = *prefill;
  }
  e["description"] = description;
  // The file handler's request file shows `question` (events.md §7.4).
  if (!description.empty()) e["question"] = description;
  if (!d.options.empty()) e["options"] = d.options;
  if (tool) {
    if (!tool->title.empty()) e["tool"] = tool->title;
    if (!tool->args.is_null()) e["input"] = capped_input(tool->args);
  }
  for (const auto& [key, value] : request)
    // pi's own fields, never over ours; its `options` are strings, ours objects
    if (key != "type" && key != "id" && key != "options") e.emplace(key, value);
  return out;
}

object cancelled_response(const Dialog& dialog) {
  return {{"type", "extension_ui_response"},
          {"id", dialog.id},
          {"method", dialog.method},
          {"cancelled", true}};
}

namespace {

// backends.md §0.4: the caller's option when named (it must exist and be an
// allow option), else the first allow option.
std::optional<std::string> allowed_option(const Dialog& dialog, const std::string& wanted,
                                          std::string& error) {
  auto kind_of = [](const object& o) {
    return sdk::normalize_option_kind(json::string_or(o, "kind"));
  };
  if (!wanted.empty()) {
    for (const auto& v : dialog.options) {
      const auto* o = v.if_object();
      if (!o || json::string_or(*o, "optionId") != wanted) continue;
      if (kind_of(*o) != sdk::OptionKind::allow) {
        error = "permission option " + wanted + " is of kind " +
                std::string(sdk::to_string(kind_of(*o))) + ", not allow";
        return std::nullopt;
      }
      return wanted;
    }
    error = "permission option not found: " + wanted;
    return std::nullopt;
  }
  for (const auto& v : dialog.options) {
    const auto* o = v.if_object();
    if (o && kind_of(*o) == sdk::OptionKind::allow) return json::string_or(*o, "optionId");
  }
  error = "permission request has no allow option";
  return std::nullopt;
}

}  // namespace

DialogAnswer dialog_response(const Dialog& dialog, const sdk::PermissionAnswer& answer) {
  if (answer.cancelled || !answer.allow) return {cancelled_response(dialog), {}};
  object r{{"type", "extension_ui_response"}, {"id", dialog.id}, {"method", dialog.method}};
  if (dialog.method == "input" || dialog.method == "editor") {
    r["value"] = answer.message.empty() ? answer.option_id : answer.message;
    return {std::move(r), {}};
  }
  std::string error;
  auto chosen = allowed_option(dialog, answer.option_id, error);
  if (!chosen) return {std::nullopt, error};
  if (dialog.method == "confirm")
    r["confirmed"] = true;
  else
    r["value"] = *chosen;
  return {std::move(r), {}};
}

}  // namespace avenor::pi
