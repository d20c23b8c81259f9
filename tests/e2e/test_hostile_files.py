"""Hostile files through the real binary (issue 15, items 1, 6 and 11).

avenor never unlinks or replaces a path that is not a regular file (a FIFO, directory, device or
symlink is someone else's), never blocks or reads without limit on a file named from outside
(the permission response, `avenor answer`'s request, a policy), and treats a torn last log line
as incomplete: whatever appends to a log ends that line first.

`--control-socket` on a regular file, FIFO or symlink is covered by test_control_socket.py
(test_non_socket_path_is_refused_and_left_untouched) and the supervisor's by test_stable_cli.py.
"""

from __future__ import annotations

import json
import os
import select
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_run import RUN_ID  # noqa: E402
from mcp_client import McpSession  # noqa: E402
from mcp_harness import McpWorld, mcp_world  # noqa: E402,F401
from stable_harness import HOLD, REPLY, assert_seq_exactly_once, wait_until  # noqa: E402
from stable_harness import world  # noqa: E402,F401 (the fixture)

# Bound for anything that must not hang; far above what it takes on a busy machine.
NO_HANG = 30.0

PERMISSION_TURN = [{"permission": {}, "on_allow": [{"chunk": "ALLOWED"}],
                    "on_reject": [{"chunk": "REJECTED"}]}]


def make_special(path: Path, kind: str, target: Path | None = None) -> os.stat_result:
    """Puts a FIFO, directory or symlink (to a file with content) at `path`."""
    if kind == "fifo":
        os.mkfifo(path, 0o600)
    elif kind == "dir":
        path.mkdir()
        (path / "keep").write_text("inside\n")
    elif kind == "symlink":
        assert target is not None
        target.write_text("precious\n")
        os.symlink(target, path)
    elif kind == "devzero":
        os.symlink("/dev/zero", path)
    else:
        raise AssertionError(kind)
    return os.lstat(path)


def assert_untouched(path: Path, before: os.stat_result, kind: str,
                     target: Path | None = None) -> None:
    after = os.lstat(path)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode), \
        f"{path} ({kind}) was replaced"
    if kind == "dir":
        assert (path / "keep").read_text() == "inside\n"
    if kind == "symlink":
        assert target is not None and target.read_text() == "precious\n"


# ---------------------------------------------------------------------------------------------
# Paths avenor replaces or removes: only regular files
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "dir", "symlink"])
def test_sentinel_that_is_not_a_regular_file_is_refused_and_kept(fake, tmp_path, kind):
    f = fake({"turns": [[{"chunk": "hi"}]]})
    target = tmp_path / "target.txt"
    before = make_special(f.files.sentinel, kind, target)
    started = time.monotonic()
    assert f.run("--prompt", "hi", timeout=NO_HANG) == 1
    assert time.monotonic() - started < NO_HANG
    assert f.stderr() == (f"avenor: --sentinel-file: refusing to replace {f.files.sentinel}: "
                          f"not a regular file\n")
    assert_untouched(f.files.sentinel, before, kind, target)
    assert f.methods() == [], "no agent may start"
    events = f.events()
    assert [(e["event"], e["stop_reason"]) for e in events] == [("session.end", "error")]
    assert "refusing to replace" in events[0]["error"]
    assert sorted(p.name for p in f.files.root.iterdir() if p.name.endswith(".tmp")) == []


def test_event_log_fifo_without_a_reader_fails_fast(fake):
    # Opening a FIFO for writing blocks until a reader comes; the run must not wait for one.
    f = fake({"turns": [[{"chunk": "hi"}]]})
    os.mkfifo(f.files.events, 0o600)
    assert f.run("--prompt", "hi", timeout=NO_HANG) == 1
    assert f"open {f.files.events} (a FIFO without a reader)" in f.stderr()
    assert stat.S_ISFIFO(os.lstat(f.files.events).st_mode)
    assert f.methods() == [], "no agent may start"


def test_event_log_fifo_with_a_reader_receives_the_events(fake):
    f = fake({"turns": [[{"chunk": "hi"}]]})
    os.mkfifo(f.files.events, 0o600)
    # O_RDWR opens at once whatever the writer does; the reader drains in the background.
    reader = os.open(f.files.events, os.O_RDWR)
    chunks: list[bytes] = []
    done = threading.Event()

    def drain() -> None:
        while not done.is_set() or select.select([reader], [], [], 0)[0]:
            if select.select([reader], [], [], 0.05)[0]:
                chunks.append(os.read(reader, 65536))

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    try:
        assert f.run("--prompt", "hi", timeout=NO_HANG) == 0, f.stderr()
    finally:
        done.set()
        t.join(NO_HANG)
        os.close(reader)
    lines = [json.loads(x) for x in b"".join(chunks).decode().splitlines()]
    assert lines[-1]["event"] == "session.end"
    assert any(e["event"] == "agent.message_chunk" for e in lines)


@pytest.mark.parametrize("kind", ["fifo", "dir", "symlink"])
def test_stale_permission_files_that_are_not_regular_stay(fake, tmp_path, kind):
    f = fake({"turns": [[{"chunk": "hi"}]]})
    base = f.files.perm_base
    req, resp = Path(f"{base}.req"), Path(f"{base}.req.response")
    before_req = make_special(req, kind, tmp_path / "t1")
    before_resp = make_special(resp, kind, tmp_path / "t2")
    assert f.run("--prompt", "hi", timeout=NO_HANG) == 0, f.stderr()
    assert f.stderr() == (f"avenor: cleanup: refusing to remove {req}: not a regular file\n"
                          f"avenor: cleanup: refusing to remove {resp}: not a regular file\n")
    assert_untouched(req, before_req, kind, tmp_path / "t1")
    assert_untouched(resp, before_resp, kind, tmp_path / "t2")
    assert f.files.sentinel_lines()[0] == "DONE"


def test_request_path_taken_by_a_fifo_fails_the_permission_and_keeps_it(fake):
    f = fake({"turns": [PERMISSION_TURN]})
    req = Path(f"{f.files.perm_base}.req")
    before = make_special(req, "fifo")
    assert f.run("--prompt", "hi", "--timeout", "5m", timeout=NO_HANG) == 1
    assert_untouched(req, before, "fifo")
    errors = [e for e in f.events() if e["event"] == "avenor.error"]
    assert [e["source"] for e in errors] == ["permission"], f.events()
    assert errors[0]["message"].startswith(
        f"permission handler: refusing to replace {req}: not a regular file"), errors
    assert f.files.sentinel_lines()[0] == "FAILED"
    assert sorted(p.name for p in f.files.root.iterdir() if p.name.endswith(".tmp")) == []


def test_control_lock_that_is_a_symlink_is_refused(fake, tmp_path):
    """`<socket>.control.lock` is opened O_NOFOLLOW: a link there cannot make avenor create a
    file somewhere else, and a FIFO there cannot block it."""
    f = fake({"turns": [[{"chunk": "hi"}]]})
    sock = tmp_path / "c.sock"
    elsewhere = tmp_path / "elsewhere" / "created"
    elsewhere.parent.mkdir()
    os.symlink(elsewhere, f"{sock}.control.lock")
    assert f.run("--prompt", "hi", "--control-socket", str(sock), timeout=NO_HANG) == 1
    assert f.stderr() == (f"avenor: start control server: {sock}.control.lock is not a "
                          f"regular file\n")
    assert not elsewhere.exists() and not sock.exists()


def test_claude_channel_cleanup_on_a_fifo_mcp_json(avenor, tmp_path):
    mcp_json = tmp_path / ".mcp.json"
    before = make_special(mcp_json, "fifo")
    r = subprocess.run([avenor, "claude-channel-cleanup", "--dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=NO_HANG, stdin=subprocess.DEVNULL)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == (f"avenor claude-channel-cleanup: cannot read {mcp_json}: "
                        f"not a regular file\n")
    assert_untouched(mcp_json, before, "fifo")


# ---------------------------------------------------------------------------------------------
# The permission response is outside input: never blocking, never unbounded
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "devzero"])
def test_response_that_is_a_fifo_or_dev_zero_fails_fast(fake, kind):
    """Before: a FIFO blocked the event loop (--timeout never fired, SIGTERM gave 1) and
    /dev/zero was read until bad_alloc. Now the request fails at the next poll."""
    f = fake({"turns": [PERMISSION_TURN]})
    req, resp = Path(f"{f.files.perm_base}.req"), Path(f"{f.files.perm_base}.req.response")
    p = f.start("--prompt", "hi", "--timeout", "5m")
    p.wait_for_file(req, timeout=NO_HANG)
    before = make_special(resp, kind)
    started = time.monotonic()
    assert p.wait(timeout=NO_HANG) == 1
    assert time.monotonic() - started < NO_HANG
    assert_untouched(resp, before, kind)
    message = f"permission handler: read permission response: {resp} is not a regular file"
    assert f"avenor: {message}\n" in f.stderr()
    errors = [e for e in f.events() if e["event"] == "avenor.error"]
    assert [(e["source"], e["message"]) for e in errors] == [("permission", message)]
    assert f.events()[-1]["event"] == "session.end"
    assert f.files.sentinel_lines()[0] == "FAILED"
    assert not req.exists(), "the failed request is withdrawn"


def test_sigterm_while_the_file_handler_waits_still_gives_130(fake):
    f = fake({"turns": [PERMISSION_TURN]})
    req = Path(f"{f.files.perm_base}.req")
    p = f.start("--prompt", "hi")
    p.wait_for_file(req, timeout=NO_HANG)
    p.signal(signal.SIGTERM)
    assert p.wait(timeout=NO_HANG) == 130
    assert f.files.sentinel_lines()[0] == "KILLED"


# ---------------------------------------------------------------------------------------------
# avenor answer
# ---------------------------------------------------------------------------------------------

def answer(avenor: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([avenor, "answer", *args], capture_output=True, text=True,
                          timeout=NO_HANG, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("kind", ["fifo", "devzero", "dir"])
def test_answer_on_a_request_that_is_not_a_regular_file(avenor, tmp_path, kind):
    base = tmp_path / "run.perm"
    req = Path(f"{base}.req")
    before = make_special(req, kind)
    r = answer(avenor, str(base), "--option", "once")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == f"avenor answer: read request file {req}: not a regular file\n"
    assert_untouched(req, before, kind)
    assert not Path(f"{base}.req.response").exists()


def test_answer_force_never_replaces_a_fifo_response(avenor, tmp_path):
    base = tmp_path / "run.perm"
    Path(f"{base}.req").write_text(json.dumps(
        {"request_id": "1", "options": [{"optionId": "once", "kind": "allow_once"}]}))
    resp = Path(f"{base}.req.response")
    before = make_special(resp, "fifo")
    r = answer(avenor, str(base), "--option", "once", "--force")
    assert r.returncode == 1
    assert r.stderr == (f"avenor answer: write response: refusing to replace {resp}: "
                        f"not a regular file\n")
    assert_untouched(resp, before, "fifo")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    # without --force it is an existing answer, as before
    r = answer(avenor, str(base), "--option", "once")
    assert r.returncode == 2 and "response already exists" in r.stderr
    assert_untouched(resp, before, "fifo")


def test_policy_file_that_is_dev_zero(fake, tmp_path):
    f = fake({"turns": [[{"chunk": "hi"}]]})
    link = tmp_path / "policy.json"
    os.symlink("/dev/zero", link)
    assert f.run("--prompt", "hi", "--permission-policy", str(link), timeout=NO_HANG) == 1
    assert f.stderr() == f"avenor: --permission-policy: {link} is not a regular file\n"


# ---------------------------------------------------------------------------------------------
# Torn log lines (item 11)
# ---------------------------------------------------------------------------------------------

TORN = '{"event":"agent.message_chunk","session_id":"ses_torn","content":{"type":"text","te'


def test_supervisor_ends_a_torn_line_before_appending(world):
    """A runtime SIGKILLed mid-write leaves a torn last line; the supervisor's synthesized
    avenor.error and session.end must each be a line of their own after it."""
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt=HOLD, dir=str(world.workdir("victim")))
        entry = c.wait_status("rt_1", "running")
        world.remember_pgid(os.getpgid(entry["runtime_pid"]))
        rt = world.rt("rt_1")
        rt.wait_event(lambda e: e.get("event") == "agent.message_chunk", "the holding chunk")
        complete = rt.events()
        with open(rt.events_path, "a") as log:  # what a write cut by SIGKILL leaves
            log.write(TORN)
        os.kill(entry["runtime_pid"], signal.SIGKILL)
        c.wait_status("rt_1", "ended")
    raw = rt.events_path.read_text()
    assert raw.endswith("\n")
    lines = raw.split("\n")[:-1]
    torn_at = len(complete)
    assert lines[torn_at] == TORN, "the torn line is ended, not glued to the next event"
    appended = [json.loads(line) for line in lines[torn_at + 1:]]
    assert [e["event"] for e in appended] == ["avenor.error", "session.end"], appended
    assert_seq_exactly_once(complete + appended, "rt_1 log without the torn line")
    assert appended[-1]["stop_reason"] == "error"


def test_mcp_events_skip_a_torn_last_line_of_any_length(mcp_world):
    world = mcp_world
    mcp = McpSession(world.stdio("--max-wait", "20s"), world.diagnostics)
    mcp.initialize()
    run = mcp.spawn(world.workdir("a"), "hi")
    mcp.result_done(run["run_id"])
    log = Path(run["event_path"])
    before = mcp.tool_ok("avenor_events", {"run_id": run["run_id"]})["events"]
    assert "session.end" in [e["event"] for e in before], before
    # over the 1 MiB line limit, but without its '\n' it is incomplete, not an error
    with open(log, "a") as f:
        f.write('{"event":"agent.message_chunk","pad":"' + "x" * (2 << 20))
    after = mcp.tool_ok("avenor_events", {"run_id": run["run_id"]})["events"]
    assert [e["seq"] for e in after] == [e["seq"] for e in before]
    ends = mcp.tool_ok("avenor_events", {"run_id": run["run_id"], "types": ["session.end"]})
    assert [e["final_output"] for e in ends["events"]] == [REPLY]
    mcp.close_stdin()
