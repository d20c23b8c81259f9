// Phase prompts (events.md §9.2): exactly the subset of Go's text/template the
// loop runner needs — {{.Field}}, {{if .Field}}…{{else}}…{{end}} — parsed once
// at load time so a misspelt field fails before the loop starts.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::host {

// The values a phase prompt can refer to.
struct TemplateValues {
  std::string run_id;             // .RunID
  std::string phase;              // .Phase
  int iteration = 0;              // .Iteration (0 for pre and post)
  int max_iterations = 0;         // .MaxIterations
  std::string work_dir;           // .WorkDir
  std::string prev_phase_commit;  // .PrevPhaseCommit
  std::string diff_stat;          // .DiffStat
  std::string changed_files;      // .ChangedFiles
  // .TeamOutput and .TeamFinalOutput are always empty in loop runs.
};

// A parse failure; what() is "template: line N: <what>".
class TemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PromptTemplate {
 public:
  PromptTemplate() = default;
  // Throws TemplateError for bad syntax, an action outside the subset, or an
  // unknown field.
  static PromptTemplate parse(std::string_view text);

  std::string render(const TemplateValues& values) const;
  bool empty() const { return nodes_.empty(); }
  // Whether the template reads this field anywhere (in text or a condition),
  // so the loop runner asks git only for what some prompt shows.
  bool uses(std::string TemplateValues::*field) const;

  struct Node;  // text, field reference, or if/else/end

 private:
  std::vector<std::shared_ptr<const Node>> nodes_;
};

}  // namespace avenor::host
