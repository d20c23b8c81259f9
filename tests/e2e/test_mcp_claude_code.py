"""The dispatch story (issue 12) with the REAL Claude Code 2.1.197 as the MCP client:
`claude -p --mcp-config <file> --strict-mcp-config --allowedTools mcp__avenor` with `avenor mcp`
as its server "avenor" (or the same entry in the project's .mcp.json). `--allowedTools
mcp__avenor` lets every tool of that server run without a permission prompt (which claude -p
cannot show). Claude's scripted model (Anthropic Messages, model server 1) calls
`mcp__avenor__avenor_spawn` (backend opencode-acp, label sub-1) and then
`mcp__avenor__avenor_result` (run_id "sub-1", wait true); the real `opencode acp` does the
sub-task against model server 2 and replies with a marker; claude's model then answers with the
tool result it got (reply_from_tool_result), so claude's final answer carries opencode's output.

Real peers: claude, opencode (skipped, SKIPPED-PEER, when either is missing). Only 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import peers
from mcp_peers import LABEL, REPLY_PREFIX, SUB_MARKER, SUB_PROMPT, dispatch_seconds, report, \
    run_cli
from mcp_peers import dispatch  # noqa: F401  (the fixture)
from peer_claude import MODEL, block_text, claude_env, stream_json_lines, tool_results, \
    write_mcp_config

SERVER = "avenor"
PREFIX = f"mcp__{SERVER}__"  # how claude names an MCP tool: mcp__<server>__<tool>


@pytest.mark.parametrize("registration", ["mcp-config", "project-mcp-json"])
def test_claude_code_dispatches_to_opencode(registration, dispatch, tmp_path, model_server,
                                            capsys):
    """`mcp-config`: the server in a file named by --mcp-config (--strict-mcp-config: nothing
    else). `project-mcp-json`: the server in the project's .mcp.json, which claude -p uses
    without the approval an interactive claude asks for once (checked with 2.1.197)."""
    claude = peers.require_peer("claude")
    d = dispatch
    server = model_server({"model": MODEL, "steps": d.dispatch_steps(PREFIX)})
    env = claude_env(tmp_path, server)
    # claude's own bound of one MCP call outlasts avenor_result's longest wait
    env.env.update({"MCP_TOOL_TIMEOUT": "600000", "MCP_TIMEOUT": "60000"})
    command, args, mcp_env = d.mcp_server()
    entry = {SERVER: {"command": command, "args": args, "env": mcp_env}}
    if registration == "mcp-config":
        cfg = write_mcp_config(tmp_path / "mcp.json", entry)
        flags = ["--mcp-config", str(cfg), "--strict-mcp-config"]
    else:
        write_mcp_config(env.project / ".mcp.json", entry)  # claude -p uses it unasked
        flags = []

    run = run_cli([claude, "-p", "Dispatch the sub-task to opencode through avenor.", *flags,
                   "--allowedTools", f"mcp__{SERVER}",
                   "--output-format", "stream-json", "--verbose", "--model", MODEL],
                  env.env, env.project, d, "claude -p")
    why = run.describe() + d.diagnostics()
    assert run.returncode == 0, "claude -p failed" + why
    lines = stream_json_lines(run.stdout)

    init = next((x for x in lines if x.get("type") == "system" and x.get("subtype") == "init"),
                None)
    assert init, "no init line in claude's stream-json" + why
    assert {"name": SERVER, "status": "connected"} in [
        {k: s.get(k) for k in ("name", "status")} for s in init.get("mcp_servers", [])], \
        f"avenor mcp is not connected: {init.get('mcp_servers')}" + why
    assert {PREFIX + "avenor_spawn", PREFIX + "avenor_result"} <= set(init.get("tools", [])), \
        f"claude does not expose the avenor tools: {init.get('tools')}" + why

    # the two tool calls went through (no permission denial), spawn first
    results = tool_results(lines)
    assert len(results) == 2 and not any(r.get("is_error") for r in results), \
        f"tool results: {results}" + why
    spawned = json.loads(block_text(results[0]))
    assert spawned["label"] == LABEL and spawned["session_id"].startswith("ses_"), spawned
    assert Path(spawned["sentinel_file"]).name == f"avenor-run-{spawned['run_id']}.done"
    got = json.loads(block_text(results[1]))
    assert (got["run_id"], got["status"], got["ready"]) == (spawned["run_id"], "done", True), got
    assert got["output"] == SUB_MARKER, f"avenor_result output: {got}" + why

    # claude's final answer carries the sub-agent's output
    final = lines[-1]
    assert final.get("type") == "result" and final.get("is_error") is False, final
    assert final["result"].startswith(REPLY_PREFIX) and SUB_MARKER in final["result"], \
        f"claude's final answer lacks the sub-agent's marker: {final['result']!r}" + why

    # the scripted model saw the avenor tools and got the spawn result back
    mains = server.requests(kind="main")
    assert [r["step"] for r in mains] == [0, 1, 2], [r["step"] for r in mains]
    tools = {t["name"] for t in mains[0]["body"]["tools"]}
    assert PREFIX + "avenor_spawn" in tools, sorted(tools)
    assert SUB_MARKER not in json.dumps(mains[1]["body"]), "marker known before the result"
    d.check_sub_agent()
    assert SUB_PROMPT in json.dumps(d.sub_server.requests(kind="main")[0]["body"])

    # claude ended avenor mcp on exit: the supervisor it started and opencode are gone too
    d.world.wait_no_servers("after claude -p exited")
    report(capsys, f"ROUND TRIP claude -p ({registration}) -> avenor mcp -> opencode acp: "
                   f"{run.seconds:.1f} s claude start to exit; {dispatch_seconds(mains):.1f} s "
                   f"from the model's avenor_spawn call to its getting avenor_result back")
