"""`avenor claude-channel` (the MCP sidecar, backends.md §7.4) under the real
Claude Code 2.1.197 as its MCP client: `claude -p --mcp-config ...
--strict-mcp-config --output-format stream-json --verbose`, with the scripted
model server (Anthropic Messages) asking claude to call the sidecar's tools.

Real peer: claude (MCP client). Scripted peers: the model server and the
relay (tests/e2e/fake_channel_relay.py). The stdio between claude and the
sidecar is recorded by tests/e2e/mcp_stdio_tap.py so the handshake can be
checked as claude saw it. Channel notifications are not covered here: claude
does not act on them offline (peers.md §5); test_claude_channel_sidecar.py
covers them with a scripted MCP client.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import peers
from fake_channel_relay import FakeChannelRelay
from peer_claude import MODEL, block_text, claude_env, stream_json_lines, tool_results, \
    write_mcp_config

RUN_ID = "feedface00000000aaaabbbbccccdddd"
TOKEN = "real-claude-token"
SERVER_NAME = "avenor-channel-feedface"
TOOL = f"mcp__{SERVER_NAME}__"
TAP = str(Path(__file__).resolve().parent / "mcp_stdio_tap.py")


def run_claude(claude: str, env, relay: FakeChannelRelay, avenor: str, tap_log: Path,
               prompt: str) -> subprocess.CompletedProcess:
    cfg = write_mcp_config(tap_log.parent / "mcp.json", {SERVER_NAME: {
        "command": sys.executable,
        "args": [TAP, str(tap_log), "--", avenor, "claude-channel", "--run-id", RUN_ID,
                 "--token", TOKEN, "--broker-url", relay.url]}})
    return subprocess.run(
        [claude, "-p", prompt, "--mcp-config", str(cfg), "--strict-mcp-config",
         "--output-format", "stream-json", "--verbose", "--model", MODEL,
         "--allowedTools", f"mcp__{SERVER_NAME}"],
        cwd=env.project, env=env.env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=180)


def tap_lines(tap_log: Path) -> list[dict]:
    return [json.loads(line) for line in tap_log.read_text().splitlines() if line.strip()]


def test_real_claude_calls_report_reply_finish(avenor, tmp_path, model_server):
    claude = peers.require_peer("claude")
    server = model_server({"model": MODEL, "steps": [
        {"tool_call": {"name": TOOL + "avenor_report",
                       "arguments": {"state": "working", "payload": {"message": "on it"}}}},
        {"tool_call": {"name": TOOL + "avenor_reply",
                       "arguments": {"to": "ctrl-1", "payload": {"status": "fine"}}}},
        {"tool_call": {"name": TOOL + "avenor_finish",
                       "arguments": {"status": "done", "summary": "all done",
                                     "files_changed": ["x.txt"]}}},
        {"reply": "CHANNEL-TOOLS-OK"},
    ]})
    env = claude_env(tmp_path, server)
    tap_log = tmp_path / "tap.ndjson"
    with FakeChannelRelay(RUN_ID, TOKEN) as relay:
        p = run_claude(claude, env, relay, avenor, tap_log, "Use the avenor tools.")
        assert p.returncode == 0, p.stderr[-3000:]

        # the relay saw the sidecar's calls, each with run_id + token
        reg = relay.wait_for("/register")
        assert reg["authed"] and reg["body"]["server_name"] == SERVER_NAME
        report = relay.wait_for("/report")
        assert report["authed"]
        assert report["body"]["state"] == "working"
        assert report["body"]["payload"] == {"message": "on it"}
        reply = relay.wait_for("/reply")
        assert reply["authed"] and reply["body"]["to"] == "ctrl-1"
        assert reply["body"]["payload"] == {"status": "fine"}
        finish = relay.wait_for("/finish")
        assert finish["authed"]
        assert finish["body"]["status"] == "done" and finish["body"]["summary"] == "all done"
        assert finish["body"]["files_changed"] == ["x.txt"]

    lines = stream_json_lines(p.stdout)
    init = next(x for x in lines if x.get("type") == "system" and x.get("subtype") == "init")
    assert {"name": SERVER_NAME, "status": "connected"} in [
        {k: s.get(k) for k in ("name", "status")} for s in init["mcp_servers"]]
    results = tool_results(lines)
    assert len(results) == 3, results
    assert not any(r.get("is_error") for r in results), results
    assert "reported working" in block_text(results[0])
    assert "reply delivered" in block_text(results[1])
    assert "recorded the finish (done)" in block_text(results[2])
    final = lines[-1]
    assert final["type"] == "result" and final["result"] == "CHANNEL-TOOLS-OK"

    # the handshake as claude saw it
    taps = tap_lines(tap_log)
    init_req = next(t["line"] for t in taps
                    if t["dir"] == "in" and isinstance(t["line"], dict)
                    and t["line"].get("method") == "initialize")
    assert init_req["params"]["clientInfo"]["name"] == "claude-code"
    init_resp = next(t["line"] for t in taps if t["dir"] == "out" and isinstance(t["line"], dict)
                     and t["line"].get("id") == init_req["id"])
    caps = init_resp["result"]["capabilities"]
    assert caps["experimental"] == {"claude/channel": {}, "claude/channel/permission": {}}
    assert "tools" in caps
    assert any(t["dir"] == "in" and isinstance(t["line"], dict)
               and t["line"].get("method") == "notifications/initialized" for t in taps)
    calls = [t["line"]["params"]["name"] for t in taps if t["dir"] == "in"
             and isinstance(t["line"], dict) and t["line"].get("method") == "tools/call"]
    assert calls == ["avenor_report", "avenor_reply", "avenor_finish"]

    # claude handed the sidecar's tool schemas to the model
    first = server.requests(kind="main")[0]["body"]
    tools = {t["name"]: t for t in first["tools"]}
    assert tools[TOOL + "avenor_report"]["input_schema"]["properties"]["state"]["enum"][0] == \
        "started"
    assert TOOL + "avenor_finish" in tools and TOOL + "avenor_reply" in tools


def test_real_claude_sees_relay_failures_as_tool_errors(avenor, tmp_path, model_server):
    claude = peers.require_peer("claude")
    server = model_server({"model": MODEL, "steps": [
        {"tool_call": {"name": TOOL + "avenor_report", "arguments": {"state": "checkpoint"}}},
        {"reply": "SAW-THE-ERROR"},
    ]})
    env = claude_env(tmp_path, server)
    tap_log = tmp_path / "tap.ndjson"
    with FakeChannelRelay(RUN_ID, TOKEN) as relay:
        relay.fail("/report", 500)
        p = run_claude(claude, env, relay, avenor, tap_log, "Report a checkpoint.")
        assert p.returncode == 0, p.stderr[-3000:]
        relay.wait_for("/report")
    results = tool_results(stream_json_lines(p.stdout))
    assert len(results) == 1 and results[0].get("is_error") is True, results
    assert "relay answered 500 to /report" in block_text(results[0])
    # the error text reached the model as the tool result
    second = server.requests(kind="main")[1]["body"]
    fed_back = json.dumps(second["messages"][-1])
    assert "relay answered 500" in fed_back
