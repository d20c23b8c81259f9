// avenor_shutdown (control.md §11.3): stops a supervisor and removes the
// sentinels and logs this server named for its runs there.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "mcp/tool_args.hpp"
#include "mcp/tool_runner.hpp"

namespace avenor::host::mcp::tools {

namespace asio = boost::asio;
namespace bj = boost::json;

namespace {

// Only the files this server named (avenor-run-<run id>.done/.log in its
// temp dir), and only regular files: never a path it did not create — a run
// another MCP server spawned and this one only adopted from `list` is not ours.
bool ours(const std::string& path, const RunRecord& run, const std::filesystem::path& tmp) {
  if (!run.owns_files) return false;
  return path == (tmp / ("avenor-run-" + run.run_id + ".done")).string() ||
         path == (tmp / ("avenor-run-" + run.run_id + ".log")).string();
}

}  // namespace

asio::awaitable<bj::value> shutdown(ToolRunner& t, bj::object args) {
  const ToolArgs a(args, {"supervisor_id", "force"});
  const std::string sup = t.hub().resolve(a.string("supervisor_id").value_or(""));
  co_await t.hub().shutdown(sup, a.boolean("force").value_or(false));
  bj::array cleaned;
  std::vector<std::string> seen;
  const auto& tmp = t.settings().tmp_dir;
  for (const RunRecord* run : t.registry().on_supervisor(sup)) {
    for (const std::string& path : {run->sentinel_file, run->event_path}) {
      if (std::find(seen.begin(), seen.end(), path) != seen.end()) continue;
      seen.push_back(path);
      // A follow-up on a parked runtime shares the first run's files.
      bool named = false;
      for (const RunRecord* owner : t.registry().on_supervisor(sup))
        named = named || ours(path, *owner, tmp);
      struct stat st {};
      if (!named || ::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (::unlink(path.c_str()) == 0) cleaned.emplace_back(path);
    }
  }
  t.registry().remove_supervisor(sup);
  co_return bj::object{{"ok", true}, {"cleaned_up", std::move(cleaned)}};
}

}  // namespace avenor::host::mcp::tools
