#include "commands/plugins_command.hpp"

#include <boost/json.hpp>

#include "cli/go_flags.hpp"
#include "cli/usage_reporter.hpp"
#include "plugin_host/plugin_catalog.hpp"
#include "util/executable_search.hpp"

namespace avenor::host {

int plugins_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string format = "plain";
  GoFlagSet flags("plugins");
  flags.set_usage_header("Usage: avenor plugins [--format plain|json]\n");
  flags.string_var(format, "format", "plain", "output format: plain or json");
  const UsageReporter usage("plugins", 1, out, err);
  if (auto parsed = flags.parse(args); !parsed.ok()) return usage.parse_failure(flags, parsed);
  if (!flags.args().empty())
    return usage.error("unexpected argument \"" + flags.args().front() + "\"");
  if (format != "plain" && format != "json")
    return usage.error("--format must be \"plain\" or \"json\", got \"" + format + "\"");

  PluginCatalog catalog = PluginCatalog::discover();
  for (const auto& e : catalog.errors())
    err << "avenor plugins: " << e.path.string() << ": " << e.message << "\n";

  boost::json::array rows;
  for (const auto& lib : catalog.plugins()) {
    for (const auto& b : lib->backends()) {
      auto cli_path = find_on_path(b.cli);
      std::string cli_text = b.cli.empty() ? "-" : cli_path ? cli_path->string() : "missing";
      if (format == "plain") {
        out << b.name << "\t" << lib->version() << "\tabi=" << lib->abi_version() << "\t"
            << lib->path().string() << "\tcli=" << cli_text << "\n";
      } else {
        rows.push_back(
            boost::json::object{{"name", b.name},
                                {"version", lib->version()},
                                {"abi_version", lib->abi_version()},
                                {"path", lib->path().string()},
                                {"cli", b.cli},
                                {"cli_path", cli_path ? cli_path->string() : std::string()},
                                {"cli_found", b.cli.empty() || cli_path.has_value()}});
      }
    }
  }
  if (format == "json") out << boost::json::serialize(rows) << "\n";
  return catalog.errors().empty() ? 0 : 1;
}

}  // namespace avenor::host
