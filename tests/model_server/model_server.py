#!/usr/bin/env python3
"""Scripted fake model server for end-to-end tests of real coding-agent CLIs.

Loopback only, Python 3 standard library only. Usage:

    model_server.py --script SCRIPT.json --record RECORD.ndjson [--port 0] [--port-file F]

Prints ``PORT <n>`` on stdout once listening (and writes <n> to --port-file).
Stops cleanly on SIGTERM / SIGINT.

Wire APIs ("dialects"), one class each; add a new one by subclassing
``Dialect`` and listing it in ``DIALECTS``:

* ``ChatCompletions``   POST .../chat/completions          (opencode, pi)
* ``Responses``         POST .../responses                 (codex, pi)
* ``Gemini``            POST .../models/<m>:streamGenerateContent | :generateContent
* ``AnthropicMessages`` POST .../messages                  (claude)

plus ``GET .../models`` (model list) and ``HEAD /`` (connectivity probe).

Script (JSON)::

    {"model": "fake-model", "side_reply": "Title",
     "steps": [{"reply": "hello"},
               {"reply_chunks": ["a", "b"]},
               {"tool_call": {"command": "printf 'TOOL-MARKER-%d\\n' 42"}},
               {"tool_call": {"name": "read", "arguments": {"filePath": "x"}}},
               {"tool_call": {"namespace": "mcp__avenor", "name": "avenor_status"}},
               {"error": 500, "message": "injected failure", "repeat": true},
               {"hang": true},
               {"delay_ms": 200, "reply": "late"},
               {"reply_from_tool_result": "Sub-agent said: "}]}

A request that carries tools is a *main* request and consumes the next step;
a tool-less request (title generators, summaries, ...) is a *side* request
and is answered with ``side_reply`` without consuming a step. Gemini JSON-mode
requests (the model router's classifier, next-speaker checks) are side
requests answered with a JSON object built from their response schema. When
the steps run out, main requests get the reply ``SCRIPT-EXHAUSTED``.
``reply_from_tool_result`` replies with its value (a prefix; ``true`` = none)
followed by the text of the last tool result in the request (``NO-TOOL-RESULT``
when it carries none), so a script can echo what a tool returned without
knowing it in advance.

Every request is appended to the record file as one JSON line (flushed at
once, before the answer is sent) with keys: seq, time, method, path, query,
headers (subset), body, api, kind (main/side/meta/unknown), step (index or
null), action.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHELL_TOOL_NAMES = ("bash", "Bash", "exec_command", "run_shell_command", "shell")
RECORDED_HEADERS = (
    "user-agent", "authorization", "x-api-key", "x-goog-api-key", "content-type",
    "accept", "anthropic-version", "anthropic-beta", "originator", "session-id",
)
EXHAUSTED_REPLY = "SCRIPT-EXHAUSTED"
NO_TOOL_RESULT = "NO-TOOL-RESULT"
USAGE = {"input": 10, "output": 3}


# --------------------------------------------------------------------------
# Script and record
# --------------------------------------------------------------------------

class Script:
    """The scripted steps; hands out one step per main request (thread-safe)."""

    def __init__(self, data: dict):
        self.model = data.get("model", "fake-model")
        self.models = list(data.get("models") or [self.model])
        self.side_reply = data.get("side_reply", "Title")
        self.steps = list(data.get("steps", []))
        self._next = 0
        self._lock = threading.Lock()

    def next_step(self):
        """Return (index, step) or (None, None) when exhausted."""
        with self._lock:
            if self._next >= len(self.steps):
                return None, None
            index = self._next
            step = self.steps[index]
            if not step.get("repeat"):
                self._next += 1
            return index, step


class Recorder:
    """Appends one JSON line per request and flushes at once."""

    def __init__(self, path: str):
        self._file = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._seq = 0

    def write(self, entry: dict) -> None:
        with self._lock:
            if self._file.closed:  # server shutting down
                return
            self._seq += 1
            entry = {"seq": self._seq, "time": round(time.time(), 3), **entry}
            self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def split_text(text: str) -> list[str]:
    """Split a reply into two deltas (one if it is shorter than 2 chars)."""
    if len(text) < 2:
        return [text]
    mid = len(text) // 2
    return [text[:mid], text[mid:]]


def value_for_schema(name: str, schema: dict):
    """A plausible value for a JSON-schema property (used for tool args / JSON mode)."""
    overrides = {"complexity_score": 10, "next_speaker": "user",
                 "description": "fake tool call from the scripted model"}
    if name in overrides:
        return overrides[name]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type", "string")).lower()
    if kind == "object":
        return object_for_schema(schema)
    return {"integer": 1, "number": 1, "boolean": False, "array": []}.get(kind, "x")


def object_for_schema(schema: dict) -> dict:
    props = schema.get("properties") or {}
    names = schema.get("required") or list(props)
    return {n: value_for_schema(n, props.get(n) or {}) for n in names}


def shell_arguments(schema: dict, command: str) -> dict:
    """Arguments for a shell tool: the command plus required fields filled in."""
    props = (schema or {}).get("properties") or {}
    args = object_for_schema({"properties": props,
                              "required": (schema or {}).get("required") or []})
    key = "cmd" if "cmd" in props and "command" not in props else "command"
    if str((props.get(key) or {}).get("type", "")).lower() == "array":
        args[key] = ["bash", "-lc", command]
    else:
        args[key] = command
    return args


def content_text(value) -> str:
    """The text of a tool result's content: a string as it is, a list of parts
    ({"type": "text"|"input_text"|"output_text", "text": ...}) joined, anything
    else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return value["text"]
    if isinstance(value, list):
        return "".join(content_text(v) for v in value
                       if isinstance(v, str) or (isinstance(v, dict) and "text" in v))
    return json.dumps(value)


# --------------------------------------------------------------------------
# Dialects: request classification + response rendering per wire API
# --------------------------------------------------------------------------

class Dialect:
    """Base class. Subclasses implement matching, tool discovery and rendering."""

    name = "base"

    def matches(self, method: str, path: str) -> bool:
        raise NotImplementedError

    def tools(self, body: dict) -> dict:
        """Map tool name -> JSON schema of its parameters."""
        raise NotImplementedError

    def side_answer(self, body: dict, path: str, script: Script):
        """None for a main request; otherwise ('side'|'json', payload)."""
        return None if self.tools(body) else ("side", script.side_reply)

    def model_of(self, body: dict, path: str, script: Script) -> str:
        return body.get("model") or script.model

    def last_tool_result(self, body: dict) -> str | None:
        """Text of the last tool result the request carries back to the model."""
        return None

    def send_text(self, h, chunks: list[str], ctx: dict) -> None:
        raise NotImplementedError

    def send_tool_call(self, h, name: str, args: dict, ctx: dict) -> None:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> dict:
        return {"error": {"message": message, "type": "server_error", "code": status}}


class ChatCompletions(Dialect):
    """OpenAI chat completions, streaming (SSE) or not."""

    name = "chat"

    def matches(self, method, path):
        return method == "POST" and path.endswith("/chat/completions")

    def tools(self, body):
        out = {}
        for tool in body.get("tools") or []:
            fn = tool.get("function") or {}
            if fn.get("name"):
                out[fn["name"]] = fn.get("parameters") or {}
        return out

    def side_answer(self, body, path, script):
        messages = body.get("messages") or []
        system = messages[0].get("content") if messages and messages[0].get("role") == "system" else ""
        if isinstance(system, str) and system.startswith("You are a title generator"):
            return ("side", script.side_reply)
        return super().side_answer(body, path, script)

    def last_tool_result(self, body):
        results = [m.get("content") for m in body.get("messages") or []
                   if isinstance(m, dict) and m.get("role") == "tool"]
        return content_text(results[-1]) if results else None

    def _chunk(self, ctx, delta=None, finish=None, usage=None):
        obj = {"id": ctx["id"], "object": "chat.completion.chunk", "created": ctx["created"],
               "model": ctx["model"],
               "choices": [] if delta is None else
               [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if usage:
            obj["usage"] = usage
        return obj

    @staticmethod
    def _usage():
        return {"prompt_tokens": USAGE["input"], "completion_tokens": USAGE["output"],
                "total_tokens": USAGE["input"] + USAGE["output"]}

    def _stream(self, h, ctx, deltas, finish):
        h.start_sse()
        h.sse(self._chunk(ctx, {"role": "assistant", "content": ""}))
        for d in deltas:
            h.sse(self._chunk(ctx, d))
        h.sse(self._chunk(ctx, {}, finish))
        if (ctx["body"].get("stream_options") or {}).get("include_usage"):
            h.sse(self._chunk(ctx, usage=self._usage()))
        h.sse_raw("[DONE]")

    def _whole(self, h, ctx, message, finish):
        h.send_json(200, {"id": ctx["id"], "object": "chat.completion", "created": ctx["created"],
                          "model": ctx["model"],
                          "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                          "usage": self._usage()})

    def send_text(self, h, chunks, ctx):
        if ctx["body"].get("stream"):
            self._stream(h, ctx, [{"content": c} for c in chunks], "stop")
        else:
            self._whole(h, ctx, {"role": "assistant", "content": "".join(chunks)}, "stop")

    def send_tool_call(self, h, name, args, ctx):
        arguments = json.dumps(args)
        call = {"id": ctx["call_id"], "type": "function", "function": {"name": name}}
        if not ctx["body"].get("stream"):
            call["function"]["arguments"] = arguments
            self._whole(h, ctx, {"role": "assistant", "content": None, "tool_calls": [call]},
                        "tool_calls")
            return
        first = {"index": 0, **call, "function": {"name": name, "arguments": ""}}
        deltas = [{"tool_calls": [first]}]
        deltas += [{"tool_calls": [{"index": 0, "function": {"arguments": part}}]}
                   for part in split_text(arguments)]
        self._stream(h, ctx, deltas, "tool_calls")


class Responses(Dialect):
    """OpenAI Responses API (typed SSE events ending in response.completed)."""

    name = "responses"

    def matches(self, method, path):
        return method == "POST" and path.endswith("/responses")

    def tools(self, body):
        out = {}
        for tool in body.get("tools") or []:
            fn = tool.get("function") or tool  # flat {"type":"function","name":..} form
            if fn.get("name"):
                out[fn["name"]] = fn.get("parameters") or {}
        return out

    def last_tool_result(self, body):
        items = body.get("input")
        results = [i.get("output") for i in items if isinstance(i, dict)
                   and i.get("type") in ("function_call_output", "custom_tool_call_output")] \
            if isinstance(items, list) else []
        return content_text(results[-1]) if results else None

    def _response(self, ctx, status, output):
        return {"id": ctx["id"], "object": "response", "created_at": ctx["created"],
                "status": status, "model": ctx["model"], "output": output,
                "usage": {"input_tokens": USAGE["input"], "output_tokens": USAGE["output"],
                          "total_tokens": USAGE["input"] + USAGE["output"],
                          "input_tokens_details": {"cached_tokens": 0},
                          "output_tokens_details": {"reasoning_tokens": 0}}}

    def _emit(self, h, ctx, kind, **fields):
        ctx["seq"] = ctx.get("seq", -1) + 1
        h.sse({"type": kind, "sequence_number": ctx["seq"], **fields}, event=kind)

    def _run(self, h, ctx, item_events, final_item, earlier=()):
        output = [*earlier, final_item]
        if not ctx["body"].get("stream"):
            h.send_json(200, self._response(ctx, "completed", output))
            return
        h.start_sse()
        self._emit(h, ctx, "response.created", response=self._response(ctx, "in_progress", []))
        self._emit(h, ctx, "response.in_progress", response=self._response(ctx, "in_progress", []))
        for kind, fields in item_events:
            self._emit(h, ctx, kind, **fields)
        self._emit(h, ctx, "response.output_item.done", output_index=len(earlier),
                   item=final_item)
        self._emit(h, ctx, "response.completed",
                   response=self._response(ctx, "completed", output))

    def _reasoning(self, ctx):
        """A reasoning item whose summary streams as two deltas (step "reasoning")."""
        text = ctx.get("reasoning")
        if not text:
            return [], []
        item_id = "rs_" + ctx["id"]
        base = {"item_id": item_id, "output_index": 0, "summary_index": 0}
        item = {"id": item_id, "type": "reasoning",
                "summary": [{"type": "summary_text", "text": text}]}
        events = [("response.output_item.added",
                   {"output_index": 0, "item": {**item, "summary": []}}),
                  ("response.reasoning_summary_part.added",
                   {**base, "part": {"type": "summary_text", "text": ""}})]
        events += [("response.reasoning_summary_text.delta", {**base, "delta": c})
                   for c in split_text(text)]
        events += [("response.reasoning_summary_text.done", {**base, "text": text}),
                   ("response.reasoning_summary_part.done",
                    {**base, "part": {"type": "summary_text", "text": text}}),
                   ("response.output_item.done", {"output_index": 0, "item": item})]
        return events, [item]

    def send_text(self, h, chunks, ctx):
        item_id, text = "msg_" + ctx["id"], "".join(chunks)
        pre_events, earlier = self._reasoning(ctx)
        index = len(earlier)
        base = {"item_id": item_id, "output_index": index, "content_index": 0}
        part = {"type": "output_text", "text": text, "annotations": []}
        events = pre_events + [
            ("response.output_item.added",
             {"output_index": index, "item": {"id": item_id, "type": "message",
                                              "role": "assistant", "status": "in_progress",
                                              "content": []}}),
            ("response.content_part.added", {**base, "part": {**part, "text": ""}})]
        events += [("response.output_text.delta", {**base, "delta": c}) for c in chunks]
        events += [("response.output_text.done", {**base, "text": text}),
                   ("response.content_part.done", {**base, "part": part})]
        final = {"id": item_id, "type": "message", "role": "assistant", "status": "completed",
                 "content": [part]}
        self._run(h, ctx, events, final, earlier)

    def send_tool_call(self, h, name, args, ctx):
        item_id, arguments = "fc_" + ctx["id"], json.dumps(args)
        item = {"id": item_id, "type": "function_call", "call_id": ctx["call_id"], "name": name}
        if ctx.get("namespace"):  # a tool of a {"type": "namespace"} group (codex's MCP tools)
            item["namespace"] = ctx["namespace"]
        base = {"item_id": item_id, "output_index": 0}
        events = [("response.output_item.added",
                   {"output_index": 0, "item": {**item, "arguments": "", "status": "in_progress"}})]
        events += [("response.function_call_arguments.delta", {**base, "delta": part})
                   for part in split_text(arguments)]
        events += [("response.function_call_arguments.done", {**base, "arguments": arguments})]
        self._run(h, ctx, events, {**item, "arguments": arguments, "status": "completed"})


class Gemini(Dialect):
    """Google Gemini generateContent / streamGenerateContent (?alt=sse)."""

    name = "gemini"
    _PATH = re.compile(r"/models/([^/:]+):(streamGenerateContent|generateContent)$")

    def matches(self, method, path):
        return method == "POST" and bool(self._PATH.search(path))

    def tools(self, body):
        out = {}
        for tool in body.get("tools") or []:
            for decl in tool.get("functionDeclarations") or []:
                out[decl["name"]] = decl.get("parametersJsonSchema") or decl.get("parameters") or {}
        return out

    def side_answer(self, body, path, script):
        config = body.get("generationConfig") or {}
        if config.get("responseMimeType") == "application/json":
            schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
            return ("json", json.dumps(object_for_schema(schema)))
        return super().side_answer(body, path, script)

    def last_tool_result(self, body):
        results = [p["functionResponse"].get("response")
                   for c in body.get("contents") or [] if isinstance(c, dict)
                   for p in c.get("parts") or []
                   if isinstance(p, dict) and isinstance(p.get("functionResponse"), dict)]
        if not results:
            return None
        last = results[-1]
        if isinstance(last, dict):
            for key in ("output", "content"):
                if key in last:
                    return content_text(last[key])
        return content_text(last)

    def model_of(self, body, path, script):
        return self._PATH.search(path).group(1)

    def _candidate(self, parts, finish=None):
        cand = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            cand["finishReason"] = finish
        return cand

    def _send(self, h, ctx, part_lists):
        usage = {"promptTokenCount": USAGE["input"], "candidatesTokenCount": USAGE["output"],
                 "totalTokenCount": USAGE["input"] + USAGE["output"]}
        if not ctx["path"].endswith(":streamGenerateContent"):
            parts = [p for ps in part_lists for p in ps]
            h.send_json(200, {"candidates": [self._candidate(parts, "STOP")],
                              "usageMetadata": usage, "modelVersion": ctx["model"]})
            return
        h.start_sse()
        for i, parts in enumerate(part_lists):
            last = i == len(part_lists) - 1
            chunk = {"candidates": [self._candidate(parts, "STOP" if last else None)],
                     "modelVersion": ctx["model"]}
            if last:
                chunk["usageMetadata"] = usage
            h.sse(chunk)

    def send_text(self, h, chunks, ctx):
        self._send(h, ctx, [[{"text": c}] for c in chunks])

    def send_tool_call(self, h, name, args, ctx):
        self._send(h, ctx, [[{"functionCall": {"name": name, "args": args}}]])

    def error_body(self, status, message):
        return {"error": {"code": status, "message": message,
                          "status": "INTERNAL" if status >= 500 else "INVALID_ARGUMENT"}}


class AnthropicMessages(Dialect):
    """Anthropic Messages API (SSE message_start ... message_stop)."""

    name = "anthropic"

    def matches(self, method, path):
        return method == "POST" and path.endswith("/messages")

    def tools(self, body):
        return {t["name"]: t.get("input_schema") or {} for t in body.get("tools") or []
                if t.get("name")}

    def last_tool_result(self, body):
        results = [b.get("content") for m in body.get("messages") or [] if isinstance(m, dict)
                   and isinstance(m.get("content"), list)
                   for b in m["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
        return content_text(results[-1]) if results else None

    def _message(self, ctx, content, stop):
        return {"id": "msg_" + ctx["id"], "type": "message", "role": "assistant",
                "model": ctx["model"], "content": content, "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": USAGE["input"], "output_tokens": USAGE["output"]}}

    def _emit(self, h, kind, **fields):
        h.sse({"type": kind, **fields}, event=kind)

    def _stream(self, h, ctx, block, deltas, stop):
        h.start_sse()
        start = self._message(ctx, [], None)
        start["usage"]["output_tokens"] = 0
        self._emit(h, "message_start", message=start)
        index = 0
        if ctx.get("reasoning"):  # step "reasoning": a thinking block streamed before the rest
            self._emit(h, "content_block_start", index=0,
                       content_block={"type": "thinking", "thinking": "", "signature": ""})
            for c in split_text(ctx["reasoning"]):
                self._emit(h, "content_block_delta", index=0,
                           delta={"type": "thinking_delta", "thinking": c})
            self._emit(h, "content_block_delta", index=0,
                       delta={"type": "signature_delta", "signature": "fake-signature"})
            self._emit(h, "content_block_stop", index=0)
            index = 1
        self._emit(h, "content_block_start", index=index, content_block=block)
        for d in deltas:
            self._emit(h, "content_block_delta", index=index, delta=d)
        self._emit(h, "content_block_stop", index=index)
        self._emit(h, "message_delta", delta={"stop_reason": stop, "stop_sequence": None},
                   usage={"output_tokens": USAGE["output"]})
        self._emit(h, "message_stop")

    def send_text(self, h, chunks, ctx):
        if not ctx["body"].get("stream"):
            h.send_json(200, self._message(ctx, [{"type": "text", "text": "".join(chunks)}],
                                           "end_turn"))
            return
        self._stream(h, ctx, {"type": "text", "text": ""},
                     [{"type": "text_delta", "text": c} for c in chunks], "end_turn")

    def send_tool_call(self, h, name, args, ctx):
        block = {"type": "tool_use", "id": ctx["call_id"].replace("call_", "toolu_"), "name": name}
        if not ctx["body"].get("stream"):
            h.send_json(200, self._message(ctx, [{**block, "input": args}], "tool_use"))
            return
        self._stream(h, ctx, {**block, "input": {}},
                     [{"type": "input_json_delta", "partial_json": p}
                      for p in split_text(json.dumps(args))], "tool_use")

    def error_body(self, status, message):
        return {"type": "error", "error": {"type": "api_error", "message": message}}


DIALECTS = [ChatCompletions(), Responses(), Gemini(), AnthropicMessages()]


# --------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    server_version = "avenor-fake-model/1"
    protocol_version = "HTTP/1.0"  # one response per connection; SSE ends at close

    # -- low-level writers used by the dialects --------------------------------

    def send_json(self, status: int, obj) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()

    def sse(self, obj, event: str | None = None) -> None:
        prefix = f"event: {event}\n" if event else ""
        self.wfile.write(f"{prefix}data: {json.dumps(obj)}\n\n".encode())
        self.wfile.flush()

    def sse_raw(self, data: str) -> None:
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    # -- request entry points ---------------------------------------------------

    def log_message(self, fmt, *args):  # keep stderr quiet unless asked
        if self.server.verbose:
            sys.stderr.write("model_server: " + (fmt % args) + "\n")

    def do_HEAD(self):
        self._record("meta", None, "head", {})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        path = self._path()
        if path.rstrip("/").endswith("/models") or path.rstrip("/") == "/models":
            self._record("meta", None, "models", {})
            self.send_json(200, self._model_list())
        elif path in ("/", ""):
            self._record("meta", None, "root", {})
            self.send_json(200, {"ok": True})
        else:
            self._record("unknown", None, "404", {})
            self.send_json(404, {"error": {"message": f"no such path {path}", "code": 404}})

    def do_POST(self):
        path = self._path()
        body = self._read_body()
        dialect = next((d for d in DIALECTS if d.matches("POST", path)), None)
        if dialect is None:
            if path.endswith("/count_tokens"):
                self._record("meta", None, "count_tokens", body)
                self.send_json(200, {"input_tokens": USAGE["input"], "totalTokens": USAGE["input"]})
                return
            self._record("unknown", None, "404", body)
            self.send_json(404, {"error": {"message": f"no such path {path}", "code": 404}})
            return
        try:
            self._answer(dialect, path, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (e.g. a cancelled turn)

    # -- helpers ------------------------------------------------------------------

    def _path(self) -> str:
        return urllib.parse.urlsplit(self.path).path

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}

    def _model_list(self) -> dict:
        ids = self.server.script.models
        return {"object": "list", "has_more": False,
                "data": [{"id": m, "object": "model", "created": 0, "owned_by": "fake",
                          "type": "model", "display_name": m} for m in ids],
                "models": [{"name": f"models/{m}", "displayName": m,
                            "supportedGenerationMethods": ["generateContent",
                                                           "streamGenerateContent"]}
                           for m in ids]}

    def _record(self, kind, step, action, body, api=None) -> None:
        split = urllib.parse.urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() in RECORDED_HEADERS}
        self.server.recorder.write({"method": self.command, "path": split.path,
                                    "query": split.query, "headers": headers, "body": body,
                                    "api": api, "kind": kind, "step": step, "action": action})

    def _context(self, dialect, path, body) -> dict:
        n = self.server.next_id()
        return {"id": f"fake{n}", "call_id": f"call_fake{n}", "created": int(time.time()),
                "model": dialect.model_of(body, path, self.server.script), "body": body,
                "path": path}

    def _answer(self, dialect: Dialect, path: str, body: dict) -> None:
        script = self.server.script
        ctx = self._context(dialect, path, body)
        side = dialect.side_answer(body, path, script)
        if side is not None:
            kind, text = side
            self._record("side", None, kind, body, dialect.name)
            # JSON-mode answers go out whole: some clients parse each chunk.
            dialect.send_text(self, [text] if kind == "json" else split_text(text), ctx)
            return
        index, step = script.next_step()
        if step is None:
            self._record("main", None, "exhausted", body, dialect.name)
            dialect.send_text(self, split_text(EXHAUSTED_REPLY), ctx)
            return
        self._record("main", index, self._action(step), body, dialect.name)
        self._run_step(dialect, step, body, ctx)

    @staticmethod
    def _action(step: dict) -> str:
        for key in ("error", "hang", "tool_call", "reply_from_tool_result", "reply_chunks",
                    "reply"):
            if key in step:
                return key
        return "reply"

    def _run_step(self, dialect, step, body, ctx) -> None:
        stop = self.server.stop_event
        if step.get("delay_ms") and stop.wait(step["delay_ms"] / 1000.0):
            return  # server stopping
        if step.get("hang"):
            stop.wait()  # hold the socket open until the server stops
            return
        if "error" in step:
            status = int(step["error"])
            self.send_json(status, dialect.error_body(status, step.get("message", "injected failure")))
            return
        if "tool_call" in step:
            self._send_tool_call(dialect, step["tool_call"], body, ctx)
            return
        if step.get("reasoning"):
            ctx["reasoning"] = str(step["reasoning"])
        if "reply_from_tool_result" in step:
            prefix = step["reply_from_tool_result"]
            prefix = prefix if isinstance(prefix, str) else ""
            result = dialect.last_tool_result(body)
            dialect.send_text(self, split_text(prefix + (NO_TOOL_RESULT if result is None
                                                         else result)), ctx)
            return
        if "reply_chunks" in step:
            dialect.send_text(self, list(step["reply_chunks"]), ctx)
            return
        dialect.send_text(self, split_text(str(step.get("reply", ""))), ctx)

    def _send_tool_call(self, dialect, spec: dict, body, ctx) -> None:
        tools = dialect.tools(body)
        if "name" in spec:  # explicit tool + arguments
            ctx["namespace"] = spec.get("namespace")
            dialect.send_tool_call(self, spec["name"], spec.get("arguments") or {}, ctx)
            return
        name = next((n for n in SHELL_TOOL_NAMES if n in tools), None)
        if name is None:
            dialect.send_text(self, split_text("NO-SHELL-TOOL in " + ",".join(sorted(tools))), ctx)
            return
        dialect.send_tool_call(self, name, shell_arguments(tools[name], spec["command"]), ctx)


class FakeModelServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, script: Script, recorder: Recorder, verbose: bool = False):
        super().__init__(("127.0.0.1", port), Handler)
        self.script = script
        self.recorder = recorder
        self.verbose = verbose
        self.stop_event = threading.Event()
        self._ids = 0
        self._ids_lock = threading.Lock()

    def next_id(self) -> int:
        with self._ids_lock:
            self._ids += 1
            return self._ids


def write_port_file(path: str, port: int) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--script", required=True, help="script JSON file")
    ap.add_argument("--record", required=True, help="NDJSON file to append requests to")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free)")
    ap.add_argument("--port-file", help="write the bound port here")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = ap.parse_args(argv)

    with open(args.script, encoding="utf-8") as f:
        script = Script(json.load(f))
    recorder = Recorder(args.record)
    server = FakeModelServer(args.port, script, recorder, args.verbose)
    port = server.server_address[1]

    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    if args.port_file:
        write_port_file(args.port_file, port)
    print(f"PORT {port}", flush=True)

    while not stopping.wait(0.5):
        pass
    server.stop_event.set()  # release hanging / delayed handlers
    server.shutdown()
    server.server_close()
    recorder.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
