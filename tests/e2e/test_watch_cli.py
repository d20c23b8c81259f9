"""`avenor watch <log>`: events.md §8 and cli.md §5, driven through the real binary.

Plain digest lines (exact bytes), JSON passthrough, --classify, --accumulate, malformed lines,
partial lines (D6), the byte-offset cursor, --follow (appends, signals) and --until-end.
Follow tests never sleep to synchronise: they read the process's stdout until the expected line
appears (bounded by a deadline) and use short poll intervals.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

PREFIX = "avenor watch: "
POLL = "20ms"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def ev(**fields) -> str:
    """One compact NDJSON line."""
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False) + "\n"


def watch(avenor: str, *args: str, stdout=subprocess.PIPE, timeout: float = 20):
    """Runs `avenor watch` to completion; stdout and stderr as bytes."""
    return subprocess.run([avenor, "watch", *args], stdout=stdout, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=timeout)


def append(path: Path, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    with open(path, "ab") as f:
        f.write(data)


def read_position(pid: int, path: Path) -> int | None:
    """The file offset of `pid`'s open descriptor for `path` (from /proc), or None."""
    target = os.path.realpath(path)
    try:
        entries = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for name in entries:
        try:
            if os.readlink(f"/proc/{pid}/fd/{name}") != target:
                continue
            with open(f"/proc/{pid}/fdinfo/{name}") as info:
                for line in info:
                    if line.startswith("pos:"):
                        return int(line.split()[1])
        except OSError:
            continue
    return None


def wait_until_read(proc: subprocess.Popen, path: Path, timeout: float = 10.0) -> None:
    """Bounded wait until the watcher has read `path` up to its current size, so bytes
    appended afterwards arrive in a later read."""
    size = path.stat().st_size
    deadline = time.monotonic() + timeout
    while read_position(proc.pid, path) != size:
        if proc.poll() is not None:
            raise AssertionError(f"watch exited ({proc.returncode}) before reading {path}")
        if time.monotonic() > deadline:
            raise AssertionError(f"watch did not read {path} up to {size} within {timeout} s "
                                 f"(at {read_position(proc.pid, path)})")
        time.sleep(0.005)


class Follower:
    """A running `avenor watch --follow ...` whose stdout lines are collected by a thread."""

    def __init__(self, avenor: str, *args: str):
        self.proc = subprocess.Popen([avenor, "watch", "--follow", "--poll-interval", POLL, *args],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            self._queue.put(raw.decode())
        self._queue.put(None)

    def wait_for_line(self, expected: str, timeout: float = 10.0) -> None:
        """Bounded wait until `expected` (a whole line, without '\\n') has been printed."""
        deadline = time.monotonic() + timeout
        while expected + "\n" not in self.lines:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise AssertionError(f"line {expected!r} not printed within {timeout} s; "
                                     f"got {self.lines!r}")
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if item is None:
                raise AssertionError(f"watch exited ({self.proc.wait()}) before printing "
                                     f"{expected!r}; got {self.lines!r}; stderr: "
                                     f"{self.proc.stderr.read()!r}")
            self.lines.append(item)

    def wait(self, timeout: float = 10.0) -> int:
        """Bounded wait for exit; collects the rest of stdout."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"watch did not exit within {timeout} s; got {self.lines!r}")
        self._reader.join(timeout=10)
        while True:
            item = self._queue.get_nowait() if not self._queue.empty() else None
            if item is None:
                break
            self.lines.append(item)
        return rc

    def stderr(self) -> str:
        return self.proc.stderr.read().decode()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def output(self) -> str:
        return "".join(self.lines)


@pytest.fixture
def follower(avenor):
    started: list[Follower] = []

    def start(*args: str) -> Follower:
        f = Follower(avenor, *args)
        started.append(f)
        return f

    yield start
    for f in started:
        f.kill()
        f.proc.stdout.close()
        f.proc.stderr.close()


@pytest.fixture
def log(tmp_path) -> Path:
    p = tmp_path / "ev.ndjson"
    p.write_bytes(b"")
    return p


# ---------------------------------------------------------------------------------------------
# Plain format (§8.3): every row of the excerpt table, exact bytes
# ---------------------------------------------------------------------------------------------

PLAIN_ROWS = [
    # chunk events
    (ev(event="agent.message_chunk", session_id="s1", content={"type": "text", "text": "hello"},
        delta="ignored"),
     "EVENT agent.message_chunk s1 hello"),
    (ev(event="agent.thought_chunk", session_id="s1", content={"type": "text", "text": ""},
        delta="from delta"),
     "EVENT agent.thought_chunk s1 from delta"),
    (ev(event="user.message_chunk", session_id="s1", delta="only delta"),
     "EVENT user.message_chunk s1 only delta"),
    (ev(event="user.message_chunk", session_id="s1", content=[{"text": "array"}]),
     "EVENT user.message_chunk s1 "),
    # agent.status
    (ev(event="agent.status", session_id="s1", phase="working", source="avenor"),
     "EVENT agent.status s1 working"),
    (ev(event="agent.status", session_id="s1", phase="waiting", label="need input"),
     "EVENT agent.status s1 waiting | need input"),
    # tools
    (ev(event="tool.call", session_id="s1", kind="execute", title="ls -la", status="pending"),
     "EVENT tool.call s1 execute:ls -la [pending]"),
    (ev(event="tool.call_update", session_id="s1", kind="edit"),
     "EVENT tool.call_update s1 edit"),
    (ev(event="tool.call_update", session_id="s1", title="Build", status="completed"),
     "EVENT tool.call_update s1 Build [completed]"),
    (ev(event="tool.call_update", session_id="s1", status="failed"),
     "EVENT tool.call_update s1  [failed]"),
    # permission.request
    (ev(event="permission.request", session_id="s1", question="Run rm?", tool="bash"),
     "EVENT permission.request s1 Run rm?"),
    (ev(event="permission.request", session_id="s1", tool="bash"),
     "EVENT permission.request s1 bash"),
    # session.plan
    (ev(event="session.plan", session_id="s1", label="Plan A", title="T"),
     "EVENT session.plan s1 Plan A"),
    (ev(event="session.plan", session_id="s1", title="Titled"),
     "EVENT session.plan s1 Titled"),
    # session.end
    (ev(event="session.end", session_id="s1", stop_reason="end_turn"),
     "EVENT session.end s1 stop_reason=end_turn"),
    (ev(event="session.end", session_id="s1"),
     "EVENT session.end s1 stop_reason="),
    # loop runner
    (ev(event="avenor.loop.start", max_iterations=3),
     "EVENT avenor.loop.start  loop start, max_iterations=3"),
    (ev(event="avenor.phase.start", session_id="s2", phase="build", iteration=1, kind="loop"),
     "EVENT avenor.phase.start s2 phase: build (iter 1)"),
    (ev(event="avenor.phase.end", phase="build", iteration=1, stop_reason="end_turn"),
     "EVENT avenor.phase.end  phase: build \u2192 end_turn"),
    (ev(event="avenor.loop.end", exit_reason="exit_marker", iterations_completed=1),
     "EVENT avenor.loop.end  loop end: exit_marker"),
    # retry
    (ev(event="avenor.retry", session_id="s1", attempt=2, max_retries=3),
     "EVENT avenor.retry s1 attempt=2/3"),
    (ev(event="avenor.retry", session_id="s1"),
     "EVENT avenor.retry s1 retrying"),
    # error
    (ev(event="avenor.error", source="backend", message="crashed"),
     "EVENT avenor.error  backend: crashed"),
    (ev(event="avenor.error", source="cancel"),
     "EVENT avenor.error  cancel"),
    # other
    (ev(event="avenor.parked", session_id="s1", timeout_ms=0),
     "EVENT avenor.parked s1 "),
    (ev(event="x"), "EVENT x  "),
    # session fallback
    (ev(event="custom.thing", sessionID="legacy"), "EVENT custom.thing legacy "),
]


def test_plain_every_excerpt_row_exact_bytes(avenor, log):
    log.write_text("".join(line for line, _ in PLAIN_ROWS), encoding="utf-8")
    r = watch(avenor, str(log))
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    want = "".join(expected + "\n" for _, expected in PLAIN_ROWS)
    assert r.stdout == want.encode("utf-8")


def test_plain_numbers_and_missing_keys(avenor, log):
    log.write_text(
        '{"event":"avenor.loop.start","max_iterations":5.0}\n'
        '{"event":"avenor.loop.start","max_iterations":1.5}\n'
        '{"event":"avenor.loop.start","max_iterations":1e21}\n'
        '{"event":"avenor.loop.start","max_iterations":1e20}\n'
        '{"event":"avenor.loop.start"}\n'
        '{"event":"avenor.retry","attempt":2}\n'
        '{"event":"avenor.retry","attempt":2.0,"max_retries":-1}\n'
        '{"event":"avenor.phase.start","phase":"p"}\n')
    r = watch(avenor, str(log))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == (
        "EVENT avenor.loop.start  loop start, max_iterations=5\n"
        "EVENT avenor.loop.start  loop start, max_iterations=1.5\n"
        "EVENT avenor.loop.start  loop start, max_iterations=1e+21\n"
        "EVENT avenor.loop.start  loop start, max_iterations=100000000000000000000\n"
        "EVENT avenor.loop.start  loop start, max_iterations=<nil>\n"
        "EVENT avenor.retry  attempt=2/<nil>\n"
        "EVENT avenor.retry  attempt=2/-1\n"
        "EVENT avenor.phase.start  phase: p (iter <nil>)\n")


def test_plain_cleaning_runs_cut_and_trim(avenor, log):
    long_ascii = "a" * 130
    multibyte = "é" * 118 + "日本語"          # 121 runes: the cut keeps "日本"
    emoji = "😀" * 125
    lines = [
        ev(event="agent.message_chunk", session_id="s", delta="one\r\n\ttwo\t\tthree\nfour"),
        ev(event="agent.message_chunk", session_id="s", delta="\n\n  indented  \t\n"),
        ev(event="agent.message_chunk", session_id="s", delta=long_ascii),
        ev(event="agent.message_chunk", session_id="s", delta=multibyte),
        ev(event="agent.message_chunk", session_id="s", delta=emoji),
        ev(event="agent.message_chunk", session_id="s", delta="x" * 119 + "   after the cut"),
        ev(event="agent.message_chunk", session_id="s", delta="\t\n"),
    ]
    log.write_text("".join(lines), encoding="utf-8")
    r = watch(avenor, str(log))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode("utf-8") == (
        "EVENT agent.message_chunk s one two three four\n"
        "EVENT agent.message_chunk s    indented\n"          # leading spaces kept
        f"EVENT agent.message_chunk s {'a' * 120}\n"
        f"EVENT agent.message_chunk s {'é' * 118}日本\n"
        f"EVENT agent.message_chunk s {'😀' * 120}\n"
        f"EVENT agent.message_chunk s {'x' * 119}\n"          # rune 120 is a space: trimmed
        "EVENT agent.message_chunk s \n")                    # empty excerpt keeps its space


def test_plain_objects_without_event_print_nothing(avenor, log):
    log.write_text('{"type":"text","part":{"text":"hi"}}\n{"event":5}\n{"sessionID":"x"}\n'
                   + ev(event="session.end", session_id="s", stop_reason="end_turn"))
    r = watch(avenor, str(log))
    assert r.returncode == 0 and r.stderr == b""
    assert r.stdout == b"EVENT session.end s stop_reason=end_turn\n"


# ---------------------------------------------------------------------------------------------
# Malformed and blank lines (§8.2)
# ---------------------------------------------------------------------------------------------

def test_malformed_lines_reported_with_line_numbers_and_skipped(avenor, log):
    log.write_text(
        "\n"                                  # empty: no number
        + ev(event="a")                       # line 1
        + "\n\n"                              # empty
        + "   \t\n"                           # line 2: whitespace-only, skipped silently
        + "{not json}\n"                      # line 3: malformed
        + ev(event="b")                       # line 4
        + "\n"
        + '{"event":"c"\n'                    # line 5: malformed
        + ev(event="d"))                      # line 6
    r = watch(avenor, str(log))
    assert r.returncode == 0
    assert r.stdout == b"EVENT a  \nEVENT b  \nEVENT d  \n"
    err = r.stderr.decode().splitlines()
    assert len(err) == 2, err
    assert err[0].startswith(PREFIX + "malformed event at line 3: "), err
    assert err[1].startswith(PREFIX + "malformed event at line 5: "), err


def test_malformed_lines_in_json_format(avenor, log):
    log.write_text(ev(event="a") + "oops\n" + ev(event="b"))
    r = watch(avenor, "--format", "json", str(log))
    assert r.returncode == 0
    assert r.stdout == (ev(event="a") + ev(event="b")).encode()
    assert r.stderr.decode().startswith(PREFIX + "malformed event at line 2: ")


# ---------------------------------------------------------------------------------------------
# JSON format (§8.4)
# ---------------------------------------------------------------------------------------------

def test_json_passthrough_byte_for_byte(avenor, log):
    content = (b'{ "event" : "agent.message_chunk",  "n": 1.50, "big": 12345678901234567890123,'
               b' "s": "\\u003c\\u00e9\xc3\xa9" }\n'
               b'{"no_event":true}\n'
               b'{"event":"crlf"}\r\n'
               b'   \n'
               b'  {"event":"padded"}  \n'
               b'[1, 2]\n'
               b'{"event":"partial"')
    log.write_bytes(content)
    r = watch(avenor, "--format", "json", str(log))
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    assert r.stdout == (b'{ "event" : "agent.message_chunk",  "n": 1.50, "big": 12345678901234567890123,'
                        b' "s": "\\u003c\\u00e9\xc3\xa9" }\n'
                        b'{"no_event":true}\n'
                        b'{"event":"crlf"}\r\n'
                        b'  {"event":"padded"}  \n'
                        b'[1, 2]\n')


def test_json_classify_adds_field_and_reencodes_compactly(avenor, log):
    events = [
        {"event": "session.end", "session_id": "s", "stop_reason": "end_turn", "n": 1.5,
         "usage": {"input_tokens": 10}},
        {"event": "agent.message_chunk", "content": {"type": "text", "text": "confidence: 80%"}},
        {"event": "agent.status", "phase": "working", "classify": "stale"},
        {"no_event": True},
    ]
    log.write_text("".join(json.dumps(e) + "\n" for e in events))   # with spaces
    r = watch(avenor, "--format=json", "--classify", str(log))
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode().split("\n")
    assert out[-1] == "" and len(out) == 5
    tags = ["MILESTONE", "FINDING", "ACTIVITY", "ACTIVITY"]
    for line, original, tag in zip(out[:-1], events, tags):
        doc = json.loads(line)
        assert doc == {**original, "classify": tag}
        assert line == json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Classification (§8.5): every rule through --classify
# ---------------------------------------------------------------------------------------------

def chunk(text: str, name: str = "agent.message_chunk") -> str:
    return ev(event=name, session_id="s", content={"type": "text", "text": text})


CLASSIFY_CASES = [
    # rule 1
    *[(ev(event=name), "MILESTONE") for name in
      ["session.end", "permission.request", "avenor.loop.start", "avenor.phase.end",
       "avenor.loop.end", "avenor.retry", "avenor.error"]],
    # rule 2
    (ev(event="avenor.phase.start"), "ACTIVITY"),
    (ev(event="permission.response"), "ACTIVITY"),
    # rule 3
    (ev(event="agent.status", phase="done"), "MILESTONE"),
    (ev(event="agent.status", phase="waiting"), "MILESTONE"),
    (ev(event="agent.status", phase="thinking"), "ACTIVITY"),
    (ev(event="agent.status", phase="working"), "ACTIVITY"),
    # rule 4
    (ev(event="tool.call", kind="Commit", title="x"), "MILESTONE"),
    (ev(event="tool.call_update", kind="task", status="completed"), "MILESTONE"),
    (ev(event="tool.call_update", kind="task", status="running"), "ACTIVITY"),
    (ev(event="tool.call", kind="execute", title="Run GIT COMMIT -m msg"), "MILESTONE"),
    (ev(event="tool.call", kind="execute", title="shell", command="git commit -am wip"),
     "MILESTONE"),
    (ev(event="tool.call", kind="execute", title="git status"), "ACTIVITY"),
    # rule 5
    (chunk(""), "ACTIVITY"),
    (chunk("all good"), "ACTIVITY"),
    (chunk("[FINDING] null deref", "agent.thought_chunk"), "FINDING"),
    (chunk("The reviewer flagged a race", "user.message_chunk"), "FINDING"),
    (chunk("Correction needed in step 2"), "FINDING"),
    (chunk("one FAILED TEST remains"), "FINDING"),
    (chunk("confidence:75%"), "FINDING"),
    (chunk("Confidence: 60"), "FINDING"),
    (chunk("confidence:   95 (high)"), "FINDING"),
    (chunk("confidence: 60ms"), "ACTIVITY"),
    (chunk("confidence: 59"), "ACTIVITY"),
    (chunk("confidence: 59%"), "ACTIVITY"),
    (chunk("confidence: 30, then confidence: 70."), "FINDING"),
    (ev(event="agent.message_chunk", delta="[finding] only in delta"), "ACTIVITY"),
    # rule 6
    (ev(event="session.plan", title="p"), "ACTIVITY"),
    (ev(event="avenor.parked", timeout_ms=0), "ACTIVITY"),
]


def test_classify_every_rule_plain(avenor, log):
    log.write_text("".join(line for line, _ in CLASSIFY_CASES))
    r = watch(avenor, "--classify", str(log))
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode().splitlines()
    assert len(out) == len(CLASSIFY_CASES)
    for got, (line, tag) in zip(out, CLASSIFY_CASES):
        assert got.startswith(tag + " EVENT "), (line, got)
    # the tag is a prefix of the normal plain line
    assert out[0] == "MILESTONE EVENT session.end  stop_reason="


# ---------------------------------------------------------------------------------------------
# --accumulate (§8.6)
# ---------------------------------------------------------------------------------------------

def test_accumulate_merges_chunk_runs(avenor, log):
    long_tail = "z" * 150
    log.write_text(
        ev(event="agent.thought_chunk", session_id="s", content={"type": "text", "text": "Let me "})
        + ev(event="agent.thought_chunk", session_id="s", delta="think\n")
        + ev(event="agent.message_chunk", session_id="s", content={"text": "Hello,\t"})
        + ev(event="agent.message_chunk", session_id="s", content={"text": ""})    # ignored
        + ev(event="agent.message_chunk", session_id="s", delta=" world " + long_tail)
        + ev(event="agent.message_chunk", session_id="t", delta="other session")
        + ev(event="tool.call", session_id="t", kind="execute", title="ls")
        + ev(event="agent.message_chunk", session_id="t", delta="  tail  ")
    )
    r = watch(avenor, "--accumulate", str(log))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == (
        "EVENT agent.thought_chunk s Let me think\n"
        f"EVENT agent.message_chunk s Hello,  world {long_tail}\n"     # not cut to 120 runes
        "EVENT agent.message_chunk t other session\n"
        "EVENT tool.call t execute:ls\n"
        "EVENT agent.message_chunk t tail\n")                          # flushed at EOF


def test_accumulate_with_classify_tags_the_joined_text(avenor, log):
    log.write_text(
        chunk("[find") + chunk("ing] bug") + ev(event="agent.status", session_id="s", phase="done")
        + chunk("confidence: 8") + chunk("5%") + ev(event="session.end", session_id="s",
                                                     stop_reason="end_turn")
        + chunk("nothing special"))
    r = watch(avenor, "--accumulate", "--classify", str(log))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == (
        "FINDING EVENT agent.message_chunk s [finding] bug\n"
        "MILESTONE EVENT agent.status s done\n"
        "FINDING EVENT agent.message_chunk s confidence: 85%\n"
        "MILESTONE EVENT session.end s stop_reason=end_turn\n"
        "ACTIVITY EVENT agent.message_chunk s nothing special\n")


def test_accumulate_with_json_warns_and_is_ignored(avenor, log):
    content = chunk("a") + chunk("b")
    log.write_text(content)
    r = watch(avenor, "--format", "json", "--accumulate", str(log))
    assert r.returncode == 0
    assert r.stdout == content.encode()
    assert r.stderr.decode() == PREFIX + "--accumulate is only supported with --format plain; ignoring\n"


# ---------------------------------------------------------------------------------------------
# Partial lines (D6) and the cursor (§8.7)
# ---------------------------------------------------------------------------------------------

def test_partial_last_line_is_left_unprocessed(avenor, log, tmp_path):
    cursor = tmp_path / "cur"
    first = ev(event="a", session_id="s")
    log.write_text(first + '{"event":"b","session_id":"s"}')    # no newline yet
    r = watch(avenor, "--since-cursor", str(cursor), str(log))
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    assert r.stdout == b"EVENT a s \n"
    assert cursor.read_text() == f"{len(first.encode())}\n"
    append(log, "\n" + ev(event="c"))
    r = watch(avenor, "--since-cursor", str(cursor), str(log))
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    assert r.stdout == b"EVENT b s \nEVENT c  \n"
    assert cursor.read_text() == f"{log.stat().st_size}\n"


def test_cursor_resumes_and_offset_equal_to_size_is_fine(avenor, log, tmp_path):
    cursor = tmp_path / "cur"
    log.write_text(ev(event="one") + ev(event="two"))
    r = watch(avenor, "--since-cursor", str(cursor), str(log))
    assert (r.returncode, r.stdout) == (0, b"EVENT one  \nEVENT two  \n")
    assert cursor.read_text() == f"{log.stat().st_size}\n"
    assert stat.S_IMODE(cursor.stat().st_mode) == 0o644
    # offset == size: nothing new, still fine
    r = watch(avenor, "--since-cursor", str(cursor), str(log))
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    append(log, ev(event="three"))
    r = watch(avenor, "-since-cursor=" + str(cursor), str(log))
    assert (r.returncode, r.stdout) == (0, b"EVENT three  \n")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_cursor_written_by_temp_and_rename(avenor, log, tmp_path):
    cursor = tmp_path / "cur"
    cursor.write_text("0\n")
    os.chmod(cursor, 0o600)
    # A hard link keeps the old inode: an in-place write would change it, a rename does not.
    witness = tmp_path / "witness"
    os.link(cursor, witness)
    log.write_text(ev(event="a"))
    old_umask = os.umask(0o077)
    try:
        r = watch(avenor, "--since-cursor", str(cursor), str(log))
    finally:
        os.umask(old_umask)
    assert r.returncode == 0, r.stderr
    assert cursor.read_text() == f"{log.stat().st_size}\n"
    assert witness.read_text() == "0\n"
    assert cursor.stat().st_ino != witness.stat().st_ino
    assert stat.S_IMODE(cursor.stat().st_mode) == 0o644
    assert not (tmp_path / "cur.tmp").exists()


def test_cursor_missing_file_starts_at_zero(avenor, log, tmp_path):
    cursor = tmp_path / "new.cursor"
    log.write_text(ev(event="a"))
    r = watch(avenor, "--since-cursor", str(cursor), str(log))
    assert (r.returncode, r.stdout) == (0, b"EVENT a  \n")
    assert cursor.read_text() == f"{log.stat().st_size}\n"


@pytest.mark.parametrize("content, message", [
    ("-5\n", "negative offset -5"),
    ("abc\n", 'parsing "abc": invalid syntax'),
    ("", 'parsing "": invalid syntax'),
    ("12 \n", "invalid syntax"),
    ("99999999999999999999\n", "value out of range"),
])
def test_cursor_invalid_content_exits_2(avenor, log, tmp_path, content, message):
    cursor = tmp_path / "cur"
    cursor.write_text(content)
    log.write_text(ev(event="a"))
    r = watch(avenor, "--since-cursor", str(cursor), str(log))
    assert r.returncode == 2
    assert r.stdout == b""
    err = r.stderr.decode()
    assert err.startswith(f"{PREFIX}invalid cursor file {cursor}: "), err
    assert message in err
    assert cursor.read_text() == content        # left alone


def test_cursor_beyond_log_size_exact_message(avenor, log, tmp_path):
    cursor = tmp_path / "cur"
    log.write_text(ev(event="a"))
    size = log.stat().st_size
    cursor.write_text(f"{size + 1}\n")
    r = watch(avenor, "--since-cursor", str(cursor), str(log))
    assert r.returncode == 2
    assert r.stdout == b""
    assert r.stderr.decode() == (f"{PREFIX}log ev.ndjson shorter than cursor "
                                 f"(offset {size + 1} > size {size}) (cursor {cursor})\n")


def test_cursor_unreadable_exits_2(avenor, log, tmp_path):
    cursor = tmp_path / "cur"
    cursor.mkdir()
    log.write_text(ev(event="a"))
    r = watch(avenor, "--since-cursor", str(cursor), str(log))
    assert r.returncode == 2
    assert r.stderr.decode().startswith(f"{PREFIX}read cursor file {cursor}: ")


# ---------------------------------------------------------------------------------------------
# Usage, open and output errors (§8.1)
# ---------------------------------------------------------------------------------------------

HINT = "run 'avenor watch --help' for usage\n"


@pytest.mark.parametrize("args, message", [
    ([], PREFIX + "<log> is required\n"),
    (["a.ndjson", "b.ndjson"], PREFIX + 'unexpected argument "b.ndjson" (watch takes one <log>)\n'),
    (["--format", "xml", "LOG"], PREFIX + 'unsupported --format "xml" (plain or json)\n'),
])
def test_usage_errors_exit_2(avenor, log, args, message):
    args = [str(log) if a == "LOG" else a for a in args]
    r = watch(avenor, *args)
    assert r.returncode == 2
    assert r.stdout == b""
    assert r.stderr.decode() == message + HINT


@pytest.mark.parametrize("args, first_line", [
    (["--bogus", "LOG"], "flag provided but not defined: -bogus"),
    (["--poll-interval", "fast", "LOG"],
     'invalid value "fast" for flag -poll-interval: parse error (use e.g. 5s, 10m, 1h30m)'),
    (["LOG", "--poll-interval", "5"],
     'invalid value "5" for flag -poll-interval: missing unit in duration (use e.g. 5s, 10m, 1h30m)'),
    (["--follow=maybe", "LOG"], 'invalid boolean value "maybe" for -follow: parse error'),
    (["--since-cursor"], "flag needs an argument: -since-cursor"),
])
def test_flag_errors_exit_2_with_a_hint(avenor, log, args, first_line):
    # one error line plus the hint, not the whole usage (issue 13)
    args = [str(log) if a == "LOG" else a for a in args]
    r = watch(avenor, *args)
    assert r.returncode == 2
    assert r.stdout == b""
    assert r.stderr.decode() == PREFIX + first_line + "\n" + HINT


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_on_stdout_exits_0(avenor, flag):
    r = watch(avenor, flag)
    assert r.returncode == 0
    assert r.stdout.decode().startswith("Usage: avenor watch") and r.stderr == b""


def test_flags_after_the_log(avenor, log):
    # D13: `avenor watch ev.ndjson --classify`
    log.write_text(ev(event="session.end", session_id="s1", stop_reason="end_turn"))
    r = watch(avenor, str(log), "--classify")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "MILESTONE EVENT session.end s1 stop_reason=end_turn\n"


def test_double_dash_ends_the_flags(avenor, log):
    r = watch(avenor, "--", str(log), "--follow")
    assert r.returncode == 2
    assert r.stderr.decode() == PREFIX + 'unexpected argument "--follow" (watch takes one <log>)\n' + HINT


def test_unopenable_log_exits_2(avenor, tmp_path):
    missing = tmp_path / "missing.ndjson"
    r = watch(avenor, str(missing))
    assert r.returncode == 2
    assert r.stderr.decode().startswith(f"{PREFIX}open {missing}: ")
    r = watch(avenor, "--follow", str(tmp_path))        # a directory cannot be read
    assert r.returncode == 2


def test_stdout_write_failure_exits_1(avenor, log, tmp_path):
    cursor = tmp_path / "cur"
    log.write_text(ev(event="a"))
    with open("/dev/full", "wb") as full:
        r = watch(avenor, "--since-cursor", str(cursor), str(log), stdout=full)
    assert r.returncode == 1
    assert r.stderr.decode().startswith(PREFIX + "write stdout: "), r.stderr
    assert not cursor.exists(), "the cursor is not written when output failed"


def test_stdout_write_failure_in_follow_mode_exits_1(avenor, log):
    log.write_text(ev(event="a"))
    with open("/dev/full", "wb") as full:
        r = watch(avenor, "--follow", "--poll-interval", POLL, str(log), stdout=full)
    assert r.returncode == 1
    assert r.stderr.decode().startswith(PREFIX + "write stdout: ")


def test_empty_log_prints_nothing(avenor, log):
    r = watch(avenor, str(log))
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")


# ---------------------------------------------------------------------------------------------
# --follow (§8.2): appended lines, split lines, signals
# ---------------------------------------------------------------------------------------------

def test_follow_picks_up_appended_lines_and_split_lines(follower, log, tmp_path):
    cursor = tmp_path / "cur"
    log.write_text(ev(event="first", session_id="s"))
    w = follower("--since-cursor", str(cursor), str(log))
    w.wait_for_line("EVENT first s ")
    append(log, ev(event="second", session_id="s"))
    w.wait_for_line("EVENT second s ")
    # one line written in two halves: printed once, whole, after the second half
    line = ev(event="agent.message_chunk", session_id="s", delta="split in two")
    held_offset = log.stat().st_size
    append(log, line[:20])
    wait_until_read(w.proc, log)                     # the first half has been read and held
    assert w.proc.poll() is None
    append(log, line[20:])
    w.wait_for_line("EVENT agent.message_chunk s split in two")
    w.proc.send_signal(signal.SIGTERM)
    assert w.wait() == 0
    assert w.output() == ("EVENT first s \nEVENT second s \n"
                          "EVENT agent.message_chunk s split in two\n")
    assert cursor.read_text() == f"{held_offset + len(line)}\n"


def test_follow_partial_line_is_held_and_not_in_cursor(avenor, follower, log, tmp_path):
    cursor = tmp_path / "cur"
    complete = ev(event="done", session_id="s")
    log.write_text(complete)
    w = follower("--since-cursor", str(cursor), str(log))
    w.wait_for_line("EVENT done s ")
    append(log, '{"event":"half')
    wait_until_read(w.proc, log)                     # read, but held: no newline yet
    w.proc.send_signal(signal.SIGTERM)
    assert w.wait() == 0
    assert w.output() == "EVENT done s \n"
    assert cursor.read_text() == f"{len(complete)}\n"
    # the next run starts at the held line and reads it once it is whole
    append(log, '"}\n')
    r = watch(avenor, "--since-cursor", str(cursor), str(log))
    assert (r.returncode, r.stdout) == (0, b"EVENT half  \n")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_follow_ends_on_signal_with_exit_0_and_cursor(follower, log, tmp_path, sig):
    cursor = tmp_path / "cur"
    log.write_text(ev(event="a", session_id="s")
                   + ev(event="agent.message_chunk", session_id="s", delta="buffered ")
                   + ev(event="agent.message_chunk", session_id="s", delta="text"))
    # A long poll interval: only the signal can end the sleep in time.
    w = follower("--accumulate", "--poll-interval", "30s", "--since-cursor", str(cursor), str(log))
    w.wait_for_line("EVENT a s ")
    started = time.monotonic()
    w.proc.send_signal(sig)
    assert w.wait(timeout=10) == 0
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"follow took {elapsed:.2f} s to end after the signal"
    # the accumulator is flushed at shutdown and the cursor written
    assert w.output() == "EVENT a s \nEVENT agent.message_chunk s buffered text\n"
    assert cursor.read_text() == f"{log.stat().st_size}\n"
    assert w.stderr() == ""


def test_follow_writes_cursor_every_ten_lines(follower, log, tmp_path):
    cursor = tmp_path / "cur"
    w = follower("--since-cursor", str(cursor), str(log))
    for i in range(9):
        append(log, ev(event=f"e{i}"))
    w.wait_for_line("EVENT e8  ")
    assert not cursor.exists()
    append(log, ev(event="e9"))
    w.wait_for_line("EVENT e9  ")
    deadline = time.monotonic() + 10
    while not cursor.exists():
        assert time.monotonic() < deadline, "cursor not written after 10 lines"
        time.sleep(0.01)
    assert cursor.read_text() == f"{log.stat().st_size}\n"
    w.proc.send_signal(signal.SIGTERM)
    assert w.wait() == 0


def test_follow_json_passthrough(follower, log):
    w = follower("--format", "json", str(log))
    raw = '{"event":"x",  "keep":"spacing"}\n'
    append(log, raw)
    w.wait_for_line(raw.rstrip("\n"))
    w.proc.send_signal(signal.SIGINT)
    assert w.wait() == 0
    assert w.output() == raw


# ---------------------------------------------------------------------------------------------
# --until-end (§8.8)
# ---------------------------------------------------------------------------------------------

def test_until_end_single_run_exit_0_reason_ends_immediately(follower, log, tmp_path):
    cursor = tmp_path / "cur"
    log.write_text(ev(event="agent.status", session_id="s", phase="working"))
    w = follower("--until-end", "--since-cursor", str(cursor), str(log))
    w.wait_for_line("EVENT agent.status s working")
    append(log, ev(event="session.end", session_id="s", stop_reason="end_turn"))
    assert w.wait(timeout=10) == 0
    assert w.output() == "EVENT agent.status s working\nEVENT session.end s stop_reason=end_turn\n"
    assert cursor.read_text() == f"{log.stat().st_size}\n"


@pytest.mark.parametrize("reason", ["refusal", "max_tokens", "max_turn_requests", "timeout",
                                    "progress_timeout", "cancelled"])
def test_until_end_reasons_not_mapping_to_exit_1_end(follower, log, reason):
    log.write_text(ev(event="session.end", session_id="s", stop_reason=reason))
    w = follower("--until-end", str(log))
    assert w.wait(timeout=10) == 0
    assert w.output() == f"EVENT session.end s stop_reason={reason}\n"


def test_until_end_processes_lines_already_readable_after_terminal(follower, log):
    log.write_text(ev(event="session.end", session_id="s", stop_reason="end_turn")
                   + ev(event="agent.status", session_id="s", phase="done"))
    w = follower("--until-end", str(log))
    assert w.wait(timeout=10) == 0
    assert w.output() == "EVENT session.end s stop_reason=end_turn\nEVENT agent.status s done\n"


def test_until_end_exit_1_reason_then_retry_continues(follower, log):
    log.write_text(ev(event="session.end", session_id="s", stop_reason="error"))
    w = follower("--until-end", str(log))
    w.wait_for_line("EVENT session.end s stop_reason=error")
    append(log, ev(event="avenor.retry", session_id="s", attempt=2, max_retries=1))
    w.wait_for_line("EVENT avenor.retry s attempt=2/1")
    append(log, ev(event="agent.message_chunk", session_id="s2", delta="second attempt"))
    w.wait_for_line("EVENT agent.message_chunk s2 second attempt")
    assert w.proc.poll() is None, "watch ended although the retry continued the run"
    append(log, ev(event="session.end", session_id="s2", stop_reason="end_turn"))
    assert w.wait(timeout=10) == 0
    assert w.output().endswith("EVENT session.end s2 stop_reason=end_turn\n")


def test_until_end_exit_1_reason_ends_after_10s_grace(follower, log):
    log.write_text(ev(event="session.end", session_id="s", stop_reason="error"))
    started = time.monotonic()
    w = follower("--until-end", str(log))
    w.wait_for_line("EVENT session.end s stop_reason=error")
    assert w.wait(timeout=25) == 0
    elapsed = time.monotonic() - started
    assert elapsed >= 10.0, f"ended after {elapsed:.2f} s, before the 10 s grace"
    assert w.output() == "EVENT session.end s stop_reason=error\n"


def test_until_end_loop_log_ends_only_at_depth_0_loop_end(follower, log):
    log.write_text(
        ev(event="avenor.loop.start", max_iterations=1)
        + ev(event="avenor.phase.start", phase="outer", iteration=1, kind="loop")
        + ev(event="session.end", session_id="s", stop_reason="end_turn")
        + ev(event="avenor.loop.start", max_iterations=1)                 # nested loop
        + ev(event="session.end", session_id="s", stop_reason="refusal")
        + ev(event="avenor.loop.end", exit_reason="max_iterations"))      # depth 1 -> not final
    w = follower("--until-end", str(log))
    w.wait_for_line("EVENT avenor.loop.end  loop end: max_iterations")
    append(log, ev(event="avenor.phase.end", phase="outer", iteration=1, stop_reason="end_turn"))
    w.wait_for_line("EVENT avenor.phase.end  phase: outer \u2192 end_turn")
    assert w.proc.poll() is None, "watch ended before the outermost avenor.loop.end"
    append(log, ev(event="avenor.loop.end", exit_reason="exit_marker"))
    assert w.wait(timeout=10) == 0
    assert w.output().endswith("EVENT avenor.loop.end  loop end: exit_marker\n")


def test_until_end_without_follow_changes_nothing(avenor, log):
    log.write_text(ev(event="session.end", session_id="s", stop_reason="end_turn") + ev(event="z"))
    r = watch(avenor, "--until-end", str(log))
    assert (r.returncode, r.stdout) == (0, b"EVENT session.end s stop_reason=end_turn\nEVENT z  \n")
