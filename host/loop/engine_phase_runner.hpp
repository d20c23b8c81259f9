// The run engine as the loop runner's PhaseRunner: a phase is run_phase() of
// its rendered prompt; the loop's events go through the run's event pipeline.
#pragma once

#include "loop/phase_runner.hpp"
#include "run/run_engine.hpp"

namespace avenor::host {

class EnginePhaseRunner : public PhaseRunner {
 public:
  explicit EnginePhaseRunner(RunEngine& engine) : engine_(engine) {}

  boost::asio::awaitable<PhaseResult> run_phase(std::string prompt,
                                                std::string resume_id) override {
    RunOutcome o = co_await engine_.run_phase(std::move(prompt), std::move(resume_id));
    co_return PhaseResult{o.exit_code, std::move(o.session_id), std::move(o.stop_reason),
                          std::move(o.directive)};
  }
  std::optional<StopCause> stop_cause() const override { return engine_.stop_cause(); }
  void write_event(boost::json::object event) override { engine_.write_event(std::move(event)); }

 private:
  RunEngine& engine_;
};

}  // namespace avenor::host
