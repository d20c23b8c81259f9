"""A loop (`avenor run --loop-file`) against the real `opencode acp` (npm opencode-ai), pointed
at the scripted model server on 127.0.0.1: a pre phase that commits to the work dir's git, then
a loop phase whose prompt carries the new commit and ends the loop with a marker in iteration 2."""

from __future__ import annotations

import json
import subprocess

import pytest

import peers
from avenor_cli import AvenorProcess, RunFiles, assert_log_well_formed, events_named, standard_run_args

COMMIT = ("printf 'built\\n' >> README && "
          "git -c user.email=loop@example.invalid -c user.name=loop commit -qam built")


@pytest.fixture
def opencode():
    return peers.require_peer("opencode")


def git(project, *args: str) -> str:
    return subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_loop_exits_on_marker_in_iteration_2(avenor, opencode, tmp_path, model_server):
    server = model_server({"steps": [
        {"tool_call": {"command": COMMIT}}, {"reply": "BUILT"},                  # pre: build
        {"reply": "not yet"},                                                    # check, 1
        {"reply_chunks": ["all good\n[loop: ex", "it | verified]\n"]},           # check, 2
    ]})
    env = peers.opencode_env(tmp_path, server)
    project = env.project
    (project / "README").write_text("start\n")
    git(project, "add", "README")
    git(project, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "start")
    first_head = git(project, "rev-parse", "HEAD")

    loop = tmp_path / "loop.yaml"
    loop.write_text(json.dumps({
        "max_iterations": 4,
        "pre": [{"name": "build", "prompt": "BUILD-PHASE at {{.PrevPhaseCommit}}"}],
        "loop": [{"name": "check",
                  "prompt": "CHECK-{{.Iteration}} of {{.MaxIterations}} since {{.PrevPhaseCommit}}"}],
    }))
    files = RunFiles(tmp_path / "run")
    args = standard_run_args(files, "--backend", "opencode-acp", "--dir", str(project),
                             "--run-id", "run-loop-oc", "--auto-approve", "--loop-file", str(loop))
    run = AvenorProcess(avenor, args, env.env, files)
    assert run.wait(240) == 0, files.stderr_text()

    events = files.read_events()
    assert_log_well_formed(events, run_id="run-loop-oc")
    end = events_named(events, "avenor.loop.end")
    assert [(e["exit_reason"], e.get("exit_label"), e["iterations_completed"]) for e in end] == \
        [("marker", "verified", 1)]
    phases = [(e["phase"], e["iteration"], e["stop_reason"])
              for e in events_named(events, "avenor.phase.end")]
    assert phases == [("build", 0, "end_turn"), ("check", 1, "end_turn"), ("check", 2, "end_turn")]
    sessions = [e["session_id"] for e in events_named(events, "avenor.phase.end")]
    assert all(s.startswith("ses_") for s in sessions) and len(set(sessions)) == 3

    # The build phase's commit is what the loop phases saw as the previous phase's commit.
    second_head = git(project, "rev-parse", "HEAD")
    assert second_head != first_head
    bodies = [json.dumps(r.get("body")) for r in server.requests(kind="main")]
    assert any(f"BUILD-PHASE at {first_head}" in b for b in bodies)
    assert any(f"CHECK-1 of 4 since {second_head}" in b for b in bodies)
    assert any(f"CHECK-2 of 4 since {second_head}" in b for b in bodies)
    assert events_named(events, "tool.call"), "the build phase's command never ran as a tool call"
    assert files.sentinel_lines() == ["DONE", f"SESSION={sessions[-1]}", "STOP_REASON=end_turn",
                                      "RUN=run-loop-oc"]
