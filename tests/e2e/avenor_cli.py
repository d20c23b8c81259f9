"""Driving the real avenor binary from tests: start it, wait for it with a bound,
and read the three results it leaves (event log, sentinel, exit code)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RunFiles:
    """The files one `avenor run` writes, all under one folder."""
    root: Path
    events: Path = field(init=False)
    sentinel: Path = field(init=False)
    stderr: Path = field(init=False)

    def __post_init__(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.events = self.root / "ev.ndjson"
        self.sentinel = self.root / "run.done"
        self.stderr = self.root / "avenor.stderr"

    @property
    def perm_base(self) -> Path:
        return self.root / "run.perm"

    def read_events(self) -> list[dict]:
        if not self.events.exists():
            return []
        # Split on LF only: the log may hold U+2028/U+2029 inside strings, which
        # str.splitlines() would treat as line ends.
        return [json.loads(line) for line in self.events.read_text().split("\n") if line.strip()]

    def read_events_safe(self) -> list[dict]:
        """Events of complete lines only (the run may be mid-write)."""
        if not self.events.exists():
            return []
        text = self.events.read_text()
        complete = text[: text.rfind("\n") + 1]
        return [json.loads(line) for line in complete.split("\n") if line.strip()]

    def sentinel_lines(self) -> list[str]:
        return self.sentinel.read_text().split("\n")[:-1] if self.sentinel.exists() else []

    def stderr_text(self) -> str:
        return self.stderr.read_text(errors="replace") if self.stderr.exists() else ""


def events_named(events: list[dict], name: str) -> list[dict]:
    return [e for e in events if e.get("event") == name]


class AvenorProcess:
    """A running `avenor` started with Popen; stderr goes to files.stderr."""

    def __init__(self, avenor: str, args: list[str], env: dict, files: RunFiles,
                 cwd: str | Path | None = None):
        self.files = files
        self._stderr = open(files.stderr, "wb")
        self.proc = subprocess.Popen([avenor, *args], env=env, cwd=cwd,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr)

    def wait(self, timeout: float = 120.0) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"avenor did not exit within {timeout} s; stderr:\n"
                                 f"{self.files.stderr_text()[-3000:]}")
        finally:
            self._stderr.close()
        out = self.proc.stdout.read()
        self.proc.stdout.close()
        assert out == b"", f"avenor run wrote to stdout: {out[:200]!r}"
        return rc

    def wait_for_file(self, path: Path, timeout: float = 60.0) -> None:
        """Bounded poll until `path` exists (or avenor exits, which fails)."""
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"avenor exited ({self.proc.returncode}) before {path} "
                                     f"appeared; stderr:\n{self.files.stderr_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} did not appear within {timeout} s")
            time.sleep(0.05)

    def wait_for_event(self, predicate, timeout: float = 60.0) -> dict:
        """Bounded poll of the event log until an event matches."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.files.read_events_safe():
                if predicate(e):
                    return e
            if self.proc.poll() is not None:
                raise AssertionError(f"avenor exited ({self.proc.returncode}) before the "
                                     f"expected event; stderr:\n{self.files.stderr_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"expected event not logged within {timeout} s")
            time.sleep(0.05)

    def signal(self, sig) -> None:
        self.proc.send_signal(sig)


def run_avenor(avenor: str, args: list[str], env: dict | None = None, files: RunFiles | None = None,
               cwd: str | Path | None = None, timeout: float = 120.0) -> int:
    """Runs avenor to completion and returns its exit code."""
    assert files is not None
    p = AvenorProcess(avenor, args, env if env is not None else dict(os.environ), files, cwd)
    return p.wait(timeout)


def standard_run_args(files: RunFiles, *extra: str) -> list[str]:
    return ["run", "--on-event", str(files.events), "--sentinel-file", str(files.sentinel), *extra]


def assert_log_well_formed(events: list[dict], run_id: str | None = None) -> None:
    """Envelope rules every log must keep (events.md §2)."""
    assert events, "event log is empty"
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"seq not increasing: {seqs}"
    assert seqs[0] == 1
    for e in events:
        assert isinstance(e.get("event"), str)
        assert isinstance(e.get("ts"), int)
        if run_id is not None:
            assert e.get("run_id") == run_id
