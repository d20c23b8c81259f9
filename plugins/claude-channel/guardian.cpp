#include "guardian.hpp"

namespace avenor::claude_channel {
namespace {

// SIGTERM arrives together with stdin EOF when the host closes the backend;
// either runs finish once. The host SIGKILLs after 2 s, which is plenty for
// three short commands. Only a folder named like ours is ever removed.
constexpr std::string_view kScript = R"sh(session=$1 dir=$2 avenor=$3 tempdir=
finish() {
  trap '' TERM INT HUP
  tmux kill-session -t "=$session" >/dev/null 2>&1
  case $tempdir in */avenor-claude-channel-*) rm -rf -- "$tempdir" ;; esac
  "$avenor" claude-channel-cleanup --dir "$dir" >/dev/null 2>&1
  exit 0
}
trap finish TERM INT HUP
while IFS= read -r line; do
  case $line in "tempdir "*) tempdir=${line#tempdir } ;; esac
done
finish
)sh";

}  // namespace

std::vector<std::string> guardian_argv(std::string_view tmux_session, std::string_view dir,
                                       std::string_view avenor_executable) {
  return {"/bin/sh",
          "-c",
          std::string(kScript),
          "avenor-claude-guardian",
          std::string(tmux_session),
          std::string(dir),
          std::string(avenor_executable)};
}

std::string guardian_tempdir_line(std::string_view temp_dir) {
  return "tempdir " + std::string(temp_dir) + "\n";
}

}  // namespace avenor::claude_channel
