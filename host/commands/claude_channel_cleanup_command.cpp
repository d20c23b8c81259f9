#include "commands/claude_channel_cleanup_command.hpp"

#include <sys/stat.h>

#include <avenor/sdk/claude_mcp_config.hpp>
#include <chrono>
#include <filesystem>
#include <system_error>

#include "claude_channel/loopback_http.hpp"
#include "cli/go_flags.hpp"
#include "cli/usage_reporter.hpp"
#include "util/atomic_file.hpp"
#include "util/read_file.hpp"

namespace avenor::host {
namespace {

namespace claude_mcp = sdk::claude_mcp;
namespace bj = boost::json;

constexpr const char* kPrefix = "avenor claude-channel-cleanup: ";
constexpr int kExitUsage = 2;
constexpr int kExitIo = 1;
constexpr std::chrono::milliseconds kProbeTimeout{1000};

// True when the entry's relay still answers: its session is alive.
bool relay_alive(const bj::object& entry) {
  const std::optional<std::string> url = claude_mcp::entry_broker_url(entry);
  if (!url) return false;
  try {
    const claude_channel::LoopbackHttpClient client(claude_channel::parse_loopback_url(*url),
                                                    kProbeTimeout);
    const claude_channel::HttpReply reply =
        client.request_blocking(boost::beast::http::verb::get, "/health", "");
    return reply.status == 200;
  } catch (const std::exception&) {
    return false;  // unparsable URL, refused, timed out: nobody is there
  }
}

}  // namespace

int claude_channel_cleanup_main(const std::vector<std::string>& args, std::ostream& out,
                                std::ostream& err) {
  GoFlagSet flags("claude-channel-cleanup");
  flags.set_usage_header(
      "Usage: avenor claude-channel-cleanup [--dir D]\n"
      "Removes stale avenor-channel-* entries from <D>/.mcp.json.\n");
  std::string dir;
  flags.string_var(dir, "dir", ".", "project `directory` holding .mcp.json");
  const UsageReporter usage("claude-channel-cleanup", kExitUsage, out, err);
  const GoFlagSet::ParseResult parsed = flags.parse(args);
  if (!parsed.ok()) return usage.parse_failure(flags, parsed);
  if (!flags.args().empty()) return usage.error("unexpected argument " + flags.args().front());

  const std::filesystem::path path = std::filesystem::path(dir) / ".mcp.json";
  std::error_code exists_error;
  if (!std::filesystem::exists(path, exists_error) && !exists_error) {
    out << "removed 0 avenor-channel entries from " << path.string() << "\n";
    return 0;
  }
  // A project file: a FIFO or device there must not hang or flood this command.
  std::string content;
  try {
    content = read_regular_file(path, std::size_t{16} << 20);
  } catch (const FileReadError& e) {
    err << kPrefix << "cannot read " << path.string() << ": " << e.code().message() << "\n";
    return kExitIo;
  }

  claude_mcp::Removal removal;
  try {
    removal =
        claude_mcp::remove_servers(content, [](std::string_view name, const bj::object& entry) {
          return claude_mcp::is_channel_server_name(name) && !relay_alive(entry);
        });
  } catch (const std::runtime_error& e) {
    err << kPrefix << "parse " << path.string() << ": " << e.what() << "\n";
    return kExitIo;
  }
  if (!removal.removed.empty()) {
    struct stat st {};
    const mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
    try {
      write_file_atomically(path, removal.text, ".mcp.json.", mode);
    } catch (const std::system_error& e) {
      err << kPrefix << e.what() << "\n";
      return kExitIo;
    }
  }
  out << "removed " << removal.removed.size() << " avenor-channel entries from " << path.string()
      << "\n";
  return 0;
}

}  // namespace avenor::host
