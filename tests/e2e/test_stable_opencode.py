"""`avenor stable` supervising the REAL `opencode acp` (npm opencode-ai) that talks to the
scripted model server on 127.0.0.1 (peers.py): the product documentation's command lines
literally, three runtimes in three directories at once, a follow-up to a parked runtime whose
second model request carries the first turn's history, wait_turn, and a permission answered by
a supervisor client and, with no client connected, through the runtime's file handler and
`avenor answer`. Skipped (SKIPPED-PEER) when opencode is not installed."""

from __future__ import annotations

import fcntl
import json
import os
import stat
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402
from stable_harness import (StableWorld, assert_seq_exactly_once, children,  # noqa: E402
                            socket_answers, wait_groups_gone, wait_until)

TOOL_COMMAND = "printf 'TOOL-MARKER-%d\\n' 42"
TURN = 180  # a turn's bound on a loaded 2-core machine (opencode alone starts in up to 25 s)
LITERAL_SOCKET = Path("/tmp/avenor-stable.sock")


@pytest.fixture
def opencode():
    return peers.require_peer("opencode")


@pytest.fixture
def oc_world(avenor, opencode, tmp_path, model_server):
    """Factory: oc_world(script, permission_ask=False) -> (StableWorld, ModelServer)."""
    made: list[StableWorld] = []

    def make(script: dict, permission_ask: bool = False):
        server = model_server(script)
        penv = peers.opencode_env(tmp_path, server, permission_ask=permission_ask)
        w = StableWorld(avenor, env=penv.env, fake=False)
        made.append(w)
        return w, server

    yield make
    for w in made:
        w.cleanup()


def project(world: StableWorld, name: str) -> Path:
    d = world.work / name
    d.mkdir()
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(d)], check=True,
                   timeout=30, env=world.env, stdout=subprocess.DEVNULL)
    return d


def main_requests(server) -> list[dict]:
    return server.requests(kind="main")


@pytest.fixture
def literal_socket():
    """The documented socket path /tmp/avenor-stable.sock, taken for this test only (a lock
    serialises concurrent runs; a live socket owned by someone else skips)."""
    lock = open("/tmp/avenor-stable.sock.e2e-lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        if os.path.lexists(LITERAL_SOCKET):
            st = os.lstat(LITERAL_SOCKET)
            if not stat.S_ISSOCK(st.st_mode) or socket_answers(LITERAL_SOCKET):
                pytest.skip(f"{LITERAL_SOCKET} is in use by something else")
        yield LITERAL_SOCKET
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


@pytest.fixture
def literal_repo():
    """/repo/A of the documented spawn line. Made (a git repository) when missing and then
    removed again; an existing one is used as it is and never removed."""
    made = [d for d in (Path("/repo"), Path("/repo/A")) if not d.exists()]
    for d in made:
        d.mkdir()
    if made:
        subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", "/repo/A"],
                       check=True, timeout=30, stdout=subprocess.DEVNULL)
    try:
        yield Path("/repo/A")
    finally:
        if made:
            shutil.rmtree(made[0])


def test_documented_command_lines(oc_world, literal_socket, literal_repo, avenor):
    world, server = oc_world({"steps": [{"reply": "REVIEW-DONE"}, {"reply": "CONTINUE-DONE"}]})
    world.sock = literal_socket
    repo_a = literal_repo
    try:
        # avenor stable --control-socket /tmp/avenor-stable.sock
        sup = world.start(state_dir=False)
        sup.wait_ready()
        # avenor control --socket /tmp/avenor-stable.sock spawn --prompt "Review PR #42" \
        #   --dir /repo/A --label review-42
        p = subprocess.run([avenor, "control", "--socket", "/tmp/avenor-stable.sock", "spawn",
                            "--prompt", "Review PR #42", "--dir", "/repo/A",
                            "--label", "review-42"],
                           capture_output=True, text=True, timeout=TURN, env=world.env)
        assert p.returncode == 0, p.stderr
        spawned = json.loads(p.stdout)
        assert spawned["runtime_id"] == "rt_1" and spawned["session_id"].startswith("ses_")
        session = spawned["session_id"]
        rt = world.rt("rt_1", Path(spawned["on_event"]).parent.parent)

        with sup.client() as c:
            c.wait_parked("rt_1", timeout=TURN)
            # avenor control --socket /tmp/avenor-stable.sock list
            listed = json.loads(world.control_ok("list"))
            assert [(e["runtime_id"], e["label"], e["status"]) for e in listed] == \
                [("rt_1", "review-42", "idle")]
            assert listed[0]["final_output"].endswith("REVIEW-DONE")
            assert listed[0]["dir"] == str(repo_a)

            # wait_turn fires on the next turn; the follow-up is the CLI's
            pending = c.start_wait_turn("rt_1", 0)
            # avenor control --socket /tmp/avenor-stable.sock prompt "Continue" rt_1
            assert world.control_ok("prompt", "Continue", "rt_1") == "prompt queued\n"
            got = c.finish_wait_turn(pending, timeout=TURN)
            assert got["session_id"] == session and got["stop_reason"] == "end_turn", got
            assert got["final_output"].endswith("CONTINUE-DONE"), got
            c.wait_parked("rt_1", timeout=TURN)

        mains = main_requests(server)
        assert len(mains) == 2, f"expected 2 main model requests, got {len(mains)}"
        second = json.dumps(mains[1]["body"])
        assert "Review PR #42" in second and "REVIEW-DONE" in second, \
            "the follow-up's model request does not carry the first turn's history"
        ends = rt.named("session.end")
        assert [e["session_id"] for e in ends] == [session, session]

        # avenor control --socket /tmp/avenor-stable.sock cancel rt_1
        assert world.control_ok("cancel", "rt_1") == "cancelled\n"
        lines = rt.wait_sentinel("KILLED", timeout=60)
        assert "STOP_REASON=cancelled" in lines and f"SESSION={session}" in lines
        with sup.client() as c:
            e = c.wait_status("rt_1", "ended", timeout=60)
            assert e["exit_code"] == 130, e
        # avenor control --socket /tmp/avenor-stable.sock shutdown graceful
        assert world.control_ok("shutdown", "graceful") == "shutting down\n"
        assert sup.wait_exit(60) == 0, sup.stderr_text()
        assert_seq_exactly_once(rt.events(), "rt_1 log")
        assert not LITERAL_SOCKET.exists()
        world.wait_no_processes("after shutdown graceful (opencode included)")
    finally:
        world.cleanup()
        for leftover in (LITERAL_SOCKET, Path(f"{LITERAL_SOCKET}.dead")):
            if os.path.lexists(leftover) and not socket_answers(LITERAL_SOCKET):
                leftover.unlink()


def test_three_runtimes_in_three_directories(oc_world):
    world, server = oc_world({"steps": [{"delay_ms": 300, "reply": "R-ONE"},
                                        {"delay_ms": 300, "reply": "R-TWO"},
                                        {"delay_ms": 300, "reply": "R-THREE"}]})
    sup = world.stable()
    dirs = [project(world, n) for n in ("one", "two", "three")]
    with sup.client() as c:
        ids = [c.spawn(prompt=f"Work in {d.name}.", dir=str(d))["runtime_id"] for d in dirs]
        assert ids == ["rt_1", "rt_2", "rt_3"]
        entries = [c.wait_parked(r, timeout=TURN) for r in ids]
        # all three alive at once, each with its own opencode started for its directory
        backends = []
        for e, d in zip(entries, dirs):
            assert e["dir"] == str(d)
            world.remember_pgid(os.getpgid(e["runtime_pid"]))
            [oc] = children(e["runtime_pid"])
            backends.append(oc)
            argv = Path(f"/proc/{oc}/cmdline").read_bytes().split(b"\0")
            assert str(d).encode() in argv, f"{e['runtime_id']}: opencode not started for {d}"
        assert len({e["session_id"] for e in entries}) == 3
        assert sorted(e["final_output"][-5:] for e in entries) == \
            sorted(x[-5:] for x in ("R-ONE", "R-TWO", "R-THREE")), entries
        groups = [os.getpgid(e["runtime_pid"]) for e in entries]
        backend_groups = [os.getpgid(b) for b in backends]
        assert c.call_ok("shutdown", {"mode": "graceful"}) == {"shutting_down": True}
    assert sup.wait_exit(60) == 0
    wait_groups_gone(groups, what="the three runtimes and their opencode processes")
    for r in ids:
        assert_seq_exactly_once(world.rt(r).events(), f"{r} log")
        assert world.rt(r).sentinel_lines()[0] == "KILLED"
    world.wait_no_processes("after shutdown graceful (opencode included)")
    assert [e["pid"] for e in entries] == backends, "entry pid must be the backend's pid"
    # Each opencode leads its own group, apart from its runtime's (docs/stable.md);
    # both are gone after the shutdown.
    assert backend_groups == backends and not set(backend_groups) & set(groups), backend_groups
    wait_groups_gone(backend_groups, what="the three opencode process groups")


def test_permission_by_supervisor_client_then_by_file(oc_world, avenor):
    world, server = oc_world({"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                        {"reply": "AFTER-CLIENT"},
                                        {"tool_call": {"command": TOOL_COMMAND}},
                                        {"reply": "AFTER-FILE"}]}, permission_ask=True)
    sup = world.stable()
    with sup.client() as c, sup.client() as sub:
        sub.subscribe()  # every runtime: rt_1 does not exist yet
        c.spawn(prompt="RUN_TOOL", dir=str(project(world, "client")))
        req = sub.wait_event(lambda e: e.get("event") == "permission.request", timeout=TURN,
                             what="opencode's permission request via the supervisor")
        assert req["resolver"] == "reserved"
        e = c.wait_entry("rt_1", lambda x: x.get("pending_permission") is True, "pending perm")
        assert e["permission"]["request_id"] == req["request_id"]
        allow = next(o["optionId"] for o in req["options"] if o["kind"].startswith("allow"))
        assert c.call_ok("answer_permission", {"runtime_id": "rt_1",
                                               "request_id": req["request_id"],
                                               "option_id": allow}) == {"accepted": True}
        done = c.wait_parked("rt_1", timeout=TURN)
        assert done["final_output"].endswith("AFTER-CLIENT")
    resp = world.rt("rt_1").named("permission.response")
    assert [(r["source"], r["kind"]) for r in resp] == [("control", "allow")]
    assert any("TOOL-MARKER-42" in json.dumps(r["body"]) for r in main_requests(server))

    # no client connected: the supervisor releases the claim to the runtime's file handler.
    # (The spawn goes over a connection closed right after it: `avenor control spawn` has a
    # 30 s client timeout that opencode's start can exceed on a loaded machine.)
    with sup.client() as c:
        rt = world.rt(c.spawn(prompt="RUN_TOOL", dir=str(project(world, "file")))["runtime_id"])
    wait_until(rt.perm_request.exists, timeout=TURN, what=f"{rt.perm_request}")
    p = subprocess.run([avenor, "answer", "--option", "once", str(rt.perm_base)],
                       capture_output=True, text=True, timeout=30, env=world.env)
    assert p.returncode == 0, p.stderr
    rt.wait_event(lambda e: e.get("event") == "avenor.parked", "parked after the file answer",
                  timeout=TURN)
    assert [(r["source"], r["kind"]) for r in rt.named("permission.response")] == \
        [("file", "allow")]
    assert rt.named("session.end")[-1]["final_output"].endswith("AFTER-FILE")
    assert rt.named("permission.request")[0]["resolver"] == "reserved"
    assert_seq_exactly_once(rt.events())
