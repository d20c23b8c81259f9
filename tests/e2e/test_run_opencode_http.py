"""`avenor run --backend opencode-http` against the REAL `opencode serve` (npm opencode-ai
1.18.33) pointed at the scripted model server on 127.0.0.1.

Each test starts its own `opencode serve` in an isolated HOME (peer_opencode_http.py), except
the managed-server tests, where avenor starts it. Two cases use the scripted peer
fake_opencode_server.py instead, because the real server cannot be made to show them on
demand: an event stream that drops mid-run (SSE reconnect) and a failing primary permission
reply route (the fallback route). Their docstrings say so.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import peers
from avenor_cli import (AvenorProcess, RunFiles, assert_log_well_formed, events_named,
                        standard_run_args)
from control_rpc import ControlClient, wait_for_socket, wait_until
from peer_opencode_http import (OTHER_MODEL, OpencodeServer, opencode_http_env,
                                opencode_serve_pids)

TOOL_COMMAND = "printf 'TOOL-MARKER-%d\\n' 42"
RUN_ID = "run-och-1"
TURN = 180  # a turn's bound on a loaded 2-core machine (opencode alone starts in up to 25 s)


@pytest.fixture
def opencode():
    return peers.require_peer("opencode")


@pytest.fixture
def opencode_server(tmp_path):
    """Factory: opencode_server(penv, password=None) -> a started OpencodeServer."""
    started: list[OpencodeServer] = []

    def start(penv, password=None) -> OpencodeServer:
        srv = OpencodeServer(penv, tmp_path / f"serve-{len(started)}", password=password)
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        srv.stop()


def avenor_env(penv, **extra) -> dict:
    env = {k: v for k, v in penv.env.items() if k != "AVENOR_OPENCODE_URL"}
    env.update(extra)
    return env


def start_run(avenor, penv, files, *extra, env=None, url=None):
    args = standard_run_args(files, "--backend", "opencode-http", "--run-id", RUN_ID)
    if url:
        args += ["--server-url", url]
    return AvenorProcess(avenor, args + list(extra), env or avenor_env(penv), files,
                         cwd=penv.project)


def prepare(tmp_path, model_server, opencode_server, script, permission_ask=False, agents=None,
          password=None):
    server = model_server(script)
    penv = opencode_http_env(tmp_path, server, permission_ask=permission_ask, agents=agents)
    srv = opencode_server(penv, password=password)
    return server, penv, srv, RunFiles(tmp_path / "run")


def tool_output_reached_model(server) -> bool:
    return any("TOOL-MARKER-42" in str(r.get("body")) for r in server.requests(kind="main"))


def deltas(events) -> list[str]:
    return [e["delta"] for e in events_named(events, "agent.message_chunk")]


def wait_for_abort(srv: OpencodeServer, session_id: str) -> None:
    """The server recorded the turn as aborted (POST /session/{id}/abort reached it)."""
    def aborted():
        msgs = srv.messages(session_id)
        return msgs and (msgs[-1]["info"].get("error") or {}).get("name") == "MessageAbortedError"
    wait_until(aborted, timeout=30, what="the server to record MessageAbortedError",
               interval=0.2)


def wait_for_idle(srv: OpencodeServer, session_id: str) -> None:
    """The server no longer works on the session (GET /session/status lists busy and retrying
    sessions only)."""
    wait_until(lambda: session_id not in srv.get("/session/status"), timeout=30,
               what="the session to be idle on the server", interval=0.2)


# ---------------------------------------------------------------------------------------------
# turns
# ---------------------------------------------------------------------------------------------

def test_text_turn(avenor, opencode, tmp_path, model_server, opencode_server):
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server,
                                     {"steps": [{"reply_chunks": ["OC-FAKE-", "REPLY-123"]}]})
    run = start_run(avenor, penv, files, "--prompt", "Reply with hello.", url=srv.url)
    assert run.wait(TURN) == 0, files.stderr_text()

    events = files.read_events()
    assert_log_well_formed(events, run_id=RUN_ID)
    assert deltas(events) == ["OC-FAKE-", "REPLY-123"], "the SSE text deltas, one event each"
    end = events_named(events, "session.end")
    assert len(end) == 1 and end[0]["stop_reason"] == "end_turn"
    assert end[0]["final_output"] == "OC-FAKE-REPLY-123"
    assert end[0]["usage"]["total_tokens"] > 0
    assert "ended_by" not in end[0], "the POST response, not the stream, ended the turn"
    session = end[0]["session_id"]
    assert session.startswith("ses_")
    chunk_seqs = [e["seq"] for e in events_named(events, "agent.message_chunk")]
    assert max(chunk_seqs) < end[0]["seq"], "every delta is logged before session.end"
    assert any(e["event"] == "http.message.updated" for e in events)
    assert files.sentinel_lines() == ["DONE", f"SESSION={session}", "STOP_REASON=end_turn",
                                      f"RUN={RUN_ID}"]
    assert session in [s["id"] for s in srv.get("/session")]


def test_tool_call_turn(avenor, opencode, tmp_path, model_server, opencode_server):
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server,
                                     {"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                                {"reply": "TOOL-ROUNDTRIP-OK"}]})
    run = start_run(avenor, penv, files, "--prompt", "RUN_TOOL", url=srv.url)
    assert run.wait(TURN) == 0, files.stderr_text()

    events = files.read_events()
    tool_parts = [e["part"] for e in events_named(events, "http.message.part.updated")
                  if e["part"].get("type") == "tool"]
    assert tool_parts, "tool parts come through as http.message.part.updated"
    states = [p["state"]["status"] for p in tool_parts]
    assert states[0] == "pending" and states[-1] == "completed", states
    done = tool_parts[-1]
    assert done["tool"] == "bash" and done["state"]["input"]["command"] == TOOL_COMMAND
    assert done["state"]["output"] == "TOOL-MARKER-42\n", "the command's real output"
    assert not events_named(events, "tool.call"), "tool parts are not mapped to tool.call"
    assert tool_output_reached_model(server)
    assert events_named(events, "session.end")[-1]["final_output"] == "TOOL-ROUNDTRIP-OK"
    assert files.sentinel_lines()[0] == "DONE"


# ---------------------------------------------------------------------------------------------
# permissions ("permission":{"bash":"ask"})
# ---------------------------------------------------------------------------------------------

PERMISSION_SCRIPT = {"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                               {"reply": "AFTER-ANSWER"}]}


def test_permission_allowed_automatically(avenor, opencode, tmp_path, model_server,
                                          opencode_server):
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server, PERMISSION_SCRIPT,
                                     permission_ask=True)
    run = start_run(avenor, penv, files, "--prompt", "RUN_TOOL", "--auto-approve", url=srv.url)
    assert run.wait(TURN) == 0, files.stderr_text()

    events = files.read_events()
    request = events_named(events, "permission.request")
    assert len(request) == 1, request
    req = request[0]
    assert req["resolver"] == "automatic"
    assert req["request_id"].startswith("per_") and req["tool"] == "permission.bash"
    assert req["patterns"] == [TOOL_COMMAND] and req["always"]
    assert [(o["optionId"], o["kind"]) for o in req["options"]] == [
        ("reject", "reject"), ("allow_once", "allow_once"), (req["request_id"], "allow_once"),
        ("allow_always", "allow_always")]
    response = events_named(events, "permission.response")[0]
    assert response["kind"] == "allow" and response["request_id"] == req["request_id"]
    replied = events_named(events, "http.permission.replied")
    assert replied and replied[0]["reply"] == "once"
    assert tool_output_reached_model(server)
    assert events_named(events, "session.end")[-1]["final_output"] == "AFTER-ANSWER"


@pytest.mark.parametrize("option,message,reply", [
    ("allow_always", "", "always"),
    ("reject", "", "reject"),
    ("reject", "use ls instead", "reject"),
])
def test_permission_answered_by_file(avenor, opencode, tmp_path, model_server, opencode_server,
                                     option, message, reply):
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server, PERMISSION_SCRIPT,
                                     permission_ask=True)
    run = start_run(avenor, penv, files, "--prompt", "RUN_TOOL", url=srv.url)
    request_file = files.root / "run.perm.req"
    run.wait_for_file(request_file, timeout=TURN)
    args = [avenor, "answer", "--option", option, str(files.perm_base)]
    if message:
        args[2:2] = ["--message", message]
    answer = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert answer.returncode == 0, answer.stderr
    assert run.wait(TURN) == 0, files.stderr_text()

    events = files.read_events()
    assert events_named(events, "permission.request")[0]["resolver"] == "file"
    response = events_named(events, "permission.response")[0]
    assert response["source"] == "file" and response["option_id"] == option
    assert events_named(events, "http.permission.replied")[0]["reply"] == reply
    assert tool_output_reached_model(server) == (reply != "reject")
    mains = server.requests(kind="main")
    end = events_named(events, "session.end")[-1]
    if reply == "reject" and not message:
        # opencode stops the turn at a plain reject (finish "tool-calls"): no further model call
        assert len(mains) == 1 and end["stop_reason"] == "end_turn"
        assert "final_output" not in end
    else:
        # with a message (or an allow) opencode goes on and asks the model again
        assert len(mains) == 2 and end["final_output"] == "AFTER-ANSWER"
        if message:
            assert message in str(mains[1]["body"]), "the reject message reached the model"
    assert files.sentinel_lines()[0] == "DONE"


def test_permission_answered_over_the_control_socket(avenor, opencode, tmp_path, model_server,
                                                     opencode_server):
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server, PERMISSION_SCRIPT,
                                     permission_ask=True)
    sock = tmp_path / "ctl.sock"
    run = start_run(avenor, penv, files, "--prompt", "RUN_TOOL", "--control-socket", str(sock),
                    url=srv.url)
    wait_for_socket(sock, run.proc, timeout=60)
    with ControlClient(sock) as c:
        c.subscribe()
        req = c.wait_event(lambda e: e["event"] == "permission.request", timeout=TURN)
        assert req["resolver"] == "reserved"
        assert c.call_ok("answer_permission", {"request_id": req["request_id"],
                                               "option_id": req["request_id"]}) == \
            {"accepted": True}
    assert run.wait(TURN) == 0, files.stderr_text()
    events = files.read_events()
    assert events_named(events, "permission.response")[0]["source"] == "control"
    assert events_named(events, "http.permission.replied")[0]["reply"] == "once"
    assert tool_output_reached_model(server)


# ---------------------------------------------------------------------------------------------
# cancel and failure
# ---------------------------------------------------------------------------------------------

def test_sigterm_aborts_the_turn(avenor, opencode, tmp_path, model_server, opencode_server):
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server,
                                     {"steps": [{"hang": True}]})
    run = start_run(avenor, penv, files, "--prompt", "hang please", url=srv.url)
    server.wait_for_requests(lambda recs: any(r.get("kind") == "main" for r in recs),
                             timeout=TURN, what="main model request")
    run.signal(signal.SIGTERM)
    assert run.wait(60) == 130, files.stderr_text()

    lines = files.sentinel_lines()
    assert lines[0] == "KILLED" and "STOP_REASON=cancelled" in lines
    events = files.read_events()
    end = events_named(events, "session.end")
    assert [e["stop_reason"] for e in end] == ["cancelled"]
    assert not events_named(events, "avenor.error"), "the abort succeeded"
    wait_for_abort(srv, end[0]["session_id"])


def test_control_cancel_aborts_the_turn(avenor, opencode, tmp_path, model_server,
                                        opencode_server):
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server,
                                     {"steps": [{"hang": True}]})
    sock = tmp_path / "ctl.sock"
    run = start_run(avenor, penv, files, "--prompt", "hang please", "--control-socket",
                    str(sock), url=srv.url)
    wait_for_socket(sock, run.proc, timeout=60)
    server.wait_for_requests(lambda recs: any(r.get("kind") == "main" for r in recs),
                             timeout=TURN, what="main model request")
    with ControlClient(sock) as c:
        assert c.call_ok("cancel") == {"ok": True}
    assert run.wait(60) == 130, files.stderr_text()
    end = events_named(files.read_events(), "session.end")
    assert [e["stop_reason"] for e in end] == ["cancelled"]
    wait_for_abort(srv, end[0]["session_id"])


def test_failing_model_is_bounded_by_progress_timeout(avenor, opencode, tmp_path, model_server,
                                                      opencode_server):
    """opencode retries a failing model silently (peers.md); over HTTP the retries show as
    session.status {type:"retry"}, logged as http.session.status, and --progress-timeout
    (restarted by each) ends the run once a backoff gap is longer than the limit."""
    server, penv, srv, files = prepare(
        tmp_path, model_server, opencode_server,
        {"steps": [{"error": 500, "message": "injected failure", "repeat": True}]})
    run = start_run(avenor, penv, files, "--prompt", "hi", "--progress-timeout", "8s",
                    url=srv.url)
    assert run.wait(TURN) == 124, files.stderr_text()
    assert len(server.requests(kind="main")) >= 2, "opencode retried the model"
    events = files.read_events()
    retries = [e for e in events_named(events, "http.session.status")
               if e["status"]["type"] == "retry"]
    assert retries and retries[0]["status"]["message"] == "injected failure"
    lines = files.sentinel_lines()
    assert lines[0] == "TIMEOUT" and "STOP_REASON=progress_timeout" in lines
    end = events_named(events, "session.end")
    assert [e["stop_reason"] for e in end] == ["progress_timeout"]
    # aborted during a retry backoff, opencode 1.18 records no error on the message; the
    # session is no longer retrying, though
    wait_for_idle(srv, end[0]["session_id"])


# ---------------------------------------------------------------------------------------------
# model, agent, resume
# ---------------------------------------------------------------------------------------------

def test_model_reaches_the_model_server(avenor, opencode, tmp_path, model_server,
                                        opencode_server):
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server,
                                     {"steps": [{"reply": "MODEL-OK"}]})
    run = start_run(avenor, penv, files, "--prompt", "hi", "--model", f"fake/{OTHER_MODEL}",
                    url=srv.url)
    assert run.wait(TURN) == 0, files.stderr_text()
    assert [r["body"]["model"] for r in server.requests(kind="main")] == [OTHER_MODEL]


def test_model_without_provider_is_refused_by_the_server(avenor, opencode, tmp_path,
                                                         model_server, opencode_server):
    """No '/' → only modelID is sent (backends.md §2.2); opencode 1.18 requires providerID
    too and answers 400, which is a prompt error (exit 1)."""
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server,
                                     {"steps": [{"reply": "never"}]})
    run = start_run(avenor, penv, files, "--prompt", "hi", "--model", OTHER_MODEL, url=srv.url)
    assert run.wait(TURN) == 1
    assert "HTTP 400" in files.stderr_text() and "providerID" in files.stderr_text()
    errors = events_named(files.read_events(), "avenor.error")
    assert errors and errors[0]["source"] == "prompt"
    assert not server.requests(kind="main")


def test_agent_and_its_configured_model(avenor, opencode, tmp_path, model_server,
                                        opencode_server):
    """--agent goes with every message; with no --model, avenor looks the agent's model up in
    the opencode.json it can read (cli.md §3.13) and sends it too."""
    server = model_server({"steps": [{"reply": "PLAN-OK"}, {"reply": "REVIEW-OK"}]})
    agents = {"reviewer": {"mode": "primary", "model": f"fake/{OTHER_MODEL}",
                           "prompt": "You review."}}
    penv = opencode_http_env(tmp_path, server, agents=agents)
    config = Path(penv.env["XDG_CONFIG_HOME"]) / "opencode" / "opencode.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('{"agent": {"reviewer": {"model": "fake/%s"}}}' % OTHER_MODEL)
    srv = opencode_server(penv)

    files = RunFiles(tmp_path / "plan")
    run = start_run(avenor, penv, files, "--prompt", "hi", "--agent", "plan", url=srv.url)
    assert run.wait(TURN) == 0, files.stderr_text()
    assistant = [e["info"] for e in events_named(files.read_events(), "http.message.updated")
                 if e["info"]["role"] == "assistant"]
    assert assistant and assistant[-1]["agent"] == "plan"

    files = RunFiles(tmp_path / "reviewer")
    run = start_run(avenor, penv, files, "--prompt", "hi", "--agent", "reviewer", url=srv.url)
    assert run.wait(TURN) == 0, files.stderr_text()
    assistant = [e["info"] for e in events_named(files.read_events(), "http.message.updated")
                 if e["info"]["role"] == "assistant"]
    assert assistant[-1]["agent"] == "reviewer"
    assert assistant[-1]["modelID"] == OTHER_MODEL
    assert [r["body"]["model"] for r in server.requests(kind="main")] == ["fake-model",
                                                                        OTHER_MODEL]


def test_resume_from_a_new_process(avenor, opencode, tmp_path, model_server, opencode_server):
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server,
                                     {"steps": [{"reply": "FIRST-ANSWER"},
                                                {"reply": "SECOND-ANSWER"}]})
    run = start_run(avenor, penv, files, "--prompt", "first question", url=srv.url)
    assert run.wait(TURN) == 0, files.stderr_text()
    session = events_named(files.read_events(), "session.end")[0]["session_id"]

    files2 = RunFiles(tmp_path / "run2")
    run = start_run(avenor, penv, files2, "--prompt", "second question", "--resume", session,
                    url=srv.url)
    assert run.wait(TURN) == 0, files2.stderr_text()
    end = events_named(files2.read_events(), "session.end")
    assert end[-1]["session_id"] == session and end[-1]["final_output"] == "SECOND-ANSWER"
    assert files2.sentinel_lines()[1] == f"SESSION={session}"
    second = server.requests(kind="main")[-1]["body"]
    assert "first question" in str(second["messages"]) and "FIRST-ANSWER" in str(
        second["messages"]), "the resumed session carries the first turn"

    files3 = RunFiles(tmp_path / "run3")
    run = start_run(avenor, penv, files3, "--prompt", "x", "--resume", "ses_doesnotexist",
                    url=srv.url)
    assert run.wait(TURN) == 1
    assert "resume session ses_doesnotexist" in files3.stderr_text()
    assert "HTTP 404" in files3.stderr_text()


# ---------------------------------------------------------------------------------------------
# server URL: Basic auth, AVENOR_OPENCODE_URL, --dir
# ---------------------------------------------------------------------------------------------

def test_basic_auth_from_url_userinfo(avenor, opencode, tmp_path, model_server,
                                      opencode_server):
    """OPENCODE_SERVER_PASSWORD makes opencode require HTTP Basic auth (user "opencode") on
    every route, /global/health and /event included."""
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server,
                                     {"steps": [{"reply": "AUTH-OK"}]}, password="s3cret-pw")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(srv.url + "/global/health", timeout=30)
    assert refused.value.code == 401
    run = start_run(avenor, penv, files, "--prompt", "hi",
                    url=srv.url_with_auth("opencode", "s3cret-pw"))
    assert run.wait(TURN) == 0, files.stderr_text()
    assert events_named(files.read_events(), "session.end")[0]["final_output"] == "AUTH-OK"
    assert deltas(files.read_events()), "the event stream was authorized too"
    assert "s3cret-pw" not in files.events.read_text() + files.stderr_text()

    bad = RunFiles(tmp_path / "bad")
    run = start_run(avenor, penv, bad, "--prompt", "hi",
                    url=srv.url_with_auth("opencode", "wrong-pw"))
    started = time.monotonic()
    assert run.wait(TURN) == 1
    assert time.monotonic() - started < 25, "a 401 is not retried for the 30 s health limit"
    assert "GET /global/health: HTTP 401" in bad.stderr_text()
    assert "wrong-pw" not in bad.stderr_text()
    assert bad.sentinel_lines()[0] == "FAILED"


def test_url_from_environment_and_flag_precedence(avenor, opencode, tmp_path, model_server,
                                                  opencode_server):
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server,
                                     {"steps": [{"reply": "ENV-OK"}, {"reply": "FLAG-OK"}]})
    run = start_run(avenor, penv, files, "--prompt", "hi",
                    env=avenor_env(penv, AVENOR_OPENCODE_URL=srv.url))
    assert run.wait(TURN) == 0, files.stderr_text()
    session = events_named(files.read_events(), "session.end")[0]["session_id"]
    assert session in [s["id"] for s in srv.get("/session")], "the session lives on that server"

    files2 = RunFiles(tmp_path / "run2")
    run = start_run(avenor, penv, files2, "--prompt", "hi", url=srv.url,
                    env=avenor_env(penv, AVENOR_OPENCODE_URL="http://127.0.0.1:9"))
    assert run.wait(TURN) == 0, files2.stderr_text()
    assert events_named(files2.read_events(), "session.end")[0]["final_output"] == "FLAG-OK"


def test_dir_must_be_empty_or_dot_with_a_url(avenor, opencode, tmp_path, model_server,
                                             opencode_server):
    server, penv, srv, files = prepare(tmp_path, model_server, opencode_server,
                                     {"steps": [{"reply": "DOT-OK"}]})
    run = start_run(avenor, penv, files, "--prompt", "hi", "--dir", str(penv.project),
                    url=srv.url)
    assert run.wait(60) == 1
    assert '--dir must be empty or "." with a server URL' in files.stderr_text()
    assert files.sentinel_lines()[0] == "FAILED"
    files2 = RunFiles(tmp_path / "run2")
    run = start_run(avenor, penv, files2, "--prompt", "hi", "--dir", ".", url=srv.url)
    assert run.wait(TURN) == 0, files2.stderr_text()


# ---------------------------------------------------------------------------------------------
# the managed server (no URL)
# ---------------------------------------------------------------------------------------------

def test_managed_server_runs_in_dir_and_stops_with_the_run(avenor, opencode, tmp_path,
                                                           model_server):
    server = model_server({"steps": [{"delay_ms": 1500, "reply": "MANAGED-OK"}]})
    penv = opencode_http_env(tmp_path, server)
    files = RunFiles(tmp_path / "run")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    args = standard_run_args(files, "--backend", "opencode-http", "--run-id", RUN_ID,
                             "--dir", str(penv.project), "--prompt", "hi")
    run = AvenorProcess(avenor, args, avenor_env(penv), files, cwd=elsewhere)
    server.wait_for_requests(lambda recs: any(r.get("kind") == "main" for r in recs),
                             timeout=TURN, what="main model request")
    pids = opencode_serve_pids(penv.project)
    assert len(pids) == 1, f"one managed opencode serve in --dir, got {pids}"
    assert run.wait(TURN) == 0, files.stderr_text()

    events = files.read_events()
    end = events_named(events, "session.end")
    assert end[0]["final_output"] == "MANAGED-OK"
    assert end[0]["session_id"].startswith("ses_")
    cwds = {e["info"]["path"]["cwd"] for e in events_named(events, "http.message.updated")
            if e["info"].get("path")}
    assert cwds == {os.path.realpath(penv.project)}, f"the server ran in --dir: {cwds}"
    wait_until(lambda: not opencode_serve_pids(penv.project), timeout=10,
               what="the managed opencode serve to be gone after the run")
    assert not opencode_serve_pids(penv.project)


def test_managed_server_is_stopped_on_sigterm(avenor, opencode, tmp_path, model_server):
    server = model_server({"steps": [{"hang": True}]})
    penv = opencode_http_env(tmp_path, server)
    files = RunFiles(tmp_path / "run")
    args = standard_run_args(files, "--backend", "opencode-http", "--run-id", RUN_ID,
                             "--dir", str(penv.project), "--prompt", "hang")
    run = AvenorProcess(avenor, args, avenor_env(penv), files, cwd=tmp_path)
    server.wait_for_requests(lambda recs: any(r.get("kind") == "main" for r in recs),
                             timeout=TURN, what="main model request")
    assert opencode_serve_pids(penv.project)
    run.signal(signal.SIGTERM)
    assert run.wait(60) == 130, files.stderr_text()
    assert [e["stop_reason"] for e in events_named(files.read_events(), "session.end")] == \
        ["cancelled"]
    wait_until(lambda: not opencode_serve_pids(penv.project), timeout=10,
               what="the managed opencode serve to be gone after the run")


def test_managed_server_that_cannot_start(avenor, tmp_path):
    """An `opencode` on PATH that exits at once: the start fails with what it printed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "opencode"
    fake.write_text("#!/bin/sh\necho 'Error: cannot serve here'\nexit 3\n")
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "AVENOR_OPENCODE_URL"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    files = RunFiles(tmp_path / "run")
    args = standard_run_args(files, "--backend", "opencode-http", "--prompt", "hi")
    run = AvenorProcess(avenor, args, env, files, cwd=tmp_path)
    assert run.wait(60) == 1
    err = files.stderr_text()
    assert "opencode serve exited" in err and "Error: cannot serve here" in err, err
    assert files.sentinel_lines()[0] == "FAILED"


# ---------------------------------------------------------------------------------------------
# scripted peer: what the real server cannot be made to do on demand
# ---------------------------------------------------------------------------------------------

class FakeOpencode:
    """tests/e2e/fake_opencode_server.py, started with a config dict."""

    def __init__(self, tmp_path: Path, config: dict):
        self.dir = tmp_path / "fake-opencode"
        self.dir.mkdir()
        (self.dir / "config.json").write_text(json.dumps(config))
        self.record = self.dir / "record.ndjson"
        script = Path(__file__).resolve().parent / "fake_opencode_server.py"
        self.proc = subprocess.Popen([sys.executable, str(script), "--config",
                                      str(self.dir / "config.json"), "--record", str(self.record)],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("PORT "), f"fake_opencode_server printed {line!r}"
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def requests(self) -> list[dict]:
        return [json.loads(l) for l in self.record.read_text().splitlines() if l.strip()]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture
def fake_opencode(tmp_path):
    started = []

    def start(config: dict) -> FakeOpencode:
        f = FakeOpencode(tmp_path, config)
        started.append(f)
        return f

    yield start
    for f in started:
        f.stop()


def plain_env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "AVENOR_OPENCODE_URL"}


def test_event_stream_reconnects(avenor, tmp_path, fake_opencode):
    """Scripted peer (fake_opencode_server.py): the first two /event connections are dropped
    by the server right after server.connected; the turn's events only go out on the third.
    The real opencode cannot be made to drop its stream on demand."""
    fake = fake_opencode({"drop_streams": 2, "reply_chunks": ["AFTER-", "RECONNECT"]})
    files = RunFiles(tmp_path / "run")
    args = standard_run_args(files, "--backend", "opencode-http", "--server-url", fake.url,
                             "--prompt", "hi")
    assert AvenorProcess(avenor, args, plain_env(), files, cwd=tmp_path).wait(60) == 0, \
        files.stderr_text()
    events = files.read_events()
    assert deltas(events) == ["AFTER-", "RECONNECT"]
    assert events_named(events, "session.end")[0]["final_output"] == "AFTER-RECONNECT"
    streams = [r["time"] for r in fake.requests() if r["path"] == "/event"]
    assert len(streams) == 3, streams
    gaps = [b - a for a, b in zip(streams, streams[1:])]
    # each dropped connection had delivered data (server.connected), so the backoff starts
    # over at 100 ms every time
    assert all(0.09 <= g < 5 for g in gaps), f"reconnect gaps: {gaps}"
    assert "event stream" in files.stderr_text() and "reconnecting in 100 ms" in \
        files.stderr_text()


def test_permission_reply_falls_back_to_the_session_route(avenor, tmp_path, fake_opencode):
    """Scripted peer: POST /permission/{id}/reply answers 404 (as on servers without that
    route), so the answer goes to POST /session/{id}/permissions/{id}."""
    fake = fake_opencode({"permission": True, "primary_reply_status": 404,
                          "reply_chunks": ["DONE"]})
    files = RunFiles(tmp_path / "run")
    args = standard_run_args(files, "--backend", "opencode-http", "--server-url", fake.url,
                             "--prompt", "hi", "--auto-approve")
    assert AvenorProcess(avenor, args, plain_env(), files, cwd=tmp_path).wait(60) == 0, \
        files.stderr_text()
    posts = [r for r in fake.requests() if r["method"] == "POST"]
    primary = [r for r in posts if r["path"] == "/permission/per_fake1/reply"]
    fallback = [r for r in posts if r["path"] == "/session/ses_fake1/permissions/per_fake1"]
    assert primary and primary[0]["body"] == {"reply": "once"}
    assert fallback and fallback[0]["body"] == {"reply": "once", "response": "once",
                                                "remember": False}
    assert events_named(files.read_events(), "session.end")[0]["final_output"] == "DONE"
