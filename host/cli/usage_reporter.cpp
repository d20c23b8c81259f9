#include "cli/usage_reporter.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>

namespace avenor::host {
namespace {

// `run` is the default command, and its diagnostics have always been
// "avenor: ..." (cli.md §2).
std::string prefix_for(std::string_view command) {
  if (command == "run") return "avenor: ";
  std::string prefix = "avenor";
  std::size_t start = 0;
  while (start < command.size()) {
    std::size_t end = command.find(' ', start);
    if (end == std::string_view::npos) end = command.size();
    prefix += ' ';
    prefix += command.substr(start, end - start);
    prefix += ':';
    start = end + 1;
  }
  return prefix + " ";
}

}  // namespace

UsageReporter::UsageReporter(std::string command, int usage_exit, std::ostream& out,
                             std::ostream& err)
    : command_(std::move(command)),
      prefix_(prefix_for(command_)),
      usage_exit_(usage_exit),
      out_(out),
      err_(err) {}

int UsageReporter::parse_failure(const GoFlagSet& flags,
                                 const GoFlagSet::ParseResult& result) const {
  if (result.status == GoFlagSet::ParseResult::Status::help) return help(flags.usage());
  return error(result.error);
}

int UsageReporter::error(std::string_view message) const {
  err_ << prefix_ << message << "\n" << hint() << "\n";
  err_.flush();
  return usage_exit_;
}

int UsageReporter::help(std::string_view usage_text) const {
  out_ << usage_text;
  out_.flush();
  return 0;
}

std::string UsageReporter::hint() const { return "run 'avenor " + command_ + " --help' for usage"; }

std::string unexpected_argument_message(const GoFlagSet& flags,
                                        const std::vector<std::string>& args) {
  const std::vector<std::string>& rest = flags.args();
  if (rest.empty()) return {};
  const std::string& word = rest.front();
  std::string text =
      "unexpected argument " + boost::json::serialize(boost::json::string_view(word)) + " ";
  // Go parsing stopped at the stray word, so the word before it is the last
  // flag (or "--"). A bool flag never takes the next word as its value.
  if (args.size() > rest.size()) {
    std::string_view before = args[args.size() - rest.size() - 1];
    if (before.size() > 1 && before[0] == '-') {
      before.remove_prefix(before[1] == '-' ? 2 : 1);
      if (before.find('=') == std::string_view::npos && flags.is_bool_flag(before)) {
        const std::string flag = "--" + std::string(before);
        return text + "(" + flag + " takes no separate value; write " + flag + "=true or " + flag +
               "=false)";
      }
    }
  }
  return text + "(flags start with --; quote a prompt that has spaces)";
}

}  // namespace avenor::host
