"""One test's world for `avenor run` against the scripted fake ACP agent
(tests/fakes/fake_acp_agent): wrappers named `opencode`, `gemini` and `agent` first on PATH
(each records its pid, argv and cwd, then execs the fake), the script, the record of what avenor
sent, a work dir and the run files. The `fake` fixture (conftest.py) makes one per test."""

from __future__ import annotations

import os
import shlex
import stat
import time
from pathlib import Path

from avenor_cli import AvenorProcess, RunFiles, standard_run_args
from fake_agent import fake_agent_binary, read_record, write_script

SESSION = "ses_fake_1"
RUN_ID = "run-fake-1"

# Environment variables of the caller that would change what avenor does.
_SCRUBBED_ENV = ("AVENOR_OPENCODE_URL", "AVENOR_PLUGIN_PATH", "FAKE_ACP_SCRIPT", "FAKE_ACP_RECORD",
                 "OPENCODE_CONFIG", "OPENCODE_CONFIG_DIR")


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    return env


class FakeRun:
    """One test's world: a fake-CLI directory first on PATH, a script, a record, a work dir
    (avenor's cwd, so the default `--dir .` is this directory) and the run files."""

    def __init__(self, avenor: str, tmp_path: Path, script: dict, env_extra: dict | None = None):
        self.avenor = avenor
        self.tmp = tmp_path
        self.files = RunFiles(tmp_path / "run")
        self.work = tmp_path / "work"
        self.work.mkdir(exist_ok=True)
        self.record = tmp_path / "fake_acp_record.ndjson"
        self.record.write_text("")
        self.pid_file = tmp_path / "agent.pids"
        self.bin = tmp_path / "fake-bin"
        self.bin.mkdir(exist_ok=True)
        fake = fake_agent_binary().resolve()
        for name in ("opencode", "gemini", "agent"):
            wrapper = self.bin / name
            argv_file = tmp_path / f"argv-{name}"
            wrapper.write_text(
                "#!/bin/sh\n"
                f"echo $$ >> {shlex.quote(str(self.pid_file))}\n"
                f"for a in \"$@\"; do printf '%s\\n' \"$a\"; done > {shlex.quote(str(argv_file))}\n"
                f"pwd > {shlex.quote(str(tmp_path / f'cwd-{name}'))}\n"
                f"exec {shlex.quote(str(fake))} \"$@\"\n")
            wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        self.env = base_env()
        self.env["PATH"] = f"{self.bin}{os.pathsep}{self.env.get('PATH', '')}"
        self.env["FAKE_ACP_SCRIPT"] = str(write_script(tmp_path, script))
        self.env["FAKE_ACP_RECORD"] = str(self.record)
        if env_extra:
            self.env.update(env_extra)
        self.proc: AvenorProcess | None = None

    # -- driving avenor ----------------------------------------------------------------------
    def start(self, *extra: str, standard: bool = True) -> AvenorProcess:
        args = standard_run_args(self.files, "--run-id", RUN_ID, *extra) if standard else list(extra)
        self.proc = AvenorProcess(self.avenor, args, self.env, self.files, cwd=self.work)
        return self.proc

    def run(self, *extra: str, timeout: float = 30.0, standard: bool = True) -> int:
        return self.start(*extra, standard=standard).wait(timeout)

    # -- results -----------------------------------------------------------------------------
    def events(self) -> list[dict]:
        return self.files.read_events()

    def messages(self) -> list[dict]:
        return read_record(self.record)

    def methods(self) -> list[str]:
        return [m["method"] for m in self.messages() if "method" in m]

    def requests(self, method: str) -> list[dict]:
        return [m for m in self.messages() if m.get("method") == method]

    def responses_to(self, request_id) -> list[dict]:
        return [m for m in self.messages() if "method" not in m and m.get("id") == request_id]

    def argv(self, name: str) -> list[str]:
        path = self.tmp / f"argv-{name}"
        assert path.exists(), f"`{name}` was never launched"
        return path.read_text().splitlines()

    def launch_cwd(self, name: str) -> str:
        return (self.tmp / f"cwd-{name}").read_text().strip()

    def agent_pids(self) -> list[int]:
        if not self.pid_file.exists():
            return []
        return [int(x) for x in self.pid_file.read_text().split()]

    def stderr(self) -> str:
        return self.files.stderr_text()


def process_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def assert_process_gone(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() > deadline:
            raise AssertionError(f"agent process {pid} still alive {timeout} s after avenor exited")
        time.sleep(0.05)
