"""`avenor watch` on hostile logs and cursors, through the real binary (issue 15, items 10, 11).

- A line without an end is not buffered without limit: past the cap its bytes are dropped and,
  once its '\\n' arrives, it is reported as one oversize line (with and without --follow).
- Plain output never carries terminal control sequences (ESC, CSI, OSC, BEL, C1): they become
  visible placeholders. JSON output is valid UTF-8 (invalid bytes become U+FFFD).
- A torn last line is incomplete, never an error: --until-end waits for the rest.
- A cursor that is a FIFO, device or symlink is neither read (no hang) nor replaced.

Memory is measured as the process's peak RSS (VmHWM, or wait4's ru_maxrss); the long lines are
sparse holes, so the test costs no disk and little time.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The follower and log fixtures are test_watch_cli's own; importing them registers them here.
from test_watch_cli import Follower, ev, follower, log, wait_until_read  # noqa: E402,F401

PREFIX = "avenor watch: "
CAP_MIB = 32
HOLE = 256 << 20  # 8× the cap: buffering it would show in the peak RSS
PEAK_LIMIT_KIB = 128 << 10


def append(path: Path, data: str | bytes) -> None:
    with open(path, "ab") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def add_hole(path: Path, size: int) -> None:
    """`size` NUL bytes (no newline) at the end of `path`, as a sparse hole."""
    os.truncate(path, path.stat().st_size + size)


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


def watch_peak(avenor: str, *args: str, timeout: float = 60.0) -> tuple[int, int]:
    """Runs watch (output discarded) and returns (exit code, its own peak RSS in KiB).
    wait4 gives this one child's rusage; it is polled so a hang fails within `timeout`."""
    p = subprocess.Popen([avenor, "watch", *args], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return p.returncode, usage.ru_maxrss
        if time.monotonic() > deadline:
            p.kill()
            p.wait()
            raise AssertionError(f"watch did not finish within {timeout} s")
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------
# The line cap
# ---------------------------------------------------------------------------------------------

def test_follow_drops_an_endless_line_and_reports_it_once_complete(follower, log):
    append(log, ev(event="a"))
    add_hole(log, HOLE)
    w = follower(str(log))
    w.wait_for_line("EVENT a  ")
    wait_until_read(w.proc, log, timeout=120)
    peak = peak_rss_kib(w.proc.pid)
    assert peak < PEAK_LIMIT_KIB, f"watch --follow held the unterminated line: peak {peak} KiB"
    append(log, "\n" + ev(event="b"))
    w.wait_for_line("EVENT b  ")
    w.proc.send_signal(signal.SIGTERM)
    assert w.wait() == 0
    assert w.stderr() == (f"{PREFIX}malformed event at line 2: line of {HOLE} bytes exceeds the "
                          f"{CAP_MIB} MiB limit; skipped\n")
    assert w.output() == "EVENT a  \nEVENT b  \n"


def test_non_follow_cap_and_cursor_past_the_dropped_line(avenor, log, tmp_path):
    append(log, ev(event="a"))
    add_hole(log, HOLE)
    append(log, "\n" + ev(event="b"))
    code, peak = watch_peak(avenor, str(log))
    assert code == 0
    assert peak < PEAK_LIMIT_KIB, f"watch held the oversize line: peak {peak} KiB"
    cursor = tmp_path / "cur"
    r = subprocess.run([avenor, "watch", "--since-cursor", str(cursor), str(log)],
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert (r.returncode, r.stdout) == (0, b"EVENT a  \nEVENT b  \n")
    assert r.stderr.decode() == (f"{PREFIX}malformed event at line 2: line of {HOLE} bytes "
                                 f"exceeds the {CAP_MIB} MiB limit; skipped\n")
    assert cursor.read_text() == f"{log.stat().st_size}\n"


def test_a_torn_oversize_last_line_is_incomplete_not_an_error(avenor, log):
    append(log, ev(event="a"))
    add_hole(log, 64 << 20)
    r = subprocess.run([avenor, "watch", str(log)], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"EVENT a  \n", b"")


# ---------------------------------------------------------------------------------------------
# Terminal escapes in plain output, invalid UTF-8 in JSON output
# ---------------------------------------------------------------------------------------------

HOSTILE_TEXT = "hi \x1b]0;pwned\x07 \x1b[2J there \u009b31m end\x7f"


def test_plain_output_carries_no_terminal_controls(avenor, log):
    append(log, ev(event="agent.message_chunk", session_id="s\x1b[31m",
                   content={"type": "text", "text": HOSTILE_TEXT}))
    append(log, ev(event="x\x1b[1mbold\x9b", session_id="s"))
    append(log, b'{"event":"agent.thought_chunk","session_id":"s","delta":"bad\xff\xc3"}\n')
    for extra in ([], ["--accumulate"], ["--classify"]):
        r = subprocess.run([avenor, "watch", *extra, str(log)], capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        text = r.stdout.decode("utf-8")  # strict: valid UTF-8
        controls = [c for c in text if c != "\n" and (ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f)]
        assert controls == [], f"{extra}: {controls!r} reached the terminal: {text!r}"
        assert ("EVENT agent.message_chunk s\u241b[31m hi \u241b]0;pwned\u2407 \u241b[2J there "
                "\ufffd31m end\u2421") in text, text
        assert "EVENT x\u241b[1mbold\ufffd s " in text, text
        assert "EVENT agent.thought_chunk s bad\ufffd\ufffd" in text, text


def test_json_output_is_valid_utf8(avenor, log):
    raw = b'{"event":"x","s":"bad\xff\xfe ok \xc3","t":"\xe2\x82"}\n'
    append(log, raw)
    append(log, ev(event="fine", s="caf\u00e9"))
    r = subprocess.run([avenor, "watch", "--format", "json", str(log)], capture_output=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ('{"event":"x","s":"bad\ufffd\ufffd ok \ufffd","t":"\ufffd\ufffd"}\n'
                        + ev(event="fine", s="caf\u00e9")).encode()
    r = subprocess.run([avenor, "watch", "--format", "json", "--classify", str(log)],
                       capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    first = r.stdout.split(b"\n")[0].decode("utf-8")  # strict
    assert '"s":"bad\ufffd\ufffd ok \ufffd"' in first, first
    assert '"classify":"ACTIVITY"' in first, first


# ---------------------------------------------------------------------------------------------
# Torn last line with --until-end
# ---------------------------------------------------------------------------------------------

def test_until_end_waits_for_the_rest_of_a_torn_terminal_line(follower, log):
    end = ev(event="session.end", session_id="s", stop_reason="end_turn")
    append(log, ev(event="agent.status", session_id="s", phase="working"))
    append(log, end[:20])
    w = follower("--until-end", str(log))
    w.wait_for_line("EVENT agent.status s working")
    wait_until_read(w.proc, log)
    assert w.proc.poll() is None, "a torn line ended the watch"
    append(log, end[20:])
    assert w.wait(timeout=30) == 0
    assert w.output() == "EVENT agent.status s working\nEVENT session.end s stop_reason=end_turn\n"
    assert w.stderr() == ""


# ---------------------------------------------------------------------------------------------
# Cursors that are not regular files
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "devzero", "symlink"])
def test_cursor_that_is_not_a_regular_file_is_refused_at_start(avenor, log, tmp_path, kind):
    append(log, ev(event="a"))
    cursor = tmp_path / "cur"
    if kind == "fifo":
        os.mkfifo(cursor, 0o600)
    elif kind == "devzero":
        os.symlink("/dev/zero", cursor)
    else:
        (tmp_path / "real").write_text("0\n")
        os.symlink(tmp_path / "real", cursor)
    before = os.lstat(cursor)
    r = subprocess.run([avenor, "watch", "--since-cursor", str(cursor), str(log)],
                       capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert (r.returncode, r.stdout) == (2, b"")
    assert r.stderr.decode() == f"{PREFIX}read cursor file {cursor}: not a regular file\n"
    after = os.lstat(cursor)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


def test_cursor_temp_name_taken_by_a_fifo_is_left_alone(avenor, log, tmp_path):
    append(log, ev(event="a"))
    cursor = tmp_path / "cur"
    tmp = tmp_path / "cur.tmp"
    os.mkfifo(tmp, 0o600)
    r = subprocess.run([avenor, "watch", "--since-cursor", str(cursor), str(log)],
                       capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert (r.returncode, r.stdout) == (1, b"EVENT a  \n")
    assert r.stderr.decode() == f"{PREFIX}write cursor tmp {tmp}: not a regular file\n"
    assert stat.S_ISFIFO(os.lstat(tmp).st_mode) and not cursor.exists()


# ---------------------------------------------------------------------------------------------
# Logs that are not regular files
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "devzero"])
@pytest.mark.parametrize("follow", [False, True])
def test_log_that_is_not_a_regular_file_is_refused_without_blocking(avenor, tmp_path, kind, follow):
    # A FIFO with no writer would block open(2); /dev/zero has no end and no newline.
    path = tmp_path / "log"
    if kind == "fifo":
        os.mkfifo(path, 0o600)
    else:
        os.symlink("/dev/zero", path)
    args = [avenor, "watch"] + (["--follow"] if follow else []) + [str(path)]
    r = subprocess.run(args, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert (r.returncode, r.stdout) == (2, b"")
    assert r.stderr.decode() == f"{PREFIX}open {path}: not a regular file\n"
    if kind == "fifo":
        assert stat.S_ISFIFO(os.lstat(path).st_mode)
