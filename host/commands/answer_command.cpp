#include "commands/answer_command.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <system_error>

#include "cli/go_flags.hpp"
#include "cli/usage_reporter.hpp"
#include "util/atomic_file.hpp"
#include "util/json_text.hpp"
#include "util/read_file.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;

constexpr const char* kPrefix = "avenor answer: ";
constexpr int kExitUsage = 2;
constexpr int kExitIo = 1;

std::string quote(std::string_view s) { return bj::serialize(s); }

// The request is one permission.request event (at most 16 MiB, the largest
// a backend can deliver) pretty-printed, so indentation may add to it.
constexpr std::size_t kMaxRequestBytes = std::size_t{64} << 20;

std::vector<std::string> offered_option_ids(const bj::value& request) {
  std::vector<std::string> ids;
  const bj::object* obj = request.if_object();
  const bj::value* options = obj != nullptr ? obj->if_contains("options") : nullptr;
  const bj::array* list = options != nullptr ? options->if_array() : nullptr;
  if (list == nullptr) return ids;
  for (const bj::value& option : *list) {
    const bj::object* o = option.if_object();
    const bj::value* id = o != nullptr ? o->if_contains("optionId") : nullptr;
    if (id != nullptr && id->is_string()) ids.emplace_back(id->get_string());
  }
  return ids;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool path_exists(const std::filesystem::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

int answer_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  GoFlagSet flags("answer");
  flags.set_usage_header(
      "Usage: avenor answer <perm-base> --option <id> [--message s] "
      "[--outcome selected|cancelled] [--force]\n"
      "Flags may come before or after <perm-base>; -- ends the flags.\n");
  flags.set_interspersed(true);  // D13: the documented form puts the flags last
  std::string option;
  std::string message;
  std::string outcome;
  bool force = false;
  flags.string_var(option, "option", "", "`id` of the offered option to choose (required)");
  flags.string_var(message, "message", "", "write-in message for the chosen option");
  flags.string_var(outcome, "outcome", "selected", "selected or cancelled");
  flags.bool_var(force, "force", false, "overwrite an existing response");
  const UsageReporter usage("answer", kExitUsage, out, err);

  // 1-4: flags, outcome, --option, one positional.
  const GoFlagSet::ParseResult parsed = flags.parse(args);
  if (!parsed.ok()) return usage.parse_failure(flags, parsed);
  if (outcome != "selected" && outcome != "cancelled")
    return usage.error("--outcome must be \"selected\" or \"cancelled\", got " + quote(outcome));
  if (option.empty()) return usage.error("--option <id> is required");
  if (flags.args().empty())
    return usage.error("<perm-base> is required (the path before .req, e.g. run.perm)");
  if (flags.args().size() > 1)
    return usage.error("unexpected argument " + quote(flags.args()[1]) +
                       " (answer takes one <perm-base>)");
  const std::string base = flags.args().front();
  const std::filesystem::path request_path = base + ".req";
  const std::filesystem::path response_path = base + ".req.response";

  // 5-6: the pending request, read as outside input: a FIFO or /dev/zero
  // at the path must neither hang this command nor fill its memory.
  std::string request_text;
  try {
    request_text = read_regular_file(request_path, kMaxRequestBytes);
  } catch (const FileReadError& e) {
    if (e.missing()) {
      err << kPrefix << "request file " << request_path.string() << " does not exist\n";
      return kExitUsage;
    }
    // Not a regular file, too large, or an OS error: it cannot be read.
    err << kPrefix << "read request file " << request_path.string() << ": " << e.code().message()
        << "\n";
    return kExitIo;
  }
  boost::system::error_code ec;
  const bj::value request = bj::parse(request_text, ec);
  if (ec) {
    err << kPrefix << "parse request file " << request_path.string() << ": " << ec.message()
        << "\n";
    return kExitUsage;
  }

  // 7: the option must be one the agent offered.
  const std::vector<std::string> offered = offered_option_ids(request);
  if (std::find(offered.begin(), offered.end(), option) == offered.end()) {
    err << kPrefix << "option " << quote(option)
        << " is not in the offered set; valid options: " << join(offered) << "\n";
    return kExitUsage;
  }

  // 8: never clobber an answer unless asked to.
  const std::string exists_message = std::string(kPrefix) + "response already exists at " +
                                     response_path.string() + "; pass --force to overwrite\n";
  if (!force && path_exists(response_path)) {
    err << exists_message;
    return kExitUsage;
  }

  // 9: publish atomically (--force never replaces a FIFO, directory or link:
  // TempFile::rename_to refuses). Without --force the hard link fails if another
  // writer got there first, so two racing answers cannot both succeed (D7).
  bj::object response;
  response["outcome"] = outcome;
  response["option_id"] = option;
  response["message"] = message;
  try {
    TempFile temp = TempFile::create(response_path.parent_path(),
                                     response_path.filename().string() + ".", ".tmp", 0600);
    temp.write_and_close(to_compact_json(response) + "\n");
    if (force) {
      temp.rename_to(response_path);
    } else {
      temp.link_to(response_path);
    }
  } catch (const std::system_error& e) {
    if (!force && e.code() == std::errc::file_exists) {
      err << exists_message;
      return kExitUsage;
    }
    err << kPrefix << "write response: " << e.what() << "\n";
    return kExitIo;
  }
  return 0;
}

}  // namespace avenor::host
