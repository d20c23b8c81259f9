"""What `avenor run` loads at start (issue 15, start-to-exit overhead).

Every plugin is a dlopen, so `run` loads `<backend>.so` first in each plugin folder and stops at
the plugin that provides the backend; `avenor plugins` still loads them all. Which files were
loaded is read from the dynamic loader's own trace (LD_DEBUG=files), one file per process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from avenor_cli import RunFiles, events_named, run_avenor, standard_run_args
from fake_agent import agent_env, fake_cli_dir

LOADED = re.compile(r"file=(\S+)\s+\[\d+\];\s+dynamically loaded by")


def build_plugin(name: str) -> Path:
    d = os.environ.get("AVENOR_PLUGIN_DIR") or os.path.join(
        os.environ.get("AVENOR_BUILD_DIR", ""), "plugins")
    path = Path(d) / f"{name}.so"
    if not path.is_file():
        pytest.fail(f"built plugin not found: {path} (set AVENOR_PLUGIN_DIR)")
    return path


def plugin_folder(root: Path, files: dict[str, str]) -> Path:
    """A plugin folder: {file name in the folder: built plugin it is a copy of}."""
    root.mkdir(parents=True)
    for target, source in files.items():
        shutil.copyfile(build_plugin(source), root / target)
    return root


def traced_env(tmp_path: Path, plugin_path: str) -> tuple[dict[str, str], Path]:
    trace = tmp_path / "ld"
    trace.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "AVENOR_OPENCODE_URL"}
    env.update(agent_env(tmp_path, {"turns": [[{"chunk": "started"}]]}, record=False)[0])
    env["PATH"] = f"{fake_cli_dir(tmp_path)}{os.pathsep}{env.get('PATH', '')}"
    env["AVENOR_PLUGIN_PATH"] = plugin_path
    env["LD_DEBUG"] = "files"
    env["LD_DEBUG_OUTPUT"] = str(trace / "trace")  # the loader appends .<pid>
    return env, trace


def loaded_from(trace: Path, folders: list[Path]) -> set[Path]:
    """Files under `folders` that any traced process dlopened."""
    loaded = set()
    for f in trace.iterdir():
        for m in LOADED.finditer(f.read_text(errors="replace")):
            p = Path(m.group(1))
            if p.parent in folders:
                loaded.add(p)
    return loaded


def run_default_backend(avenor: str, tmp_path: Path, env: dict[str, str]) -> None:
    files = RunFiles(tmp_path / "run")
    work = tmp_path / "work"
    work.mkdir()
    rc = run_avenor(avenor, standard_run_args(files, "--prompt", "p"), env, files, cwd=work,
                    timeout=60)
    assert rc == 0, files.stderr_text()
    end = events_named(files.read_events(), "session.end")
    assert end and end[-1]["final_output"] == "started", files.stderr_text()


def test_run_loads_only_the_backends_plugin(avenor, tmp_path):
    # The other plugins sort before opencode-acp.so, so a full scan would load them first.
    folder = plugin_folder(tmp_path / "plugins", {
        "claude-channel.so": "claude-channel", "cursor-acp.so": "cursor-acp",
        "gemini-acp.so": "gemini-acp", "opencode-acp.so": "opencode-acp"})
    env, trace = traced_env(tmp_path, str(folder))
    run_default_backend(avenor, tmp_path, env)
    assert loaded_from(trace, [folder]) == {folder / "opencode-acp.so"}


def test_plugins_still_loads_every_plugin(avenor, tmp_path):
    # The same trace shows the whole folder for `plugins`: the run test above is not blind.
    names = ["claude-channel", "cursor-acp", "gemini-acp", "opencode-acp"]
    folder = plugin_folder(tmp_path / "plugins", {f"{n}.so": n for n in names})
    env, trace = traced_env(tmp_path, str(folder))
    r = subprocess.run([avenor, "plugins"], env=env, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert loaded_from(trace, [folder]) == {folder / f"{n}.so" for n in names}


def test_an_earlier_folder_still_wins(avenor, tmp_path):
    # The earlier folder provides opencode-acp under another file name: it is loaded first and
    # the later folder's opencode-acp.so is never opened.
    first = plugin_folder(tmp_path / "first", {"zz-override.so": "opencode-acp"})
    second = plugin_folder(tmp_path / "second", {"opencode-acp.so": "opencode-acp"})
    env, trace = traced_env(tmp_path, f"{first}{os.pathsep}{second}")
    run_default_backend(avenor, tmp_path, env)
    assert loaded_from(trace, [first, second]) == {first / "zz-override.so"}


def test_a_misnamed_plugin_falls_back_to_the_whole_folder(avenor, tmp_path):
    # opencode-acp.so here is really gemini-acp: loading it does not find the backend, so the
    # rest of the folder is loaded in order and a.so provides it.
    folder = plugin_folder(tmp_path / "plugins", {
        "opencode-acp.so": "gemini-acp", "a.so": "opencode-acp", "b.so": "cursor-acp"})
    env, trace = traced_env(tmp_path, str(folder))
    run_default_backend(avenor, tmp_path, env)
    assert loaded_from(trace, [folder]) == {folder / "opencode-acp.so", folder / "a.so"}
