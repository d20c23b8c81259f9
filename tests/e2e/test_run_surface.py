"""`avenor run` as a new user meets it (issue 13): --dir is checked before anything starts,
messages say what to do (unknown backend, --thinking, a backend CLI missing from PATH), every run
with --on-event ends its log with a terminal event (so `watch --follow --until-end` returns), and
a pending file-handler permission prints the exact `avenor answer` command.

Runs go against the scripted fake ACP agent (tests/fakes/fake_acp_agent) behind wrappers named
`opencode`, `gemini` and `agent` on PATH (fake_run.FakeRun). Every wait is bounded.
Specs: cli.md §3.2, §3.3, §3.6; events.md §1, §4, §5, §7, §8.8.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from avenor_cli import RunFiles, assert_log_well_formed, events_named
from fake_run import RUN_ID, SESSION

FAILED_1 = ["FAILED", "SESSION=", "STOP_REASON=exit_1", "EXIT_CODE=1", f"RUN={RUN_ID}"]
VOCABULARY = "off, minimal, low, medium, high, xhigh, max"
PERMISSION_TURN = {"turns": [[
    {"tool_call": {"toolCallId": "c1", "title": "rm -rf build", "kind": "execute",
                   "status": "pending"}},
    {"permission": {"toolCall": {"toolCallId": "c1", "title": "rm -rf build", "kind": "execute"}},
     "on_allow": [{"chunk": "ALLOWED"}], "on_reject": [{"chunk": "REJECTED"}]},
]]}


def avenor_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("avenor: ")]


def only_end(events: list[dict]) -> dict:
    """The log's single session.end, which must also be its last line."""
    ends = events_named(events, "session.end")
    assert len(ends) == 1, events
    assert events[-1] is ends[0], events
    return ends[0]


def watch_until_end(avenor: str, log: Path, timeout: float) -> float:
    """`avenor watch --follow --until-end` on a finished run's log: returns how long it took;
    fails when it does not end by itself within `timeout` s."""
    started = time.monotonic()
    try:
        r = subprocess.run([avenor, "watch", "--follow", "--until-end", "--format", "json",
                            "--poll-interval", "50ms", str(log)],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"watch --follow --until-end still waiting after {timeout} s on "
                             f"{log}:\n{log.read_text() if log.exists() else '(no log)'}")
    assert r.returncode == 0, r.stderr
    return time.monotonic() - started


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# --dir is checked before anything starts
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["missing", "file"])
def test_dir_is_checked_before_anything_starts(fake, kind):
    f = fake({})
    target = f.tmp / "no-such-dir"
    expected = f"{target}: --dir: No such file or directory"
    if kind == "file":
        target = f.tmp / "a-file"
        target.write_text("x")
        expected = f"{target}: --dir: not a directory"
    assert f.run("--prompt", "p", "--dir", str(target)) == 1
    assert avenor_lines(f.stderr()) == [f"avenor: {expected}"]
    assert f.files.sentinel_lines() == FAILED_1
    assert f.agent_pids() == [], "no backend may start with a bad --dir"
    end = only_end(f.events())
    assert (end["stop_reason"], end["exit_code"], end["error"]) == ("error", 1, expected)


# ---------------------------------------------------------------------------------------------
# Messages that say what to do
# ---------------------------------------------------------------------------------------------

def test_unknown_backend_lists_the_known_ones(fake, avenor):
    f = fake({})
    listed = subprocess.run([avenor, "plugins", "--format", "json"], capture_output=True,
                            text=True, timeout=30, env=f.env)
    names = sorted(p["name"] for p in json.loads(listed.stdout))
    assert "opencode-acp" in names and "codex-app-server" in names
    assert f.run("--prompt", "p", "--backend", "opencode") == 1
    assert avenor_lines(f.stderr()) == [
        f'avenor: unknown backend "opencode" (known: {", ".join(names)}; see avenor plugins)']
    assert f.files.sentinel_lines() == FAILED_1


@pytest.mark.parametrize("backend,value,message", [
    ("opencode-acp", "high",
     'backend "opencode-acp" does not support parameter "thinking" '
     "(it accepts no thinking values)"),
    ("codex-app-server", "off",
     'backend "codex-app-server" does not support parameter "thinking" '
     "(accepted: low, medium, high, xhigh, max)"),
    ("pi", "minimal",
     'backend "pi" does not support parameter "thinking" '
     "(accepted: off, low, medium, high, xhigh, max)"),
    ("opencode-acp", "HIGH", f'invalid --thinking "HIGH" (one of {VOCABULARY})'),
])
def test_thinking_refusals_name_the_accepted_values(fake, backend, value, message):
    f = fake({})
    assert f.run("--prompt", "p", "--backend", backend, "--thinking", value) == 1
    assert avenor_lines(f.stderr()) == [f"avenor: {message}"]
    assert f.files.sentinel_lines() == FAILED_1
    assert f.agent_pids() == []


def test_missing_backend_cli_names_it_once_per_attempt(fake):
    f = fake({})
    empty = f.tmp / "empty-bin"
    empty.mkdir()
    f.env["PATH"] = str(empty)
    assert f.run("--prompt", "p", "--max-retries", "1", timeout=60) == 1
    message = ('start session: backend "opencode-acp" needs "opencode" on PATH, which was not '
               "found; run 'avenor doctor'")
    assert avenor_lines(f.stderr()) == [f"avenor: {message}"] * 2
    events = f.events()
    assert [e["event"] for e in events] == ["session.end", "avenor.retry", "session.end"]
    for end in events_named(events, "session.end"):
        assert (end["stop_reason"], end["exit_code"], end["error"]) == ("error", 1, message)
    assert f.files.sentinel_lines() == FAILED_1


def test_missing_cli_run_by_a_host_service_is_named(fake):
    # claude-channel runs `claude --version` through the host's process service, not as its
    # own process: the missing program is still the one named. PATH has just `pwd` (which
    # the backend also runs first) and no claude.
    f = fake({})
    bin_dir = f.tmp / "only-pwd"
    bin_dir.mkdir()
    (bin_dir / "pwd").symlink_to("/bin/pwd")
    f.env["PATH"] = str(bin_dir)
    assert f.run("--prompt", "p", "--backend", "claude-channel", "--dir", str(f.work),
                 timeout=60) == 1
    message = ('start session: backend "claude-channel" needs "claude" on PATH, which was not '
               "found; run 'avenor doctor'")
    assert f"avenor: {message}" in avenor_lines(f.stderr()), f.stderr()
    assert only_end(f.events())["error"] == message


# ---------------------------------------------------------------------------------------------
# Every run's log ends with a terminal event (new)
# ---------------------------------------------------------------------------------------------

def test_validation_failure_replaces_a_stale_log(fake, avenor):
    # The log of an earlier run on the same path must not pass for this run's end.
    f = fake({})
    f.files.events.write_text(json.dumps({"event": "session.end", "stop_reason": "end_turn",
                                          "run_id": "older-run", "seq": 1, "ts": 1}) + "\n")
    assert f.run("--prompt", "p", "--backend", "bogus") == 1
    events = f.events()
    assert_log_well_formed(events, run_id=RUN_ID)
    end = only_end(events)
    assert end["error"].startswith('unknown backend "bogus" (known: ')
    assert end["exit_code"] == 1
    watch_until_end(avenor, f.files.events, timeout=30)  # exit 1: after the 10 s grace


def test_session_start_failure_ends_the_log(fake, avenor):
    f = fake({"fail_method": {"session/new": {"code": -32000, "message": "no sessions today"}}})
    assert f.run("--prompt", "p") == 1
    end = only_end(f.events())
    assert (end["stop_reason"], end["exit_code"]) == ("error", 1)
    assert end["error"].startswith("start session: ") and "no sessions today" in end["error"]
    assert f"avenor: {end['error']}" in avenor_lines(f.stderr())
    watch_until_end(avenor, f.files.events, timeout=30)


def test_timeout_during_session_start_ends_the_log(fake, avenor):
    f = fake({"delay_ms": {"session/new": 60000}})
    assert f.run("--prompt", "p", "--timeout", "1s", timeout=30) == 124
    assert f.files.sentinel_lines() == ["TIMEOUT", "SESSION=", "STOP_REASON=timeout",
                                        f"RUN={RUN_ID}"]
    end = only_end(f.events())
    assert (end["stop_reason"], end["exit_code"]) == ("timeout", 124)
    assert "error" not in end
    # A stop reason that maps to exit 124 ends the watch at once, not after a grace period.
    assert watch_until_end(avenor, f.files.events, timeout=30) < 8


def test_sigterm_during_session_start_ends_the_log(fake):
    f = fake({"delay_ms": {"session/new": 60000}})
    run = f.start("--prompt", "p")
    wait_for(lambda: "session/new" in f.methods(), 30, "session/new at the agent")
    run.signal(signal.SIGTERM)
    assert run.wait(30) == 130
    assert f.files.sentinel_lines()[0] == "KILLED"
    end = only_end(f.events())
    assert (end["stop_reason"], end["exit_code"]) == ("cancelled", 130)


def test_agent_crash_ends_the_turn_with_one_session_end(fake):
    f = fake({"turns": [[{"chunk": "partial"}, {"exit": 101}]]})
    assert f.run("--prompt", "p", timeout=20) == 1
    events = f.events()
    end = only_end(events)
    assert (end["stop_reason"], end["exit_code"]) == ("error", 1)
    # The avenor.error that ended the turn (the prompt call failing as the agent died).
    assert "status 101" in end["error"], end
    assert events_named(events, "avenor.error")[0]["message"] == end["error"]
    assert end["session_id"] == SESSION and end["final_output"] == "partial"
    assert events_named(events, "agent.status")[-1]["phase"] == "done"


def test_prompt_error_ends_the_turn(fake):
    f = fake({"turns": [[{"prompt_error": {"code": -32603, "message": "model exploded"}}]]})
    assert f.run("--prompt", "p") == 1
    end = only_end(f.events())
    assert (end["stop_reason"], end["exit_code"]) == ("error", 1)
    assert "model exploded" in end["error"]
    assert f.files.sentinel_lines() == ["FAILED", f"SESSION={SESSION}", "STOP_REASON=exit_1",
                                        "EXIT_CODE=1", f"RUN={RUN_ID}"]


def test_timeout_during_a_retry_backoff_ends_the_log(fake, avenor):
    # Attempt 1 fails at once; the 2 s backoff outlives --timeout 1s.
    f = fake({"fail_method": {"session/new": {"code": -32000, "message": "flaky"}}})
    assert f.run("--prompt", "p", "--max-retries", "3", "--timeout", "1s", timeout=30) == 124
    events = f.events()
    assert [e["event"] for e in events] == ["session.end", "avenor.retry", "session.end"]
    assert (events[-1]["stop_reason"], events[-1]["exit_code"]) == ("timeout", 124)
    assert f.files.sentinel_lines()[0] == "TIMEOUT"
    assert watch_until_end(avenor, f.files.events, timeout=30) < 8


def test_loop_config_error_ends_the_log(fake):
    f = fake({})
    assert f.run("--loop-file", str(f.tmp / "missing.yaml")) == 1
    end = only_end(f.events())
    assert end["error"].startswith("load loop config: ")
    assert f.files.sentinel_lines() == ["FAILED", "SESSION=", "STOP_REASON=error", "EXIT_CODE=1",
                                        f"RUN={RUN_ID}"]


def test_setup_failure_after_the_log_is_open_ends_it(fake):
    f = fake({})
    assert f.run("--prompt", "p", "--http-debug", "10.0.0.1:80") == 1
    end = only_end(f.events())
    assert end["error"] == "--http-debug: address 10.0.0.1 is not a loopback address"
    assert f.agent_pids() == []


# ---------------------------------------------------------------------------------------------
# A pending file-handler permission says how to answer it (new)
# ---------------------------------------------------------------------------------------------

NOTICE = re.compile(r"^avenor: permission (\S+) pending: (.*) — options: (.*); "
                    r"answer with: (avenor answer .* --option <id>)$")


def test_pending_permission_prints_the_answer_command(fake, avenor):
    f = fake(PERMISSION_TURN)
    run_dir = f.tmp / "my runs"  # a space: the printed base must be quoted
    run_dir.mkdir()
    sentinel = run_dir / "run.done"
    run = f.start("run", "--on-event", str(f.files.events), "--sentinel-file", str(sentinel),
                  "--run-id", RUN_ID, "--prompt", "p", standard=False)
    run.wait_for_file(run_dir / "run.perm.req", timeout=30)

    def notice():
        lines = [m for m in map(NOTICE.match, f.stderr().splitlines()) if m]
        return lines[0] if lines else None
    m = wait_for(notice, 30, "the pending-permission line on stderr")
    assert m.group(1) == "0"
    assert m.group(2) == "rm -rf build"
    assert m.group(3) == "once (allow_once), always (allow_always), reject (reject_once)"
    command = shlex.split(m.group(4).replace("<id>", "once"))
    assert command[:2] == ["avenor", "answer"] and command[2] == str(run_dir / "run.perm")

    # The printed command, run as printed.
    answer = subprocess.run([avenor, *command[1:]], capture_output=True, text=True, timeout=30,
                            cwd="/")
    assert answer.returncode == 0, answer.stderr
    assert run.wait(30) == 0, f.stderr()
    assert len([line for line in f.stderr().splitlines() if " pending: " in line]) == 1
    response = events_named(f.events(), "permission.response")
    assert [(r["source"], r["option_id"]) for r in response] == [("file", "once")]


def test_no_notice_without_a_file_handler(fake):
    f = fake(PERMISSION_TURN)
    assert f.run("--prompt", "p", "--auto-approve") == 0, f.stderr()
    assert " pending: " not in f.stderr()


# ---------------------------------------------------------------------------------------------
# --http-debug-token-file needs --http-debug
# ---------------------------------------------------------------------------------------------

def test_token_file_without_http_debug_is_refused(fake):
    f = fake({})
    assert f.run("--prompt", "p", "--http-debug-token-file", str(f.tmp / "tok")) == 1
    assert avenor_lines(f.stderr()) == ["avenor: --http-debug-token-file needs --http-debug"]
    assert f.files.sentinel_lines() == FAILED_1
    assert not (f.tmp / "tok").exists()
