#!/usr/bin/env python3
"""A scripted stand-in for `pi --mode rpc`, for the few cases the real pi 0.73.1 cannot be made
to show (tests/e2e/test_run_pi.py says which). It speaks pi's RPC framing — JSON lines on stdin
and stdout — answers get_state, prompt and abort, and plays one scenario per prompt:

* ``will_retry``: an agent_end with ``willRetry:true`` (D11; real pi signals retries with a
  following auto_retry_start instead), then a second run that succeeds with "AFTER-RETRY";
* ``noisy``: a stray non-JSON line, CRLF endings, blank lines, U+2028/U+2029 inside a JSON string,
  and a record written in many small pieces;
* ``old_help``: a `pi --help` without `--thinking <level>` (a pi too old for the flag).

`fake_pi.py --help` prints a help text on stderr, as pi 0.73.1 does.

Environment: FAKE_PI_SCENARIO (required), FAKE_PI_LOG (every command received, and the argv, as
JSON lines). Uses only the Python standard library; exits when stdin closes.
"""

from __future__ import annotations

import json
import os
import sys
import time

SESSION = "fake-session-1"
OUT = sys.stdout.buffer


def log(entry: dict) -> None:
    path = os.environ.get("FAKE_PI_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(entry) + "\n")


def write(raw: bytes) -> None:
    OUT.write(raw)
    OUT.flush()


def send(obj: dict, ending: bytes = b"\n") -> None:
    write(json.dumps(obj, ensure_ascii=False).encode() + ending)


def respond(cmd: dict, **fields) -> None:
    send({"id": cmd.get("id"), "type": "response", "command": cmd.get("type"), "success": True,
          **fields})


def assistant(text: str, stop: str = "stop", error: str | None = None) -> dict:
    msg = {"role": "assistant", "content": [{"type": "text", "text": text}] if text else [],
           "usage": {"input": 5, "output": 2, "cacheRead": 0, "cacheWrite": 0, "totalTokens": 7},
           "stopReason": stop}
    if error:
        msg["errorMessage"] = error
    return msg


def text_delta(text: str) -> dict:
    return {"type": "message_update",
            "assistantMessageEvent": {"type": "text_delta", "contentIndex": 0, "delta": text}}


def play_will_retry(prompt: str) -> None:
    send({"type": "agent_start"})
    send({"type": "agent_end", "willRetry": True,
          "messages": [{"role": "user", "content": prompt},
                       assistant("", "error", "503 overloaded")]})
    send({"type": "agent_start"})
    send(text_delta("AFTER-RETRY"))
    send({"type": "agent_end", "messages": [assistant("AFTER-RETRY")]})


def play_noisy(prompt: str) -> None:
    write(b"Debugger listening on ws://127.0.0.1:9229 (not JSON)\n")
    send({"type": "agent_start"}, b"\r\n")
    write(b"\n\r\n")
    text = "line\u2028separator\u2029paragraph"
    for piece in (text[:5], text[5:]):
        send(text_delta(piece), b"\r\n")
    record = json.dumps({"type": "agent_end", "messages": [assistant(text)]},
                        ensure_ascii=False).encode() + b"\n"
    for i in range(0, len(record), 7):  # one record in many writes
        write(record[i:i + 7])
        time.sleep(0.001)


SCENARIOS = {"will_retry": play_will_retry, "noisy": play_noisy}


HELP = """pi - AI coding assistant (fake)

Options:
  --model <pattern>              Model pattern or ID
  --mode <mode>                  Output mode: text (default), json, or rpc
  --no-session                   Don't save session (ephemeral)
"""
THINKING_HELP = "  --thinking <level>             Set thinking level: off, low, medium, high, xhigh\n"


def main() -> int:
    name = os.environ["FAKE_PI_SCENARIO"]
    log({"argv": sys.argv[1:]})
    if "--help" in sys.argv[1:]:
        sys.stderr.write(HELP + ("" if name == "old_help" else THINKING_HELP))
        return 0
    scenario = SCENARIOS.get(name, play_will_retry)
    for raw in sys.stdin.buffer:
        line = raw.decode().rstrip("\r\n")
        if not line:
            continue
        cmd = json.loads(line)
        log(cmd)
        kind = cmd.get("type")
        if kind == "get_state":
            respond(cmd, data={"sessionId": SESSION, "thinkingLevel": "off", "isStreaming": False})
        elif kind == "prompt":
            respond(cmd)
            scenario(cmd.get("message", ""))
        elif kind == "abort":
            respond(cmd)
        elif kind != "extension_ui_response":
            send({"id": cmd.get("id"), "type": "response", "command": kind, "success": False,
                  "error": f"fake_pi: unsupported command {kind}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
