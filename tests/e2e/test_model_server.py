"""Tests of the scripted fake model server (tests/model_server/model_server.py),
over plain HTTP and through the real opencode / gemini CLIs in ACP mode."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

import peers

MARKER_CMD = "printf 'TOOL-MARKER-%d\\n' 42"  # output TOOL-MARKER-42 is never in the args
TURN_TIMEOUT = 60.0

BASH_TOOL = {"type": "function", "function": {
    "name": "bash", "description": "run a command",
    "parameters": {"type": "object",
                   "properties": {"command": {"type": "string"},
                                  "description": {"type": "string"},
                                  "timeout": {"type": "number"}},
                   "required": ["command", "description"]}}}


# ---------------------------------------------------------------------------
# small HTTP helpers
# ---------------------------------------------------------------------------

def post(srv, path, body, timeout=10.0):
    req = urllib.request.Request(srv.base_url + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer sk-test"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sse_events(text):
    """[(event or None, data str)] from an SSE body."""
    out = []
    for block in text.split("\n\n"):
        event, data = None, []
        for line in block.splitlines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        if data:
            out.append((event, "\n".join(data)))
    return out


def chat_chunks(text):
    events = [d for _, d in sse_events(text)]
    assert events[-1] == "[DONE]", events[-3:]
    return [json.loads(d) for d in events[:-1]]


def chat_body(tools=True, stream=True, system="You are a coding agent."):
    body = {"model": "fake-model", "stream": stream, "stream_options": {"include_usage": True},
            "messages": [{"role": "system", "content": system},
                         {"role": "user", "content": "hi"}]}
    if tools:
        body["tools"] = [BASH_TOOL]
    return body


def deltas(chunks):
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


# ---------------------------------------------------------------------------
# the server over plain HTTP
# ---------------------------------------------------------------------------

def test_chat_reply_streams_text_in_deltas(model_server):
    srv = model_server({"steps": [{"reply": "hello fake world"}]})
    status, text = post(srv, "/v1/chat/completions", chat_body())
    assert status == 200
    chunks = chat_chunks(text)
    content = [d["content"] for d in deltas(chunks) if d.get("content")]
    assert len(content) >= 2 and "".join(content) == "hello fake world"
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    (rec,) = srv.requests()
    assert rec["kind"] == "main" and rec["step"] == 0 and rec["action"] == "reply"
    assert rec["body"]["messages"][1]["content"] == "hi"
    assert rec["headers"]["authorization"] == "Bearer sk-test"


def test_chat_reply_chunks_are_sent_exactly(model_server):
    srv = model_server({"steps": [{"reply_chunks": ["a", "bc", "d"]}]})
    _, text = post(srv, "/v1/chat/completions", chat_body())
    assert [d["content"] for d in deltas(chat_chunks(text)) if d.get("content")] == ["a", "bc", "d"]


def test_chat_tool_call_fills_required_arguments(model_server):
    srv = model_server({"steps": [{"tool_call": {"command": MARKER_CMD}}]})
    _, text = post(srv, "/v1/chat/completions", chat_body())
    chunks = chat_chunks(text)
    calls = [tc for d in deltas(chunks) for tc in d.get("tool_calls", [])]
    first = calls[0]
    assert first["index"] == 0 and first["type"] == "function" and first["id"].startswith("call_")
    assert first["function"]["name"] == "bash"
    args = json.loads("".join(tc["function"].get("arguments", "") for tc in calls))
    assert args["command"] == MARKER_CMD and args["description"]
    assert "timeout" not in args  # optional fields are left out
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    assert srv.requests()[0]["action"] == "tool_call"


def test_chat_non_streaming(model_server):
    srv = model_server({"steps": [{"reply": "whole"}]})
    _, text = post(srv, "/v1/chat/completions", chat_body(stream=False))
    assert json.loads(text)["choices"][0]["message"]["content"] == "whole"


def test_side_requests_do_not_consume_steps(model_server):
    srv = model_server({"steps": [{"reply": "main one"}], "side_reply": "A Title"})
    _, t1 = post(srv, "/v1/chat/completions",
                 chat_body(system="You are a title generator. You output ONLY a thread title."))
    _, t2 = post(srv, "/v1/chat/completions", chat_body(tools=False))
    _, t3 = post(srv, "/v1/chat/completions", chat_body())
    texts = ["".join(d.get("content") or "" for d in deltas(chat_chunks(t))) for t in (t1, t2, t3)]
    assert texts == ["A Title", "A Title", "main one"]
    assert [(r["kind"], r["step"]) for r in srv.requests()] == [
        ("side", None), ("side", None), ("main", 0)]


def test_error_step_once_and_repeated(model_server):
    srv = model_server({"steps": [{"error": 500, "message": "injected failure"},
                                  {"reply": "after"},
                                  {"error": 503, "message": "down", "repeat": True}]})
    status, text = post(srv, "/v1/chat/completions", chat_body())
    assert status == 500 and json.loads(text)["error"]["message"] == "injected failure"
    assert post(srv, "/v1/chat/completions", chat_body())[0] == 200
    for _ in range(3):
        status, text = post(srv, "/v1/chat/completions", chat_body())
        assert status == 503 and "down" in text
    assert [r["step"] for r in srv.requests()] == [0, 1, 2, 2, 2]


def test_exhausted_script_replies_marker(model_server):
    srv = model_server({"steps": []})
    _, text = post(srv, "/v1/chat/completions", chat_body())
    assert "".join(d.get("content") or "" for d in deltas(chat_chunks(text))) == "SCRIPT-EXHAUSTED"
    assert srv.requests()[0]["action"] == "exhausted"


def test_delay_step(model_server):
    srv = model_server({"steps": [{"delay_ms": 300, "reply": "late"}]})
    t0 = time.monotonic()
    status, _ = post(srv, "/v1/chat/completions", chat_body())
    assert status == 200 and time.monotonic() - t0 >= 0.3


def test_hang_blocks_only_its_own_request_and_not_shutdown(model_server):
    srv = model_server({"steps": [{"hang": True}, {"reply": "other"}]})
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=1.0)
    conn.request("POST", "/v1/chat/completions", json.dumps(chat_body()),
                 {"Content-Type": "application/json"})
    srv.wait_for_requests(lambda recs: len(recs) == 1, timeout=10, what="hanging request")
    with pytest.raises(socket.timeout):
        conn.getresponse()
    status, text = post(srv, "/v1/chat/completions", chat_body())  # served meanwhile
    assert status == 200 and "other" in "".join(
        d.get("content") or "" for d in deltas(chat_chunks(text)))
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < 3.0
    conn.close()


def test_concurrent_requests_are_served_in_parallel(model_server):
    srv = model_server({"steps": [{"delay_ms": 1500, "reply": "slow main"}]})
    results = {}
    slow = threading.Thread(target=lambda: results.update(slow=post(srv, "/v1/chat/completions",
                                                                    chat_body())))
    slow.start()
    srv.wait_for_requests(lambda recs: len(recs) == 1, timeout=10, what="slow request")
    t0 = time.monotonic()
    status, _ = post(srv, "/v1/chat/completions", chat_body(tools=False))  # title request
    assert status == 200 and time.monotonic() - t0 < 1.0
    slow.join(timeout=10)
    assert results["slow"][0] == 200


def test_responses_api_text_and_function_call(model_server):
    srv = model_server({"steps": [{"reply": "resp text"}, {"tool_call": {"command": MARKER_CMD}}]})
    tool = {"type": "function", "name": "exec_command",
            "parameters": {"type": "object", "properties": {"cmd": {"type": "string"},
                                                            "workdir": {"type": "string"}},
                           "required": ["cmd"]}}
    body = {"model": "fake-model", "stream": True, "input": [], "tools": [tool]}
    _, text = post(srv, "/v1/responses", body)
    events = [(e, json.loads(d)) for e, d in sse_events(text)]
    assert events[0][0] == "response.created" and events[-1][0] == "response.completed"
    assert "".join(d["delta"] for e, d in events if e == "response.output_text.delta") == "resp text"
    _, text = post(srv, "/v1/responses", body)
    events = [(e, json.loads(d)) for e, d in sse_events(text)]
    assert events[-1][0] == "response.completed"
    (item,) = events[-1][1]["response"]["output"]
    assert item["type"] == "function_call" and item["name"] == "exec_command"
    assert json.loads(item["arguments"]) == {"cmd": MARKER_CMD}


def test_responses_api_reasoning_before_the_reply(model_server):
    srv = model_server({"steps": [{"reasoning": "Think first.", "reply": "answer"}]})
    body = {"model": "fake-model", "stream": True, "input": [], "tools": [
        {"type": "function", "name": "exec_command", "parameters": {"type": "object"}}]}
    _, text = post(srv, "/v1/responses", body)
    events = [(e, json.loads(d)) for e, d in sse_events(text)]
    kinds = [e for e, _ in events]
    assert kinds.index("response.reasoning_summary_text.delta") < \
        kinds.index("response.output_text.delta")
    summary = [d for e, d in events if e == "response.reasoning_summary_text.delta"]
    assert "".join(d["delta"] for d in summary) == "Think first."
    assert all(d["output_index"] == 0 and d["summary_index"] == 0 for d in summary)
    assert {d["output_index"] for e, d in events if e == "response.output_text.delta"} == {1}
    reasoning, message = events[-1][1]["response"]["output"]
    assert reasoning == {"id": reasoning["id"], "type": "reasoning",
                         "summary": [{"type": "summary_text", "text": "Think first."}]}
    assert message["content"][0]["text"] == "answer"


def test_gemini_stream_tool_call_and_classifier(model_server):
    srv = model_server({"steps": [{"tool_call": {"command": MARKER_CMD}}, {"reply": "gem text"}]})
    tools = [{"functionDeclarations": [{"name": "run_shell_command", "parametersJsonSchema": {
        "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}]}]
    path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    _, text = post(srv, path, {"contents": [], "tools": tools})
    parts = [p for _, d in sse_events(text) for p in json.loads(d)["candidates"][0]["content"]["parts"]]
    assert parts == [{"functionCall": {"name": "run_shell_command", "args": {"command": MARKER_CMD}}}]
    _, text = post(srv, path, {"contents": [], "tools": tools})
    chunks = [json.loads(d) for _, d in sse_events(text)]
    assert "".join(p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"]) == "gem text"
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    classifier = {"contents": [], "generationConfig": {
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object", "properties": {
            "complexity_reasoning": {"type": "string"}, "complexity_score": {"type": "integer"}},
            "required": ["complexity_reasoning", "complexity_score"]}}}
    _, text = post(srv, "/v1beta/models/gemini-3.5-flash-lite:generateContent", classifier)
    answer = json.loads(json.loads(text)["candidates"][0]["content"]["parts"][0]["text"])
    assert answer == {"complexity_reasoning": "x", "complexity_score": 10}
    assert [r["kind"] for r in srv.requests()] == ["main", "main", "side"]


def test_anthropic_messages_stream(model_server):
    srv = model_server({"steps": [{"tool_call": {"command": MARKER_CMD}}]})
    tool = {"name": "Bash", "input_schema": {"type": "object",
                                             "properties": {"command": {"type": "string"}},
                                             "required": ["command"]}}
    _, text = post(srv, "/v1/messages?beta=true",
                   {"model": "m", "stream": True, "messages": [], "tools": [tool]})
    events = [(e, json.loads(d)) for e, d in sse_events(text)]
    assert events[0][0] == "message_start" and events[-1][0] == "message_stop"
    block = events[1][1]["content_block"]
    assert block["type"] == "tool_use" and block["name"] == "Bash"
    partial = "".join(d["delta"]["partial_json"] for e, d in events if e == "content_block_delta")
    assert json.loads(partial) == {"command": MARKER_CMD}


def test_models_list_and_head(model_server):
    srv = model_server({"model": "m1", "steps": []})
    with urllib.request.urlopen(srv.base_url + "/v1/models", timeout=10) as resp:
        assert [m["id"] for m in json.loads(resp.read())["data"]] == ["m1"]
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("HEAD", "/")
    assert conn.getresponse().status == 200
    conn.close()
    assert [r["action"] for r in srv.requests()] == ["models", "head"]


def test_responses_namespaced_tool_call(model_server):
    """codex offers MCP tools as {"type": "namespace"} groups; a call of one names both."""
    srv = model_server({"steps": [{"tool_call": {"namespace": "mcp__avenor",
                                                 "name": "avenor_status",
                                                 "arguments": {"run_id": "sub-1"}}}]})
    group = {"type": "namespace", "name": "mcp__avenor", "tools": [
        {"type": "function", "name": "avenor_status", "parameters": {"type": "object"}}]}
    body = {"model": "fake-model", "stream": True, "input": [], "tools": [group]}
    _, text = post(srv, "/v1/responses", body)
    events = [(e, json.loads(d)) for e, d in sse_events(text)]
    (item,) = events[-1][1]["response"]["output"]
    assert (item["type"], item["namespace"], item["name"]) == \
        ("function_call", "mcp__avenor", "avenor_status")
    assert json.loads(item["arguments"]) == {"run_id": "sub-1"}
    added = next(d["item"] for e, d in events if e == "response.output_item.added")
    assert added["namespace"] == "mcp__avenor"


def test_reply_from_tool_result_in_every_dialect(model_server):
    """The step answers with its prefix + the LAST tool result of the request, whatever the
    wire API; a request with none gets NO-TOOL-RESULT."""
    step = {"reply_from_tool_result": "Sub-agent said: "}
    srv = model_server({"steps": [step] * 6 + [{"reply_from_tool_result": True}]})
    # chat completions: role "tool" messages (string, then a list of parts)
    body = chat_body()
    body["messages"] += [{"role": "tool", "tool_call_id": "c1", "content": "old"},
                         {"role": "tool", "tool_call_id": "c2",
                          "content": [{"type": "text", "text": "CHAT-"}, {"type": "text",
                                                                           "text": "RESULT"}]}]
    _, text = post(srv, "/v1/chat/completions", body)
    assert "".join(d.get("content") or "" for d in deltas(chat_chunks(text))) == \
        "Sub-agent said: CHAT-RESULT"

    # Responses: function_call_output items
    rtool = {"type": "function", "name": "mcp__avenor__avenor_result",
             "parameters": {"type": "object"}}
    body = {"model": "fake-model", "stream": True, "tools": [rtool], "input": [
        {"type": "function_call_output", "call_id": "a", "output": "first"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]},
        {"type": "function_call_output", "call_id": "b",
         "output": [{"type": "input_text", "text": "{\"output\":\"RESP-RESULT\"}"}]}]}
    _, text = post(srv, "/v1/responses", body)
    events = [(e, json.loads(d)) for e, d in sse_events(text)]
    assert "".join(d["delta"] for e, d in events if e == "response.output_text.delta") == \
        'Sub-agent said: {"output":"RESP-RESULT"}'

    # Anthropic: tool_result blocks (list content), the last one wins
    atool = {"name": "mcp__avenor__avenor_result", "input_schema": {"type": "object"}}
    body = {"model": "m", "stream": True, "tools": [atool], "messages": [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": "earlier"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2",
                                      "content": [{"type": "text", "text": "ANTH-RESULT"}]}]}]}
    _, text = post(srv, "/v1/messages?beta=true", body)
    partial = "".join(d["delta"].get("text", "") for e, d in
                      [(e, json.loads(d)) for e, d in sse_events(text)]
                      if e == "content_block_delta")
    assert partial == "Sub-agent said: ANTH-RESULT"

    # Anthropic, non-streaming, string content
    body = {"model": "m", "tools": [atool], "messages": [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": "PLAIN"}]}]}
    _, text = post(srv, "/v1/messages", body)
    assert json.loads(text)["content"] == [{"type": "text", "text": "Sub-agent said: PLAIN"}]

    # Gemini: functionResponse parts
    gtools = [{"functionDeclarations": [{"name": "avenor_result", "parameters": {}}]}]
    body = {"tools": gtools, "contents": [
        {"role": "model", "parts": [{"functionCall": {"name": "avenor_result", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "avenor_result",
                                                         "response": {"output": "GEM-RESULT"}}}]}]}
    _, text = post(srv, "/v1beta/models/gemini-2.5-flash:generateContent", body)
    parts = json.loads(text)["candidates"][0]["content"]["parts"]
    assert "".join(p["text"] for p in parts) == "Sub-agent said: GEM-RESULT"

    # no tool result at all
    _, text = post(srv, "/v1/chat/completions", chat_body())
    assert "".join(d.get("content") or "" for d in deltas(chat_chunks(text))) == \
        "Sub-agent said: NO-TOOL-RESULT"

    # `true`: no prefix
    body = chat_body()
    body["messages"].append({"role": "tool", "tool_call_id": "c1", "content": "BARE"})
    _, text = post(srv, "/v1/chat/completions", body)
    assert "".join(d.get("content") or "" for d in deltas(chat_chunks(text))) == "BARE"

    assert [(r["kind"], r["step"], r["action"]) for r in srv.requests()] == [
        ("main", i, "reply_from_tool_result") for i in range(7)]


# ---------------------------------------------------------------------------
# real CLIs over ACP, straight from Python
# ---------------------------------------------------------------------------

def start_session(agent, project):
    init = peers.acp_initialize(agent)
    assert init["protocolVersion"] == 1
    new = agent.request("session/new", {"cwd": str(project), "mcpServers": []}, timeout=60)
    return new["sessionId"]


def prompt(agent, session_id, text, on_request=None):
    return agent.request("session/prompt",
                         {"sessionId": session_id, "prompt": [{"type": "text", "text": text}]},
                         timeout=TURN_TIMEOUT, on_request=on_request)


def test_opencode_acp_text_turn(model_server, tmp_path):
    peers.require_peer("opencode")
    srv = model_server({"steps": [{"reply": "OC-FAKE-REPLY-123"}]})
    pe = peers.opencode_env(tmp_path, srv)
    with peers.AcpProcess(pe.argv, pe.env, pe.project, tmp_path / "opencode.stderr") as agent:
        sid = start_session(agent, pe.project)
        result = prompt(agent, sid, "Reply with the single word hello.")
        assert result["stopReason"] == "end_turn", agent.describe()
        assert agent.text() == "OC-FAKE-REPLY-123", agent.describe()
    main = srv.requests(kind="main")
    assert len(main) == 1 and main[0]["path"] == "/v1/chat/completions"
    assert any(t["function"]["name"] == "bash" for t in main[0]["body"]["tools"])


def test_opencode_acp_tool_call_with_permission(model_server, tmp_path):
    peers.require_peer("opencode")
    srv = model_server({"steps": [{"tool_call": {"command": MARKER_CMD}},
                                  {"reply": "TOOL-ROUNDTRIP-DONE"}]})
    pe = peers.opencode_env(tmp_path, srv, permission_ask=True)
    asked = []

    def allow_once(msg):
        assert msg["method"] == "session/request_permission", msg
        asked.append(msg["params"])
        return {"outcome": {"outcome": "selected", "optionId": "once"}}

    with peers.AcpProcess(pe.argv, pe.env, pe.project, tmp_path / "opencode.stderr") as agent:
        sid = start_session(agent, pe.project)
        result = prompt(agent, sid, "Run the marker command.", on_request=allow_once)
        assert result["stopReason"] == "end_turn", agent.describe()
        assert agent.text() == "TOOL-ROUNDTRIP-DONE", agent.describe()
        assert len(asked) == 1 and asked[0]["toolCall"]["rawInput"]["command"] == MARKER_CMD
        assert {o["optionId"] for o in asked[0]["options"]} >= {"once", "reject"}
        done = [u for u in agent.updates("tool_call_update") if u.get("status") == "completed"]
        assert done and "TOOL-MARKER-42" in json.dumps(done[-1]), agent.describe()
    main = srv.requests(kind="main")
    assert [r["step"] for r in main] == [0, 1]
    assert "TOOL-MARKER-42" not in json.dumps(main[0]["body"])
    tool_msgs = [m for m in main[1]["body"]["messages"] if m["role"] == "tool"]
    assert tool_msgs and "TOOL-MARKER-42" in json.dumps(tool_msgs)


def test_gemini_acp_text_turn(model_server, tmp_path):
    peers.require_peer("gemini")
    srv = model_server({"steps": [{"reply": "GM-FAKE-REPLY-321"}]})
    pe = peers.gemini_env(tmp_path, srv)
    with peers.AcpProcess(pe.argv, pe.env, pe.project, tmp_path / "gemini.stderr") as agent:
        sid = start_session(agent, pe.project)
        result = prompt(agent, sid, "Reply with the single word hello.")
        assert result["stopReason"] == "end_turn", agent.describe()
        assert agent.text() == "GM-FAKE-REPLY-321", agent.describe()
    # The model comes from settings.json model.name / GEMINI_MODEL (no -m, no router).
    (main,) = srv.requests(kind="main")
    assert main["path"] == f"/v1beta/models/{peers.GEMINI_MODEL}:streamGenerateContent"
    assert main["headers"]["x-goog-api-key"] == "fake-key"
    assert srv.requests(kind="side") == []


def test_gemini_acp_tool_call_with_permission(model_server, tmp_path):
    peers.require_peer("gemini")
    srv = model_server({"steps": [{"tool_call": {"command": MARKER_CMD}},
                                  {"reply": "TOOL-ROUNDTRIP-DONE"}]})
    pe = peers.gemini_env(tmp_path, srv)
    asked = []

    def allow_once(msg):
        assert msg["method"] == "session/request_permission", msg
        asked.append(msg["params"])
        return {"outcome": {"outcome": "selected", "optionId": "proceed_once"}}

    with peers.AcpProcess(pe.argv, pe.env, pe.project, tmp_path / "gemini.stderr") as agent:
        sid = start_session(agent, pe.project)
        result = prompt(agent, sid, "Run the marker command.", on_request=allow_once)
        assert result["stopReason"] == "end_turn", agent.describe()
        assert agent.text() == "TOOL-ROUNDTRIP-DONE", agent.describe()
        assert len(asked) == 1, agent.describe()
    main = srv.requests(kind="main")
    assert [r["step"] for r in main] == [0, 1]
    assert "TOOL-MARKER-42" in json.dumps(main[1]["body"]["contents"][-1])
