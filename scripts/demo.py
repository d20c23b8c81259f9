#!/usr/bin/env python3
"""The main job, offline: start the scripted model server on 127.0.0.1, point the
real `opencode acp` (installed by setup into .peers/) at it through an isolated
HOME, run `avenor run` on the default backend, then print the sentinel and the
final_output of the event log. Nothing leaves the machine."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import peers  # noqa: E402


def main() -> int:
    avenor = REPO / "build" / "host" / "avenor"
    if not avenor.exists():
        print("demo: build/host/avenor is missing; run scripts/setup.sh first", file=sys.stderr)
        return 1
    if not peers.peers_bin("opencode"):
        print("demo: opencode is not installed in .peers/; run scripts/setup.sh first", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="avenor-demo-"))
    script = {"steps": [{"reply_chunks": ["Hello from the scripted model, ",
                                          "relayed by opencode through avenor."]}]}
    with peers.ModelServer(script, workdir=work / "model") as server:
        env = peers.opencode_env(work, server)
        events, sentinel = work / "events.ndjson", work / "run.done"
        argv = [str(avenor), "run", "--prompt", "Say hello.", "--dir", str(env.project),
                "--on-event", str(events), "--sentinel-file", str(sentinel)]
        print("$", " ".join(argv[:4]), "...", flush=True)
        rc = subprocess.run(argv, env=env.env, timeout=180).returncode
    print(f"exit code: {rc}")
    print(f"event log: {events} ({len(events.read_text().splitlines())} events)")
    print("sentinel:")
    print("  " + sentinel.read_text().replace("\n", "\n  ").rstrip())
    ends = [e for e in map(json.loads, events.read_text().splitlines()) if e["event"] == "session.end"]
    print("final_output:", ends[-1].get("final_output") if ends else "(no session.end)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
