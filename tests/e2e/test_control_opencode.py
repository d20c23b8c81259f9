"""The control socket steering a real `opencode acp` (npm opencode-ai) that talks to the
scripted model server on 127.0.0.1: status while running, a live tail compared with the log,
a permission answered over the socket, a queued prompt and an interrupt."""

from __future__ import annotations

import pytest

import peers
from avenor_cli import AvenorProcess, RunFiles, assert_log_well_formed, events_named, \
    standard_run_args
from control_rpc import ControlClient, wait_for_socket, wait_until

TOOL_COMMAND = "printf 'TOOL-MARKER-%d\\n' 42"


@pytest.fixture
def opencode():
    return peers.require_peer("opencode")


def start(avenor, tmp_path, server, permission_ask=False):
    env = peers.opencode_env(tmp_path, server, permission_ask=permission_ask)
    files = RunFiles(tmp_path / "run")
    sock = tmp_path / "ctl.sock"
    args = standard_run_args(files, "--backend", "opencode-acp", "--dir", str(env.project),
                             "--run-id", "run-oc-ctl", "--prompt", "RUN_TOOL",
                             "--control-socket", str(sock))
    run = AvenorProcess(avenor, args, env.env, files)
    wait_for_socket(sock, run.proc, timeout=60)
    return run, files, sock


def test_permission_over_socket_then_queued_prompt(avenor, opencode, tmp_path, model_server):
    server = model_server({"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                     {"reply": "FIRST-DONE"},
                                     {"reply": "SECOND-DONE"}]})
    run, files, sock = start(avenor, tmp_path, server, permission_ask=True)
    with ControlClient(sock) as tail, ControlClient(sock) as owner:
        tail.subscribe()
        req = tail.wait_event(lambda e: e["event"] == "permission.request", timeout=90)
        assert req["resolver"] == "reserved"
        status = owner.call_ok("status")
        assert status["pending_permission"] is True
        assert status["permission"]["request_id"] == req["request_id"]
        assert status["session_id"].startswith("ses_")
        assert status["pid"] > 0
        allow = next(o["optionId"] for o in req["options"] if o["kind"].startswith("allow"))
        assert owner.call_ok("prompt", {"text": "Now say the second thing."}) == \
            {"accepted": True}
        assert owner.call_ok("answer_permission", {"request_id": req["request_id"],
                                                   "option_id": allow}) == {"accepted": True}
        second = tail.wait_event(lambda e: e["event"] == "session.end" and
                                 "SECOND-DONE" in e.get("final_output", ""), timeout=90)
        assert owner.call_ok("result")["final_output"] == second["final_output"]
        tail.read_until_closed()
    assert run.wait(60) == 0, files.stderr_text()

    log = files.read_events()
    assert_log_well_formed(log, run_id="run-oc-ctl")
    got = tail.events
    by_seq = {e["seq"]: e for e in log}
    assert [e["seq"] for e in got] == list(range(got[0]["seq"], log[-1]["seq"] + 1)), \
        "the tail missed or reordered events"
    assert all(e == by_seq[e["seq"]] for e in got)
    ends = events_named(log, "session.end")
    assert len(ends) == 2 and ends[0]["session_id"] == ends[1]["session_id"]
    assert ends[0]["final_output"].endswith("FIRST-DONE")
    assert ends[1]["final_output"].endswith("SECOND-DONE")
    assert events_named(log, "permission.response")[0]["source"] == "control"
    assert any("TOOL-MARKER-42" in str(r.get("body")) for r in server.requests(kind="main"))
    assert files.sentinel_lines()[0] == "DONE"


def test_interrupt_and_prompt_redirects_a_stuck_turn(avenor, opencode, tmp_path, model_server):
    server = model_server({"steps": [{"hang": True}, {"reply": "REDIRECTED-OK"}]})
    run, files, sock = start(avenor, tmp_path, server)
    with ControlClient(sock) as c:
        wait_until(lambda: len(server.requests(kind="main")) >= 1, timeout=90,
                   what="opencode's first model request")
        st = c.call_ok("status")
        assert st["session_id"].startswith("ses_")
        assert c.call_ok("interrupt_and_prompt", {"text": "Stop. Say redirected."}) == \
            {"accepted": True}
        c.subscribe()
        c.wait_event(lambda e: e["event"] == "session.end" and
                     e.get("final_output", "").endswith("REDIRECTED-OK"), timeout=90)
    assert run.wait(60) == 0, files.stderr_text()
    ends = events_named(files.read_events(), "session.end")
    assert [e["stop_reason"] for e in ends] == ["cancelled", "end_turn"]
    assert ends[0]["session_id"] == ends[1]["session_id"]
