"""`avenor run --loop-file` against the scripted fake ACP agent (events.md §9, D9).

Every phase starts a new agent process, so the script picks each phase's turn by its prompt
(`by_prompt`): phase prompts render `P:<phase> I:<iteration>` and the script matches on that.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from avenor_cli import assert_log_well_formed, events_named
from fake_run import RUN_ID, SESSION, FakeRun

PROMPT = "P:{{.Phase}} I:{{.Iteration}}"


def phase(name: str, **fields) -> dict:
    return {"name": name, "prompt": PROMPT, **fields}


def write_loop(f: FakeRun, config: dict, name: str = "loop.json") -> Path:
    path = f.tmp / name
    path.write_text(json.dumps(config))
    return path


def when(prompt_part: str, *actions: dict) -> dict:
    return {"contains": prompt_part, "turn": list(actions)}


def loop_trace(events: list[dict]) -> list[tuple]:
    """The loop runner's own events, reduced to what identifies them."""
    out = []
    for e in events:
        name = e["event"]
        if name in ("avenor.phase.start", "avenor.phase.end"):
            out.append((name.rsplit(".", 1)[1], e["phase"], e["iteration"]))
        elif name == "avenor.loop.start":
            out.append(("loop.start",))
        elif name == "avenor.loop.end":
            out.append(("loop.end", e["exit_reason"], e["iterations_completed"]))
    return out


def prompts_sent(f: FakeRun) -> list[str]:
    return ["".join(b.get("text", "") for b in m["params"]["prompt"])
            for m in f.requests("session/prompt")]


def loop_end(f: FakeRun) -> dict:
    ends = events_named(f.events(), "avenor.loop.end")
    assert len(ends) == 1, ends
    return ends[0]


def phase_end(f: FakeRun, name: str, iteration: int) -> dict:
    ends = [e for e in events_named(f.events(), "avenor.phase.end")
            if e["phase"] == name and e["iteration"] == iteration]
    assert len(ends) == 1, ends
    return ends[0]


def run_loop(f: FakeRun, config: dict, *extra: str, timeout: float = 60.0) -> int:
    return f.run("--loop-file", str(write_loop(f, config)), *extra, timeout=timeout)


# ---------------------------------------------------------------------------------------------
# How a loop ends
# ---------------------------------------------------------------------------------------------

def test_exit_marker_in_iteration_2_runs_post(fake):
    f = fake({"by_prompt": [when("P:review I:2", {"chunk": "all green\n[loop: exit | clean]\n"})],
              "turns": [[{"chunk": "working"}]]})
    config = {"max_iterations": 5, "pre": [phase("build")],
              "loop": [phase("test"), phase("review", resume_from_previous=True)],
              "post": [phase("wrap")]}
    assert run_loop(f, config) == 0, f.stderr()

    events = f.events()
    assert_log_well_formed(events, run_id=RUN_ID)
    assert loop_trace(events) == [
        ("loop.start",),
        ("start", "build", 0), ("end", "build", 0),
        ("start", "test", 1), ("end", "test", 1), ("start", "review", 1), ("end", "review", 1),
        ("start", "test", 2), ("end", "test", 2), ("start", "review", 2), ("end", "review", 2),
        ("start", "wrap", 0), ("end", "wrap", 0),
        ("loop.end", "marker", 1),
    ]
    start = events_named(events, "avenor.loop.start")[0]
    assert (start["max_iterations"], start["pre_phase_count"], start["loop_phase_count"],
            start["post_phase_count"]) == (5, 1, 2, 1)
    assert loop_end(f)["exit_label"] == "clean"
    review = phase_end(f, "review", 2)
    assert review["exit_marker"] is True and review["exit_marker_label"] == "clean"
    assert review["stop_reason"] == "end_turn" and review["session_id"] == SESSION
    assert "exit_marker" not in phase_end(f, "review", 1)
    assert prompts_sent(f) == ["P:build I:0", "P:test I:1", "P:review I:1", "P:test I:2",
                               "P:review I:2", "P:wrap I:0"]
    # review resumes the same iteration's test session; nothing else resumes.
    assert f.methods().count("session/resume") == 2, f.methods()
    assert f.files.sentinel_lines() == ["DONE", f"SESSION={SESSION}", "STOP_REASON=end_turn",
                                        f"RUN={RUN_ID}"]
    # The loop events come after the phase's own session.end.
    names = [e["event"] for e in events]
    assert names.index("session.end") < names.index("avenor.phase.end")


def test_workflow_angle_marker_ends_the_loop(fake):
    f = fake({"by_prompt": [when("P:check I:1", {"chunk": "done\n<|workflow: exit | angle|>\n"})]})
    assert run_loop(f, {"loop": [phase("check")]}) == 0, f.stderr()
    end = loop_end(f)
    assert (end["exit_reason"], end["exit_label"], end["iterations_completed"]) == ("marker", "angle", 0)


def test_abort_marker_blocks_without_post(fake):
    f = fake({"by_prompt": [when("P:test I:1", {"chunk": "cannot go on\n[loop: abort | tests need a database]\n"})]})
    config = {"loop": [phase("test"), phase("review")], "post": [phase("wrap")]}
    assert run_loop(f, config) == 5, f.stderr()
    assert loop_trace(f.events()) == [("loop.start",), ("start", "test", 1), ("end", "test", 1),
                                      ("loop.end", "abort", 0)]
    end = loop_end(f)
    assert end["exit_label"] == "tests need a database"
    test = phase_end(f, "test", 1)
    assert test["abort_marker"] is True and test["abort_marker_label"] == "tests need a database"
    assert f.files.sentinel_lines() == ["BLOCKED", f"SESSION={SESSION}", "STOP_REASON=blocked",
                                        "REASON=tests need a database", f"RUN={RUN_ID}"]


def test_abort_wins_over_exit_in_one_phase(fake):
    f = fake({"by_prompt": [when("P:test I:1", {"chunk": "[loop: exit | fine]\n[loop: abort | no]\n"})]})
    assert run_loop(f, {"loop": [phase("test")]}) == 5, f.stderr()
    test = phase_end(f, "test", 1)
    assert test["abort_marker"] is True and "exit_marker" not in test


def test_max_iterations_reached_runs_post(fake):
    f = fake({"turns": [[{"chunk": "[loop: continue]\n"}]]})
    config = {"max_iterations": 3, "loop": [phase("fix")], "post": [phase("wrap")]}
    assert run_loop(f, config) == 0, f.stderr()
    assert loop_trace(f.events())[-3:] == [("start", "wrap", 0), ("end", "wrap", 0),
                                           ("loop.end", "max_iterations", 3)]
    assert prompts_sent(f) == ["P:fix I:1", "P:fix I:2", "P:fix I:3", "P:wrap I:0"]
    assert "exit_label" not in loop_end(f)
    assert f.files.sentinel_lines()[0:3] == ["DONE", f"SESSION={SESSION}", "STOP_REASON=end_turn"]


def test_default_max_iterations_is_10(fake):
    f = fake({})
    assert run_loop(f, {"max_iterations": 0, "loop": [phase("fix")]}) == 0, f.stderr()
    assert events_named(f.events(), "avenor.loop.start")[0]["max_iterations"] == 10
    assert loop_end(f)["iterations_completed"] == 10
    assert len(prompts_sent(f)) == 10


def test_no_loop_phases_ends_with_end_turn(fake):
    f = fake({})
    assert run_loop(f, {"pre": [phase("one"), phase("two")], "post": [phase("three")]}) == 0
    assert loop_trace(f.events())[-1] == ("loop.end", "end_turn", 0)
    assert prompts_sent(f) == ["P:one I:0", "P:two I:0", "P:three I:0"]


def test_prompt_flag_becomes_the_initial_pre_phase(fake):
    f = fake({})
    loop = write_loop(f, {"pre": [phase("build")], "loop": [phase("fix")], "max_iterations": 1})
    assert f.run("--prompt", "set the scene for {{.Phase}}", "--loop-file", str(loop)) == 0, f.stderr()
    assert loop_trace(f.events())[1:3] == [("start", "(initial)", 0), ("end", "(initial)", 0)]
    assert prompts_sent(f)[:2] == ["set the scene for (initial)", "P:build I:0"]
    assert events_named(f.events(), "avenor.loop.start")[0]["pre_phase_count"] == 2


def test_prompt_file_flag_becomes_the_initial_pre_phase(fake):
    f = fake({})
    (f.tmp / "first.txt").write_text("from a file")
    loop = write_loop(f, {"loop": [phase("fix")], "max_iterations": 1})
    assert f.run("--prompt-file", str(f.tmp / "first.txt"), "--loop-file", str(loop)) == 0
    assert prompts_sent(f) == ["from a file", "P:fix I:1"]


# ---------------------------------------------------------------------------------------------
# Pre and post phases
# ---------------------------------------------------------------------------------------------

def test_exit_marker_in_pre_is_ignored(fake):
    f = fake({"by_prompt": [when("P:build", {"chunk": "[loop: exit | early]\n"})]})
    config = {"pre": [phase("build")], "loop": [phase("fix")], "max_iterations": 2}
    assert run_loop(f, config) == 0, f.stderr()
    assert loop_end(f)["exit_reason"] == "max_iterations"
    assert phase_end(f, "build", 0)["exit_marker"] is True  # recorded, not acted on


def test_abort_marker_in_pre_blocks(fake):
    f = fake({"by_prompt": [when("P:build", {"chunk": "[loop: abort | no toolchain]\n"})]})
    config = {"pre": [phase("build"), phase("more")], "loop": [phase("fix")]}
    assert run_loop(f, config) == 5, f.stderr()
    assert loop_trace(f.events()) == [("loop.start",), ("start", "build", 0), ("end", "build", 0),
                                      ("loop.end", "abort", 0)]
    assert "REASON=no toolchain" in f.files.sentinel_lines()


def test_pre_phases_resume_the_previous_pre_phase(fake):
    f = fake({})
    config = {"pre": [phase("a"), phase("b", resume_from_previous=True), phase("c")],
              "loop": [phase("x", resume_from_previous=True)], "max_iterations": 1}
    assert run_loop(f, config) == 0, f.stderr()
    resumes = f.requests("session/resume")
    assert len(resumes) == 1, f.methods()  # b only: c does not ask, x is the first loop phase
    assert resumes[0]["params"]["sessionId"] == SESSION


def test_failing_post_phase_is_a_phase_failure(fake):
    f = fake({"by_prompt": [when("P:wrap", {"end": {"stopReason": "max_tokens"}})]})
    config = {"loop": [phase("fix")], "post": [phase("wrap")], "max_iterations": 1}
    assert run_loop(f, config) == 3, f.stderr()
    assert loop_end(f)["exit_reason"] == "phase_failure"
    assert f.files.sentinel_lines()[0:4] == ["FAILED", f"SESSION={SESSION}", "STOP_REASON=max_tokens",
                                             "EXIT_CODE=3"]


# ---------------------------------------------------------------------------------------------
# Failing phases, retries
# ---------------------------------------------------------------------------------------------

def test_failing_loop_phase_ends_with_its_exit_code(fake):
    f = fake({"by_prompt": [when("P:review I:1", {"end": {"stopReason": "refusal"}})]})
    config = {"loop": [phase("test"), phase("review")], "post": [phase("wrap")]}
    assert run_loop(f, config) == 2, f.stderr()
    assert loop_trace(f.events())[-1] == ("loop.end", "phase_failure", 0)
    assert phase_end(f, "review", 1)["stop_reason"] == "refusal"
    assert f.files.sentinel_lines() == ["FAILED", f"SESSION={SESSION}", "STOP_REASON=refusal",
                                        "EXIT_CODE=2", f"RUN={RUN_ID}"]


def test_directive_is_checked_before_the_stop_reason(fake):
    f = fake({"by_prompt": [when("P:test I:1", {"chunk": "[loop: exit | good enough]\n"},
                                 {"end": {"stopReason": "refusal"}})]})
    assert run_loop(f, {"loop": [phase("test")]}) == 0, f.stderr()
    assert loop_end(f)["exit_reason"] == "marker"


def test_phase_retries_then_fails_once(fake):
    f = fake({"by_prompt": [when("P:test I:1", {"chunk": "[loop: abort | broken]\n"},
                                 {"exit": 1})]})
    assert run_loop(f, {"loop": [phase("test")]}, "--max-retries", "1") == 5, f.stderr()
    events = f.events()
    retries = events_named(events, "avenor.retry")
    assert [(r["attempt"], r["max_retries"]) for r in retries] == [(2, 1)]
    # phase.end is written once, after the retries, with the failed attempts' abort kept.
    assert loop_trace(events) == [("loop.start",), ("start", "test", 1), ("end", "test", 1),
                                  ("loop.end", "abort", 0)]
    names = [e["event"] for e in events]
    assert names.index("avenor.retry") < names.index("avenor.phase.end")
    assert f.methods().count("session/prompt") == 2
    assert "session/resume" in f.methods()  # the retry resumes the failed session


def test_crashing_phase_fails_the_loop_with_exit_1(fake):
    f = fake({"by_prompt": [when("P:test I:2", {"exit": 7})]})
    assert run_loop(f, {"loop": [phase("test")], "max_iterations": 3}) == 1, f.stderr()
    end = loop_end(f)
    assert (end["exit_reason"], end["iterations_completed"]) == ("phase_failure", 1)
    assert f.files.sentinel_lines()[0] == "FAILED"
    assert "EXIT_CODE=1" in f.files.sentinel_lines()


# ---------------------------------------------------------------------------------------------
# Markers in the stream
# ---------------------------------------------------------------------------------------------

def test_marker_split_across_two_chunks(fake):
    f = fake({"by_prompt": [when("P:test I:2", {"chunk": "finished.\n[loop: ex"},
                                 {"chunk": "it | split marker]\n"})]})
    assert run_loop(f, {"loop": [phase("test")]}) == 0, f.stderr()
    end = loop_end(f)
    assert (end["exit_reason"], end["exit_label"], end["iterations_completed"]) == \
        ("marker", "split marker", 1)


def test_marker_in_a_thought_chunk_counts(fake):
    f = fake({"by_prompt": [when("P:test I:1", {"thought": "[loop: exit | thought]\n"})]})
    assert run_loop(f, {"loop": [phase("test")]}) == 0, f.stderr()
    assert loop_end(f)["exit_label"] == "thought"


def test_marker_inside_a_code_fence_is_ignored(fake):
    f = fake({"turns": [[{"chunk": "Example:\n```\n[loop: exit | not me]\n```\n"},
                         {"chunk": "~~~\n[loop: abort | nor me]\n~~~\n"}]]})
    assert run_loop(f, {"loop": [phase("test")], "max_iterations": 2}) == 0, f.stderr()
    end = loop_end(f)
    assert (end["exit_reason"], end["iterations_completed"]) == ("max_iterations", 2)
    assert "exit_marker" not in phase_end(f, "test", 1)


def test_inline_marker_is_not_a_directive(fake):
    f = fake({"turns": [[{"chunk": "I would write [loop: exit] when done.\n"}]]})
    assert run_loop(f, {"loop": [phase("test")], "max_iterations": 1}) == 0
    assert loop_end(f)["exit_reason"] == "max_iterations"


# ---------------------------------------------------------------------------------------------
# Timeouts and signals
# ---------------------------------------------------------------------------------------------

def test_timeout_inside_a_phase(fake):
    f = fake({"by_prompt": [when("P:test I:2", {"chunk": "slow"}, {"sleep_ms": 60000})]})
    assert run_loop(f, {"loop": [phase("test")]}, "--timeout", "3s", timeout=60) == 124, f.stderr()
    end = loop_end(f)
    assert (end["exit_reason"], end["iterations_completed"]) == ("timeout", 1)
    assert phase_end(f, "test", 2)["stop_reason"] == "timeout"
    assert f.files.sentinel_lines() == ["TIMEOUT", f"SESSION={SESSION}", "STOP_REASON=timeout",
                                        f"RUN={RUN_ID}"]


def test_progress_timeout_is_a_phase_failure(fake):
    f = fake({"by_prompt": [when("P:test I:1", {"sleep_ms": 60000})]})
    config = {"loop": [phase("test")], "post": [phase("wrap")]}
    assert run_loop(f, config, "--progress-timeout", "1s", timeout=60) == 124, f.stderr()
    assert loop_end(f)["exit_reason"] == "phase_failure"
    assert f.files.sentinel_lines()[0:3] == ["TIMEOUT", f"SESSION={SESSION}",
                                             "STOP_REASON=progress_timeout"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_mid_loop(fake, sig):
    f = fake({"by_prompt": [when("P:test I:2", {"chunk": "busy"}, {"sleep_ms": 60000})]})
    config = {"loop": [phase("test")], "post": [phase("wrap")]}
    run = f.start("--loop-file", str(write_loop(f, config)))
    run.wait_for_event(lambda e: e.get("event") == "agent.message_chunk"
                       and e.get("content", {}).get("text") == "busy", timeout=30)
    run.signal(sig)
    assert run.wait(30) == 130, f.stderr()
    end = loop_end(f)
    assert (end["exit_reason"], end["iterations_completed"]) == ("cancelled", 1)
    assert phase_end(f, "test", 2)["stop_reason"] == "cancelled"
    assert not [e for e in events_named(f.events(), "avenor.phase.start") if e["phase"] == "wrap"]
    assert f.files.sentinel_lines() == ["KILLED", f"SESSION={SESSION}", "STOP_REASON=cancelled",
                                        "EXIT_CODE=130", f"RUN={RUN_ID}"]


# ---------------------------------------------------------------------------------------------
# Templates and nested loops
# ---------------------------------------------------------------------------------------------

def git(work: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(work), *args], check=True, capture_output=True,
                          text=True).stdout


def test_template_variables_from_a_git_work_dir(fake):
    f = fake({})
    work = f.work
    git(work, "init", "-q")
    git(work, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-q",
        "--allow-empty", "-m", "start")
    (work / "a.txt").write_text("one\n")
    git(work, "add", "a.txt")
    git(work, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-q", "-m", "a")
    (work / "a.txt").write_text("one\ntwo\n")  # uncommitted: the diff since HEAD
    head = git(work, "rev-parse", "HEAD").strip()
    stat = git(work, "diff", "--stat", head).rstrip("\n")
    template = ("run={{.RunID}} phase={{.Phase}} it={{.Iteration}}/{{.MaxIterations}} "
                "dir={{.WorkDir}} prev={{.PrevPhaseCommit}}\n"
                "{{if .ChangedFiles}}changed:{{.ChangedFiles}}\nstat:{{.DiffStat}}{{else}}clean{{end}}"
                "[{{.TeamOutput}}{{.TeamFinalOutput}}]")
    config = {"max_iterations": 2, "loop": [{"name": "look", "prompt": template}]}
    assert run_loop(f, config, "--dir", str(work)) == 0, f.stderr()
    expected = (f"run={RUN_ID} phase=look it=1/2 dir={work} prev={head}\n"
                f"changed:a.txt\nstat:{stat}[]")
    prompts = prompts_sent(f)
    assert prompts[0] == expected
    assert prompts[1] == expected.replace("it=1/2", "it=2/2")


def test_template_variables_outside_git_are_empty(fake):
    f = fake({})
    template = "prev=[{{.PrevPhaseCommit}}] {{if .DiffStat}}dirty{{else}}clean{{end}}"
    assert run_loop(f, {"pre": [{"name": "p", "prompt": template}]}) == 0, f.stderr()
    assert prompts_sent(f) == ["prev=[] clean"]


def test_nested_loop_file_abort_blocks_the_outer_loop(fake):
    f = fake({"by_prompt": [when("P:inner-fix I:2", {"chunk": "[loop: abort | inner gave up]\n"})]})
    write_loop(f, {"loop": [phase("inner-fix")], "max_iterations": 3}, name="inner.json")
    config = {"loop": [phase("outer"), {"name": "nested", "loop_file": "inner.json"}],
              "post": [phase("wrap")]}
    assert run_loop(f, config) == 5, f.stderr()
    assert loop_trace(f.events()) == [
        ("loop.start",), ("start", "outer", 1), ("end", "outer", 1),
        ("start", "nested", 1),
        ("loop.start",), ("start", "inner-fix", 1), ("end", "inner-fix", 1),
        ("start", "inner-fix", 2), ("end", "inner-fix", 2), ("loop.end", "abort", 1),
        ("end", "nested", 1),
        ("loop.end", "abort", 0),
    ]
    nested = phase_end(f, "nested", 1)
    assert nested["stop_reason"] == "blocked" and nested["abort_marker_label"] == "inner gave up"
    assert "REASON=inner gave up" in f.files.sentinel_lines()
    assert all(e["run_id"] == RUN_ID for e in f.events())


def test_nested_loop_file_clean_end_continues_the_outer_loop(fake):
    f = fake({"by_prompt": [when("P:inner-fix I:1", {"chunk": "[loop: exit | inner done]\n"})]})
    (f.tmp / "sub").mkdir()
    write_loop(f, {"loop": [phase("inner-fix")]}, name="sub/inner.json")
    config = {"max_iterations": 2, "loop": [{"name": "nested", "loop_file": "sub/inner.json"}]}
    assert run_loop(f, config) == 0, f.stderr()
    ends = events_named(f.events(), "avenor.loop.end")
    assert [(e["exit_reason"], e["iterations_completed"]) for e in ends] == \
        [("marker", 0), ("marker", 0), ("max_iterations", 2)]
    # The inner loop's exit marker is its own: the outer loop ran both iterations.
    assert "exit_marker" not in phase_end(f, "nested", 1)


def test_control_cancel_mid_loop(fake, avenor):
    f = fake({"by_prompt": [when("P:review I:1", {"chunk": "busy"}, {"sleep_ms": 60000})]})
    sock = f.tmp / "ctl.sock"
    config = {"loop": [phase("test"), phase("review")]}
    run = f.start("--loop-file", str(write_loop(f, config)), "--control-socket", str(sock))
    run.wait_for_event(lambda e: e.get("event") == "agent.message_chunk"
                       and e.get("content", {}).get("text") == "busy", timeout=30)
    status = subprocess.run([avenor, "control", "--socket", str(sock), "status"],
                            capture_output=True, text=True, timeout=30)
    assert status.returncode == 0, status.stderr
    cancel = subprocess.run([avenor, "control", "--socket", str(sock), "cancel"],
                            capture_output=True, text=True, timeout=30)
    assert cancel.returncode == 0, cancel.stderr
    assert run.wait(30) == 130, f.stderr()
    end = loop_end(f)
    assert (end["exit_reason"], end["iterations_completed"]) == ("cancelled", 0)
    assert phase_end(f, "review", 1)["stop_reason"] == "cancelled"
    assert f.files.sentinel_lines()[0] == "KILLED"


# ---------------------------------------------------------------------------------------------
# Config errors through `avenor run` (each message's full table: test_verify_cli.py)
# ---------------------------------------------------------------------------------------------

BAD_CONFIGS = [
    ({}, "loop config: at least one of pre or loop must be non-empty"),
    ({"max_iterations": -1, "loop": [phase("a")]},
     "loop config: max_iterations must be >= 1 when loop phases are present"),
    ({"loop": [{"prompt": "x"}]}, "loop config: loop phase[index 0]: name must not be empty"),
    ({"loop": [{"name": "a"}]},
     "loop config: phase[name a]: prompt must not be empty (set prompt, prompt_file, or loop_file)"),
    ({"loop": [phase("a"), phase("a")]}, 'loop config: duplicate phase name: "a"'),
    ({"loop": [phase("a", model="x/y")]},
     "loop config: phase[name a]: model is not supported in loop configs"),
    ({"loop": [phase("a")], "extra": 1}, 'loop config: unknown field "extra"'),
    ({"loop": [{"name": "a", "prompt": "{{.Itration}}"}]},
     "loop config: phase[name a]: prompt: template: line 1: unknown field .Itration"),
    ({"loop": [{"name": "a", "loop_file": "loop.json"}]}, "nested loop_file cycle"),
]


@pytest.mark.parametrize("config,message", BAD_CONFIGS,
                         ids=[m.split(": ")[-1][:40] for _, m in BAD_CONFIGS])
def test_bad_config_fails_before_anything_runs(fake, config, message):
    f = fake({})
    assert run_loop(f, config) == 1
    line = f.stderr().splitlines()[0]
    assert line.startswith("avenor: load loop config: loop config: ") and message in line, f.stderr()
    assert f.files.sentinel_lines() == ["FAILED", "SESSION=", "STOP_REASON=error", "EXIT_CODE=1",
                                        f"RUN={RUN_ID}"]
    assert f.agent_pids() == [], "an agent was started for a bad loop file"
    # (new) no loop ran, so the log ends with a plain session.end carrying the error
    events = f.events()
    assert [(e["event"], e["stop_reason"], e["exit_code"]) for e in events] == [
        ("session.end", "error", 1)]
    assert f"avenor: {events[0]['error']}" == line


def test_missing_loop_file(fake):
    f = fake({})
    assert f.run("--loop-file", str(f.tmp / "nope.yaml")) == 1
    assert f.stderr().startswith("avenor: load loop config: loop config: read "), f.stderr()
    assert "No such file or directory" in f.stderr()
    assert "STOP_REASON=error" in f.files.sentinel_lines()


def test_yaml_and_toml_loop_files_run(fake):
    f = fake({"by_prompt": [when("P:check I:2", {"chunk": "[loop: exit]\n"})]})
    (f.tmp / "loop.yaml").write_text(
        "max_iterations: 3\nloop:\n  - name: check\n    prompt: 'P:{{.Phase}} I:{{.Iteration}}'\n")
    assert f.run("--loop-file", str(f.tmp / "loop.yaml")) == 0, f.stderr()
    assert prompts_sent(f) == ["P:check I:1", "P:check I:2"]
    (f.tmp / "loop.toml").write_text(
        "max_iterations = 3\n[[loop]]\nname = \"check\"\nprompt = \"P:{{.Phase}} I:{{.Iteration}}\"\n")
    f.record.write_text("")
    assert f.run("--loop-file", str(f.tmp / "loop.toml")) == 0, f.stderr()
    assert prompts_sent(f) == ["P:check I:1", "P:check I:2"]


def test_prompt_file_is_relative_to_the_config(fake):
    f = fake({})
    (f.tmp / "cfg" / "prompts").mkdir(parents=True)
    (f.tmp / "cfg" / "prompts" / "fix.md").write_text("fix it, round {{.Iteration}}\n")
    (f.tmp / "cfg" / "loop.json").write_text(json.dumps(
        {"max_iterations": 1, "loop": [{"name": "fix", "prompt_file": "prompts/fix.md"}]}))
    assert f.run("--loop-file", str(f.tmp / "cfg" / "loop.json")) == 0, f.stderr()
    assert prompts_sent(f) == ["fix it, round 1\n"]


def git_logging_wrapper(f: FakeRun) -> Path:
    """A `git` first on PATH that logs its arguments, then runs the real git."""
    real = shutil.which("git")
    calls = f.tmp / "git-calls"
    wrapper = f.bin / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    return calls


def test_git_runs_only_for_the_fields_prompts_show(fake):
    f = fake({})
    calls = git_logging_wrapper(f)
    git(f.work, "init", "-q")
    assert run_loop(f, {"loop": [phase("a")], "max_iterations": 2}, "--dir", str(f.work)) == 0
    assert not calls.exists(), calls.read_text()  # no prompt shows a git field: no git at all

    config = {"max_iterations": 2, "loop": [{"name": "a", "prompt": "at {{.PrevPhaseCommit}}"}]}
    assert run_loop(f, config, "--dir", str(f.work)) == 0
    lines = calls.read_text().splitlines()
    assert lines and all(line.endswith("rev-parse HEAD") for line in lines), lines
    assert len(lines) == 3  # at the start and after each phase
