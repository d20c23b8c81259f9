"""Faults and endings under `avenor stable` with the fake ACP agent (control.md §10.12, §10.15,
§10.16): a runtime killed with SIGKILL, the supervisor killed with SIGKILL and restarted on the
same socket and state dir (re-adoption of a running, a parked and a permission-waiting runtime),
registries that are corrupt, truncated or point at dead processes, shutdown graceful/kill,
signals, the idle timer and tombstones. Every process group is checked gone at the end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stable_harness import (ASK, CONTINUED, HOLD, alive,  # noqa: E402
                            assert_seq_exactly_once, assert_subscriber_matches_log, fake_script,
                            wait_groups_gone, wait_until)
from stable_harness import world  # noqa: E402,F401 (the fixture)

TOMBSTONE = re.compile(r"STOPPED reason=(\w+) pid=(\d+) at=\S+\n")


def tombstone_reason(world) -> str:
    text = world.tombstone()
    assert text is not None, "no tombstone"
    m = TOMBSTONE.fullmatch(text)
    assert m, f"malformed tombstone {text!r}"
    return m.group(1)


def assert_synthesized_death(rt, what: str) -> None:
    """§10.12: avenor.error + session.end(error) appended, sentinel FAILED, seqs once each."""
    log = rt.events()
    assert_seq_exactly_once(log, f"{what} log")
    err, end = log[-2], log[-1]
    assert err["event"] == "avenor.error" and err["source"] == "error", log[-3:]
    assert err["message"].startswith("runtime process exited unexpectedly: "), err
    assert end["event"] == "session.end" and end["stop_reason"] == "error", log[-3:]
    lines = rt.sentinel_lines()
    assert lines[0] == "FAILED" and "STOP_REASON=error" in lines and "EXIT_CODE=1" in lines, lines


def pgid_of(entry: dict) -> int:
    return os.getpgid(entry["runtime_pid"])


@pytest.mark.parametrize("target", ["runtime", "group"])
def test_runtime_killed(world, target):
    sup = world.stable("--max-runtimes", "1")
    with sup.client() as c, sup.client() as sub:
        sub.subscribe()  # every runtime: rt_1 does not exist yet
        c.spawn(prompt=HOLD, dir=str(world.workdir("victim")))
        e = c.wait_status("rt_1", "running")
        pgid = pgid_of(e)
        world.remember_pgid(pgid)
        pending = c.start_wait_turn("rt_1", 0)
        if target == "runtime":
            os.kill(e["runtime_pid"], signal.SIGKILL)
        else:
            os.killpg(pgid, signal.SIGKILL)
        ended = c.wait_status("rt_1", "ended")
        assert ended["exit_code"] == 1, ended
        got = c.finish_wait_turn(pending)
        assert got["runtime_id"] == "rt_1" and got["stop_reason"] == "error", got
        rt = world.rt("rt_1")
        assert_synthesized_death(rt, "rt_1")
        sub.wait_event(lambda x: x.get("event") == "session.end" and
                       x.get("stop_reason") == "error", what="synthesized session.end published")
        assert_subscriber_matches_log([x for x in sub.events if x.get("runtime_id") == "rt_1"],
                                      rt.events(), "rt_1 subscriber")
        reg = world.registry()
        assert [r["status"] for r in reg["runtimes"] if r["runtime_id"] == "rt_1"] == ["ended"]
        # the slot is released (--max-runtimes 1)
        nxt = c.spawn(prompt="after", dir=str(world.workdir("next")))
        assert nxt["runtime_id"] == "rt_2"
        c.wait_parked("rt_2")
        assert sorted(x["runtime_id"] for x in c.list()) == ["rt_1", "rt_2"], "tombstone kept"
    wait_groups_gone([pgid], what="the killed runtime's group (backend included)")


def test_supervisor_kill9_readopts_running_parked_and_permission(world, avenor):
    # rt_1 (mid): a turn the test freezes with SIGSTOP on its agent; rt_2 (park): parked;
    # rt_3 (perm): waiting on a permission held for the connected client.
    mid = world.workdir("mid", fake_script("ses_mid", turns=[
        [{"chunk": "mid-started "}, {"sleep_ms": 3000}, {"chunk": "MID-DONE"}]]))
    sup = world.stable()
    owner, watcher = sup.client(), sup.client()
    watcher.subscribe()
    owner.spawn(prompt="work", dir=str(mid))
    [agent_pid] = world.agents.pids("mid")
    os.kill(agent_pid, signal.SIGSTOP)  # the turn cannot finish until SIGCONT
    try:
        owner.wait_status("rt_1", "running")
        owner.spawn(prompt="first", dir=str(world.workdir("park")))
        owner.wait_parked("rt_2")
        owner.spawn(prompt=ASK, dir=str(world.workdir("perm")))
        owner.wait_entry("rt_3", lambda e: e.get("pending_permission") is True,
                         "pending permission")
        rt1, rt2, rt3 = world.rt("rt_1"), world.rt("rt_2"), world.rt("rt_3")
        assert not rt3.perm_request.exists(), "the claim must be held for the connected client"
        before = {e["runtime_id"]: e for e in owner.list()}
        for e in before.values():
            world.remember_pgid(pgid_of(e))
        run_id = owner.call_ok("status")["run_id"]
        perm_req = watcher.wait_event(lambda e: e.get("event") == "permission.request",
                                      what="permission.request seen by the watcher")
        seen_before = list(watcher.events)

        sup.kill9()
        owner.close()
        watcher.close()
        # §10.16: the link dropped, so rt_3's claim falls through to its file handler
        wait_until(rt3.perm_request.exists, what="rt_3's file handler after the link dropped")
        assert all(alive(e["runtime_pid"]) for e in before.values()), \
            "runtime processes must survive the supervisor's death"

        sup2 = world.stable()
        with sup2.client() as c, sup2.client() as w2:
            wait_until(lambda: {e["runtime_id"] for e in c.list()} == {"rt_1", "rt_2", "rt_3"},
                       what="all three runtimes re-adopted")
            # an entry may be listed before its rebuild from the child's status and replayed
            # history is complete, so each state is awaited (bounded), not sampled once
            entries = {
                "rt_1": c.wait_status("rt_1", "running"),
                "rt_2": c.wait_parked("rt_2"),
                "rt_3": c.wait_entry("rt_3", lambda e: e["status"] == "running" and
                                     e["pending_permission"] is True,
                                     "re-adopted with its pending permission"),
            }
            assert c.call_ok("status")["run_id"] == run_id, "the supervisor run id changed"
            assert entries["rt_3"]["permission"]["request_id"] == perm_req["request_id"], \
                "the re-adopted runtime's pending permission is not mirrored"
            for rid, e in entries.items():
                assert e["runtime_pid"] == before[rid]["runtime_pid"], (rid, e)
                assert e["session_id"] == before[rid]["session_id"], (rid, e)
            for rid in ("rt_1", "rt_2", "rt_3"):
                w2.subscribe({"runtime_id": rid, "replay": True, "limit": 256})
            waits = {rid: c.start_wait_turn(rid, 0) for rid in ("rt_1", "rt_2", "rt_3")}

            os.kill(agent_pid, signal.SIGCONT)  # the mid-turn runtime finishes its turn
            r1 = c.finish_wait_turn(waits["rt_1"])
            assert r1["stop_reason"] == "end_turn" and r1["final_output"].endswith("MID-DONE"), r1
            assert c.call_ok("prompt", {"runtime_id": "rt_2", "text": "Continue"}) == \
                {"accepted": True}
            r2 = c.finish_wait_turn(waits["rt_2"])
            assert r2 == {"runtime_id": "rt_2", "session_id": "ses_park",
                          "stop_reason": "end_turn", "final_output": CONTINUED}, r2
            p = subprocess.run([avenor, "answer", "--option", "once", str(rt3.perm_base)],
                               capture_output=True, text=True, timeout=30, env=world.env)
            assert p.returncode == 0, p.stderr
            r3 = c.finish_wait_turn(waits["rt_3"])
            assert r3["final_output"] == "ALLOWED", r3
            for rid in ("rt_1", "rt_2", "rt_3"):
                c.wait_parked(rid)
            assert world.agents.methods("park").count("session/new") == 1
            assert c.spawn(prompt="new", dir=str(world.workdir("new")))["runtime_id"] == "rt_4"

            for rid, rt in (("rt_1", rt1), ("rt_2", rt2), ("rt_3", rt3)):
                log = rt.events()
                assert_seq_exactly_once(log, f"{rid} log")
                mine = [e for e in seen_before if e.get("runtime_id") == rid]
                assert mine == log[:len(mine)], f"{rid}: what the first subscriber saw " \
                                                f"is not a prefix of the log"
                w2.wait_event(lambda e, r=rid, s=log[-1]["seq"]: e.get("runtime_id") == r and
                              e.get("seq") == s, what=f"{rid} replay reaching seq {log[-1]['seq']}")
                again = [e for e in w2.events if e.get("runtime_id") == rid]
                assert again == log, f"{rid}: replay + live after the restart differs from the log"
            resp = rt3.named("permission.response")
            assert len(resp) == 1 and resp[0]["source"] == "file", resp
    finally:
        try:
            os.kill(agent_pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def test_registry_pointing_at_dead_processes(world):
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt=HOLD, dir=str(world.workdir("busy")))
        c.spawn(prompt="quick", dir=str(world.workdir("calm")))
        c.wait_status("rt_1", "running")
        c.wait_parked("rt_2")
        groups = [pgid_of(e) for e in c.list()]
        run_id = c.call_ok("status")["run_id"]
    sup.kill9()
    for g in groups:
        os.killpg(g, signal.SIGKILL)
    wait_groups_gone(groups, what="runtime groups killed by the test")

    sup2 = world.stable()
    with sup2.client() as c:
        wait_until(lambda: len(c.list()) == 2, what="both registered runtimes listed")
        entries = c.entries()
        assert {e["status"] for e in entries.values()} == {"ended"}, entries
        assert entries["rt_1"]["exit_code"] == 1, entries["rt_1"]
        assert c.call_ok("status")["run_id"] == run_id
        assert_synthesized_death(world.rt("rt_1"), "rt_1 (mid-turn when it died)")
        assert_seq_exactly_once(world.rt("rt_2").events(), "rt_2 log")
        nxt = c.spawn(prompt="more", dir=str(world.workdir("more")))
        assert nxt["runtime_id"] == "rt_3", "ids continue from next_runtime"
        c.wait_parked("rt_3")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_corrupt_registry(world, damage):
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt="quick", dir=str(world.workdir("old")))
        g = pgid_of(c.wait_parked("rt_1"))
    sup.kill9()
    os.killpg(g, signal.SIGKILL)
    wait_groups_gone([g], what="the old runtime's group")
    reg_path = world.state / "registry.json"
    text = reg_path.read_text()
    reg_path.write_text({"garbage": "{]not json", "truncated": text[: len(text) // 2],
                         "empty": ""}[damage])
    old_log = world.rt("rt_1").events_path.read_bytes()

    sup2 = world.stable()
    with sup2.client() as c:
        listed = c.list()
        assert all(x["status"] == "ended" for x in listed), listed
        nxt = c.spawn(prompt="fresh", dir=str(world.workdir("fresh")))
        assert nxt["runtime_id"] != "rt_1", "a runtime id was reused in the same state dir"
        c.wait_parked(nxt["runtime_id"])
    assert world.rt("rt_1").events_path.read_bytes() == old_log, "the old runtime's log was lost"
    assert sup2.proc.poll() is None


def test_shutdown_graceful_cancels_everything(world):
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt=HOLD, dir=str(world.workdir("run")))
        c.spawn(prompt="quick", dir=str(world.workdir("parked")))
        c.wait_status("rt_1", "running")
        c.wait_parked("rt_2")
        groups = [pgid_of(e) for e in c.list()]
        for g in groups:
            world.remember_pgid(g)
    assert world.control_ok("shutdown", "graceful") == "shutting down\n"
    wait_groups_gone(groups, timeout=10, what="runtime groups after the shutdown reply")
    assert sup.wait_exit() == 0, sup.stderr_text()
    for rid in ("rt_1", "rt_2"):
        rt = world.rt(rid)
        lines = rt.sentinel_lines()
        assert lines[0] == "KILLED" and "EXIT_CODE=130" in lines, (rid, lines)
        end = rt.named("session.end")[-1]
        assert end["stop_reason"] == "cancelled", (rid, end)
        assert_seq_exactly_once(rt.events(), f"{rid} log")
    assert world.rt("rt_2").named("session.end")[-1].get("exit_code") == 130
    assert not (world.state / "registry.json").exists()
    assert not world.sock.exists()
    assert tombstone_reason(world) == "shutdown"
    world.wait_no_processes("after the shutdown pass")


def test_shutdown_kill_leaves_no_process(world):
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt=HOLD, dir=str(world.workdir("k1")))
        c.spawn(prompt=HOLD, dir=str(world.workdir("k2")))
        c.wait_status("rt_1", "running")
        c.wait_status("rt_2", "running")
        groups = [pgid_of(e) for e in c.list()]
        for g in groups:
            world.remember_pgid(g)
    assert world.control_ok("shutdown", "kill") == "shutting down\n"
    assert sup.wait_exit() == 0, sup.stderr_text()
    wait_groups_gone(groups, timeout=10, what="runtime groups after shutdown kill")
    for rid in ("rt_1", "rt_2"):
        assert_synthesized_death(world.rt(rid), rid)
    assert tombstone_reason(world) == "shutdown"
    world.wait_no_processes("after the shutdown pass")


def test_graceful_shutdown_timeout_kills_what_is_left(world):
    stubborn = world.workdir("stub", fake_script(
        "ses_stub", turns=[[{"chunk": "stubborn"}, {"hang": True, "ignore_eof": True}]],
        ignore_cancel=True, ignore_sigterm=True))
    sup = world.stable("--shutdown-timeout", "1s")
    with sup.client() as c:
        c.spawn(prompt="go", dir=str(stubborn))
        g = pgid_of(c.wait_status("rt_1", "running"))
        world.remember_pgid(g)
    sup.signal(signal.SIGTERM)
    assert sup.wait_exit() == 0, sup.stderr_text()
    assert "avenor stable: 1 runtimes did not finish within 1s" in sup.stderr_text()
    wait_groups_gone([g], timeout=10, what="the stubborn runtime's group")
    assert tombstone_reason(world) == "signal"
    world.wait_no_processes("after the shutdown pass")


def test_sigterm_is_a_graceful_shutdown(world):
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt="quick", dir=str(world.workdir("t")))
        e = c.wait_parked("rt_1")
        g = pgid_of(e)
    sup.signal(signal.SIGTERM)
    assert sup.wait_exit() == 0
    wait_groups_gone([g], timeout=10, what="runtime group after SIGTERM")
    assert world.rt("rt_1").sentinel_lines()[0] == "KILLED"
    assert tombstone_reason(world) == "signal"


def test_idle_timeout_without_runtimes(world):
    sup = world.stable("--idle-timeout", "1s")
    assert sup.wait_exit(timeout=20) == 0
    assert tombstone_reason(world) == "idle"
    assert not world.sock.exists()


def test_idle_timer_waits_for_active_runtimes_not_parked_ones(world):
    sup = world.stable("--idle-timeout", "3s")
    with sup.client() as c:
        c.spawn(prompt=HOLD, dir=str(world.workdir("hold")))
        c.wait_status("rt_1", "running")
        try:
            sup.proc.wait(timeout=4)  # beyond the idle timeout: must still be running
            pytest.fail("the supervisor went idle while a runtime was active")
        except subprocess.TimeoutExpired:
            pass
        c.spawn(prompt="quick", dir=str(world.workdir("quick")))
        c.wait_parked("rt_2")
        c.call_ok("cancel", {"runtime_id": "rt_1"})
    # only a parked runtime is left: the idle timer runs out
    assert sup.wait_exit(timeout=30) == 0
    assert tombstone_reason(world) == "idle"
    lines = world.rt("rt_2").sentinel_lines()
    assert lines[0] == "KILLED", "the idle pass cancels the parked runtime"
    world.wait_no_processes("after the shutdown pass")



def test_restart_after_shutdown_starts_empty(world):
    """An orderly shutdown ends the tombstones with the supervisor: a new one on the same socket
    lists nothing (not the old runtime directories as remains of a lost registry) and does not
    reuse their ids."""
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt="quick", dir=str(world.workdir("old")))
        c.wait_parked("rt_1")
    assert world.control_ok("shutdown", "graceful") == "shutting down\n"
    assert sup.wait_exit() == 0, sup.stderr_text()
    assert world.rt("rt_1").events_path.exists(), "the old runtime's log must stay"

    sup2 = world.stable()
    with sup2.client() as c:
        assert c.list() == [], "tombstones of the previous supervisor came back"
        nxt = c.spawn(prompt="fresh", dir=str(world.workdir("fresh")))
        assert nxt["runtime_id"] == "rt_2", "a runtime id was reused in the same state dir"
        c.wait_parked("rt_2")
