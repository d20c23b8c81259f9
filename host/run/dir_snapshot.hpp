// The files under a run's --dir, so a run cancelled while parked can name
// the files it produced (`session.end.output_files`, cli.md §3.14).
#pragma once

#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace avenor::host {

class DirSnapshot {
 public:
  // Enough for any working tree an agent is pointed at; a bigger one is
  // listed only this far, so the walk stays cheap.
  static constexpr std::size_t kDefaultLimit = 20000;

  // Every non-directory entry below `dir` (relative paths, `.git` skipped,
  // symlinked directories not followed), at most `limit` of them. An
  // unreadable directory is skipped, never an error.
  static DirSnapshot take(const std::filesystem::path& dir, std::size_t limit = kDefaultLimit);

  // The files of `now` that are not in this snapshot, sorted. When either
  // walk hit its limit the answer is best effort.
  std::vector<std::string> added_in(const DirSnapshot& now) const;

  bool truncated() const { return truncated_; }
  std::size_t size() const { return files_.size(); }

 private:
  std::set<std::string> files_;
  bool truncated_ = false;
};

}  // namespace avenor::host
