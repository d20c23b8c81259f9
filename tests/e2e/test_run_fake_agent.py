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
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from avenor_cli import assert_log_well_formed, events_named

from fake_run import RUN_ID, SESSION, FakeRun, assert_process_gone, process_alive


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
    now_ms = time.time() * 1000
    assert all(now_ms - 120_000 < e["ts"] <= now_ms + 1000 for e in events), "ts is Unix ms"
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
    argv = f.argv("opencode")
    assert argv[4] == "--cwd" and os.path.isabs(argv[5])
    assert os.path.realpath(argv[5]) == os.path.realpath(f.work / "sub")
    # the child's working directory is not set: it inherits avenor's (backends.md §1.1)
    assert os.path.realpath(f.launch_cwd("opencode")) == os.path.realpath(f.work)


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


def test_event_log_truncated(fake):
    f = fake({"turns": [[{"chunk": "ok"}]]})
    f.files.events.write_text('{"event":"old.junk","seq":999}\n' * 50)
    assert f.run("--prompt", "p") == 0, f.stderr()
    events = f.events()
    assert not events_named(events, "old.junk"), "the log must be truncated, never appended"
    assert events[0]["seq"] == 1


def test_event_log_created_with_umask_mode(fake):
    f = fake({"turns": [[{"chunk": "ok"}]]})
    old = os.umask(0o027)
    try:
        run = f.start("--prompt", "p")
    finally:
        os.umask(old)
    assert run.wait(30) == 0, f.stderr()
    assert stat.S_IMODE(f.files.events.stat().st_mode) == 0o640  # 0666 less umask


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


def test_status_marker_details(fake):
    f = fake({"turns": [[
        {"chunk": "[status: sleeping] unknown phases are ignored\n"},
        {"chunk": "[STATUS: Thinking | Big Label] case-insensitive\n"},
        {"tool_call": {"toolCallId": "c1", "title": "ls", "kind": "execute", "status": "pending"}},
        {"tool_call": {"toolCallId": "c2", "title": "ls", "kind": "execute", "status": "pending"}},
        {"chunk": "  <|Status: DONE|>  \n"},
        {"end": {"stopReason": "end_turn"}},
    ]]})
    assert f.run("--prompt", "p") == 0, f.stderr()
    statuses = [(s["phase"], s.get("label"), s["source"])
                for s in events_named(f.events(), "agent.status")]
    # same working|ls twice -> one event; done from the marker is not repeated at session.end
    assert statuses == [("thinking", "Big Label", "agent"), ("working", "ls", "avenor"),
                        ("done", None, "agent")], statuses


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


def test_exit_1_stop_reason_is_retried(fake):
    f = fake({"turns": [[{"chunk": "x"}, {"end": {"stopReason": "stop_sequence"}}]]})
    assert f.run("--prompt", "p", "--max-retries", "1", timeout=30) == 1
    retries = events_named(f.events(), "avenor.retry")
    assert [(r["attempt"], r.get("session_id")) for r in retries] == [(2, SESSION)]
    assert [r["params"]["sessionId"] for r in f.requests("session/resume")] == [SESSION]
    assert f.files.sentinel_lines() == sentinel_failed(1)


def test_other_exit_codes_are_not_retried(fake):
    f = fake({"turns": [[{"chunk": "x"}, {"end": {"stopReason": "max_tokens"}}]]})
    assert f.run("--prompt", "p", "--max-retries", "3") == 3
    assert events_named(f.events(), "avenor.retry") == []
    assert f.methods().count("session/prompt") == 1


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
    assert "sessionId" not in req[0] and req[0]["session_id"] == SESSION
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
    req_text = req_file.read_text()
    doc = json.loads(req_text)
    assert req_text == json.dumps(doc, indent=2) + "\n", "pretty-printed, 2-space indent, final newline"
    assert doc["request_id"] == "0" and doc["session_id"] == SESSION
    assert "tool" not in doc and "question" not in doc  # omitted when empty
    assert doc["payload"]["toolCall"]["toolCallId"] == "c1"
    assert "resolver" not in doc["payload"]
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


# ---------------------------------------------------------------------------------------------
# Event mapping details (backends.md §1.4, events.md §5.4)
# ---------------------------------------------------------------------------------------------

def test_session_update_mapping(fake):
    f = fake({"turns": [[
        {"plan": [{"content": "step 1", "status": "pending"}]},
        {"update": {"sessionUpdate": "user_message_chunk", "content": {"type": "text", "text": "echo"}}},
        {"update": {"sessionUpdate": "available_commands_update", "availableCommands": []}},
        {"update": {"sessionUpdate": "usage_update", "used": 5}},
        {"notify": {"method": "x/unknown_notification", "params": {"sessionId": SESSION}}},
        {"tool_call": {"toolCallId": "t1", "title": "grep", "kind": "search", "status": "pending",
                       "rawInput": {"pattern": "x"}, "locations": [{"path": "/a"}]}},
        {"tool_call_update": {"toolCallId": "t1", "status": "completed"}},
        {"chunk": "done"},
    ]]})
    assert f.run("--prompt", "p") == 0, f.stderr()
    events = f.events()
    names = [e["event"] for e in events if e["event"] != "agent.status"]
    assert names == ["session.plan", "user.message_chunk", "tool.call", "tool.call_update",
                     "agent.message_chunk", "session.end"], names
    plan = events_named(events, "session.plan")[0]
    assert plan["entries"] == [{"content": "step 1", "status": "pending"}]
    assert plan["session_update"] == "plan" and plan["session_id"] == SESSION
    call = events_named(events, "tool.call")[0]
    assert (call["toolCallId"], call["title"], call["kind"], call["status"]) == (
        "t1", "grep", "search", "pending")
    assert call["rawInput"] == {"pattern": "x"} and call["locations"] == [{"path": "/a"}]
    assert call["session_update"] == "tool_call"
    update = events_named(events, "tool.call_update")[0]
    assert update["status"] == "completed" and update["session_update"] == "tool_call_update"
    # a user message chunk is not agent output
    assert events_named(events, "session.end")[0]["final_output"] == "done"


def test_backend_final_output_and_extras_kept(fake):
    f = fake({"turns": [[{"chunk": "streamed text"},
                         {"end": {"stopReason": "end_turn", "final_output": "", "customField": 7}}]]})
    assert f.run("--prompt", "p") == 0, f.stderr()
    end = events_named(f.events(), "session.end")[0]
    assert end["final_output"] == ""  # supplied by the backend (even empty): kept as is
    assert end["customField"] == 7


def test_no_message_text_no_final_output(fake):
    f = fake({"turns": [[{"thought": "only thinking"}, {"end": {"stopReason": "end_turn"}}]]})
    assert f.run("--prompt", "p") == 0, f.stderr()
    end = events_named(f.events(), "session.end")[0]
    assert "final_output" not in end


@pytest.mark.parametrize("usage", [
    {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3, "cachedReadTokens": 4},
    {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3, "cached_read_tokens": 4},
], ids=["camel", "snake"])
def test_usage_normalized(fake, usage):
    f = fake({"turns": [[{"chunk": "x"}, {"end": {"stopReason": "end_turn", "usage": usage}}]]})
    assert f.run("--prompt", "p") == 0, f.stderr()
    got = events_named(f.events(), "session.end")[0]["usage"]
    assert {k: got.get(k) for k in ("input_tokens", "output_tokens", "total_tokens",
                                    "cached_read_tokens")} == {
        "input_tokens": 1, "output_tokens": 2, "total_tokens": 3, "cached_read_tokens": 4}
    assert not {"inputTokens", "outputTokens", "totalTokens", "cachedReadTokens"} & set(got)


@pytest.mark.parametrize("stop_reason,code,first", [("cancelled", 130, "KILLED"),
                                                    ("tool_use", 1, "FAILED"),
                                                    ("something_new", 1, "FAILED")])
def test_more_stop_reasons(fake, stop_reason, code, first):
    f = fake({"turns": [[{"chunk": "x"}, {"end": {"stopReason": stop_reason}}]]})
    assert f.run("--prompt", "p") == code, f.stderr()
    assert [e["stop_reason"] for e in events_named(f.events(), "session.end")] == [stop_reason]
    assert f.files.sentinel_lines()[0] == first
    assert f"EXIT_CODE={code}" in f.files.sentinel_lines()


def test_large_line_under_limit_is_accepted(fake):
    size = 3 * 1024 * 1024 + 512 * 1024  # 3.5 MiB of text in one frame, under the 4 MiB cap
    prefix = ('{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"%s",'
              '"update":{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"'
              % SESSION)
    f = fake({"turns": [[{"raw_repeat": {"text": "b", "count": size, "prefix": prefix,
                                         "suffix": '"}}}}'}},
                         {"chunk": "!"}]]})
    assert f.run("--prompt", "p", timeout=30) == 0, f.stderr()[-2000:]
    end = events_named(f.events(), "session.end")[0]
    assert len(end["final_output"]) == size + 1 and end["final_output"].endswith("b!")


def test_agent_exits_cleanly_mid_turn(fake):
    f = fake({"turns": [[{"chunk": "partial"}, {"exit": 0}]]})
    assert f.run("--prompt", "p", timeout=20) == 1
    assert f.files.sentinel_lines()[0] == "FAILED"
    assert not any(e["stop_reason"] == "end_turn" for e in events_named(f.events(), "session.end"))


def test_final_status_done_precedes_synthetic_end(fake):
    f = fake(SLEEPY_TURN)
    assert f.run("--prompt", "p", "--timeout", "1s", timeout=15) == 124, f.stderr()
    events = f.events()
    i = index_of(events, is_event("session.end"))
    assert events[i - 1]["event"] == "agent.status" and events[i - 1]["phase"] == "done"
    assert events[i - 1]["source"] == "avenor"


# ---------------------------------------------------------------------------------------------
# More permission behaviour (events.md §5.3, §7)
# ---------------------------------------------------------------------------------------------

def test_marker_label_kept_across_permission_gate(fake):
    script = permission_script()
    # after the tool call (whose title would otherwise be the label), before the permission
    script["turns"][0].insert(1, {"chunk": "[status: working | deploying]\n"})
    f = fake(script)
    assert f.run("--prompt", "p", "--auto-approve") == 0, f.stderr()
    events = f.events()
    statuses = [(s["phase"], s.get("label"), s["source"]) for s in events_named(events, "agent.status")]
    i_resp = index_of(events, is_event("permission.response"))
    after = events[i_resp + 1]
    assert after["event"] == "agent.status", statuses
    assert (after["phase"], after.get("label")) == ("working", "deploying"), statuses
    assert ("waiting" in [s[0] for s in statuses])


def test_file_handler_request_removed_on_timeout(fake):
    f = fake(permission_script())
    assert f.run("--prompt", "p", "--timeout", "1500ms") == 124, f.stderr()
    events = f.events()
    assert events_named(events, "permission.request")[0]["resolver"] == "file"
    assert not (f.files.root / "run.perm.req").exists(), ".req must go when the turn ends unanswered"
    assert f.files.sentinel_lines()[0] == "TIMEOUT"


def test_file_handler_request_removed_on_signal(fake):
    f = fake(permission_script(ignore_sigterm=True))
    run = f.start("--prompt", "p")
    req = f.files.root / "run.perm.req"
    run.wait_for_file(req, timeout=20)
    run.signal(signal.SIGTERM)
    assert run.wait(20) == 130, f.stderr()
    assert not req.exists(), ".req must go when the turn is cancelled unanswered"
    assert not (f.files.root / "run.perm.req.response").exists()
    assert [e["stop_reason"] for e in events_named(f.events(), "session.end")] == ["cancelled"]
    # the pending ACP request is answered cancelled (D11)
    outcome = [m.get("result", {}).get("outcome") for m in f.responses_to(0)]
    assert outcome == [{"outcome": "cancelled"}], f.responses_to(0)


def test_file_handler_empty_response_means_not_ready(fake, avenor):
    f = fake(permission_script())
    run = f.start("--prompt", "p")
    req = f.files.root / "run.perm.req"
    run.wait_for_file(req, timeout=20)
    resp = f.files.root / "run.perm.req.response"
    resp.write_text("")
    # an empty file is "not ready yet"; `avenor answer` refuses to clobber it, so replace it
    resp.unlink()
    r = subprocess.run([avenor, "answer", "--option", "yes-once", str(f.files.perm_base)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert run.wait(20) == 0, f.stderr()
    assert events_named(f.events(), "permission.response")[0]["option_id"] == "yes-once"


@pytest.mark.parametrize("response,needle", [
    ('{"outcome":"selected","option_id":"no-such-option","message":""}\n', "no-such-option"),
    ('{"outcome":"maybe","option_id":"yes-once"}\n', "maybe"),
    ("{not json\n", ""),
], ids=["unknown-option", "bad-outcome", "bad-json"])
def test_file_handler_bad_response_fails_the_run(fake, response, needle):
    f = fake(permission_script())
    run = f.start("--prompt", "p")
    req = f.files.root / "run.perm.req"
    run.wait_for_file(req, timeout=20)
    tmp = f.files.root / "resp.tmp"
    tmp.write_text(response)
    tmp.rename(f.files.root / "run.perm.req.response")
    assert run.wait(20) == 1, f.stderr()
    errors = [e for e in events_named(f.events(), "avenor.error") if e["source"] == "permission"]
    assert errors and errors[0]["message"].startswith("permission handler: "), errors
    assert needle in errors[0]["message"]
    assert not req.exists(), ".req is deleted on a handler error"
    assert events_named(f.events(), "permission.response") == []
    assert f.files.sentinel_lines()[0] == "FAILED"


def test_file_handler_requires_message(fake, avenor):
    options = [{"optionId": "why", "name": "Reject with reason", "kind": "reject_once",
                "requiresMessage": True},
               {"optionId": "ok", "name": "Allow", "kind": "allow_once"}]
    f = fake(permission_script({"options": options}))
    run = f.start("--prompt", "p")
    run.wait_for_file(f.files.root / "run.perm.req", timeout=20)
    r = subprocess.run([avenor, "answer", "--option", "why", str(f.files.perm_base)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr  # `answer` does not check requiresMessage
    assert run.wait(20) == 1, f.stderr()
    errors = [e for e in events_named(f.events(), "avenor.error") if e["source"] == "permission"]
    assert errors, f.events()


def test_file_handler_message_relayed_not_logged(fake, avenor):
    f = fake(permission_script())
    run = f.start("--prompt", "p")
    run.wait_for_file(f.files.root / "run.perm.req", timeout=20)
    r = subprocess.run([avenor, "answer", "--option", "nope", "--message", "SECRET-REASON-99",
                        str(f.files.perm_base)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert run.wait(20) == 0, f.stderr()
    assert "SECRET-REASON-99" not in f.files.events.read_text(), "a write-in message is never logged"
    outcome = f.responses_to(0)[0]["result"]["outcome"]
    assert outcome["optionId"] == "nope" and outcome.get("message") == "SECRET-REASON-99"


# ---------------------------------------------------------------------------------------------
# Retries meet timers and signals (cli.md §3.4)
# ---------------------------------------------------------------------------------------------

def test_timeout_during_backoff(fake):
    f = fake({"fail_method": {"session/new": {"code": -32000, "message": "down"}}})
    started = time.monotonic()
    assert f.run("--prompt", "p", "--max-retries", "2", "--timeout", "1s", timeout=20) == 124
    assert time.monotonic() - started < 2.0, "the backoff sleep was not cut short by --timeout"
    assert len(events_named(f.events(), "avenor.retry")) == 1
    assert f.methods().count("session/new") == 1
    lines = f.files.sentinel_lines()
    assert lines[0] == "TIMEOUT" and "STOP_REASON=timeout" in lines


def test_signal_during_backoff(fake):
    f = fake({"fail_method": {"session/new": {"code": -32000, "message": "down"}}})
    run = f.start("--prompt", "p", "--max-retries", "3")
    run.wait_for_event(is_event("avenor.retry"), timeout=20)
    started = time.monotonic()
    run.signal(signal.SIGTERM)
    assert run.wait(10) == 130
    assert time.monotonic() - started < 1.5, "a signal must end the backoff sleep at once"
    assert f.methods().count("session/new") == 1
    lines = f.files.sentinel_lines()
    assert lines[0] == "KILLED" and "EXIT_CODE=130" in lines


# ---------------------------------------------------------------------------------------------
# Agent -> model lookup (cli.md §3.13)
# ---------------------------------------------------------------------------------------------

def lookup_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    env.update(extra)
    return env


def write_config(path: Path, agents: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"agent": {k: {"model": v} for k, v in agents.items()}}))
    return path


def test_model_lookup_from_opencode_config(fake, tmp_path):
    cfg = write_config(tmp_path / "cfg" / "custom.json", {"build": "prov/from-config"})
    f = fake({"turns": [[{"chunk": "ok"}]]}, env_extra=lookup_env(tmp_path, OPENCODE_CONFIG=str(cfg)))
    assert f.run("--prompt", "p", "--agent", "build") == 0, f.stderr()
    assert f.requests("session/set_config_option")[0]["params"] == {
        "sessionId": SESSION, "configId": "model", "value": "prov/from-config"}
    assert f.requests("session/set_mode")[0]["params"] == {"sessionId": SESSION, "modeId": "build"}


def test_model_flag_beats_lookup(fake, tmp_path):
    cfg = write_config(tmp_path / "cfg" / "custom.json", {"build": "prov/from-config"})
    f = fake({"turns": [[{"chunk": "ok"}]]}, env_extra=lookup_env(tmp_path, OPENCODE_CONFIG=str(cfg)))
    assert f.run("--prompt", "p", "--agent", "build", "--model", "prov/flag") == 0, f.stderr()
    assert [r["params"]["value"] for r in f.requests("session/set_config_option")] == ["prov/flag"]


def test_model_lookup_search_order(fake, tmp_path):
    # OPENCODE_CONFIG names a missing file (skipped); OPENCODE_CONFIG_DIR has only .jsonc;
    # XDG and HOME configs come later and lose.
    cfg_dir = tmp_path / "cfgdir"
    write_config(cfg_dir / "opencode.jsonc", {"plan": "prov/from-dir-jsonc"})
    write_config(tmp_path / "xdg" / "opencode" / "opencode.json", {"plan": "prov/from-xdg"})
    write_config(tmp_path / "home" / ".config" / "opencode" / "opencode.json", {"plan": "prov/from-home"})
    env = lookup_env(tmp_path, OPENCODE_CONFIG=str(tmp_path / "missing.json"),
                     OPENCODE_CONFIG_DIR=str(cfg_dir))
    f = fake({"turns": [[{"chunk": "ok"}]]}, env_extra=env)
    assert f.run("--prompt", "p", "--agent", "plan") == 0, f.stderr()
    assert [r["params"]["value"] for r in f.requests("session/set_config_option")] == [
        "prov/from-dir-jsonc"]


def test_model_lookup_xdg_then_home(fake, tmp_path):
    write_config(tmp_path / "home" / ".config" / "opencode" / "opencode.json", {"plan": "prov/from-home"})
    f = fake({"turns": [[{"chunk": "ok"}]]}, env_extra=lookup_env(tmp_path))
    assert f.run("--prompt", "p", "--agent", "plan") == 0, f.stderr()
    assert [r["params"]["value"] for r in f.requests("session/set_config_option")] == ["prov/from-home"]


def test_model_lookup_malformed_config_continues(fake, tmp_path):
    bad = tmp_path / "cfg" / "bad.json"
    bad.parent.mkdir()
    bad.write_text("{ this is not json")
    f = fake({"turns": [[{"chunk": "ok"}]]}, env_extra=lookup_env(tmp_path, OPENCODE_CONFIG=str(bad)))
    assert f.run("--prompt", "p", "--agent", "build") == 0, f.stderr()
    assert "avenor: " in f.stderr() and str(bad) in f.stderr()
    assert "session/set_config_option" not in f.methods()
    assert f.requests("session/set_mode")[0]["params"]["modeId"] == "build"


def test_model_lookup_config_that_is_a_fifo_is_skipped_without_blocking(fake, tmp_path):
    # A FIFO with no writer would block the run before the backend starts.
    fifo = tmp_path / "cfg.json"
    os.mkfifo(fifo, 0o600)
    f = fake({"turns": [[{"chunk": "ok"}]]}, env_extra=lookup_env(tmp_path, OPENCODE_CONFIG=str(fifo)))
    assert f.run("--prompt", "p", "--agent", "build") == 0, f.stderr()
    assert f"agent model lookup: {fifo} is not a regular file" in f.stderr()
    assert "session/set_config_option" not in f.methods()


def test_no_lookup_for_gemini(fake, tmp_path):
    cfg = write_config(tmp_path / "cfg" / "custom.json", {"build": "prov/from-config"})
    f = fake({"turns": [[{"chunk": "ok"}]]}, env_extra=lookup_env(tmp_path, OPENCODE_CONFIG=str(cfg)))
    assert f.run("--backend", "gemini-acp", "--prompt", "p", "--agent", "build") == 0, f.stderr()
    assert f.methods() == ["initialize", "session/new", "session/prompt"]


# ---------------------------------------------------------------------------------------------
# Framing, volume, startup interruptions (backends.md §1.2, §1.4)
# ---------------------------------------------------------------------------------------------

def _update_frame(text: str) -> str:
    return json.dumps({"jsonrpc": "2.0", "method": "session/update",
                       "params": {"sessionId": SESSION,
                                  "update": {"sessionUpdate": "agent_message_chunk",
                                             "content": {"type": "text", "text": text}}}})


def test_blank_lines_and_content_length_frames(fake):
    body = _update_frame("framed ")
    f = fake({"turns": [[
        {"chunk": "plain "},
        {"raw": "\n\r\n\n"},
        {"raw": f"Content-Length: {len(body.encode())}\r\n\r\n{body}"},
        {"chunk": "end"},
    ]]})
    assert f.run("--prompt", "p") == 0, f.stderr()
    assert events_named(f.events(), "session.end")[0]["final_output"] == "plain framed end"


def test_flood_nothing_dropped(fake):
    count = 20000
    f = fake({"turns": [[{"flood": {"count": count, "text": "c", "numbered": True}}, {"chunk": "|"}]]})
    assert f.run("--prompt", "p", timeout=60) == 0, f.stderr()
    events = f.events()
    chunks = events_named(events, "agent.message_chunk")
    assert len(chunks) == count + 1
    assert [c["content"]["text"] for c in chunks[:3]] == ["c0", "c1", "c2"]
    assert chunks[count - 1]["content"]["text"] == f"c{count - 1}"
    expected = "".join(f"c{i}" for i in range(count)) + "|"
    assert events_named(events, "session.end")[0]["final_output"] == expected
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


def test_unknown_request_error_message(fake):
    f = fake({"turns": [[{"request": {"method": "terminal/create", "params": {"command": "ls"}}},
                         {"request": {"method": "cursor/ask_question", "params": {}}},
                         {"chunk": "ok"}]]})
    assert f.run("--prompt", "p") == 0, f.stderr()
    for rid in (0, 1):
        err = f.responses_to(rid)[0]["error"]
        assert err["code"] == -32601
        assert err["message"] == "method not implemented by avenor"


def wait_for_method(f: FakeRun, method: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while method not in f.methods():
        if f.proc is not None and f.proc.proc.poll() is not None:
            raise AssertionError(f"avenor exited before the agent got {method}: {f.stderr()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the agent never got {method} within {timeout} s")
        time.sleep(0.05)


def test_signal_during_startup(fake):
    f = fake({"delay_ms": {"session/new": 20000}, "turns": [[{"chunk": "never"}]]})
    run = f.start("--prompt", "p")
    wait_for_method(f, "session/new")
    started = time.monotonic()
    run.signal(signal.SIGTERM)
    assert run.wait(15) == 130, f.stderr()
    assert time.monotonic() - started < 5, "avenor waited for the slow session/new"
    assert "session/prompt" not in f.methods()
    lines = f.files.sentinel_lines()
    assert lines[0] == "KILLED" and "STOP_REASON=cancelled" in lines and "EXIT_CODE=130" in lines
    assert_process_gone(f.agent_pids()[0])


def test_timeout_during_startup(fake):
    f = fake({"delay_ms": {"initialize": 20000}, "turns": [[{"chunk": "never"}]]})
    started = time.monotonic()
    assert f.run("--prompt", "p", "--timeout", "1s", timeout=15) == 124, f.stderr()
    assert time.monotonic() - started < 6
    lines = f.files.sentinel_lines()
    assert lines[0] == "TIMEOUT" and "STOP_REASON=timeout" in lines
    assert "session/new" not in f.methods()
