"""`avenor mcp`'s supervisor lifecycle (control.md §11.2, D16) through the real binary over
stdio: lazy autostart under `<socket>.start.lock`, two MCP servers sharing one supervisor,
kill -9 of the MCP server and re-attachment, the owned shutdown on stdin close, an attached
`--supervisor-socket` supervisor left alone, avenor_shutdown's clean-up, and follow-ups on a
parked runtime and after the runtime ended. Backend: the fake ACP agent (stable_harness)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcp_client import McpSession  # noqa: E402
from mcp_harness import McpWorld, mcp_world  # noqa: E402,F401
from stable_harness import (CONTINUED, HOLD, REPLY, alive, probe_status,  # noqa: E402
                            socket_answers, wait_until)

TERMINAL = {"done", "failed", "timeout", "killed"}


def session(world: McpWorld, *flags: str) -> McpSession:
    return McpSession(world.stdio(*flags), world.diagnostics)


def argv_of(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") \
            .split("\0")[:-1]
    except OSError:
        return []


def world_commands(world: McpWorld, sub: str) -> list[int]:
    """Live processes of the world that are `avenor <sub> …` (stable, run, mcp)."""
    return [p for p in world.live_processes()
            if argv_of(p)[1:2] == [sub]]


def supervisors(world: McpWorld) -> list[int]:
    return world_commands(world, "stable")


def control(world: McpWorld, sock: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([world.avenor, "control", "--socket", str(sock), *args],
                          capture_output=True, text=True, timeout=60, env=world.env,
                          stdin=subprocess.DEVNULL, cwd=world.root)


def runtimes(world: McpWorld, sock: Path) -> dict[str, dict]:
    """`avenor control --socket S list`, by runtime id (asserts it answers)."""
    p = control(world, sock, "list")
    assert p.returncode == 0, f"avenor control --socket {sock} list: exit {p.returncode}: " \
                              f"{p.stderr}" + world.diagnostics()
    return {e["runtime_id"]: e for e in json.loads(p.stdout)}


def wait_gone(world: McpWorld, sock: Path, what: str, timeout: float = 30.0) -> None:
    wait_until(lambda: not socket_answers(sock), timeout,
               f"{what}: {sock} stops answering" + world.diagnostics())


def wait_only(world: McpWorld, keep: set[int], what: str, timeout: float = 30.0) -> None:
    """Bounded wait until the world's processes are only `keep`."""
    try:
        wait_until(lambda: set(world.live_processes()) <= keep, timeout, what)
    except AssertionError:
        left = {p: " ".join(argv_of(p))[:160] for p in world.live_processes() if p not in keep}
        raise AssertionError(f"{what}: still alive after {timeout} s: {left}" +
                             world.diagnostics()) from None


def close(mcp: McpSession, what: str, timeout: float = 30.0) -> float:
    """Closes stdin; asserts exit 0 within `timeout`; returns how long it took."""
    t0 = time.monotonic()
    mcp.close_stdin()
    rc = mcp.wait_exit(timeout)
    assert rc == 0, f"{what}: exit {rc} after stdin closed" + mcp.describe()
    return time.monotonic() - t0


def start_external(world: McpWorld, sock: Path, *flags: str):
    """`avenor stable --control-socket sock --state-dir <root>/state flags`, answering status."""
    sup = world.start(*flags, sock=sock)
    wait_until(lambda: sup.proc.poll() is not None or probe_status(sock) is not None, 30,
               f"avenor stable at {sock} answers status")
    assert sup.proc.poll() is None, f"avenor stable exited {sup.proc.returncode}: " \
                                    f"{sup.stderr_text()}"
    return sup


# --------------------------------------------------------------------------------------------
# autostart
# --------------------------------------------------------------------------------------------

def test_autostart_on_first_tool_call(mcp_world):
    world = mcp_world
    lock = Path(f"{world.sock}.start.lock")
    mcp = session(world, "--idle-timeout", "7m")
    mcp.initialize()
    mcp.result("tools/list")
    assert mcp.request("ping").get("result") == {}
    assert not world.sock.exists() and not lock.exists() and not supervisors(world), \
        "initialize/tools/list/ping must not start a supervisor (autostart is at the first " \
        "tool call)"

    assert mcp.tool_ok("avenor_status", {}) == {"runs": []}
    assert socket_answers(world.sock), f"no supervisor at {world.sock} after the first tool call"
    assert lock.exists(), f"{lock} does not exist after the autostart"
    assert Path(f"{world.sock}.stderr.log").exists(), "the supervisor's stderr log is missing"
    sups = supervisors(world)
    assert len(sups) == 1, f"want one supervisor, got {sups}"
    sup = sups[0]
    argv = argv_of(sup)
    assert argv[argv.index("--control-socket") + 1] == str(world.sock), argv
    assert "--idle-timeout" in argv, f"--idle-timeout is passed to the supervisor: {argv}"
    assert os.getpgid(sup) == sup, "the supervisor must lead its own process group"
    assert os.getpgid(sup) != os.getpgid(mcp.proc.proc.pid)

    # later calls reuse it
    d = world.workdir("a")
    rid = mcp.spawn(d, "hi")["run_id"]
    assert mcp.result_done(rid)["output"] == REPLY
    assert supervisors(world) == [sup], "a second supervisor was started"

    took = close(mcp, "stdin closed (owned supervisor)")
    assert not socket_answers(world.sock), "the started supervisor outlived its MCP server"
    world.wait_no_servers("stdin closed: supervisor and runtimes shut down")
    assert took < 15, f"exit took {took:.1f} s (graceful shutdown, 3 s, then SIGKILL)"


def test_concurrent_first_calls_start_one_supervisor(mcp_world):
    """Two servers' first tool calls race for <socket>.start.lock: one supervisor, both use it;
    it goes when the server that started it closes."""
    world = mcp_world
    a, b = session(world), session(world)
    a.initialize()
    b.initialize()
    ia = a.start("tools/call", {"name": "avenor_status", "arguments": {}})
    ib = b.start("tools/call", {"name": "avenor_status", "arguments": {}})
    for m, i in ((a, ia), (b, ib)):
        r = m.response(i, timeout=60)
        assert r.get("result", {}).get("structuredContent") == {"runs": []}, r
    sups = supervisors(world)
    assert len(sups) == 1, f"racing autostarts left {len(sups)} supervisors: " \
                           f"{[argv_of(p) for p in sups]}" + world.diagnostics()
    close(a, "server a")
    close(b, "server b")
    wait_gone(world, world.sock, "both servers closed")
    world.wait_no_servers("both servers closed")


# --------------------------------------------------------------------------------------------
# sharing and re-attaching
# --------------------------------------------------------------------------------------------

def test_two_servers_share_one_supervisor(mcp_world):
    world = mcp_world
    a = session(world, "--max-wait", "20s")
    a.initialize()
    ra = a.spawn(world.workdir("a"), "hi from a", label="from-a")
    a.result_done(ra["run_id"])
    sup = supervisors(world)

    b = session(world, "--max-wait", "20s")
    b.initialize()
    listed = b.tool_ok("avenor_status", {})["runs"]
    assert ra["run_id"] in [r["run_id"] for r in listed], \
        f"server b's list lacks server a's run {ra['run_id']}: {listed}" + world.diagnostics()
    st = b.tool_ok("avenor_status", {"run_id": ra["run_id"]})
    assert (st["run_id"], st["status"], st["runtime_id"], st["session_id"]) == \
        (ra["run_id"], "done", ra["runtime_id"], "ses_a"), st
    res = b.tool_ok("avenor_result", {"run_id": ra["run_id"]})
    assert (res["status"], res["ready"], res["output"]) == ("done", True, REPLY), res
    by_label = b.tool_ok("avenor_status", {"run_id": "from-a", "view": "lifecycle"})
    assert by_label["run_id"] == ra["run_id"], f"label from-a resolved to {by_label}"
    assert b.tool_ok("avenor_status", {"run_id": ra["runtime_id"]})["run_id"] == ra["run_id"]
    ends = b.tool_ok("avenor_events", {"run_id": ra["run_id"], "types": ["session.end"]})
    assert [e["final_output"] for e in ends["events"]] == [REPLY], ends

    # the supervisor's owner rule (control.md §10): server a's connection owns it, so server
    # b's mutating calls are refused with the supervisor's message while a is connected
    refused = b.tool_error("avenor_spawn", {"repo_dir": str(world.workdir("b")), "prompt": "x",
                                            "backend": "opencode-acp"})
    assert "permission_denied" in refused, f"server b's spawn: {refused!r}"
    assert supervisors(world) == sup, "server b started its own supervisor"
    assert b.tool_ok("avenor_status", {"run_id": ra["run_id"]})["status"] == "done"

    close(b, "server b (attached)")
    assert socket_answers(world.sock), "closing an attached server shut the supervisor down"
    assert a.tool_ok("avenor_status", {"run_id": ra["run_id"]})["status"] == "done"
    close(a, "server a (started the supervisor)")
    wait_gone(world, world.sock, "server a closed")
    world.wait_no_servers("server a closed")


def test_kill9_of_the_server_leaves_supervisor_and_runtimes(mcp_world):
    world = mcp_world
    a = session(world, "--max-wait", "5s")
    a.initialize()
    done = a.spawn(world.workdir("d"), "hi")
    a.result_done(done["run_id"])
    held = a.spawn(world.workdir("h"), f"{HOLD} there")
    rts = runtimes(world, world.sock)
    assert set(rts) == {done["runtime_id"], held["runtime_id"]}, rts
    sup = supervisors(world)
    runs = world_commands(world, "run")
    agents = world.agents.pids()
    assert len(sup) == 1 and len(runs) == 2 and len(agents) == 2, (sup, runs, agents)

    a.proc.proc.kill()
    a.proc.proc.wait()
    assert socket_answers(world.sock), "kill -9 of the MCP server took the supervisor down"
    rts = runtimes(world, world.sock)
    assert (rts[done["runtime_id"]]["status"], rts[held["runtime_id"]]["status"]) == \
        ("idle", "running"), rts
    assert all(alive(p) for p in sup + runs + agents), \
        f"processes died with the MCP server: {[p for p in sup + runs + agents if not alive(p)]}"

    b = session(world, "--max-wait", "5s")
    b.initialize()
    st = b.tool_ok("avenor_status", {"run_id": done["run_id"]})
    assert (st["status"], st["runtime_id"]) == ("done", done["runtime_id"]), st
    assert b.tool_ok("avenor_result", {"run_id": done["run_id"]})["output"] == REPLY
    st = b.tool_ok("avenor_status", {"run_id": held["run_id"], "view": "lifecycle"})
    assert (st["status"], st["runtime_id"]) == ("running", held["runtime_id"]), st
    ids = {r["run_id"] for r in b.tool_ok("avenor_status", {})["runs"]}
    assert {done["run_id"], held["run_id"]} <= ids, ids
    new = b.spawn(world.workdir("n"), "a new one")
    assert new["runtime_id"] not in (done["runtime_id"], held["runtime_id"]), new
    assert b.result_done(new["run_id"])["output"] == REPLY
    # the new server can steer the old runs: a follow-up on the old parked runtime
    fu = b.tool_ok("avenor_follow_up", {"run_id": done["run_id"], "message": "Continue"})
    assert (fu["runtime_id"], fu["resumed"]) == (done["runtime_id"], False), fu
    assert b.result_done(fu["run_id"])["output"] == CONTINUED
    assert supervisors(world) == sup, "the new server started another supervisor"

    close(b, "the re-attached server")
    assert socket_answers(world.sock), \
        "a server that attached (did not start the supervisor) shut it down on close"

    # a third server adopts every run from `list`; its avenor_shutdown stops the supervisor
    # but removes no file: it named none of them (never unlink a path you did not create)
    c = session(world, "--max-wait", "5s")
    c.initialize()
    assert {done["run_id"], held["run_id"], new["run_id"]} <= \
        {r["run_id"] for r in c.tool_ok("avenor_status", {})["runs"]}
    others = {done["sentinel_file"], done["event_path"], new["sentinel_file"], new["event_path"]}
    assert all(Path(p).exists() for p in others), [p for p in others if not Path(p).exists()]
    shut = c.tool_ok("avenor_shutdown", {"force": True}, timeout=60)
    assert shut == {"ok": True, "cleaned_up": []}, \
        f"avenor_shutdown removed files another server created: {shut}"
    assert all(Path(p).exists() for p in others), \
        f"files of other servers' runs are gone: {[p for p in others if not Path(p).exists()]}"
    wait_gone(world, world.sock, "after avenor_shutdown")
    close(c, "the adopting server")


def test_stdin_close_shuts_down_the_started_supervisor(mcp_world):
    world = mcp_world
    mcp = session(world, "--max-wait", "5s")
    mcp.initialize()
    parked = mcp.spawn(world.workdir("p"), "hi")
    mcp.result_done(parked["run_id"])
    mcp.spawn(world.workdir("h"), f"{HOLD} on")
    sup = supervisors(world)
    assert len(sup) == 1 and len(world_commands(world, "run")) == 2
    took = close(mcp, "stdin closed with a parked and a running runtime")
    assert not socket_answers(world.sock), "the supervisor still answers after the server exited"
    world.wait_no_servers("stdin closed: supervisor, runtimes and agents gone")
    assert took < 15, f"exit took {took:.1f} s"


@pytest.mark.parametrize("no_autostart", [True, False])
def test_supervisor_socket_is_attached_and_left_running(mcp_world, no_autostart):
    world = mcp_world
    ext = world.root / "ext.sock"
    sup = start_external(world, ext)
    flags = ["--supervisor-socket", str(ext)] + (["--no-autostart"] if no_autostart else [])
    mcp = session(world, *flags)
    mcp.initialize()
    out = mcp.spawn(world.workdir("a"), "hi")
    assert out["supervisor_id"] == str(ext), out
    assert out["sentinel_file"] == str(world.tmpdir / f"avenor-run-{out['run_id']}.done"), out
    assert mcp.result_done(out["run_id"])["output"] == REPLY
    assert mcp.tool_ok("avenor_status", {})["runs"][0]["supervisor_id"] == str(ext)
    assert not world.sock.exists(), "--supervisor-socket must never autostart at " \
                                    "--control-socket"
    close(mcp, "attached to --supervisor-socket")
    assert sup.proc.poll() is None and socket_answers(ext), \
        f"closing the MCP server stopped the supervisor it only attached to: " \
        f"{sup.stderr_text()[-1500:]}"
    rts = runtimes(world, ext)
    assert rts[out["runtime_id"]]["status"] == "idle", rts

    # once that supervisor is gone, a tool call is an error, never an autostart
    mcp2 = session(world, *flags)
    mcp2.initialize()
    sup.kill9()
    wait_gone(world, ext, "the external supervisor was killed")
    msg = mcp2.tool_error("avenor_status", {})
    assert msg, "want a message saying the supervisor cannot be reached"
    assert not world.sock.exists() and supervisors(world) == [], \
        f"a supervisor was autostarted: {supervisors(world)}"
    close(mcp2, "attached server after its supervisor died")


# --------------------------------------------------------------------------------------------
# avenor_shutdown
# --------------------------------------------------------------------------------------------

def test_shutdown_removes_the_files_it_lists(mcp_world):
    world = mcp_world
    mcp = session(world, "--max-wait", "5s")
    mcp.initialize()
    done = mcp.spawn(world.workdir("d"), "hi")
    mcp.result_done(done["run_id"])
    held = mcp.spawn(world.workdir("h"), f"{HOLD} on")
    mine = {done["sentinel_file"], done["event_path"], held["event_path"]}
    assert all(Path(p).exists() for p in mine), [p for p in mine if not Path(p).exists()]
    stranger = world.tmpdir / "avenor-run-00000000-0000-4000-8000-000000000000.done"
    stranger.write_text("DONE\n")
    old_sup = supervisors(world)

    shut = mcp.tool_ok("avenor_shutdown", {}, timeout=60)
    assert shut["ok"] is True and isinstance(shut["cleaned_up"], list), shut
    assert mine <= set(shut["cleaned_up"]), \
        f"cleaned_up lacks {mine - set(shut['cleaned_up'])}: {shut}"
    ours = {done["run_id"], held["run_id"]}
    for p in shut["cleaned_up"]:
        name = Path(p).name
        assert Path(p).parent == world.tmpdir and any(r in name for r in ours), \
            f"cleaned_up names a file that is not one of this server's runs: {p}"
        assert not Path(p).exists(), f"cleaned_up lists {p}, which still exists"
    assert stranger.exists(), "avenor_shutdown deleted another server's sentinel"
    wait_gone(world, world.sock, "after avenor_shutdown")
    wait_only(world, {mcp.proc.proc.pid}, "after avenor_shutdown (supervisor, runtimes, agents)")

    assert mcp.tool_error("avenor_status", {"run_id": done["run_id"]}) == \
        f'run "{done["run_id"]}" not found'
    assert mcp.tool_ok("avenor_status", {}) == {"runs": []}
    new_sup = supervisors(world)
    assert len(new_sup) == 1 and new_sup != old_sup and socket_answers(world.sock), \
        f"the next tool call must autostart a fresh supervisor: {old_sup} → {new_sup}"
    again = mcp.tool_ok("avenor_shutdown", {"force": True}, timeout=60)
    assert again == {"ok": True, "cleaned_up": []}, again
    close(mcp, "after two shutdowns")
    world.wait_no_servers("stdin closed after avenor_shutdown")


# --------------------------------------------------------------------------------------------
# follow-ups
# --------------------------------------------------------------------------------------------

def test_follow_up_on_a_parked_runtime_reuses_it(mcp_world):
    world = mcp_world
    mcp = session(world, "--max-wait", "20s")
    mcp.initialize()
    first = mcp.spawn(world.workdir("a"), "hi", label="job")
    assert mcp.result_done(first["run_id"])["output"] == REPLY
    fu = mcp.tool_ok("avenor_follow_up", {"run_id": first["run_id"], "message": "Continue now"})
    assert (fu["label"], fu["runtime_id"], fu["resumed"]) == \
        ("job-followup", first["runtime_id"], False), fu
    assert fu["run_id"] != first["run_id"]
    res = mcp.result_done(fu["run_id"])
    assert (res["output"], res["session_id"], res["runtime_id"]) == \
        (CONTINUED, "ses_a", first["runtime_id"]), res
    st = mcp.tool_ok("avenor_status", {"run_id": first["run_id"]})
    assert st["status"] == "done", f"the first run must still report done: {st}"
    assert mcp.tool_ok("avenor_result", {"run_id": first["run_id"]})["output"] == REPLY, \
        "the first run keeps its own output"
    assert len(world.agents.pids("a")) == 1, "a parked follow-up started a second agent"
    assert world.agents.prompt_texts("a") == ["hi", "Continue now"]
    close(mcp, "end")


def resumed_session(world: McpWorld, name: str) -> list[str]:
    return [m["params"].get("sessionId") for m in world.agents.record(name)
            if m.get("method") in ("session/resume", "session/load")]


def test_follow_up_after_the_runtime_expired_resumes(mcp_world):
    """A parked runtime whose --parked-timeout ran out ended with DONE: the follow-up spawns a
    new runtime resuming the session (resumed:true); the first run still reports done."""
    world = mcp_world
    ext = world.root / "ext.sock"
    start_external(world, ext, "--parked-timeout", "1s")
    mcp = session(world, "--supervisor-socket", str(ext), "--max-wait", "20s")
    mcp.initialize()
    first = mcp.spawn(world.workdir("e"), "hi", label="exp")
    mcp.result_done(first["run_id"])
    rt = first["runtime_id"]
    wait_until(lambda: runtimes(world, ext)[rt]["status"] == "ended", 30,
               f"{rt} ends when its 1 s parked timeout runs out")
    assert Path(first["sentinel_file"]).read_text().split("\n")[0] == "DONE"
    st = mcp.tool_ok("avenor_status", {"run_id": first["run_id"]})
    assert st["status"] == "done", f"an expired parked run is done: {st}"

    fu = mcp.tool_ok("avenor_follow_up", {"run_id": first["run_id"], "message": "Continue it"})
    assert fu["resumed"] is True and fu["runtime_id"] != rt and fu["label"] == "exp-followup", fu
    res = mcp.result_done(fu["run_id"])
    assert (res["output"], res["session_id"]) == (CONTINUED, "ses_e"), res
    assert resumed_session(world, "e") == ["ses_e"], world.agents.methods("e")
    assert len(world.agents.pids("e")) == 2
    assert mcp.tool_ok("avenor_status", {"run_id": first["run_id"]})["status"] == "done"
    close(mcp, "end")


def test_follow_up_after_the_runtime_was_cancelled(mcp_world):
    """A parked runtime ended by a signal (its sentinel says KILLED);
    a follow-up then resumes the session on a new runtime (the session id from live status)."""
    world = mcp_world
    mcp = session(world, "--max-wait", "20s")
    mcp.initialize()
    first = mcp.spawn(world.workdir("c"), "hi", label="can")
    mcp.result_done(first["run_id"])
    rt = first["runtime_id"]
    # `avenor control --socket S cancel rt` is refused (this server's connection owns the
    # supervisor), so the runtime is signalled: while parked that ends it KILLED (cli.md §3.14)
    pids = [q for q in world_commands(world, "run")
            if any(a.endswith(f"/{rt}/control.sock") for a in argv_of(q))]
    assert len(pids) == 1, f"the avenor run of {rt}: {pids}"
    os.kill(pids[0], signal.SIGTERM)
    wait_until(lambda: runtimes(world, world.sock)[rt]["status"] == "ended", 30,
               f"{rt} ends after cancel")
    st = mcp.tool_ok("avenor_status", {"run_id": first["run_id"]})
    sentinel = Path(first["sentinel_file"]).read_text().split("\n")[0]
    want = {"DONE": "done", "KILLED": "killed"}.get(sentinel)
    assert want and st["status"] == want, \
        f"cancelled parked run: sentinel {sentinel!r}, status {st['status']!r}"

    fu = mcp.tool_ok("avenor_follow_up", {"run_id": first["run_id"], "message": "Continue on"})
    assert fu["resumed"] is True and fu["runtime_id"] != rt, fu
    res = mcp.result_done(fu["run_id"])
    assert (res["output"], res["session_id"]) == (CONTINUED, "ses_c"), res
    assert resumed_session(world, "c") == ["ses_c"], world.agents.methods("c")
    close(mcp, "end")
    world.wait_no_servers("stdin closed")
