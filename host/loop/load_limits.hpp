// Limits on what loading a loop file may cost (issue 15): a loop file or a
// prompt file comes from outside, so a hostile one (deep nesting, YAML aliases
// that expand to gigabytes, a device or FIFO named as a file) must fail with a
// clear error instead of exhausting the stack, memory or time. The limits are
// far above any real loop file; docs/loop.md lists them.
#pragma once

#include <cstddef>
#include <string>

namespace avenor::host {

// One loop file or prompt file, read whole.
inline constexpr std::size_t kMaxLoopInputBytes = std::size_t{4} << 20;
// A YAML loop file: yaml-cpp queues every token of a flow collection before
// its first event, at over 100 bytes a byte of `[[1],[1],...]` (4 MiB took
// half a gigabyte), so YAML gets a smaller cap than the formats parsed in
// place.
inline constexpr std::size_t kMaxYamlInputBytes = std::size_t{1} << 20;
// Containers on any path from the root of a loop file (the root counts as 1).
inline constexpr int kMaxNestingDepth = 64;
// {{if}}s open at once in a prompt template (rendering recurses per level).
inline constexpr int kMaxTemplateNesting = 256;
// Nodes in one YAML file as written (before aliases expand): bounds what the
// YAML library itself builds, at a few hundred bytes per node.
inline constexpr std::size_t kMaxYamlNodes = 100'000;
// Loop files nesting loop files: a -> b -> c ... counts the top file as 1.
inline constexpr int kMaxLoopFileNesting = 32;
// For one load (a loop file with everything it nests): values produced by the
// YAML conversion with aliases expanded, and bytes of text held (loop files
// and prompt files as read, plus YAML strings as expanded).
inline constexpr std::size_t kMaxLoadValues = 1'000'000;
inline constexpr std::size_t kMaxLoadTextBytes = std::size_t{64} << 20;

// "nesting deeper than 64 levels", the one wording of every depth limit.
std::string nesting_too_deep_message(int limit = kMaxNestingDepth);

// What one load has used so far: shared by every file of one loop file tree so
// that files each within their own limits cannot add up without bound. Each
// charge returns the problem ("more than ..."), or an empty string when the
// charge fits (a load stops at its first problem).
class LoadBudget {
 public:
  std::string charge_values(std::size_t count);
  std::string charge_text(std::size_t bytes);

 private:
  std::size_t values_ = 0;
  std::size_t text_bytes_ = 0;
};

}  // namespace avenor::host
