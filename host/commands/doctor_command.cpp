#include "commands/doctor_command.hpp"

#include <array>
#include <avenor/sdk/json.hpp>

#include "cli/go_flags.hpp"
#include "cli/usage_reporter.hpp"
#include "plugin_host/plugin_catalog.hpp"
#include "process/command_probe.hpp"
#include "util/executable_search.hpp"

namespace avenor::host {

namespace json = sdk::json;

namespace {

// The backends the project ships (the spec's seven and claude); one without a
// plugin is reported missing with its package, so a packager's split is
// visible to the user.
constexpr std::array<std::string_view, 8> kKnownBackends{
    "opencode-acp",   "opencode-http", "codex-app-server", "gemini-acp", "cursor-acp", "pi",
    "claude-channel", "claude"};

// The distribution package of a backend's plugin (docs/packaging.md): every
// project plugin is named after its one backend and packaged as
// avenor-plugin-<plugin>, so the rule needs no table.
std::string plugin_package(std::string_view backend) {
  return "avenor-plugin-" + std::string(backend);
}

struct Report {
  std::ostream& out;
  std::vector<std::string> missing;

  void ok(std::string_view backend, std::string_view what) {
    out << "ok " << backend << ": " << what << "\n";
  }
  void miss(std::string_view backend, std::string_view what) {
    out << "missing " << backend << ": " << what << "\n";
    missing.push_back(std::string(backend) + " (" + std::string(what) + ")");
  }
};

std::string first_line(std::string_view text) {
  auto nl = text.find('\n');
  std::string line(text.substr(0, nl));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

void run_extra_checks(const BackendInfo& b, Report& report) {
  if (b.doctor_checks_json.empty()) return;
  boost::json::value checks;
  try {
    checks = json::parse(b.doctor_checks_json);
  } catch (const std::exception& e) {
    report.miss(b.name, std::string("plugin doctor checks unreadable: ") + e.what());
    return;
  }
  const auto* list = checks.if_array();
  if (!list) return;
  for (const auto& c : *list) {
    const auto* check = c.if_object();
    if (!check) continue;
    std::vector<std::string> argv;
    if (const auto* a = json::find_array(*check, "argv"))
      for (const auto& s : *a)
        if (s.is_string()) argv.emplace_back(s.get_string());
    if (argv.empty()) continue;
    std::string what = json::string_or(*check, "what", argv.front());
    auto result = probe_command(argv, std::chrono::seconds(20));
    if (!result.ok) {
      report.miss(b.name, what + ": " + result.error);
      continue;
    }
    std::string expect = json::string_or(*check, "expect_substring");
    if (!expect.empty() && result.output.find(expect) == std::string::npos) {
      report.miss(b.name, what + ": output lacks \"" + expect + "\"");
      continue;
    }
    report.ok(b.name, what + ": " + first_line(result.output));
  }
}

void check_backend(const BackendInfo& b, Report& report) {
  if (b.cli.empty()) {
    report.ok(b.name, "needs no local CLI");
  } else if (auto path = find_on_path(b.cli)) {
    report.ok(b.name, b.cli + " on PATH at " + path->string());
  } else {
    report.miss(b.name, b.cli + " not on PATH");
    return;  // its version checks cannot run
  }
  run_extra_checks(b, report);
}

}  // namespace

int doctor_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string only;
  GoFlagSet flags("doctor");
  flags.set_usage_header("Usage: avenor doctor [--backend name]\n");
  flags.string_var(only, "backend", "", "check only this backend");
  const UsageReporter usage("doctor", 1, out, err);
  if (auto parsed = flags.parse(args); !parsed.ok()) return usage.parse_failure(flags, parsed);
  if (!flags.args().empty())
    return usage.error("unexpected argument \"" + flags.args().front() + "\"");

  PluginCatalog catalog = PluginCatalog::discover();
  for (const auto& e : catalog.errors())
    err << "avenor doctor: " << e.path.string() << ": " << e.message << "\n";

  std::vector<std::string> names(kKnownBackends.begin(), kKnownBackends.end());
  for (const auto& n : catalog.backend_names())
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  if (!only.empty()) {
    if (std::find(names.begin(), names.end(), only) == names.end()) {
      err << "avenor doctor: unknown backend \"" << only << "\"\n";
      return 1;
    }
    names = {only};
  }

  Report report{out, {}};
  for (const auto& name : names) {
    if (auto entry = catalog.find(name))
      check_backend(entry->info, report);
    else
      report.miss(name, "plugin not installed; install " + plugin_package(name));
  }
  if (report.missing.empty()) {
    out << "summary: nothing missing\n";
    return 0;
  }
  out << "summary: missing ";
  for (std::size_t i = 0; i < report.missing.size(); ++i)
    out << (i ? ", " : "") << report.missing[i];
  out << "\n";
  return 1;
}

}  // namespace avenor::host
