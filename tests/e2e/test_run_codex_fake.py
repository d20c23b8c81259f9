"""`avenor run --backend codex-app-server` against tests/e2e/fake_codex.py, a scripted peer of
codex's app-server protocol, for what the real codex 0.169.0 cannot be made to show offline
(test_run_codex.py runs the real CLI for everything else):

* item/permissions/requestApproval (no tool of a fake-model session asks for permissions);
* item/reasoning/textDelta (raw reasoning content; the scripted model server streams only
  reasoning summaries, which test_run_codex.py sees from the real CLI), item/delta and
  item/updated (codex 0.169.0 has no such notifications), and mcpToolCall items (no MCP server
  is configured);
* a turn/completed that overtakes its turn/start response, malformed stdout lines, server
  requests avenor does not implement, and codex dying mid-turn.
"""

from __future__ import annotations

import json

from avenor_cli import AvenorProcess, RunFiles, assert_log_well_formed, events_named, \
    standard_run_args
from peer_codex import fake_codex_env, read_record

THREAD = "01a20b66-0000-7000-8000-00000000f00d"


def run_fake(avenor, tmp_path, scenario, *extra, timeout=60):
    env, record = fake_codex_env(tmp_path, scenario)
    files = RunFiles(tmp_path / "run")
    args = standard_run_args(files, "--backend", "codex-app-server", "--dir", str(env.project),
                             "--run-id", "run-fake-cx", "--prompt", "go", *extra)
    run = AvenorProcess(avenor, args, env.env, files)
    return run.wait(timeout), files, record


def responses_to(record, request_id):
    return [m for m in read_record(record) if m.get("id") == request_id and "method" not in m]


def test_permissions_approval_grants_what_was_asked(avenor, tmp_path):
    asked = {"network": {"enabled": True}}
    scenario = {"turns": [[
        {"request": "item/permissions/requestApproval", "id": 7,
         "params": {"threadId": "$THREAD", "turnId": "$TURN", "itemId": "p1", "cwd": "/p",
                    "startedAtMs": 1, "reason": "needs the network", "permissions": asked}},
        {"request": "item/permissions/requestApproval", "id": 8,
         "params": {"threadId": "$THREAD", "turnId": "$TURN", "itemId": "p2", "cwd": "/p",
                    "startedAtMs": 1, "reason": "and again", "permissions": asked}},
        {"complete": "completed"}]]}
    # auto-approve allows both: the first asks for what codex expects back
    rc, files, record = run_fake(avenor, tmp_path, scenario, "--auto-approve")
    assert rc == 0, files.stderr_text()
    requests = events_named(files.read_events(), "permission.request")
    assert [r["kind"] for r in requests] == ["permissions", "permissions"]
    assert requests[0]["description"] == "needs the network"
    assert requests[0]["permissions"] == asked
    assert requests[0]["request_id"] == "7"
    [answer] = responses_to(record, 7)
    assert answer["result"] == {"permissions": asked, "scope": "turn"}


def test_permissions_approval_declined_grants_nothing(avenor, tmp_path):
    scenario = {"turns": [[
        {"request": "item/permissions/requestApproval", "id": "perm-1",
         "params": {"threadId": "$THREAD", "turnId": "$TURN", "itemId": "p1",
                    "summary": "Allow network", "permissions": {"network": {"enabled": True}}}},
        {"complete": "completed"}]]}
    env, record = fake_codex_env(tmp_path, scenario)
    files = RunFiles(tmp_path / "run")
    args = standard_run_args(files, "--backend", "codex-app-server", "--dir", str(env.project),
                             "--prompt", "go")
    run = AvenorProcess(avenor, args, env.env, files)
    run.wait_for_file(files.root / "run.perm.req", timeout=30)
    req = json.loads((files.root / "run.perm.req").read_text())
    assert req["request_id"] == "perm-1" and req["payload"]["description"] == "Allow network"
    (files.root / "run.perm.req.response").write_text(
        json.dumps({"outcome": "selected", "option_id": "reject"}))
    assert run.wait(60) == 0, files.stderr_text()
    [answer] = responses_to(record, "perm-1")
    assert answer["result"] == {"permissions": {}, "scope": "turn"}


def test_streaming_shapes_the_real_cli_does_not_send_offline(avenor, tmp_path):
    delta = {"threadId": "$THREAD", "turnId": "$TURN", "itemId": "rs_1"}
    scenario = {"turns": [[
        {"notify": "item/started", "params": {**delta, "item": {"type": "reasoning",
                                                                 "id": "rs_1"}}},
        {"notify": "item/reasoning/summaryTextDelta",
         "params": {**delta, "delta": "Thinking ", "summaryIndex": 0}},
        {"notify": "item/reasoning/textDelta",
         "params": {**delta, "delta": "hard.", "contentIndex": 0}},
        {"notify": "item/completed", "params": {**delta, "item": {
            "type": "reasoning", "id": "rs_1", "summary": ["Thinking hard."]}}},
        {"notify": "item/completed", "params": {"threadId": "$THREAD", "turnId": "$TURN",
                                                "item": {"type": "reasoning", "id": "rs_2",
                                                         "summary": ["Whole thought."]}}},
        {"notify": "item/started", "params": {"threadId": "$THREAD", "turnId": "$TURN", "item": {
            "type": "mcpToolCall", "id": "mcp_1", "server": "docs", "tool": "search",
            "arguments": {"q": "avenor"}, "status": "inProgress"}}},
        {"notify": "item/completed", "params": {"threadId": "$THREAD", "turnId": "$TURN", "item": {
            "type": "mcpToolCall", "id": "mcp_1", "server": "docs", "tool": "search",
            "status": "failed", "error": {"message": "no such index"}}}},
        {"notify": "item/updated", "params": {"threadId": "$THREAD", "turnId": "$TURN",
                                              "itemId": "m1", "item": {"type": "agentMessage"},
                                              "delta": "Hello "}},
        {"notify": "item/delta", "params": {"threadId": "$THREAD", "turnId": "$TURN",
                                            "item": {"type": "agentMessage", "id": "m1",
                                                     "content": [{"text": "world"}]}}},
        {"notify": "item/delta", "params": {"threadId": "$THREAD", "turnId": "$TURN",
                                            "item": {"type": "userMessage", "id": "u1"},
                                            "delta": "NOT-OUTPUT"}},
        {"notify": "item/completed", "params": {"threadId": "$THREAD", "turnId": "$TURN", "item": {
            "type": "agentMessage", "id": "m1", "text": "Hello world"}}},
        {"complete": "completed"}]]}
    rc, files, _ = run_fake(avenor, tmp_path, scenario)
    assert rc == 0, files.stderr_text()
    events = files.read_events()
    assert_log_well_formed(events, run_id="run-fake-cx")
    thoughts = events_named(events, "agent.thought_chunk")
    assert [(t["delta"], t["item_id"]) for t in thoughts] == [
        ("Thinking ", "rs_1"), ("hard.", "rs_1"), ("Whole thought.", "rs_2")]
    [call] = events_named(events, "tool.call")
    assert (call["title"], call["rawInput"]) == ("docs.search", {"q": "avenor"})
    [update] = events_named(events, "tool.call_update")
    assert update["status"] == "failed" and update["error"] == {"message": "no such index"}
    messages = events_named(events, "agent.message_chunk")
    assert [m["delta"] for m in messages] == ["Hello ", "world"]
    [end] = events_named(events, "session.end")
    assert end["final_output"] == "Hello world"
    assert "NOT-OUTPUT" not in json.dumps(events)


def test_completion_before_the_turn_start_response(avenor, tmp_path):
    rc, files, _ = run_fake(avenor, tmp_path, {"turns": [[{"early_complete": True}]]})
    assert rc == 0, files.stderr_text()
    [end] = events_named(files.read_events(), "session.end")
    assert end["stop_reason"] == "end_turn" and end["turn_id"] == "turn-1"


def test_malformed_lines_are_not_fatal(avenor, tmp_path):
    scenario = {"turns": [[
        {"raw": "this is not JSON"},
        {"raw": "[1, 2, 3]"},
        {"notify": "item/agentMessage/delta", "params": {"threadId": "$THREAD",
                                                         "turnId": "$TURN", "itemId": "m",
                                                         "delta": "STILL-HERE"}},
        {"complete": "completed"}]]}
    rc, files, _ = run_fake(avenor, tmp_path, scenario)
    assert rc == 0, files.stderr_text()
    assert events_named(files.read_events(), "session.end")[0]["final_output"] == "STILL-HERE"


def test_unimplemented_server_requests_get_method_not_found(avenor, tmp_path):
    scenario = {"turns": [[
        {"request": "item/tool/requestUserInput", "id": 3,
         "params": {"threadId": "$THREAD", "turnId": "$TURN", "questions": []}},
        {"request": "item/commandExecution/requestApproval", "id": 4, "params": "not an object"},
        {"complete": "completed"}]]}
    rc, files, record = run_fake(avenor, tmp_path, scenario)
    assert rc == 0, files.stderr_text()
    assert responses_to(record, 3)[0]["error"]["code"] == -32601
    assert responses_to(record, 4)[0]["error"]["code"] == -32602
    assert not events_named(files.read_events(), "permission.request")
    # avenor's own requests carry string ids "<unix nanos>-<counter>" and no "jsonrpc"
    sent = [m for m in read_record(record) if "method" in m and "id" in m]
    assert [m["method"] for m in sent] == ["initialize", "thread/start", "turn/start"]
    assert all(isinstance(m["id"], str) and m["id"].endswith(f"-{n}")
               for n, m in enumerate(sent, start=1))
    assert all("jsonrpc" not in m for m in read_record(record))


def test_codex_dying_mid_turn_fails_the_run(avenor, tmp_path):
    scenario = {"turns": [[{"stderr": "panic: FAKE-CODEX-CRASH"}, {"exit": 3}]]}
    rc, files, _ = run_fake(avenor, tmp_path, scenario)
    assert rc == 1
    stderr = files.stderr_text()
    assert "FAKE-CODEX-CRASH" in stderr and "exited with status 3" in stderr, stderr
    errors = events_named(files.read_events(), "avenor.error")
    assert errors and "FAKE-CODEX-CRASH" in errors[0]["message"]
    assert files.sentinel_lines()[0] == "FAILED"


def test_cancel_waits_for_the_interrupted_turn(avenor, tmp_path):
    """SIGTERM while the scripted turn hangs: turn/interrupt is a request (it has an id)."""
    import signal
    env, record = fake_codex_env(tmp_path, {"turns": [[{"hang": True}]]})
    files = RunFiles(tmp_path / "run")
    args = standard_run_args(files, "--backend", "codex-app-server", "--dir", str(env.project),
                             "--run-id", "run-fake-cx", "--prompt", "go")
    run = AvenorProcess(avenor, args, env.env, files)
    run.wait_for_event(lambda e: e.get("event") == "avenor.turn.start", timeout=30)
    run.signal(signal.SIGTERM)
    assert run.wait(30) == 130
    [interrupt] = [m for m in read_record(record) if m.get("method") == "turn/interrupt"]
    assert isinstance(interrupt["id"], str)
    assert interrupt["params"] == {"threadId": THREAD, "turnId": "turn-1"}
    [end] = events_named(files.read_events(), "session.end")
    assert end["reason"] == "interrupted" and end["stop_reason"] == "cancelled"
