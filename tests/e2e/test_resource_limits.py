"""Resource exhaustion against the real binary (issue 15 items 7 and 8).

* Out of file descriptors (a low RLIMIT_NOFILE, set in the child before exec), the accept loops
  must not spin: a new client is answered and closed at once, avenor's CPU time over a window
  stays low, and `status` answers again once the connections are gone.
* Connection caps: 64 on the control socket, 32 on the HTTP debug adapter; one more is refused
  with a one-line error and closed.
* At most 8 subscriptions per control connection; the ninth `subscribe` is a -32000 error and the
  first eight keep working.

Every wait is bounded; the only sleep is the CPU measurement window itself.
"""

from __future__ import annotations

import json
import os
import re
import resource
import socket
import subprocess
import time
from pathlib import Path

from avenor_cli import RunFiles, standard_run_args
from control_rpc import ControlClient, wait_for_socket, wait_until
from fake_agent import fake_cli_env

LONG_TURN = {"turns": [[{"chunk": "working"}, {"sleep_ms": 120000}]]}
LISTENING = re.compile(r"http debug listening on http://127\.0\.0\.1:(\d+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class LimitedRun:
    """`avenor run` with a control socket and an HTTP debug adapter, optionally under a low
    RLIMIT_NOFILE (applied in the child only)."""

    def __init__(self, avenor: str, tmp_path: Path, nofile: int | None = None):
        self.avenor = avenor
        self.files = RunFiles(tmp_path / "run")
        self.sock = tmp_path / "ctl.sock"
        self.token_file = tmp_path / "token"
        env, _ = fake_cli_env(tmp_path, LONG_TURN, record=False)
        args = standard_run_args(self.files, "--prompt", "x", "--dir", str(self.files.root),
                                 "--control-socket", str(self.sock), "--http-debug",
                                 "127.0.0.1:0", "--http-debug-token-file", str(self.token_file))

        def limit():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self._err = open(self.files.stderr, "wb")
        self.proc = subprocess.Popen([avenor, *args], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._err,
                                     preexec_fn=limit)
        wait_for_socket(self.sock, self.proc)
        self.port = int(wait_until(lambda: LISTENING.search(self.files.stderr_text()),
                                   what="the http debug listening line").group(1))
        self.token = wait_until(lambda: self.token_file.exists() and
                                self.token_file.read_text().strip(), what="the token file")

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def status_answers(self) -> bool:
        try:
            with ControlClient(self.sock, timeout=5) as c:
                r = c.call("status")
                return "result" in r
        except (OSError, AssertionError):
            return False

    def finish(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._err.close()


def connect_unix(path: Path, timeout: float = 5.0) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(str(path))
    return s


def connect_tcp(port: int, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    return s


def read_until_closed(s: socket.socket, what: str) -> bytes:
    """Everything until the peer closes; a hang past the socket timeout fails."""
    data = b""
    while True:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            raise AssertionError(f"{what}: no close within {s.gettimeout()} s (got {data!r})")
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def http_get_status(port: int, token: str) -> int:
    with connect_tcp(port) as s:
        s.sendall(f"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Avenor-Token: {token}\r\n"
                  "Connection: close\r\n\r\n".encode())
        head = read_until_closed(s, "GET /status")
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0


def test_fd_exhaustion_through_http_debug_does_not_spin_and_recovers(avenor, tmp_path):
    """The issue's attack: holding HTTP debug connections open, without a token, until avenor
    has no descriptors left. Both listeners must then answer and close new clients at once
    instead of spinning at 100% CPU, and everything works again once the holders let go."""
    run = LimitedRun(avenor, tmp_path, nofile=40)
    held: list[socket.socket] = []
    try:
        assert run.status_answers()
        # More HTTP connections than the descriptors left (cap 32 > the ~20 fds left).
        for _ in range(34):
            held.append(connect_tcp(run.port))
        wait_until(lambda: run.open_fds() >= 39, what="avenor running out of descriptors")

        # A new HTTP client and a new control client: answered and closed, not left hanging.
        start = time.monotonic()
        with connect_tcp(run.port) as s:
            answer = read_until_closed(s, "HTTP client while out of descriptors")
        assert answer == b"" or answer.startswith(b"HTTP/1.1 503"), answer[:200]
        with connect_unix(run.sock) as s:
            line = read_until_closed(s, "control client while out of descriptors")
        assert time.monotonic() - start < 5
        if line:
            frame = json.loads(line.split(b"\n")[0])
            assert frame["error"]["code"] == -32000
            assert frame["error"]["message"] == "too many open files"

        # While the holders stay, avenor idles: CPU time over the window stays low.
        cpu0, t0 = run.cpu_seconds(), time.monotonic()
        time.sleep(1.5)  # the measurement window itself, not a synchronisation
        used, span = run.cpu_seconds() - cpu0, time.monotonic() - t0
        assert used < 0.3 * span, f"avenor used {used:.2f} s CPU in {span:.2f} s while out of fds"
        warnings = run.files.stderr_text().count("Too many open files")
        assert 1 <= warnings <= 4, f"accept warnings should be rate-limited: {warnings}"
    finally:
        for s in held:
            s.close()
    wait_until(run.status_answers, timeout=15, what="status answering after the holders left")
    assert http_get_status(run.port, run.token) == 200
    assert run.finish() == 130


def test_control_socket_connection_cap(avenor, tmp_path):
    run = LimitedRun(avenor, tmp_path)
    clients: list[ControlClient] = []
    try:
        for _ in range(64):
            c = ControlClient(run.sock, timeout=10)
            c.call_ok("identity")  # registered by the server
            clients.append(c)
        with connect_unix(run.sock) as extra:
            line = read_until_closed(extra, "the 65th control client")
        frame = json.loads(line.decode().split("\n")[0])
        assert frame == {"jsonrpc": "2.0", "id": None,
                         "error": {"code": -32000, "message": "too many connections (max 64)"}}
        assert "result" in clients[0].call("status"), "held connections keep working"
        clients.pop().close()
        wait_until(run.status_answers, timeout=10, what="a new client once one left")
    finally:
        for c in clients:
            c.close()
    assert run.finish() == 130


def test_http_debug_connection_cap(avenor, tmp_path):
    run = LimitedRun(avenor, tmp_path)
    held: list[socket.socket] = []
    try:
        assert http_get_status(run.port, run.token) == 200
        for _ in range(32):
            held.append(connect_tcp(run.port))
        # The server registers a connection when its coroutine starts; wait until the cap is
        # reached: the next client is refused with a 503.
        def refused() -> bytes | None:
            with connect_tcp(run.port) as s:
                s.sendall(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                answer = read_until_closed(s, "the 33rd HTTP client")
            return answer if answer.startswith(b"HTTP/1.1 503") else None
        answer = wait_until(refused, timeout=10, what="the 33rd HTTP connection refused")
        assert answer.endswith(b"\r\n\r\ntoo many connections (max 32)\n"), answer
        held.pop().close()
        wait_until(lambda: http_get_status(run.port, run.token) == 200, timeout=10,
                   what="GET /status once a held connection closed")
    finally:
        for s in held:
            s.close()
    assert run.finish() == 130


def test_subscriptions_per_connection_are_capped(avenor, tmp_path):
    run = LimitedRun(avenor, tmp_path)
    try:
        with ControlClient(run.sock) as c:
            for _ in range(8):
                c.subscribe()
            err = c.call_error("subscribe")
            assert err == {"code": -32000,
                           "message": "too many subscriptions on this connection (max 8)"}
            assert "result" in c.call("status"), "the connection stays usable"
            # The eight subscriptions still deliver: one published event arrives eight times.
            assert "seq" in c.call_ok("publish_event", {"event": {"event": "test.ping"}})
            deadline = time.monotonic() + 30
            while sum(e.get("event") == "test.ping" for e in c.events) < 8:
                assert time.monotonic() < deadline, f"got {len(c.events)} events"
                c.read_frame(max(0.01, deadline - time.monotonic()))
            with ControlClient(run.sock) as other:
                other.subscribe()  # the cap is per connection
    finally:
        assert run.finish() == 130
