"""The command-line surface an agent meets first (issue 13, "Command lines" and parts of
"Nothing waits forever unseen"), driven through the real binary:

* help and version on stdout with exit 0 (`avenor`, `avenor help [cmd]`, `avenor <cmd> --help`,
  `--version`/`-v`/`version` = the CMake project version);
* a parse error is one error line plus one hint line, with each command's usage exit code;
* D13: flags after positionals for answer, watch, verify and control, `--` ends the flags;
  `run` rejects a stray word by name and starts nothing;
* a duration without a unit says so;
* `control --wait-socket` (new) against a run started in the background, and its timeout;
  a runtime id on a run's socket says what to do;
* `watch` ends quietly when its reader goes away (`| head`), with and without --follow;
  its plain digest of a permission.request shows what is asked, the options and the id.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from avenor_cli import RunFiles  # noqa: E402
from control_rpc import wait_until  # noqa: E402
from fake_agent import fake_cli_env  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

# cli.md §2: usage errors exit 1, except watch, answer and the claude-channel commands (2).
COMMAND_EXIT = {
    "run": 1, "answer": 2, "watch": 2, "control": 1, "stable": 1, "mcp": 1, "verify": 1,
    "plugins": 1, "doctor": 1, "claude-channel": 2, "claude-channel-cleanup": 2,
}


def project_version() -> str:
    cmake = (REPO / "CMakeLists.txt").read_text()
    return re.search(r"project\(avenor VERSION (\d+\.\d+\.\d+)", cmake).group(1)


def cli(avenor: str, *args: str, timeout: float = 30, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([avenor, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kwargs)


def prefix(command: str) -> str:
    return "avenor: " if command == "run" else f"avenor {command}: "


def hint(command: str) -> str:
    return f"run 'avenor {command} --help' for usage\n"


# --------------------------------------------------------------------------------------------
# help and version
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [[], ["help"], ["--help"], ["-h"]], ids=lambda a: " ".join(a))
def test_command_list_on_stdout(avenor, argv):
    r = cli(avenor, *argv)
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert r.stdout.startswith("Usage: avenor <command> [flags]\n")
    listed = re.findall(r"^  (\S+)\s{2,}\S", r.stdout, re.MULTILINE)
    assert set(COMMAND_EXIT) <= set(listed), listed
    assert "Run 'avenor <command> --help'" in r.stdout


@pytest.mark.parametrize("argv", [["--version"], ["-v"], ["version"]], ids=lambda a: a[0])
def test_version_is_the_cmake_project_version(avenor, argv):
    r = cli(avenor, *argv)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"avenor v{project_version()}\n", "")


@pytest.mark.parametrize("command", sorted(COMMAND_EXIT))
def test_command_help_on_stdout(avenor, command):
    via_help = cli(avenor, "help", command)
    via_flag = cli(avenor, command, "--help")
    via_h = cli(avenor, command, "-h")
    for r in (via_help, via_flag, via_h):
        assert (r.returncode, r.stderr) == (0, ""), f"{command}: {r.stderr}"
        assert r.stdout.startswith("Usage:"), r.stdout
    assert via_help.stdout == via_flag.stdout == via_h.stdout


def test_help_run_lists_the_run_flags(avenor):
    r = cli(avenor, "help", "run")
    assert r.returncode == 0
    assert r.stdout.startswith("Usage: avenor [run] [flags]\n")
    for flag in ("-prompt", "-backend", "-timeout", "-sentinel-file", "-control-socket"):
        assert f"\n  {flag} " in r.stdout, flag


@pytest.mark.parametrize("argv", [["help", "bogus"], ["bogus"], ["bogus", "--prompt", "x"]],
                         ids=lambda a: " ".join(a))
def test_unknown_command(avenor, tmp_path, argv):
    r = cli(avenor, *argv, cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == ('avenor: unknown command "bogus"\n'
                        "run 'avenor help' for the list of commands\n")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# parse errors: short, on stderr, each command's exit code
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", sorted(COMMAND_EXIT))
def test_parse_error_is_one_line_and_a_hint(avenor, tmp_path, command):
    r = cli(avenor, command, "--bogus", cwd=tmp_path)
    assert r.returncode == COMMAND_EXIT[command], r.stderr
    assert r.stdout == ""
    assert r.stderr == prefix(command) + "flag provided but not defined: -bogus\n" + hint(command)


@pytest.mark.parametrize("command,flag", [("run", "timeout"), ("watch", "poll-interval"),
                                          ("stable", "idle-timeout"), ("control", "wait-socket")])
def test_duration_without_unit(avenor, tmp_path, command, flag):
    r = cli(avenor, command, f"--{flag}", "5", cwd=tmp_path)
    assert r.returncode == COMMAND_EXIT[command]
    assert r.stderr == (prefix(command) + f'invalid value "5" for flag -{flag}: missing unit in '
                        "duration (use e.g. 5s, 10m, 1h30m)\n" + hint(command))


# --------------------------------------------------------------------------------------------
# run: a stray word is an error naming it; nothing starts, no sentinel
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv,word,why", [
    (["--prompt", "hi", "stray", "--timeout", "5s"], "stray",
     "flags start with --; quote a prompt that has spaces"),
    (["--prompt", "fix", "the", "bug"], "the",
     "flags start with --; quote a prompt that has spaces"),
    (["--auto-approve", "yes", "--backend", "echo"], "yes",
     "--auto-approve takes no separate value; write --auto-approve=true or --auto-approve=false"),
], ids=["stray", "unquoted-prompt", "bool-value"])
@pytest.mark.parametrize("run_word", [True, False], ids=["run", "default"])
def test_run_rejects_a_stray_word(avenor, tmp_path, argv, word, why, run_word):
    sentinel = tmp_path / "run.done"
    events = tmp_path / "ev.ndjson"
    r = cli(avenor, *(["run"] if run_word else []), "--sentinel-file", str(sentinel),
            "--on-event", str(events), *argv, cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == f'avenor: unexpected argument "{word}" ({why})\n' + hint("run")
    assert not sentinel.exists() and not events.exists(), "nothing may start"


# --------------------------------------------------------------------------------------------
# D13: flags after positionals, `--` ends them
# --------------------------------------------------------------------------------------------

REQUEST = ('{"request_id":"7","options":[{"optionId":"once","kind":"allow_once"},'
           '{"optionId":"reject","kind":"reject_once"}]}')


def test_answer_flags_after_the_perm_base(avenor, tmp_path):
    base = tmp_path / "run.perm"
    Path(f"{base}.req").write_text(REQUEST)
    r = cli(avenor, "answer", str(base), "--option", "once")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert Path(f"{base}.req.response").read_text() == \
        '{"outcome":"selected","option_id":"once","message":""}\n'
    # `--` ends the flags: a later --force is a second (stray) argument
    r = cli(avenor, "answer", "--option", "reject", "--", str(base), "--force")
    assert r.returncode == 2
    assert r.stderr == ('avenor answer: unexpected argument "--force" (answer takes one '
                        "<perm-base>)\n" + hint("answer"))


def test_watch_flags_after_the_log(avenor, tmp_path):
    log = tmp_path / "ev.ndjson"
    log.write_text('{"event":"session.end","session_id":"s","stop_reason":"end_turn"}\n')
    r = cli(avenor, "watch", str(log), "--classify")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "MILESTONE EVENT session.end s stop_reason=end_turn\n"
    r = cli(avenor, "watch", "--", str(log), "--classify")
    assert r.returncode == 2
    assert r.stderr.startswith('avenor watch: unexpected argument "--classify"')


def test_verify_flags_after_the_loop_file(avenor, tmp_path):
    loop = tmp_path / "loop.json"
    loop.write_text('{"pre":[{"name":"a","prompt":"p"}]}')
    r = cli(avenor, "verify", str(loop), "--dir", str(tmp_path))
    assert (r.returncode, r.stdout, r.stderr) == (0, f"ok: {loop}\n", "")
    r = cli(avenor, "verify", "--loop-file", str(loop), "--dir", str(tmp_path))
    assert (r.returncode, r.stdout) == (0, f"ok: {loop}\n")


# --------------------------------------------------------------------------------------------
# control against a real run started in the background
# --------------------------------------------------------------------------------------------

WAITING = {"turns": [[{"chunk": "working"}, {"sleep_ms": 120000}]]}


class BackgroundRun:
    """`avenor run … --control-socket S &` with no readiness signal: what an agent types."""

    def __init__(self, avenor: str, tmp_path: Path, script: dict):
        self.sock_dir = Path(tempfile.mkdtemp(prefix="avs-", dir="/tmp"))
        self.socket = str(self.sock_dir / "run.sock")
        self.files = RunFiles(tmp_path / "run")
        env, _ = fake_cli_env(tmp_path, script)
        self._stderr = open(self.files.stderr, "wb")
        self.proc = subprocess.Popen(
            [avenor, "run", "--prompt", "p", "--dir", str(tmp_path), "--on-event",
             str(self.files.events), "--control-socket", self.socket],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._stderr.close()
        shutil.rmtree(self.sock_dir, ignore_errors=True)


@pytest.fixture
def background_run(avenor, tmp_path, fake_agent):
    runs: list[BackgroundRun] = []

    def start(script: dict) -> BackgroundRun:
        run = BackgroundRun(avenor, tmp_path / f"r{len(runs)}", script)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.close()


def test_control_wait_socket_and_flags_after_the_command(avenor, background_run):
    run = background_run(WAITING)
    # Race-free right after the start: --wait-socket waits for the socket to accept.
    r = cli(avenor, "control", "--socket", run.socket, "--wait-socket", "20s", "status")
    assert r.returncode == 0, r.stderr + run.files.stderr_text()
    assert '"run_id"' in r.stdout and r.stderr == ""
    # D13: the flags after the command word
    r = cli(avenor, "control", "status", "--socket", run.socket)
    assert r.returncode == 0, r.stderr
    # `--` ends the flags: "--socket" is the prompt's text; a spec-form text that merely looks
    # like a flag stays text
    r = cli(avenor, "control", "--socket", run.socket, "prompt", "--", "--socket")
    assert (r.returncode, r.stdout, r.stderr) == (0, "prompt queued\n", "")
    r = cli(avenor, "control", "--socket", run.socket, "prompt", "--not-a-flag")
    assert (r.returncode, r.stdout, r.stderr) == (0, "prompt queued\n", "")
    # A runtime id on a run's socket says what to do (the server protocol is unchanged).
    for command in (["status", "rt_1"], ["cancel", "rt_1"], ["prompt", "x", "rt_1"]):
        r = cli(avenor, "control", "--socket", run.socket, *command)
        assert r.returncode == 1 and r.stdout == ""
        assert r.stderr == (f"avenor control: {command[0]}: runtime ids need a stable supervisor "
                            f"socket; {run.socket} is a run's socket (omit the runtime id)\n")
    assert run.proc.poll() is None, "the rejected calls leave the run alone"
    r = cli(avenor, "control", "cancel", "--socket", run.socket)
    assert (r.returncode, r.stdout) == (0, "cancelled\n"), r.stderr
    assert run.proc.wait(timeout=60) == 130


def test_control_wait_socket_gives_up(avenor, tmp_path):
    sock_dir = Path(tempfile.mkdtemp(prefix="avs-", dir="/tmp"))
    try:
        path = sock_dir / "nobody.sock"
        started = time.monotonic()
        r = cli(avenor, "control", "--socket", str(path), "--wait-socket", "300ms", "status")
        elapsed = time.monotonic() - started
        assert r.returncode == 1 and r.stdout == ""
        assert r.stderr == f"avenor control: socket {path} did not accept within 300ms\n"
        assert 0.3 <= elapsed < 10, elapsed
        # a stale file nobody listens on is waited for, too
        stale = sock_dir / "stale.sock"
        stale.write_text("")
        r = cli(avenor, "control", "--socket", str(stale), "--wait-socket", "100ms", "list")
        assert r.returncode == 1
        assert r.stderr == f"avenor control: socket {stale} did not accept within 100ms\n"
    finally:
        shutil.rmtree(sock_dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# watch: a reader that goes away ends it quietly; the permission digest
# --------------------------------------------------------------------------------------------

def close_after_first_line(proc: subprocess.Popen) -> bytes:
    """Reads one line of proc's stdout, then closes it: what `| head -1` does."""
    readable, _, _ = select.select([proc.stdout], [], [], 30)
    assert readable, "no output within 30 s"
    line = proc.stdout.readline()
    proc.stdout.close()
    return line


@pytest.mark.parametrize("follow,lines", [(False, 20000), (True, 20000), (True, 1)],
                         ids=["plain", "follow-writing", "follow-idle"])
def test_watch_ends_quietly_when_its_reader_goes_away(avenor, tmp_path, follow, lines):
    log = tmp_path / "ev.ndjson"
    # 20000 lines are more than a pipe holds, so watch is still writing when the reader
    # leaves (EPIPE); with one line a following watch is idle and must notice by itself.
    log.write_text("".join(f'{{"event":"agent.message_chunk","session_id":"s","delta":"{i}"}}\n'
                           for i in range(lines)))
    argv = [avenor, "watch", *(["--follow", "--poll-interval", "20ms"] if follow else []), str(log)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        assert close_after_first_line(proc) == b"EVENT agent.message_chunk s 0\n"
        # With --follow nothing more is written; watch must notice the reader is gone anyway.
        code = proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert (code, stderr) == (0, b""), (code, stderr)


def test_watch_head_in_a_shell_pipeline(avenor, tmp_path):
    log = tmp_path / "ev.ndjson"
    log.write_text("".join(f'{{"event":"session.plan","session_id":"s","label":"{i}"}}\n'
                           for i in range(20000)))
    r = subprocess.run(["bash", "-c", f'"$0" watch "$1" | head -1; echo "rc=${{PIPESTATUS[0]}}"',
                        avenor, str(log)], capture_output=True, text=True, timeout=30)
    assert r.stdout == "EVENT session.plan s 0\nrc=0\n" and r.stderr == "", r


def test_watch_digest_of_a_real_permission_request(avenor, tmp_path, fake_agent):
    script = {"turns": [[
        {"permission": {"toolCall": {"toolCallId": "c1", "title": "Run git status",
                                     "kind": "execute"}},
         "on_allow": [{"chunk": "done"}]}]]}
    files = RunFiles(tmp_path / "run")
    env, _ = fake_cli_env(tmp_path, script)
    with open(files.stderr, "wb") as stderr:
        proc = subprocess.Popen([avenor, "run", "--prompt", "p", "--dir", str(tmp_path),
                                 "--on-event", str(files.events), "--sentinel-file",
                                 str(files.sentinel)],
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr)
        try:
            request = Path(f"{files.perm_base}.req")
            wait_until(lambda: request.exists() or proc.poll() is not None,
                       what="the permission request file")
            assert proc.poll() is None, files.stderr_text()
            # the documented form: flags after the perm base
            r = cli(avenor, "answer", str(files.perm_base), "--option", "once")
            assert (r.returncode, r.stderr) == (0, "")
            assert proc.wait(timeout=60) == 0, files.stderr_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    r = cli(avenor, "watch", str(files.events))
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line.startswith("EVENT permission.request")]
    assert lines == ["EVENT permission.request ses_fake_1 Run git status [once=allow_once, "
                     "always=allow_always, reject=reject_once] (request 0)"], r.stdout
