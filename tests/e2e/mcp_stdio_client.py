"""A raw MCP client over a child's stdio (newline-delimited JSON-RPC 2.0), as
Claude Code speaks it to an MCP server. Used to drive `avenor claude-channel`
directly.

    with McpStdioProcess([avenor, "claude-channel", ...], env, stderr_path) as mcp:
        mcp.request("initialize", {...})          # -> the whole response dict
        mcp.notify("notifications/initialized")
        mcp.wait_message(lambda m: m.get("method") == "notifications/claude/channel")

Every wait is bounded and fails with a message saying what was awaited.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
from pathlib import Path


class McpStdioProcess:
    def __init__(self, argv: list[str], env: dict, stderr_path: str | Path,
                 cwd: str | Path | None = None, timeout: float = 15.0):
        self.timeout = timeout
        self.stderr_path = Path(stderr_path)
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr)
        self._buf = b""
        self._next_id = 1
        self.messages: list[dict] = []   # every message from the server, in order
        self._unread = 0                 # index into messages for next_message()

    def __enter__(self) -> "McpStdioProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for f in (self.proc.stdin, self.proc.stdout):
            if f and not f.closed:
                try:
                    f.close()
                except BrokenPipeError:
                    pass
        self._stderr.close()

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    # --- sending -------------------------------------------------------------------------
    def send_raw(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, obj: dict) -> None:
        self.send_raw(json.dumps(obj).encode() + b"\n")

    def notify(self, method: str, params: dict | None = None) -> None:
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def request(self, method: str, params: dict | None = None, timeout: float | None = None) -> dict:
        """Sends a request and returns its response (notifications seen meanwhile are kept)."""
        rid = self._next_id
        self._next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return self.wait_message(lambda m: m.get("id") == rid and "method" not in m,
                                 timeout, f"the response to {method} (id {rid})")

    def initialize(self) -> dict:
        """initialize + notifications/initialized, as Claude Code 2.1.197 sends them."""
        resp = self.request("initialize", {
            "protocolVersion": "2025-11-25", "capabilities": {"roots": {}},
            "clientInfo": {"name": "claude-code", "version": "2.1.197"}})
        self.notify("notifications/initialized")
        return resp

    # --- receiving -----------------------------------------------------------------------
    def _read_one(self, deadline: float, what: str) -> dict:
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"MCP server: no {what} within the time limit; "
                                     f"stderr: {self.stderr_text()[-2000:]}")
            sel = selectors.DefaultSelector()
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            ready = sel.select(left)
            sel.close()
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"MCP server closed stdout (rc={self.proc.poll()}) before "
                                     f"{what}; stderr: {self.stderr_text()[-2000:]}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        msg = json.loads(line)
        self.messages.append(msg)
        return msg

    def wait_message(self, predicate, timeout: float | None = None, what: str = "message") -> dict:
        """The first message (already received or new) matching predicate."""
        for m in self.messages:
            if predicate(m):
                return m
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            m = self._read_one(deadline, what)
            if predicate(m):
                return m

    def assert_no_message(self, predicate, within: float, what: str) -> None:
        """Reads for `within` seconds and fails if a matching message arrives."""
        for m in self.messages:
            assert not predicate(m), f"unexpected {what}: {m}"
        deadline = time.monotonic() + within
        while True:
            try:
                m = self._read_one(deadline, what)
            except AssertionError as e:
                if "within the time limit" in str(e):
                    return
                raise
            assert not predicate(m), f"unexpected {what}: {m}"

    def wait_exit(self, timeout: float = 10.0) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"MCP server did not exit within {timeout} s")
