"""`avenor plugins` and `avenor doctor` (cli.md §10, §11).

PATH is always a directory the test controls, so `cli=` and the doctor checks do not depend on
what the machine has installed. AVENOR_PLUGIN_PATH adds broken plugins for the error cases.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from avenor_cli import RunFiles, events_named, run_avenor, standard_run_args
from fake_agent import agent_env, fake_cli_dir

ACP_BACKENDS = {"opencode-acp": "opencode", "gemini-acp": "gemini", "cursor-acp": "agent"}


def repo_root() -> Path:
    env = os.environ.get("AVENOR_REPO")
    return Path(env) if env else Path(__file__).resolve().parents[2]


@pytest.fixture
def bin_dir(tmp_path) -> Path:
    d = tmp_path / "bin"
    d.mkdir()
    return d


@pytest.fixture
def env(bin_dir) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items()
         if k not in ("AVENOR_PLUGIN_PATH", "AVENOR_OPENCODE_URL", "AVENOR_CLAUDE_TERMINAL")}
    e["PATH"] = str(bin_dir)
    return e


def avenor_cmd(avenor, args, env, timeout=30):
    return subprocess.run([avenor, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def plain_rows(stdout: str) -> dict[str, list[str]]:
    rows = {}
    for line in stdout.splitlines():
        cols = line.split("\t")
        assert len(cols) == 5, f"expected 5 tab-separated columns: {line!r}"
        rows[cols[0]] = cols
    return rows


# ---------------------------------------------------------------------------------------------
# avenor plugins
# ---------------------------------------------------------------------------------------------

def test_plugins_plain_cli_missing(avenor, env):
    r = avenor_cmd(avenor, ["plugins"], env)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    rows = plain_rows(r.stdout)
    for name in ACP_BACKENDS:
        assert name in rows, f"{name} not listed:\n{r.stdout}"
        _, version, abi, path, cli = rows[name]
        assert version != ""
        assert abi == "abi=1.2"
        assert os.path.isabs(path) and path.endswith(".so") and Path(path).is_file()
        assert cli == "cli=missing"


def test_plugins_plain_cli_resolved(avenor, env, bin_dir):
    opencode = script(bin_dir / "opencode", "exit 0")
    gemini = bin_dir / "gemini"
    gemini.write_text("not executable\n")  # not executable: not a hit on PATH
    gemini.chmod(0o644)
    r = avenor_cmd(avenor, ["plugins"], env)
    assert r.returncode == 0, r.stderr
    rows = plain_rows(r.stdout)
    assert rows["opencode-acp"][4] == f"cli={opencode}"
    assert rows["cursor-acp"][4] == "cli=missing"
    if os.geteuid() != 0:
        assert rows["gemini-acp"][4] == "cli=missing"


def test_plugins_cli_searches_path_in_order(avenor, env, tmp_path, bin_dir):
    second = tmp_path / "bin2"
    second.mkdir()
    script(second / "agent", "exit 0")
    first_agent = script(bin_dir / "agent", "exit 0")
    env = {**env, "PATH": f"{tmp_path / 'nope'}:{bin_dir}:{second}"}
    rows = plain_rows(avenor_cmd(avenor, ["plugins"], env).stdout)
    assert rows["cursor-acp"][4] == f"cli={first_agent}"


def test_plugins_json(avenor, env, bin_dir):
    agent = script(bin_dir / "agent", "exit 0")
    r = avenor_cmd(avenor, ["plugins", "--format", "json"], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("\n") and r.stdout.count("\n") == 1
    rows = json.loads(r.stdout)
    assert isinstance(rows, list)
    by_name = {row["name"]: row for row in rows}
    for name, cli in ACP_BACKENDS.items():
        row = by_name[name]
        assert set(row) == {"name", "version", "abi_version", "path", "cli", "cli_path",
                            "cli_found"}, row
        assert row["abi_version"] == "1.2"
        assert row["cli"] == cli
        assert isinstance(row["cli_found"], bool)
        assert row["path"].endswith(".so") and os.path.isabs(row["path"])
    assert by_name["cursor-acp"]["cli_found"] is True
    assert by_name["cursor-acp"]["cli_path"] == str(agent)
    assert by_name["opencode-acp"]["cli_found"] is False
    assert by_name["opencode-acp"]["cli_path"] == ""
    # plain and json agree
    plain = plain_rows(avenor_cmd(avenor, ["plugins"], env).stdout)
    for name, row in by_name.items():
        assert plain[name][1] == row["version"] and plain[name][3] == row["path"]


@pytest.mark.parametrize("args", [["--format", "xml"], ["--bogus"], ["stray"]])
def test_plugins_usage_errors(avenor, env, args):
    r = avenor_cmd(avenor, ["plugins", *args], env)
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("avenor plugins: "), r.stderr
    assert lines[1] == "run 'avenor plugins --help' for usage"


@pytest.mark.parametrize("command", ["plugins", "doctor"])
def test_help_is_usage_on_stdout(avenor, env, command):
    r = avenor_cmd(avenor, [command, "--help"], env)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith(f"Usage: avenor {command}")


def test_plugins_report_the_avenor_version(avenor, env):
    # issue 13: one version everywhere (CMake's project version), never "dev"
    version = avenor_cmd(avenor, ["--version"], env).stdout.strip().removeprefix("avenor v")
    assert version and version != "dev"
    rows = [line.split("\t") for line in avenor_cmd(avenor, ["plugins"], env).stdout.splitlines()]
    assert rows and {row[1] for row in rows} == {version}, rows


# -- broken plugins ---------------------------------------------------------------------------

ABI2_SOURCE = r"""
#include <avenor/abi/plugin_abi.h>
static const avenor_plugin_descriptor descriptor = {
    2u, 0u, sizeof(avenor_plugin_descriptor), "future-plugin", "9.9.9", 0, 0, 0};
const avenor_plugin_descriptor *avenor_plugin_entry(void) { return &descriptor; }
"""

NO_ENTRY_SOURCE = "int some_other_symbol(void) { return 42; }\n"


def compile_plugin(tmp_path: Path, source: str, out: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.fail("no C compiler on PATH to build the test plugin")
    src = tmp_path / (out.stem + ".c")
    src.write_text(source)
    include = repo_root() / "sdk" / "include"
    assert (include / "avenor" / "abi" / "plugin_abi.h").is_file(), include
    r = subprocess.run([cc, "-shared", "-fPIC", "-I", str(include), "-o", str(out), str(src)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.fixture
def broken_plugin_dir(tmp_path) -> Path:
    d = tmp_path / "plugins"
    d.mkdir()
    (d / "broken.so").write_text("this is not a shared library\n")
    compile_plugin(tmp_path, ABI2_SOURCE, d / "abi2.so")
    compile_plugin(tmp_path, NO_ENTRY_SOURCE, d / "noentry.so")
    (d / "README.txt").write_text("not a plugin, not looked at\n")
    return d


def test_plugins_broken_dir(avenor, env, broken_plugin_dir):
    env = {**env, "AVENOR_PLUGIN_PATH": str(broken_plugin_dir)}
    r = avenor_cmd(avenor, ["plugins"], env)
    assert r.returncode == 1
    errors = r.stderr.splitlines()
    broken, abi2, noentry = (broken_plugin_dir / n for n in ("broken.so", "abi2.so", "noentry.so"))
    assert any(line.startswith(f"avenor plugins: {broken}: ") for line in errors), r.stderr
    abi_line = next((line for line in errors if line.startswith(f"avenor plugins: {abi2}: ")), None)
    assert abi_line is not None, r.stderr
    assert "incompatible plugin ABI 2" in abi_line
    assert any(line.startswith(f"avenor plugins: {noentry}: ") for line in errors), r.stderr
    assert "README" not in r.stderr
    assert len(errors) == 3, r.stderr
    # the good backends are still listed
    rows = plain_rows(r.stdout)
    for name in ACP_BACKENDS:
        assert rows[name][2] == "abi=1.2"
    assert "future-plugin" not in r.stdout


def test_plugins_broken_dir_json(avenor, env, broken_plugin_dir):
    env = {**env, "AVENOR_PLUGIN_PATH": str(broken_plugin_dir)}
    r = avenor_cmd(avenor, ["plugins", "--format", "json"], env)
    assert r.returncode == 1
    assert "incompatible plugin ABI 2" in r.stderr
    names = {row["name"] for row in json.loads(r.stdout)}
    assert set(ACP_BACKENDS) <= names


def test_good_backends_still_run_with_broken_plugins(avenor, fake_agent, tmp_path, broken_plugin_dir):
    env = {k: v for k, v in os.environ.items() if k != "AVENOR_OPENCODE_URL"}
    env.update(agent_env(tmp_path, {"turns": [[{"chunk": "still works"}]]})[0])
    env["PATH"] = f"{fake_cli_dir(tmp_path, binary=fake_agent)}{os.pathsep}{env.get('PATH', '')}"
    env["AVENOR_PLUGIN_PATH"] = str(broken_plugin_dir)
    files = RunFiles(tmp_path / "run")
    work = tmp_path / "work"
    work.mkdir()
    rc = run_avenor(avenor, standard_run_args(files, "--prompt", "p", "--run-id", "r1"), env,
                    files, cwd=work, timeout=30)
    assert rc == 0, files.stderr_text()
    end = events_named(files.read_events(), "session.end")
    assert end and end[-1]["final_output"] == "still works"
    assert files.sentinel_lines()[0] == "DONE"


def test_unknown_backend_with_broken_plugin_reports_why(avenor, env, broken_plugin_dir, tmp_path):
    env = {**env, "AVENOR_PLUGIN_PATH": str(broken_plugin_dir)}
    r = avenor_cmd(avenor, ["run", "--backend", "future-plugin", "--prompt", "p"], env)
    assert r.returncode == 1
    assert 'avenor: unknown backend "future-plugin"' in r.stderr


# ---------------------------------------------------------------------------------------------
# avenor doctor
# ---------------------------------------------------------------------------------------------

def doctor_lines(stdout: str) -> tuple[list[str], str]:
    lines = stdout.splitlines()
    assert lines, "doctor printed nothing"
    checks, summary = lines[:-1], lines[-1]
    for line in checks:
        assert line.startswith(("ok ", "missing ")), f"not a check line: {line!r}"
    assert not summary.startswith(("ok ", "missing ")), f"no summary line: {stdout}"
    return checks, summary


def test_doctor_all_missing(avenor, env):
    r = avenor_cmd(avenor, ["doctor"], env)
    assert r.returncode == 1
    checks, summary = doctor_lines(r.stdout)
    for name in ACP_BACKENDS:
        assert any(line.startswith(f"missing {name}: ") for line in checks), r.stdout
        assert name in summary
    assert not any(line.startswith("ok ") for line in checks)


def test_doctor_one_backend_ok(avenor, env, bin_dir):
    script(bin_dir / "opencode", 'if [ "$1" = "--version" ]; then echo "9.8.7-fake"; exit 0; fi\nexit 3')
    r = avenor_cmd(avenor, ["doctor", "--backend", "opencode-acp"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    checks, summary = doctor_lines(r.stdout)
    assert len(checks) >= 2, r.stdout
    assert all(line.startswith("ok opencode-acp: ") for line in checks), r.stdout
    assert any("9.8.7-fake" in line for line in checks), "the version is reported"
    assert "missing" not in summary.replace("nothing missing", "")
    assert "gemini" not in r.stdout and "cursor" not in r.stdout


def test_doctor_one_backend_missing(avenor, env):
    r = avenor_cmd(avenor, ["doctor", "--backend", "cursor-acp"], env)
    assert r.returncode == 1
    checks, summary = doctor_lines(r.stdout)
    assert any(line.startswith("missing cursor-acp: ") and "agent" in line for line in checks)
    assert "cursor-acp" in summary
    assert "opencode" not in r.stdout


def test_doctor_version_failure_is_missing(avenor, env, bin_dir):
    script(bin_dir / "gemini", "echo broken >&2; exit 1")
    r = avenor_cmd(avenor, ["doctor", "--backend", "gemini-acp"], env)
    assert r.returncode == 1
    checks, summary = doctor_lines(r.stdout)
    assert any(line.startswith("ok gemini-acp: ") for line in checks)  # on PATH
    assert any(line.startswith("missing gemini-acp: ") and "--version" in line for line in checks)
    assert "gemini-acp" in summary


def test_doctor_mixed(avenor, env, bin_dir):
    for name in ACP_BACKENDS.values():
        script(bin_dir / name, f'echo "{name} 1.0.0"')
    r = avenor_cmd(avenor, ["doctor"], env)
    checks, summary = doctor_lines(r.stdout)
    for name in ACP_BACKENDS:
        assert any(line.startswith(f"ok {name}: ") for line in checks)
        assert not any(line.startswith(f"missing {name}: ") for line in checks), r.stdout
        assert name not in summary
    # whatever else is missing decides the exit code
    assert r.returncode == (1 if any(line.startswith("missing ") for line in checks) else 0)


@pytest.mark.parametrize("args", [["--backend", "bogus"], ["--bogus"], ["stray"]])
def test_doctor_usage_errors(avenor, env, args):
    r = avenor_cmd(avenor, ["doctor", *args], env)
    assert r.returncode == 1
    assert r.stderr != ""
