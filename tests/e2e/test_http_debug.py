"""`avenor run --http-debug ADDR`: the loopback HTTP/SSE debug adapter (control.md §9, §10.17
rule 5) against the scripted fake ACP agent.

The adapter's token is printed only when stderr is a terminal, so runs that need it put stderr
on a pseudo-terminal and read the line `avenor: http debug token: <32 hex>` from its master.
Every wait is a bounded poll on a condition (event in the log, port accepting, file content).
"""

from __future__ import annotations

import http.client
import json
import os
import pty
import re
import signal
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

from avenor_cli import RunFiles, assert_log_well_formed, events_named
from fake_agent import fake_cli_env

RUN_ID = "run-http-1"
SESSION = "ses_fake_1"
TOKEN_LINE = re.compile(r"avenor: http debug token: ([0-9a-f]{32})\r?\n")
PERMISSION_OPTIONS = [{"optionId": "nope", "name": "No", "kind": "reject_once"},
                      {"optionId": "yes-once", "name": "Once", "kind": "allow_once"}]

# A turn gated on a permission: nothing after the request happens until it is answered.
PERMISSION_TURN = {"turns": [[
    {"tool_call": {"toolCallId": "c1", "title": "rm -rf build", "kind": "execute",
                   "status": "pending"}},
    {"permission": {"toolCall": {"toolCallId": "c1", "title": "rm -rf build", "kind": "execute"},
                    "options": PERMISSION_OPTIONS},
     "on_allow": [{"tool_call_update": {"toolCallId": "c1", "status": "completed"}},
                  {"chunk": "ALLOWED "}, {"chunk": "and done"}],
     "on_reject": [{"chunk": "REJECTED"}]},
]]}

# A turn that writes, then runs until cancelled.
LONG_TURN = {"turns": [[{"chunk": "working on it"}, {"sleep_ms": 60000}]]}

_SCRUBBED_ENV = ("AVENOR_OPENCODE_URL", "AVENOR_PLUGIN_PATH", "FAKE_ACP_SCRIPT", "FAKE_ACP_RECORD",
                 "OPENCODE_CONFIG", "OPENCODE_CONFIG_DIR", "AVENOR_CONTROL_READY_FD",
                 "AVENOR_CONTROL_IDENTITY_TOKEN")


def free_port() -> int:
    """A port that was free a moment ago (the kernel does not hand it out again at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(condition: Callable[[], object], timeout: float, what: str,
         alive: Callable[[], None] | None = None):
    """Returns condition()'s first truthy value; fails with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if alive:
            alive()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body[:200]!r})"


class DebugRun:
    """One `avenor run --http-debug 127.0.0.1:<port>` against the fake agent.

    tty=True puts stderr on a pseudo-terminal (so the token is printed) and drains it in a
    thread; tty=False sends stderr to a file.
    """

    def __init__(self, avenor: str, tmp_path: Path, script: dict, *extra: str,
                 sentinel: bool = True, tty: bool = True, address: str | None = None):
        self.files = RunFiles(tmp_path / "run")
        work = tmp_path / "work"
        work.mkdir(exist_ok=True)
        base = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env, _ = fake_cli_env(tmp_path, script, base_env=base)
        self.port = free_port()
        args = [avenor, "run", "--on-event", str(self.files.events), "--run-id", RUN_ID,
                "--prompt", "p", "--http-debug", address or f"127.0.0.1:{self.port}"]
        if sentinel:
            args += ["--sentinel-file", str(self.files.sentinel)]
        args += list(extra)

        self._pty_text = bytearray()
        self._pty_lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._stderr_file = None
        if tty:
            master, slave = pty.openpty()
            self.proc = subprocess.Popen(args, env=env, cwd=work, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=slave)
            os.close(slave)
            self._reader = threading.Thread(target=self._drain, args=(master,), daemon=True)
            self._reader.start()
        else:
            self._stderr_file = open(self.files.stderr, "wb")
            self.proc = subprocess.Popen(args, env=env, cwd=work, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=self._stderr_file)
        self._token: str | None = None

    # -- stderr ----------------------------------------------------------------------------
    def _drain(self, master: int) -> None:
        try:
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: every slave end is closed
                    break
                if not chunk:
                    break
                with self._pty_lock:
                    self._pty_text += chunk
        finally:
            os.close(master)

    def stderr(self) -> str:
        if self._reader is not None:
            with self._pty_lock:
                return self._pty_text.decode(errors="replace")
        return self.files.stderr_text()

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"avenor exited ({self.proc.returncode}) early; stderr:\n"
                                 f"{self.stderr()[-3000:]}")

    def token(self, timeout: float = 30) -> str:
        if self._token is None:
            m = poll(lambda: TOKEN_LINE.search(self.stderr()), timeout,
                     "the http debug token on the terminal", self.check_alive)
            self._token = m.group(1)
        return self._token

    # -- HTTP ------------------------------------------------------------------------------
    def wait_listening(self, timeout: float = 30) -> None:
        def accepting() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        poll(accepting, timeout, f"the debug adapter on port {self.port}", self.check_alive)

    def request(self, method: str, path: str, token: str | None = "default", body=None,
                source: str | None = None, headers: dict | None = None) -> Reply:
        if token == "default":
            token = self.token()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20,
                                          source_address=(source, 0) if source else None)
        try:
            hdrs = dict(headers or {})
            if token is not None:
                hdrs["X-Avenor-Token"] = token
            data = None
            if body is not None:
                data = body if isinstance(body, (bytes, str)) else json.dumps(body)
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=hdrs)
            res = conn.getresponse()
            return Reply(res.status, {k.lower(): v for k, v in res.getheaders()}, res.read())
        finally:
            conn.close()

    # -- the run ---------------------------------------------------------------------------
    def wait_for_event(self, predicate, timeout: float = 30) -> dict:
        def find():
            return next((e for e in self.files.read_events_safe() if predicate(e)), None)
        return poll(find, timeout, "the expected event in the log", self.check_alive)

    def wait(self, timeout: float = 30) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"avenor did not exit within {timeout} s; stderr:\n"
                                 f"{self.stderr()[-3000:]}")
        out = self.proc.stdout.read()
        assert out == b"", f"avenor run wrote to stdout: {out[:200]!r}"
        if self._reader is not None:
            self._reader.join(timeout=10)
        if self._stderr_file is not None:
            self._stderr_file.close()
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def events(self) -> list[dict]:
        return self.files.read_events()


class SseClient:
    """`curl -N` on /events: frames are parsed from its stdout as they arrive (-N turns off
    curl's output buffering). The response head is read from curl's -v trace on stderr, which
    is written at once (with -i or -D curl holds the head back until body bytes come)."""

    def __init__(self, port: int, path: str, token: str | None):
        cmd = ["curl", "-sS", "-N", "-v"]
        if token is not None:
            cmd += ["-H", f"X-Avenor-Token: {token}"]
        cmd.append(f"http://127.0.0.1:{port}{path}")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._out = bytearray()
        self._err = bytearray()
        self._lock = threading.Lock()
        self._readers = [threading.Thread(target=self._drain, args=(self.proc.stdout, self._out),
                                          daemon=True),
                         threading.Thread(target=self._drain, args=(self.proc.stderr, self._err),
                                          daemon=True)]
        for r in self._readers:
            r.start()

    def _drain(self, pipe, into: bytearray) -> None:
        while True:
            chunk = pipe.read1(65536)
            if not chunk:
                break
            with self._lock:
                into += chunk

    def raw(self) -> str:
        """The decoded body so far."""
        with self._lock:
            return self._out.decode()

    def trace(self) -> str:
        with self._lock:
            return self._err.decode(errors="replace")

    def head(self) -> str:
        """The response head as curl received it ("" until it is complete)."""
        lines = [line[2:] for line in self.trace().split("\n") if line.startswith("< ")]
        if "\r" not in lines:  # the empty line that ends the head
            return ""
        return "\n".join(lines[:lines.index("\r") + 1]) + "\n"

    def wait_head(self, timeout: float = 20) -> str:
        def complete():
            h = self.head()
            if h:
                return h
            if self.proc.poll() is not None:
                raise AssertionError(f"curl exited {self.proc.returncode}: {self.trace()}")
            return None
        return poll(complete, timeout, "the /events response head")

    def frames(self) -> list[str]:
        text = self.raw()
        return [f + "\n\n" for f in text.split("\n\n")[:-1]]

    def events(self) -> list[dict]:
        out = []
        for frame in self.frames():
            assert frame.startswith("event: event\ndata: "), repr(frame)
            data = frame[len("event: event\ndata: "):-2]
            assert "\n" not in data, repr(frame)
            out.append(json.loads(data))
        return out

    def wait_exit(self, timeout: float = 20) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"curl on /events did not end within {timeout} s")
        for r in self._readers:
            r.join(timeout=10)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def debug_run(avenor, fake_agent, tmp_path):
    """Factory: debug_run(script, *extra_args, sentinel=True, tty=True) -> DebugRun."""
    made: list[DebugRun] = []
    count = 0

    def make(script: dict, *extra: str, **kw) -> DebugRun:
        nonlocal count
        count += 1
        run = DebugRun(avenor, tmp_path / f"r{count}", script, *extra, **kw)
        made.append(run)
        return run

    yield make
    for run in made:  # never leave a running avenor behind a failed test
        run.kill()


@pytest.fixture
def sse():
    made: list[SseClient] = []

    def make(port: int, path: str, token: str | None) -> SseClient:
        client = SseClient(port, path, token)
        made.append(client)
        return client

    yield make
    for client in made:
        client.kill()


def answer(run: DebugRun, request_id: str, option_id: str) -> Reply:
    return run.request("POST", "/answer-permission",
                       body={"request_id": request_id, "option_id": option_id})


def is_event(name: str, **fields):
    return lambda e: e.get("event") == name and all(e.get(k) == v for k, v in fields.items())


# ---------------------------------------------------------------------------------------------
# Token and status
# ---------------------------------------------------------------------------------------------

def test_token_on_terminal_and_status_while_turn_runs(debug_run):
    run = debug_run(LONG_TURN)
    token = run.token()
    assert len(token) == 32
    chunk = run.wait_for_event(is_event("agent.message_chunk"))

    res = run.request("GET", "/status")
    assert res.status == 200, res
    assert res.headers["content-type"].startswith("application/json")
    status = res.json()
    assert status["run_id"] == RUN_ID
    assert status["session_id"] == SESSION
    assert status["pending_permission"] is False
    assert status["turn_state"] == "running"
    assert status["latest_seq"] >= chunk["seq"]
    assert isinstance(status["started_at"], int) and status["updated_at"] >= status["started_at"]
    assert "last_event" in status

    run.proc.send_signal(signal.SIGTERM)
    assert run.wait() == 130, run.stderr()


def test_token_not_printed_without_terminal(debug_run):
    run = debug_run(LONG_TURN, tty=False)
    run.wait_listening()
    run.wait_for_event(is_event("agent.message_chunk"))
    # The adapter is up, but nothing printed a token anywhere.
    assert run.request("GET", "/status", token=None).status == 401
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait() == 130, run.stderr()
    assert "http debug token" not in run.stderr()
    assert not re.search(r"\b[0-9a-f]{32}\b", run.stderr()), run.stderr()


# ---------------------------------------------------------------------------------------------
# Events, permissions, cancel
# ---------------------------------------------------------------------------------------------

def test_sse_stream_and_answer_permission(debug_run, sse):
    # No --sentinel-file and no socket: the resolver is `none`, so an HTTP answer is taken.
    run = debug_run(PERMISSION_TURN, sentinel=False)
    token = run.token()
    request = run.wait_for_event(is_event("permission.request"))
    assert request["resolver"] == "none"
    assert request["request_id"] == "0"

    status = run.request("GET", "/status").json()
    assert status["pending_permission"] is True
    assert status["permission"]["request_id"] == "0"

    stream = sse(run.port, "/events", token)
    head = stream.wait_head()
    assert head.startswith("HTTP/1.1 200"), head
    lower = head.lower()
    assert "content-type: text/event-stream\r\n" in lower
    assert "cache-control: no-cache\r\n" in lower
    assert "connection: keep-alive\r\n" in lower

    # Nothing pending under that id, and the wrong option: not deliverable.
    miss = answer(run, "41", "yes-once")
    assert (miss.status, miss.text) == (409, "no pending permission\n")
    bad = answer(run, "0", "maybe")
    assert (bad.status, bad.text) == (409, "no pending permission\n")

    res = answer(run, "0", "yes-once")
    assert res.status == 200, res
    assert res.json() == {"accepted": True}

    assert run.wait() == 0, run.stderr()
    # The run is over: the stream ends with the adapter.
    assert stream.wait_exit() == 0

    log = run.events()
    assert_log_well_formed(log, run_id=RUN_ID)
    response = events_named(log, "permission.response")
    assert [(r["source"], r["option_id"], r["kind"]) for r in response] == [
        ("control", "yes-once", "allow")]
    assert events_named(log, "session.end")[0]["final_output"] == "ALLOWED and done"

    # Everything published after the subscription, in seq order, as the log has it.
    received = stream.events()
    assert received, "no events on the stream"
    seqs = [e["seq"] for e in received]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    assert seqs[0] > request["seq"]
    assert received == [e for e in log if e["seq"] >= seqs[0]]
    assert "permission.response" in [e["event"] for e in received]
    assert received[-1]["event"] == "session.end"
    # No id lines and no comment (keep-alive) lines.
    assert not any(line.startswith(("id:", ":")) for line in stream.raw().split("\n"))


def test_sse_query_token_and_runtime_filter(debug_run, sse):
    run = debug_run(PERMISSION_TURN, sentinel=False)
    token = run.token()
    run.wait_for_event(is_event("permission.request"))
    # The run has no --runtime-id: a filter on some id sees nothing, no filter sees everything.
    filtered = sse(run.port, f"/events?runtime_id=rt-other&token={token}", None)
    everything = sse(run.port, f"/events?token={token}", None)
    assert filtered.wait_head().startswith("HTTP/1.1 200")
    assert everything.wait_head().startswith("HTTP/1.1 200")

    res = answer(run, "0", "nope")
    assert res.status == 200, res
    assert run.wait() == 0, run.stderr()
    assert filtered.wait_exit() == 0 and everything.wait_exit() == 0
    assert filtered.events() == []
    assert [e["event"] for e in everything.events()][-1] == "session.end"
    assert events_named(run.events(), "session.end")[0]["final_output"] == "REJECTED"


def test_answer_permission_delegated_to_file_handler(debug_run):
    # With --sentinel-file the file handler owns the request.
    run = debug_run(PERMISSION_TURN)
    request = run.wait_for_event(is_event("permission.request"))
    assert request["resolver"] == "file"
    res = answer(run, "0", "yes-once")
    assert (res.status, res.text) == (409, "permission handling delegated to provider\n")
    assert run.request("POST", "/cancel").status == 200
    assert run.wait() == 130, run.stderr()
    assert events_named(run.events(), "permission.response") == []


def test_answer_permission_bad_bodies(debug_run):
    run = debug_run(PERMISSION_TURN, sentinel=False)
    run.wait_for_event(is_event("permission.request"))
    for body in ["not json", "[]", json.dumps({"request_id": "0"}),
                 json.dumps({"request_id": 0, "option_id": "yes-once"})]:
        res = run.request("POST", "/answer-permission", body=body)
        assert (res.status, res.text) == (400, "invalid json\n"), body
    for message in [5, "x" * (64 * 1024 + 1)]:
        res = run.request("POST", "/answer-permission",
                          body={"request_id": "0", "option_id": "yes-once", "message": message})
        assert (res.status, res.text) == (400, "invalid permission message\n")
    res = run.request("POST", "/answer-permission",
                      body=b'{"request_id":"0","option_id":"yes-once","message":"\xff"}')
    assert (res.status, res.text) == (400, "invalid permission message\n")
    # Still pending after the refusals.
    assert run.request("GET", "/status").json()["pending_permission"] is True
    assert run.request("POST", "/cancel").json() == {"ok": True}
    assert run.wait() == 130, run.stderr()


def test_cancel_ends_the_run_killed(debug_run):
    run = debug_run(LONG_TURN)
    run.wait_for_event(is_event("agent.message_chunk"))
    assert run.request("POST", "/cancel/rt-1").status == 404  # a run has no runtimes
    res = run.request("POST", "/cancel")
    assert res.status == 200, res
    assert res.json() == {"ok": True}
    assert run.wait() == 130, run.stderr()
    assert run.files.sentinel_lines()[0] == "KILLED"
    assert [e["stop_reason"] for e in events_named(run.events(), "session.end")] == ["cancelled"]


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------

def test_refusals(debug_run):
    run = debug_run(LONG_TURN)
    token = run.token()
    run.wait_for_event(is_event("agent.message_chunk"))

    for method, path in [("GET", "/status"), ("GET", "/events"), ("POST", "/cancel"),
                         ("POST", "/answer-permission"), ("GET", "/status/x")]:
        none = run.request(method, path, token=None)
        assert (none.status, none.text) == (401, "unauthorized\n"), (method, path)
        wrong = run.request(method, path, token="0" * 32)
        assert wrong.status == 401, (method, path)
    # A query token is taken on /events only.
    assert run.request("GET", f"/status?token={token}", token=None).status == 401
    assert run.request("POST", f"/cancel?token={token}", token=None).status == 401

    for method, path in [("POST", "/status"), ("GET", "/cancel"), ("POST", "/events"),
                         ("GET", "/answer-permission"), ("DELETE", "/status/x")]:
        res = run.request(method, path, token=None)
        assert (res.status, res.text) == (405, "method not allowed\n"), (method, path)

    # Any peer but exactly 127.0.0.1 or ::1 is refused, token or not.
    foreign = run.request("GET", "/status", source="127.0.0.2")
    assert (foreign.status, foreign.text) == (403, "forbidden\n")
    assert run.request("POST", "/cancel", source="127.0.0.2").status == 403

    res = run.request("GET", "/status/rt-1")
    assert (res.status, res.text) == (404, "not found\n")
    assert run.request("GET", "/nope").status == 404

    # None of that touched the run.
    assert run.proc.poll() is None
    assert run.request("GET", "/status").json()["turn_state"] == "running"
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait() == 130, run.stderr()


@pytest.mark.parametrize("address,message", [
    ("10.0.0.1:80", "address 10.0.0.1 is not a loopback address"),
    ("0.0.0.0:80", "address 0.0.0.0 is not a loopback address"),
    ("127.0.0.1", 'missing port in address "127.0.0.1"'),
    ("localhost:http", 'invalid port "http" in address "localhost:http"'),
])
def test_address_errors(debug_run, address, message):
    run = debug_run(LONG_TURN, tty=False, address=address)
    assert run.wait() == 1
    assert f"avenor: --http-debug: {message}\n" in run.stderr(), run.stderr()
    lines = run.files.sentinel_lines()
    assert lines[0] == "FAILED", lines
    assert "EXIT_CODE=1" in lines


def test_port_in_use(debug_run):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = debug_run(LONG_TURN, tty=False, address=f"127.0.0.1:{port}")
        assert run.wait() == 1
    assert f"avenor: --http-debug: listen on 127.0.0.1:{port}: " in run.stderr(), run.stderr()
    assert run.files.sentinel_lines()[0] == "FAILED"


# ---------------------------------------------------------------------------------------------
# A non-interactive client: the bound address on stderr, the token in a 0600 file (new)
# ---------------------------------------------------------------------------------------------

LISTENING_LINE = re.compile(r"avenor: http debug listening on http://127\.0\.0\.1:(\d+)\r?\n")


def listening_port(run: DebugRun) -> int:
    m = poll(lambda: LISTENING_LINE.search(run.stderr()), 30, "the http debug listening line",
             run.check_alive)
    return int(m.group(1))


def test_port_zero_reports_the_address_and_writes_the_token_file(debug_run, tmp_path):
    token_file = tmp_path / "client" / "token"
    token_file.parent.mkdir()
    run = debug_run(LONG_TURN, "--http-debug-token-file", str(token_file), tty=False,
                    address="127.0.0.1:0")
    run.port = listening_port(run)
    assert run.port != 0
    # Written before the address is reported, so it is complete by now.
    st = token_file.lstat()
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    token = token_file.read_text()
    assert re.fullmatch(r"[0-9a-f]{32}\n", token), token
    run.wait_for_event(is_event("agent.message_chunk"))
    res = run.request("GET", "/status", token=token.strip())
    assert res.status == 200, res
    assert res.json()["run_id"] == RUN_ID

    run.proc.send_signal(signal.SIGTERM)
    assert run.wait() == 130, run.stderr()
    # The token never reached stderr (not a terminal), and its file goes with the process.
    assert "http debug token" not in run.stderr()
    assert token.strip() not in run.stderr()
    assert not token_file.exists()


def test_terminal_gets_the_address_and_the_token(debug_run):
    run = debug_run(LONG_TURN, address="127.0.0.1:0")
    run.port = listening_port(run)
    assert run.request("GET", "/status").status == 200  # the terminal's token
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait() == 130, run.stderr()


def test_token_file_replaces_an_own_regular_file(debug_run, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("stale\n")
    token_file.chmod(0o644)
    run = debug_run(LONG_TURN, "--http-debug-token-file", str(token_file), tty=False,
                    address="127.0.0.1:0")
    run.port = listening_port(run)
    assert stat.S_IMODE(token_file.lstat().st_mode) == 0o600
    assert run.request("GET", "/status", token=token_file.read_text().strip()).status == 200
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait() == 130, run.stderr()


def test_token_file_refuses_a_symlink(debug_run, tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("keep me\n")
    link = tmp_path / "token"
    link.symlink_to(target)
    run = debug_run(LONG_TURN, "--http-debug-token-file", str(link), tty=False,
                    address="127.0.0.1:0")
    assert run.wait() == 1
    assert (f"avenor: --http-debug-token-file: refusing to replace {link}: not a regular file\n"
            in run.stderr()), run.stderr()
    assert target.read_text() == "keep me\n" and link.is_symlink()
    assert run.files.sentinel_lines()[0] == "FAILED"
    end = events_named(run.events(), "session.end")
    assert [e["stop_reason"] for e in end] == ["error"]


def test_stable_reports_the_address_and_writes_the_token_file(avenor, fake_agent, tmp_path):
    token_file = tmp_path / "stable.token"
    env, _ = fake_cli_env(tmp_path, LONG_TURN)
    env["TMPDIR"] = str(tmp_path)
    err_path = tmp_path / "stable.stderr"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [avenor, "stable", "--control-socket", str(tmp_path / "s.sock"), "--state-dir",
             str(tmp_path / "state"), "--http-debug", "127.0.0.1:0", "--http-debug-token-file",
             str(token_file)],
            env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=err)
    try:
        def alive():
            if proc.poll() is not None:
                raise AssertionError(f"stable exited ({proc.returncode}):\n{err_path.read_text()}")
        m = poll(lambda: LISTENING_LINE.search(err_path.read_text()), 30,
                 "stable's http debug listening line", alive)
        port = int(m.group(1))
        assert stat.S_IMODE(token_file.lstat().st_mode) == 0o600
        token = token_file.read_text().strip()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.request("GET", "/status", headers={"X-Avenor-Token": token})
        res = conn.getresponse()
        body = res.read()
        assert res.status == 200, body
        assert isinstance(json.loads(body), dict)
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert "http debug token" not in err_path.read_text()
    assert not token_file.exists()
