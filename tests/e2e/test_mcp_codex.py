"""The dispatch story (issue 12) with the REAL Codex 0.169.0 as the MCP client:
`codex exec --json` with `avenor mcp` as `[mcp_servers.avenor]` in its config.toml. Codex's
scripted model (Responses API, model server 1) calls the avenor tools the way codex offers MCP
tools: a `{"type": "namespace", "name": "mcp__avenor"}` tool group, so the model's
function_call is `{"namespace": "mcp__avenor", "name": "avenor_spawn"}` (a flat
"mcp__avenor__avenor_spawn" is "unsupported call"). It spawns on opencode-acp with label sub-1,
then `avenor_result` (run_id "sub-1", wait true); the real `opencode acp` does the sub-task
against model server 2; the model answers with the tool result it got (reply_from_tool_result),
so codex's final message carries opencode's output.

`codex exec` runs with approval policy "never", under which an MCP call that needs approval
fails ("MCP tool call requires approval, but approval policy is never"):
`default_tools_approval_mode = "approve"` on the server lets its tools run.

Real peers: codex, opencode (skipped, SKIPPED-PEER, when either is missing). Only 127.0.0.1.
"""

from __future__ import annotations

import json

import peer_codex
import peers
from mcp_peers import LABEL, REPLY_PREFIX, SUB_MARKER, dispatch_seconds, report, run_cli
from mcp_peers import dispatch  # noqa: F401  (the fixture)

SERVER = "avenor"
NAMESPACE = f"mcp__{SERVER}"


def toml_str(value: str) -> str:
    """A TOML basic string (JSON's escapes are all valid TOML escapes)."""
    return json.dumps(value)


def mcp_server_toml(name: str, command: str, args: list[str], env: dict) -> str:
    lines = [f"[mcp_servers.{name}]",
             f"command = {toml_str(command)}",
             f"args = [{', '.join(toml_str(a) for a in args)}]",
             "startup_timeout_sec = 60",
             "tool_timeout_sec = 600",   # outlasts avenor_result's longest wait (--max-wait)
             'default_tools_approval_mode = "approve"',
             "",
             f"[mcp_servers.{name}.env]"]
    lines += [f"{toml_str(k)} = {toml_str(v)}" for k, v in sorted(env.items())]
    return "\n".join(lines) + "\n"


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def namespaced(steps: list[dict]) -> list[dict]:
    """dispatch_steps("") with each avenor tool call put in codex's MCP namespace."""
    out = []
    for step in steps:
        if "tool_call" in step:
            step = {"tool_call": {**step["tool_call"], "namespace": NAMESPACE}}
        out.append(step)
    return out


def test_codex_exec_dispatches_to_opencode(dispatch, tmp_path, model_server, capsys):
    codex = peers.require_peer("codex")
    d = dispatch
    server = model_server({"steps": namespaced(d.dispatch_steps(""))})
    env = peer_codex.codex_env(tmp_path, server)
    config = peer_codex.codex_home(env) / "config.toml"
    command, args, mcp_env = d.mcp_server()
    config.write_text(config.read_text() + "\n" + mcp_server_toml(SERVER, command, args, mcp_env))
    last = tmp_path / "last-message.txt"

    run = run_cli([codex, "exec", "--json", "--output-last-message", str(last),
                   "-C", str(env.project), "Dispatch the sub-task to opencode through avenor."],
                  env.env, env.project, d, "codex exec")
    why = run.describe() + "\n--- config.toml ---\n" + config.read_text()[:3000] + \
        d.diagnostics()
    assert run.returncode == 0, "codex exec failed" + why
    events = jsonl(run.stdout)

    calls = [e["item"] for e in events if e.get("type") == "item.completed"
             and e.get("item", {}).get("type") == "mcp_tool_call"]
    assert [(c["server"], c["tool"], c["status"]) for c in calls] == [
        (SERVER, "avenor_spawn", "completed"), (SERVER, "avenor_result", "completed")], \
        f"codex's MCP calls: {calls}" + why
    spawned = calls[0]["result"]["structured_content"]
    assert spawned["label"] == LABEL and spawned["session_id"].startswith("ses_"), spawned
    assert json.loads(calls[0]["result"]["content"][0]["text"]) == spawned
    got = calls[1]["result"]["structured_content"]
    assert (got["run_id"], got["status"], got["ready"]) == (spawned["run_id"], "done", True), got
    assert got["output"] == SUB_MARKER, f"avenor_result output: {got}" + why

    # codex's final message carries the sub-agent's output
    messages = [e["item"]["text"] for e in events if e.get("type") == "item.completed"
                and e.get("item", {}).get("type") == "agent_message"]
    assert messages and messages[-1].startswith(REPLY_PREFIX) and SUB_MARKER in messages[-1], \
        f"codex's final message lacks the sub-agent's marker: {messages}" + why
    assert last.read_text().strip() == messages[-1].strip()
    assert any(e.get("type") == "turn.completed" for e in events), why

    # the scripted model was offered the avenor tools as codex's MCP namespace
    mains = server.requests(kind="main")
    assert [r["step"] for r in mains] == [0, 1, 2], [r["step"] for r in mains]
    groups = {t["name"]: t for t in mains[0]["body"]["tools"] if t.get("type") == "namespace"}
    assert NAMESPACE in groups, f"no {NAMESPACE} namespace among {sorted(groups)}"
    assert {"avenor_spawn", "avenor_result"} <= {t["name"] for t in groups[NAMESPACE]["tools"]}
    assert SUB_MARKER not in json.dumps(mains[1]["body"]), "marker known before the result"
    d.check_sub_agent()

    # codex ended avenor mcp on exit: the supervisor it started and opencode are gone too
    d.world.wait_no_servers("after codex exec exited")
    report(capsys, f"ROUND TRIP codex exec -> avenor mcp -> opencode acp: {run.seconds:.1f} s "
                   f"codex start to exit; {dispatch_seconds(mains):.1f} s from the model's "
                   f"avenor_spawn call to its getting avenor_result back")
