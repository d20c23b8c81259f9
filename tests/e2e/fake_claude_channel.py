#!/usr/bin/env python3
"""A scripted stand-in for interactive Claude Code with working channels, for
the part of the claude-channel backend the real claude cannot show offline
(peers.md §5: channel notifications are gated and never reach the model).

Installed as `claude` on PATH by the tests. It:
* answers `--version` ("2.1.197 (Claude Code)") and `--help` (lists
  `--effort <level>`);
* otherwise behaves like the interactive CLI in a tmux pane: reads
  `<cwd>/.mcp.json`, starts the MCP server named by
  `--dangerously-load-development-channels server:<name>` (the real
  `avenor claude-channel` sidecar), initializes it, lists its tools, and draws
  an idle Claude Code screen (welcome box, framed input box);
* records everything to $FAKE_CLAUDE_LOG (JSON lines): its argv, each line
  typed into the pane, every MCP message from the sidecar;
* acts on channel messages only (typed prompts are recorded, not acted on, so
  a test can see that both delivery paths carried the prompt while the work
  happened once):
    - `continue` with text containing "ASK-PERMISSION": sends
      notifications/claude/channel/permission_request, waits for
      notifications/claude/channel/permission, then finishes with the
      behavior as summary;
    - containing "STALL": reports `working` and waits (for a cancel);
    - containing "FAIL": finishes with status failed;
    - anything else: avenor_report working, avenor_reply to itself, then
      avenor_finish done with summary "did: <text>".
    - `cancel`: avenor_finish blocked.
With FAKE_CLAUDE_EXIT_AT_START set it exits (3) before doing anything.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import termios
import time
import tty

LOG = os.environ.get("FAKE_CLAUDE_LOG", "/dev/null")
RULE = "\u2500" * 80


def log(kind: str, **fields) -> None:
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps({"kind": kind, "t": time.time(), **fields}) + "\n")


def draw(status: str = "") -> None:
    out = sys.stdout
    out.write("\x1b[2J\x1b[H")
    out.write("\u256d\u2500\u2500\u2500 Claude Code v2.1.197 (fake) \u2500\u2500\u2500\u256e\r\n")
    out.write("\u2502 Tips for getting started \u2502\r\n")
    out.write("\u2570" + "\u2500" * 30 + "\u256f\r\n")
    if status:
        out.write(f"\u25cf {status}\r\n")
    out.write(RULE + "\r\n\u276f \r\n" + RULE + "\r\n  ? for shortcuts\r\n")
    out.flush()


class Sidecar:
    def __init__(self, entry: dict, cwd: str):
        self.proc = subprocess.Popen([entry["command"], *entry.get("args", [])], cwd=cwd,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(os.devnull, "wb"))
        self.buf = b""
        self.next_id = 1
        self.pending: dict[int, dict | None] = {}

    def send(self, msg: dict) -> None:
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict) -> int:
        rid = self.next_id
        self.next_id += 1
        self.pending[rid] = None
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        return rid

    def read_messages(self) -> list[dict]:
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        if not chunk:
            raise EOFError
        self.buf += chunk
        out = []
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            if line.strip():
                out.append(json.loads(line))
        return out


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--version"]:
        print("2.1.197 (Claude Code)")
        return 0
    if args[:1] == ["--help"]:
        print("Usage: claude [options]\n  --effort <level>   Effort level for the current session")
        return 0
    if os.environ.get("FAKE_CLAUDE_EXIT_AT_START"):
        return 3  # a claude that dies at once (bad install, crash)
    log("argv", argv=args, cwd=os.getcwd(),
        env={k: os.environ.get(k) for k in ("CLAUDE_CODE_CHILD_SESSION", "CLAUDE_CODE_SESSION_ID",
                                            "CLAUDE_PID")})
    server = ""
    if "--dangerously-load-development-channels" in args:
        server = args[args.index("--dangerously-load-development-channels") + 1]
    name = server.split(":", 1)[1] if server.startswith("server:") else server
    with open(os.path.join(os.getcwd(), ".mcp.json"), encoding="utf-8") as f:
        entry = json.load(f)["mcpServers"][name]

    side = Sidecar(entry, os.getcwd())
    init_id = side.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                          "clientInfo": {"name": "fake-claude", "version": "0"}})
    tty_fd = sys.stdin.fileno()
    saved = termios.tcgetattr(tty_fd)
    tty.setraw(tty_fd)
    draw()
    sel = selectors.DefaultSelector()
    sel.register(tty_fd, selectors.EVENT_READ, "tty")
    sel.register(side.proc.stdout, selectors.EVENT_READ, "mcp")
    typed = b""
    waiting_permission = ""
    try:
        while True:
            for key, _ in sel.select():
                if key.data == "tty":
                    data = os.read(tty_fd, 4096)
                    if not data:
                        return 0
                    for byte in data:
                        if byte in (13, 10):
                            if typed:
                                log("typed", text=typed.decode("utf-8", "replace"))
                            typed = b""
                        elif byte == 27:
                            log("key", name="Escape")
                        elif byte == 3:
                            return 130
                        else:
                            typed += bytes([byte])
                    continue
                for msg in side.read_messages():
                    log("mcp", message=msg)
                    if msg.get("id") == init_id and "result" in msg:
                        side.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
                        side.request("tools/list", {})
                        continue
                    method = msg.get("method", "")
                    params = msg.get("params", {})
                    if method == "notifications/claude/channel":
                        waiting_permission = act(side, params, waiting_permission)
                    elif method == "notifications/claude/channel/permission":
                        if params.get("request_id") == waiting_permission:
                            waiting_permission = ""
                            call(side, "avenor_finish", {"status": "done",
                                                         "summary": params.get("behavior", "")})
                            draw("permission " + params.get("behavior", ""))
    except EOFError:
        return 0
    finally:
        termios.tcsetattr(tty_fd, termios.TCSADRAIN, saved)


def call(side: Sidecar, tool: str, arguments: dict) -> None:
    side.request("tools/call", {"name": tool, "arguments": arguments})


def act(side: Sidecar, params: dict, waiting_permission: str) -> str:
    meta = params.get("meta", {})
    text = params.get("content", "")
    kind = meta.get("type")
    if kind == "cancel":
        call(side, "avenor_finish", {"status": "blocked", "summary": "stopped on cancel"})
        return waiting_permission
    if kind != "continue":
        return waiting_permission
    draw("working on: " + text[:60])
    if "ASK-PERMISSION" in text:
        request_id = "perm" + str(int(time.time() * 1000) % 100000)
        side.send({"jsonrpc": "2.0", "method": "notifications/claude/channel/permission_request",
                   "params": {"request_id": request_id, "tool_name": "Bash",
                              "description": "Run make test",
                              "input_preview": json.dumps({"command": "make test"})}})
        return request_id
    call(side, "avenor_report", {"state": "working", "payload": {"message": "on it"}})
    if "STALL" in text:
        return waiting_permission
    if "FAIL" in text:
        call(side, "avenor_finish", {"status": "failed", "summary": "could not: " + text})
        return waiting_permission
    call(side, "avenor_reply", {"to": meta.get("ctrl_id", ""), "payload": {"ack": text}})
    call(side, "avenor_finish", {"status": "done", "summary": "did: " + text,
                                 "files_changed": ["fake.txt"]})
    return waiting_permission


if __name__ == "__main__":
    sys.exit(main())
