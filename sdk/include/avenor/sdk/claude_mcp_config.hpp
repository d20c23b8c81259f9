// The project `.mcp.json` of Claude Code as the claude-channel backend uses it
// (backends.md §7.3, §7.8): pure text-to-text transformations, so the plugin
// (which writes through host file services) and `avenor claude-channel-cleanup`
// (which writes the file itself) share one definition of the file's shape.
//
// The file is `{"mcpServers": {<name>: {command, args, ...}}, ...}`; every
// other key and every other server entry is kept as it was (key order too).
// Output is indented with two spaces and ends in a newline.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::sdk::claude_mcp {

namespace bj = boost::json;

// Every server entry avenor writes is named `avenor-channel-<8 chars>`.
inline constexpr std::string_view kChannelServerPrefix = "avenor-channel-";

// `avenor-channel-` + the first 8 characters of the relay run id.
inline std::string channel_server_name(std::string_view run_id) {
  return std::string(kChannelServerPrefix) + std::string(run_id.substr(0, 8));
}

inline bool is_channel_server_name(std::string_view name) {
  return name.substr(0, kChannelServerPrefix.size()) == kChannelServerPrefix;
}

// The entry that makes Claude Code start the sidecar.
inline bj::object channel_server_entry(std::string_view avenor_executable, std::string_view run_id,
                                       std::string_view token, std::string_view broker_url) {
  return {{"command", avenor_executable},
          {"args", bj::array{"claude-channel", "--run-id", run_id, "--token", token, "--broker-url",
                             broker_url}}};
}

// The value after "--broker-url" in an entry's args (also the `--broker-url=U`
// form), if any.
inline std::optional<std::string> entry_broker_url(const bj::object& entry) {
  const bj::value* args = entry.if_contains("args");
  if (args == nullptr || !args->is_array()) return std::nullopt;
  const bj::array& list = args->get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) continue;
    const std::string_view word = list[i].get_string();
    for (std::string_view flag : {"--broker-url", "-broker-url"}) {
      if (word == flag && i + 1 < list.size() && list[i + 1].is_string())
        return std::string(list[i + 1].get_string());
      const std::string with_value = std::string(flag) + "=";
      if (word.substr(0, with_value.size()) == with_value)
        return std::string(word.substr(with_value.size()));
    }
  }
  return std::nullopt;
}

// JSON text indented by two spaces per level (Boost.JSON only writes compact
// text; a file people open deserves better).
inline void append_pretty(std::string& out, const bj::value& v, int depth) {
  const std::string indent(static_cast<std::size_t>(depth + 1) * 2, ' ');
  const std::string closing(static_cast<std::size_t>(depth) * 2, ' ');
  if (const bj::object* o = v.if_object(); o != nullptr && !o->empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& kv : *o) {
      if (!first) out += ",\n";
      first = false;
      out += indent;
      out += bj::serialize(bj::string_view(kv.key()));
      out += ": ";
      append_pretty(out, kv.value(), depth + 1);
    }
    out += "\n" + closing + "}";
  } else if (const bj::array* a = v.if_array(); a != nullptr && !a->empty()) {
    out += "[\n";
    bool first = true;
    for (const bj::value& item : *a) {
      if (!first) out += ",\n";
      first = false;
      out += indent;
      append_pretty(out, item, depth + 1);
    }
    out += "\n" + closing + "]";
  } else {
    out += bj::serialize(v);
  }
}

inline std::string pretty_text(const bj::value& v) {
  std::string out;
  append_pretty(out, v, 0);
  out += "\n";
  return out;
}

// The file's root object. Empty or all-whitespace text (a missing file) is an
// empty root. Throws std::runtime_error for text that is not a JSON object or
// whose "mcpServers" is not an object.
inline bj::object parse_root(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  boost::system::error_code ec;
  bj::value root = bj::parse(text, ec);
  if (ec) throw std::runtime_error("invalid JSON: " + ec.message());
  if (!root.is_object()) throw std::runtime_error("the top level is not a JSON object");
  const bj::value* servers = root.get_object().if_contains("mcpServers");
  if (servers != nullptr && !servers->is_object())
    throw std::runtime_error("\"mcpServers\" is not a JSON object");
  return std::move(root.get_object());
}

// `text` with server `name` set to `entry` (added at the end, or replaced in
// place). Throws like parse_root.
inline std::string upsert_server(std::string_view text, std::string_view name,
                                 const bj::object& entry) {
  bj::object root = parse_root(text);
  bj::value& servers = root["mcpServers"];
  if (!servers.is_object()) servers = bj::object{};
  servers.get_object()[name] = entry;
  return pretty_text(root);
}

struct Removal {
  std::string text;                  // the new file text (unchanged content when nothing matched)
  std::vector<std::string> removed;  // names removed, in file order
  bool no_servers_left = false;      // "mcpServers" is empty or absent afterwards
};

// Removes every server entry for which `stale(name, entry)` is true. Throws
// like parse_root.
inline Removal remove_servers(
    std::string_view text,
    const std::function<bool(std::string_view name, const bj::object& entry)>& stale) {
  bj::object root = parse_root(text);
  Removal result;
  if (bj::value* servers = root.if_contains("mcpServers"); servers != nullptr) {
    // Rebuilt rather than erased from: object::erase moves the last entry
    // into the hole, and the file's order should survive.
    bj::object kept;
    for (auto& kv : servers->get_object()) {
      const bj::object empty;
      const bj::object& entry = kv.value().is_object() ? kv.value().get_object() : empty;
      if (stale(kv.key(), entry)) {
        result.removed.emplace_back(kv.key());
      } else {
        kept[kv.key()] = std::move(kv.value());
      }
    }
    result.no_servers_left = kept.empty();
    *servers = std::move(kept);
  } else {
    result.no_servers_left = true;
  }
  result.text = result.removed.empty() ? std::string(text) : pretty_text(root);
  return result;
}

// Removes server `name` (teardown of one session).
inline Removal remove_server(std::string_view text, std::string_view name) {
  return remove_servers(text, [name](std::string_view n, const bj::object&) { return n == name; });
}

// Claude Code records the answer "Use this MCP server" of its "New MCP server
// found" dialog in `<dir>/.claude/settings.local.json` as
// `enabledMcpjsonServers: [name, ...]`. Returns that file's text without
// `name`, or nullopt when it is not there (or the text is not a JSON object).
inline std::optional<std::string> remove_enabled_server(std::string_view text,
                                                        std::string_view name) {
  boost::system::error_code ec;
  bj::value root = bj::parse(text, ec);
  if (ec || !root.is_object()) return std::nullopt;
  bj::value* list = root.get_object().if_contains("enabledMcpjsonServers");
  if (list == nullptr || !list->is_array()) return std::nullopt;
  bj::array kept;
  bool found = false;
  for (bj::value& v : list->get_array()) {
    if (v.is_string() && v.get_string() == name) {
      found = true;
    } else {
      kept.push_back(std::move(v));
    }
  }
  if (!found) return std::nullopt;
  *list = std::move(kept);
  return pretty_text(root);
}

}  // namespace avenor::sdk::claude_mcp
