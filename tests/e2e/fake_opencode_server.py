#!/usr/bin/env python3
"""A scripted stand-in for `opencode serve`'s HTTP API, for the cases the real server cannot be
made to show on demand: an event stream that drops, and a permission reply route that fails.

    fake_opencode_server.py --config C.json --record R.ndjson

Prints ``PORT <n>`` once listening on 127.0.0.1 and runs until SIGTERM. Config keys:

* ``drop_streams`` (int, 0): the first N ``GET /event`` connections get ``server.connected``
  and are then closed by the server;
* ``reply_chunks`` (list of str): the text deltas of every turn;
* ``permission`` (bool): every turn first asks ``permission.asked`` (id ``per_fake<n>``) and
  waits for the answer on either reply route;
* ``primary_reply_status`` (int, 200): the status of ``POST /permission/{id}/reply``.

Routes (the shapes of opencode 1.18.33): ``GET /global/health``, ``POST /session``,
``GET /session/{id}``, ``POST /session/{id}/message`` (answers after the turn's events went out
on the open stream, ``{info:{finish:"stop"}, parts:[…]}``), ``POST /session/{id}/abort``,
``POST /permission/{id}/reply``, ``POST /session/{id}/permissions/{pid}``, ``GET /event``.
Every request is appended to the record as one JSON line (``time, method, path, body``).
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WAIT = 30.0  # every internal wait is bounded


class State:
    def __init__(self, config: dict, record_path: str):
        self.config = config
        self.record_path = record_path
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.streams: list[queue.Queue] = []   # open, healthy streams
        self.stream_count = 0
        self.sessions: set[str] = set()
        self.answers: dict[str, dict] = {}
        self.turns = 0

    def record(self, method: str, path: str, body) -> None:
        with self.lock:
            with open(self.record_path, "a") as f:
                f.write(json.dumps({"time": time.time(), "method": method, "path": path,
                                    "body": body}) + "\n")

    def publish(self, payload: dict) -> None:
        with self.lock:
            for q in self.streams:
                q.put(payload)

    def wait_for_stream(self) -> None:
        """Until a stream is open that the script will not drop."""
        drop = int(self.config.get("drop_streams", 0))
        deadline = time.monotonic() + WAIT
        with self.changed:
            while not (self.streams and self.stream_count > drop):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no lasting event stream")
                self.changed.wait(left)

    def wait_for_answer(self, request_id: str) -> dict:
        deadline = time.monotonic() + WAIT * 2
        with self.changed:
            while request_id not in self.answers:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no answer to {request_id}")
                self.changed.wait(left)
            return self.answers[request_id]

    def answer(self, request_id: str, body: dict) -> None:
        with self.changed:
            self.answers[request_id] = body
            self.changed.notify_all()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # a stream's body ends when the connection closes
    state: State

    def log_message(self, *args) -> None:  # quiet
        pass

    def _body(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode(errors="replace")

    def _json(self, status: int, obj) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.state.record("GET", self.path, None)
        if self.path == "/global/health":
            return self._json(200, {"healthy": True, "version": "fake"})
        if self.path == "/event":
            return self._stream()
        if self.path.startswith("/session/"):
            sid = self.path.split("/")[2]
            if sid in self.state.sessions:
                return self._json(200, {"id": sid, "directory": "/fake"})
            return self._json(404, {"name": "NotFoundError"})
        self._json(404, {"name": "NotFound"})

    def do_POST(self) -> None:
        body = self._body()
        self.state.record("POST", self.path, body)
        parts = self.path.split("/")
        if self.path == "/session":
            sid = f"ses_fake{len(self.state.sessions) + 1}"
            self.state.sessions.add(sid)
            return self._json(200, {"id": sid, "directory": "/fake"})
        if len(parts) == 4 and parts[1] == "session" and parts[3] == "message":
            return self._turn(parts[2])
        if len(parts) == 4 and parts[1] == "session" and parts[3] == "abort":
            return self._json(200, True)
        if len(parts) == 4 and parts[1] == "permission" and parts[3] == "reply":
            status = int(self.state.config.get("primary_reply_status", 200))
            if status == 200:
                self.state.answer(parts[2], {"route": "primary", "body": body})
            return self._json(status, True if status == 200 else {"name": "NotFound"})
        if len(parts) == 5 and parts[1] == "session" and parts[3] == "permissions":
            self.state.answer(parts[4], {"route": "fallback", "body": body})
            return self._json(200, True)
        self._json(404, {"name": "NotFound"})

    def _stream(self) -> None:
        q: queue.Queue = queue.Queue()
        with self.state.changed:
            self.state.stream_count += 1
            number = self.state.stream_count
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        self._send_event({"id": f"evt_c{number}", "type": "server.connected", "properties": {}})
        if number <= int(self.state.config.get("drop_streams", 0)):
            return  # the handler returns: HTTP/1.0 closes the connection
        with self.state.changed:
            self.state.streams.append(q)
            self.state.changed.notify_all()
        try:
            while True:
                try:
                    payload = q.get(timeout=1.0)
                except queue.Empty:
                    payload = {"type": "server.heartbeat", "properties": {}}
                self._send_event(payload)
        except OSError:
            pass
        finally:
            with self.state.changed:
                self.state.streams.remove(q)

    def _send_event(self, payload: dict) -> None:
        self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        self.wfile.flush()

    def _turn(self, sid: str) -> None:
        st = self.state
        st.wait_for_stream()
        st.turns += 1
        msg = f"msg_fake{st.turns}"
        st.publish({"type": "session.status",
                    "properties": {"sessionID": sid, "status": {"type": "busy"}}})
        if st.config.get("permission"):
            pid = f"per_fake{st.turns}"
            st.publish({"type": "permission.asked", "properties": {
                "id": pid, "sessionID": sid, "permission": "bash", "patterns": ["echo hi"],
                "metadata": {"command": "echo hi"}, "always": ["echo *"],
                "tool": {"messageID": msg, "callID": "call_fake"}}})
            st.wait_for_answer(pid)
            st.publish({"type": "permission.replied",
                        "properties": {"sessionID": sid, "requestID": pid, "reply": "once"}})
        chunks = st.config.get("reply_chunks", ["FAKE-", "REPLY"])
        st.publish({"type": "message.part.updated", "properties": {"sessionID": sid, "part": {
            "id": "prt_text", "messageID": msg, "sessionID": sid, "type": "text", "text": ""}}})
        for c in chunks:
            st.publish({"type": "message.part.delta", "properties": {
                "sessionID": sid, "messageID": msg, "partID": "prt_text", "field": "text",
                "delta": c}})
        st.publish({"type": "session.status",
                    "properties": {"sessionID": sid, "status": {"type": "idle"}}})
        self._json(200, {"info": {"id": msg, "sessionID": sid, "role": "assistant",
                                  "finish": "stop",
                                  "tokens": {"input": 1, "output": 2, "reasoning": 0,
                                             "cache": {"read": 0, "write": 0}}},
                         "parts": [{"type": "text", "text": "".join(chunks)}]})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--record", required=True)
    args = ap.parse_args()
    with open(args.config) as f:
        config = json.load(f)
    open(args.record, "w").close()
    Handler.state = State(config, args.record)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=server.shutdown).start())
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
