#include "run/model_lookup.hpp"

#include <avenor/sdk/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "util/read_file.hpp"

namespace avenor::host {

namespace fs = std::filesystem;
namespace json = sdk::json;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::vector<fs::path> opencode_config_candidates() {
  std::vector<fs::path> c;
  if (auto v = env("OPENCODE_CONFIG"); !v.empty()) c.emplace_back(v);
  auto add_dir = [&](const fs::path& dir) {
    c.push_back(dir / "opencode.json");
    c.push_back(dir / "opencode.jsonc");
  };
  if (auto v = env("OPENCODE_CONFIG_DIR"); !v.empty()) add_dir(v);
  if (auto v = env("XDG_CONFIG_HOME"); !v.empty()) add_dir(fs::path(v) / "opencode");
  if (auto v = env("HOME"); !v.empty()) add_dir(fs::path(v) / ".config" / "opencode");
  return c;
}

// A user's config: a FIFO or device there must not block or flood the run.
constexpr std::size_t kMaxConfigBytes = 4u << 20;

std::string read_config(const fs::path& p) { return read_regular_file(p, kMaxConfigBytes); }

std::string agent_model_from(const boost::json::value& config, std::string_view agent) {
  const auto* root = config.if_object();
  if (!root) return "";
  const auto* agents = json::find_object(*root, "agent");
  if (!agents) return "";
  const auto* entry = json::find_object(*agents, agent);
  return entry ? json::string_or(*entry, "model") : "";
}

std::string opencode_lookup(std::string_view agent) {
  for (const auto& path : opencode_config_candidates()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    boost::json::value config;
    try {
      config = json::parse(read_config(path));  // .jsonc is read as plain JSON
    } catch (const FileReadError& e) {
      throw std::runtime_error(std::string("agent model lookup: ") + e.what());
    } catch (const std::exception& e) {
      throw std::runtime_error("agent model lookup: " + path.string() + ": " + e.what());
    }
    return agent_model_from(config, agent);
  }
  return "";
}

std::string pi_lookup(std::string_view agent) {
  fs::path dir = env("PI_CODING_AGENT_DIR");
  if (dir.empty()) dir = fs::path(env("HOME")) / ".pi" / "agent";
  try {
    auto config = json::parse(read_config(dir / "agents.json"));
    const auto* root = config.if_object();
    const auto* entry = root ? json::find_object(*root, agent) : nullptr;
    return entry ? json::string_or(*entry, "model") : "";
  } catch (const std::exception&) {
    return "";  // pi lookup errors are ignored (cli.md §3.13)
  }
}

}  // namespace

std::string lookup_agent_model(std::string_view backend, std::string_view agent) {
  if (backend.starts_with("opencode")) return opencode_lookup(agent);
  if (backend == "pi") return pi_lookup(agent);
  return "";
}

}  // namespace avenor::host
