// The loop runner (events.md §9.3–§9.4): pre phases once, loop phases up to
// max_iterations until a directive ends them, post phases after a clean end.
// Each phase is a full run of a prompt through a PhaseRunner.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "loop/loop_config.hpp"
#include "loop/phase_runner.hpp"
#include "loop/work_tree.hpp"

namespace avenor::host {

struct LoopOutcome {
  std::string
      exit_reason;  // marker, abort, max_iterations, phase_failure, cancelled, timeout, end_turn
  std::string exit_label;  // marker or abort label; may be empty
  int iterations_completed = 0;
  int exit_code = 1;
  std::string stop_reason;  // for the sentinel: end_turn, blocked, the phase's, cancelled, timeout
  std::string session_id;   // the last phase's
};

class LoopRunner {
 public:
  LoopRunner(PhaseRunner& phases, WorkTree& tree, std::string run_id, std::string work_dir)
      : phases_(phases), tree_(tree), run_id_(std::move(run_id)), work_dir_(std::move(work_dir)) {}

  boost::asio::awaitable<LoopOutcome> run(const LoopConfig& config);

 private:
  struct Frame;  // one (possibly nested) loop being run
  enum class PhaseKind { pre, loop, post };

  boost::asio::awaitable<PhaseResult> run_one(Frame& frame, const LoopPhase& phase, PhaseKind kind,
                                              int iteration, const std::string& resume_id);
  // Runs pre or post phases; an outcome when they end the loop.
  boost::asio::awaitable<std::optional<LoopOutcome>> run_group(Frame& frame,
                                                               const std::vector<LoopPhase>& group,
                                                               PhaseKind kind);
  std::optional<LoopOutcome> stopped() const;
  LoopOutcome end(Frame& frame, LoopOutcome outcome);

  PhaseRunner& phases_;
  WorkTree& tree_;
  std::string run_id_;
  std::string work_dir_;
};

}  // namespace avenor::host
