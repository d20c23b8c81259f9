"""The control socket of `avenor run --control-socket` (control.md §1–§8), driven with a
raw JSON-RPC client against the real binary and the scripted ACP agent."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess

import pytest

from avenor_cli import AvenorProcess, RunFiles, events_named, standard_run_args
from control_rpc import ControlClient, wait_for_socket, wait_until
from fake_agent import fake_cli_env, read_record, recorded_methods

RUN_ID = "ctlrun0000000001"

HOLD = [{"chunk": "working"}, {"sleep_ms": 60000}]  # a turn that waits to be steered


def permission_turn(then=None):
    """A tool call that asks for permission, then text depending on the answer."""
    return [
        {"tool_call": {"toolCallId": "c1", "title": "ls", "kind": "execute", "status": "pending"}},
        {"permission": {"toolCall": {"toolCallId": "c1", "title": "ls", "kind": "execute"}},
         "on_allow": [{"tool_call_update": {"toolCallId": "c1", "status": "completed"}},
                      {"chunk": "allowed"}],
         "on_reject": [{"chunk": "rejected"}]},
        *(then or []),
    ]


class Run:
    """One `avenor run --control-socket` against the fake agent."""

    def __init__(self, avenor, tmp_path, turns, *extra, env_extra=None, script_extra=None,
                 sock=None, prepare=None):
        self.files = RunFiles(tmp_path / "run")
        self.sock = sock or (tmp_path / "ctl" / "run.sock")
        script = {"turns": turns, **(script_extra or {})}
        self.env, self.record = fake_cli_env(tmp_path, script)
        self.env.update(env_extra or {})
        if prepare:
            prepare()
        args = standard_run_args(self.files, "--run-id", RUN_ID, "--prompt", "first",
                                 "--control-socket", str(self.sock), *extra)
        self.proc = AvenorProcess(avenor, args, self.env, self.files)

    def ready(self) -> "Run":
        wait_for_socket(self.sock, self.proc.proc)
        return self

    def client(self) -> ControlClient:
        """A connected client the server has registered (one round trip done), so it
        counts for permission claims from now on."""
        c = ControlClient(self.sock)
        c.call_ok("identity")
        return c

    def wait(self, timeout=60.0) -> int:
        return self.proc.wait(timeout)

    def events(self):
        return self.files.read_events()

    def wait_event(self, predicate, timeout=60.0):
        return self.proc.wait_for_event(predicate, timeout)


def session_started(e):
    return e.get("event") == "agent.message_chunk"


# The first turn holds until a connected client redirects the run to the second turn, so
# the second turn's permission request deterministically finds that client connected.
STEERED = "steer"


def steer(c: ControlClient, r: "Run", keep_queue: bool = False) -> None:
    r.wait_event(session_started)  # an interrupt before the first turn would replace its prompt
    c.call_ok("interrupt_and_prompt", {"text": STEERED, "keep_queue": keep_queue})


def without_bounds(e: dict) -> dict:
    """A control copy compared with the log: final_output may be cut on control surfaces."""
    return {k: v for k, v in e.items() if k not in ("final_output", "final_output_truncated")}


# ---------------------------------------------------------------------------------------------
# Socket file, lock, readiness, identity (§1)
# ---------------------------------------------------------------------------------------------

def test_socket_modes_parent_dir_lock_and_cleanup(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD]).ready()
    sock_dir = r.sock.parent
    assert stat.S_IMODE(os.stat(sock_dir).st_mode) == 0o700
    assert stat.S_ISSOCK(os.stat(r.sock).st_mode)
    assert stat.S_IMODE(os.stat(r.sock).st_mode) == 0o600
    lock = sock_dir / "run.sock.control.lock"
    assert stat.S_IMODE(os.stat(lock).st_mode) == 0o600
    with r.client() as c:
        c.call_ok("cancel")
    assert r.wait() == 130
    assert not r.sock.exists(), "the socket must be unlinked at stop"
    assert lock.exists(), "the lock file is never deleted"


def test_existing_parent_dir_is_not_chmodded(avenor, tmp_path):
    d = tmp_path / "shared"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    r = Run(avenor, tmp_path, [[{"chunk": "x"}]], sock=d / "a.sock")
    assert r.wait() == 0
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o755


def test_identity_token_and_ready_fd_are_consumed(avenor, tmp_path):
    read_fd, write_fd = os.pipe()
    files = RunFiles(tmp_path / "run")
    sock = tmp_path / "ctl.sock"
    env, _ = fake_cli_env(tmp_path, {"turns": [HOLD]})
    env["AVENOR_CONTROL_IDENTITY_TOKEN"] = "tok-123"
    env["AVENOR_CONTROL_READY_FD"] = str(write_fd)
    # The backend's environment is captured by a wrapper in front of the fake.
    env_dump = tmp_path / "backend.env"
    wrapper = tmp_path / "fake-bin" / "opencode"
    real = wrapper.read_text().splitlines()[-1]
    wrapper.write_text(f"#!/bin/sh\nenv > {env_dump}\n{real}\n")
    args = standard_run_args(files, "--prompt", "p", "--control-socket", str(sock))
    proc = subprocess.Popen([avenor, *args], env=env, pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_fd)
    try:
        os.set_blocking(read_fd, True)
        assert os.read(read_fd, 1) == b"\x01"
        assert os.read(read_fd, 1) == b"", "the ready fd must be closed after the byte"
        assert os.path.exists(sock), "ready byte before the socket was bound"
        with ControlClient(sock) as c:
            assert c.call_ok("identity") == {"token": "tok-123"}
            wait_until(lambda: env_dump.exists() and env_dump.read_text(), what="backend env dump")
            dumped = env_dump.read_text()
            assert "AVENOR_CONTROL_IDENTITY_TOKEN" not in dumped
            assert "AVENOR_CONTROL_READY_FD" not in dumped
            c.call_ok("cancel")
        assert proc.wait(60) == 130
    finally:
        os.close(read_fd)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_identity_without_token_is_empty(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD]).ready()
    with r.client() as c:
        assert c.call_ok("identity") == {"token": ""}
        c.call_ok("cancel")
    assert r.wait() == 130


def test_stale_socket_file_is_replaced(avenor, tmp_path):
    sock = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(sock))
    s.close()  # leaves the file behind with nobody listening
    assert sock.exists()
    r = Run(avenor, tmp_path, [[{"chunk": "ok"}]], sock=sock)
    assert r.wait() == 0, r.files.stderr_text()
    assert not sock.exists()


def test_live_socket_is_refused(avenor, tmp_path):
    sock = tmp_path / "live.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(sock))
    listener.listen(4)
    try:
        r = Run(avenor, tmp_path, [[{"chunk": "ok"}]], sock=sock)
        assert r.wait() == 1
        assert f"avenor: start control server: control socket already in use: {sock}\n" in \
            r.files.stderr_text()
        assert r.files.sentinel_lines()[0] == "FAILED"
        assert sock.exists(), "a live socket must be left alone"
        # (new) the log ends with the failure, so a watcher does not wait forever
        assert [(e["event"], e["error"]) for e in r.files.read_events()] == [
            ("session.end", f"start control server: control socket already in use: {sock}")]
    finally:
        listener.close()


@pytest.mark.parametrize("kind", ["regular", "fifo", "symlink"])
def test_non_socket_path_is_refused_and_left_untouched(avenor, tmp_path, kind):
    # connect() on a FIFO or a regular file also fails with ECONNREFUSED, which
    # must not pass for a stale socket: the path is someone's data.
    sock = tmp_path / "not-a.sock"
    target = tmp_path / "target.txt"
    if kind == "regular":
        sock.write_bytes(b"precious\n")
    elif kind == "fifo":
        os.mkfifo(sock, 0o640)
    else:
        target.write_bytes(b"precious\n")
        os.symlink(target, sock)
    before = os.lstat(sock)
    r = Run(avenor, tmp_path, [[{"chunk": "ok"}]], sock=sock)
    assert r.wait() == 1
    assert r.files.stderr_text() == (
        f"avenor: start control server: control socket path exists and is not a socket: {sock}\n")
    assert r.files.sentinel_lines()[0] == "FAILED"
    assert [(e["event"], e["stop_reason"]) for e in r.files.read_events()] == [
        ("session.end", "error")]  # (new) the log ends with the failure
    after = os.lstat(sock)
    assert (after.st_ino, after.st_mode, after.st_size, after.st_mtime_ns) == \
        (before.st_ino, before.st_mode, before.st_size, before.st_mtime_ns)
    if kind == "regular":
        assert sock.read_bytes() == b"precious\n"
    elif kind == "fifo":
        assert stat.S_ISFIFO(after.st_mode)
    else:
        assert os.readlink(sock) == str(target) and target.read_bytes() == b"precious\n"
    assert recorded_methods(r.record) == [], "no agent may start"


def test_replaced_socket_is_not_unlinked(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD]).ready()
    with r.client() as c:
        os.unlink(r.sock)
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        other.bind(str(r.sock))
        other.listen(1)
        c.call_ok("cancel")
    try:
        assert r.wait() == 130
        assert r.sock.exists(), "a socket re-bound by someone else must survive the run's stop"
    finally:
        other.close()


# ---------------------------------------------------------------------------------------------
# Framing and errors (§2, §5)
# ---------------------------------------------------------------------------------------------

def test_framing_errors_keep_the_connection(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD]).ready()
    with r.client() as c:
        c.send_raw(b"{not json\n")
        assert c.read_frame() == {"jsonrpc": "2.0", "id": None,
                                  "error": {"code": -32700, "message": "parse error"}}
        c.send({"jsonrpc": "1.0", "id": 7, "method": "status"})
        assert c.read_frame() == {"jsonrpc": "2.0", "id": 7,
                                  "error": {"code": -32600, "message": "invalid request"}}
        c.send({"jsonrpc": "2.0", "id": "s", "method": "nope"})
        assert c.read_frame() == {"jsonrpc": "2.0", "id": "s",
                                  "error": {"code": -32601, "message": "method not found"}}
        # A notification runs but gets no reply: the next frame answers the next request.
        c.send({"jsonrpc": "2.0", "method": "status"})
        c.send({"jsonrpc": "2.0", "id": None, "method": "identity"})
        c.send({"jsonrpc": "2.0", "id": 0, "method": "identity"})
        assert c.read_frame() == {"jsonrpc": "2.0", "id": 0, "result": {"token": ""}}
        # Requests on one connection are answered in order.
        ids = [c.request("status") for _ in range(20)]
        got = [c.read_frame()["id"] for _ in ids]
        assert got == ids
        assert c.call_error("status", {"runtime_id": "rt_1"})["code"] == -32601
        assert c.call_error("list")["code"] == -32601
        assert c.call_error("wait_turn", {"runtime_id": "rt_1"})["code"] == -32601
        assert c.call_error("prompt", {"text": ""}) == {
            "code": -32602, "message": "invalid params", "data": {"required": ["text"]}}
        assert c.call_error("prompt", {"text": 5})["code"] == -32602
        c.send_raw(b'{"jsonrpc":"2.0","id":9,"method":"status","params":[1]}\n')
        assert c.read_frame()["error"]["code"] == -32602
        c.call_ok("cancel")
    assert r.wait() == 130


def test_oversize_line_drops_only_that_connection(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD]).ready()
    with r.client() as bystander, r.client() as c:
        big = b'{"jsonrpc":"2.0","id":1,"method":"status","params":{"x":"' + \
            b"a" * (4 * 1024 * 1024) + b'"}}\n'
        try:
            c.send_raw(big)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert c.read_frame() is None, "an over-long line must drop the connection"
        assert bystander.call_ok("identity") == {"token": ""}
        # A line just under the cap is accepted.
        with r.client() as d:
            pad = "b" * (4 * 1024 * 1024 - 200)
            ok = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "identity",
                             "params": {"pad": pad}}).encode() + b"\n"
            assert len(ok) <= 4 * 1024 * 1024 + 1
            d.send_raw(ok)
            assert d.read_frame() == {"jsonrpc": "2.0", "id": 2, "result": {"token": ""}}
        bystander.call_ok("cancel")
    assert r.wait() == 130


# ---------------------------------------------------------------------------------------------
# Ownership (§4)
# ---------------------------------------------------------------------------------------------

def test_first_mutator_owns_until_it_disconnects(avenor, tmp_path):
    r = Run(avenor, tmp_path, [permission_turn()]).ready()
    a = r.client()
    b = r.client()
    assert a.call_ok("prompt", {"text": "later"}) == {"accepted": True}
    denied = b.call_error("cancel")
    assert denied == {"code": -32010, "message": "permission_denied"}
    assert b.call_error("publish_event", {"event": {"event": "x"}})["code"] == -32010
    # Reads are never checked.
    assert "run_id" in b.call_ok("status")
    a.close()
    wait_until(lambda: "error" not in b.call("release_claim", {"request_id": "none"}),
               what="ownership released after the owner disconnected")
    b.call_ok("cancel")
    b.close()
    assert r.wait() == 130


def test_spawn_claims_ownership_then_is_not_found(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD]).ready()
    with r.client() as a, r.client() as b:
        assert a.call_error("spawn", {"prompt": "x"})["code"] == -32601
        assert b.call_error("shutdown")["code"] == -32010
        a.call_ok("cancel")
    assert r.wait() == 130


# ---------------------------------------------------------------------------------------------
# status / result / cancel (§6, §7)
# ---------------------------------------------------------------------------------------------

def test_status_while_running_and_result(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD], "--label", "lbl", "--max-retries", "2").ready()
    with r.client() as c:
        r.wait_event(session_started)
        s = wait_until(lambda: (lambda st: st if st.get("turn_state") == "running" else None)(
            c.call_ok("status")), what="turn_state running")
        assert s["session_id"] == "ses_fake_1"
        assert s["run_id"] == RUN_ID and s["run_label"] == "lbl"
        assert s["pending_permission"] is False
        assert s["retry_attempt"] == 1 and s["max_retries"] == 2
        assert isinstance(s["started_at"], int) and s["updated_at"] >= s["started_at"]
        assert s["last_event"] == "agent.message_chunk"
        assert s["latest_seq"] == r.events()[-1]["seq"]
        assert isinstance(s["pid"], int) and s["pid"] > 0
        assert "final_output" not in s
        assert c.call_ok("result") == {"final_output": ""}
        assert c.call_ok("cancel") == {"ok": True}
    assert r.wait() == 130
    assert r.files.sentinel_lines()[0] == "KILLED"
    end = events_named(r.events(), "session.end")[-1]
    assert end["stop_reason"] == "cancelled"


def test_final_output_bounded_on_status_full_in_result_and_log(avenor, tmp_path):
    long_text = "é" * 5000
    r = Run(avenor, tmp_path, [HOLD, [{"chunk": long_text}, {"end": {"stopReason": "end_turn"}}],
                               HOLD]).ready()
    with r.client() as c:
        c.subscribe()
        c.call_ok("prompt", {"text": "hold again"})  # keeps the run alive after the long turn
        steer(c, r, keep_queue=True)
        end = c.wait_event(lambda e: e["event"] == "session.end" and
                           e.get("final_output", "").startswith("é"))
        assert end["final_output"] == "é" * 4096 and end["final_output_truncated"] is True
        s = c.call_ok("status")
        assert s["final_output"] == "é" * 4096 and s["final_output_truncated"] is True
        assert c.call_ok("result") == {"final_output": long_text}
        c.call_ok("cancel")
    assert r.wait() == 130
    log_end = [e for e in events_named(r.events(), "session.end")
               if e.get("final_output", "").startswith("é")]
    assert log_end[0]["final_output"] == long_text and "final_output_truncated" not in log_end[0]


# ---------------------------------------------------------------------------------------------
# subscribe / history / publish_event (§6, §8)
# ---------------------------------------------------------------------------------------------

def test_tail_receives_every_event_in_seq_order(avenor, tmp_path):
    turn = [{"thought": "hmm"}, {"tool_call": {"toolCallId": "t", "title": "ls", "kind": "read"}},
            {"flood": {"count": 200, "text": "x", "numbered": True}},
            {"permission": {}, "on_allow": [{"chunk": "done"}]}]
    r = Run(avenor, tmp_path, [HOLD, turn], "--auto-approve").ready()
    with r.client() as c:
        c.subscribe()
        steer(c, r)
        c.read_until_closed()
    assert r.wait() == 0
    log = r.events()
    got = c.events
    assert got, "no events received"
    assert not events_named(got, "subscriber.lagged"), "a reading client must not lag"
    # Everything published after the subscription, in order and without gaps.
    first = got[0]["seq"]
    assert [e["seq"] for e in got] == list(range(first, log[-1]["seq"] + 1))
    by_seq = {e["seq"]: e for e in log}
    for e in got:
        assert without_bounds(e) == without_bounds(by_seq[e["seq"]])


def test_subscribe_params_and_history(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD, permission_turn()], "--runtime-id", "rt_7").ready()
    with r.client() as c:
        steer(c, r)
        assert c.call_error("subscribe", {"limit": -1})["code"] == -32602
        assert c.call_error("subscribe", {"replay": True})["data"] == {"required": ["runtime_id"]}
        assert c.call_error("subscribe", {"after_seq": 3})["data"] == {"required": ["runtime_id"]}
        assert c.call_error("history", {})["data"] == {"required": ["runtime_id"]}
        r.wait_event(lambda e: e["event"] == "permission.request")
        h = c.call_ok("history", {"runtime_id": "rt_7"})
        log = r.events()
        assert h["runtime_id"] == "rt_7" and h["latest_seq"] == log[-1]["seq"]
        assert [e["seq"] for e in h["events"]] == [e["seq"] for e in log]
        assert all(e["runtime_id"] == "rt_7" for e in h["events"])
        h2 = c.call_ok("history", {"runtime_id": "rt_7", "limit": 2, "after_seq": 1})
        assert [e["seq"] for e in h2["events"]] == [e["seq"] for e in log][-2:]
        assert c.call_ok("history", {"runtime_id": "other"}) == {
            "runtime_id": "other", "events": [], "latest_seq": 0}

        # Replay then live, no duplicates, starting after after_seq.
        c.subscribe({"runtime_id": "rt_7", "replay": True, "after_seq": 2, "limit": 256})
        expected = [e["seq"] for e in log if e["seq"] > 2]
        wait_until(lambda: len(c.events) >= len(expected) or c.read_frame() is None,
                   what="the replayed events")
        assert [e["seq"] for e in c.events] == expected
        # The subscribed response came before any replayed event (read order).
        c.call_ok("answer_permission", {"request_id": "0", "option_id": "once"})
        c.wait_event(lambda e: e["event"] == "session.end")
        seqs = [e["seq"] for e in c.events]
        assert seqs == sorted(set(seqs)), seqs
        # A second subscription on the same connection adds another stream.
        c.subscribe({"runtime_id": "rt_7", "replay": True, "limit": 3})
    assert r.wait() == 0


def test_subscribe_response_precedes_replay(avenor, tmp_path):
    r = Run(avenor, tmp_path, [permission_turn()], "--runtime-id", "rt_1").ready()
    with r.client() as c:
        r.wait_event(lambda e: e["event"] == "permission.request")
        rid = c.request("subscribe", {"runtime_id": "rt_1", "replay": True})
        first = c.read_frame()
        assert first.get("id") == rid and first["result"] == {"subscribed": True}
        second = c.read_frame()
        assert second["method"] == "event" and second["params"]["seq"] == 1
        c.call_ok("cancel")
    assert r.wait() == 130


def test_publish_event_goes_through_the_pipeline(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD]).ready()
    with r.client() as c, r.client() as watcher:
        watcher.subscribe()
        r.wait_event(session_started)
        assert c.call_error("publish_event", {})["data"] == {"required": ["event"]}
        assert c.call_error("publish_event", {"event": {"x": 1}})["data"] == \
            {"required": ["event"]}
        seq = c.call_ok("publish_event", {"event": {"event": "custom.note", "n": 1}})["seq"]
        got = watcher.wait_event(lambda e: e["event"] == "custom.note")
        assert got["seq"] == seq and got["run_id"] == RUN_ID and got["n"] == 1
        c.call_ok("cancel")
    assert r.wait() == 130
    logged = events_named(r.events(), "custom.note")
    assert len(logged) == 1 and logged[0]["seq"] == seq


def test_slow_subscriber_is_told_it_lagged_and_the_run_is_unaffected(avenor, tmp_path):
    turn = [{"flood": {"count": 200000, "text": "y" * 40}},
            {"permission": {}, "on_allow": [{"chunk": "after"}]}]
    r = Run(avenor, tmp_path, [turn]).ready()
    slow = r.client()
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.subscribe()
    with r.client() as c:
        # The run is not held back by the reader that stopped reading.
        r.wait_event(lambda e: e["event"] == "permission.request", timeout=120)
        assert c.call_ok("status")["pending_permission"] is True
        lag = slow.wait_event(lambda e: e["event"] == "subscriber.lagged", timeout=60,
                              what="subscriber.lagged")
        assert lag["dropped_count"] > 0 and isinstance(lag["ts"], int)
        c.call_ok("answer_permission", {"request_id": "0", "option_id": "once"})
    slow.wait_event(lambda e: e["event"] == "session.end")
    slow.close()
    assert r.wait() == 0
    assert len(events_named(r.events(), "agent.message_chunk")) == 200001


# ---------------------------------------------------------------------------------------------
# prompt queue and interrupts (§6.1)
# ---------------------------------------------------------------------------------------------

def test_queued_prompt_runs_a_second_turn_on_the_same_session(avenor, tmp_path):
    turns = [HOLD, permission_turn([{"end": {"stopReason": "end_turn"}}]),
             [{"chunk": "second answer"}]]
    r = Run(avenor, tmp_path, turns).ready()
    with r.client() as c:
        steer(c, r)
        r.wait_event(lambda e: e["event"] == "permission.request")
        assert c.call_ok("prompt", {"text": "next please"}) == {"accepted": True}
        assert c.call_ok("status")["turn_state"] == "idle"
        c.call_ok("answer_permission", {"request_id": "0", "option_id": "once"})
    assert r.wait() == 0
    prompts = [m for m in read_record(r.record) if m.get("method") == "session/prompt"]
    assert len(prompts) == 3
    assert {p["params"]["sessionId"] for p in prompts} == {"ses_fake_1"}
    assert [p["params"]["prompt"][0]["text"] for p in prompts] == ["first", STEERED, "next please"]
    ends = events_named(r.events(), "session.end")
    assert [e["final_output"] for e in ends] == ["working", "allowed", "second answer"]
    assert [e["stop_reason"] for e in ends] == ["cancelled", "end_turn", "end_turn"]
    assert r.files.sentinel_lines()[0] == "DONE"


def test_queued_prompt_is_dropped_after_a_failed_turn(avenor, tmp_path):
    turns = [HOLD, [{"permission": {}, "on_allow": [{"end": {"stopReason": "refusal"}}]}],
             [{"chunk": "never"}]]
    r = Run(avenor, tmp_path, turns).ready()
    with r.client() as c:
        steer(c, r)
        r.wait_event(lambda e: e["event"] == "permission.request")
        c.call_ok("prompt", {"text": "next"})
        c.call_ok("answer_permission", {"request_id": "0", "option_id": "once"})
    assert r.wait() != 0
    assert recorded_methods(r.record).count("session/prompt") == 2
    assert events_named(r.events(), "session.end")[-1]["stop_reason"] == "refusal"


def test_interrupt_and_prompt_cancels_the_turn_and_runs_the_new_text(avenor, tmp_path):
    turns = [HOLD, [{"chunk": "redirected"}]]
    r = Run(avenor, tmp_path, turns).ready()
    with r.client() as c:
        r.wait_event(session_started)
        c.call_ok("prompt", {"text": "queued, then cleared"})
        assert c.call_ok("interrupt_and_prompt", {"text": "stop, do X"}) == {"accepted": True}
        r.wait_event(lambda e: e["event"] == "session.end" and e.get("final_output") ==
                     "redirected")
    assert r.wait() == 0
    methods = recorded_methods(r.record)
    assert methods.count("session/cancel") == 1
    prompts = [m for m in read_record(r.record) if m.get("method") == "session/prompt"]
    assert [p["params"]["prompt"][0]["text"] for p in prompts] == ["first", "stop, do X"]
    ends = events_named(r.events(), "session.end")
    assert [e["stop_reason"] for e in ends] == ["cancelled", "end_turn"]


def test_interrupt_with_keep_queue_keeps_queued_prompts(avenor, tmp_path):
    turns = [HOLD, [{"chunk": "b"}], [{"chunk": "c"}]]
    r = Run(avenor, tmp_path, turns).ready()
    with r.client() as c:
        r.wait_event(session_started)
        c.call_ok("prompt", {"text": "queued"})
        c.call_ok("interrupt_and_prompt", {"text": "now", "keep_queue": True})
        assert c.call_ok("status")["turn_state"] in ("cancelling", "ended", "starting", "running")
    assert r.wait() == 0
    prompts = [m["params"]["prompt"][0]["text"] for m in read_record(r.record)
               if m.get("method") == "session/prompt"]
    assert prompts == ["first", "now", "queued"]


# ---------------------------------------------------------------------------------------------
# Permission claims (events.md §7, control.md §6.2, D3)
# ---------------------------------------------------------------------------------------------

def test_connected_client_holds_the_claim_and_answers(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD, permission_turn()]).ready()
    with r.client() as c:
        c.subscribe()
        steer(c, r)
        req = c.wait_event(lambda e: e["event"] == "permission.request")
        assert req["resolver"] == "reserved"
        st = c.call_ok("status")
        assert st["pending_permission"] is True and st["permission"]["request_id"] == "0"
        assert st["turn_state"] == "running" or st["turn_state"]
        # Not deliverable: unknown request, option not offered.
        assert c.call_error("answer_permission", {"request_id": "9", "option_id": "once"}) == \
            {"code": -32001, "message": "no_pending_permission"}
        assert c.call_error("answer_permission",
                            {"request_id": "0", "option_id": "nope"})["code"] == -32001
        assert c.call_error("answer_permission", {"request_id": "0"})["data"] == \
            {"required": ["request_id", "option_id"]}
        assert c.call_error("answer_permission", {"request_id": "0", "option_id": "once",
                                                  "message": 5})["data"]["detail"]
        assert c.call_error("answer_permission", {"request_id": "0", "option_id": "once",
                                                  "message": "m" * 65537})["code"] == -32602
        assert c.call_ok("answer_permission", {"request_id": "0", "option_id": "once",
                                               "message": "go"}) == {"accepted": True}
        # Already resolved is accepted again.
        c.wait_event(lambda e: e["event"] == "permission.response")
        assert c.call_ok("answer_permission", {"request_id": "0", "option_id": "reject"}) == \
            {"accepted": True}
    assert r.wait() == 0
    resp = events_named(r.events(), "permission.response")
    assert resp == [dict(resp[0], request_id="0", option_id="once", kind="allow",
                         source="control")]
    assert "go" not in json.dumps(resp), "a write-in message is never logged"
    assert not (r.files.root / "run.perm.req").exists()
    assert events_named(r.events(), "session.end")[-1]["final_output"] == "allowed"


def test_reject_over_the_socket(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD, permission_turn()]).ready()
    with r.client() as c:
        steer(c, r)
        r.wait_event(lambda e: e["event"] == "permission.request")
        c.call_ok("answer_permission", {"request_id": "0", "option_id": "reject"})
    assert r.wait() == 0
    assert events_named(r.events(), "permission.response")[0]["kind"] == "reject"
    assert events_named(r.events(), "session.end")[-1]["final_output"] == "rejected"


def test_required_message_must_be_given(avenor, tmp_path):
    opts = [{"optionId": "why", "kind": "reject_once", "name": "No", "_meta": {}},
            {"optionId": "ok", "kind": "allow_once", "name": "Yes"}]
    turn = [{"update": {"sessionUpdate": "agent_message_chunk",
                        "content": {"type": "text", "text": "x"}}},
            {"permission": {"options": opts}, "on_allow": [{"chunk": "y"}]}]
    r = Run(avenor, tmp_path, [HOLD, turn], "--auto-approve=false").ready()
    with r.client() as c:
        steer(c, r)
        req = r.wait_event(lambda e: e["event"] == "permission.request")
        needs = [o["optionId"] for o in req["options"] if o.get("requiresMessage")]
        if needs:
            assert c.call_error("answer_permission",
                                {"request_id": "0", "option_id": needs[0]})["code"] == -32001
        c.call_ok("answer_permission", {"request_id": "0", "option_id": "ok"})
    assert r.wait() == 0


def test_claim_falls_through_to_the_file_handler_when_clients_leave(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD, permission_turn()]).ready()
    c = r.client()
    steer(c, r)
    req = r.wait_event(lambda e: e["event"] == "permission.request")
    assert req["resolver"] == "reserved"
    req_file = r.files.root / "run.perm.req"
    assert not req_file.exists()
    c.close()
    r.proc.wait_for_file(req_file)
    rc = subprocess.run([avenor, "answer", "--option", "once", str(r.files.perm_base)],
                        capture_output=True, text=True)
    assert rc.returncode == 0, rc.stderr
    assert r.wait() == 0
    assert events_named(r.events(), "permission.response")[0]["source"] == "file"


def test_claim_timeout_hands_over_to_the_file_handler(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD, permission_turn()], "--permission-claim-timeout",
            "200ms").ready()
    with r.client() as c:
        steer(c, r)
        assert r.wait_event(lambda e: e["event"] == "permission.request")["resolver"] == \
            "reserved"
        req_file = r.files.root / "run.perm.req"
        r.proc.wait_for_file(req_file)
        subprocess.run([avenor, "answer", "--option", "reject", str(r.files.perm_base)],
                       check=True)
        assert r.wait() == 0
    assert events_named(r.events(), "permission.response")[0]["source"] == "file"


def test_release_claim_hands_over_and_socket_answer_is_still_taken(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD, permission_turn()]).ready()
    with r.client() as c:
        steer(c, r)
        r.wait_event(lambda e: e["event"] == "permission.request")
        assert c.call_ok("release_claim", {"request_id": "0"}) == {"ok": True}
        r.proc.wait_for_file(r.files.root / "run.perm.req")
        # During the hand-over a socket answer still wins.
        c.call_ok("answer_permission", {"request_id": "0", "option_id": "once"})
    assert r.wait() == 0
    assert events_named(r.events(), "permission.response")[0]["source"] == "control"
    assert not (r.files.root / "run.perm.req").exists()


def test_file_resolver_request_is_not_answerable_over_the_socket(avenor, tmp_path):
    r = Run(avenor, tmp_path, [permission_turn()]).ready()
    req = r.wait_event(lambda e: e["event"] == "permission.request")
    assert req["resolver"] == "file", "no client was connected when the request came"
    with r.client() as c:
        assert c.call_error("answer_permission",
                            {"request_id": "0", "option_id": "once"})["code"] == -32001
    subprocess.run([avenor, "answer", "--option", "once", str(r.files.perm_base)], check=True)
    assert r.wait() == 0


def test_stable_runtime_reserves_before_its_supervisor_links(avenor, tmp_path):
    """control.md §10.10: a runtime (--runtime-id, as stable starts it) reserves a request for
    its supervisor even when the supervisor has not linked yet — a fast backend's first request
    must not fall to the file handler in the window between ready and the supervisor's link.
    The supervisor, once linked, answers (or releases) it."""
    r = Run(avenor, tmp_path, [permission_turn()], "--runtime-id", "rt_7").ready()
    req = r.wait_event(lambda e: e["event"] == "permission.request")
    assert req["resolver"] == "reserved", f"nothing linked yet, still reserved: {req}"
    assert not (r.files.root / "run.perm.req").exists(), "the file handler took it"
    with r.client() as c:
        c.call_ok("answer_permission", {"request_id": "0", "option_id": "once"})
    assert r.wait() == 0
    assert events_named(r.events(), "permission.response")[0]["source"] == "control"


def test_no_resolver_request_stays_answerable(avenor, tmp_path):
    files = RunFiles(tmp_path / "run")
    sock = tmp_path / "n.sock"
    env, _ = fake_cli_env(tmp_path, {"turns": [permission_turn()]})
    # No sentinel → no file handler; no client at request time → resolver none.
    args = ["run", "--on-event", str(files.events), "--prompt", "p", "--control-socket", str(sock)]
    p = AvenorProcess(avenor, args, env, files)
    req = p.wait_for_event(lambda e: e["event"] == "permission.request")
    assert req["resolver"] == "none"
    with ControlClient(sock) as c:
        c.call_ok("answer_permission", {"request_id": "0", "option_id": "once"})
    assert p.wait(60) == 0
    assert events_named(files.read_events(), "permission.response")[0]["source"] == "control"


def test_auto_approve_is_not_claimed(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD, permission_turn()], "--auto-approve").ready()
    with r.client() as c:
        c.subscribe()
        steer(c, r)
        req = c.wait_event(lambda e: e["event"] == "permission.request")
        assert req["resolver"] == "automatic"
        c.wait_event(lambda e: e["event"] == "session.end")
    assert r.wait() == 0
    assert events_named(r.events(), "permission.response")[0]["source"] == "avenor"


def test_signal_and_socket_cancel_are_the_same(avenor, tmp_path):
    r = Run(avenor, tmp_path, [HOLD]).ready()
    r.wait_event(session_started)
    with r.client() as c:
        c.subscribe()
        r.proc.signal(signal.SIGTERM)
        end = c.wait_event(lambda e: e["event"] == "session.end")
        assert end["stop_reason"] == "cancelled"
    assert r.wait() == 130


def test_interrupt_during_retry_backoff_replaces_the_next_attempts_prompt(avenor, tmp_path):
    # The first backend process fails its session start; the second one works.
    failing = tmp_path / "failing_script.json"
    failing.write_text(json.dumps({"fail_method": {"session/new": {"code": -32000,
                                                                   "message": "boom"}}}))
    marker = tmp_path / "first-start-done"

    def fail_first_start():
        wrapper = tmp_path / "fake-bin" / "opencode"
        real = wrapper.read_text().splitlines()[-1]
        wrapper.write_text(f"#!/bin/sh\nif [ ! -e {marker} ]; then touch {marker}; "
                           f"export FAKE_ACP_SCRIPT={failing}; fi\n{real}\n")

    r = Run(avenor, tmp_path, [[{"chunk": "second attempt ran"}]], "--max-retries", "1",
            prepare=fail_first_start).ready()
    with r.client() as c:
        r.wait_event(lambda e: e["event"] == "avenor.retry")
        c.call_ok("interrupt_and_prompt", {"text": "use this instead"})
    assert r.wait() == 0, r.files.stderr_text()
    prompts = [m["params"]["prompt"][0]["text"] for m in read_record(r.record)
               if m.get("method") == "session/prompt"]
    assert prompts == ["use this instead"]
