"""`avenor run --backend claude` against the real Claude Code (`claude -p --input-format
stream-json --output-format stream-json`, npm @anthropic-ai/claude-code 2.1.197), isolated by
tests/e2e/peer_claude.py and pointed at the scripted Anthropic model on 127.0.0.1.

Every test here drives the real CLI except those at the end (`*_scripted`), which use the scripted
peer tests/e2e/fake_claude_stream.py for what the real CLI cannot be made to show (see their
docstrings). A Bash command that writes a file needs claude's permission (a read-only one like
`printf` is allowed by claude itself), so the permission tests use `touch`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import peers
from avenor_cli import (AvenorProcess, RunFiles, assert_log_well_formed, events_named,
                        standard_run_args)
from control_rpc import ControlClient, wait_for_socket, wait_until
from peer_claude import MODEL, claude_env

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TOOL_FILE = "made-by-tool.txt"
TOOL_COMMAND = f"touch {TOOL_FILE} && echo TOOL-MARKER-$((6*7))"  # the marker only in the output
EFFORT_MODEL = "claude-opus-4-5"  # claude sends output_config.effort only for such models
OTHER_MODEL = "claude-fake-model-2"  # not an alias claude would rewrite (opus-4-1 → opus-4-8)


@pytest.fixture
def claude():
    return peers.require_peer("claude")


def start_run(avenor, tmp_path, server, *extra, env=None, files=None, run_id="run-claude-1"):
    """avenor run --backend claude in an isolated claude environment; (process, files, env)."""
    env = env or claude_env(tmp_path, server)
    files = files or RunFiles(tmp_path / "run")
    args = standard_run_args(files, "--backend", "claude", "--dir", str(env.project),
                             "--run-id", run_id, *extra)
    if "--model" not in extra:
        args += ["--model", MODEL]
    return AvenorProcess(avenor, args, dict(env.env), files), files, env


def main_bodies(server) -> list[dict]:
    return [r["body"] for r in server.requests(kind="main")]


def tool_output_reached_model(server) -> bool:
    return any("TOOL-MARKER-42" in json.dumps(b["messages"]) for b in main_bodies(server))


def first_model_request(server):
    wait_until(lambda: server.requests(kind="main"), timeout=90, what="claude's model request")


# --- listing -------------------------------------------------------------------------------------

def test_doctor_and_plugins_list_claude(avenor, claude, tmp_path, model_server):
    env = claude_env(tmp_path, model_server({"steps": []})).env
    env["AVENOR_PLUGIN_DIR"] = os.environ.get("AVENOR_PLUGIN_DIR", "")
    r = subprocess.run([avenor, "doctor", "--backend", "claude"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    checks = r.stdout.splitlines()[:-1]
    assert checks and all(line.startswith("ok claude: ") for line in checks), r.stdout
    assert any("2.1.197 (Claude Code)" in line for line in checks), r.stdout
    r = subprocess.run([avenor, "plugins"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    [row] = [x for x in rows if x[0] == "claude"]
    assert row[3].endswith("/claude.so") and row[4] == f"cli={claude}", row


# --- turns ---------------------------------------------------------------------------------------

def test_text_turn_streams_deltas(avenor, claude, tmp_path, model_server):
    server = model_server({"model": MODEL,
                           "steps": [{"reply_chunks": ["CLAUDE-FAKE-", "REPLY-789"]}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "Reply with the word.")
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    assert_log_well_formed(events, run_id="run-claude-1")
    chunks = events_named(events, "agent.message_chunk")
    assert [c["delta"] for c in chunks] == ["CLAUDE-FAKE-", "REPLY-789"], \
        "the stream_event deltas, not repeated by the whole assistant message"
    assert all(c["content"] == {"type": "text", "text": c["delta"]} for c in chunks)
    end = events_named(events, "session.end")
    assert len(end) == 1 and end[0]["stop_reason"] == "end_turn"
    assert end[0]["final_output"] == "CLAUDE-FAKE-REPLY-789"
    assert end[0]["usage"]["total_tokens"] > 0 and end[0]["usage"]["output_tokens"] > 0
    assert end[0]["total_cost_usd"] > 0 and end[0]["num_turns"] == 1
    session = end[0]["session_id"]
    assert UUID_RE.match(session), f"a new session gets a v4 UUID: {session!r}"
    init = events_named(events, "avenor.system.init")
    assert len(init) == 1 and init[0]["claude_code_version"] == "2.1.197"
    assert init[0]["model"] == MODEL
    assert all(e.get("session_id") == session for e in events
               if e["event"].startswith(("session.", "agent.", "avenor.system")))
    assert files.sentinel_lines() == ["DONE", f"SESSION={session}", "STOP_REASON=end_turn",
                                      "RUN=run-claude-1"]
    assert [b["model"] for b in main_bodies(server)] == [MODEL]


def test_thinking_block_streams_thought_chunks(avenor, claude, tmp_path, model_server):
    """A thinking block before the text (model server step "reasoning"): its thinking_delta
    stream_events become agent.thought_chunk, kept out of final_output."""
    server = model_server({"model": MODEL, "steps": [{"reasoning": "PONDERING-DEEPLY",
                                                      "reply": "THOUGHT-THEN-SAID"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "think first")
    assert run.wait(120) == 0, files.stderr_text()
    events = files.read_events()
    thoughts = events_named(events, "agent.thought_chunk")
    assert "".join(t["delta"] for t in thoughts) == "PONDERING-DEEPLY"
    assert len(thoughts) == 2, "the two streamed deltas, not repeated by the assistant message"
    [end] = events_named(events, "session.end")
    assert end["final_output"] == "THOUGHT-THEN-SAID"


def test_tool_call_auto_approved(avenor, claude, tmp_path, model_server):
    server = model_server({"model": MODEL, "steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                                     {"reply": "AFTER-ALLOW"}]})
    run, files, env = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL",
                                "--auto-approve")
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    [req] = events_named(events, "permission.request")
    assert req["resolver"] == "automatic" and req["tool"] == "Bash"
    assert req["command"] == TOOL_COMMAND
    assert req["toolCall"]["kind"] == "execute" and req["toolCall"]["title"] == TOOL_COMMAND
    assert req["toolCall"]["rawInput"] == {"command": TOOL_COMMAND}
    assert [o["optionId"] for o in req["options"]] == ["allow", "reject"]
    [resp] = events_named(events, "permission.response")
    assert (resp["source"], resp["kind"]) == ("avenor", "allow")
    [call] = events_named(events, "tool.call")
    assert call["toolCallId"] == req["toolCall"]["toolCallId"]
    assert (call["kind"], call["status"], call["tool"]) == ("execute", "pending", "Bash")
    assert call["rawInput"] == {"command": TOOL_COMMAND}
    [update] = events_named(events, "tool.call_update")
    assert update["toolCallId"] == call["toolCallId"] and update["status"] == "completed"
    assert "TOOL-MARKER-42" in json.dumps(update["content"])
    assert (env.project / TOOL_FILE).exists(), "the tool ran"
    assert tool_output_reached_model(server)
    # the input came back unchanged (updatedInput): the model saw the command it asked for
    assert events_named(events, "session.end")[0]["final_output"] == "AFTER-ALLOW"


def test_tool_call_rejected_over_control_socket(avenor, claude, tmp_path, model_server):
    server = model_server({"model": MODEL, "steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                                     {"reply": "AFTER-REJECT"}]})
    sock = tmp_path / "ctl.sock"
    run, files, env = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL",
                                "--control-socket", str(sock))
    wait_for_socket(sock, run.proc, timeout=60)
    with ControlClient(sock) as c:
        c.subscribe()
        req = c.wait_event(lambda e: e["event"] == "permission.request", timeout=90)
        assert req["resolver"] == "reserved"
        assert c.call_ok("answer_permission", {"request_id": req["request_id"],
                                               "option_id": "reject"}) == {"accepted": True}
        c.read_until_closed(90)
    assert run.wait(60) == 0, files.stderr_text()
    events = files.read_events()
    [resp] = events_named(events, "permission.response")
    assert resp["kind"] == "reject" and resp["source"] == "control"
    [update] = events_named(events, "tool.call_update")
    assert update["status"] == "failed"
    assert not (env.project / TOOL_FILE).exists()
    assert not tool_output_reached_model(server)
    assert events_named(events, "session.end")[0]["final_output"] == "AFTER-REJECT"


@pytest.mark.parametrize("option", ["allow", "reject"])
def test_tool_call_answered_by_file(avenor, claude, tmp_path, model_server, option):
    """The sentinel-derived file handler (<sentinel>.perm) answered by `avenor answer`."""
    server = model_server({"model": MODEL, "steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                                     {"reply": "AFTER-ANSWER"}]})
    run, files, env = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL")
    request_file = files.root / "run.perm.req"
    run.wait_for_file(request_file, timeout=90)
    doc = json.loads(request_file.read_text())
    assert doc["tool"] == "Bash"
    assert [o["optionId"] for o in doc["options"]] == ["allow", "reject"]
    answer = subprocess.run([avenor, "answer", "--option", option, str(files.perm_base)],
                            capture_output=True, text=True, timeout=30)
    assert answer.returncode == 0, answer.stderr
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    assert events_named(events, "permission.request")[0]["resolver"] == "file"
    [resp] = events_named(events, "permission.response")
    assert (resp["source"], resp["option_id"]) == ("file", option)
    assert (env.project / TOOL_FILE).exists() == (option == "allow")
    assert tool_output_reached_model(server) == (option == "allow")
    assert files.sentinel_lines()[0] == "DONE"


# --- cancel, timeout, failure --------------------------------------------------------------------

def assert_cancelled(files) -> None:
    """claude's own result after avenor's interrupt ends the turn: one session.end, cancelled."""
    events = files.read_events()
    ends = events_named(events, "session.end")
    assert [e["stop_reason"] for e in ends] == ["cancelled"], ends
    assert "usage" in ends[0], "the backend's session.end (claude's result), not avenor's"
    assert not [e for e in events_named(events, "avenor.error") if e["source"] == "cancel"]
    lines = files.sentinel_lines()
    assert lines[0] == "KILLED" and "STOP_REASON=cancelled" in lines and "EXIT_CODE=130" in lines


def test_sigterm_interrupts_the_turn(avenor, claude, tmp_path, model_server):
    server = model_server({"model": MODEL, "steps": [{"hang": True}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hang please")
    first_model_request(server)
    run.signal(signal.SIGTERM)
    assert run.wait(60) == 130, files.stderr_text()
    assert_cancelled(files)


def test_control_cancel_interrupts_the_turn(avenor, claude, tmp_path, model_server):
    server = model_server({"model": MODEL, "steps": [{"hang": True}]})
    sock = tmp_path / "ctl.sock"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hang please",
                              "--control-socket", str(sock))
    wait_for_socket(sock, run.proc, timeout=60)
    first_model_request(server)
    with ControlClient(sock) as c:
        assert c.call_ok("cancel") == {"ok": True}
    assert run.wait(60) == 130, files.stderr_text()
    assert_cancelled(files)


def test_sigterm_while_a_permission_is_pending(avenor, claude, tmp_path, model_server):
    server = model_server({"model": MODEL, "steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                                     {"reply": "never"}]})
    run, files, env = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL")
    request_file = files.root / "run.perm.req"
    run.wait_for_file(request_file, timeout=90)
    run.signal(signal.SIGTERM)
    assert run.wait(60) == 130, files.stderr_text()
    assert [e["stop_reason"] for e in events_named(files.read_events(), "session.end")] == \
        ["cancelled"]
    assert not request_file.exists()
    assert not (env.project / TOOL_FILE).exists()
    assert len(server.requests(kind="main")) == 1


def test_timeout(avenor, claude, tmp_path, model_server):
    server = model_server({"model": MODEL, "steps": [{"hang": True}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hang please",
                              "--timeout", "8s")
    assert run.wait(90) == 124, files.stderr_text()
    lines = files.sentinel_lines()
    assert lines[0] == "TIMEOUT" and "STOP_REASON=timeout" in lines
    # The timeout cancels the turn: claude's own result (cancelled, with usage) is the log's one
    # session.end, and avenor writes no second one; exit code and sentinel say timeout.
    ends = events_named(files.read_events(), "session.end")
    assert [e["stop_reason"] for e in ends] == ["cancelled"] and "usage" in ends[0], ends


def test_model_error_fails_the_run(avenor, claude, tmp_path, model_server):
    server = model_server({"model": MODEL, "steps": [{"error": 500, "message": "injected failure",
                                                      "repeat": True}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "fail please")
    assert run.wait(120) == 1, files.stderr_text()
    events = files.read_events()
    [end] = events_named(events, "session.end")
    assert end["stop_reason"] == "error"
    assert "API Error: 500 injected failure" in end["error_message"]
    [error] = events_named(events, "avenor.error")
    assert error["source"] == "prompt" and error["message"] == end["error_message"]
    assert files.sentinel_lines()[0] == "FAILED"
    assert len(server.requests(kind="main")) == 1, "CLAUDE_CODE_MAX_RETRIES=0: no retry"


# --- model, thinking -----------------------------------------------------------------------------

def test_model_flag_reaches_the_request(avenor, claude, tmp_path, model_server):
    server = model_server({"model": OTHER_MODEL, "steps": [{"reply": "MODEL-OK"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--model", OTHER_MODEL)
    assert run.wait(120) == 0, files.stderr_text()
    assert [b["model"] for b in main_bodies(server)] == [OTHER_MODEL]


def test_agent_flag_selects_a_claude_agent(avenor, claude, tmp_path, model_server):
    """--agent → claude's --agent: the project's .claude/agents/reviewer.md becomes the system
    prompt of the request."""
    server = model_server({"model": MODEL, "steps": [{"reply": "AGENT-OK"}]})
    env = claude_env(tmp_path, server)
    agents = env.project / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "reviewer.md").write_text("---\nname: reviewer\ndescription: Reviews code\n---\n"
                                        "You are REVIEWER-AGENT-MARKER.\n")
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--agent", "reviewer",
                              env=env)
    assert run.wait(120) == 0, files.stderr_text()
    assert "REVIEWER-AGENT-MARKER" in json.dumps(main_bodies(server)[0]["system"])


@pytest.mark.parametrize("level,effort", [("low", "low"), ("medium", "medium")])
def test_thinking_sets_the_effort(avenor, claude, tmp_path, model_server, level, effort):
    server = model_server({"model": EFFORT_MODEL, "steps": [{"reply": "THOUGHT-OK"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--model", EFFORT_MODEL,
                              "--thinking", level)
    assert run.wait(120) == 0, files.stderr_text()
    assert [b.get("output_config", {}).get("effort") for b in main_bodies(server)] == [effort]


def test_no_thinking_leaves_claudes_default_effort(avenor, claude, tmp_path, model_server):
    """Without --thinking no --effort is passed: claude 2.1.197 then sends its default, high."""
    server = model_server({"model": EFFORT_MODEL, "steps": [{"reply": "PLAIN"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--model", EFFORT_MODEL)
    assert run.wait(120) == 0, files.stderr_text()
    assert main_bodies(server)[0]["output_config"]["effort"] == "high"


@pytest.mark.parametrize("level", ["off", "minimal"])
def test_unsupported_thinking_is_rejected_before_start(avenor, claude, tmp_path, model_server,
                                                       level):
    server = model_server({"model": MODEL, "steps": [{"reply": "never"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--thinking", level)
    assert run.wait(60) == 1
    assert 'avenor: backend "claude" does not support parameter "thinking"' in \
        files.stderr_text()
    assert server.requests(kind="main") == []


# --- resume, follow-ups ---------------------------------------------------------------------------

def test_resume_in_a_new_process(avenor, claude, tmp_path, model_server):
    server = model_server({"model": MODEL, "steps": [{"reply": "FIRST-TURN-REPLY"},
                                                     {"reply": "SECOND-TURN-REPLY"}]})
    env = claude_env(tmp_path, server)
    first, files1, _ = start_run(avenor, tmp_path, server, "--prompt", "FIRST-PROMPT", env=env,
                                 files=RunFiles(tmp_path / "run1"))
    assert first.wait(120) == 0, files1.stderr_text()
    session = events_named(files1.read_events(), "session.end")[0]["session_id"]

    # the new process gets the thinking level of the resume (claude's output_config.effort)
    second, files2, _ = start_run(avenor, tmp_path, server, "--prompt", "SECOND-PROMPT",
                                  "--resume", session, "--model", EFFORT_MODEL, "--thinking", "low",
                                  env=env, files=RunFiles(tmp_path / "run2"),
                                  run_id="run-claude-2")
    assert second.wait(120) == 0, files2.stderr_text()
    ends = events_named(files2.read_events(), "session.end")
    assert [(e["session_id"], e["final_output"]) for e in ends] == [(session, "SECOND-TURN-REPLY")]
    assert f"SESSION={session}" in files2.sentinel_lines()
    last = json.dumps(main_bodies(server)[-1]["messages"])
    assert "FIRST-PROMPT" in last and "FIRST-TURN-REPLY" in last and "SECOND-PROMPT" in last
    assert main_bodies(server)[-1]["output_config"]["effort"] == "low"


def test_resume_of_an_unknown_session_fails(avenor, claude, tmp_path, model_server):
    server = model_server({"model": MODEL, "steps": [{"reply": "never"}]})
    missing = "0badc0de-0000-4000-8000-000000000000"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--resume", missing)
    assert run.wait(120) == 1
    assert f"avenor: start session: claude: start: claude exited: process exited with status 1: " \
        f"No conversation found with session ID: {missing}" in files.stderr_text()
    assert files.sentinel_lines()[0] == "FAILED"
    assert server.requests(kind="main") == []


def test_queued_prompt_runs_as_a_second_turn(avenor, claude, tmp_path, model_server):
    """A control `prompt` queued while the first turn waits on a permission runs as a second turn
    in the same claude process and session: the model sees the first exchange with it."""
    server = model_server({"model": MODEL, "steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                                     {"reply": "FIRST-DONE"},
                                                     {"reply": "SECOND-DONE"}]})
    sock = tmp_path / "ctl.sock"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "FIRST-PROMPT",
                              "--control-socket", str(sock))
    wait_for_socket(sock, run.proc, timeout=60)
    with ControlClient(sock) as c:
        c.subscribe()
        req = c.wait_event(lambda e: e["event"] == "permission.request", timeout=90)
        assert c.call_ok("prompt", {"text": "SECOND-PROMPT"}) == {"accepted": True}
        assert c.call_ok("answer_permission", {"request_id": req["request_id"],
                                               "option_id": "allow"}) == {"accepted": True}
        c.read_until_closed(90)
    assert run.wait(60) == 0, files.stderr_text()
    ends = events_named(files.read_events(), "session.end")
    assert [e["final_output"] for e in ends] == ["FIRST-DONE", "SECOND-DONE"]
    assert ends[0]["session_id"] == ends[1]["session_id"]
    last = json.dumps(main_bodies(server)[-1]["messages"])
    assert "FIRST-PROMPT" in last and "SECOND-PROMPT" in last and "FIRST-DONE" in last
    assert tool_output_reached_model(server)


def test_interrupt_and_prompt_redirects_a_stuck_turn(avenor, claude, tmp_path, model_server):
    server = model_server({"model": MODEL, "steps": [{"hang": True}, {"reply": "REDIRECTED-OK"}]})
    sock = tmp_path / "ctl.sock"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hang please",
                              "--control-socket", str(sock))
    wait_for_socket(sock, run.proc, timeout=60)
    first_model_request(server)
    with ControlClient(sock) as c:
        assert c.call_ok("interrupt_and_prompt", {"text": "Stop. Say redirected."}) == \
            {"accepted": True}
        c.read_until_closed(90)
    assert run.wait(60) == 0, files.stderr_text()
    ends = events_named(files.read_events(), "session.end")
    assert [e["stop_reason"] for e in ends] == ["cancelled", "end_turn"]
    assert ends[0]["session_id"] == ends[1]["session_id"]
    assert ends[1]["final_output"] == "REDIRECTED-OK"
    assert "Stop. Say redirected." in json.dumps(main_bodies(server)[-1]["messages"])


# --- loop ----------------------------------------------------------------------------------------

COMMIT = ("printf 'built\\n' >> README && "
          "git -c user.email=loop@example.invalid -c user.name=loop commit -qam built")


def git(project, *args: str) -> str:
    return subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_loop_file_runs_phases_on_claude(avenor, claude, tmp_path, model_server):
    """A pre phase that commits (a Bash tool call, auto-approved), then a loop phase whose prompt
    carries the new commit and ends the loop with a marker in iteration 2; each phase is a new
    claude session."""
    server = model_server({"model": MODEL, "steps": [
        {"tool_call": {"command": COMMIT}}, {"reply": "BUILT"},                  # pre: build
        {"reply": "not yet"},                                                    # check, 1
        {"reply_chunks": ["all good\n[loop: ex", "it | verified]\n"]},         # check, 2
    ]})
    env = claude_env(tmp_path, server)
    project = env.project
    (project / "README").write_text("start\n")
    git(project, "add", "README")
    git(project, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm",
        "start")
    first_head = git(project, "rev-parse", "HEAD")
    loop = tmp_path / "loop.yaml"
    loop.write_text(json.dumps({
        "max_iterations": 4,
        "pre": [{"name": "build", "prompt": "BUILD-PHASE at {{.PrevPhaseCommit}}"}],
        "loop": [{"name": "check",
                  "prompt": "CHECK-{{.Iteration}} of {{.MaxIterations}} since "
                            "{{.PrevPhaseCommit}}"}],
    }))
    run, files, _ = start_run(avenor, tmp_path, server, "--auto-approve", "--loop-file", str(loop),
                              env=env, run_id="run-loop-claude")
    assert run.wait(300) == 0, files.stderr_text()

    events = files.read_events()
    assert_log_well_formed(events, run_id="run-loop-claude")
    [end] = events_named(events, "avenor.loop.end")
    assert (end["exit_reason"], end.get("exit_label"), end["iterations_completed"]) == \
        ("marker", "verified", 1)
    phases = [(e["phase"], e["iteration"], e["stop_reason"])
              for e in events_named(events, "avenor.phase.end")]
    assert phases == [("build", 0, "end_turn"), ("check", 1, "end_turn"), ("check", 2, "end_turn")]
    sessions = [e["session_id"] for e in events_named(events, "avenor.phase.end")]
    assert all(UUID_RE.match(s) for s in sessions) and len(set(sessions)) == 3
    second_head = git(project, "rev-parse", "HEAD")
    assert second_head != first_head
    bodies = [json.dumps(b["messages"]) for b in main_bodies(server)]
    assert any(f"BUILD-PHASE at {first_head}" in b for b in bodies)
    assert any(f"CHECK-1 of 4 since {second_head}" in b for b in bodies)
    assert any(f"CHECK-2 of 4 since {second_head}" in b for b in bodies)


# --- scripted peer: what the real claude 2.1.197 cannot show -------------------------------------

FAKE_CLAUDE = Path(__file__).resolve().parent / "fake_claude_stream.py"


def run_fake(avenor, tmp_path, scenario, *extra):
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "claude"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE_CLAUDE} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ)
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
                "FAKE_CLAUDE_SCENARIO": scenario,
                "FAKE_CLAUDE_LOG": str(tmp_path / "fake_claude.log")})
    files = RunFiles(tmp_path / "run")
    project = tmp_path / "project"
    project.mkdir()
    args = standard_run_args(files, "--backend", "claude", "--dir", str(project), "--run-id",
                             "run-fake-claude", "--prompt", "hello", *extra)
    return AvenorProcess(avenor, args, env, files), files


def fake_log(tmp_path) -> list[dict]:
    return [json.loads(l) for l in (tmp_path / "fake_claude.log").read_text().splitlines()]


def test_malformed_line_is_skipped_scripted(avenor, tmp_path):
    """Scripted peer: a stdout line that is not JSON (claude 2.1.197 never prints one) is skipped
    with a warning; the turn goes on. Also checks what claude is sent: the session flag on its
    command line, initialize, then the user message."""
    run, files = run_fake(avenor, tmp_path, "malformed")
    assert run.wait(60) == 0, files.stderr_text()
    events = files.read_events()
    [end] = events_named(events, "session.end")
    assert end["final_output"] == "AFTER-NOISE" and end["stop_reason"] == "end_turn"
    # the plugin's warning reaches avenor's diagnostics on stderr, one line
    warnings = [l for l in files.stderr_text().splitlines() if l.startswith("avenor: warning: ")]
    assert len(warnings) == 1 and "claude: skipping a stdout line that is not JSON" in warnings[0]
    log = fake_log(tmp_path)
    argv = log[0]["argv"]
    assert argv[:9] == ["-p", "--input-format", "stream-json", "--output-format", "stream-json",
                        "--verbose", "--include-partial-messages", "--permission-prompt-tool",
                        "stdio"]
    assert argv[-2] == "--session-id" and UUID_RE.match(argv[-1]) and argv[-1] == end["session_id"]
    assert log[1] == {"type": "control_request", "request_id": "avenor-1",
                      "request": {"subtype": "initialize"}}
    assert log[2]["type"] == "user" and log[2]["message"] == {"role": "user", "content": "hello"}


def test_crash_mid_turn_fails_the_run_scripted(avenor, tmp_path):
    """Scripted peer: claude dying in the middle of a turn (exit 3 after one delta)."""
    run, files = run_fake(avenor, tmp_path, "crash")
    assert run.wait(60) == 1, files.stderr_text()
    events = files.read_events()
    assert [c["delta"] for c in events_named(events, "agent.message_chunk")] == ["PARTIAL"]
    ends = events_named(events, "session.end")
    assert [e["stop_reason"] for e in ends] == ["error"], ends
    assert files.sentinel_lines()[0] == "FAILED"


def test_oversize_line_fails_the_run_scripted(avenor, tmp_path):
    """Scripted peer: a 5 MiB stdout line; the host's 4 MiB line limit ends the backend."""
    run, files = run_fake(avenor, tmp_path, "oversize")
    assert run.wait(60) == 1, files.stderr_text()
    assert "exceeds the 4 MiB limit" in files.stderr_text() + json.dumps(files.read_events())
    assert files.sentinel_lines()[0] == "FAILED"


def test_claude_missing_from_path_fails_the_start(avenor, tmp_path):
    """No claude on PATH: the host's launch check says so; one clear line."""
    files = RunFiles(tmp_path / "run")
    project = tmp_path / "project"
    project.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "AVENOR_PLUGIN_DIR": os.environ.get("AVENOR_PLUGIN_DIR", "")}
    args = standard_run_args(files, "--backend", "claude", "--dir", str(project), "--prompt", "hi")
    run = AvenorProcess(avenor, args, env, files)
    assert run.wait(60) == 1
    assert 'backend "claude" needs "claude" on PATH, which was not found; run \'avenor doctor\'' \
        in files.stderr_text(), files.stderr_text()
    assert files.sentinel_lines()[0] == "FAILED"
