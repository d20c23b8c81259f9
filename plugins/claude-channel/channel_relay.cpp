#include "channel_relay.hpp"

#include <algorithm>
#include <avenor/sdk/json.hpp>

namespace avenor::claude_channel {
namespace {

namespace bj = boost::json;
namespace json = avenor::sdk::json;

const bj::value* field(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v != nullptr && !v->is_null() ? v : nullptr;
}

RelayOutcome reply(int status, bj::value body) {
  RelayOutcome out;
  out.status = status;
  out.body = std::move(body);
  return out;
}

RelayOutcome error(int status, std::string_view message) {
  return reply(status, bj::object{{"error", message}});
}

// `e` plus every field of `payload` when it is an object (existing keys win).
void merge_fields(bj::object& e, const bj::value& payload) {
  const bj::object* o = payload.if_object();
  if (o == nullptr) return;
  for (const auto& kv : *o)
    if (!e.contains(kv.key())) e[kv.key()] = kv.value();
}

}  // namespace

std::string stop_reason_for_finish(std::string_view status) {
  if (status == "failed") return "error";
  if (status == "blocked") return "cancelled";
  return "end_turn";
}

ChannelRelay::ChannelRelay(Identity identity, Clock now, NewId new_id)
    : id_(std::move(identity)), now_(std::move(now)), new_id_(std::move(new_id)) {}

bj::object ChannelRelay::event(std::string_view name) const {
  return {{"event", name}, {"session_id", id_.session_id}};
}

std::string ChannelRelay::push(std::string_view type, bj::value payload,
                               std::string_view from_run_id) {
  const std::string id = new_id_();
  if (type == "permission_decision") {
    if (const bj::object* p = payload.if_object()) {
      const std::string request_id = json::string_or(*p, "request_id");
      if (!request_id.empty()) decisions_[request_id] = json::string_or(*p, "behavior");
    }
  }
  bj::object message{{"id", id},
                     {"type", type},
                     {"run_id", id_.run_id},
                     {"payload", std::move(payload)},
                     {"created_at", now_()}};
  if (!from_run_id.empty()) message["from_run_id"] = from_run_id;
  queue_.push_back(std::move(message));
  return id;
}

bj::array ChannelRelay::take_queued() {
  bj::array out;
  for (bj::object& m : queue_) out.emplace_back(std::move(m));
  queue_.clear();
  return out;
}

RelayOutcome ChannelRelay::handle(const RelayRequest& request) {
  if (request.path == "/health") {
    RelayOutcome out;
    out.kind = RelayOutcome::Kind::health;
    return out;
  }
  static const std::vector<std::string> kSidecarRoutes{
      "/register", "/heartbeat", "/poll-control",       "/report",
      "/finish",   "/reply",     "/permission_request", "/permission"};
  const bool sidecar =
      std::find(kSidecarRoutes.begin(), kSidecarRoutes.end(), request.path) != kSidecarRoutes.end();
  if (!sidecar && request.path != "/push-control") return error(404, "no such route");
  if (request.method != "POST") return error(405, "use POST");
  if (request.path == "/push-control") return push_control(request);

  boost::system::error_code ec;
  bj::value parsed = bj::parse(request.body, ec);
  if (ec || !parsed.is_object()) return error(400, "the body must be a JSON object");
  const bj::object& body = parsed.get_object();
  if (json::string_or(body, "run_id") != id_.run_id || json::string_or(body, "token") != id_.token)
    return error(401, "unknown run_id or wrong token");
  if (deleted_) return error(410, "the run was deleted");
  return sidecar_route(request.path, body);
}

RelayOutcome ChannelRelay::push_control(const RelayRequest& request) {
  if (request.authorization != "Bearer " + id_.push_token)
    return error(401, "a bearer relay token is required");
  if (deleted_) return error(410, "the run was deleted");
  boost::system::error_code ec;
  bj::value parsed = bj::parse(request.body, ec);
  if (ec || !parsed.is_object()) return error(400, "the body must be a JSON object");
  const bj::object& body = parsed.get_object();
  const std::string type = json::string_or(body, "type");
  if (type.empty()) return error(400, "type is required");
  const bj::value* payload = field(body, "payload");
  const std::string id = push(type, payload != nullptr ? *payload : bj::value(bj::object{}),
                              json::string_or(body, "from_run_id"));
  return reply(200, bj::object{{"id", id}});
}

RelayOutcome ChannelRelay::sidecar_route(const std::string& path, const bj::object& body) {
  if (path == "/register") {
    RelayOutcome out = reply(200, bj::object{{"ok", true}});
    if (!std::exchange(registered_, true)) {
      bj::object e = event("agent.channel_ready");
      e["channel_run_id"] = id_.run_id;  // run_id is the host's envelope key
      e["server_name"] = id_.server_name;
      e["source"] = "channel";
      out.events.push_back(std::move(e));
    }
    return out;
  }
  if (path == "/heartbeat") return reply(200, bj::object{{"ok", true}});
  if (path == "/poll-control") {
    if (!queue_.empty()) return reply(200, take_queued());
    RelayOutcome out;
    out.kind = RelayOutcome::Kind::hold_poll;
    return out;
  }
  if (path == "/report") return report(body);
  if (path == "/finish") return finish(body);
  if (path == "/reply") {
    RelayOutcome out = reply(200, bj::object{{"ok", true}});
    bj::object e = event("agent.reply");
    e["to"] = json::string_or(body, "to");
    const bj::value* payload = field(body, "payload");
    e["payload"] = payload != nullptr ? *payload : bj::value();
    e["source"] = "channel";
    out.events.push_back(std::move(e));
    return out;
  }
  if (path == "/permission_request") {
    const std::string request_id = json::string_or(body, "request_id");
    if (request_id.empty()) return error(400, "request_id is required");
    RelayOutcome out = reply(200, bj::object{{"ok", true}});
    bj::object e = event("permission.request");
    e["request_id"] = request_id;
    e["tool"] = json::string_or(body, "tool_name");
    e["question"] = json::string_or(body, "description");
    e["input"] = json::string_or(body, "input_preview");
    e["options"] = bj::array{bj::object{{"optionId", "allow"}, {"kind", "allow"}},
                             bj::object{{"optionId", "deny"}, {"kind", "reject"}}};
    e["source"] = "channel";
    out.events.push_back(std::move(e));
    return out;
  }
  // /permission: the decision on a channel permission request, if any yet.
  const std::string request_id = json::string_or(body, "request_id");
  if (request_id.empty()) return error(400, "request_id is required");
  auto it = decisions_.find(request_id);
  if (it == decisions_.end())
    return reply(200, bj::object{{"request_id", request_id}, {"pending", true}});
  return reply(200, bj::object{{"request_id", request_id}, {"behavior", it->second}});
}

RelayOutcome ChannelRelay::report(const bj::object& body) {
  const std::string state = json::string_or(body, "state");
  if (state.empty()) return error(400, "state is required");
  const bj::value* p = field(body, "payload");
  const bj::value payload = p != nullptr ? *p : bj::value();
  RelayOutcome out = reply(200, bj::object{{"ok", true}});

  bj::object report = event("agent.report");
  report["state"] = state;
  report["payload"] = payload;
  report["source"] = "channel";
  out.events.push_back(std::move(report));

  if (state == "checkpoint") {
    bj::object e = event("agent.message_chunk");
    e["payload"] = payload;
    if (payload.is_string()) e["delta"] = payload.get_string();
    merge_fields(e, payload);
    out.events.push_back(std::move(e));
  } else if (state == "permission_requested") {
    bj::object e = event("permission.request");
    e["payload"] = payload;
    e["source"] = "channel";
    merge_fields(e, payload);
    out.events.push_back(std::move(e));
  } else {
    bj::object e = event("agent.status");
    e["phase"] = state == "blocked" ? std::string("waiting") : state;
    e["source"] = "channel";
    out.events.push_back(std::move(e));
  }
  return out;
}

RelayOutcome ChannelRelay::finish(const bj::object& body) {
  const std::string status = json::string_or(body, "status");
  const std::string summary = json::string_or(body, "summary");
  const bj::value* files = field(body, "files_changed");
  const bj::value files_changed = files != nullptr && files->is_array() ? *files : bj::array{};
  RelayOutcome out = reply(200, bj::object{{"ok", true}});

  bj::object e = event("agent.finish");
  e["status"] = status;
  e["summary"] = summary;
  e["files_changed"] = files_changed;
  if (const bj::value* details = field(body, "details")) e["payload"] = *details;
  e["source"] = "channel";
  out.events.push_back(std::move(e));

  bj::object end = event("session.end");
  end["status"] = status;
  end["summary"] = summary;
  end["files_changed"] = files_changed;
  end["stop_reason"] = stop_reason_for_finish(status);
  out.session_end = std::move(end);
  return out;
}

}  // namespace avenor::claude_channel
