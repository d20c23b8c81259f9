"""Records an MCP stdio conversation: `python3 mcp_stdio_tap.py LOG -- CMD ARGS...`
runs CMD with its stdin/stdout passed through and appends every line to LOG
as `{"dir": "in"|"out", "line": <parsed JSON or raw text>}` ("in" = client to
server). Used as the `command` of an MCP config entry so a test can see what
a real client (Claude Code) and the server said to each other. The server's
exit code becomes the tap's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading


def main() -> int:
    log_path, sep, *cmd = sys.argv[1:]
    assert sep == "--" and cmd, "usage: mcp_stdio_tap.py LOG -- CMD ARGS..."
    lock = threading.Lock()
    log = open(log_path, "a", encoding="utf-8")

    def record(direction: str, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\n")
        try:
            line = json.loads(text)
        except ValueError:
            line = text
        with lock:
            log.write(json.dumps({"dir": direction, "line": line}) + "\n")
            log.flush()

    child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def pump_in() -> None:
        for raw in sys.stdin.buffer:
            record("in", raw)
            try:
                child.stdin.write(raw)
                child.stdin.flush()
            except BrokenPipeError:
                break
        child.stdin.close()

    threading.Thread(target=pump_in, daemon=True).start()
    for raw in child.stdout:
        record("out", raw)
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
