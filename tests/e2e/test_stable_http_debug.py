"""`avenor stable --http-debug` (control.md §9 on a supervisor): the supervisor-wide snapshot,
runtime entries, per-runtime cancel, the live SSE stream filtered by runtime, and a start
failure that writes the `start_failed` tombstone. The token is printed only to a terminal, so
the supervisor's stderr is a pseudo-terminal here."""

from __future__ import annotations

import http.client
import json
import os
import pty
import re
import signal
import socket
import subprocess
import threading
from pathlib import Path

from control_rpc import ControlClient, wait_for_socket, wait_until
from fake_agent import fake_cli_env

TOKEN = re.compile(r"avenor: http debug token: ([0-9a-f]{32})")
SCRIPT = {"turns": [[{"chunk": "first"}, {"end": {"stopReason": "end_turn"}}],
                    [{"chunk": "second"}, {"end": {"stopReason": "end_turn"}}]]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Supervisor:
    def __init__(self, avenor: str, tmp: Path, address: str):
        self.sock = tmp / "s.sock"
        env, _ = fake_cli_env(tmp, SCRIPT)
        env["TMPDIR"] = str(tmp)
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [avenor, "stable", "--control-socket", str(self.sock), "--state-dir",
             str(tmp / "state"), "--http-debug", address],
            env=env, cwd=tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        self.text = bytearray()
        self.lock = threading.Lock()
        threading.Thread(target=self._drain, args=(master,), daemon=True).start()

    def _drain(self, master: int) -> None:
        try:
            while chunk := os.read(master, 4096):
                with self.lock:
                    self.text += chunk
        except OSError:
            pass
        finally:
            os.close(master)

    def stderr(self) -> str:
        with self.lock:
            return self.text.decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def request(port: int, method: str, path: str, token: str | None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, headers={"X-Avenor-Token": token} if token else {})
        res = conn.getresponse()
        return res.status, res.read().decode()
    finally:
        conn.close()


def test_supervisor_routes_and_events(avenor, tmp_path):
    port = free_port()
    sup = Supervisor(avenor, tmp_path, f"127.0.0.1:{port}")
    try:
        wait_for_socket(sup.sock, sup.proc)
        token = wait_until(lambda: (m := TOKEN.search(sup.stderr())) and m.group(1), 30,
                           "the http debug token on the terminal")
        assert request(port, "GET", "/status", None)[0] == 401
        status, body = request(port, "GET", "/status", token)
        assert status == 200 and "run_id" in json.loads(body), body

        # The SSE stream filtered on rt_1, opened before the runtime exists.
        events = socket.create_connection(("127.0.0.1", port), timeout=20)
        events.sendall(f"GET /events?runtime_id=rt_1&token={token} HTTP/1.1\r\n"
                       f"Host: 127.0.0.1\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += events.recv(4096)
        assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head, head

        with ControlClient(sup.sock) as c:
            spawned = c.call_ok("spawn", {"prompt": "p", "label": "dbg"})
            assert spawned["runtime_id"] == "rt_1"
            wait_until(lambda: c.call_ok("status", {"runtime_id": "rt_1"})["status"] == "idle",
                       30, "rt_1 to park")

            status, body = request(port, "GET", "/status/rt_1", token)
            entry = json.loads(body)
            assert status == 200 and entry["runtime_id"] == "rt_1" and entry["label"] == "dbg"
            assert request(port, "GET", "/status/rt_9", token) == (404, "runtime not found\n")
            status, body = request(port, "POST", "/cancel", token)
            assert status == 400 and "POST /cancel/<runtime_id>" in body, body
            assert request(port, "POST", "/cancel/rt_9", token)[0] == 404
            status, body = request(port, "POST", "/cancel/rt_1", token)
            assert status == 200 and json.loads(body) == {"ok": True}
            wait_until(lambda: c.call_ok("status", {"runtime_id": "rt_1"})["status"] == "ended",
                       30, "rt_1 to end after POST /cancel/rt_1")

        # The stream carried rt_1's events, each re-stamped with its runtime id.
        stream = head.split(b"\r\n\r\n", 1)[1]
        events.settimeout(20)

        def names() -> list[str]:
            return [json.loads(line[6:])["event"] for line in stream.decode().splitlines()
                    if line.startswith("data: ")]
        while "session.end" not in names() or names().count("session.end") < 2:
            chunk = events.recv(65536)
            assert chunk, f"the SSE stream closed early: {names()}"
            stream += chunk
        datas = [json.loads(line[6:]) for line in stream.decode().splitlines()
                 if line.startswith("data: ")]
        assert {d["runtime_id"] for d in datas} == {"rt_1"}
        assert "avenor.parked" in names()
        assert [d["stop_reason"] for d in datas if d["event"] == "session.end"] == \
            ["end_turn", "cancelled"]
        events.close()
    finally:
        sup.stop()
    assert sup.proc.returncode == 0, sup.stderr()


def test_bad_address_is_a_start_failure(avenor, tmp_path):
    sock = tmp_path / "s.sock"
    env, _ = fake_cli_env(tmp_path, SCRIPT)
    r = subprocess.run([avenor, "stable", "--control-socket", str(sock), "--state-dir",
                        str(tmp_path / "state"), "--http-debug", "10.1.2.3:80"],
                       env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "avenor stable: --http-debug: " in r.stderr, r.stderr
    assert (tmp_path / "s.sock.dead").read_text().startswith("STOPPED reason=start_failed pid=")
    assert not sock.exists(), "the socket is released on a start failure"
