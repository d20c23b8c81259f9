#include "plugin_host/launch_environment.hpp"

#include <algorithm>
#include <avenor/sdk/json.hpp>
#include <stdexcept>

extern char** environ;

namespace avenor::host {

namespace json = sdk::json;

LaunchRequest parse_launch_request(std::string_view json_text) {
  auto v = json::parse(json_text);
  const auto* o = v.if_object();
  if (!o) throw std::runtime_error("launch spec is not a JSON object");
  LaunchRequest r;
  if (const auto* argv = json::find_array(*o, "argv"))
    for (const auto& a : *argv) {
      if (!a.is_string()) throw std::runtime_error("launch spec argv must hold strings");
      r.argv.emplace_back(a.get_string());
    }
  // An empty argv asks for no process (ABI 1.1); an empty program name is a mistake.
  if (!r.argv.empty() && r.argv.front().empty())
    throw std::runtime_error("launch spec has an empty program name");
  if (const auto* env = json::find_object(*o, "env"))
    for (const auto& [k, val] : *env)
      if (val.is_string()) r.env[std::string(k)] = std::string(val.get_string());
  if (const auto* unset = json::find_array(*o, "unset_env"))
    for (const auto& u : *unset)
      if (u.is_string()) r.unset_env.emplace_back(u.get_string());
  r.cwd = json::string_or(*o, "cwd");
  if (auto grace = json::find_int(*o, "eof_grace_ms"); grace && *grace > 0)
    r.eof_grace = std::chrono::milliseconds(std::min<std::int64_t>(*grace, 30000));
  return r;
}

ChildSpec make_child_spec(const LaunchRequest& request) {
  ChildSpec spec;
  spec.argv = request.argv;
  spec.cwd = request.cwd;
  spec.eof_grace = request.eof_grace;
  auto removed = [&](std::string_view key) {
    return request.env.count(std::string(key)) ||
           std::find(request.unset_env.begin(), request.unset_env.end(), key) !=
               request.unset_env.end();
  };
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos || removed(entry.substr(0, eq))) continue;
    spec.env.emplace_back(entry);
  }
  for (const auto& [k, v] : request.env) spec.env.push_back(k + "=" + v);
  return spec;
}

}  // namespace avenor::host
