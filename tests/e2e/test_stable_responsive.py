"""The supervisor stays responsive (issue 11, control.md §8 back-pressure): while one runtime
floods events, one client subscribes and never reads, and one runtime process hangs (SIGSTOP),
`list` and `status` keep answering for everyone else. The bound is loose (a stall, not a
benchmark: bench/ measures latency) so the test holds on a busy 2-core machine."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stable_harness import fake_script  # noqa: E402
from stable_harness import world  # noqa: E402,F401 (the fixture)

FLOOD = 50000
STALL_S = 2.0  # one round of list + status + status{rt} must never take longer


def test_list_and_status_answer_during_flood_stuck_client_and_hung_child(world):
    flood = world.workdir("flood", fake_script("ses_flood", turns=[
        [{"flood": {"count": FLOOD, "text": "chunk-", "numbered": True}}, {"chunk": "FLOOD-END"}]]))
    sup = world.stable()
    lazy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hung_pid = 0
    try:
        with sup.client() as owner, sup.client() as c:
            owner.spawn(prompt="quick", dir=str(world.workdir("hung")))
            hung_pid = owner.wait_parked("rt_1")["runtime_pid"]
            os.kill(hung_pid, signal.SIGSTOP)  # its socket stops answering
            lazy.connect(str(world.sock))
            lazy.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe",
                                     "params": {}}).encode() + b"\n")  # and never reads
            owner.spawn(prompt="go", dir=str(flood))
            # forwarded to the stopped child, which cannot answer: the owner's connection
            # waits, nobody else may
            cancel_id = owner.request("cancel", {"runtime_id": "rt_1"})
            rounds, worst = 0, 0.0
            deadline = time.monotonic() + 180
            while True:
                t0 = time.monotonic()
                listed = {e["runtime_id"]: e for e in c.list()}
                c.call_ok("status")
                hung = c.entry("rt_1")
                worst = max(worst, time.monotonic() - t0)
                rounds += 1
                assert hung["status"] == "idle", hung
                if listed["rt_2"]["status"] == "idle" and listed["rt_2"]["phase"] == "done":
                    break
                assert time.monotonic() < deadline, f"the flood did not finish: {listed['rt_2']}"
                time.sleep(0.02)
            assert worst < STALL_S, f"a list/status round took {worst:.2f} s during the flood"
            assert rounds >= 1
            flood_log = world.rt("rt_2").events()
            ends = [e for e in flood_log if e["event"] == "session.end"]
            assert ends and ends[-1]["final_output"].endswith("FLOOD-END"), ends[-1:]
            seqs = [e["seq"] for e in flood_log]
            assert seqs == list(range(1, len(seqs) + 1))
            assert len(flood_log) > FLOOD, "the flood did not reach the runtime's log"
            assert c.entry("rt_2")["latest_seq"] == seqs[-1]
            os.kill(hung_pid, signal.SIGCONT)
            assert owner.response(cancel_id, timeout=30).get("result") == {"ok": True}
            c.wait_status("rt_1", "ended")
            assert world.rt("rt_1").sentinel_lines()[0] == "KILLED"
    finally:
        lazy.close()
        if hung_pid:
            try:
                os.kill(hung_pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
