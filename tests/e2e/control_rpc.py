"""A small JSON-RPC 2.0 client for avenor's control socket, speaking the wire
protocol directly (control.md §2): one JSON object per line in each direction.

    with ControlClient(sock_path) as c:
        c.call("status")                      # -> the response dict
        c.call_ok("prompt", {"text": "x"})    # -> result, or AssertionError on an error
        c.subscribe(); c.wait_event(lambda e: e["event"] == "session.end")

Every wait is bounded and fails with a message saying what was awaited.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable


class ControlClient:
    def __init__(self, path: str | Path, timeout: float = 30.0):
        self.path = str(path)
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(self.path)
        self._buf = b""
        self._next_id = 1
        self.events: list[dict] = []       # every "event" notification received, in order
        self.responses: dict[Any, dict] = {}
        self.closed = False

    # --- context manager -------------------------------------------------------------------
    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()

    # --- raw frames ------------------------------------------------------------------------
    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, obj: dict) -> None:
        self.send_raw(json.dumps(obj).encode() + b"\n")

    def read_frame(self, timeout: float | None = None) -> dict | None:
        """The next frame, or None when the server closed the connection."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no frame from {self.path} within the time limit")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError(f"no frame from {self.path} within the time limit")
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        frame = json.loads(line)
        if frame.get("method") == "event":
            self.events.append(frame["params"])
        elif "id" in frame:
            self.responses[json.dumps(frame["id"])] = frame
        return frame

    # --- requests --------------------------------------------------------------------------
    def request(self, method: str, params: dict | None = None, id: Any = None) -> Any:
        """Sends a request and returns its id without waiting."""
        if id is None:
            id = self._next_id
            self._next_id += 1
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return id

    def response(self, id: Any, timeout: float | None = None) -> dict:
        key = json.dumps(id)
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while key not in self.responses:
            frame = self.read_frame(max(0.01, deadline - time.monotonic()))
            if frame is None:
                raise AssertionError(f"connection closed before the response to id {id!r}")
        return self.responses.pop(key)

    def call(self, method: str, params: dict | None = None, timeout: float | None = None) -> dict:
        return self.response(self.request(method, params), timeout)

    def call_ok(self, method: str, params: dict | None = None) -> Any:
        r = self.call(method, params)
        assert "error" not in r, f"{method} failed: {r['error']}"
        return r["result"]

    def call_error(self, method: str, params: dict | None = None) -> dict:
        r = self.call(method, params)
        assert "error" in r, f"{method} unexpectedly succeeded: {r}"
        return r["error"]

    # --- events ----------------------------------------------------------------------------
    def subscribe(self, params: dict | None = None) -> None:
        assert self.call_ok("subscribe", params) == {"subscribed": True}

    def wait_event(self, predicate: Callable[[dict], bool], timeout: float = 60.0,
                   what: str = "event") -> dict:
        for e in self.events:
            if predicate(e):
                return e
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{what} not received within {timeout} s; "
                                     f"got {[e.get('event') for e in self.events][-20:]}")
            frame = self.read_frame(remaining)
            if frame is None:
                raise AssertionError(f"connection closed before {what}; got "
                                     f"{[e.get('event') for e in self.events][-20:]}")
            if frame.get("method") == "event" and predicate(frame["params"]):
                return frame["params"]

    def read_until_closed(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.path} stayed open for {timeout} s")
            if self.read_frame(remaining) is None:
                return


def wait_for_socket(path: Path, proc=None, timeout: float = 30.0) -> None:
    """Bounded wait until a control socket accepts connections."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"avenor exited ({proc.returncode}) before {path} was ready")
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(str(path))
                return
            except OSError:
                pass
            finally:
                s.close()
        if time.monotonic() > deadline:
            raise AssertionError(f"control socket {path} not ready within {timeout} s")
        time.sleep(0.02)


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition",
               interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(interval)


class TailProcess:
    """`avenor control tail` with its stdout collected by a thread (never blocks the tail)."""

    def __init__(self, avenor: str, path: str):
        self.proc = subprocess.Popen([avenor, "control", "--socket", path, "tail"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        self.lines: list[dict] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            with self._lock:
                self.lines.append(json.loads(raw))

    def snapshot(self) -> list[dict]:
        with self._lock:
            return list(self.lines)

    def finish(self, timeout: float = 60.0) -> tuple[int, str]:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("control tail did not exit after the run ended")
        self._reader.join(timeout=10)
        return self.proc.returncode, self.proc.stderr.read().decode(errors="replace")
