"""A backend must not outlive a SIGKILLed avenor (issue 15 item 9), through the real binary.

The backend here ignores stdin EOF and SIGTERM (the fake's `ignore_eof`/`ignore_sigterm`) and
its wrapper leaves a helper in its process group that ignores EOF too (`sleep`). SIGKILL gives
avenor no chance to close anything: the kernel's PR_SET_PDEATHSIG ends the backend, the group
guardian ends the helper. Every wait is bounded.
"""

from __future__ import annotations

import os
import shlex
import signal
import time

from fake_agent import fake_agent_binary
from fake_run import process_alive

STUBBORN = {"ignore_eof": True, "ignore_sigterm": True,
            "turns": [[{"chunk": "working"}, {"sleep_ms": 120000}]]}


def wait_gone(pids: dict[str, int], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        alive = {name: pid for name, pid in pids.items() if process_alive(pid)}
        if not alive:
            return
        if time.monotonic() > deadline:
            for pid in alive.values():  # do not leave them behind a failed test
                os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"{alive} still alive {timeout} s after avenor was SIGKILLed")
        time.sleep(0.02)


def stubborn_world(fake, tmp_path):
    run = fake(STUBBORN)
    helper_file = tmp_path / "helper.pid"
    # The backend's wrapper starts a helper in the backend's process group first.
    wrapper = run.bin / "opencode"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"echo $$ >> {shlex.quote(str(run.pid_file))}\n"
        f"sleep 300 </dev/null >/dev/null 2>&1 &\n"
        f"echo $! > {shlex.quote(str(helper_file))}\n"
        f"exec {shlex.quote(str(fake_agent_binary()))} \"$@\"\n")
    return run, helper_file


def test_sigkilled_avenor_takes_backend_and_its_group_along(fake, tmp_path):
    run, helper_file = stubborn_world(fake, tmp_path)
    proc = run.start("--prompt", "x")
    proc.wait_for_event(lambda e: e.get("event") == "agent.message_chunk", timeout=30)
    [agent] = run.agent_pids()
    helper = int(helper_file.read_text())
    assert os.getpgid(helper) == os.getpgid(agent) == agent, "helper outside the backend group"
    assert process_alive(agent) and process_alive(helper)

    proc.proc.kill()
    proc.proc.wait(10)
    wait_gone({"backend": agent, "helper": helper})


def test_normal_end_still_stops_a_stubborn_backend(fake, tmp_path):
    """The guardian changes nothing on an orderly end: SIGTERM is ignored, SIGKILL after the
    grace ends the group, avenor exits 130 on its own SIGTERM."""
    run, helper_file = stubborn_world(fake, tmp_path)
    proc = run.start("--prompt", "x")
    proc.wait_for_event(lambda e: e.get("event") == "agent.message_chunk", timeout=30)
    [agent] = run.agent_pids()
    helper = int(helper_file.read_text())
    proc.signal(signal.SIGTERM)
    assert proc.wait(60) == 130
    wait_gone({"backend": agent, "helper": helper})
