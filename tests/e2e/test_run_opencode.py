"""`avenor run --backend opencode-acp` against the real `opencode acp` (npm opencode-ai),
pointed at the scripted model server on 127.0.0.1."""

from __future__ import annotations

import signal
import subprocess

import pytest

import peers
from avenor_cli import (AvenorProcess, RunFiles, assert_log_well_formed, events_named,
                        standard_run_args)

TOOL_COMMAND = "printf 'TOOL-MARKER-%d\\n' 42"


@pytest.fixture
def opencode():
    return peers.require_peer("opencode")


def start_run(avenor, tmp_path, server, *extra, permission_ask=False, files=None):
    env = peers.opencode_env(tmp_path, server, permission_ask=permission_ask)
    files = files or RunFiles(tmp_path / "run")
    args = standard_run_args(files, "--backend", "opencode-acp", "--dir", str(env.project),
                             "--run-id", "run-oc-1", *extra)
    return AvenorProcess(avenor, args, env.env, files), files


def tool_output_reached_model(server) -> bool:
    return any("TOOL-MARKER-42" in str(r.get("body")) for r in server.requests(kind="main"))


def test_text_turn(avenor, opencode, tmp_path, model_server):
    server = model_server({"steps": [{"reply_chunks": ["OC-FAKE-", "REPLY-123"]}]})
    run, files = start_run(avenor, tmp_path, server, "--prompt", "Reply with hello.")
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    assert_log_well_formed(events, run_id="run-oc-1")
    end = events_named(events, "session.end")
    assert len(end) == 1 and end[0]["stop_reason"] == "end_turn"
    assert end[0]["final_output"] == "OC-FAKE-REPLY-123"
    chunks = "".join(e["content"]["text"] for e in events_named(events, "agent.message_chunk"))
    assert chunks == "OC-FAKE-REPLY-123"
    session = end[0]["session_id"]
    assert session.startswith("ses_")
    assert events_named(events, "agent.status")[-1]["phase"] == "done"
    assert files.sentinel_lines() == ["DONE", f"SESSION={session}", "STOP_REASON=end_turn",
                                      "RUN=run-oc-1"]


def test_tool_permission_auto_approved(avenor, opencode, tmp_path, model_server):
    server = model_server({"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                     {"reply": "TOOL-ROUNDTRIP-OK"}]})
    run, files = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL", "--auto-approve",
                           permission_ask=True)
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    request = events_named(events, "permission.request")
    assert len(request) == 1 and request[0]["resolver"] == "automatic"
    response = events_named(events, "permission.response")
    assert response[0]["source"] == "avenor" and response[0]["kind"] == "allow"
    assert response[0]["request_id"] == request[0]["request_id"]
    assert tool_output_reached_model(server), "the approved command's output never reached the model"
    assert events_named(events, "session.end")[-1]["final_output"].endswith("TOOL-ROUNDTRIP-OK")
    assert not files.perm_base.with_suffix(".perm.req").exists()


@pytest.mark.parametrize("option,allowed", [("once", True), ("reject", False)])
def test_tool_permission_answered_by_file(avenor, opencode, tmp_path, model_server, option, allowed):
    server = model_server({"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                     {"reply": "AFTER-ANSWER"}]})
    run, files = start_run(avenor, tmp_path, server, "--prompt", "RUN_TOOL", permission_ask=True)
    request_file = files.root / "run.perm.req"
    run.wait_for_file(request_file, timeout=90)

    answer = subprocess.run([avenor, "answer", "--option", option, str(files.perm_base)],
                            capture_output=True, text=True, timeout=30)
    assert answer.returncode == 0, answer.stderr
    assert run.wait(120) == 0, files.stderr_text()

    events = files.read_events()
    assert events_named(events, "permission.request")[0]["resolver"] == "file"
    response = events_named(events, "permission.response")[0]
    assert response["source"] == "file" and response["option_id"] == option
    assert response["kind"] == ("allow" if allowed else "reject")
    assert tool_output_reached_model(server) == allowed
    # both files are kept after an answer, for pairing by request_id
    assert request_file.exists() and (files.root / "run.perm.req.response").exists()
    assert files.sentinel_lines()[0] == "DONE"


def test_sigterm_cancels(avenor, opencode, tmp_path, model_server):
    server = model_server({"steps": [{"hang": True}]})
    run, files = start_run(avenor, tmp_path, server, "--prompt", "hang please")
    server.wait_for_requests(lambda recs: any(r.get("kind") == "main" for r in recs),
                             timeout=90, what="main model request")
    run.signal(signal.SIGTERM)
    assert run.wait(60) == 130, files.stderr_text()

    lines = files.sentinel_lines()
    assert lines[0] == "KILLED" and "STOP_REASON=cancelled" in lines and "EXIT_CODE=130" in lines
    end = events_named(files.read_events(), "session.end")
    # avenor's own session.end: opencode would answer the cancel with end_turn
    assert [e["stop_reason"] for e in end] == ["cancelled"]


@pytest.mark.parametrize("limit", ["1s", "8s"])  # 1s: mostly during opencode's start
def test_timeout(avenor, opencode, tmp_path, model_server, limit):
    # --timeout counts from avenor's start, and opencode's own start has no upper bound on a
    # busy machine (tens of seconds under load), so no fixed deadline is sure to find the turn
    # running. Either way the log ends with exactly one session.end of avenor's (new: also when
    # the deadline hits during the session start), so `watch --until-end` returns; the
    # sentinel's SESSION= says which case happened.
    server = model_server({"steps": [{"hang": True}]})
    run, files = start_run(avenor, tmp_path, server, "--prompt", "hang please", "--timeout", limit)
    assert run.wait(90) == 124, files.stderr_text()
    lines = files.sentinel_lines()
    assert lines[0] == "TIMEOUT" and "STOP_REASON=timeout" in lines
    session = lines[1].removeprefix("SESSION=")
    events = files.read_events()
    ends = events_named(events, "session.end")
    assert [(e["stop_reason"], e["exit_code"], e.get("session_id", "")) for e in ends] == [
        ("timeout", 124, session)], ends
    assert events[-1] is ends[0]
    if not session:
        # During the session start: no prompt was sent, so the model was never asked.
        assert server.requests(kind="main") == []
    watch = subprocess.run([avenor, "watch", "--follow", "--until-end", "--format", "json",
                            str(files.events)], capture_output=True, text=True, timeout=30)
    assert watch.returncode == 0, watch.stderr


def test_start_failure_is_retried_then_failed(avenor, opencode, tmp_path, model_server):
    # opencode rejects an unknown model at session/set_config_option: a
    # retryable exit-1 failure, so --max-retries 1 makes a second attempt.
    server = model_server({"steps": [{"reply": "never used"}]})
    run, files = start_run(avenor, tmp_path, server, "--prompt", "hi", "--model", "nope/missing",
                           "--max-retries", "1")
    assert run.wait(120) == 1
    assert files.stderr_text().count("model not found: nope/missing") == 2
    retries = events_named(files.read_events(), "avenor.retry")
    assert [(r["attempt"], r["max_retries"]) for r in retries] == [(2, 1)]
    assert files.sentinel_lines() == ["FAILED", "SESSION=", "STOP_REASON=exit_1", "EXIT_CODE=1",
                                      "RUN=run-oc-1"]


def test_model_error_is_bounded_by_progress_timeout(avenor, opencode, tmp_path, model_server):
    # opencode 1.18 keeps retrying a failing model and never ends the ACP turn
    # (see shared/peers.md); --progress-timeout is what ends such a run. The limit leaves a busy
    # machine's opencode time to reach the model before it fires (6 s did not, under load).
    server = model_server({"steps": [{"error": 500, "message": "injected failure", "repeat": True}]})
    run, files = start_run(avenor, tmp_path, server, "--prompt", "hi", "--progress-timeout", "20s")
    assert run.wait(120) == 124, files.stderr_text()
    assert server.requests(kind="main"), "opencode never asked the model"
    lines = files.sentinel_lines()
    assert lines[0] == "TIMEOUT" and "STOP_REASON=progress_timeout" in lines
    end = events_named(files.read_events(), "session.end")
    assert [e["stop_reason"] for e in end] == ["progress_timeout"]
