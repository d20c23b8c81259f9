"""`avenor stable` and the `avenor control` stable commands as a user types them (cli.md §6,
§7; control.md §10.1, §10.2, §10.4, §10.5, §10.15, §10.17), with the scripted fake ACP agent
behind `opencode` (stable_harness.py). Checks the command lines of the product documentation,
what each prints, the spawn result and runtime entry fields, the state directory layout and
modes, the child process model, tombstones and start failures."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stable_harness import ASK, CONTINUED, HOLD, REPLY, assert_seq_exactly_once  # noqa: E402
from stable_harness import world  # noqa: E402,F401 (the fixture)
from control_rpc import wait_until  # noqa: E402


def unix_endpoints(path: Path) -> int:
    """Sockets bound to `path` (the listener and every connection it accepted)."""
    with open("/proc/net/unix") as f:
        return sum(1 for line in f if line.split()[-1:] == [str(path)])


TOMBSTONE = re.compile(r"STOPPED reason=(\w+) pid=(\d+) at=(\S+)\n")

ENTRY_FIELDS = ("runtime_id", "session_id", "run_id", "label", "agent", "agent_profile", "model",
                "thinking", "backend", "effective_agent", "effective_model", "effective_backend",
                "dir", "status", "started_at", "exit_code", "on_event", "event_path",
                "sentinel_file", "parent_id", "children", "pid", "runtime_pid", "phase",
                "phase_label", "pending_permission", "latest_seq", "auto_approve")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def runtime_flags(pid: int) -> dict[str, str]:
    """The flags of a runtime's `avenor run` command line, `--f v` or `--f=v` (Go flag syntax;
    a flag without a value maps to "true")."""
    argv = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]]
    assert argv[1] == "run", argv
    flags: dict[str, str] = {}
    i = 2
    while i < len(argv):
        word = argv[i]
        assert word.startswith("-"), f"unexpected argument {word!r} in {argv}"
        name, eq, value = word.lstrip("-").partition("=")
        if not eq:
            if i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                value = argv[i + 1]
                i += 1
            else:
                value = "true"
        flags[name] = value
        i += 1
    return flags


def parse_tombstone(text: str | None, reason: str, pid: int) -> None:
    assert text is not None, "no tombstone <socket>.dead was written"
    m = TOMBSTONE.fullmatch(text)
    assert m, f"tombstone {text!r} does not match 'STOPPED reason=<r> pid=<pid> at=<RFC3339>\\n'"
    assert m.group(1) == reason, f"tombstone reason {m.group(1)!r}, expected {reason!r}"
    assert int(m.group(2)) == pid, f"tombstone pid {m.group(2)}, supervisor pid {pid}"
    datetime.fromisoformat(m.group(3))  # RFC 3339


def test_documented_command_lines(world):
    """The issue's six command lines with the fake agent; the default --state-dir."""
    sup = world.start(state_dir=False)  # avenor stable --control-socket S
    sup.wait_ready()
    key = hashlib.sha256(str(world.sock).encode()).hexdigest()[:16]
    state = world.tmpdir / "avenor-stable" / key
    repo = world.workdir("A")

    out = world.control_ok("spawn", "--prompt", "Review PR #42", "--dir", str(repo),
                           "--label", "review-42")
    spawned = json.loads(out)
    assert out.startswith("{\n  ") and out.endswith("}\n"), f"not indented JSON: {out!r}"
    assert spawned["runtime_id"] == "rt_1"
    assert spawned["session_id"] == "ses_A", "spawn must return the backend's real session id"
    assert spawned["on_event"] == str(state / "rt_1" / "events.ndjson")
    assert spawned["sentinel_file"] == str(state / "rt_1" / "sentinel.env")
    rt = world.rt("rt_1", state)

    with sup.client() as c:
        c.wait_parked("rt_1")
    listed = json.loads(world.control_ok("list"))
    assert [e["runtime_id"] for e in listed] == ["rt_1"]
    assert listed[0]["label"] == "review-42" and listed[0]["status"] == "idle"
    assert listed[0]["final_output"] == REPLY

    # docs/control-protocol.md: `wait-turn rt_1 600000` answers when the next turn settles
    # Only the listener is left once the supervisor has closed the earlier clients'
    # connections; counted before that, a late close would hide the waiter's connection.
    wait_until(lambda: unix_endpoints(world.sock) == 1,
               what="the supervisor to close the earlier control connections")
    endpoints = 1
    waiter = subprocess.Popen([world.avenor, "control", "--socket", str(world.sock), "wait-turn",
                               "rt_1", "600000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=world.env, stdin=subprocess.DEVNULL, cwd=world.root)
    try:
        # The supervisor has accepted wait-turn's connection (the request is sent at once)
        # before the prompt's process even starts.
        wait_until(lambda: waiter.poll() is not None or unix_endpoints(world.sock) > endpoints,
                   what="wait-turn's connection to be accepted")
        assert world.control_ok("prompt", "Continue", "rt_1") == "prompt queued\n"
        out, err = waiter.communicate(timeout=60)
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
    assert waiter.returncode == 0, err
    turn = json.loads(out)
    assert turn["runtime_id"] == "rt_1" and turn["final_output"] == CONTINUED, turn
    rt.wait_event(lambda e: e.get("event") == "session.end" and
                  e.get("final_output") == CONTINUED, "second session.end (Continue)")
    assert json.loads(world.control_ok("result", "rt_1")) == {"final_output": CONTINUED}
    history = json.loads(world.control_ok("history", "rt_1", "20"))
    assert history["runtime_id"] == "rt_1" and len(history["events"]) <= 20
    assert history["events"][-1]["seq"] == history["latest_seq"]
    prompts = world.agents.prompt_texts("A")
    assert prompts == ["Review PR #42", "Continue"], prompts
    assert world.agents.methods("A").count("session/new") == 1, "the follow-up opened a session"
    with sup.client() as c:
        c.wait_parked("rt_1")

    assert world.control_ok("cancel", "rt_1") == "cancelled\n"
    lines = rt.wait_sentinel("KILLED")
    assert "STOP_REASON=cancelled" in lines and "EXIT_CODE=130" in lines and \
        "SESSION=ses_A" in lines, lines
    end = rt.named("session.end")[-1]
    assert end["stop_reason"] == "cancelled" and end["exit_code"] == 130, end

    assert world.control_ok("shutdown", "graceful") == "shutting down\n"
    assert sup.wait_exit() == 0, sup.stderr_text()
    parse_tombstone(world.tombstone(), "shutdown", sup.pid)
    assert not world.sock.exists(), "the socket outlived the supervisor"
    assert not (state / "registry.json").exists(), "shutdown must remove the registry"
    assert_seq_exactly_once(rt.events(), "rt_1 log")
    world.wait_no_processes("after shutdown graceful")


def test_spawn_result_entry_fields_layout_and_modes(world):
    sup = world.stable()
    repo = world.workdir("fields")
    with sup.client() as c:
        res = c.spawn(prompt="hello", dir=str(repo), label="L1", agent="build",
                      model="fake/fake-model")
        st = world.state
        assert res["runtime_id"] == "rt_1"
        assert res["session_id"] == "ses_fields"
        assert res["on_event"] == str(st / "rt_1" / "events.ndjson")
        assert res["sentinel_file"] == str(st / "rt_1" / "sentinel.env")
        assert res["agent"] == "build" and res["model"] == "fake/fake-model"
        assert res["effective_backend"] == "opencode-acp"
        assert res["effective_agent"] == "build" and res["effective_model"] == "fake/fake-model"
        assert "agent_profile" not in res, "empty fields are omitted from the spawn result"

        e = c.wait_parked("rt_1")
        missing = [f for f in ENTRY_FIELDS if f not in e]
        assert not missing, f"runtime entry lacks {missing}: {e}"
        snap = c.call_ok("status")
        assert e["run_id"] == snap["run_id"] and re.fullmatch(r"[0-9a-f]{16}", e["run_id"])
        assert e["session_id"] == "ses_fields" and e["label"] == "L1"
        assert e["dir"] == str(repo) and e["status"] == "idle" and e["phase"] == "done"
        assert e["exit_code"] == 0 and e["pending_permission"] is False
        assert e["on_event"] == e["event_path"] == res["on_event"]
        assert e["sentinel_file"] == res["sentinel_file"]
        assert e["effective_backend"] == "opencode-acp" and e["auto_approve"] is False
        assert e["children"] in (None, []) and e["parent_id"] in ("", None)
        assert e["final_output"] == REPLY
        rt = world.rt("rt_1")
        log = rt.events()
        assert e["latest_seq"] == log[-1]["seq"], (e["latest_seq"], log[-1])
        assert all(x["runtime_id"] == "rt_1" and x["run_id"] == e["run_id"] for x in log)
        assert [x["event"] for x in log][-1] == "avenor.parked"
        assert rt.sentinel_lines()[:3] == ["DONE", "SESSION=ses_fields", "STOP_REASON=end_turn"]
        assert e["started_at"] > 1_600_000_000_000, "started_at is Unix ms"

        # modes (§10.1, §10.17)
        assert mode(world.state) == 0o700
        assert mode(rt.dir) == 0o700
        assert mode(world.state / "registry.json") == 0o600
        assert mode(world.sock) == 0o600 and stat.S_ISSOCK(os.lstat(world.sock).st_mode)
        assert mode(Path(f"{world.sock}.control.lock")) == 0o600
        assert stat.S_ISSOCK(os.lstat(rt.socket).st_mode)
        assert rt.stderr_log.is_file(), "<rt>/stderr.log missing"

        # registry (§10.16)
        reg = world.registry()
        assert reg["supervisor_run_id"] == e["run_id"] and reg["next_runtime"] == 2
        [r] = reg["runtimes"]
        assert r["runtime_id"] == "rt_1" and r["pid"] == e["runtime_pid"]
        assert re.fullmatch(r"[0-9a-f]{64}", r["identity_token"]), r["identity_token"]
        assert r["control_socket"] == str(rt.socket) and r["label"] == "L1"
        assert r["on_event"] == res["on_event"] and r["sentinel_file"] == res["sentinel_file"]
        assert r["session_id"] == "ses_fields"

        # process model (§10.1): own group, the backend in it, argv, cwd, consumed variables
        rpid, bpid = e["runtime_pid"], e["pid"]
        world.remember_pgid(os.getpgid(rpid))
        assert os.getpgid(rpid) == r["pgid"] != os.getpgid(sup.pid)
        # The backend leads a group of its own (the runtime signals its helpers
        # through it); the supervisor kills both groups (docs/stable.md).
        assert bpid > 0 and os.getpgid(bpid) == bpid != os.getpgid(sup.pid), "backend group"
        flags = runtime_flags(rpid)
        for flag, value in (("run-id", e["run_id"]), ("runtime-id", "rt_1"),
                            ("control-socket", str(rt.socket)),
                            ("on-event", res["on_event"]),
                            ("sentinel-file", res["sentinel_file"]),
                            ("label", "L1"), ("agent", "build"), ("prompt", "hello"),
                            ("dir", str(repo))):
            assert flags.get(flag) == value, (flag, flags)
        assert flags.get("permission-claim-timeout") in ("0", "0s"), flags
        assert flags.get("parked-timeout") in ("30m", "30m0s", "1800s"), flags
        assert os.readlink(f"/proc/{rpid}/cwd") == str(world.root), "runtime cwd != supervisor's"
        env = Path(f"/proc/{bpid}/environ").read_bytes().split(b"\0")
        leaked = [v for v in env if v.startswith((b"AVENOR_CONTROL_IDENTITY_TOKEN=",
                                                  b"AVENOR_CONTROL_READY_FD="))]
        assert not leaked, f"the backend inherited {leaked}"

    assert "avenor stable: child question timeout 2m0s (default)" in sup.stderr_text()
    sup.signal(15)
    assert sup.wait_exit() == 0


def test_status_and_list_cli_output(world):
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt="hello", dir=str(world.workdir("one")))
        c.wait_parked("rt_1")
    out = world.control_ok("status", "rt_1")
    assert out.startswith("{\n  "), f"not indented JSON: {out!r}"
    entry = json.loads(out)
    assert entry["runtime_id"] == "rt_1" and entry["status"] == "idle"
    snap = json.loads(world.control_ok("status"))
    assert snap["run_id"] == entry["run_id"], "un-scoped status is the supervisor snapshot"
    listed = world.control_ok("list")
    assert listed.startswith("[\n  "), f"not indented JSON: {listed!r}"
    p = world.control("status", "rt_9")
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr == 'avenor control: status: rpc error [-32000]: runtime "rt_9" not found\n'
    p = world.control("prompt", "x", "rt_9")
    assert p.returncode == 1
    assert p.stderr == 'avenor control: prompt: rpc error [-32000]: runtime "rt_9" not found\n'
    p = world.control("shutdown", "sideways")
    assert p.returncode == 1
    assert p.stderr == ("avenor control: shutdown: rpc error [-32000]: "
                        "shutdown mode must be graceful or kill\n")
    assert world.control_ok("shutdown") == "shutting down\n"
    assert sup.wait_exit() == 0


def test_spawn_cli_flags_reach_the_runtime(world):
    sup = world.stable()
    repo = world.workdir("flags")
    prompt_file = world.root / "prompt.txt"
    prompt_file.write_text("from a file")
    out = world.control_ok("spawn", "--prompt-file", str(prompt_file), "--dir", str(repo),
                           "--label", "lbl", "--agent", "plan", "--model", "fake/m",
                           "--backend", "opencode-acp", "--on-event", str(world.root / "ev.ndjson"),
                           "--sentinel-file", str(world.root / "s.done"), "--auto-approve",
                           "--timeout", "600", "--max-retries", "2")
    res = json.loads(out)
    assert res["on_event"] == str(world.root / "ev.ndjson")
    assert res["sentinel_file"] == str(world.root / "s.done")
    with sup.client() as c:
        e = c.wait_parked(res["runtime_id"])
        assert e["auto_approve"] is True and e["label"] == "lbl" and e["agent"] == "plan"
        world.remember_pgid(os.getpgid(e["runtime_pid"]))
        flags = runtime_flags(e["runtime_pid"])
    assert flags.get("auto-approve") == "true" and flags.get("prompt-file") == str(prompt_file)
    assert flags.get("max-retries") == "2" and flags.get("backend") == "opencode-acp", flags
    assert flags.get("timeout") in ("600s", "10m0s"), flags
    assert flags.get("model") == "fake/m" and flags.get("agent") == "plan", flags
    assert world.agents.prompt_texts("flags") == ["from a file"]
    assert (world.root / "s.done").read_text().startswith("DONE\n")
    assert (world.root / "ev.ndjson").exists()
    # spawn usage errors are the client's (cli.md §6): nothing reaches the supervisor
    p = world.control("spawn", "--dir", str(repo))
    assert p.returncode == 1 and "--prompt-file" in p.stderr and "required" in p.stderr, p.stderr
    p = world.control("spawn", "--prompt", "x", "--thinking", "bogus")
    assert p.returncode == 1 and 'invalid --thinking "bogus"' in p.stderr
    with sup.client() as c:
        assert [e["runtime_id"] for e in c.list()] == [res["runtime_id"]]


def test_missing_control_socket_flag(avenor, world):
    import subprocess
    p = subprocess.run([avenor, "stable"], capture_output=True, text=True, timeout=30,
                       env=world.env, stdin=subprocess.DEVNULL)
    assert p.returncode == 1
    assert "avenor stable: --control-socket is required" in p.stderr


def test_regular_file_at_socket_path_is_refused(world):
    world.sock.write_text("precious\n")
    sup = world.start()
    assert sup.wait_exit() == 1
    assert "exists and is not a socket" in sup.stderr_text(), sup.stderr_text()
    assert world.sock.read_text() == "precious\n", "the file was touched"
    assert stat.S_ISREG(os.lstat(world.sock).st_mode)
    parse_tombstone(world.tombstone(), "start_failed", sup.pid)


def test_fifo_at_socket_path_is_refused(world):
    os.mkfifo(world.sock, 0o600)
    sup = world.start()
    assert sup.wait_exit() == 1
    assert "exists and is not a socket" in sup.stderr_text(), sup.stderr_text()
    assert stat.S_ISFIFO(os.lstat(world.sock).st_mode), "the FIFO was removed or replaced"
    parse_tombstone(world.tombstone(), "start_failed", sup.pid)


def test_socket_in_use_and_stale_tombstone(world):
    Path(f"{world.sock}.dead").write_text("STOPPED reason=idle pid=1 at=2000-01-01T00:00:00Z\n")
    first = world.stable()
    assert world.tombstone() is None, "a stale tombstone must be removed at startup"
    second = world.start()
    assert second.wait_exit() == 1
    assert f"control socket already in use: {world.sock}" in second.stderr_text(), \
        second.stderr_text()
    assert first.proc.poll() is None and world.control_ok("list") == "[]\n"
    first.signal(2)  # SIGINT: graceful, reason signal
    assert first.wait_exit() == 0
    parse_tombstone(world.tombstone(), "signal", first.pid)
    assert mode(Path(f"{world.sock}.dead")) == 0o644


def test_state_dir_created_0700(world):
    state = world.root / "newstate"
    sup = world.start("--state-dir", str(state), state_dir=False)
    sup.wait_ready()
    assert state.is_dir() and mode(state) == 0o700
    sup.signal(15)
    assert sup.wait_exit() == 0


def test_max_runtimes_and_capacity_flags_validated(world):
    sup = world.start("--idempotency-capacity", "0")
    assert sup.wait_exit() == 1
    assert "idempotency-capacity" in sup.stderr_text(), sup.stderr_text()



def test_interrupt_and_answer_permission_commands(world):
    """`interrupt-and-prompt <text> <rt>` and `answer-permission <req> <opt> <rt>` (cli.md §6).
    A read-only subscriber stays connected so the supervisor holds the permission claim for
    its clients (control.md §10.10) while each CLI call comes and goes as the owner."""
    sup = world.stable()
    with sup.client() as watcher:
        watcher.subscribe()
        spawned = json.loads(world.control_ok("spawn", "--prompt", HOLD, "--dir",
                                              str(world.workdir("cli"))))
        rid = spawned["runtime_id"]
        watcher.wait_entry(rid, lambda e: e["status"] == "running", "running")
        assert world.control_ok("interrupt-and-prompt", ASK, rid) == "interrupt queued\n"
        req = watcher.wait_event(lambda e: e.get("event") == "permission.request",
                                 what="permission.request after the interrupt")
        assert req["resolver"] == "reserved"
        assert world.control_ok("answer-permission", req["request_id"], "once", rid) == \
            "permission answered\n"
        watcher.wait_parked(rid)
    rt = world.rt(rid)
    assert [e["stop_reason"] for e in rt.named("session.end")] == ["cancelled", "end_turn"]
    assert [(r["source"], r["kind"]) for r in rt.named("permission.response")] == \
        [("control", "allow")]
    assert rt.named("session.end")[-1]["final_output"] == "ALLOWED"
    assert not rt.perm_request.exists(), "the file handler ran while a client was connected"
    p = world.control("answer-permission", "nope", "once", rid)
    assert p.returncode == 1 and p.stderr.startswith(
        "avenor control: answer-permission: rpc error [-32000]: "), p.stderr
