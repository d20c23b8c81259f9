#include "loop/loop_runner.hpp"

#include "run/sentinel.hpp"

namespace avenor::host {

namespace asio = boost::asio;
using boost::json::object;

namespace {

const char* kind_name(int kind) {
  static constexpr const char* kNames[] = {"pre", "loop", "post"};
  return kNames[kind];
}

// Whether any prompt of this loop file shows a git-derived field; without
// one there is no reason to run git at all.
bool uses_git(const LoopConfig& config) {
  for (const auto* group : {&config.pre, &config.loop, &config.post})
    for (const auto& phase : *group)
      for (auto field : {&TemplateValues::prev_phase_commit, &TemplateValues::diff_stat,
                         &TemplateValues::changed_files})
        if (phase.prompt.uses(field)) return true;
  return false;
}

}  // namespace

struct LoopRunner::Frame {
  const LoopConfig& config;
  bool tracks_git = false;
  std::string prev_commit;  // HEAD after the last phase (or at loop start)
  int iterations_completed = 0;
  std::string last_session_id;
};

asio::awaitable<PhaseResult> LoopRunner::run_one(Frame& frame, const LoopPhase& phase,
                                                 PhaseKind kind, int iteration,
                                                 const std::string& resume_id) {
  const char* kind_text = kind_name(static_cast<int>(kind));
  PhaseResult result;
  std::string prompt;
  if (!phase.nested) {
    TemplateValues values;
    values.run_id = run_id_;
    values.phase = phase.name;
    values.iteration = iteration;
    values.max_iterations = frame.config.max_iterations;
    values.work_dir = work_dir_;
    values.prev_phase_commit = frame.prev_commit;
    if (phase.prompt.uses(&TemplateValues::diff_stat))
      values.diff_stat = co_await tree_.diff_stat(frame.prev_commit);
    if (phase.prompt.uses(&TemplateValues::changed_files))
      values.changed_files = co_await tree_.changed_files(frame.prev_commit);
    prompt = phase.prompt.render(values);
  }
  phases_.write_event(object{{"event", "avenor.phase.start"},
                             {"phase", phase.name},
                             {"iteration", iteration},
                             {"kind", kind_text}});
  if (phase.nested) {
    // A nested loop file is one phase of this loop; its abort is this phase's.
    LoopOutcome inner = co_await run(*phase.nested);
    result.exit_code = inner.exit_code;
    result.session_id = inner.session_id;
    result.stop_reason = inner.stop_reason;
    if (inner.stop_reason == "blocked")
      result.directive = DirectiveMark{LoopDirective::abort, inner.exit_label};
  } else {
    result = co_await phases_.run_phase(std::move(prompt), resume_id);
  }
  if (result.stop_reason.empty()) result.stop_reason = stop_reason_for_exit(result.exit_code);
  object end{{"event", "avenor.phase.end"},
             {"phase", phase.name},
             {"iteration", iteration},
             {"kind", kind_text},
             {"stop_reason", result.stop_reason},
             {"session_id", result.session_id}};
  if (result.directive.directive == LoopDirective::abort) {
    end["abort_marker"] = true;
    end["abort_marker_label"] = result.directive.label;
  } else if (result.directive.directive == LoopDirective::exit) {
    end["exit_marker"] = true;
    end["exit_marker_label"] = result.directive.label;
  }
  phases_.write_event(std::move(end));
  frame.last_session_id = result.session_id;
  if (frame.tracks_git) frame.prev_commit = co_await tree_.head();
  co_return result;
}

std::optional<LoopOutcome> LoopRunner::stopped() const {
  auto cause = phases_.stop_cause();
  if (!cause) return std::nullopt;
  LoopOutcome o;  // end() fills in the counts
  o.exit_reason = o.stop_reason = stop_reason_for(*cause);
  o.exit_code = exit_code_for_stop_reason(o.stop_reason);
  return o;
}

LoopOutcome LoopRunner::end(Frame& frame, LoopOutcome outcome) {
  outcome.iterations_completed = frame.iterations_completed;
  outcome.session_id = frame.last_session_id;
  object e{{"event", "avenor.loop.end"},
           {"exit_reason", outcome.exit_reason},
           {"iterations_completed", outcome.iterations_completed}};
  if (!outcome.exit_label.empty()) e["exit_label"] = outcome.exit_label;
  phases_.write_event(std::move(e));
  return outcome;
}

namespace {

LoopOutcome aborted(const DirectiveMark& mark) {
  return LoopOutcome{"abort", mark.label, 0, 5, "blocked", {}};
}

LoopOutcome phase_failure(const PhaseResult& r) {
  return LoopOutcome{"phase_failure", {}, 0, r.exit_code, r.stop_reason, {}};
}

LoopOutcome clean(const char* exit_reason, std::string label = {}) {
  return LoopOutcome{exit_reason, std::move(label), 0, 0, "end_turn", {}};
}

}  // namespace

asio::awaitable<std::optional<LoopOutcome>> LoopRunner::run_group(
    Frame& frame, const std::vector<LoopPhase>& group, PhaseKind kind) {
  std::string previous_session;
  for (const auto& phase : group) {
    const std::string resume = phase.resume_from_previous ? previous_session : std::string();
    PhaseResult r = co_await run_one(frame, phase, kind, 0, resume);
    previous_session = r.session_id;
    if (auto s = stopped()) co_return end(frame, *s);
    // Exit directives mean nothing outside the loop phases.
    if (r.directive.directive == LoopDirective::abort) co_return end(frame, aborted(r.directive));
    if (r.exit_code != 0) co_return end(frame, phase_failure(r));
  }
  co_return std::nullopt;
}

asio::awaitable<LoopOutcome> LoopRunner::run(const LoopConfig& config) {
  Frame frame{config, uses_git(config), {}, 0, {}};
  phases_.write_event(object{{"event", "avenor.loop.start"},
                             {"max_iterations", config.max_iterations},
                             {"pre_phase_count", config.pre.size()},
                             {"loop_phase_count", config.loop.size()},
                             {"post_phase_count", config.post.size()}});
  if (frame.tracks_git) frame.prev_commit = co_await tree_.head();

  if (auto done = co_await run_group(frame, config.pre, PhaseKind::pre)) co_return *done;
  if (config.loop.empty()) {
    if (auto done = co_await run_group(frame, config.post, PhaseKind::post)) co_return *done;
    co_return end(frame, clean("end_turn"));
  }

  for (int iteration = 1; iteration <= config.max_iterations; ++iteration) {
    if (auto s = stopped()) co_return end(frame, *s);
    std::string previous_session;
    for (std::size_t i = 0; i < config.loop.size(); ++i) {
      const LoopPhase& phase = config.loop[i];
      const std::string resume =
          phase.resume_from_previous && i > 0 ? previous_session : std::string();
      PhaseResult r = co_await run_one(frame, phase, PhaseKind::loop, iteration, resume);
      previous_session = r.session_id;
      if (auto s = stopped()) co_return end(frame, *s);
      // Directives before the stop reason (D9).
      if (r.directive.directive == LoopDirective::abort) co_return end(frame, aborted(r.directive));
      if (r.directive.directive == LoopDirective::exit) {
        if (auto done = co_await run_group(frame, config.post, PhaseKind::post)) co_return *done;
        co_return end(frame, clean("marker", r.directive.label));
      }
      if (r.exit_code != 0) co_return end(frame, phase_failure(r));
    }
    ++frame.iterations_completed;
  }
  if (auto done = co_await run_group(frame, config.post, PhaseKind::post)) co_return *done;
  co_return end(frame, clean("max_iterations"));
}

}  // namespace avenor::host
