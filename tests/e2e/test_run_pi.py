"""`avenor run --backend pi` against the real `pi --mode rpc` (npm @mariozechner/pi-coding-agent
0.73.1), isolated by tests/e2e/peer_pi.py and pointed at the scripted model server on 127.0.0.1.

Every test here drives the real CLI except the two at the end, which use the scripted peer
tests/e2e/fake_pi.py for what pi 0.73.1 cannot be made to show (see their docstrings). Extension
UI dialogs come from a real pi extension, tests/e2e/pi_dialog_extension.ts, which asks before
every tool call and logs what it was answered.
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

import peer_pi
import peers
from avenor_cli import (AvenorProcess, RunFiles, assert_log_well_formed, events_named,
                        standard_run_args)
from control_rpc import ControlClient, wait_for_socket, wait_until

TOOL_COMMAND = "printf 'TOOL-MARKER-%d\\n' 42"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def pi():
    return peers.require_peer("pi")


def start_run(avenor, tmp_path, server, *extra, env=None, files=None, run_id="run-pi-1",
              dialog=None):
    """avenor run --backend pi in an isolated pi environment; returns (process, files, env)."""
    env = env or peer_pi.pi_env(tmp_path, server, extension=dialog is not None)
    files = files or RunFiles(tmp_path / "run")
    child_env = dict(env.env)
    if dialog is not None:
        child_env["PI_TEST_DIALOG"] = dialog
        child_env["PI_TEST_DIALOG_LOG"] = str(tmp_path / "dialog.log")
    args = standard_run_args(files, "--backend", "pi", "--dir", str(env.project),
                             "--run-id", run_id, *extra)
    return AvenorProcess(avenor, args, child_env, files), files, env


def dialog_log(tmp_path) -> list[dict]:
    path = tmp_path / "dialog.log"
    return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []


def tool_output_reached_model(server) -> bool:
    return any("TOOL-MARKER-42" in json.dumps(r.get("body")) for r in server.requests(kind="main"))


def main_bodies(server) -> list[dict]:
    return [r["body"] for r in server.requests(kind="main")]


def chunk_text(events) -> str:
    return "".join(e["content"]["text"] for e in events_named(events, "agent.message_chunk"))


# --- turns ------------------------------------------------------------------------------------

def test_text_turn(avenor, pi, tmp_path, model_server):
    server = model_server({"steps": [{"reply_chunks": ["PI-FAKE-", "REPLY-789"]}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "Reply with the word.")
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    assert_log_well_formed(events, run_id="run-pi-1")
    end = events_named(events, "session.end")
    assert len(end) == 1 and end[0]["stop_reason"] == "end_turn"
    assert end[0]["final_output"] == "PI-FAKE-REPLY-789"
    assert end[0]["usage"]["total_tokens"] > 0
    chunks = events_named(events, "agent.message_chunk")
    assert [c["delta"] for c in chunks] == ["PI-FAKE-", "REPLY-789"]
    assert all(c["content"] == {"type": "text", "text": c["delta"]} for c in chunks)
    session = end[0]["session_id"]
    assert UUID_RE.match(session), f"session id is pi's get_state sessionId: {session!r}"
    assert all(e.get("session_id") == session for e in events
               if e["event"].startswith(("session.", "agent.message", "avenor.turn")))
    assert len(events_named(events, "session.start")) == 1
    assert events_named(events, "avenor.turn.start") and events_named(events, "avenor.message.end")
    assert files.sentinel_lines() == ["DONE", f"SESSION={session}", "STOP_REASON=end_turn",
                                      "RUN=run-pi-1"]
    assert [b["model"] for b in main_bodies(server)] == [peer_pi.FAKE_MODEL]


def test_tool_call_turn(avenor, pi, tmp_path, model_server):
    server = model_server({"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                     {"reply": "TOOL-ROUNDTRIP-OK"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL")
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    execution = [e for e in events_named(events, "tool.call") if "args" in e]
    assert len(execution) == 1, "one tool.call from tool_execution_start"
    call = execution[0]
    assert call["status"] == "running" and call["kind"] == "tool" and call["title"] == "bash"
    assert call["rawInput"] == {"command": TOOL_COMMAND} == call["args"]
    updates = [e for e in events_named(events, "tool.call_update")
               if e.get("toolCallId") == call["toolCallId"]]
    done = [u for u in updates if "result" in u]
    assert len(done) == 1 and done[0]["status"] == "completed" and done[0]["isError"] is False
    assert done[0]["result"]["content"][0]["text"] == "TOOL-MARKER-42\n"
    # the streamed call (message_update toolcall_*) ends completed with its arguments
    streamed = [u for u in updates if "rawInput" in u]
    assert streamed and streamed[-1]["rawInput"] == {"command": TOOL_COMMAND}
    assert events_named(events, "avenor.tool.start") and events_named(events, "avenor.tool.end")
    assert tool_output_reached_model(server)
    end = events_named(events, "session.end")
    assert len(end) == 1 and end[0]["final_output"] == "TOOL-ROUNDTRIP-OK"


# --- permissions: extension UI dialogs ------------------------------------------------------------

def test_select_dialog_auto_approved(avenor, pi, tmp_path, model_server):
    server = model_server({"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                     {"reply": "AFTER-ALLOW"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL", "--auto-approve",
                              dialog="select")
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    request = events_named(events, "permission.request")
    assert len(request) == 1
    r = request[0]
    assert r["resolver"] == "automatic" and r["kind"] == "command"
    assert r["description"] == "Allow bash?" and r["tool"] == "bash"
    assert r["input"] == {"command": TOOL_COMMAND}
    assert r["request_id"] == r["ui_request_id"]
    assert [o["optionId"] for o in r["options"]] == ["Allow", "Block"]
    response = events_named(events, "permission.response")
    assert response[0]["option_id"] == "Allow" and response[0]["kind"] == "allow"
    assert dialog_log(tmp_path) == [{"kind": "select", "choice": "Allow"}]
    assert tool_output_reached_model(server)


def test_select_dialog_rejected_over_control_socket(avenor, pi, tmp_path, model_server):
    server = model_server({"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                     {"reply": "AFTER-REJECT"}]})
    sock = tmp_path / "ctl.sock"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL",
                              "--control-socket", str(sock), dialog="select")
    wait_for_socket(sock, run.proc, timeout=60)
    with ControlClient(sock) as c:
        c.subscribe()
        req = c.wait_event(lambda e: e["event"] == "permission.request", timeout=90)
        assert req["resolver"] == "reserved"
        assert c.call_ok("answer_permission", {"request_id": req["request_id"],
                                               "option_id": "Block"}) == {"accepted": True}
        c.read_until_closed(90)
    assert run.wait(60) == 0, files.stderr_text()
    response = events_named(files.read_events(), "permission.response")[0]
    assert response["kind"] == "reject" and response["source"] == "control"
    # a reject dismisses the dialog: the extension sees no choice and blocks the tool
    assert dialog_log(tmp_path) == [{"kind": "select", "choice": None}]
    assert not tool_output_reached_model(server)
    assert "Blocked by the select dialog" in json.dumps(main_bodies(server)[-1])


@pytest.mark.parametrize("option,allowed", [("yes", True), ("no", False)])
def test_confirm_dialog_answered_by_file(avenor, pi, tmp_path, model_server, option, allowed):
    server = model_server({"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                     {"reply": "AFTER-ANSWER"}]})
    base = tmp_path / "answers" / "pi.perm"
    base.parent.mkdir()
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL",
                              "--permission-handler", f"file:{base}", dialog="confirm")
    request_file = Path(f"{base}.req")
    run.wait_for_file(request_file, timeout=90)
    doc = json.loads(request_file.read_text())
    assert doc["tool"] == "bash"
    assert doc["question"] == f"The agent wants to run: {TOOL_COMMAND}"
    assert [o["optionId"] for o in doc["options"]] == ["yes", "no"]

    answer = subprocess.run([avenor, "answer", "--option", option, str(base)],
                            capture_output=True, text=True, timeout=30)
    assert answer.returncode == 0, answer.stderr
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    assert events_named(events, "permission.request")[0]["resolver"] == "file"
    response = events_named(events, "permission.response")[0]
    assert response["source"] == "file" and response["option_id"] == option
    assert dialog_log(tmp_path) == [{"kind": "confirm", "ok": allowed}]
    assert tool_output_reached_model(server) == allowed


def test_input_dialog_is_not_auto_approved(avenor, pi, tmp_path, model_server):
    """An input dialog needs a person: --auto-approve leaves it alone. With no control client and
    no file handler nobody answers; SIGTERM then cancels, and the cancel dismisses the dialog so
    pi's abort can finish (pi 0.73.1 answers `abort` only once no dialog is open)."""
    server = model_server({"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                     {"reply": "NEVER"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL", "--auto-approve",
                              dialog="input")
    req = run.wait_for_event(lambda e: e.get("event") == "permission.request", timeout=90)
    assert req["kind"] == "input" and req["requires_user_input"] is True
    assert req["resolver"] == "none" and "options" not in req
    assert req["description"] == "Why run this?" and req["placeholder"] == "a reason"
    run.signal(signal.SIGTERM)
    assert run.wait(60) == 130, files.stderr_text()

    events = files.read_events()
    assert not events_named(events, "permission.response")
    # without the dismissal pi would not answer the abort: "cancel did not finish within 5s"
    assert not [e for e in events_named(events, "avenor.error") if e["source"] == "cancel"]
    assert [e["stop_reason"] for e in events_named(events, "session.end")] == ["cancelled"]
    assert dialog_log(tmp_path) == [{"kind": "input", "value": None}]
    assert not tool_output_reached_model(server)


# --- cancel ------------------------------------------------------------------------------------

def test_sigterm_cancels(avenor, pi, tmp_path, model_server):
    server = model_server({"steps": [{"hang": True}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hang please")
    server.wait_for_requests(lambda recs: any(r.get("kind") == "main" for r in recs),
                             timeout=90, what="pi's model request")
    run.signal(signal.SIGTERM)
    assert run.wait(60) == 130, files.stderr_text()

    lines = files.sentinel_lines()
    assert lines[0] == "KILLED" and "STOP_REASON=cancelled" in lines and "EXIT_CODE=130" in lines
    events = files.read_events()
    end = events_named(events, "session.end")
    assert [e["stop_reason"] for e in end] == ["cancelled"]
    # pi's own answer to the abort (stopReason "aborted"), not one avenor made up
    assert end[0].get("error_message") == "Request was aborted."
    assert not events_named(events, "avenor.error")


def test_control_cancel(avenor, pi, tmp_path, model_server):
    server = model_server({"steps": [{"hang": True}]})
    sock = tmp_path / "ctl.sock"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hang please",
                              "--control-socket", str(sock))
    wait_for_socket(sock, run.proc, timeout=60)
    server.wait_for_requests(lambda recs: any(r.get("kind") == "main" for r in recs),
                             timeout=90, what="pi's model request")
    with ControlClient(sock) as c:
        assert c.call_ok("status")["session_id"]
        assert c.call_ok("cancel") == {"ok": True}
    assert run.wait(60) == 130, files.stderr_text()
    end = events_named(files.read_events(), "session.end")
    assert [e["stop_reason"] for e in end] == ["cancelled"]
    assert files.sentinel_lines()[0] == "KILLED"


# --- failures ----------------------------------------------------------------------------------

def test_model_server_failing(avenor, pi, tmp_path, model_server):
    """HTTP 500 on every call: pi 0.73.1 retries by itself (peer_pi sets 2 retries, 50 ms apart).
    Each failed attempt ends with an agent_end whose last message has stopReason "error" — with
    no willRetry field; an `auto_retry_start` follows it. Only the last one ends the turn."""
    server = model_server({"steps": [{"error": 500, "message": "injected failure",
                                      "repeat": True}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "fail please")
    assert run.wait(120) == 1, files.stderr_text()

    events = files.read_events()
    assert len(server.requests(kind="main")) == 3, "one call and pi's two retries"
    retrying = events_named(events, "avenor.agent_end")
    assert [(e["willRetry"], e["stop_reason"]) for e in retrying] == [(True, "error")] * 2
    assert len(events_named(events, "avenor.auto_retry.start")) == 2
    end = events_named(events, "session.end")
    assert len(end) == 1 and end[0]["stop_reason"] == "error"
    assert end[0]["error_message"] == "500 injected failure"
    names = [e["event"] for e in events]
    assert names.index("avenor.auto_retry.end") < names.index("session.end")
    errors = events_named(events, "avenor.error")
    assert [(e["source"], e["message"]) for e in errors] == [("prompt", "500 injected failure")]
    assert files.sentinel_lines()[0] == "FAILED"


def test_transient_500_recovers(avenor, pi, tmp_path, model_server):
    server = model_server({"steps": [{"error": 500, "message": "injected failure"},
                                     {"reply": "RECOVERED"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "try again")
    assert run.wait(120) == 0, files.stderr_text()
    events = files.read_events()
    assert [e["willRetry"] for e in events_named(events, "avenor.agent_end")] == [True]
    end = events_named(events, "session.end")
    assert len(end) == 1 and end[0]["stop_reason"] == "end_turn"
    assert end[0]["final_output"] == "RECOVERED"
    assert len(events_named(events, "session.start")) == 2, "pi starts the agent again to retry"


def test_prompt_rejected_without_model(avenor, pi, tmp_path):
    """No models.json: pi answers the prompt command itself with success:false."""
    env = peer_pi.pi_env(tmp_path, None, configured=False)
    run, files, _ = start_run(avenor, tmp_path, None, "--prompt", "hello", env=env)
    assert run.wait(120) == 1, files.stderr_text()
    events = files.read_events()
    errors = events_named(events, "avenor.error")
    assert len(errors) == 1 and errors[0]["source"] == "prompt"
    assert errors[0]["message"].startswith("No API key found for the selected model.")
    # pi never ended the turn: avenor's own session.end carries the error (new)
    ends = events_named(events, "session.end")
    assert [(e["stop_reason"], e["exit_code"], e["error"]) for e in ends] == [
        ("error", 1, errors[0]["message"])]
    assert "avenor: prompt: No API key found" in files.stderr_text()


# --- model, thinking, agent ----------------------------------------------------------------------

def test_model_flag(avenor, pi, tmp_path, model_server):
    server = model_server({"steps": [{"reply": "OTHER-OK"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--model",
                              f"{peer_pi.FAKE_PROVIDER}/{peer_pi.OTHER_MODEL}")
    assert run.wait(120) == 0, files.stderr_text()
    assert [b["model"] for b in main_bodies(server)] == [peer_pi.OTHER_MODEL]


@pytest.mark.parametrize("level,effort", [("high", "high"), ("low", "low"), ("max", "xhigh")])
def test_thinking_flag(avenor, pi, tmp_path, model_server, level, effort):
    """pi sends reasoning_effort for a reasoning model. pi 0.73.1 has no "max" level (it warns and
    ignores `--thinking max`), so avenor sends its highest, xhigh."""
    server = model_server({"steps": [{"reply": "THOUGHT"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "think", "--model",
                              f"{peer_pi.FAKE_PROVIDER}/{peer_pi.THINK_MODEL}", "--thinking", level)
    assert run.wait(120) == 0, files.stderr_text()
    assert [b.get("reasoning_effort") for b in main_bodies(server)] == [effort]


def test_no_thinking_flag_sends_no_effort(avenor, pi, tmp_path, model_server):
    server = model_server({"steps": [{"reply": "PLAIN"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--model",
                              f"{peer_pi.FAKE_PROVIDER}/{peer_pi.FAKE_MODEL}")
    assert run.wait(120) == 0, files.stderr_text()
    assert "reasoning_effort" not in main_bodies(server)[0]


def test_thinking_minimal_is_rejected(avenor, pi, tmp_path, model_server):
    server = model_server({"steps": [{"reply": "NEVER"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--thinking", "minimal")
    assert run.wait(60) == 1
    assert 'avenor: backend "pi" does not support parameter "thinking"' in files.stderr_text()
    assert files.sentinel_lines()[0] == "FAILED"
    assert not server.requests(kind="main")


@pytest.mark.parametrize("agent_dir_var", [True, False], ids=["PI_CODING_AGENT_DIR", "home"])
def test_agent_model_from_agents_json(avenor, pi, tmp_path, model_server, agent_dir_var):
    """--agent without --model: the model comes from agents.json in pi's agent dir
    ($PI_CODING_AGENT_DIR, else ~/.pi/agent). The agent also reaches pi as PI_AGENT: the bash
    tool pi runs prints it."""
    server = model_server({"steps": [{"tool_call": {"command": "printf 'AGENT=%s' \"$PI_AGENT\""}},
                                     {"reply": "AGENT-OK"}]})
    env = peer_pi.pi_env(tmp_path, server, agent_dir_var=agent_dir_var,
                         agents={"reviewer": {"model": f"{peer_pi.FAKE_PROVIDER}/"
                                                       f"{peer_pi.OTHER_MODEL}"}})
    env.env["PI_AGENT"] = "inherited-must-not-leak"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL", "--agent",
                              "reviewer", env=env)
    assert run.wait(120) == 0, files.stderr_text()
    bodies = main_bodies(server)
    assert [b["model"] for b in bodies] == [peer_pi.OTHER_MODEL] * 2
    assert "AGENT=reviewer" in json.dumps(bodies[1])


def test_unknown_agent_keeps_pis_default_model(avenor, pi, tmp_path, model_server):
    server = model_server({"steps": [{"reply": "DEFAULT-OK"}]})
    env = peer_pi.pi_env(tmp_path, server, agents={"reviewer": {"model": "fake/other-model"}})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--agent", "nobody",
                              env=env)
    assert run.wait(120) == 0, files.stderr_text()
    assert [b["model"] for b in main_bodies(server)] == [peer_pi.FAKE_MODEL]


# --- resume ------------------------------------------------------------------------------------

def test_queued_prompt_resumes_the_same_session(avenor, pi, tmp_path, model_server):
    """A control `prompt` queued during the first turn runs as a second turn on the same pi
    process and session: pi sends the first exchange along with the second prompt. The first
    turn is held on a select dialog until the prompt is queued."""
    server = model_server({"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                     {"reply": "FIRST-DONE"},
                                     {"reply": "SECOND-DONE"}]})
    sock = tmp_path / "ctl.sock"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "FIRST-PROMPT",
                              "--control-socket", str(sock), dialog="select")
    wait_for_socket(sock, run.proc, timeout=60)
    with ControlClient(sock) as c:
        c.subscribe()
        req = c.wait_event(lambda e: e["event"] == "permission.request", timeout=90)
        assert c.call_ok("prompt", {"text": "SECOND-PROMPT"}) == {"accepted": True}
        assert c.call_ok("answer_permission", {"request_id": req["request_id"],
                                               "option_id": "Allow"}) == {"accepted": True}
        c.read_until_closed(90)
    assert run.wait(60) == 0, files.stderr_text()

    ends = events_named(files.read_events(), "session.end")
    assert [e["final_output"] for e in ends] == ["FIRST-DONE", "SECOND-DONE"]
    assert ends[0]["session_id"] == ends[1]["session_id"]
    last = json.dumps(main_bodies(server)[-1])
    assert "FIRST-PROMPT" in last and "SECOND-PROMPT" in last and "FIRST-DONE" in last


def test_interrupt_and_prompt_redirects_a_stuck_turn(avenor, pi, tmp_path, model_server):
    server = model_server({"steps": [{"hang": True}, {"reply": "REDIRECTED-OK"}]})
    sock = tmp_path / "ctl.sock"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hang please",
                              "--control-socket", str(sock))
    wait_for_socket(sock, run.proc, timeout=60)
    wait_until(lambda: server.requests(kind="main"), timeout=90, what="pi's first model request")
    with ControlClient(sock) as c:
        assert c.call_ok("interrupt_and_prompt", {"text": "Stop. Say redirected."}) == \
            {"accepted": True}
        c.read_until_closed(90)
    assert run.wait(60) == 0, files.stderr_text()
    ends = events_named(files.read_events(), "session.end")
    assert [e["stop_reason"] for e in ends] == ["cancelled", "end_turn"]
    assert ends[0]["session_id"] == ends[1]["session_id"]
    assert ends[1]["final_output"] == "REDIRECTED-OK"


def test_resume_in_a_new_process_does_not_reload_history(avenor, pi, tmp_path, model_server):
    """`--resume <id>` starts a new pi process, which cannot reopen the session (it ran with
    --no-session): avenor adopts the id, and pi starts with an empty conversation."""
    server = model_server({"steps": [{"reply": "FIRST-DONE"}, {"reply": "SECOND-DONE"}]})
    env = peer_pi.pi_env(tmp_path, server)
    first, files1, _ = start_run(avenor, tmp_path, server, "--prompt", "FIRST-PROMPT", env=env,
                                 files=RunFiles(tmp_path / "run1"))
    assert first.wait(120) == 0, files1.stderr_text()
    session = events_named(files1.read_events(), "session.end")[0]["session_id"]

    second, files2, _ = start_run(avenor, tmp_path, server, "--prompt", "SECOND-PROMPT",
                                  "--resume", session, env=env, files=RunFiles(tmp_path / "run2"),
                                  run_id="run-pi-2")
    assert second.wait(120) == 0, files2.stderr_text()
    ends = events_named(files2.read_events(), "session.end")
    assert [(e["session_id"], e["final_output"]) for e in ends] == [(session, "SECOND-DONE")]
    assert f"SESSION={session}" in files2.sentinel_lines()
    last = json.dumps(main_bodies(server)[-1])
    assert "SECOND-PROMPT" in last
    assert "FIRST-PROMPT" not in last and "FIRST-DONE" not in last, "history was reloaded"


# --- scripted peer: what the real pi 0.73.1 cannot show ------------------------------------------

FAKE_PI = Path(__file__).resolve().parent / "fake_pi.py"


def fake_pi_env(tmp_path: Path, scenario: str) -> dict:
    """PATH with a `pi` that runs tests/e2e/fake_pi.py with `scenario`."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "pi"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE_PI} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ)
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
                "FAKE_PI_SCENARIO": scenario,
                "FAKE_PI_LOG": str(tmp_path / "fake_pi.log")})
    return env


def run_fake(avenor, tmp_path, scenario, *extra):
    files = RunFiles(tmp_path / "run")
    project = tmp_path / "project"
    project.mkdir()
    args = standard_run_args(files, "--backend", "pi", "--dir", str(project), "--run-id",
                             "run-fake-pi", "--prompt", "hello", *extra)
    return AvenorProcess(avenor, args, fake_pi_env(tmp_path, scenario), files), files


def test_will_retry_agent_end_is_not_terminal_scripted(avenor, tmp_path):
    """Scripted peer: D11's `agent_end {willRetry:true}`, which pi 0.73.1 never sends (it signals
    a retry with a following auto_retry_start, covered against the real CLI above)."""
    run, files = run_fake(avenor, tmp_path, "will_retry")
    assert run.wait(60) == 0, files.stderr_text()
    events = files.read_events()
    assert [(e["willRetry"], e["stop_reason"]) for e in events_named(events, "avenor.agent_end")] \
        == [(True, "error")]
    end = events_named(events, "session.end")
    assert len(end) == 1 and end[0]["final_output"] == "AFTER-RETRY"
    log = [json.loads(l) for l in (tmp_path / "fake_pi.log").read_text().splitlines()]
    assert log[0]["argv"] == ["--mode", "rpc", "--no-session"]
    assert [c["type"] for c in log[1:]] == ["get_state", "prompt"]
    assert all(re.fullmatch(r"avenor-\d+-\d+", c["id"]) for c in log[1:])


def test_noisy_stdout_scripted(avenor, tmp_path):
    """Scripted peer: framing cases the real CLI does not produce on demand — a stray non-JSON
    line, CRLF endings, blank lines, U+2028/U+2029 inside a JSON string (a record separator only
    for non-compliant line readers), one record split across many writes."""
    run, files = run_fake(avenor, tmp_path, "noisy")
    assert run.wait(60) == 0, files.stderr_text()
    # split on LF only: avenor writes U+2028 unescaped (D1), and str.splitlines() splits on it
    events = [json.loads(l) for l in files.events.read_text().split("\n") if l.strip()]
    assert "".join(e["delta"] for e in events_named(events, "agent.message_chunk")) == \
        "line\u2028separator\u2029paragraph"
    end = events_named(events, "session.end")
    assert len(end) == 1
    assert end[0]["final_output"] == "line\u2028separator\u2029paragraph"
    assert end[0]["session_id"] == "fake-session-1"


def test_pi_without_the_thinking_flag_fails_the_start_scripted(avenor, tmp_path):
    """Scripted peer: a pi whose `--help` lacks `--thinking <level>` (every real pi since the
    flag exists has it). The start fails with the unsupported-thinking error before any prompt;
    without --thinking the same pi runs."""
    run, files = run_fake(avenor, tmp_path, "old_help", "--thinking", "high")
    assert run.wait(60) == 1, files.stderr_text()
    assert 'backend "pi" does not support parameter "thinking"' in files.stderr_text()
    log = [json.loads(l) for l in (tmp_path / "fake_pi.log").read_text().splitlines()]
    assert {"argv": ["--help"]} in log
    assert not [c for c in log if c.get("type") == "prompt"]
    assert files.sentinel_lines()[0] == "FAILED"


def test_thinking_start_runs_pi_help_scripted(avenor, tmp_path):
    """Scripted peer: with --thinking the plugin asks `pi --help` first; this pi lists the flag,
    so the run goes on and pi gets `--thinking xhigh` for avenor's `max`."""
    run, files = run_fake(avenor, tmp_path, "will_retry", "--thinking", "max")
    assert run.wait(60) == 0, files.stderr_text()
    log = [json.loads(l) for l in (tmp_path / "fake_pi.log").read_text().splitlines()]
    argvs = [entry["argv"] for entry in log if "argv" in entry]
    assert sorted(argvs) == sorted([["--help"],
                                    ["--mode", "rpc", "--no-session", "--thinking", "xhigh"]])
