#!/usr/bin/env python3
"""A scripted stand-in for `codex app-server`, for the cases the real codex 0.169.0 cannot be
made to show offline (see docs/backends/codex-app-server.md, "How it is tested"):
item/permissions/requestApproval, reasoning deltas and the generic item/delta / item/updated
notifications, MCP tool items, a turn/completed that overtakes its turn/start response,
malformed stdout lines, server requests avenor does not implement, and a crash mid-turn.

It speaks codex's wire format: one JSON object per line, JSON-RPC shapes without "jsonrpc".
Every line it receives is appended to $FAKE_CODEX_RECORD (one JSON object per line; lines
that are not JSON are recorded as {"_unparsed": line}).

$FAKE_CODEX_SCENARIO names a JSON file {"turns": [[step, ...], ...]}; turn/start number n
plays turns[n] (an empty turn when there are fewer). Steps, in order:
  {"notify": method, "params": {...}}   a notification
  {"request": method, "params": {...}, "id": x}
                                       a server->client request; waits for its response
  {"raw": "text"}                      a raw stdout line (not JSON)
  {"complete": status, "error": "msg"} turn/completed with that status
  {"stderr": "text"}                   a line on stderr
  {"exit": code}                       exit at once
  {"hang": true}                       wait for turn/interrupt, then complete "interrupted"
  {"early_complete": true}             (first step only) send turn/completed before the
                                       turn/start response
In params and text, the strings $THREAD and $TURN are replaced by the current ids.
"""

from __future__ import annotations

import json
import os
import sys

THREAD = "01a20b66-0000-7000-8000-00000000f00d"


class Fake:
    def __init__(self) -> None:
        with open(os.environ["FAKE_CODEX_SCENARIO"], encoding="utf-8") as f:
            self.turns = json.load(f).get("turns", [])
        self.record = open(os.environ["FAKE_CODEX_RECORD"], "a", encoding="utf-8")
        self.turn_count = 0
        self.turn = ""
        self.active = False

    # --- wire ---------------------------------------------------------------------------
    def send(self, obj: dict) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def read(self) -> dict | None:
        line = sys.stdin.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            return self.read()
        try:
            msg = json.loads(line)
        except ValueError:
            msg = {"_unparsed": line}
        self.record.write(json.dumps(msg) + "\n")
        self.record.flush()
        return msg

    def fill(self, value):
        text = json.dumps(value).replace("$THREAD", THREAD).replace("$TURN", self.turn)
        return json.loads(text)

    # --- protocol -----------------------------------------------------------------------
    def run(self) -> int:
        while True:
            msg = self.read()
            if msg is None:
                return 0
            method = msg.get("method")
            if method is None or "id" not in msg:
                continue  # notifications (initialized) and responses we did not wait for
            handler = {
                "initialize": lambda m: self.send({"id": m["id"], "result": {
                    "userAgent": "fake_codex/0.0.0", "platformFamily": "unix"}}),
                "thread/start": lambda m: self.send({"id": m["id"], "result": {
                    "thread": {"id": THREAD}, "approvalPolicy": "on-request"}}),
                "thread/resume": lambda m: self.send({"id": m["id"], "result": {
                    "thread": {"id": m["params"]["threadId"]}}}),
                "turn/start": self.turn_start,
                "turn/interrupt": self.interrupt,
            }.get(method)
            if handler is None:
                self.send({"id": msg["id"], "error": {"code": -32601,
                                                      "message": f"unknown method {method}"}})
                continue
            rc = handler(msg)
            if isinstance(rc, int):
                return rc

    def complete(self, status: str, error: str | None = None) -> None:
        self.active = False
        self.send({"method": "turn/completed", "params": {"threadId": THREAD, "turn": {
            "id": self.turn, "status": status, "items": [],
            "error": {"message": error} if error else None}}})

    def interrupt(self, msg: dict) -> None:
        if not self.active:
            self.send({"id": msg["id"], "error": {"code": -32600,
                                                  "message": "no active turn to interrupt"}})
            return
        self.send({"id": msg["id"], "result": {}})
        self.complete("interrupted")

    def turn_start(self, msg: dict):
        steps = self.turns[self.turn_count] if self.turn_count < len(self.turns) else []
        self.turn_count += 1
        self.turn = f"turn-{self.turn_count}"
        self.active = True
        response = {"id": msg["id"], "result": {"turn": {"id": self.turn, "status": "inProgress",
                                                         "items": []}}}
        if steps and steps[0].get("early_complete"):
            self.complete("completed")
            self.send(response)
            return None
        self.send(response)
        self.send({"method": "turn/started", "params": {"threadId": THREAD, "turn": {
            "id": self.turn, "status": "inProgress", "items": []}}})
        for step in steps:
            rc = self.play(self.fill(step))
            if isinstance(rc, int):
                return rc
            if rc == "stop":
                break
        return None

    def play(self, step: dict):
        if "notify" in step:
            self.send({"method": step["notify"], "params": step.get("params", {})})
        elif "request" in step:
            rid = step.get("id", 0)
            self.send({"method": step["request"], "id": rid, "params": step.get("params", {})})
            while True:  # answer other requests meanwhile (turn/interrupt)
                msg = self.read()
                if msg is None:
                    return 0
                if msg.get("id") == rid and "method" not in msg:
                    break
                if msg.get("method") == "turn/interrupt":
                    self.interrupt(msg)
                    return "stop"
        elif "raw" in step:
            sys.stdout.write(step["raw"] + "\n")
            sys.stdout.flush()
        elif "complete" in step:
            self.complete(step["complete"], step.get("error"))
        elif "stderr" in step:
            sys.stderr.write(step["stderr"] + "\n")
            sys.stderr.flush()
        elif "exit" in step:
            return int(step["exit"])
        elif step.get("hang"):
            while self.active:
                msg = self.read()
                if msg is None:
                    return 0
                if msg.get("method") == "turn/interrupt":
                    self.interrupt(msg)
        return None


if __name__ == "__main__":
    sys.exit(Fake().run())
