"""`avenor run --backend codex-app-server` against the REAL `codex app-server`
(@openai/codex 0.169.0), offline: an isolated HOME/CODEX_HOME (peer_codex.py) whose provider is
the scripted model server on 127.0.0.1 speaking the OpenAI Responses API.

No approval policy or sandbox is configured, so codex runs with its defaults (approvalPolicy
"on-request", read-only sandbox): a plain command runs without asking, and an approval surfaces
when the model asks to run a command unsandboxed (exec_command with
sandbox_permissions "require_escalated") or to write a file (apply_patch).
Every test here runs the real CLI; tests/e2e/test_run_codex_fake.py covers what it cannot show.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess

import pytest

import peers
from avenor_cli import (AvenorProcess, RunFiles, assert_log_well_formed, events_named,
                        standard_run_args)
from control_rpc import ControlClient, wait_for_socket, wait_until
from peer_codex import codex_env, codex_home

TOOL_COMMAND = "printf 'TOOL-MARKER-%d\\n' 42"
STREAMING_TOOL_COMMAND = "printf 'TOOL-MARKER-'; sleep 1; printf '%d\\n' 42"
# exec_command asking to leave the sandbox: what makes codex's default policy ask.
ESCALATED_TOOL_CALL = {"name": "exec_command",
                       "arguments": {"cmd": TOOL_COMMAND,
                                     "sandbox_permissions": "require_escalated",
                                     "justification": "Print the marker outside the sandbox"}}
# apply_patch through the shell tool: codex turns it into a fileChange item.
PATCH_TOOL_CALL = {"name": "exec_command",
                   "arguments": {"cmd": "apply_patch <<'EOF'\n*** Begin Patch\n"
                                        "*** Add File: hello.txt\n+hi from codex\n"
                                        "*** End Patch\nEOF\n"}}
APPROVAL_METHOD = "item/commandExecution/requestApproval"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def codex():
    return peers.require_peer("codex")


def start_run(avenor, tmp_path, server, *extra, env=None, files=None, run_id="run-cx-1"):
    env = env or codex_env(tmp_path, server)
    files = files or RunFiles(tmp_path / "run")
    args = standard_run_args(files, "--backend", "codex-app-server", "--dir", str(env.project),
                             "--run-id", run_id, *extra)
    return AvenorProcess(avenor, args, env.env, files), files, env


def main_requests(server) -> list[dict]:
    return server.requests(kind="main")


def marker_reached_model(server) -> bool:
    return any("TOOL-MARKER-42" in json.dumps(r.get("body")) for r in main_requests(server))


def only_end(events) -> dict:
    ends = events_named(events, "session.end")
    assert len(ends) == 1, ends
    return ends[0]


def test_text_turn(avenor, codex, tmp_path, model_server):
    server = model_server({"steps": [{"reasoning": "Weighing the marker.",
                                      "reply_chunks": ["CX-FAKE-", "REPLY-456"]}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "Reply with the marker.")
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    assert_log_well_formed(events, run_id="run-cx-1")
    end = only_end(events)
    session = end["session_id"]
    assert UUID.match(session), session
    assert end["stop_reason"] == "end_turn" and end["reason"] == "completed"
    assert end["final_output"] == "CX-FAKE-REPLY-456"
    # deltas streamed as plain text, and not repeated by the completed item
    chunks = events_named(events, "agent.message_chunk")
    assert [c["delta"] for c in chunks] == ["CX-FAKE-", "REPLY-456"]
    assert all(c["turn_id"] == end["turn_id"] and c["item_id"] for c in chunks)
    assert [e["turn_id"] for e in events_named(events, "avenor.turn.start")] == [end["turn_id"]]
    kinds = [e["item_kind"] for e in events_named(events, "avenor.item.end")]
    assert kinds == ["userMessage", "reasoning", "agentMessage"]
    # the reasoning summary streams as thought chunks (item/reasoning/summaryTextDelta), is
    # not repeated when its item completes, and stays out of final_output
    thoughts = events_named(events, "agent.thought_chunk")
    assert "".join(t["delta"] for t in thoughts) == "Weighing the marker."
    assert len(thoughts) == 2 and all(t["turn_id"] == end["turn_id"] for t in thoughts)
    # the user's own message is never output as text
    assert not events_named(events, "user.message_chunk")
    assert "Reply with the marker." not in json.dumps(chunks)
    assert files.sentinel_lines() == ["DONE", f"SESSION={session}", "STOP_REASON=end_turn",
                                      "RUN=run-cx-1"]
    [request] = main_requests(server)
    assert "Reply with the marker." in json.dumps(request["body"]["input"])
    assert "effort" not in request["body"].get("reasoning", {})


def test_tool_call_turn(avenor, codex, tmp_path, model_server):
    """The command pauses between its two writes so that codex streams its output
    (item/commandExecution/outputDelta); output written before codex starts watching may
    never be streamed, so the deltas are checked as a suffix of the aggregated output."""
    server = model_server({"steps": [{"tool_call": {"command": STREAMING_TOOL_COMMAND}},
                                     {"reply": "TOOL-ROUNDTRIP-OK"}]})
    run, files, env = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL")
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    [call] = events_named(events, "tool.call")
    assert call["kind"] == "tool" and call["status"] == "running"
    assert "TOOL-MARKER" in call["title"] and call["command"] == call["title"]
    assert call["cwd"] == str(env.project)
    *running, update = events_named(events, "tool.call_update")
    assert all(e["item_id"] == call["item_id"] and e["turn_id"] == call["turn_id"]
               for e in [*running, update])
    assert running and all(e["status"] == "running" for e in running)
    assert "TOOL-MARKER-42\n".endswith("".join(e["delta"] for e in running))
    assert update["status"] == "completed" and update["exitCode"] == 0
    assert update["aggregatedOutput"] == "TOOL-MARKER-42\n"
    # with codex's default policy a sandboxed printf runs without asking
    assert not events_named(events, "permission.request")
    assert marker_reached_model(server)
    assert only_end(events)["final_output"] == "TOOL-ROUNDTRIP-OK"


def test_command_approval_auto_approved(avenor, codex, tmp_path, model_server):
    server = model_server({"steps": [{"tool_call": ESCALATED_TOOL_CALL},
                                     {"reply": "AFTER-APPROVAL"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL", "--auto-approve")
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    [req] = events_named(events, "permission.request")
    assert req["resolver"] == "automatic" and req["kind"] == "command"
    assert req["tool"] == APPROVAL_METHOD
    assert "TOOL-MARKER" in req["description"] and req["command"] == req["description"]
    assert req["message"] == "Print the marker outside the sandbox"
    assert req["options"] == [{"optionId": "reject", "kind": "reject"},
                              {"optionId": "allow", "kind": "allow"}]
    assert req["request_id"] == "0"  # codex numbers its own requests from 0
    [resp] = events_named(events, "permission.response")
    assert (resp["source"], resp["kind"], resp["option_id"]) == ("avenor", "allow", "allow")
    assert events_named(events, "tool.call_update")[-1]["status"] == "completed"
    assert marker_reached_model(server)
    assert only_end(events)["final_output"] == "AFTER-APPROVAL"


@pytest.mark.parametrize("option", ["allow", "reject"])
def test_command_approval_answered_by_file(avenor, codex, tmp_path, model_server, option):
    """The sentinel-derived file handler (<sentinel>.perm) answered by `avenor answer`."""
    server = model_server({"steps": [{"tool_call": ESCALATED_TOOL_CALL},
                                     {"reply": "AFTER-ANSWER"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL")
    request_file = files.root / "run.perm.req"
    run.wait_for_file(request_file, timeout=90)
    req = json.loads(request_file.read_text())
    assert req["tool"] == APPROVAL_METHOD and req["request_id"] == "0"
    assert [o["optionId"] for o in req["options"]] == ["reject", "allow"]
    assert req["payload"]["kind"] == "command"

    answer = subprocess.run([avenor, "answer", "--option", option, str(files.perm_base)],
                            capture_output=True, text=True, timeout=30)
    assert answer.returncode == 0, answer.stderr
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    assert events_named(events, "permission.request")[0]["resolver"] == "file"
    [resp] = events_named(events, "permission.response")
    assert (resp["source"], resp["option_id"], resp["kind"]) == ("file", option, option)
    update = events_named(events, "tool.call_update")[-1]
    assert update["status"] == ("completed" if option == "allow" else "declined")
    assert marker_reached_model(server) == (option == "allow")
    assert only_end(events)["final_output"] == "AFTER-ANSWER"
    assert files.sentinel_lines()[0] == "DONE"


def test_file_change_approval_by_explicit_file_handler(avenor, codex, tmp_path, model_server):
    """apply_patch makes codex ask item/fileChange/requestApproval, which names only the item;
    avenor describes it by the item's changed path."""
    server = model_server({"steps": [{"tool_call": PATCH_TOOL_CALL}, {"reply": "PATCHED"}]})
    base = tmp_path / "answers" / "perm"
    base.parent.mkdir()
    run, files, env = start_run(avenor, tmp_path, server, "--prompt", "WRITE_FILE",
                                "--permission-handler", f"file:{base}")
    target = env.project / "hello.txt"
    run.wait_for_file(base.with_suffix(".req"), timeout=90)
    assert not target.exists()
    req = json.loads(base.with_suffix(".req").read_text())
    assert req["tool"] == "item/fileChange/requestApproval"
    assert req["payload"]["kind"] == "file" and req["payload"]["path"] == str(target)
    answer = subprocess.run([avenor, "answer", "--option", "allow", str(base)],
                            capture_output=True, text=True, timeout=30)
    assert answer.returncode == 0, answer.stderr
    assert run.wait(120) == 0, files.stderr_text()

    assert target.read_text() == "hi from codex\n"
    events = files.read_events()
    [call] = events_named(events, "tool.call")
    assert call["title"] == str(target)
    assert call["rawInput"][0]["path"] == str(target)
    assert events_named(events, "tool.call_update")[-1]["status"] == "completed"
    assert events_named(events, "permission.request")[0]["description"] == str(target)
    assert only_end(events)["final_output"] == "PATCHED"


def test_command_approval_rejected_over_control_socket(avenor, codex, tmp_path, model_server):
    server = model_server({"steps": [{"tool_call": ESCALATED_TOOL_CALL},
                                     {"reply": "AFTER-REJECT"}]})
    sock = tmp_path / "ctl.sock"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL",
                              "--control-socket", str(sock))
    wait_for_socket(sock, run.proc, timeout=60)
    with ControlClient(sock) as client:
        client.subscribe()
        req = client.wait_event(lambda e: e["event"] == "permission.request", timeout=90)
        assert req["resolver"] == "reserved"
        assert client.call_ok("answer_permission", {"request_id": req["request_id"],
                                                    "option_id": "reject"}) == {"accepted": True}
        client.read_until_closed(timeout=90)
    assert run.wait(60) == 0, files.stderr_text()
    events = files.read_events()
    assert events_named(events, "permission.response")[0]["kind"] == "reject"
    assert events_named(events, "tool.call_update")[-1]["status"] == "declined"
    assert not marker_reached_model(server)


def assert_interrupted(files) -> None:
    """The turn ended by codex's own turn/completed (status interrupted) after avenor's
    turn/interrupt request: one session.end, from the backend (it has turn_id and reason)."""
    events = files.read_events()
    end = only_end(events)
    assert end["stop_reason"] == "cancelled" and end["reason"] == "interrupted"
    assert end["turn_id"] == events_named(events, "avenor.turn.start")[0]["turn_id"]
    assert not events_named(events, "avenor.error"), events_named(events, "avenor.error")
    lines = files.sentinel_lines()
    assert lines == ["KILLED", f"SESSION={end['session_id']}", "STOP_REASON=cancelled",
                     "EXIT_CODE=130", "RUN=run-cx-1"]


def test_sigterm_interrupts_the_turn(avenor, codex, tmp_path, model_server):
    server = model_server({"steps": [{"hang": True}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hang please")
    server.wait_for_requests(lambda recs: any(r.get("kind") == "main" for r in recs),
                             timeout=90, what="codex's model request")
    run.wait_for_event(lambda e: e.get("event") == "avenor.turn.start", timeout=30)
    run.signal(signal.SIGTERM)
    assert run.wait(60) == 130, files.stderr_text()
    assert_interrupted(files)


def test_control_cancel_interrupts_the_turn(avenor, codex, tmp_path, model_server):
    server = model_server({"steps": [{"hang": True}]})
    sock = tmp_path / "ctl.sock"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hang please",
                              "--control-socket", str(sock))
    wait_for_socket(sock, run.proc, timeout=60)
    with ControlClient(sock) as client:
        wait_until(lambda: main_requests(server), timeout=90, what="codex's model request")
        run.wait_for_event(lambda e: e.get("event") == "avenor.turn.start", timeout=30)
        assert client.call_ok("cancel") == {"ok": True}
        client.read_until_closed(timeout=60)
    assert run.wait(60) == 130, files.stderr_text()
    assert_interrupted(files)


def test_interrupt_and_prompt_continues_the_same_thread(avenor, codex, tmp_path, model_server):
    """A control interrupt: turn/interrupt, then the new text as a second turn on the thread
    this codex process already holds (no thread/resume)."""
    server = model_server({"steps": [{"hang": True}, {"reply": "REDIRECTED-OK"}]})
    sock = tmp_path / "ctl.sock"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hang please",
                              "--control-socket", str(sock), "--thinking", "medium")
    wait_for_socket(sock, run.proc, timeout=60)
    with ControlClient(sock) as client:
        wait_until(lambda: main_requests(server), timeout=90, what="codex's model request")
        run.wait_for_event(lambda e: e.get("event") == "avenor.turn.start", timeout=30)
        assert client.call_ok("interrupt_and_prompt", {"text": "Say redirected."}) == \
            {"accepted": True}
        client.read_until_closed(timeout=90)
    assert run.wait(60) == 0, files.stderr_text()
    ends = events_named(files.read_events(), "session.end")
    assert [(e["stop_reason"], e["reason"]) for e in ends] == [("cancelled", "interrupted"),
                                                              ("end_turn", "completed")]
    assert ends[0]["session_id"] == ends[1]["session_id"]
    assert ends[0]["turn_id"] != ends[1]["turn_id"]
    assert ends[1]["final_output"] == "REDIRECTED-OK"
    # the follow-up turn still carries the thinking level
    assert [r["body"]["reasoning"].get("effort") for r in main_requests(server)] == \
        ["medium", "medium"]


def test_model_failure_fails_the_run(avenor, codex, tmp_path, model_server):
    server = model_server({"steps": [{"error": 500, "message": "injected failure",
                                      "repeat": True}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi")
    assert run.wait(120) == 1, files.stderr_text()

    assert len(main_requests(server)) == 1, "retries are 0: one request only"
    events = files.read_events()
    end = only_end(events)
    assert end["stop_reason"] == "error" and end["reason"] == "failed"
    # codex replaces the server's message with its own for HTTP 500
    assert end["error_message"]
    [error] = events_named(events, "avenor.error")
    assert error["source"] == "prompt"
    assert error["message"] == "turn failed: " + end["error_message"]
    assert "avenor: prompt: turn failed: " in files.stderr_text()
    assert files.sentinel_lines() == ["FAILED", f"SESSION={end['session_id']}",
                                      "STOP_REASON=exit_1", "EXIT_CODE=1", "RUN=run-cx-1"]


def test_model_flag_selects_the_model(avenor, codex, tmp_path, model_server):
    server = model_server({"steps": [{"reply": "MODEL-OK"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--model",
                              "other-fake-model")
    assert run.wait(120) == 0, files.stderr_text()
    assert [r["body"]["model"] for r in main_requests(server)] == ["other-fake-model"]


def test_thinking_sets_the_reasoning_effort(avenor, codex, tmp_path, model_server):
    server = model_server({"steps": [{"reply": "THOUGHT-OK"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--thinking", "high")
    assert run.wait(120) == 0, files.stderr_text()
    assert [r["body"]["reasoning"]["effort"] for r in main_requests(server)] == ["high"]


@pytest.mark.parametrize("level", ["off", "minimal"])
def test_unsupported_thinking_is_rejected_before_start(avenor, codex, tmp_path, model_server,
                                                       level):
    server = model_server({"steps": [{"reply": "never"}]})
    run, files, env = start_run(avenor, tmp_path, server, "--prompt", "hi", "--thinking", level)
    assert run.wait(60) == 1
    assert 'avenor: backend "codex-app-server" does not support parameter "thinking"' in \
        files.stderr_text()
    assert files.sentinel_lines()[0] == "FAILED"
    assert server.requests() == []
    # codex never ran: its first start creates databases in CODEX_HOME
    assert sorted(p.name for p in codex_home(env).iterdir()) == ["config.toml"]


def test_resume_from_a_new_process(avenor, codex, tmp_path, model_server):
    server = model_server({"steps": [{"reply": "FIRST-TURN-REPLY"},
                                     {"reply": "SECOND-TURN-REPLY"}]})
    env = codex_env(tmp_path, server)
    first, files1, _ = start_run(avenor, tmp_path, server, "--prompt", "first", env=env,
                                 files=RunFiles(tmp_path / "run1"))
    assert first.wait(120) == 0, files1.stderr_text()
    session = only_end(files1.read_events())["session_id"]

    second, files2, _ = start_run(avenor, tmp_path, server, "--prompt", "second", "--resume",
                                  session, "--thinking", "low", env=env,
                                  files=RunFiles(tmp_path / "run2"))
    assert second.wait(120) == 0, files2.stderr_text()
    end = only_end(files2.read_events())
    assert end["session_id"] == session
    assert end["final_output"] == "SECOND-TURN-REPLY"
    assert files2.sentinel_lines()[1] == f"SESSION={session}"
    first_req, second_req = main_requests(server)
    # the resumed thread carries the first turn's history, and the new effort
    assert "FIRST-TURN-REPLY" in json.dumps(second_req["body"]["input"])
    assert second_req["body"]["reasoning"]["effort"] == "low"
    assert "effort" not in first_req["body"].get("reasoning", {})


def test_resume_of_an_unknown_thread_fails(avenor, codex, tmp_path, model_server):
    server = model_server({"steps": [{"reply": "never"}]})
    missing = "01a20b66-0000-7000-8000-000000000000"
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "hi", "--resume", missing)
    assert run.wait(120) == 1
    assert f"avenor: start session: thread/resume: no rollout found for thread id {missing}" in \
        files.stderr_text()
    assert files.sentinel_lines() == ["FAILED", f"SESSION={missing}", "STOP_REASON=exit_1",
                                      "EXIT_CODE=1", "RUN=run-cx-1"]
    assert server.requests() == []


def test_sigterm_while_an_approval_is_pending(avenor, codex, tmp_path, model_server):
    """Cancelling with an unanswered approval: turn/interrupt ends the turn (codex drops the
    approval itself) and the file handler's request file is cleaned up."""
    server = model_server({"steps": [{"tool_call": ESCALATED_TOOL_CALL}, {"reply": "never"}]})
    run, files, _ = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL")
    request_file = files.root / "run.perm.req"
    run.wait_for_file(request_file, timeout=90)
    run.signal(signal.SIGTERM)
    assert run.wait(60) == 130, files.stderr_text()
    assert_interrupted(files)
    assert not request_file.exists()
    assert not marker_reached_model(server)
    assert len(main_requests(server)) == 1
