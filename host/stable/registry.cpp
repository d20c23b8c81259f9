#include "stable/registry.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <set>
#include <system_error>

#include "util/atomic_file.hpp"
#include "util/json_text.hpp"
#include "util/read_file.hpp"

namespace avenor::host {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxRegistryBytes = 16 * 1024 * 1024;
// The registry is three levels deep; anything much deeper is not ours.
constexpr std::size_t kMaxDepth = 16;

// Why an entry or the whole file was rejected.
struct Malformed {
  std::string why;
};

// n of "rt_<n>" (n ≥ 1, decimal, no sign or leading zero), else 0.
std::int64_t runtime_number(std::string_view id) {
  if (id.size() < 4 || id.substr(0, 3) != "rt_" || id[3] == '0') return 0;
  std::int64_t n = 0;
  auto digits = id.substr(3);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n <= 0) return 0;
  return n;
}

// The file's bytes, or a reason it cannot be a registry. nullopt when absent.
std::optional<std::string> read_registry_bytes(const std::filesystem::path& file) {
  try {
    // The registry is always a file we wrote, never a link to somewhere else.
    return read_regular_file(file, kMaxRegistryBytes, Symlinks::refuse);
  } catch (const FileReadError& e) {
    if (e.missing()) return std::nullopt;
    if (e.code() == FileProblem::too_large) throw Malformed{"larger than 16 MiB"};
    if (e.code() == FileProblem::not_regular) {
      struct stat st {};
      const bool link = ::lstat(file.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
      throw Malformed{link ? "is a symbolic link" : "not a regular file"};
    }
    throw Malformed{e.what()};
  }
}

const json::value* member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && !v->is_null() ? v : nullptr;
}

void read_string(const json::object& o, std::string_view key, std::string& out) {
  const json::value* v = member(o, key);
  if (v == nullptr) return;
  if (!v->is_string()) throw Malformed{std::string(key) + " is not a string"};
  out = std::string(v->as_string());
}

void read_int(const json::object& o, std::string_view key, std::int64_t& out) {
  const json::value* v = member(o, key);
  if (v == nullptr) return;
  if (v->is_int64()) {
    out = v->as_int64();
    return;
  }
  if (v->is_uint64()) throw Malformed{std::string(key) + " is out of range"};
  throw Malformed{std::string(key) + " is not an integer"};
}

RegistryRuntime parse_runtime(const json::value& v) {
  if (!v.is_object()) throw Malformed{"not an object"};
  const json::object& o = v.as_object();
  RegistryRuntime rt;
  read_string(o, "runtime_id", rt.runtime_id);
  if (runtime_number(rt.runtime_id) == 0) throw Malformed{"runtime_id is missing or not rt_<n>"};
  read_int(o, "pid", rt.pid);
  read_int(o, "pgid", rt.pgid);
  if (rt.pid < 0 || rt.pgid < 0) throw Malformed{"negative pid or pgid"};
  for (auto [key, field] : {std::pair{"identity_token", &rt.identity_token},
                            {"control_socket", &rt.control_socket},
                            {"on_event", &rt.on_event},
                            {"sentinel_file", &rt.sentinel_file},
                            {"dir", &rt.dir},
                            {"label", &rt.label},
                            {"agent", &rt.agent},
                            {"agent_profile", &rt.agent_profile},
                            {"model", &rt.model},
                            {"thinking", &rt.thinking},
                            {"backend", &rt.backend},
                            {"parent_id", &rt.parent_id},
                            {"session_id", &rt.session_id},
                            {"status", &rt.status}})
    read_string(o, key, *field);
  if (const json::value* a = member(o, "auto_approve")) {
    if (!a->is_bool()) throw Malformed{"auto_approve is not a boolean"};
    rt.auto_approve = a->as_bool();
  }
  if (const json::value* c = member(o, "children")) {
    if (!c->is_array()) throw Malformed{"children is not an array"};
    for (const json::value& child : c->as_array()) {
      if (!child.is_string()) throw Malformed{"children holds a non-string"};
      rt.children.emplace_back(child.as_string());
    }
  }
  read_int(o, "started_at", rt.started_at);
  std::int64_t exit_code = 0;
  read_int(o, "exit_code", exit_code);
  if (exit_code < INT32_MIN || exit_code > INT32_MAX) throw Malformed{"exit_code is out of range"};
  rt.exit_code = static_cast<int>(exit_code);
  return rt;
}

json::value to_json(const RegistryRuntime& rt) {
  json::array children;
  for (const auto& c : rt.children) children.emplace_back(c);
  return json::object{{"runtime_id", rt.runtime_id},
                      {"pid", rt.pid},
                      {"pgid", rt.pgid},
                      {"identity_token", rt.identity_token},
                      {"control_socket", rt.control_socket},
                      {"on_event", rt.on_event},
                      {"sentinel_file", rt.sentinel_file},
                      {"dir", rt.dir},
                      {"label", rt.label},
                      {"agent", rt.agent},
                      {"agent_profile", rt.agent_profile},
                      {"model", rt.model},
                      {"thinking", rt.thinking},
                      {"backend", rt.backend},
                      {"auto_approve", rt.auto_approve},
                      {"parent_id", rt.parent_id},
                      {"children", std::move(children)},
                      {"session_id", rt.session_id},
                      {"started_at", rt.started_at},
                      {"status", rt.status},
                      {"exit_code", rt.exit_code}};
}

}  // namespace

RegistryLoad load_registry(const std::filesystem::path& file) {
  RegistryLoad load;
  const std::string prefix = "registry " + file.string() + ": ";
  try {
    std::optional<std::string> bytes = read_registry_bytes(file);
    if (!bytes) return load;
    json::parse_options options;
    options.max_depth = kMaxDepth;
    boost::system::error_code ec;
    json::value doc = json::parse(*bytes, ec, {}, options);
    if (ec) throw Malformed{"not valid JSON: " + ec.message()};
    if (!doc.is_object()) throw Malformed{"not a JSON object"};
    const json::object& top = doc.as_object();
    Registry registry;
    const json::value* run_id = member(top, "supervisor_run_id");
    if (run_id == nullptr || !run_id->is_string())
      throw Malformed{"supervisor_run_id is missing or not a string"};
    registry.supervisor_run_id = std::string(run_id->as_string());
    read_int(top, "next_runtime", registry.next_runtime);
    if (registry.next_runtime < 1) throw Malformed{"next_runtime is not positive"};
    const json::value* runtimes = member(top, "runtimes");
    if (runtimes != nullptr && !runtimes->is_array()) throw Malformed{"runtimes is not an array"};
    std::set<std::string> seen;
    if (runtimes != nullptr) {
      std::size_t index = 0;
      for (const json::value& entry : runtimes->as_array()) {
        try {
          RegistryRuntime rt = parse_runtime(entry);
          if (!seen.insert(rt.runtime_id).second) throw Malformed{"duplicate " + rt.runtime_id};
          registry.runtimes.push_back(std::move(rt));
        } catch (const Malformed& m) {
          load.warnings.push_back(prefix + "runtime entry " + std::to_string(index) + ": " + m.why +
                                  "; skipped");
        }
        ++index;
      }
    }
    load.registry = std::move(registry);
  } catch (const Malformed& m) {
    load.registry.reset();
    load.warnings.assign({prefix + m.why + "; starting with an empty registry"});
  } catch (const std::exception& e) {  // allocation failure and the like
    load.registry.reset();
    load.warnings.assign({prefix + e.what() + "; starting with an empty registry"});
  }
  return load;
}

void save_registry(const std::filesystem::path& file, const Registry& registry) {
  json::array runtimes;
  for (const auto& rt : registry.runtimes) runtimes.push_back(to_json(rt));
  json::object doc{{"supervisor_run_id", registry.supervisor_run_id},
                   {"next_runtime", registry.next_runtime},
                   {"runtimes", std::move(runtimes)}};
  write_file_atomically(file, to_pretty_json(doc) + "\n", ".registry-", 0600);
}

std::vector<std::string> runtime_dirs(const std::filesystem::path& state_dir) {
  std::vector<std::pair<std::int64_t, std::string>> found;
  std::error_code ec;
  std::filesystem::directory_iterator it(state_dir, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::int64_t n = runtime_number(name);
    if (n == 0) continue;
    std::error_code sec;
    // A symlink named rt_<n> is not a runtime directory we made.
    if (!std::filesystem::is_directory(it->symlink_status(sec))) continue;
    found.emplace_back(n, std::move(name));
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> ids;
  for (auto& [n, name] : found) ids.push_back(std::move(name));
  return ids;
}

}  // namespace avenor::host
