#include "run/dir_snapshot.hpp"

#include <algorithm>
#include <iterator>
#include <system_error>

namespace avenor::host {

namespace fs = std::filesystem;

DirSnapshot DirSnapshot::take(const fs::path& dir, std::size_t limit) {
  DirSnapshot s;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return s;
  const fs::recursive_directory_iterator end;
  while (it != end) {
    const fs::directory_entry& entry = *it;
    if (entry.path().filename() == ".git") {
      it.disable_recursion_pending();  // the repository is not the agent's output
    } else if (!(entry.is_directory(ec) && !entry.is_symlink(ec))) {
      if (s.files_.size() >= limit) {
        s.truncated_ = true;
        break;
      }
      s.files_.insert(entry.path().lexically_relative(dir).generic_string());
    }
    it.increment(ec);
    if (ec) {  // a directory vanished mid-walk: what was seen is the answer
      s.truncated_ = true;
      break;
    }
  }
  return s;
}

std::vector<std::string> DirSnapshot::added_in(const DirSnapshot& now) const {
  std::vector<std::string> added;
  std::set_difference(now.files_.begin(), now.files_.end(), files_.begin(), files_.end(),
                      std::back_inserter(added));
  return added;
}

}  // namespace avenor::host
