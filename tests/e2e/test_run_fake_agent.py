"""`avenor run` against the scripted fake ACP agent (tests/fakes/fake_acp_agent).

The real ACP plugins (opencode-acp by default, gemini-acp, cursor-acp) launch `opencode`,
`gemini` or `agent` from PATH; every test puts a directory of wrappers with those names first
on PATH. Each wrapper records its pid and argv, then execs the fake, which plays the test's
script and records every message avenor sends it.

Specs: cli.md §3, events.md §2–§7, backends.md §1, §4, §5.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from avenor_cli import (AvenorProcess, RunFiles, assert_log_well_formed, events_named,
                        standard_run_args)
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

    def agent_pids(self) -> list[int]:
        if not self.pid_file.exists():
            return []
        return [int(x) for x in self.pid_file.read_text().split()]

    def stderr(self) -> str:
        return self.files.stderr_text()


@pytest.fixture
def fake(avenor, fake_agent, tmp_path):
    """Factory: fake(script, env_extra=None) -> FakeRun."""
    made: list[FakeRun] = []

    def make(script: dict, env_extra: dict | None = None) -> FakeRun:
        run = FakeRun(avenor, tmp_path, script, env_extra)
        made.append(run)
        return run

    yield make
    for run in made:  # never leave a hung avenor or agent behind a failed test
        if run.proc is not None and run.proc.proc.poll() is None:
            run.proc.proc.kill()
            run.proc.proc.wait()
        for pid in run.agent_pids():
            if process_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


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


def index_of(events: list[dict], predicate) -> int:
    for i, e in enumerate(events):
        if predicate(e):
            return i
    raise AssertionError("no matching event in the log")


def is_event(name: str, **fields):
    return lambda e: e.get("event") == name and all(e.get(k) == v for k, v in fields.items())


def sentinel_failed(code: int, session: str = SESSION, stop: str | None = None) -> list[str]:
    return ["FAILED", f"SESSION={session}", f"STOP_REASON={stop or f'exit_{code}'}",
            f"EXIT_CODE={code}", f"RUN={RUN_ID}"]


# ---------------------------------------------------------------------------------------------
# A plain turn
# ---------------------------------------------------------------------------------------------

TEXT_TURN = {"turns": [[
    {"thought": "let me think"},
    {"chunk": "Before tools. "},
    {"tool_call": {"toolCallId": "c1", "title": "ls -la", "kind": "execute", "status": "pending"}},
    {"tool_call_update": {"toolCallId": "c1", "status": "completed"}},
    {"chunk": "Between tools. "},
    {"thought": "more thinking"},
    {"tool_call": {"toolCallId": "c2", "title": "cat x", "kind": "read", "status": "pending"}},
    {"chunk": "After."},
    {"end": {"stopReason": "end_turn",
             "usage": {"inputTokens": 11, "outputTokens": 22, "totalTokens": 33}}},
]]}


def test_text_turn_done(fake):
    f = fake(TEXT_TURN)
    assert f.run("--prompt", "say hello", "--label", "my label") == 0, f.stderr()

    events = f.events()
    assert_log_well_formed(events, run_id=RUN_ID)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(e.get("run_label") == "my label" for e in events)

    ends = events_named(events, "session.end")
    assert len(ends) == 1
    end = ends[0]
    assert end["stop_reason"] == "end_turn"
    assert end["session_id"] == SESSION
    # final_output: every message chunk, including text before and between tool calls;
    # thought chunks never count
    assert end["final_output"] == "Before tools. Between tools. After."
    usage = end["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (11, 22, 33)
    assert not {"inputTokens", "outputTokens", "totalTokens"} & set(usage)
    assert events[-1]["event"] == "session.end"

    chunks = events_named(events, "agent.message_chunk")
    assert [c["content"]["text"] for c in chunks] == ["Before tools. ", "Between tools. ", "After."]
    assert all(c["session_id"] == SESSION for c in chunks)

    assert f.files.sentinel_lines() == ["DONE", f"SESSION={SESSION}", "STOP_REASON=end_turn",
                                        f"RUN={RUN_ID}"]


def test_text_turn_status_synthesized_before_cause(fake):
    f = fake(TEXT_TURN)
    assert f.run("--prompt", "say hello") == 0, f.stderr()
    events = f.events()

    statuses = events_named(events, "agent.status")
    # a thought chunk moves working back to thinking (ignored only while thinking, waiting, done)
    assert [(s["phase"], s.get("label")) for s in statuses] == [
        ("thinking", None), ("working", "ls -la"), ("thinking", None), ("working", "cat x"),
        ("done", None)]
    assert all(s["source"] == "avenor" for s in statuses)
    # each synthesized status comes right before the event that caused it
    causes = {"thinking": "agent.thought_chunk", "working": "tool.call", "done": "session.end"}
    for i, e in enumerate(events):
        if e["event"] == "agent.status":
            assert events[i + 1]["event"] == causes[e["phase"]], (i, e, events[i + 1])
    # no synthesized status for chunks that change nothing
    assert len(statuses) == 5


def test_text_turn_acp_handshake_recorded(fake):
    f = fake(TEXT_TURN)
    assert f.run("--prompt", "say hello") == 0, f.stderr()
    msgs = f.messages()
    methods = f.methods()
    assert methods[:3] == ["initialize", "session/new", "session/prompt"], methods
    init = f.requests("initialize")[0]["params"]
    assert init["protocolVersion"] == 1
    assert init["clientCapabilities"] == {"fs": {"readTextFile": False, "writeTextFile": False},
                                          "terminal": False}
    assert init["clientInfo"]["name"] == "avenor"
    new = f.requests("session/new")[0]["params"]
    assert os.path.isabs(new["cwd"])
    assert os.path.realpath(new["cwd"]) == os.path.realpath(f.work)
    assert new["mcpServers"] == []
    prompt = f.requests("session/prompt")[0]["params"]
    assert prompt == {"sessionId": SESSION, "prompt": [{"type": "text", "text": "say hello"}]}
    assert all(m.get("jsonrpc") == "2.0" for m in msgs)
    # opencode-acp launch line: `opencode acp --pure --log-level WARN --cwd <abs dir>`
    argv = f.argv("opencode")
    assert argv[:5] == ["acp", "--pure", "--log-level", "WARN", "--cwd"]
    assert os.path.realpath(argv[5]) == os.path.realpath(f.work)


def test_dir_flag_is_made_absolute(fake):
    f = fake({"turns": [[{"chunk": "ok"}]]})
    (f.work / "sub").mkdir()
    assert f.run("--prompt", "p", "--dir", "sub") == 0, f.stderr()
    cwd = f.requests("session/new")[0]["params"]["cwd"]
    assert os.path.isabs(cwd) and os.path.realpath(cwd) == os.path.realpath(f.work / "sub")


def test_prompt_file(fake):
    f = fake({"turns": [[{"chunk": "ok"}]]})
    (f.work / "prompt.txt").write_text("line one\nline two\n")
    assert f.run("--prompt-file", "prompt.txt") == 0, f.stderr()
    prompt = f.requests("session/prompt")[0]["params"]["prompt"]
    assert prompt == [{"type": "text", "text": "line one\nline two\n"}]


def test_prompt_file_missing(fake):
    f = fake({"turns": [[{"chunk": "ok"}]]})
    assert f.run("--prompt-file", "nope.txt") == 1
    assert "avenor: read prompt file: " in f.stderr()
    assert f.files.sentinel_lines() == sentinel_failed(1, session="")
    assert f.agent_pids() == [], "no backend may start when the prompt file is unreadable"


def test_event_log_cannot_be_opened(fake, tmp_path):
    f = fake({"turns": [[{"chunk": "ok"}]]})
    bad = tmp_path / "no-such-dir" / "ev.ndjson"
    args = ["run", "--on-event", str(bad), "--sentinel-file", str(f.files.sentinel),
            "--run-id", RUN_ID, "--prompt", "p"]
    assert f.run(*args, standard=False) == 1
    assert "avenor: open event stream: " in f.stderr()
    assert f.files.sentinel_lines() == sentinel_failed(1, session="")
    assert not bad.exists()
    assert f.agent_pids() == []


def test_without_event_log_still_finishes(fake):
    f = fake({"turns": [[{"chunk": "ok"}]]})
    args = ["run", "--sentinel-file", str(f.files.sentinel), "--run-id", RUN_ID, "--prompt", "p"]
    assert f.run(*args, standard=False) == 0, f.stderr()
    assert f.files.sentinel_lines()[0] == "DONE"


# ---------------------------------------------------------------------------------------------
# Status markers
# ---------------------------------------------------------------------------------------------

def test_status_markers(fake):
    f = fake({"turns": [[
        {"chunk": "Plan: [status: working | build step] go\n"},
        {"chunk": "still going\n"},                        # same marker still in the window
        {"chunk": "<|status: waiting|>\n"},                # angle form wins, new phase
        {"chunk": "tail text"},                             # repeat: nothing new
        {"end": {"stopReason": "end_turn"}},
    ]]})
    assert f.run("--prompt", "p") == 0, f.stderr()
    events = f.events()
    agent_status = [e for e in events_named(events, "agent.status") if e["source"] == "agent"]
    assert [(s["phase"], s.get("label")) for s in agent_status] == [
        ("working", "build step"), ("waiting", None)]
    # each marker status comes right before the chunk carrying the marker
    for s in agent_status:
        i = events.index(s)
        nxt = events[i + 1]
        assert nxt["event"] == "agent.message_chunk", nxt
    first = events.index(agent_status[0])
    assert "[status: working" in events[first + 1]["content"]["text"]
    second = events.index(agent_status[1])
    assert "<|status: waiting|>" in events[second + 1]["content"]["text"]
    # marker text stays in the chunks and in final_output
    end = events_named(events, "session.end")[0]
    assert "[status: working | build step]" in end["final_output"]
    assert events[-2]["event"] == "agent.status" and events[-2]["phase"] == "done"


# ---------------------------------------------------------------------------------------------
# Stop reasons, prompt errors
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stop_reason,code,sentinel", [
    ("max_tokens", 3, sentinel_failed(3, stop="max_tokens")),
    ("refusal", 2, sentinel_failed(2, stop="refusal")),
    ("max_turn_requests", 4, sentinel_failed(4, stop="max_turn_requests")),
    ("stop_sequence", 1, sentinel_failed(1)),
])
def test_stop_reason_exit_codes(fake, stop_reason, code, sentinel):
    f = fake({"turns": [[{"chunk": "partial"}, {"end": {"stopReason": stop_reason}}]]})
    assert f.run("--prompt", "p") == code, f.stderr()
    ends = events_named(f.events(), "session.end")
    assert [e["stop_reason"] for e in ends] == [stop_reason]
    assert ends[0]["final_output"] == "partial"
    assert f.files.sentinel_lines() == sentinel
    assert events_named(f.events(), "avenor.retry") == []


def test_prompt_error(fake):
    f = fake({"turns": [[{"chunk": "x"},
                         {"prompt_error": {"code": -32603, "message": "model exploded"}}]]})
    assert f.run("--prompt", "p") == 1
    events = f.events()
    errors = events_named(events, "avenor.error")
    assert len(errors) == 1 and errors[0]["source"] == "prompt", errors
    assert "model exploded" in errors[0]["message"]
    assert events_named(events, "avenor.retry") == []
    assert f.files.sentinel_lines() == sentinel_failed(1)


def test_missing_stop_reason_is_a_prompt_error(fake):
    f = fake({"turns": [[{"end_missing_stop_reason": True}]]})
    assert f.run("--prompt", "p") == 1
    errors = events_named(f.events(), "avenor.error")
    assert [e["source"] for e in errors] == ["prompt"]


# ---------------------------------------------------------------------------------------------
# Retries (the backoff sleeps 2 s, then 4 s)
# ---------------------------------------------------------------------------------------------

def test_retries_resume_the_failed_session(fake):
    f = fake({"turns": [[{"chunk": "x"}, {"prompt_error": {"code": -32603, "message": "flaky"}}]]})
    assert f.run("--prompt", "p", "--max-retries", "2", timeout=60) == 1
    events = f.events()
    retries = events_named(events, "avenor.retry")
    assert [(r["attempt"], r["max_retries"]) for r in retries] == [(2, 2), (3, 2)]
    assert all(r.get("session_id") == SESSION for r in retries)
    assert len(events_named(events, "avenor.error")) == 3
    assert f.methods().count("session/prompt") == 3
    # attempt 1 creates the session, attempts 2 and 3 resume it (each in a new process)
    assert f.methods().count("session/new") == 1
    resumes = f.requests("session/resume")
    assert len(resumes) == 2
    for r in resumes:
        assert r["params"]["sessionId"] == SESSION
        assert r["params"]["mcpServers"] == []
        assert os.path.isabs(r["params"]["cwd"])
    assert len(f.agent_pids()) == 3
    assert f.files.sentinel_lines() == sentinel_failed(1)
    assert_log_well_formed(events, run_id=RUN_ID)


def test_retry_without_session_starts_fresh(fake):
    f = fake({"fail_method": {"session/new": {"code": -32000, "message": "no sessions today"}}})
    assert f.run("--prompt", "p", "--max-retries", "1", timeout=60) == 1
    assert "no sessions today" in f.stderr()
    assert "avenor: start session: " in f.stderr()
    retries = events_named(f.events(), "avenor.retry")
    assert len(retries) == 1
    assert retries[0]["attempt"] == 2 and retries[0]["max_retries"] == 1
    assert "session_id" not in retries[0]
    assert f.methods().count("session/new") == 2
    assert f.requests("session/resume") == []
    assert f.files.sentinel_lines() == sentinel_failed(1, session="")


# ---------------------------------------------------------------------------------------------
# Backend failures
# ---------------------------------------------------------------------------------------------

def test_agent_crash_mid_turn(fake):
    f = fake({"turns": [[{"chunk": "partial"}, {"stderr": "panic: boom-4711"}, {"exit": 101}]]})
    assert f.run("--prompt", "p", timeout=20) == 1
    assert "panic: boom-4711" in f.stderr()
    assert f.files.sentinel_lines() == sentinel_failed(1)
    ends = events_named(f.events(), "session.end")
    assert all(e["stop_reason"] != "end_turn" for e in ends)


def test_malformed_frame_kills_the_agent(fake):
    f = fake({"turns": [[{"chunk": "ok"}, {"raw": "this is not json\n"}, {"sleep_ms": 30000}]]})
    started = time.monotonic()
    assert f.run("--prompt", "p", timeout=15) == 1
    assert time.monotonic() - started < 10, "avenor waited for the agent instead of killing it"
    assert f.files.sentinel_lines() == sentinel_failed(1)
    pids = f.agent_pids()
    assert len(pids) == 1
    assert_process_gone(pids[0])


def test_oversize_line(fake):
    f = fake({"turns": [[{"raw_repeat": {"text": "a", "count": 5 * 1024 * 1024}},
                         {"sleep_ms": 30000}]]})
    assert f.run("--prompt", "p", timeout=15) == 1
    assert "4 MiB" in f.stderr(), f.stderr()[-2000:]
    assert f.files.sentinel_lines() == sentinel_failed(1)
    assert_process_gone(f.agent_pids()[0])


def test_missing_session_id_fails_start(fake):
    f = fake({"results": {"session/new": {}}})
    assert f.run("--prompt", "p") == 1
    assert "session/new response missing sessionId" in f.stderr()
    assert "avenor: start session: " in f.stderr()


def test_unknown_client_request_answered_method_not_found(fake):
    f = fake({"turns": [[
        {"chunk": "before "},
        {"request": {"method": "fs/read_text_file", "params": {"sessionId": SESSION, "path": "/etc/x"}}},
        {"chunk": "after"},
    ]]})
    assert f.run("--prompt", "p") == 0, f.stderr()
    answers = f.responses_to(0)
    assert len(answers) == 1, f.messages()
    assert answers[0]["error"]["code"] == -32601
    assert "result" not in answers[0]
    assert events_named(f.events(), "session.end")[0]["final_output"] == "before after"


# ---------------------------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------------------------

PERMISSION_OPTIONS = [{"optionId": "nope", "name": "No", "kind": "reject_once"},
                      {"optionId": "yes-once", "name": "Once", "kind": "allow_once"},
                      {"optionId": "yes-always", "name": "Always", "kind": "allow_always"}]


def permission_script(extra_request: dict | None = None, **top) -> dict:
    request = {"toolCall": {"toolCallId": "c1", "title": "rm -rf build", "kind": "execute"},
               "options": PERMISSION_OPTIONS}
    request.update(extra_request or {})
    return {**top, "turns": [[
        {"tool_call": {"toolCallId": "c1", "title": "rm -rf build", "kind": "execute",
                       "status": "pending"}},
        {"permission": request,
         "on_allow": [{"tool_call_update": {"toolCallId": "c1", "status": "completed"}},
                      {"chunk": "ALLOWED"}],
         "on_reject": [{"chunk": "REJECTED"}]},
    ]]}


def test_auto_approve_picks_first_allow_option(fake):
    f = fake(permission_script())
    assert f.run("--prompt", "p", "--auto-approve") == 0, f.stderr()
    events = f.events()
    req = events_named(events, "permission.request")
    assert len(req) == 1
    assert req[0]["resolver"] == "automatic"
    assert req[0]["request_id"] == "0"
    assert req[0]["options"] == PERMISSION_OPTIONS
    assert req[0]["toolCall"]["toolCallId"] == "c1"
    resp = events_named(events, "permission.response")
    assert len(resp) == 1
    assert resp[0]["source"] == "avenor" and resp[0]["kind"] == "allow"
    assert resp[0]["option_id"] == "yes-once" and resp[0]["request_id"] == "0"
    answer = f.responses_to(0)
    assert answer and answer[0]["result"]["outcome"] == {"outcome": "selected", "optionId": "yes-once"}
    assert events_named(events, "session.end")[0]["final_output"] == "ALLOWED"
    # waiting before the request, working again after the response
    i_req = events.index(req[0])
    assert events[i_req - 1]["event"] == "agent.status" and events[i_req - 1]["phase"] == "waiting"
    i_resp = events.index(resp[0])
    assert events[i_resp + 1]["event"] == "agent.status" and events[i_resp + 1]["phase"] == "working"
    # auto-approve does not derive a file handler from the sentinel
    assert not (f.files.root / "run.perm.req").exists()


def test_auto_approve_skips_requests_needing_user_input(fake):
    f = fake(permission_script({"requires_user_input": True}))
    assert f.run("--prompt", "p", "--auto-approve", "--timeout", "1500ms") == 124
    events = f.events()
    req = events_named(events, "permission.request")
    assert len(req) == 1 and req[0]["resolver"] != "automatic"
    assert req[0]["resolver"] == "none"
    assert events_named(events, "permission.response") == []
    assert f.files.sentinel_lines()[0] == "TIMEOUT"


@pytest.mark.parametrize("option,kind,text", [("yes-always", "allow", "ALLOWED"),
                                              ("nope", "reject", "REJECTED")])
def test_file_handler_derived_from_sentinel(fake, avenor, option, kind, text):
    f = fake(permission_script())
    run = f.start("--prompt", "p")
    req_file = f.files.root / "run.perm.req"
    run.wait_for_file(req_file, timeout=20)
    doc = json.loads(req_file.read_text())
    assert doc["request_id"] == "0" and doc["session_id"] == SESSION
    assert [o["optionId"] for o in doc["options"]] == ["nope", "yes-once", "yes-always"]
    assert "event" not in doc["payload"] and "session_id" not in doc["payload"]
    assert stat.S_IMODE(req_file.stat().st_mode) == 0o600

    answer = subprocess.run([avenor, "answer", "--option", option, str(f.files.perm_base)],
                            capture_output=True, text=True, timeout=20)
    assert answer.returncode == 0, answer.stderr
    assert run.wait(20) == 0, f.stderr()

    events = f.events()
    assert events_named(events, "permission.request")[0]["resolver"] == "file"
    resp = events_named(events, "permission.response")
    assert len(resp) == 1
    assert (resp[0]["source"], resp[0]["option_id"], resp[0]["kind"]) == ("file", option, kind)
    assert f.responses_to(0)[0]["result"]["outcome"] == {"outcome": "selected", "optionId": option}
    assert events_named(events, "session.end")[0]["final_output"] == text
    # after an answer both files are kept
    assert req_file.exists() and (f.files.root / "run.perm.req.response").exists()
    assert f.files.sentinel_lines()[0] == "DONE"


def test_file_handler_answer_cancelled(fake, avenor):
    f = fake(permission_script(ignore_sigterm=True))
    run = f.start("--prompt", "p")
    run.wait_for_file(f.files.root / "run.perm.req", timeout=20)
    answer = subprocess.run([avenor, "answer", "--outcome", "cancelled", "--option", "nope",
                             str(f.files.perm_base)], capture_output=True, text=True, timeout=20)
    assert answer.returncode == 0, answer.stderr
    assert run.wait(20) == 130, f.stderr()
    events = f.events()
    ends = events_named(events, "session.end")
    assert [e["stop_reason"] for e in ends] == ["cancelled"]
    assert events_named(events, "permission.response") == []
    lines = f.files.sentinel_lines()
    assert lines == ["KILLED", f"SESSION={SESSION}", "STOP_REASON=cancelled", "EXIT_CODE=130",
                     f"RUN={RUN_ID}"]
    # the cancelled answer cancels the whole session: the agent gets session/cancel and its
    # pending request is answered cancelled (backends.md §1.5, §1.6)
    assert "session/cancel" in f.methods()
    outcome = [m.get("result", {}).get("outcome") for m in f.responses_to(0)]
    assert outcome == [{"outcome": "cancelled"}], f.responses_to(0)


def test_file_handler_explicit_path(fake, avenor, tmp_path):
    f = fake(permission_script())
    base = tmp_path / "answers" / "perm-x"
    base.parent.mkdir()
    run = f.start("--prompt", "p", "--permission-handler", f"file:{base}")
    req = Path(f"{base}.req")
    run.wait_for_file(req, timeout=20)
    assert not (f.files.root / "run.perm.req").exists(), "derived handler used despite the flag"
    answer = subprocess.run([avenor, "answer", "--option", "yes-once", str(base)],
                            capture_output=True, text=True, timeout=20)
    assert answer.returncode == 0, answer.stderr
    assert run.wait(20) == 0, f.stderr()
    resp = events_named(f.events(), "permission.response")
    assert resp and resp[0]["source"] == "file" and resp[0]["option_id"] == "yes-once"


def test_no_resolver_waits_until_timeout(fake):
    f = fake(permission_script())
    args = ["run", "--on-event", str(f.files.events), "--run-id", RUN_ID, "--prompt", "p",
            "--timeout", "1500ms"]
    started = time.monotonic()
    assert f.run(*args, standard=False) == 124, f.stderr()
    assert time.monotonic() - started >= 1.4
    events = f.events()
    req = events_named(events, "permission.request")
    assert len(req) == 1 and req[0]["resolver"] == "none"
    assert events_named(events, "permission.response") == []
    assert [e["stop_reason"] for e in events_named(events, "session.end")] == ["timeout"]
    assert list(f.tmp.rglob("*.req")) == []


def test_second_pending_permission_fails(fake):
    f = fake({"turns": [[{"permission_nowait": {}}, {"permission": {}}]]})
    assert f.run("--prompt", "p", timeout=20) == 1
    errors = events_named(f.events(), "avenor.error")
    assert any(e["source"] == "permission"
               and e["message"] == "another permission request is already pending" for e in errors), errors
    assert f.files.sentinel_lines()[0] == "FAILED"


def test_cancel_answers_pending_permission_cancelled(fake):
    f = fake({"ignore_sigterm": True, "turns": [[{"permission": {}}, {"hang": True}]]})
    # no sentinel and no auto-approve: nothing resolves the request
    run = f.start("run", "--on-event", str(f.files.events), "--run-id", RUN_ID, "--prompt", "p",
                  standard=False)
    run.wait_for_event(is_event("permission.request"), timeout=20)
    run.signal(signal.SIGTERM)
    assert run.wait(20) == 130, f.stderr()
    assert "session/cancel" in f.methods()
    answers = f.responses_to(0)
    assert [a.get("result", {}).get("outcome") for a in answers] == [{"outcome": "cancelled"}], answers


# ---------------------------------------------------------------------------------------------
# Signals and timeouts
# ---------------------------------------------------------------------------------------------

# ignore_sigterm: the fake then always reads what avenor wrote before closing its stdin, so the
# record shows every cancel-time message however quickly avenor closes the agent.
SLEEPY_TURN = {"ignore_sigterm": True, "turns": [[
    {"chunk": "partial answer "},
    {"update": {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "so far"},
                "usage": {"input_tokens": 5, "output_tokens": 6, "total_tokens": 11}}},
    {"sleep_ms": 30000},
]]}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_cancels(fake, sig):
    f = fake(SLEEPY_TURN)
    run = f.start("--prompt", "p")
    run.wait_for_event(lambda e: e.get("content", {}).get("text") == "so far", timeout=20)
    run.signal(sig)
    assert run.wait(15) == 130, f.stderr()
    events = f.events()
    ends = events_named(events, "session.end")
    assert len(ends) == 1
    end = ends[0]
    assert end["stop_reason"] == "cancelled"
    assert end["final_output"] == "partial answer so far"
    assert end["usage"]["input_tokens"] == 5 and end["usage"]["total_tokens"] == 11
    assert end["session_id"] == SESSION
    assert "session/cancel" in f.methods()
    assert f.files.sentinel_lines() == ["KILLED", f"SESSION={SESSION}", "STOP_REASON=cancelled",
                                        "EXIT_CODE=130", f"RUN={RUN_ID}"]
    assert_log_well_formed(events, run_id=RUN_ID)


def test_overall_timeout(fake):
    f = fake(SLEEPY_TURN)
    assert f.run("--prompt", "p", "--timeout", "1s", timeout=15) == 124, f.stderr()
    ends = events_named(f.events(), "session.end")
    assert [e["stop_reason"] for e in ends] == ["timeout"]
    assert ends[0]["final_output"] == "partial answer so far"
    assert f.files.sentinel_lines() == ["TIMEOUT", f"SESSION={SESSION}", "STOP_REASON=timeout",
                                        f"RUN={RUN_ID}"]


def test_progress_timeout(fake):
    f = fake({"turns": [[{"chunk": "a"}, {"sleep_ms": 300}, {"chunk": "b"}, {"sleep_ms": 300},
                         {"chunk": "c"}, {"hang": True}]]})
    # 900 ms: every chunk restarts the timer, so it fires only during the hang
    assert f.run("--prompt", "p", "--progress-timeout", "900ms", timeout=15) == 124, f.stderr()
    events = f.events()
    ends = events_named(events, "session.end")
    assert [e["stop_reason"] for e in ends] == ["progress_timeout"]
    assert ends[0]["final_output"] == "abc"
    assert f.files.sentinel_lines() == ["TIMEOUT", f"SESSION={SESSION}",
                                        "STOP_REASON=progress_timeout", f"RUN={RUN_ID}"]


def test_cancel_ignored_by_agent_still_ends(fake):
    f = fake({"ignore_cancel": True, "ignore_sigterm": True, "turns": [[{"chunk": "x"}, {"hang": True}]]})
    run = f.start("--prompt", "p")
    run.wait_for_event(is_event("agent.message_chunk"), timeout=20)
    started = time.monotonic()
    run.signal(signal.SIGTERM)
    assert run.wait(20) == 130, f.stderr()
    elapsed = time.monotonic() - started
    # The provider is closed only after the in-flight prompt has returned (cli.md §3.5 step 6),
    # bounded by the 5 s cancel budget; then stdin close + SIGTERM end the agent.
    assert elapsed < 12
    assert elapsed >= 4.5, (f"avenor closed the agent {elapsed:.2f} s after the cancel, while "
                            "its session/prompt was still in flight (no cancel budget given)")
    assert "session/cancel" in f.methods()
    events = f.events()
    # the agent never answered the prompt: avenor writes session.end itself
    assert [e["stop_reason"] for e in events_named(events, "session.end")] == ["cancelled"]
    assert events_named(events, "session.end")[0]["final_output"] == "x"
    assert f.files.sentinel_lines()[0] == "KILLED"


def test_agent_ignoring_sigterm_is_killed(fake):
    f = fake({"ignore_cancel": True, "ignore_sigterm": True,
              "turns": [[{"chunk": "x"}, {"hang": True, "ignore_eof": True}]]})
    run = f.start("--prompt", "p")
    run.wait_for_event(is_event("agent.message_chunk"), timeout=20)
    pids = f.agent_pids()
    assert len(pids) == 1 and process_alive(pids[0])
    run.signal(signal.SIGTERM)
    assert run.wait(25) == 130, f.stderr()
    assert_process_gone(pids[0])
    assert f.files.sentinel_lines()[0] == "KILLED"


def test_no_agent_left_after_normal_run(fake):
    f = fake({"turns": [[{"chunk": "ok"}]]})
    assert f.run("--prompt", "p") == 0, f.stderr()
    pids = f.agent_pids()
    assert len(pids) == 1
    assert_process_gone(pids[0])


# ---------------------------------------------------------------------------------------------
# Resume, configuration, other ACP backends
# ---------------------------------------------------------------------------------------------

def test_resume(fake):
    f = fake({"turns": [[{"chunk": "resumed"}]]})
    assert f.run("--prompt", "again", "--resume", "ses_old_42") == 0, f.stderr()
    methods = f.methods()
    assert "session/new" not in methods
    resume = f.requests("session/resume")
    assert len(resume) == 1
    params = resume[0]["params"]
    assert params["sessionId"] == "ses_old_42" and params["mcpServers"] == []
    assert os.path.realpath(params["cwd"]) == os.path.realpath(f.work)
    assert f.requests("session/prompt")[0]["params"]["sessionId"] == "ses_old_42"
    assert events_named(f.events(), "session.end")[0]["session_id"] == "ses_old_42"
    assert f.files.sentinel_lines()[1] == "SESSION=ses_old_42"


def test_opencode_model_and_agent(fake):
    f = fake({"turns": [[{"chunk": "ok"}]]})
    assert f.run("--prompt", "p", "--model", "prov/model-x", "--agent", "build") == 0, f.stderr()
    methods = f.methods()
    assert methods[:5] == ["initialize", "session/new", "session/set_config_option",
                           "session/set_mode", "session/prompt"], methods
    cfg = f.requests("session/set_config_option")[0]["params"]
    assert cfg == {"sessionId": SESSION, "configId": "model", "value": "prov/model-x"}
    mode = f.requests("session/set_mode")[0]["params"]
    assert mode == {"sessionId": SESSION, "modeId": "build"}


def test_opencode_without_model_or_agent_sends_no_configuration(fake):
    f = fake({"turns": [[{"chunk": "ok"}]]})
    assert f.run("--prompt", "p") == 0, f.stderr()
    assert "session/set_config_option" not in f.methods()
    assert "session/set_mode" not in f.methods()


def test_opencode_configuration_error_aborts_start(fake):
    f = fake({"fail_method": {"session/set_config_option": {"code": -32000, "message": "bad model"}}})
    assert f.run("--prompt", "p", "--model", "x/y") == 1
    assert "avenor: start session: " in f.stderr()
    assert "session/prompt" not in f.methods()


def test_gemini_acp(fake):
    f = fake({"turns": [[{"chunk": "gemini says hi"}]]})
    assert f.run("--backend", "gemini-acp", "--prompt", "p", "--model", "ignored/model") == 0, f.stderr()
    assert f.argv("gemini") == ["--acp", "--approval-mode", "default"]
    assert f.methods() == ["initialize", "session/new", "session/prompt"]
    assert not (f.tmp / "argv-opencode").exists()
    end = events_named(f.events(), "session.end")[0]
    assert end["final_output"] == "gemini says hi"


def test_cursor_acp(fake):
    f = fake({"turns": [[{"chunk": "cursor says hi"}]]})
    assert f.run("--backend", "cursor-acp", "--prompt", "p", "--model", "ignored/model") == 0, f.stderr()
    assert f.argv("agent") == ["acp"]
    assert f.methods() == ["initialize", "authenticate", "session/new", "session/prompt"]
    assert f.requests("authenticate")[0]["params"] == {"methodId": "cursor_login"}


def test_cursor_acp_authenticate_failure(fake):
    f = fake({"fail_method": {"authenticate": {"code": -32000, "message": "not logged in"}}})
    assert f.run("--backend", "cursor-acp", "--prompt", "p") == 1
    assert "not logged in" in f.stderr()
    assert "session/new" not in f.methods()


def test_opencode_acp_rejects_server_url_env(fake):
    f = fake({"turns": [[{"chunk": "ok"}]]}, env_extra={"AVENOR_OPENCODE_URL": "http://127.0.0.1:9"})
    assert f.run("--prompt", "p") == 1
    assert "external server URL transport is not implemented by the stdio client" in f.stderr()
    assert "session/prompt" not in f.methods()
    assert f.files.sentinel_lines()[0] == "FAILED"


def test_opencode_acp_rejects_server_url_flag(fake):
    f = fake({"turns": [[{"chunk": "ok"}]]})
    assert f.run("--prompt", "p", "--server-url", "http://127.0.0.1:9") == 1
    assert "external server URL transport is not implemented by the stdio client" in f.stderr()
