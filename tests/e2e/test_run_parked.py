"""Parked mode of `avenor run --parked-timeout` (cli.md §3.14, control.md §6.1): after a
successful turn the run writes DONE and `avenor.parked`, keeps the backend session and waits
for a control prompt, a stop or the end of the parked timeout. Driven through the binary
against the scripted fake ACP agent, and, for the follow-up on a live session, against the real
CLIs of every backend that keeps one (opencode acp/serve, codex app-server, pi, gemini) with the
scripted model server. cursor-acp needs a cursor login and is not covered."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time

import pytest

import peer_codex
import peer_pi
import peers
from avenor_cli import AvenorProcess, RunFiles, assert_log_well_formed, events_named, \
    standard_run_args
from control_rpc import ControlClient, wait_for_socket
from fake_run import RUN_ID, SESSION, FakeRun, assert_process_gone
from peer_opencode_http import OpencodeServer, opencode_http_env

PARKED = "avenor.parked"


def start(f: FakeRun, *extra: str, parked: str = "0", prompt: str = "first"):
    """Starts a parked-mode run with a control socket; returns (process, socket path)."""
    sock = f.tmp / "ctl" / "run.sock"
    proc = f.start("--prompt", prompt, "--control-socket", str(sock), "--parked-timeout", parked,
                   *extra)
    return proc, sock


def wait_count(run: FakeRun | AvenorProcess, name: str, n: int,
               timeout: float = 60.0) -> list[dict]:
    """Bounded poll of the log until it holds `n` events named `name`; fails if avenor exits."""
    proc = run.proc if isinstance(run, FakeRun) else run
    deadline = time.monotonic() + timeout
    while True:
        found = events_named(proc.files.read_events_safe(), name)
        if len(found) >= n:
            return found
        if proc.proc.poll() is not None:
            raise AssertionError(f"avenor exited ({proc.proc.returncode}) before {n}× {name}; "
                                 f"stderr:\n{proc.files.stderr_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{n}× {name} not logged within {timeout} s (got {len(found)})")
        time.sleep(0.05)


def client(sock) -> ControlClient:
    c = ControlClient(sock)
    c.call_ok("identity")
    return c


def prompts_sent(f: FakeRun) -> list[str]:
    return ["".join(b.get("text", "") for b in m["params"]["prompt"])
            for m in f.requests("session/prompt")]


def answer_file_permission(avenor: str, f: FakeRun, option: str = "once") -> None:
    """Waits for the file handler's request and answers it with `avenor answer`."""
    f.proc.wait_for_file(f.files.root / "run.perm.req")
    done = subprocess.run([avenor, "answer", "--option", option, str(f.files.perm_base)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def sentinel(status: str, stop_reason: str, exit_code: int | None = None) -> list[str]:
    lines = [status, f"SESSION={SESSION}", f"STOP_REASON={stop_reason}"]
    if exit_code is not None:
        lines.append(f"EXIT_CODE={exit_code}")
    return lines + [f"RUN={RUN_ID}"]


def permission_then(*actions: dict) -> list[dict]:
    """A turn that asks for permission (answered through the file handler), then `actions`."""
    return [{"permission": {}, "on_allow": list(actions), "on_reject": [{"chunk": "rejected"}]}]


# ---------------------------------------------------------------------------------------------
# Park, follow-up, park again
# ---------------------------------------------------------------------------------------------

def test_parks_then_a_prompt_resumes_the_same_session_and_parks_again(fake):
    f = fake({"turns": [[{"chunk": "ONE"}], [{"chunk": "TWO"}]]})
    _, sock = start(f)
    parked = wait_count(f, PARKED, 1)[0]
    assert parked["timeout_ms"] == 0 and parked["session_id"] == SESSION
    assert parked["run_id"] == RUN_ID
    log = f.events()
    assert log[-1]["event"] == PARKED, "avenor.parked follows the turn's session.end"
    assert [e["event"] for e in log].count("session.end") == 1
    assert f.files.sentinel_lines() == sentinel("DONE", "end_turn")

    with client(sock) as c:
        status = c.call_ok("status")
        assert status["parked"] is True and status["turn_state"] == "idle"
        assert status["session_id"] == SESSION
        assert c.call_ok("prompt", {"text": "second"}) == {"accepted": True}
        second = wait_count(f, PARKED, 2)[1]
        assert second["timeout_ms"] == 0
        status = c.call_ok("status")
        assert status["parked"] is True and status["turn_state"] == "idle"
        assert status["final_output"] == "TWO"
        assert f.files.sentinel_lines() == sentinel("DONE", "end_turn")
        assert c.call_ok("cancel") == {"ok": True}
    assert f.proc.wait(30) == 130, f.stderr()

    log = f.events()
    assert_log_well_formed(log, run_id=RUN_ID)
    ends = events_named(log, "session.end")
    assert [e.get("final_output") for e in ends[:2]] == ["ONE", "TWO"]
    assert log[-1]["event"] == "session.end"
    assert {k: log[-1][k] for k in ("stop_reason", "exit_code", "session_id")} == \
        {"stop_reason": "cancelled", "exit_code": 130, "session_id": SESSION}
    assert "output_files" not in log[-1], "nothing new appeared in --dir"
    assert f.files.sentinel_lines() == sentinel("KILLED", "cancelled", 130)
    # One agent process, one session, two turns on it.
    assert len(f.agent_pids()) == 1
    assert f.methods().count("session/new") == 1
    assert prompts_sent(f) == ["first", "second"]
    assert {m["params"]["sessionId"] for m in f.requests("session/prompt")} == {SESSION}
    assert_process_gone(f.agent_pids()[0])


def test_interrupt_and_prompt_while_parked_runs_the_next_turn(fake):
    f = fake({"turns": [[{"chunk": "ONE"}], [{"chunk": "URGENT-DONE"}]]})
    _, sock = start(f)
    wait_count(f, PARKED, 1)
    with client(sock) as c:
        c.call_ok("interrupt_and_prompt", {"text": "urgent", "keep_queue": False})
        wait_count(f, PARKED, 2)
        assert c.call_ok("status")["turn_state"] == "idle"
        assert c.call_ok("result")["final_output"] == "URGENT-DONE"
        c.call_ok("cancel")
    assert f.proc.wait(30) == 130, f.stderr()
    assert prompts_sent(f) == ["first", "urgent"]
    assert len(f.agent_pids()) == 1
    ends = events_named(f.events(), "session.end")
    # The parked wait had no turn to interrupt: both turns end normally.
    assert [e["stop_reason"] for e in ends] == ["end_turn", "end_turn", "cancelled"]


# ---------------------------------------------------------------------------------------------
# How a parked run ends
# ---------------------------------------------------------------------------------------------

def test_expiry_exits_0_and_writes_nothing_after_parked(fake):
    f = fake({"turns": [[{"chunk": "ONE"}]]})
    f.start("--prompt", "first", "--parked-timeout", "300ms")
    assert f.proc.wait(30) == 0, f.stderr()
    log = f.events()
    assert log[-1]["event"] == PARKED and log[-1]["timeout_ms"] == 300
    assert len(events_named(log, "session.end")) == 1
    assert f.files.sentinel_lines() == sentinel("DONE", "end_turn")
    assert_process_gone(f.agent_pids()[0])


def test_cancel_while_parked_lists_the_files_the_run_produced(avenor, fake):
    f = fake({"turns": [permission_then({"chunk": "wrote it"})]})
    (f.work / "old.txt").write_text("there before")
    (f.work / ".git").mkdir()
    (f.work / ".git" / "config").write_text("")
    _, sock = start(f)
    # The turn holds on its permission request: the "agent's" output appears meanwhile.
    f.proc.wait_for_file(f.files.root / "run.perm.req")
    (f.work / "out").mkdir()
    (f.work / "out" / "report.md").write_text("produced during the turn")
    (f.work / ".git" / "index").write_text("")
    answer_file_permission(avenor, f)
    wait_count(f, PARKED, 1)
    (f.work / "late.txt").write_text("produced while parked")
    with client(sock) as c:
        c.call_ok("cancel")
    assert f.proc.wait(30) == 130, f.stderr()
    end = f.events()[-1]
    assert end["event"] == "session.end"
    assert end["stop_reason"] == "cancelled" and end["exit_code"] == 130
    assert end["output_files"] == ["late.txt", "out/report.md"]
    assert f.files.sentinel_lines() == sentinel("KILLED", "cancelled", 130)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_while_parked_ends_with_130(fake, sig):
    f = fake({"turns": [[{"chunk": "ONE"}]]})
    f.start("--prompt", "first", "--parked-timeout", "0")
    wait_count(f, PARKED, 1)
    f.proc.signal(sig)
    assert f.proc.wait(30) == 130, f.stderr()
    end = f.events()[-1]
    assert (end["event"], end["stop_reason"], end["exit_code"]) == ("session.end", "cancelled", 130)
    assert f.files.sentinel_lines() == sentinel("KILLED", "cancelled", 130)
    assert_process_gone(f.agent_pids()[0])


def test_overall_timeout_while_parked_ends_with_124(fake):
    f = fake({"turns": [[{"chunk": "ONE"}]]})
    f.start("--prompt", "first", "--parked-timeout", "0", "--timeout", "5s")
    # The fake's turn takes milliseconds; the 5 s deadline has to find the run parked.
    wait_count(f, PARKED, 1, timeout=5)
    assert f.proc.wait(30) == 124, f.stderr()
    log = f.events()
    end = log[-1]
    assert (end["event"], end["stop_reason"], end["exit_code"]) == ("session.end", "timeout", 124)
    assert [e["event"] for e in log[-2:]] == [PARKED, "session.end"]
    assert f.files.sentinel_lines() == sentinel("TIMEOUT", "timeout")


def test_a_later_failed_turn_rewrites_the_sentinel(fake):
    f = fake({"turns": [[{"chunk": "ONE"}], [{"end": {"stopReason": "refusal"}}]]})
    _, sock = start(f)
    wait_count(f, PARKED, 1)
    assert f.files.sentinel_lines()[0] == "DONE"
    with client(sock) as c:
        c.call_ok("prompt", {"text": "second"})
        c.read_until_closed()
    # A failed turn does not park: the run ends with the turn's code.
    assert f.proc.wait(30) == 2, f.stderr()
    assert len(events_named(f.events(), PARKED)) == 1
    assert f.files.sentinel_lines() == sentinel("FAILED", "refusal", 2)


# ---------------------------------------------------------------------------------------------
# A failed turn with a queued prompt (cli.md §3.14, last bullet)
# ---------------------------------------------------------------------------------------------

def test_failed_turn_then_queued_prompt_continues_the_session(avenor, fake):
    f = fake({"turns": [permission_then({"end": {"stopReason": "refusal"}}),
                        [{"chunk": "CONTINUED"}]]})
    _, sock = start(f)
    f.proc.wait_for_file(f.files.root / "run.perm.req")
    with client(sock) as c:
        c.call_ok("prompt", {"text": "next"})  # queued behind the running turn
        answer_file_permission(avenor, f)
        wait_count(f, PARKED, 1)
        c.call_ok("cancel")
    assert f.proc.wait(30) == 130, f.stderr()
    ends = events_named(f.events(), "session.end")
    assert [e["stop_reason"] for e in ends] == ["refusal", "end_turn", "cancelled"]
    assert events_named(f.events(), "avenor.retry") == []
    assert prompts_sent(f) == ["first", "next"]
    assert len(f.agent_pids()) == 1, "the session went on in the same agent process"


def test_retryable_failure_with_a_queued_prompt_retries_with_it(avenor, fake):
    # Each attempt is a new agent process, so turns are matched by prompt text.
    f = fake({"by_prompt": [{"contains": "first", "turn": permission_then(
                                {"prompt_error": {"code": -32603, "message": "model down"}})},
                            {"contains": "next", "turn": [{"chunk": "RECOVERED"}]}]})
    _, sock = start(f, "--max-retries", "1")
    f.proc.wait_for_file(f.files.root / "run.perm.req")
    with client(sock) as c:
        c.call_ok("prompt", {"text": "next"})
        answer_file_permission(avenor, f)
        wait_count(f, PARKED, 1)
        assert c.call_ok("result")["final_output"] == "RECOVERED"
        c.call_ok("cancel")
    assert f.proc.wait(30) == 130, f.stderr()
    retry = events_named(f.events(), "avenor.retry")
    assert [(r["attempt"], r["max_retries"], r["session_id"]) for r in retry] == [(2, 1, SESSION)]
    # The retry resumed the session with the queued prompt, not the failed one.
    assert prompts_sent(f) == ["first", "next"]
    assert len(f.agent_pids()) == 2
    assert f.methods().count("session/new") == 1


# ---------------------------------------------------------------------------------------------
# Not parked
# ---------------------------------------------------------------------------------------------

def test_parked_timeout_is_ignored_with_a_loop_file(fake):
    f = fake({})
    loop = f.tmp / "loop.json"
    loop.write_text('{"pre": [{"name": "one", "prompt": "P:{{.Phase}}"}]}')
    assert f.run("--loop-file", str(loop), "--parked-timeout", "0", timeout=30) == 0, f.stderr()
    assert events_named(f.events(), PARKED) == []
    assert f.files.sentinel_lines()[0] == "DONE"


def test_without_parked_timeout_the_run_does_not_park(fake):
    f = fake({"turns": [[{"chunk": "ONE"}]]})
    assert f.run("--prompt", "first", timeout=30) == 0, f.stderr()
    assert events_named(f.events(), PARKED) == []


# ---------------------------------------------------------------------------------------------
# Real CLIs: the follow-up to a parked run carries the first turn's history
# ---------------------------------------------------------------------------------------------

def _start_peer(backend: str, tmp_path, server, stack: contextlib.ExitStack):
    """(environment, backend flags, cwd) for `avenor run` against the real CLI of `backend`."""
    if backend == "opencode-http":
        penv = opencode_http_env(tmp_path, server)
        srv = stack.enter_context(OpencodeServer(penv, tmp_path / "serve"))
        env = {k: v for k, v in penv.env.items() if k != "AVENOR_OPENCODE_URL"}
        return env, ["--server-url", srv.url], penv.project  # --dir must stay "."
    penv = {"opencode-acp": peers.opencode_env, "codex-app-server": peer_codex.codex_env,
            "pi": peer_pi.pi_env, "gemini-acp": peers.gemini_env}[backend](tmp_path, server)
    return penv.env, ["--dir", str(penv.project)], None


@pytest.mark.parametrize("backend,peer", [
    ("opencode-acp", "opencode"), ("opencode-http", "opencode"), ("codex-app-server", "codex"),
    ("pi", "pi"), ("gemini-acp", "gemini")])
def test_real_cli_parked_follow_up_resumes_the_session(avenor, tmp_path, model_server, backend,
                                                       peer):
    peers.require_peer(peer)
    server = model_server({"steps": [{"reply": "FIRST-ANSWER-7731"},
                                     {"reply": "SECOND-ANSWER-4412"}]})
    with contextlib.ExitStack() as stack:
        env, backend_args, cwd = _start_peer(backend, tmp_path, server, stack)
        files = RunFiles(tmp_path / "run")
        sock = tmp_path / "ctl.sock"
        args = standard_run_args(files, "--backend", backend, *backend_args, "--run-id", "run-park",
                                 "--prompt", "Say the first thing.", "--control-socket", str(sock),
                                 "--parked-timeout", "0")
        run = AvenorProcess(avenor, args, env, files, cwd=cwd)
        stack.callback(lambda: run.proc.poll() is None and (run.proc.kill(), run.proc.wait()))
        wait_for_socket(sock, run.proc, timeout=60)
        # Real CLIs start slowly on a busy machine: the bounds are generous.
        first = wait_count(run, PARKED, 1, timeout=240)[0]
        assert files.sentinel_lines()[0] == "DONE"
        with client(sock) as c:
            status = c.call_ok("status")
            assert status["parked"] is True and status["turn_state"] == "idle"
            pid = status.get("pid")
            main_before = len(server.requests(kind="main"))
            c.call_ok("prompt", {"text": "FOLLOW-UP-QUESTION-9"})
            second = wait_count(run, PARKED, 2, timeout=180)[1]
            assert second["session_id"] == first["session_id"]
            assert c.call_ok("status").get("pid") == pid, "the same backend process"
            c.call_ok("cancel")
        assert run.wait(60) == 130, files.stderr_text()

    log = files.read_events()
    assert_log_well_formed(log, run_id="run-park")
    ends = events_named(log, "session.end")
    assert ends[0]["final_output"].endswith("FIRST-ANSWER-7731")
    assert ends[1]["final_output"].endswith("SECOND-ANSWER-4412")
    assert ends[2]["stop_reason"] == "cancelled" and ends[2]["exit_code"] == 130
    assert len({e["session_id"] for e in ends}) == 1
    # The follow-up's model request carries the first turn: same session, same history.
    follow_up = [r for r in server.requests(kind="main")[main_before:]
                 if "FOLLOW-UP-QUESTION-9" in json.dumps(r.get("body"))]
    assert follow_up, "the follow-up never reached the model"
    body = json.dumps(follow_up[0].get("body"))
    assert "Say the first thing." in body and "FIRST-ANSWER-7731" in body
    assert files.sentinel_lines()[0] == "KILLED"
