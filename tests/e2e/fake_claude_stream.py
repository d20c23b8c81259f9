#!/usr/bin/env python3
"""A scripted stand-in for `claude -p --input-format stream-json --output-format stream-json`,
for what the real Claude Code cannot be made to show (tests/e2e/test_run_claude.py, the
`*_scripted` tests). Put first on PATH as `claude`; FAKE_CLAUDE_SCENARIO picks the behaviour and
FAKE_CLAUDE_LOG (optional) gets one JSON line per argv / stdin message.

Scenarios (each answers `initialize` like claude 2.1.197, then acts on the first user message):
  crash      init, one text delta, then exit 3 mid-turn
  malformed  a line that is not JSON, then a normal reply "AFTER-NOISE" and its result
  oversize   one 5 MiB stdout line (the host's line limit is 4 MiB)
"""

import json
import os
import sys

SCENARIO = os.environ.get("FAKE_CLAUDE_SCENARIO", "malformed")
LOG = os.environ.get("FAKE_CLAUDE_LOG")


def log(obj):
    if LOG:
        with open(LOG, "a") as f:
            f.write(json.dumps(obj) + "\n")


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def session_id(argv):
    for flag in ("--session-id", "--resume"):
        if flag in argv:
            return argv[argv.index(flag) + 1]
    return "no-session"


def reply(sid, text):
    send({"type": "system", "subtype": "init", "session_id": sid, "model": "fake",
          "claude_code_version": "0.0.0-fake"})
    send({"type": "stream_event", "session_id": sid, "parent_tool_use_id": None,
          "event": {"type": "message_start", "message": {"id": "msg_1", "content": []}}})
    send({"type": "stream_event", "session_id": sid, "parent_tool_use_id": None,
          "event": {"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": text}}})


def main():
    argv = sys.argv[1:]
    log({"argv": argv})
    sid = session_id(argv)
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        log(msg)
        if msg.get("type") == "control_request":
            send({"type": "control_response", "response": {
                "subtype": "success", "request_id": msg["request_id"], "response": {}}})
            continue
        if msg.get("type") != "user":
            continue
        if SCENARIO == "crash":
            reply(sid, "PARTIAL")
            sys.exit(3)
        if SCENARIO == "oversize":
            sys.stdout.write(json.dumps({"type": "system", "subtype": "status",
                                         "status": "x" * (5 << 20)}) + "\n")
            sys.stdout.flush()
            continue
        sys.stdout.write("this is not JSON {\n")
        reply(sid, "AFTER-NOISE")
        send({"type": "result", "subtype": "success", "is_error": False, "num_turns": 1,
              "result": "AFTER-NOISE", "stop_reason": "end_turn", "session_id": sid,
              "total_cost_usd": 0, "usage": {"input_tokens": 1, "output_tokens": 1}})


if __name__ == "__main__":
    main()
