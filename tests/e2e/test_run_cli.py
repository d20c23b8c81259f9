"""`avenor` dispatch and `avenor run` flag parsing and validation, without a backend process.

Specs: cli.md §1 (dispatch), §2 (flag syntax), §3.2 (validation order and messages), §3.3
(startup), §3.11 (sentinel). No test here may start an agent: PATH holds only an empty
directory, so a run that got as far as launching a backend would fail differently.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

RUN_ID = "run-cli-1"


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items()
         if k not in ("AVENOR_OPENCODE_URL", "AVENOR_PLUGIN_PATH")}
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    e["PATH"] = str(empty)
    return e


def avenor_cmd(avenor: str, args: list[str], env: dict, cwd: Path, timeout: float = 20):
    return subprocess.run([avenor, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def sentinel_lines(path: Path) -> list[str]:
    assert path.exists(), f"no sentinel at {path}"
    text = path.read_text()
    assert text.endswith("\n")
    return text.split("\n")[:-1]


FAILED_1 = ["FAILED", "SESSION=", "STOP_REASON=exit_1", "EXIT_CODE=1", f"RUN={RUN_ID}"]


# ---------------------------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------------------------

def project_version() -> str:
    cmake = (Path(__file__).resolve().parents[2] / "CMakeLists.txt").read_text()
    return re.search(r"project\(avenor VERSION (\d+\.\d+\.\d+)", cmake).group(1)


@pytest.mark.parametrize("flag", ["--version", "-v", "version"])
def test_version(avenor, env, tmp_path, flag):
    # the CMake project version, never "vdev" (issue 13)
    r = avenor_cmd(avenor, [flag], env, tmp_path)
    assert r.returncode == 0
    assert r.stdout == f"avenor v{project_version()}\n"
    assert r.stderr == ""


def test_no_arguments_lists_the_commands(avenor, env, tmp_path):
    # issue 13: bare `avenor` prints the command list (stdout, exit 0) instead of running
    r = avenor_cmd(avenor, [], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.startswith("Usage: avenor <command> [flags]\n")
    assert "\n  run  " in r.stdout and "\n  watch  " in r.stdout


def test_default_command_is_run(avenor, env, tmp_path):
    s1, s2 = tmp_path / "a.done", tmp_path / "b.done"
    implicit = avenor_cmd(avenor, ["--backend", "bogus", "--sentinel-file", str(s1),
                                   "--run-id", RUN_ID], env, tmp_path)
    explicit = avenor_cmd(avenor, ["run", "--backend", "bogus", "--sentinel-file", str(s2),
                                   "--run-id", RUN_ID], env, tmp_path)
    assert implicit.returncode == explicit.returncode == 1
    assert 'avenor: unknown backend "bogus"' in implicit.stderr
    assert implicit.stderr == explicit.stderr
    assert sentinel_lines(s1) == sentinel_lines(s2) == FAILED_1


# ---------------------------------------------------------------------------------------------
# Validation order and messages (§3.2): each writes a FAILED sentinel and exits 1
# ---------------------------------------------------------------------------------------------

VALIDATION_CASES = [
    # backend is checked before the prompt
    (["--backend", "bogus"], 'avenor: unknown backend "bogus"'),
    (["--backend", "bogus", "--prompt", "a", "--prompt-file", "b"], 'avenor: unknown backend "bogus"'),
    (["--prompt", "a", "--prompt-file", "b"], "avenor: --prompt and --prompt-file are mutually exclusive"),
    (["--loop-file", "l.yaml", "--resume", "ses_1"],
     "avenor: --loop-file and --resume are mutually exclusive"),
    # exclusions before presence and thinking
    (["--prompt", "a", "--prompt-file", "b", "--thinking", "bogus"],
     "avenor: --prompt and --prompt-file are mutually exclusive"),
    ([], "avenor: --prompt, --prompt-file, or --loop-file is required"),
    (["--thinking", "bogus"], "avenor: --prompt, --prompt-file, or --loop-file is required"),
    (["--prompt", "p", "--thinking", "bogus"], 'avenor: invalid --thinking "bogus"'),
    (["--prompt", "p", "--thinking", "HIGH"], 'avenor: invalid --thinking "HIGH"'),
    (["--prompt", "p", "--thinking", " high"], 'avenor: invalid --thinking " high"'),
    (["--prompt", "p", "--thinking", "high"],
     'avenor: backend "opencode-acp" does not support parameter "thinking"'),
    (["--prompt", "p", "--thinking", "minimal"],
     'avenor: backend "opencode-acp" does not support parameter "thinking"'),
    (["--prompt", "p", "--backend", "gemini-acp", "--thinking", "low"],
     'avenor: backend "gemini-acp" does not support parameter "thinking"'),
    (["--prompt", "p", "--backend", "cursor-acp", "--thinking", "off"],
     'avenor: backend "cursor-acp" does not support parameter "thinking"'),
]


@pytest.mark.parametrize("args,message", VALIDATION_CASES,
                         ids=[" ".join(a) or "nothing" for a, _ in VALIDATION_CASES])
def test_validation_errors(avenor, env, tmp_path, args, message):
    sentinel = tmp_path / "run.done"
    events = tmp_path / "ev.ndjson"
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--on-event", str(events),
                            "--run-id", RUN_ID, *args], env, tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    # the spec's text, possibly followed by a hint in parentheses (issue 13)
    lines = [line for line in r.stderr.splitlines() if line.startswith("avenor: ")]
    assert any(line == message or line.startswith(message + " (") for line in lines), r.stderr
    assert sentinel_lines(sentinel) == FAILED_1
    # (new) the log is created anyway and ends with this run's session.end, so a stale log
    # never passes for this run's end
    logged = [json.loads(line) for line in events.read_text().splitlines()]
    assert [(e["event"], e["stop_reason"], e["exit_code"], e["run_id"]) for e in logged] == [
        ("session.end", "error", 1, RUN_ID)]
    assert f"avenor: {logged[0]['error']}" in lines
    # validation leaves no permission request behind
    assert not (tmp_path / "run.perm.req").exists()


def test_validation_without_sentinel_writes_nothing(avenor, env, tmp_path):
    r = avenor_cmd(avenor, ["run", "--backend", "bogus"], env, tmp_path)
    assert r.returncode == 1
    assert 'avenor: unknown backend "bogus"' in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty-bin"]


def test_sentinel_is_written_atomically_without_leftovers(avenor, env, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    sentinel = out / "run.done"
    sentinel.write_text("STALE\n")
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--run-id", RUN_ID,
                            "--backend", "bogus"], env, tmp_path)
    assert r.returncode == 1
    assert sentinel_lines(sentinel) == FAILED_1
    assert [p.name for p in out.iterdir()] == ["run.done"], "temp file left behind"


def test_sentinel_write_failure_keeps_exit_code(avenor, env, tmp_path):
    sentinel = tmp_path / "missing-dir" / "run.done"
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--backend", "bogus"],
                   env, tmp_path)
    assert r.returncode == 1
    assert 'avenor: unknown backend "bogus"' in r.stderr
    assert not sentinel.exists()
    assert not sentinel.parent.exists()


# ---------------------------------------------------------------------------------------------
# Flag syntax (§2)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [["--no-such-flag"], ["--no-such-flag", "x"],
                                 ["--timeout", "forever"], ["--max-retries", "many"],
                                 ["--auto-approve=maybe"], ["--prompt"]],
                         ids=["unknown", "unknown-with-value", "bad-duration", "bad-int",
                              "bad-bool", "missing-value"])
def test_flag_parse_error_is_short_and_writes_no_sentinel(avenor, env, tmp_path, bad):
    sentinel = tmp_path / "run.done"
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--run-id", RUN_ID, *bad],
                   env, tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    # the error line and one hint, not the whole usage (issue 13)
    lines = r.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("avenor: "), r.stderr
    assert lines[1] == "run 'avenor run --help' for usage"
    assert not sentinel.exists(), "a flag parse error must not write a sentinel"


@pytest.mark.parametrize("flag", ["-h", "--help", "-help"])
def test_help_is_usage_on_stdout(avenor, env, tmp_path, flag):
    r = avenor_cmd(avenor, ["run", flag], env, tmp_path)
    assert r.returncode == 0
    assert r.stderr == ""
    assert r.stdout.startswith("Usage: avenor [run] [flags]\n") and "-prompt" in r.stdout


def test_help_without_run_word_lists_the_commands(avenor, env, tmp_path):
    r = avenor_cmd(avenor, ["-h"], env, tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("Usage: avenor <command> [flags]\n")


def test_one_dash_equals_two_dashes(avenor, env, tmp_path):
    sentinel = tmp_path / "run.done"
    r = avenor_cmd(avenor, ["run", "-sentinel-file", str(sentinel), "-run-id", RUN_ID,
                            "-backend", "bogus", "-prompt", "p"], env, tmp_path)
    assert r.returncode == 1
    assert 'avenor: unknown backend "bogus"' in r.stderr
    assert sentinel_lines(sentinel) == FAILED_1


def test_equals_form(avenor, env, tmp_path):
    sentinel = tmp_path / "run.done"
    r = avenor_cmd(avenor, ["run", f"--sentinel-file={sentinel}", f"--run-id={RUN_ID}",
                            "--backend=bogus", "-prompt=p"], env, tmp_path)
    assert r.returncode == 1
    assert 'avenor: unknown backend "bogus"' in r.stderr
    assert sentinel_lines(sentinel) == FAILED_1


def test_equals_form_keeps_later_equals_signs(avenor, env, tmp_path):
    sentinel = tmp_path / "run.done"
    r = avenor_cmd(avenor, ["run", f"--sentinel-file={sentinel}", "--run-id=a=b",
                            "--backend=x=y"], env, tmp_path)
    assert r.returncode == 1
    assert 'avenor: unknown backend "x=y"' in r.stderr
    assert sentinel_lines(sentinel)[-1] == "RUN=a=b"


@pytest.mark.parametrize("value", ["false", "0", "FALSE", "f"])
def test_bool_flag_false_in_equals_form(avenor, env, tmp_path, value):
    sentinel = tmp_path / "run.done"
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--run-id", RUN_ID,
                            f"--auto-approve={value}", "--backend", "bogus", "--prompt", "p"],
                   env, tmp_path)
    assert r.returncode == 1
    assert 'avenor: unknown backend "bogus"' in r.stderr, r.stderr
    assert sentinel_lines(sentinel) == FAILED_1


def test_bool_flag_takes_no_separate_value(avenor, env, tmp_path):
    # `--auto-approve false`: "false" is a stray word. D13: an error naming it, with the
    # `=` form as the fix, never a run with --backend/--prompt dropped; no sentinel.
    sentinel = tmp_path / "run.done"
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--run-id", RUN_ID,
                            "--auto-approve", "false", "--backend", "bogus", "--prompt", "p"],
                   env, tmp_path)
    assert r.returncode == 1
    assert r.stderr == ('avenor: unexpected argument "false" (--auto-approve takes no separate '
                        "value; write --auto-approve=true or --auto-approve=false)\n"
                        "run 'avenor run --help' for usage\n"), r.stderr
    assert not sentinel.exists()


def test_stray_positional_is_an_error(avenor, env, tmp_path):
    sentinel = tmp_path / "run.done"
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--run-id", RUN_ID,
                            "positional", "--backend", "bogus", "--no-such-flag"], env, tmp_path)
    assert r.returncode == 1
    assert r.stderr == ('avenor: unexpected argument "positional" (flags start with --; quote a '
                        "prompt that has spaces)\nrun 'avenor run --help' for usage\n"), r.stderr
    assert not sentinel.exists()


def test_double_dash_leaves_only_strays(avenor, env, tmp_path):
    sentinel = tmp_path / "run.done"
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--run-id", RUN_ID,
                            "--", "--backend", "bogus"], env, tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith('avenor: unexpected argument "--backend" '), r.stderr


# ---------------------------------------------------------------------------------------------
# Handler syntax and control server start (§3.3)
# ---------------------------------------------------------------------------------------------

def test_control_server_start_failure(avenor, env, tmp_path):
    sentinel = tmp_path / "run.done"
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--run-id", RUN_ID,
                            "--prompt", "p", "--control-socket", str(blocker / "ctl.sock")],
                   env, tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("avenor: start control server: "), r.stderr
    assert len(r.stderr.splitlines()) == 1
    assert sentinel_lines(sentinel)[0] == "FAILED"


@pytest.mark.parametrize("handler", ["bogus", "file:", "file", "exec:foo", "FILE:/tmp/x"])
def test_permission_handler_syntax(avenor, env, tmp_path, handler):
    sentinel = tmp_path / "run.done"
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--run-id", RUN_ID,
                            "--prompt", "p", "--permission-handler", handler], env, tmp_path)
    assert r.returncode == 1
    assert "avenor: --permission-handler supports file:<path> only\n" in r.stderr, r.stderr
    assert sentinel_lines(sentinel) == FAILED_1


# ---------------------------------------------------------------------------------------------
# Sentinel contents
# ---------------------------------------------------------------------------------------------

def test_sentinel_run_id_cannot_inject_lines(avenor, env, tmp_path):
    sentinel = tmp_path / "run.done"
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--run-id", "a\nFAILED\rX",
                            "--backend", "bogus"], env, tmp_path)
    assert r.returncode == 1
    assert sentinel_lines(sentinel) == ["FAILED", "SESSION=", "STOP_REASON=exit_1", "EXIT_CODE=1",
                                        "RUN=a FAILED X"]


def test_label_never_in_sentinel(avenor, env, tmp_path):
    sentinel = tmp_path / "run.done"
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--run-id", RUN_ID,
                            "--label", "LABEL-XYZ", "--backend", "bogus"], env, tmp_path)
    assert r.returncode == 1
    assert "LABEL-XYZ" not in sentinel.read_text()


def test_generated_run_ids(avenor, env, tmp_path):
    ids = []
    for i in range(2):
        sentinel = tmp_path / f"run{i}.done"
        r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--backend", "bogus"],
                       env, tmp_path)
        assert r.returncode == 1
        lines = sentinel_lines(sentinel)
        assert lines[:4] == ["FAILED", "SESSION=", "STOP_REASON=exit_1", "EXIT_CODE=1"]
        assert len(lines) == 5 and lines[4].startswith("RUN=")
        ids.append(lines[4][4:])
    for run_id in ids:
        assert re.fullmatch(r"[0-9a-f]{16}", run_id), run_id
    assert ids[0] != ids[1]


# ---------------------------------------------------------------------------------------------
# Pre-run cleanup (§3.3 step 4) — observed through a failure after the cleanup step
# (an unreadable --prompt-file, step 5), so no backend starts.
# ---------------------------------------------------------------------------------------------

def make_stale(*paths: Path) -> None:
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("stale\n")


def test_cleanup_derived_perm_files(avenor, env, tmp_path):
    sentinel = tmp_path / "run.done"
    req, resp = tmp_path / "run.perm.req", tmp_path / "run.perm.req.response"
    make_stale(sentinel, req, resp)
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--run-id", RUN_ID,
                            "--prompt-file", str(tmp_path / "missing.txt")], env, tmp_path)
    assert r.returncode == 1
    assert "avenor: read prompt file: " in r.stderr
    assert not req.exists() and not resp.exists()
    assert sentinel_lines(sentinel) == FAILED_1


@pytest.mark.parametrize("name,base", [("x", "x.perm"), ("a.done.done", "a.done.perm"),
                                       ("status.txt", "status.txt.perm")])
def test_cleanup_derived_base_names(avenor, env, tmp_path, name, base):
    sentinel = tmp_path / name
    req, resp = tmp_path / f"{base}.req", tmp_path / f"{base}.req.response"
    make_stale(req, resp)
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel),
                            "--prompt-file", str(tmp_path / "missing.txt")], env, tmp_path)
    assert r.returncode == 1
    assert not req.exists() and not resp.exists()


def test_cleanup_derived_even_with_auto_approve(avenor, env, tmp_path):
    sentinel = tmp_path / "run.done"
    req, resp = tmp_path / "run.perm.req", tmp_path / "run.perm.req.response"
    make_stale(req, resp)
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--auto-approve",
                            "--prompt-file", str(tmp_path / "missing.txt")], env, tmp_path)
    assert r.returncode == 1
    assert not req.exists() and not resp.exists()


def test_cleanup_explicit_perm_base(avenor, env, tmp_path):
    sentinel = tmp_path / "run.done"
    base = tmp_path / "answers" / "p"
    req, resp = Path(f"{base}.req"), Path(f"{base}.req.response")
    derived_req = tmp_path / "run.perm.req"
    make_stale(req, resp, derived_req)
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--permission-handler",
                            f"file:{base}", "--prompt-file", str(tmp_path / "missing.txt")],
                   env, tmp_path)
    assert r.returncode == 1
    assert not req.exists() and not resp.exists()
    # the perm base is the explicit one; the derived name is not touched
    assert derived_req.exists()


def test_no_cleanup_without_sentinel(avenor, env, tmp_path):
    base = tmp_path / "p"
    req = Path(f"{base}.req")
    make_stale(req)
    r = avenor_cmd(avenor, ["run", "--permission-handler", f"file:{base}",
                            "--prompt-file", str(tmp_path / "missing.txt")], env, tmp_path)
    assert r.returncode == 1
    assert req.exists()


def test_no_cleanup_on_validation_error(avenor, env, tmp_path):
    # validation (§3.2) runs before the cleanup step (§3.3 step 4)
    sentinel = tmp_path / "run.done"
    req = tmp_path / "run.perm.req"
    make_stale(req)
    r = avenor_cmd(avenor, ["run", "--sentinel-file", str(sentinel), "--backend", "bogus"],
                   env, tmp_path)
    assert r.returncode == 1
    assert req.exists()


def test_event_log_truncated_on_open_failure_path(avenor, env, tmp_path):
    """--on-event is created even when a later startup step fails."""
    events = tmp_path / "ev.ndjson"
    events.write_text('{"event":"old"}\n')
    r = avenor_cmd(avenor, ["run", "--on-event", str(events), "--prompt", "p",
                            "--permission-handler", "bogus"], env, tmp_path)
    assert r.returncode == 1
    # truncated, then ended with the failure (new)
    logged = [json.loads(line) for line in events.read_text().splitlines()]
    assert [(e["event"], e["stop_reason"]) for e in logged] == [("session.end", "error")]
    assert logged[0]["error"].startswith("--permission-handler")


# ---------------------------------------------------------------------------------------------
# stdout stays empty
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["run"],
    ["run", "--backend", "bogus"],
    ["run", "--no-such-flag"],
    ["run", "stray"],
    ["run", "--prompt", "p", "--thinking", "high"],
    ["run", "--prompt-file", "/nonexistent/prompt"],
])
def test_run_writes_nothing_to_stdout(avenor, env, tmp_path, args):
    r = avenor_cmd(avenor, args, env, tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr != ""
