"""`avenor run --backend claude-channel` (backends.md §7): interactive Claude
Code in a detached tmux session plus the avenor MCP channel sidecar.

Two kinds of peer, named in each test's docstring:

* **real**: Claude Code 2.1.197 (`.peers/bin/claude`) against the scripted
  model server (Anthropic Messages), isolated HOME / CLAUDE_CONFIG_DIR. Offline
  the real claude gets as far as: the trust and "New MCP server" dialogs
  (answered by the backend), the sidecar started and registered with the relay
  (agent.channel_ready), typed prompts, transcript events, terminal permission
  dialogs, API errors. It stops at channels: it prints
  "--dangerously-load-development-channels ignored" / "Channels are not
  currently available" and never hands channel notifications to the model.
* **scripted**: tests/e2e/fake_claude_channel.py installed as `claude`, which
  starts the real `avenor claude-channel` sidecar from `.mcp.json` and acts on
  channel notifications as claude would with channels enabled (reports,
  finish, channel permission relay, cancel).

Every test uses a private tmux server (TMUX_TMPDIR) and checks afterwards that
no `avenor-*` tmux session, `avenor-channel-*` `.mcp.json` entry or
`avenor-claude-channel-*` temp dir is left.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import peers
from avenor_cli import AvenorProcess, RunFiles, events_named, standard_run_args
from control_rpc import ControlClient
from peer_claude import MODEL, claude_env, install_tmux_logger, kill_tmux_server, \
    seed_interactive_config, tmux_calls, tmux_sessions

FAKE_CLAUDE = Path(__file__).resolve().parent / "fake_claude_channel.py"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class Setup:
    """One test's world: env, project, run files, tmux call log."""

    def __init__(self, tmp_path: Path, server, fake: bool):
        self.peer = claude_env(tmp_path, server)
        self.env = self.peer.env
        self.project = self.peer.project
        self.tmp = tmp_path / "tmpdir"
        self.tmp.mkdir()
        self.env["TMPDIR"] = str(self.tmp)
        self.files = RunFiles(tmp_path / "run")
        self.fake_log = tmp_path / "fake-claude.ndjson"
        if fake:
            bin_dir = tmp_path / "fake-bin"
            bin_dir.mkdir()
            (bin_dir / "claude").symlink_to(FAKE_CLAUDE)
            self.env["PATH"] = f"{bin_dir}{os.pathsep}{self.env['PATH']}"
            self.env["FAKE_CLAUDE_LOG"] = str(self.fake_log)
        else:
            peers.require_peer("claude")
            seed_interactive_config(self.peer)
        self.tmux_log = install_tmux_logger(self.peer, tmp_path / "tmux-bin")
        self.runs: list[AvenorProcess] = []

    def start(self, *extra: str, prompt: str = "Say hello.") -> AvenorProcess:
        args = standard_run_args(self.files, "--backend", "claude-channel", "--dir",
                                 str(self.project), "--prompt", prompt, *extra)
        run = AvenorProcess(os.environ["AVENOR_BIN"], args, self.env, self.files)
        self.runs.append(run)
        return run

    def events(self) -> list[dict]:
        return self.files.read_events()

    def fake_records(self, kind: str | None = None) -> list[dict]:
        if not self.fake_log.exists():
            return []
        recs = [json.loads(x) for x in self.fake_log.read_text().splitlines() if x.strip()]
        return [r for r in recs if kind is None or r["kind"] == kind]

    def assert_nothing_left(self) -> None:
        for run in self.runs:  # a test that failed early leaves avenor running: SIGTERM it
            if run.proc.poll() is None:
                run.signal(signal.SIGTERM)
                run.wait(30)
        sessions = [s for s in tmux_sessions(self.env) if s.startswith("avenor-")]
        mcp = self.project / ".mcp.json"
        entries = []
        if mcp.exists():
            entries = [k for k in json.loads(mcp.read_text()).get("mcpServers", {})
                       if k.startswith("avenor-channel-")]
        temp = [p.name for p in self.tmp.iterdir() if p.name.startswith("avenor-claude-channel-")]
        kill_tmux_server(self.env)  # whatever else a failed test left
        assert sessions == [], f"tmux sessions left behind: {sessions}"
        assert entries == [], f".mcp.json entries left behind: {entries}"
        assert temp == [], f"temp dirs left behind: {temp}"


@pytest.fixture
def real(tmp_path, model_server):
    """Factory for a real-claude setup with a model script."""
    made = []

    def make(steps: list[dict]) -> Setup:
        server = model_server({"model": MODEL, "side_reply": "Title", "steps": steps})
        s = Setup(tmp_path, server, fake=False)
        s.server = server
        made.append(s)
        return s

    yield make
    for s in made:
        s.assert_nothing_left()


@pytest.fixture
def fake(tmp_path, model_server):
    server = model_server({"steps": []})  # unused: the stand-in never calls a model
    s = Setup(tmp_path, server, fake=True)
    yield s
    s.assert_nothing_left()


def new_session_call(s: Setup) -> list[str]:
    calls = [c for c in tmux_calls(s.tmux_log) if c[:1] == ["new-session"]]
    assert len(calls) == 1, calls
    return calls[0]


def wait_gone(s: Setup, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while [x for x in tmux_sessions(s.env) if x.startswith("avenor-")]:
        assert time.monotonic() < deadline, "the tmux session is still there"
        time.sleep(0.1)


# --- real claude -----------------------------------------------------------------------------

def test_text_turn_real(real):
    """Real claude: startup dialogs answered, prompt typed into the pane,
    transcript events, session.end from the transcript's end_turn, --model at
    the model server, the exact tmux command line, and the sidecar registered."""
    s = real([{"reply_chunks": ["CC-FAKE-", "REPLY-77"]}])
    run = s.start("--model", MODEL, "--label", "my label", prompt="Reply with the marker.")
    assert run.wait(180) == 0, s.files.stderr_text()
    ev = s.events()

    start = events_named(ev, "session.start")[0]
    sid = start["session_id"]
    assert UUID.match(sid), sid
    assert start["backend"] == "claude-channel"
    assert start["dir"] == str(s.project.resolve())
    assert re.match(r"^http://127\.0\.0\.1:\d+$", start["broker_url"])
    assert start["dangerously_load"] is True
    assert start["pid"] > 0

    # the tmux command, exactly as §7.3 has it
    call = new_session_call(s)
    server_name = start["server_name"]
    assert re.match(r"^avenor-channel-[0-9a-f]{8}$", server_name)
    assert call[:10] == ["new-session", "-d", "-s", f"avenor-{sid[:8]}", "-c",
                         str(s.project.resolve()), "-x", "220", "-y", "50"]
    assert call[10] == (
        "unset CLAUDE_CODE_CHILD_SESSION CLAUDE_CODE_SESSION_ID CLAUDE_PID; exec claude "
        f"'--dangerously-load-development-channels' 'server:{server_name}' '--session-id' '{sid}' "
        f"'--name' 'my label' '--model' '{MODEL}' '--permission-mode' 'default'")

    # both delivery paths, then the transcript
    queued = events_named(ev, "agent.prompt_queued")[0]
    assert queued["delivery"] == "channel" and queued["message_type"] == "continue"
    assert queued["prompt_length"] == len("Reply with the marker.")
    submitted = events_named(ev, "agent.prompt_submitted")[0]
    assert submitted == {**submitted, "delivery": "tmux", "prompt_length": 22}
    ready = events_named(ev, "agent.channel_ready")
    assert ready and ready[0]["server_name"] == server_name and ready[0]["source"] == "channel"
    users = "".join(e.get("delta", "") for e in events_named(ev, "user.message_chunk"))
    assert "Reply with the marker." in users
    text = "".join(e.get("delta", "") for e in events_named(ev, "agent.message_chunk"))
    assert text == "CC-FAKE-REPLY-77"
    end = events_named(ev, "session.end")
    assert len(end) == 1
    assert end[0]["stop_reason"] == "end_turn" and end[0]["status"] == "done"
    assert end[0]["final_output"] == "CC-FAKE-REPLY-77"
    assert s.files.sentinel_lines()[0] == "DONE"

    # the model server saw --model, and claude acted on the prompt once
    mains = s.server.requests(kind="main")
    assert mains and all(r["body"]["model"] == MODEL for r in mains)
    prompts = [m for r in mains for m in r["body"]["messages"] if m["role"] == "user"
               and "Reply with the marker." in json.dumps(m["content"])]
    assert len(prompts) == 1, "claude got the prompt more than once"

    # the startup dialogs were answered once each: trust (stored by claude),
    # then "New MCP server" (its approval, kept by claude in the project's
    # .claude/settings.local.json, is removed again at teardown)
    cfg = json.loads((Path(s.env["CLAUDE_CONFIG_DIR"]) / ".claude.json").read_text())
    project_cfg = cfg["projects"][str(s.project.resolve())]
    assert project_cfg.get("hasTrustDialogAccepted") is True
    keys = [c[3:] for c in tmux_calls(s.tmux_log) if c[:1] == ["send-keys"]]
    assert keys[:2] == [["Enter"], ["1", "Enter"]], keys
    local = json.loads((s.project / ".claude" / "settings.local.json").read_text())
    assert server_name not in local.get("enabledMcpjsonServers", [])
    loads = [c for c in tmux_calls(s.tmux_log) if c[:1] == ["load-buffer"]]
    assert loads and loads[0][1:3] == ["-b", f"avenor-prompt-{sid[:8]}"]
    assert any(c[:1] == ["kill-session"] for c in tmux_calls(s.tmux_log))


def test_tool_permission_allowed_by_auto_approve_real(real):
    """Real claude: a Bash tool call opens the terminal permission dialog; the
    backend reports it (source tmux, numbered options), --auto-approve picks the
    first allow option, the key reaches the pane and the command runs."""
    s = real([{"tool_call": {"command": "touch made-by-claude.txt"}}, {"reply": "TOUCHED-IT"}])
    run = s.start("--auto-approve", prompt="Create the file.")
    assert run.wait(180) == 0, s.files.stderr_text()
    ev = s.events()
    req = events_named(ev, "permission.request")
    assert len(req) == 1, req
    assert req[0]["source"] == "tmux"
    assert "Do you want to proceed?" in req[0]["description"]
    assert "touch made-by-claude.txt" in req[0]["description"]
    labels = [(o["optionId"], o["kind"]) for o in req[0]["options"]]
    assert labels[0] == ("1", "allow") and labels[-1][1] == "reject", labels
    assert events_named(ev, "permission.response")
    assert (s.project / "made-by-claude.txt").exists()
    calls = events_named(ev, "tool.call")
    assert calls and calls[0]["title"] == "Bash" and calls[0]["status"] == "running"
    updates = events_named(ev, "tool.call_update")
    assert updates and updates[0]["tool_use_id"] == calls[0]["tool_use_id"]
    assert events_named(ev, "session.end")[0]["final_output"].endswith("TOUCHED-IT")


def answer_by_file(s: Setup, run: AvenorProcess, avenor: str, option: str) -> dict:
    req_file = Path(str(s.files.perm_base) + ".req")
    run.wait_for_file(req_file, timeout=120)
    request = json.loads(req_file.read_text())
    p = subprocess.run([avenor, "answer", "--option", option, str(s.files.perm_base)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return request


def test_tool_permission_allowed_by_file_handler_real(real, avenor):
    """Real claude: the pane dialog goes to the file handler; `avenor answer
    --option 2` ("Yes, and always allow …") is sent as key 2."""
    s = real([{"tool_call": {"command": "touch allowed.txt"}}, {"reply": "ALLOWED"}])
    run = s.start(prompt="Create allowed.txt.")
    request = answer_by_file(s, run, avenor, "2")
    assert [o["optionId"] for o in request["options"]][:2] == ["1", "2"]
    assert run.wait(180) == 0, s.files.stderr_text()
    assert (s.project / "allowed.txt").exists()
    keys = [c for c in tmux_calls(s.tmux_log) if c[:1] == ["send-keys"]]
    assert any(c[-2:] == ["2", "Enter"] for c in keys), keys


def test_tool_permission_rejected_by_file_handler_real(real, avenor):
    """Real claude: rejecting the pane dialog sends Escape; claude interrupts
    the turn (its transcript gets "[Request interrupted by user for tool use]"
    and no end_turn), and the backend ends the turn when the input box is back
    (session.end status blocked, stop_reason end_turn). The command never ran."""
    s = real([{"tool_call": {"command": "touch rejected.txt"}}, {"reply": "NOT-REACHED"}])
    run = s.start(prompt="Create rejected.txt.")
    request = answer_by_file(s, run, avenor, "3")
    assert request["options"][-1]["kind"] == "reject"
    assert run.wait(180) == 0, s.files.stderr_text()
    assert not (s.project / "rejected.txt").exists()
    end = events_named(s.events(), "session.end")
    assert len(end) == 1 and end[0]["status"] == "blocked", end
    # Escape on its own (ESC right before Enter would read as Alt+Enter)
    keys = [c[3:] for c in tmux_calls(s.tmux_log) if c[:1] == ["send-keys"]]
    assert ["Escape"] in keys, keys
    # claude's own record of the refusal
    transcript = next(Path(s.env["CLAUDE_CONFIG_DIR"]).glob("projects/*/*.jsonl")).read_text()
    assert "[Request interrupted by user for tool use]" in transcript


def test_sigterm_cancels_and_kills_the_terminal_real(real):
    """Real claude, model hanging: SIGTERM → channel cancel queued, tmux
    session killed after 2 s, exit 130, sentinel KILLED, nothing left."""
    s = real([{"hang": True}])
    run = s.start(prompt="Think forever.")
    run.wait_for_event(lambda e: e.get("event") == "agent.prompt_submitted", timeout=120)
    s.server.wait_for_requests(lambda recs: any(r["kind"] == "main" for r in recs), timeout=60,
                               what="the hanging main request")
    started = time.monotonic()
    run.signal(signal.SIGTERM)
    assert run.wait(30) == 130, s.files.stderr_text()
    assert time.monotonic() - started < 10
    assert s.files.sentinel_lines()[0] == "KILLED"
    end = events_named(s.events(), "session.end")
    assert end and end[-1]["stop_reason"] == "cancelled"
    assert any(c[:1] == ["kill-session"] for c in tmux_calls(s.tmux_log))


def test_control_cancel_real(real, tmp_path):
    """Real claude: the control socket's `cancel` does what SIGTERM does."""
    s = real([{"hang": True}])
    sock = tmp_path / "ctl.sock"
    run = s.start("--control-socket", str(sock), prompt="Think forever.")
    run.wait_for_event(lambda e: e.get("event") == "agent.prompt_submitted", timeout=120)
    with ControlClient(sock) as c:
        c.call_ok("cancel")
    assert run.wait(30) == 130, s.files.stderr_text()
    assert s.files.sentinel_lines()[0] == "KILLED"


def test_model_server_failure_real(real):
    """Real claude, the model answers 500 (CLAUDE_CODE_MAX_RETRIES=0): claude
    writes an API error record to the transcript; the backend ends the turn
    with session.end {status failed, stop_reason error} and the run exits 1."""
    s = real([{"error": 500, "message": "injected failure", "repeat": True}])
    run = s.start(prompt="Say hello.")
    assert run.wait(180) == 1, s.files.stderr_text()
    end = events_named(s.events(), "session.end")
    assert len(end) == 1 and end[0]["stop_reason"] == "error" and end[0]["status"] == "failed"
    assert "500" in end[0]["error_message"] or "injected failure" in end[0]["error_message"]


def test_thinking_becomes_effort_real(real):
    """Real claude: --thinking high → `--effort high` on claude's command line."""
    s = real([{"reply": "EFFORT-OK"}])
    run = s.start("--thinking", "high", prompt="Say hello.")
    assert run.wait(180) == 0, s.files.stderr_text()
    assert "'--effort' 'high'" in new_session_call(s)[10]


def test_claude_exit_ends_the_session_real(real):
    """Real claude: the session's terminal disappearing mid-turn (someone kills
    the tmux session) → session.end {done, end_turn} and teardown."""
    s = real([{"hang": True}])
    run = s.start(prompt="Think forever.")
    start = run.wait_for_event(lambda e: e.get("event") == "agent.prompt_submitted", timeout=120)
    del start
    name = [x for x in tmux_sessions(s.env) if x.startswith("avenor-")]
    assert len(name) == 1
    subprocess.run(["/usr/bin/tmux", "kill-session", "-t", "=" + name[0]], env=s.env, check=True)
    assert run.wait(60) == 0, s.files.stderr_text()
    end = events_named(s.events(), "session.end")
    assert len(end) == 1 and end[0]["status"] == "done" and end[0]["stop_reason"] == "end_turn"


def test_multiline_prompt_is_one_message_real(real):
    """Real claude: a prompt with newlines is pasted as one (bracketed paste),
    not submitted at its first line."""
    s = real([{"reply": "GOT-ALL-LINES"}])
    run = s.start(prompt="Line one.\nLine two.\nLine three.")
    assert run.wait(180) == 0, s.files.stderr_text()
    users = [m for r in s.server.requests(kind="main") for m in r["body"]["messages"]
             if m["role"] == "user"]
    texts = [json.dumps(m["content"]) for m in users]
    assert any("Line one." in t and "Line two." in t and "Line three." in t for t in texts), texts
    assert len([t for t in texts if "Line one." in t]) == 1
    assert events_named(s.events(), "session.end")[0]["final_output"] == "GOT-ALL-LINES"


def test_second_turn_in_the_same_terminal_real(real, tmp_path):
    """Real claude: a prompt queued on the control socket runs as a second turn
    in the same terminal; each turn ends on its own end_turn record (the first
    turn's record cannot end the second)."""
    s = real([{"reply": "FIRST-ANSWER"}, {"reply": "SECOND-ANSWER"}])
    sock = tmp_path / "ctl.sock"
    run = s.start("--control-socket", str(sock), prompt="First question.")
    run.wait_for_file(sock, timeout=60)
    with ControlClient(sock) as c:
        c.call_ok("prompt", {"text": "Second question."})
    assert run.wait(180) == 0, s.files.stderr_text()
    ends = events_named(s.events(), "session.end")
    assert [e["final_output"] for e in ends] == ["FIRST-ANSWER", "SECOND-ANSWER"]
    assert len({e["session_id"] for e in ends}) == 1
    assert len([c for c in tmux_calls(s.tmux_log) if c[:1] == ["new-session"]]) == 1


# --- preconditions (no claude needed) ----------------------------------------------------------

def test_preconditions(fake, tmp_path):
    """Scripted: an old `claude`, a missing tmux, pty terminal, resume and a
    server URL are refused before anything starts."""
    old = tmp_path / "old-bin"
    old.mkdir()
    (old / "claude").write_text("#!/bin/sh\necho '2.0.5 (Claude Code)'\n")
    (old / "claude").chmod(0o755)
    env = dict(fake.env, PATH=f"{old}{os.pathsep}{fake.env['PATH']}")
    p = subprocess.run([os.environ["AVENOR_BIN"], "run", "--backend", "claude-channel", "--dir",
                        str(fake.project), "--prompt", "x"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1
    assert "Claude Code 2.0.5 is too old: channels need 2.1.80 or later" in p.stderr

    p = subprocess.run([os.environ["AVENOR_BIN"], "run", "--backend", "claude-channel", "--dir",
                        str(fake.project), "--prompt", "x"],
                       env=dict(fake.env, AVENOR_CLAUDE_TERMINAL="pty"), capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1
    assert "AVENOR_CLAUDE_TERMINAL=pty is not supported" in p.stderr

    p = subprocess.run([os.environ["AVENOR_BIN"], "run", "--backend", "claude-channel", "--dir",
                        str(fake.project), "--prompt", "x", "--server-url",
                        "http://127.0.0.1:9"], env=fake.env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1
    assert "external server URL transport is not implemented" in p.stderr

    p = subprocess.run([os.environ["AVENOR_BIN"], "run", "--backend", "claude-channel", "--dir",
                        str(fake.project), "--prompt", "x", "--resume", "abc",
                        "--thinking", "high"], env=fake.env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1
    assert "only when starting a session" in p.stderr

    p = subprocess.run([os.environ["AVENOR_BIN"], "run", "--backend", "claude-channel", "--dir",
                        str(fake.project), "--prompt", "x", "--resume", "abc"], env=fake.env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "cannot resume session abc" in p.stderr
    assert not any(c[:1] == ["new-session"] for c in tmux_calls(fake.tmux_log))


# --- scripted claude with working channels ----------------------------------------------------

def test_channel_report_reply_finish_scripted(fake):
    """Scripted claude with channels: the `continue` control message reaches
    claude through the sidecar as notifications/claude/channel; its
    avenor_report / avenor_reply / avenor_finish calls come back as
    agent.report, agent.status, agent.reply, agent.finish and session.end."""
    run = fake.start(prompt="Fix the build.")
    assert run.wait(120) == 0, fake.files.stderr_text()
    ev = fake.events()
    assert events_named(ev, "agent.channel_ready")
    report = events_named(ev, "agent.report")[0]
    assert report["state"] == "working" and report["payload"] == {"message": "on it"}
    assert any(e.get("phase") == "working" and e.get("source") == "channel"
               for e in events_named(ev, "agent.status"))
    queued = events_named(ev, "agent.prompt_queued")[0]
    reply = events_named(ev, "agent.reply")[0]
    assert reply["to"] == queued["control_id"] and reply["payload"] == {"ack": "Fix the build."}
    fin = events_named(ev, "agent.finish")[0]
    assert fin["status"] == "done" and fin["summary"] == "did: Fix the build."
    assert fin["files_changed"] == ["fake.txt"]
    end = events_named(ev, "session.end")
    assert len(end) == 1
    assert end[0]["status"] == "done" and end[0]["stop_reason"] == "end_turn"
    assert end[0]["summary"] == "did: Fix the build." and end[0]["files_changed"] == ["fake.txt"]

    # both delivery paths carried the prompt; the stand-in acted on the channel one
    typed = [r["text"] for r in fake.fake_records("typed")]
    assert "Fix the build." in typed
    channel = [r["message"]["params"] for r in fake.fake_records("mcp")
               if r["message"].get("method") == "notifications/claude/channel"]
    assert channel[0]["content"] == "Fix the build."
    assert channel[0]["meta"]["type"] == "continue"
    assert channel[0]["meta"]["ctrl_id"] == queued["control_id"]
    argv = fake.fake_records("argv")[0]
    assert argv["env"] == {"CLAUDE_CODE_CHILD_SESSION": None, "CLAUDE_CODE_SESSION_ID": None,
                           "CLAUDE_PID": None}
    # the sidecar was started from the project's .mcp.json entry, which is gone now
    init = next(r["message"] for r in fake.fake_records("mcp")
                if "result" in r["message"] and "capabilities" in r["message"]["result"])
    assert init["result"]["capabilities"]["experimental"] == {"claude/channel": {},
                                                              "claude/channel/permission": {}}


def test_channel_finish_failed_scripted(fake):
    """Scripted: avenor_finish failed → session.end stop_reason error, exit 1."""
    run = fake.start(prompt="FAIL please")
    assert run.wait(120) == 1, fake.files.stderr_text()
    end = events_named(fake.events(), "session.end")
    assert len(end) == 1 and end[0]["stop_reason"] == "error" and end[0]["status"] == "failed"


@pytest.mark.parametrize("option,behavior", [("allow", "allow"), ("deny", "deny")])
def test_channel_permission_relay_scripted(fake, avenor, option, behavior):
    """Scripted: claude's channel permission_request → permission.request
    {source channel}; the file handler's answer goes back as the structured
    notifications/claude/channel/permission {request_id, behavior} (D11)."""
    run = fake.start(prompt="ASK-PERMISSION now")
    request = answer_by_file(fake, run, avenor, option)
    assert request["tool"] == "Bash" and request["question"] == "Run make test"
    event = run.wait_for_event(lambda e: e.get("event") == "permission.request")
    assert event["source"] == "channel" and event["request_id"] == request["request_id"]
    assert event["input"] == json.dumps({"command": "make test"})
    assert [o["optionId"] for o in request["options"]] == ["allow", "deny"]
    assert run.wait(120) == 0, fake.files.stderr_text()
    perms = [r["message"]["params"] for r in fake.fake_records("mcp")
             if r["message"].get("method") == "notifications/claude/channel/permission"]
    assert perms == [{"request_id": request["request_id"], "behavior": behavior}]
    end = events_named(fake.events(), "session.end")
    assert end[0]["summary"] == behavior


def test_channel_cancel_scripted(fake):
    """Scripted: SIGTERM → the cancel control message reaches claude as a
    channel notification asking it to stop and call avenor_finish; the tmux
    session is killed 2 s later regardless; exit 130."""
    run = fake.start(prompt="STALL here")
    run.wait_for_event(lambda e: e.get("event") == "agent.report", timeout=60)
    run.signal(signal.SIGTERM)
    assert run.wait(30) == 130, fake.files.stderr_text()
    assert fake.files.sentinel_lines()[0] == "KILLED"
    cancels = [r["message"]["params"] for r in fake.fake_records("mcp")
               if r["message"].get("method") == "notifications/claude/channel"
               and r["message"]["params"]["meta"]["type"] == "cancel"]
    assert cancels and "user cancel" in cancels[0]["content"]
    assert any(c[:1] == ["kill-session"] for c in tmux_calls(fake.tmux_log))


def test_two_turns_in_one_terminal_scripted(fake, tmp_path):
    """Scripted: a prompt queued over the control socket runs as a second turn
    in the same terminal (same session id, one tmux session)."""
    sock = tmp_path / "ctl.sock"
    run = fake.start("--control-socket", str(sock), prompt="first task")
    run.wait_for_file(sock, timeout=60)
    with ControlClient(sock) as c:
        c.call_ok("prompt", {"text": "second task"})
    assert run.wait(120) == 0, fake.files.stderr_text()
    ev = fake.events()
    ends = events_named(ev, "session.end")
    assert [e["summary"] for e in ends] == ["did: first task", "did: second task"]
    assert len({e["session_id"] for e in ends}) == 1
    assert len([c for c in tmux_calls(fake.tmux_log) if c[:1] == ["new-session"]]) == 1


def test_stray_mcp_json_is_kept_scripted(fake):
    """Scripted: a project `.mcp.json` with other servers keeps them; only the
    session's own entry comes and goes."""
    mcp = fake.project / ".mcp.json"
    mcp.write_text(json.dumps({"mcpServers": {"github": {"command": "gh"}}, "x": 1}))
    run = fake.start(prompt="quick")
    assert run.wait(120) == 0, fake.files.stderr_text()
    assert json.loads(mcp.read_text()) == {"mcpServers": {"github": {"command": "gh"}}, "x": 1}


def test_avenor_killed_guardian_cleans_up_scripted(fake):
    """Scripted: avenor itself is SIGKILLed mid-turn (no cancel, no close). The
    guardian sees its stdin end and kills the tmux session, removes the temp
    dir and runs `avenor claude-channel-cleanup`, which drops the now-stale
    `.mcp.json` entry (its relay died with avenor)."""
    run = fake.start(prompt="STALL here")
    run.wait_for_event(lambda e: e.get("event") == "agent.report", timeout=60)
    assert [x for x in tmux_sessions(fake.env) if x.startswith("avenor-")]
    run.proc.kill()
    run.wait(30)
    deadline = time.monotonic() + 15
    mcp = fake.project / ".mcp.json"
    while True:
        sessions = [x for x in tmux_sessions(fake.env) if x.startswith("avenor-")]
        entries = list(json.loads(mcp.read_text()).get("mcpServers", {})) if mcp.exists() else []
        temp = [p for p in fake.tmp.iterdir() if p.name.startswith("avenor-claude-channel-")]
        if not sessions and not entries and not temp:
            break
        assert time.monotonic() < deadline, (sessions, entries, temp)
        time.sleep(0.1)


def test_claude_dying_at_start_fails_cleanly_scripted(fake):
    """Scripted: a claude that exits at once → the run fails (exit 1) with a
    one-line reason, and nothing is left behind."""
    fake.env["FAKE_CLAUDE_EXIT_AT_START"] = "1"
    run = fake.start(prompt="anything")
    assert run.wait(60) == 1
    stderr = fake.files.stderr_text()
    assert ("no pane pid" in stderr or "has ended" in stderr
            or "terminal closed before the prompt" in stderr), stderr
