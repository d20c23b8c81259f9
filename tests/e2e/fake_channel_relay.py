"""A scripted stand-in for the claude-channel relay (backends.md §7.2), for
testing `avenor claude-channel` (the MCP sidecar) on its own.

    with FakeChannelRelay(run_id="r1", token="t1") as relay:
        relay.url                        # http://127.0.0.1:<port>
        relay.push({"id": "c1", "type": "continue", "payload": {"message": "hi"}})
        relay.wait_for("/report")        # -> the first recorded request to /report
        relay.fail("/report", 500)       # answer that route with an error from now on

It binds 127.0.0.1 only, records every request (route, parsed JSON body,
whether the credentials matched), answers the sidecar routes with 200 `{}`
when run_id + token in the body match and 401 otherwise, and long-polls
/poll-control: queued control messages at once, else `[]` after `poll_hold`
seconds (2 s like the real relay). GET /health answers 200.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIDECAR_ROUTES = {"/register", "/heartbeat", "/poll-control", "/report", "/finish", "/reply",
                  "/permission_request", "/permission"}


class FakeChannelRelay:
    def __init__(self, run_id: str = "run-1", token: str = "token-1", poll_hold: float = 2.0):
        self.run_id = run_id
        self.token = token
        self.poll_hold = poll_hold
        self.requests: list[dict] = []
        self._queue: list[dict] = []
        self._failures: dict[str, int] = {}
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> "FakeChannelRelay":
        relay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                relay._handle(self, "GET")

            def do_POST(self):
                relay._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            with self._cond:
                self._cond.notify_all()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeChannelRelay":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- scripting -----------------------------------------------------------------------
    def push(self, message: dict) -> None:
        """Queue a control message for the next /poll-control."""
        with self._cond:
            self._queue.append(message)
            self._cond.notify_all()

    def fail(self, route: str, status: int) -> None:
        with self._cond:
            self._failures[route] = status

    def recorded(self, route: str | None = None) -> list[dict]:
        with self._cond:
            return [r for r in self.requests if route is None or r["route"] == route]

    def wait_for(self, route: str, count: int = 1, timeout: float = 15.0) -> dict:
        """The `count`-th request to `route` (bounded wait)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                hits = [r for r in self.requests if r["route"] == route]
                if len(hits) >= count:
                    return hits[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [r["route"] for r in self.requests]
                    raise AssertionError(f"relay: no request #{count} to {route} within "
                                         f"{timeout} s; saw {seen}")
                self._cond.wait(left)

    # --- serving -------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        route = h.path
        authed = (isinstance(body, dict) and body.get("run_id") == self.run_id
                  and body.get("token") == self.token)
        with self._cond:
            self.requests.append({"method": method, "route": route, "body": body,
                                  "authed": authed, "time": time.monotonic()})
            self._cond.notify_all()
            failure = self._failures.get(route)
        if method == "GET" and route == "/health":
            return self._send(h, 200, {"ok": True})
        if route not in SIDECAR_ROUTES:
            return self._send(h, 404, {"error": "no such route"})
        if failure:
            return self._send(h, failure, {"error": f"injected {failure}"})
        if not authed:
            return self._send(h, 401, {"error": "bad run_id or token"})
        if route == "/poll-control":
            return self._send(h, 200, self._take(self.poll_hold))
        return self._send(h, 200, {})

    def _take(self, hold: float) -> list[dict]:
        deadline = time.monotonic() + hold
        with self._cond:
            while not self._queue:
                left = deadline - time.monotonic()
                if left <= 0 or self._server is None:
                    return []
                self._cond.wait(left)
            out, self._queue = self._queue, []
            return out

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, obj) -> None:
        data = json.dumps(obj).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the sidecar went away mid long-poll (end of a test)
