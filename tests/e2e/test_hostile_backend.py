"""A backend that sends what a careless or hostile agent sends (issue 15, items 3 and 4),
driven through the real binary:

* the envelope (ts, seq, run_id, run_label, runtime_id) is avenor's: a backend's values for
  these keys (seq = INT64_MAX included) never reach the log, seq stays 1, 2, 3, ... and
  `avenor control tail` still gets every event up to session.end;
* lone UTF-16 surrogate escapes, bytes that are not UTF-8 and numbers beyond the double range
  cost a character (U+FFFD) or a value (null), never the event or the run;
* an avenor.error that quotes an undecodable frame leaves the log valid UTF-8.

The scripted fake ACP agent plays the JSON frames; the invalid bytes come from a ten-line
Python agent, since the fake's script (JSON) cannot hold them.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from avenor_cli import AvenorProcess, RunFiles, assert_log_well_formed, events_named, \
    standard_run_args
from control_rpc import ControlClient, TailProcess, wait_for_socket, wait_until
from fake_run import RUN_ID, SESSION, base_env

INT64_MAX = 2**63 - 1
# What a hostile backend puts in its messages: the host's envelope keys.
HOSTILE = {"seq": INT64_MAX, "ts": 1, "run_id": "evil-run", "run_label": "evil-label",
           "runtime_id": "evil-rt"}
FFFD = "\ufffd"


def update_frame(update: dict | str) -> str:
    """A session/update notification line; `update` as a dict, or raw JSON text (which may
    hold what json.dumps would never write, such as a lone surrogate escape or 1e400)."""
    text = update if isinstance(update, str) else json.dumps(update)
    return ('{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"%s","update":%s}}\n'
            % (SESSION, text))


def chunk_texts(events: list[dict]) -> list[str]:
    return [e["content"]["text"] for e in events_named(events, "agent.message_chunk")]


def log_bytes(files: RunFiles) -> bytes:
    return files.events.read_bytes()


# ---------------------------------------------------------------------------------------------
# item 3: the envelope is the host's
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def sock_dir():
    d = Path(tempfile.mkdtemp(prefix="avh-", dir="/tmp"))  # short: a socket path is <108 bytes
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_backend_envelope_fields_never_replace_the_hosts(avenor, fake, sock_dir):
    # The permission holds the turn until a tail is provably subscribed; everything hostile
    # comes after it: updates (the fast path), a tool call, the permission request and the
    # prompt result (the object path) all carry the envelope keys, seq = INT64_MAX first.
    script = {"turns": [[
        {"permission": {"toolCall": {"toolCallId": "c0", "title": "ls", "kind": "execute"},
                        **HOSTILE},
         "on_allow": [
             {"update": {"sessionUpdate": "agent_message_chunk",
                         "content": {"type": "text", "text": "a"}, **HOSTILE}},
             {"update": {"sessionUpdate": "tool_call", "toolCallId": "c1", "title": "cat",
                         "kind": "read", "status": "pending", **HOSTILE}},
             {"update": {"sessionUpdate": "agent_thought_chunk",
                         "content": {"type": "text", "text": "hm"}, **HOSTILE}},
             {"chunk": "b"}],
         "on_reject": []},
        {"end": {"stopReason": "end_turn", **HOSTILE}}]]}
    run = fake(script)
    sock = str(sock_dir / "c.sock")
    started_ms = int(time.time() * 1000)
    proc = run.start("--prompt", "go", "--label", "lab", "--runtime-id", "rt_7", "--control-socket", sock)
    wait_for_socket(Path(sock), proc.proc)
    tail = TailProcess(avenor, sock)
    try:
        with ControlClient(sock) as c:
            # A probe with hostile envelope fields of its own (a control client's
            # publish_event), repeated until the tail has printed one: then it is subscribed.
            def tail_saw_probe():
                if tail.proc.poll() is not None:
                    raise AssertionError(f"tail exited early: {tail.finish()[1]}")
                c.call_ok("publish_event", {"event": {"event": "test.probe", **HOSTILE}})
                return any(e.get("event") == "test.probe" for e in tail.snapshot())
            wait_until(tail_saw_probe, what="control tail to print a probe event", interval=0.05)
            wait_until(lambda: c.call_ok("status").get("pending_permission"),
                       what="the permission request")
            c.call_ok("answer_permission", {"request_id": "0", "option_id": "once"})
        assert proc.wait(60) == 0, run.stderr()
        rc, err = tail.finish()
    finally:
        if tail.proc.poll() is None:
            tail.proc.kill()
    assert rc == 0, err

    events = run.events()
    assert_log_well_formed(events, RUN_ID)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    for e in events:
        assert e["run_id"] == RUN_ID and e["run_label"] == "lab" and e["runtime_id"] == "rt_7", e
        assert e["ts"] >= started_ms - 1000, e  # avenor's clock, not the backend's ts = 1
    assert chunk_texts(events) == ["a", "b"]
    assert events_named(events, "tool.call")[0]["title"] == "cat"
    assert events_named(events, "permission.request")[0]["toolCall"]["toolCallId"] == "c0"
    end = events_named(events, "session.end")
    assert len(end) == 1 and end[0]["final_output"] == "ab" and events[-1] is end[0]

    # The tail saw every event from its first one on, in seq order, session.end included.
    streamed = [e for e in tail.snapshot() if e["event"] != "subscriber.lagged"]
    first = streamed[0]["seq"]
    assert [e["seq"] for e in streamed] == [e["seq"] for e in events if e["seq"] >= first]
    assert streamed[-1]["event"] == "session.end"
    for e in streamed:
        assert e["run_id"] == RUN_ID and e["runtime_id"] == "rt_7", e


# ---------------------------------------------------------------------------------------------
# item 4: lenient decoding
# ---------------------------------------------------------------------------------------------

def test_lone_surrogates_and_huge_numbers_keep_the_event_and_the_run(fake):
    frames = [
        update_frame('{"sessionUpdate":"agent_message_chunk",'
                     '"content":{"type":"text","text":"cut \\ud83d"}}'),  # an emoji cut in half
        update_frame('{"sessionUpdate":"agent_message_chunk",'
                     '"content":{"type":"text","text":"\\udc00 alone"}}'),
        update_frame('{"sessionUpdate":"agent_message_chunk",'
                     '"content":{"type":"text","text":"\\ud800\\u0041"}}'),
        update_frame('{"sessionUpdate":"tool_call","toolCallId":"c1","title":"t",'
                     '"n":1e400,"m":-1e400,"tiny":1e-400,"rawInput":{"big":1e999}}'),
    ]
    script = {"turns": [[*({"raw": f} for f in frames), {"chunk": "!"},
                         {"end": {"stopReason": "end_turn"}}]]}
    run = fake(script)
    assert run.run("--prompt", "go") == 0, run.stderr()
    log_bytes(run.files).decode("utf-8")  # strict: the log is valid UTF-8
    events = run.events()
    assert_log_well_formed(events, RUN_ID)
    assert not events_named(events, "avenor.error"), events
    texts = chunk_texts(events)
    assert texts == [f"cut {FFFD}", f"{FFFD} alone", f"{FFFD}A", "!"]
    call = events_named(events, "tool.call")[0]
    assert call["n"] is None and call["m"] is None and call["tiny"] == 0
    assert call["rawInput"] == {"big": None}
    assert events_named(events, "session.end")[0]["final_output"] == "".join(texts)


# A minimal ACP agent that plays the bytes of $HOSTILE_FRAMES as its turn: what no JSON
# script can hold (bytes that are not UTF-8).
MINI_AGENT = r'''
import json, os, sys
frames = open(os.environ["HOSTILE_FRAMES"], "rb").read()
out = sys.stdout.buffer
def send(msg):
    out.write(json.dumps(msg).encode() + b"\n")
    out.flush()
try:
    for line in sys.stdin.buffer:
        msg = json.loads(line)
        method, mid = msg.get("method"), msg.get("id")
        if method == "initialize":
            send({"jsonrpc": "2.0", "id": mid, "result": {"protocolVersion": 1}})
        elif method == "session/new":
            send({"jsonrpc": "2.0", "id": mid, "result": {"sessionId": "%s"}})
        elif method == "session/prompt":
            out.write(frames)
            out.flush()
            send({"jsonrpc": "2.0", "id": mid, "result": {"stopReason": "end_turn"}})
        elif method is not None and mid is not None:
            send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": method}})
except BrokenPipeError:
    pass
''' % SESSION


def run_mini_agent(avenor: str, tmp_path: Path, frames: bytes) -> tuple[int, RunFiles]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "agent.py").write_text(MINI_AGENT)
    (tmp_path / "frames.bin").write_bytes(frames)
    wrapper = bin_dir / "opencode"  # the default backend, opencode-acp, runs `opencode acp`
    wrapper.write_text(f"#!/bin/sh\nexec /usr/bin/python3 {tmp_path / 'agent.py'}\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env = base_env()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["HOSTILE_FRAMES"] = str(tmp_path / "frames.bin")
    files = RunFiles(tmp_path / "run")
    work = tmp_path / "work"
    work.mkdir()
    args = standard_run_args(files, "--run-id", RUN_ID, "--prompt", "go", "--dir", str(work))
    return AvenorProcess(avenor, args, env, files, cwd=work).wait(60), files


def test_bytes_that_are_not_utf8_cost_a_character_not_the_event(avenor, tmp_path):
    good = update_frame('{"sessionUpdate":"agent_message_chunk",'
                        '"content":{"type":"text","text":"bad XX byte"}}').encode()
    frames = good.replace(b"XX", b"\xff\xfe") + update_frame(
        {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "ok"}}
    ).encode()
    rc, files = run_mini_agent(avenor, tmp_path, frames)
    assert rc == 0, files.stderr_text()
    log_bytes(files).decode("utf-8")
    events = files.read_events()
    assert chunk_texts(events) == [f"bad {FFFD}{FFFD} byte", "ok"]
    assert events_named(events, "session.end")[0]["final_output"] == f"bad {FFFD}{FFFD} byte" + "ok"


def test_an_error_quoting_an_undecodable_frame_leaves_the_log_valid_utf8(avenor, tmp_path):
    ok = update_frame({"sessionUpdate": "agent_message_chunk",
                       "content": {"type": "text", "text": "before"}}).encode()
    bad = b'{"jsonrpc":"2.0","method":"session/update","params":\xff\xfe\xed\xa0\x80 not json\n'
    rc, files = run_mini_agent(avenor, tmp_path, ok + bad)
    assert rc == 1, files.stderr_text()
    raw = log_bytes(files)
    raw.decode("utf-8")  # strict: no byte of the bad frame came through as it was
    events = files.read_events()
    assert_log_well_formed(events, RUN_ID)
    assert chunk_texts(events) == ["before"]
    errors = events_named(events, "avenor.error")
    assert errors, events
    message = errors[0]["message"]
    assert "undecodable frame" in message and FFFD in message and "not json" in message, message
    assert events[-1]["event"] == "session.end" and events[-1]["stop_reason"] == "error"


# ---------------------------------------------------------------------------------------------
# an ABI 1.1 plugin: events through emit_event (JSON text), parsed by the host
# ---------------------------------------------------------------------------------------------

# A plugin built the 1.1 way: it knows nothing of emit_event_serialized and writes its events
# as text itself, envelope keys, a lone surrogate and an old SDK's `Infinity` included.
OLD_PLUGIN_SOURCE = r"""
#include <avenor/abi/plugin_abi.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const avenor_host_api* host; } inst;
static avenor_str s(const char* t) { avenor_str r = {t, strlen(t)}; return r; }

static int32_t create(avenor_str b, avenor_str o, const avenor_host_api* host,
                      avenor_instance** out, avenor_sink err) {
  (void)b; (void)o; (void)err;
  inst* i = malloc(sizeof *i);
  i->host = host;
  *out = (avenor_instance*)i;
  return 0;
}
static void destroy(avenor_instance* p) { free(p); }
static int32_t launch_spec(avenor_instance* p, avenor_sink out, avenor_sink err) {
  (void)p; (void)err;
  out.put(out.ctx, s("{\"argv\":[]}"));
  return 0;
}
static void on_bytes(avenor_instance* p, avenor_str b) { (void)p; (void)b; }
static void on_closed(avenor_instance* p, avenor_str r) { (void)p; (void)r; }
static void on_timer(avenor_instance* p, uint64_t t) { (void)p; (void)t; }
static void done(avenor_instance* p, uint64_t op, const char* json) {
  const avenor_host_api* h = ((inst*)p)->host;
  h->complete(h->ctx, op, s(json));
}
static void start_session(avenor_instance* p, uint64_t op, avenor_str q) {
  (void)q;
  done(p, op, "{\"session_id\":\"ses_old\"}");
}
static void prompt(avenor_instance* p, uint64_t op, avenor_str q) {
  (void)q;
  const avenor_host_api* h = ((inst*)p)->host;
  h->emit_event(h->ctx, s("{\"event\":\"agent.message_chunk\",\"session_id\":\"ses_old\","
                          "\"content\":{\"type\":\"text\",\"text\":\"old \\ud800\"},"
                          "\"seq\":9223372036854775807,\"run_id\":\"evil\",\"ts\":1}"));
  h->emit_event(h->ctx, s("{\"event\":\"tool.call\",\"session_id\":\"ses_old\",\"title\":\"t\","
                          "\"n\":Infinity,\"runtime_id\":\"evil\"}"));
  h->emit_event(h->ctx, s("{\"event\":\"session.end\",\"session_id\":\"ses_old\","
                          "\"stop_reason\":\"end_turn\",\"seq\":-1}"));
  done(p, op, "{}");
}
static void nothing(avenor_instance* p, uint64_t op, avenor_str q) { (void)q; done(p, op, "{}"); }

static const avenor_backend_info backends[] = {
    {sizeof(avenor_backend_info), "old11", NULL, 0, 0, NULL}};
static const avenor_plugin_vtable vtable = {
    sizeof(avenor_plugin_vtable), create, destroy, launch_spec, on_bytes, on_closed, on_timer,
    start_session, prompt, nothing, nothing, NULL, NULL};
static const avenor_plugin_descriptor descriptor = {
    1u, 1u, sizeof(avenor_plugin_descriptor), "old-plugin", "1.1.0", backends, 1, &vtable};
__attribute__((visibility("default"))) const avenor_plugin_descriptor* avenor_plugin_entry(void) {
  return &descriptor;
}
"""


def test_an_abi_1_1_plugin_still_works_and_gets_the_same_treatment(avenor, tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pytest.fail("no C compiler on PATH to build the test plugin")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    src = tmp_path / "old.c"
    src.write_text(OLD_PLUGIN_SOURCE)
    include = Path(os.environ.get("AVENOR_REPO", Path(__file__).resolve().parents[2])) / "sdk" / "include"
    built = subprocess.run([cc, "-shared", "-fPIC", "-I", str(include), "-o",
                            str(plugins / "old.so"), str(src)], capture_output=True, text=True,
                           timeout=60)
    assert built.returncode == 0, built.stderr
    env = {**base_env(), "AVENOR_PLUGIN_PATH": str(plugins)}
    listing = subprocess.run([avenor, "plugins"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert any(line.split("\t")[:3] == ["old11", "1.1.0", "abi=1.1"]
               for line in listing.stdout.splitlines()), listing.stdout + listing.stderr

    files = RunFiles(tmp_path / "run")
    args = standard_run_args(files, "--run-id", RUN_ID, "--backend", "old11", "--prompt", "go",
                             "--dir", str(tmp_path))
    assert AvenorProcess(avenor, args, env, files, cwd=tmp_path).wait(60) == 0, \
        files.stderr_text()
    log_bytes(files).decode("utf-8")
    events = files.read_events()
    assert_log_well_formed(events, RUN_ID)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all("runtime_id" not in e for e in events), events
    assert chunk_texts(events) == [f"old {FFFD}"]
    assert events_named(events, "tool.call")[0]["n"] is None
    end = events_named(events, "session.end")
    assert len(end) == 1 and end[0]["final_output"] == f"old {FFFD}"
