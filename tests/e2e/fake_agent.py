"""Helpers for running avenor against the scripted fake ACP agent (tests/fakes/fake_acp_agent).

The fake reads its script from FAKE_ACP_SCRIPT and appends every client message to
FAKE_ACP_RECORD. avenor's ACP plugins launch `opencode`, `gemini` or `agent` from PATH, so
`fake_cli_dir()` makes a directory of wrappers with those names that exec the fake; prepend it
to PATH and the real plugins talk to the fake. Script format: tests/fakes/README.md.

    env, record = agent_env(tmp_path, {"turns": [[{"chunk": "hi"}]]})
    env["PATH"] = f"{fake_cli_dir(tmp_path)}{os.pathsep}{os.environ['PATH']}"
    subprocess.run([avenor, ...], env={**os.environ, **env})
    assert read_record(record)[0]["method"] == "initialize"
"""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path
from typing import Any, Iterable

FAKE_CLI_NAMES = ("opencode", "gemini", "agent")


def fake_agent_binary() -> Path:
    """The fake agent executable, from AVENOR_FAKE_ACP_AGENT (set by CTest)."""
    path = os.environ.get("AVENOR_FAKE_ACP_AGENT")
    if not path:
        raise RuntimeError("AVENOR_FAKE_ACP_AGENT is not set (path of the fake_acp_agent binary)")
    binary = Path(path).resolve()
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"AVENOR_FAKE_ACP_AGENT is not executable: {binary}")
    return binary


def write_script(tmp_path: Path | str, script: dict[str, Any], name: str = "fake_acp_script.json") -> Path:
    """Writes `script` as JSON under tmp_path and returns its path."""
    path = Path(tmp_path) / name
    path.write_text(json.dumps(script, indent=2))
    return path


def agent_env(
    tmp_path: Path | str, script: dict[str, Any], record: bool = True
) -> tuple[dict[str, str], Path | None]:
    """Environment additions that point the fake at `script` (written under tmp_path).

    Returns (env additions, record path or None). The record file starts empty; the fake
    appends to it, so a second fake process (e.g. resume in a new process) adds to the same file.
    """
    env = {"FAKE_ACP_SCRIPT": str(write_script(tmp_path, script))}
    record_path = None
    if record:
        record_path = Path(tmp_path) / "fake_acp_record.ndjson"
        record_path.write_text("")
        env["FAKE_ACP_RECORD"] = str(record_path)
    return env, record_path


def read_record(path: Path | str) -> list[dict[str, Any]]:
    """Every client message the fake received, in order (an undecodable line is
    {"_invalid_json": line})."""
    text = Path(path).read_text() if Path(path).exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def recorded_methods(path: Path | str) -> list[str]:
    """The `method` of every recorded request/notification, in order (responses skipped)."""
    return [m["method"] for m in read_record(path) if "method" in m]


def fake_cli_dir(
    tmp_path: Path | str, names: Iterable[str] = FAKE_CLI_NAMES, binary: Path | str | None = None
) -> Path:
    """Creates tmp_path/fake-bin with executable wrappers (`opencode`, `gemini`, `agent`) that
    exec the fake agent with their arguments and the caller's environment.

    The fake ignores the real CLI's arguments (`acp --pure --cwd D`, `--acp`, ...), so prepend
    the returned directory to PATH and run avenor's real plugins against it.
    """
    target = Path(binary) if binary else fake_agent_binary()
    bin_dir = Path(tmp_path) / "fake-bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(str(target))} "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bin_dir


def fake_cli_env(
    tmp_path: Path | str,
    script: dict[str, Any],
    record: bool = True,
    base_env: dict[str, str] | None = None,
) -> tuple[dict[str, str], Path | None]:
    """A complete environment for avenor: base_env (default os.environ) plus the fake's script
    and record variables, with the wrapper directory first on PATH. Returns (env, record path)."""
    env = dict(os.environ if base_env is None else base_env)
    additions, record_path = agent_env(tmp_path, script, record)
    env.update(additions)
    env["PATH"] = os.pathsep.join(filter(None, [str(fake_cli_dir(tmp_path)), env.get("PATH", "")]))
    return env, record_path
