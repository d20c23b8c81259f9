"""`avenor claude-channel` (the MCP channel sidecar, backends.md §7.4) driven by
a raw MCP stdio client (tests/e2e/mcp_stdio_client.py, speaking as Claude Code
does) against a scripted relay (tests/e2e/fake_channel_relay.py).

Scripted peers on both sides: the real Claude Code as the MCP client is in
test_claude_channel_sidecar_claude.py; channel notifications cannot be shown
with the real claude offline (peers.md §5: channels are gated), so they are
covered here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import pytest

from fake_channel_relay import FakeChannelRelay
from mcp_stdio_client import McpStdioProcess

RUN_ID = "0123456789abcdef0123456789abcdef"
TOKEN = "tok-secret-42"
SERVER_NAME = "avenor-channel-01234567"


def sidecar_argv(avenor: str, url: str) -> list[str]:
    return [avenor, "claude-channel", "--run-id", RUN_ID, "--token", TOKEN, "--broker-url", url]


@pytest.fixture
def relay():
    with FakeChannelRelay(RUN_ID, TOKEN) as r:
        yield r


@pytest.fixture
def sidecar(avenor, relay, tmp_path):
    with McpStdioProcess(sidecar_argv(avenor, relay.url), dict(os.environ),
                         tmp_path / "sidecar.stderr") as mcp:
        yield mcp


def text_of(result: dict) -> str:
    return "".join(c.get("text", "") for c in result["content"])


def is_channel(m: dict) -> bool:
    return m.get("method") == "notifications/claude/channel"


def closed_port() -> int:
    """A loopback port with nobody listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- flags -----------------------------------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    ([], "are all required"),
    (["--run-id", "r", "--token", "t"], "are all required"),
    (["--run-id", "r", "--broker-url", "http://127.0.0.1:1"], "are all required"),
    (["--token", "t", "--broker-url", "http://127.0.0.1:1"], "are all required"),
    (["--run-id", "r", "--token", "t", "--broker-url", "http://10.1.2.3:80"], "loopback"),
    (["--run-id", "r", "--token", "t", "--broker-url", "https://127.0.0.1:80"], "not an http://"),
    (["--run-id", "r", "--token", "t", "--broker-url", "http://127.0.0.1"], "port is required"),
    (["--run-id", "r", "--token", "t", "--broker-url", "http://127.0.0.1:1", "extra"],
     "unexpected argument extra"),
    (["--bogus"], "flag provided but not defined: -bogus"),
])
def test_bad_flags_exit_2(avenor, args, needle):
    p = subprocess.run([avenor, "claude-channel", *args], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=10)
    assert p.returncode == 2, p.stderr
    assert p.stdout == b""
    assert needle in p.stderr.decode(), p.stderr


def test_help_is_usage_on_stdout(avenor):
    # issue 13: asked-for help is no usage error
    p = subprocess.run([avenor, "claude-channel", "-h"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=10)
    assert p.returncode == 0 and p.stderr == b""
    assert p.stdout.decode().startswith("Usage: avenor claude-channel")


# --- handshake -------------------------------------------------------------------------------

def test_initialize_advertises_channel_capabilities(sidecar):
    resp = sidecar.initialize()
    result = resp["result"]
    assert resp["jsonrpc"] == "2.0"
    assert result["protocolVersion"] == "2024-11-05"
    assert result["serverInfo"]["name"] == "avenor"
    assert result["capabilities"]["experimental"] == {"claude/channel": {},
                                                      "claude/channel/permission": {}}
    assert result["capabilities"]["tools"] == {}
    instructions = result["instructions"]
    assert '<channel source="avenor"' in instructions
    for tool in ("avenor_reply", "avenor_report", "avenor_finish"):
        assert tool in instructions

    tools = {t["name"]: t for t in sidecar.request("tools/list")["result"]["tools"]}
    assert set(tools) == {"avenor_report", "avenor_finish", "avenor_reply"}
    report = tools["avenor_report"]["inputSchema"]
    assert report["properties"]["state"]["enum"] == [
        "started", "thinking", "working", "blocked", "checkpoint", "permission_requested", "error"]
    assert report["required"] == ["state"]
    finish = tools["avenor_finish"]["inputSchema"]
    assert finish["properties"]["status"]["enum"] == ["done", "failed", "blocked"]
    assert finish["properties"]["files_changed"]["type"] == "array"
    assert tools["avenor_reply"]["inputSchema"]["required"] == ["to"]

    assert sidecar.request("ping")["result"] == {}


def test_registers_at_start_then_heartbeats(sidecar, relay):
    """/register comes without waiting for initialize; /heartbeat every 5 s."""
    reg = relay.wait_for("/register", timeout=10)
    assert reg["authed"], reg
    assert reg["body"]["server_name"] == SERVER_NAME
    assert reg["body"]["pid"] == sidecar.proc.pid
    beat = relay.wait_for("/heartbeat", timeout=10)
    assert beat["authed"]
    assert 4.0 <= beat["time"] - reg["time"] <= 8.0, beat["time"] - reg["time"]


def test_register_is_retried_until_the_relay_accepts(avenor, relay, tmp_path):
    relay.fail("/register", 503)
    with McpStdioProcess(sidecar_argv(avenor, relay.url), dict(os.environ),
                         tmp_path / "sidecar.stderr") as mcp:
        relay.wait_for("/register", count=2, timeout=10)
        assert relay.recorded("/heartbeat") == []
        relay.fail("/register", 0)
        relay.wait_for("/heartbeat", timeout=15)
        assert "relay answered 503 to /register" in mcp.stderr_text()


def test_bad_json_and_unknown_methods(sidecar):
    sidecar.send_raw(b"this is not json\n")
    err = sidecar.wait_message(lambda m: "error" in m, what="a parse error")
    assert err["error"]["code"] == -32700 and err["id"] is None
    sidecar.send_raw(b"[1,2]\n")
    err = sidecar.wait_message(lambda m: m.get("error", {}).get("code") == -32600,
                               what="an invalid request error")
    assert err["id"] is None
    resp = sidecar.request("resources/list")
    assert resp["error"]["code"] == -32601
    # a string id is echoed as it came
    sidecar.send({"jsonrpc": "2.0", "id": "abc", "method": "ping"})
    assert sidecar.wait_message(lambda m: m.get("id") == "abc")["result"] == {}


# --- tools -----------------------------------------------------------------------------------

def test_tool_calls_reach_the_relay_with_credentials(sidecar, relay):
    sidecar.initialize()
    r = sidecar.request("tools/call", {"name": "avenor_report", "arguments": {
        "state": "working", "payload": {"message": "editing", "step": 2}}})
    assert not r["result"].get("isError"), r
    assert "working" in text_of(r["result"])
    rep = relay.wait_for("/report")
    assert rep["authed"]
    assert rep["body"]["state"] == "working"
    assert rep["body"]["payload"] == {"message": "editing", "step": 2}

    r = sidecar.request("tools/call", {"name": "avenor_reply", "arguments": {
        "to": "ctrl-7", "payload": "all good"}})
    assert not r["result"].get("isError"), r
    rep = relay.wait_for("/reply")
    assert rep["authed"] and rep["body"]["to"] == "ctrl-7" and rep["body"]["payload"] == "all good"

    r = sidecar.request("tools/call", {"name": "avenor_finish", "arguments": {
        "status": "done", "summary": "fixed it", "files_changed": ["a.c", "b.c"],
        "details": {"tests": "pass"}}})
    assert not r["result"].get("isError"), r
    fin = relay.wait_for("/finish")
    assert fin["authed"]
    assert fin["body"]["status"] == "done"
    assert fin["body"]["summary"] == "fixed it"
    assert fin["body"]["files_changed"] == ["a.c", "b.c"]
    assert fin["body"]["details"] == {"tests": "pass"}

    # optional fields get their empty values
    sidecar.request("tools/call", {"name": "avenor_finish", "arguments": {"status": "blocked"}})
    fin = relay.wait_for("/finish", count=2)
    assert fin["body"]["summary"] == "" and fin["body"]["files_changed"] == []


@pytest.mark.parametrize("name,args,needle", [
    ("avenor_report", {"state": "sleeping"}, "state must be one of"),
    ("avenor_report", {}, "state must be one of"),
    ("avenor_finish", {"status": "maybe"}, "status must be one of"),
    ("avenor_finish", {"status": "done", "files_changed": "a.c"}, "files_changed must be an array"),
    ("avenor_finish", {"status": "done", "summary": 3}, "summary must be a string"),
    ("avenor_reply", {"payload": "x"}, "to is required"),
])
def test_bad_tool_arguments_are_tool_errors(sidecar, relay, name, args, needle):
    sidecar.initialize()
    r = sidecar.request("tools/call", {"name": name, "arguments": args})
    assert r["result"]["isError"] is True
    assert needle in text_of(r["result"])
    assert [x for x in relay.recorded() if x["route"] in ("/report", "/finish", "/reply")] == []


def test_unknown_tool_is_a_protocol_error(sidecar):
    sidecar.initialize()
    r = sidecar.request("tools/call", {"name": "avenor_launch_missiles", "arguments": {}})
    assert r["error"]["code"] == -32602
    assert "avenor_launch_missiles" in r["error"]["message"]


def test_relay_errors_are_tool_errors(sidecar, relay):
    sidecar.initialize()
    relay.fail("/report", 500)
    r = sidecar.request("tools/call", {"name": "avenor_report", "arguments": {"state": "error"}})
    assert r["result"]["isError"] is True
    assert "500" in text_of(r["result"]) and "/report" in text_of(r["result"])


def test_wrong_token_is_refused_by_the_relay(avenor, tmp_path):
    with FakeChannelRelay(RUN_ID, "another-token") as relay, \
            McpStdioProcess(sidecar_argv(avenor, relay.url), dict(os.environ),
                            tmp_path / "sidecar.stderr") as mcp:
        mcp.initialize()
        r = mcp.request("tools/call", {"name": "avenor_report", "arguments": {"state": "working"}})
        assert r["result"]["isError"] is True and "401" in text_of(r["result"])
        assert relay.wait_for("/report")["body"]["token"] == TOKEN


def test_unreachable_relay_keeps_serving(avenor, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    with McpStdioProcess(sidecar_argv(avenor, url), dict(os.environ),
                         tmp_path / "sidecar.stderr") as mcp:
        mcp.initialize()
        r = mcp.request("tools/call", {"name": "avenor_finish", "arguments": {"status": "done"}})
        assert r["result"]["isError"] is True
        assert "relay unreachable" in text_of(r["result"])
        assert mcp.request("ping")["result"] == {}
        assert "relay unreachable" in mcp.stderr_text()


# --- control messages ------------------------------------------------------------------------

def test_control_messages_become_channel_notifications(sidecar, relay):
    sidecar.initialize()
    relay.wait_for("/poll-control")
    relay.push({"id": "c1", "type": "continue", "run_id": RUN_ID,
                "payload": {"message": "Please fix the build."}, "created_at": "2026-01-01T00:00:00Z"})
    n = sidecar.wait_message(is_channel, what="the continue notification")["params"]
    assert n["content"] == "Please fix the build."
    assert n["meta"] == {"run_id": RUN_ID, "ctrl_id": "c1", "type": "continue", "from_run_id": ""}

    relay.push({"id": "c2", "type": "add_context", "run_id": RUN_ID,
                "payload": {"message": "The CI uses gcc 12.", "from_run_id": "other-run"}})
    n = sidecar.wait_message(lambda m: is_channel(m) and m["params"]["meta"]["ctrl_id"] == "c2",
                             what="the add_context notification")["params"]
    assert n["content"].startswith("Incorporate")
    assert n["content"].endswith("The CI uses gcc 12.")
    assert n["meta"]["type"] == "add_context" and n["meta"]["from_run_id"] == "other-run"

    relay.push({"id": "c3", "type": "request_status", "run_id": RUN_ID, "payload": {}})
    relay.push({"id": "c4", "type": "cancel", "run_id": RUN_ID,
                "payload": {"reason": "user cancel"}})
    n3 = sidecar.wait_message(lambda m: is_channel(m) and m["params"]["meta"]["ctrl_id"] == "c3",
                              what="the request_status notification")["params"]
    assert "avenor_reply" in n3["content"] and '"c3"' in n3["content"]
    n4 = sidecar.wait_message(lambda m: is_channel(m) and m["params"]["meta"]["ctrl_id"] == "c4",
                              what="the cancel notification")["params"]
    assert "stop" in n4["content"] and "user cancel" in n4["content"]
    assert "avenor_finish" in n4["content"] and "blocked" in n4["content"]
    assert "failed" in n4["content"]
    # order is kept: c3 before c4
    ids = [m["params"]["meta"]["ctrl_id"] for m in sidecar.messages if is_channel(m)]
    assert ids == ["c1", "c2", "c3", "c4"]
    assert all(r["authed"] for r in relay.recorded("/poll-control"))


def test_permission_decision_is_the_structured_notification(sidecar, relay):
    sidecar.initialize()
    relay.push({"id": "c1", "type": "permission_decision", "run_id": RUN_ID,
                "payload": {"request_id": "abcde", "behavior": "allow", "option_id": "allow",
                            "message": ""}})
    relay.push({"id": "c2", "type": "permission_decision", "run_id": RUN_ID,
                "payload": {"request_id": "fghij", "behavior": "deny"}})
    is_perm = lambda m: m.get("method") == "notifications/claude/channel/permission"  # noqa: E731
    first = sidecar.wait_message(is_perm, what="the permission notification")
    assert first["params"] == {"request_id": "abcde", "behavior": "allow"}
    second = sidecar.wait_message(lambda m: is_perm(m) and m is not first,
                                  what="the second permission notification")
    assert second["params"] == {"request_id": "fghij", "behavior": "deny"}
    # a decision is never turned into conversation text
    assert not any(is_channel(m) for m in sidecar.messages)


def test_malformed_control_messages_are_skipped(sidecar, relay):
    sidecar.initialize()
    relay.push({"id": "bad1", "payload": {"message": "no type"}})
    relay.push({"id": "bad2", "type": "permission_decision", "payload": {"behavior": "allow"}})
    relay.push({"id": "ok", "type": "continue", "payload": {"message": "still here"}})
    n = sidecar.wait_message(is_channel, what="the valid notification")
    assert n["params"]["meta"]["ctrl_id"] == "ok"
    assert not any(m.get("method", "").endswith("/permission") for m in sidecar.messages)
    assert "ignoring control message" in sidecar.stderr_text()


def test_no_polling_before_initialized(sidecar, relay):
    """Notifications may only follow notifications/initialized, so the long poll
    starts there (checked over a one-second window after initialize)."""
    sidecar.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                   "clientInfo": {"name": "t", "version": "0"}})
    relay.wait_for("/register")
    relay.push({"id": "c1", "type": "continue", "payload": {"message": "queued early"}})
    sidecar.assert_no_message(is_channel, within=1.0, what="a notification before initialized")
    assert relay.recorded("/poll-control") == []
    sidecar.notify("notifications/initialized")
    n = sidecar.wait_message(is_channel, what="the queued notification")
    assert n["params"]["content"] == "queued early"


def test_poll_errors_are_retried(sidecar, relay):
    relay.fail("/poll-control", 500)
    sidecar.initialize()
    relay.wait_for("/poll-control", count=2, timeout=10)
    relay.fail("/poll-control", 0)
    relay.push({"id": "c1", "type": "continue", "payload": {"message": "after the outage"}})
    n = sidecar.wait_message(is_channel, what="the notification after the outage")
    assert n["params"]["content"] == "after the outage"


def test_channel_permission_request_is_posted(sidecar, relay):
    sidecar.initialize()
    sidecar.notify("notifications/claude/channel/permission_request", {
        "request_id": "tbxkq", "tool_name": "Bash", "description": "Run tests",
        "input_preview": "{\"command\":\"make test\"}"})
    req = relay.wait_for("/permission_request")
    assert req["authed"]
    assert {k: req["body"][k] for k in ("request_id", "tool_name", "description",
                                         "input_preview")} == {
        "request_id": "tbxkq", "tool_name": "Bash", "description": "Run tests",
        "input_preview": "{\"command\":\"make test\"}"}


# --- lifetime --------------------------------------------------------------------------------

def test_end_of_stdin_exits_0_promptly(sidecar, relay):
    sidecar.initialize()
    relay.wait_for("/poll-control")  # a long poll is in flight
    started = time.monotonic()
    sidecar.proc.stdin.close()
    assert sidecar.wait_exit(5) == 0
    assert time.monotonic() - started < 1.5


def test_last_line_without_newline_is_handled(avenor, relay, tmp_path):
    p = subprocess.run(sidecar_argv(avenor, relay.url),
                       input=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode(),
                       capture_output=True, timeout=10)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"jsonrpc": "2.0", "id": 1, "result": {}}
