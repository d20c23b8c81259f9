"""`avenor mcp` over stdio, spoken line by line (control.md §11, the MCP JSON-RPC framing):
initialize version negotiation and serverInfo, ping, notifications, every framing error
(-32700, -32600 for non-objects, batches and lines over 4 MiB, -32601, -32602) with the server
still serving afterwards, requests handled concurrently, --max-wait and progress
notifications. Backend: the fake ACP agent behind `opencode` (stable_harness)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcp_client import McpSession  # noqa: E402
from mcp_harness import TOOLS, McpWorld, mcp_world  # noqa: E402,F401
from stable_harness import HOLD, REPLY  # noqa: E402

LIMIT = 4 * 1024 * 1024  # 4194304: the longest line the server reads
SUPPORTED = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")


def session(world: McpWorld, *flags: str) -> McpSession:
    return McpSession(world.stdio(*flags), world.diagnostics)


def expected_version(avenor: str) -> str:
    """`avenor --version`'s number when it prints one, else CMake's project version."""
    out = subprocess.run([avenor, "--version"], capture_output=True, text=True, timeout=30)
    m = re.search(r"\d+\.\d+\.\d+\S*", out.stdout + out.stderr)
    if m:
        return m.group(0)
    repo = Path(__file__).resolve().parents[2]
    m = re.search(r"project\(\s*avenor\s+VERSION\s+(\S+)", (repo / "CMakeLists.txt").read_text())
    assert m, "no project(avenor VERSION x) in CMakeLists.txt"
    return m.group(1)


def assert_still_serving(mcp: McpSession, what: str) -> None:
    r = mcp.request("ping")
    assert r.get("result") == {}, f"after {what}: ping answered {r}" + mcp.describe()


# --------------------------------------------------------------------------------------------
# initialize
# --------------------------------------------------------------------------------------------

def test_initialize_negotiates_the_protocol_version(mcp_world):
    want_version = expected_version(mcp_world.avenor)
    cases = [(v, v) for v in SUPPORTED] + [("2099-01-01", "2025-06-18"), ("", "2025-06-18"),
                                           ("1.0", "2025-06-18")]
    problems = []
    for asked, want in cases:
        mcp = session(mcp_world)
        res = mcp.initialize(asked)
        if res.get("protocolVersion") != want:
            problems.append(f"asked {asked!r}: protocolVersion {res.get('protocolVersion')!r}, "
                            f"want {want!r}")
        info = res.get("serverInfo") or {}
        if info.get("name") != "avenor" or info.get("version") != want_version:
            problems.append(f"asked {asked!r}: serverInfo {info}, want name avenor version "
                            f"{want_version}")
        if res.get("capabilities", {}).get("tools") != {"listChanged": False}:
            problems.append(f"capabilities {res.get('capabilities')}")
        if not (isinstance(res.get("instructions"), str) and res["instructions"].strip()):
            problems.append(f"instructions {res.get('instructions')!r}")
        mcp.close_stdin()
        assert mcp.wait_exit() == 0
    assert not problems, "initialize:\n  " + "\n  ".join(problems)
    # a client that sends no protocolVersion at all still gets the default
    mcp = session(mcp_world)
    r = mcp.request("initialize", {"capabilities": {}, "clientInfo": {"name": "x", "version": "1"}})
    assert r.get("result", {}).get("protocolVersion") == "2025-06-18", r
    assert not mcp_world.sock.exists(), "initialize must not start a supervisor"


def test_tools_list_and_ping(mcp_world):
    mcp = session(mcp_world)
    mcp.initialize()
    tools = mcp.result("tools/list")["tools"]
    assert sorted(t["name"] for t in tools) == sorted(TOOLS), tools
    for t in tools:
        s = t["inputSchema"]
        assert s["type"] == "object" and s["additionalProperties"] is False and \
            isinstance(s.get("required", []), list), f"{t['name']}: schema {s}"
    r = mcp.request("ping")
    assert r == {"jsonrpc": "2.0", "id": r.get("id"), "result": {}}, r
    # string and integer ids are echoed as given
    r = mcp.response(mcp.start("ping", request_id=7))
    assert r == {"jsonrpc": "2.0", "id": 7, "result": {}}, r
    r = mcp.response(mcp.start("ping", {}, request_id="abc"))
    assert r == {"jsonrpc": "2.0", "id": "abc", "result": {}}, r
    assert not mcp_world.sock.exists(), "tools/list and ping must not start a supervisor"


def test_notifications_get_no_response(mcp_world):
    mcp = session(mcp_world)
    mcp.initialize()
    for method in ("notifications/initialized", "notifications/cancelled",
                   "notifications/roots/list_changed", "no/such/notification", "ping",
                   "tools/list"):
        mcp.proc.notify(method, {"requestId": 99} if method.endswith("cancelled") else None)
    r = mcp.request("ping")
    assert r.get("result") == {}, r
    # every message so far is a response to one of our requests (the init and this ping)
    extra = [m for m in mcp.proc.messages if m.get("id") not in ("s-1", r["id"])]
    assert not extra, f"notifications were answered: {extra}"
    mcp.proc.assert_no_message(lambda m: m.get("id") not in ("s-1", r["id"]), 1.0,
                               "message after the ping (a notification's late answer)")


# --------------------------------------------------------------------------------------------
# framing errors
# --------------------------------------------------------------------------------------------

def test_framing_errors_keep_the_server_serving(mcp_world):
    mcp = session(mcp_world)
    mcp.initialize()
    problems = []

    def check(line: bytes, code: int, want_id, message: str | None, what: str) -> None:
        start = len(mcp.proc.messages)
        mcp.proc.send_raw(line + b"\n")
        ping = mcp.start("ping")
        mcp.response(ping)
        got = [m for m in mcp.proc.messages[start:] if m.get("id") != ping]
        if len(got) != 1:
            problems.append(f"{what}: want exactly one error response, got {got}")
            return
        m = got[0]
        err = m.get("error") or {}
        if m.get("jsonrpc") != "2.0" or "result" in m or err.get("code") != code or \
                m.get("id", "<absent>") != want_id:
            problems.append(f"{what}: want {{code {code}, id {want_id!r}}}, got {m}")
        elif message is not None and not (err.get("message") or "").startswith(message) and \
                message not in (err.get("message") or ""):
            problems.append(f"{what}: message {err.get('message')!r}, want it to say {message!r}")

    check(b"this is not json", -32700, None, "Parse error", "garbage line")
    check(b'{"jsonrpc":"2.0","id":5,"method":"ping"', -32700, None, "Parse error",
          "truncated object")
    check(b"5", -32600, None, None, "a number")
    check(b'"ping"', -32600, None, None, "a string")
    check(b"null", -32600, None, None, "null")
    check(b"true", -32600, None, None, "true")
    check(b'[{"jsonrpc":"2.0","id":6,"method":"ping"}]', -32600, None,
          "batches are not supported", "a batch of one request")
    check(b"[]", -32600, None, None, "an empty batch")
    check(b'{"jsonrpc":"2.0","id":8}', -32600, 8, None, "no method, integer id")
    check(b'{"jsonrpc":"2.0","id":"m","params":{}}', -32600, "m", None, "no method, string id")
    check(b'{"jsonrpc":"2.0","id":9,"method":42}', -32600, 9, None, "method not a string")
    check(b'{"jsonrpc":"2.0","id":10,"method":"no/such/method"}', -32601, 10, None,
          "unknown method")
    check(b'{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"avenor_nope",'
          b'"arguments":{}}}', -32602, 11, 'unknown tool "avenor_nope"', "unknown tool")
    check(b'{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"arguments":{}}}',
          -32602, 12, None, "tools/call without a name")
    check(b'{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":5}}', -32602, 13,
          None, "tools/call with a non-string name")
    assert not problems, f"{len(problems)} framing cases differ:\n  " + "\n  ".join(problems) + \
        mcp.describe()
    assert not mcp_world.sock.exists(), "protocol errors must not start a supervisor"
    mcp.close_stdin()
    assert mcp.wait_exit() == 0


def test_oversize_line(mcp_world):
    """A line over 4 MiB → -32600 "message exceeds 4194304 bytes" (id null), skipped; a line of
    exactly 4 MiB is read; the server keeps serving."""
    mcp = session(mcp_world)
    mcp.initialize()

    def request_of_length(rid: str, n: int) -> bytes:
        head = b'{"jsonrpc":"2.0","id":"' + rid.encode() + b'","method":"ping","params":{"pad":"'
        tail = b'"}}'
        line = head + b"x" * (n - len(head) - len(tail)) + tail
        assert len(line) == n
        return line

    start = len(mcp.proc.messages)
    t0 = time.monotonic()
    mcp.proc.send_raw(request_of_length("big", LIMIT + 1) + b"\n")
    mcp.proc.send_raw(request_of_length("big2", LIMIT + 1000) + b"\n")
    after = mcp.start("ping")
    mcp.response(after, timeout=60)
    got = [m for m in mcp.proc.messages[start:] if m.get("id") != after]
    assert len(got) == 2 and all(m.get("id", "<absent>") is None and
                                 (m.get("error") or {}).get("code") == -32600 and
                                 "message exceeds 4194304 bytes" in m["error"].get("message", "")
                                 for m in got), \
        f"lines over 4 MiB: want two -32600 'message exceeds 4194304 bytes' (id null), got " \
        f"{got}" + mcp.describe()
    assert time.monotonic() - t0 < 60
    # exactly the limit (without the newline) is a valid message
    mcp.proc.send_raw(request_of_length("edge", LIMIT) + b"\n")
    r = mcp.response("edge", timeout=60)
    assert r.get("result") == {}, f"a line of exactly {LIMIT} bytes: {r}"
    # a huge line with no newline yet, then the rest: still one error, then serving
    line = request_of_length("huge", 3 * LIMIT)
    mcp.proc.send_raw(line[: 2 * LIMIT])
    mcp.proc.send_raw(line[2 * LIMIT:] + b"\n")
    assert_still_serving(mcp, "a 12 MiB line sent in two writes")
    errs = [m for m in mcp.proc.messages if (m.get("error") or {}).get("code") == -32600]
    assert len(errs) == 3, f"want one -32600 per oversize line (3), got {errs}"
    mcp.close_stdin()
    assert mcp.wait_exit() == 0


# --------------------------------------------------------------------------------------------
# tool calls: concurrency, waits, progress
# --------------------------------------------------------------------------------------------

def test_concurrent_requests_and_max_wait(mcp_world):
    world = mcp_world
    hold = world.workdir("hold")
    mcp = session(world, "--max-wait", "2s")
    mcp.initialize()
    h = mcp.spawn(hold, f"{HOLD} please")["run_id"]

    # a long wait (--max-wait caps it at 2 s) does not hold back a ping sent after it
    t0 = time.monotonic()
    wait_id = mcp.start("tools/call", {"name": "avenor_status",
                                       "arguments": {"run_id": h, "wait_for": "terminal",
                                                     "timeout": "10m"}})
    ping_id = mcp.start("ping")
    ping = mcp.response(ping_id)
    order = [m.get("id") for m in mcp.proc.messages]
    assert wait_id not in order, \
        f"the wait (id {wait_id}) was answered before the ping sent after it: {order}" + \
        mcp.describe()
    assert ping.get("result") == {}, ping
    wait = mcp.response(wait_id, timeout=30)
    took = time.monotonic() - t0
    out = wait["result"]["structuredContent"]
    assert out["timed_out"] is True and out["status"] == "running" and out["run_id"] == h, \
        f"a 10m wait capped by --max-wait 2s: {wait}"
    assert 1.5 <= took <= 12, f"--max-wait 2s: the wait returned after {took:.1f} s"

    # the same for avenor_result, and a tool call (not only ping) overtaking it
    t0 = time.monotonic()
    res_id = mcp.start("tools/call", {"name": "avenor_result", "arguments": {"run_id": h}})
    st = mcp.tool_ok("avenor_status", {"run_id": h, "view": "lifecycle"})
    assert res_id not in [m.get("id") for m in mcp.proc.messages], \
        "avenor_status waited behind a pending avenor_result"
    assert st["status"] == "running" and "timed_out" not in st, st
    res = mcp.response(res_id, timeout=30)["result"]["structuredContent"]
    took = time.monotonic() - t0
    assert (res["timed_out"], res["ready"], res["status"]) == (True, False, "running"), res
    assert 1.5 <= took <= 12, f"--max-wait 2s: avenor_result returned after {took:.1f} s"

    # a wait shorter than --max-wait keeps its own timeout
    t0 = time.monotonic()
    out = mcp.tool_ok("avenor_status", {"run_id": h, "wait_for": "turn_complete", "timeout": 1})
    took = time.monotonic() - t0
    assert out["timed_out"] is True and 0.8 <= took <= 10, (out, took)

    # many waits in flight at once, each answered, none blocking a ping
    ids = [mcp.start("tools/call", {"name": "avenor_status",
                                    "arguments": {"run_id": h, "wait_for": "permission"}})
           for _ in range(6)]
    assert mcp.request("ping").get("result") == {}
    for i in ids:
        r = mcp.response(i, timeout=30)
        assert r["result"]["structuredContent"]["timed_out"] is True, r
    mcp.tool_ok("avenor_shutdown", {"force": True})
    mcp.close_stdin()
    assert mcp.wait_exit() == 0
    world.wait_no_servers("stdin closed after avenor_shutdown")


def test_progress_notifications(mcp_world):
    world = mcp_world
    hold = world.workdir("hold")
    done = world.workdir("done")
    mcp = session(world, "--max-wait", "20s")
    mcp.initialize()
    h = mcp.spawn(hold, f"{HOLD} please")["run_id"]

    def progress_of(token) -> list[dict]:
        return [m["params"] for m in mcp.proc.messages
                if m.get("method") == "notifications/progress" and
                m.get("params", {}).get("progressToken") == token]

    for token, tool, args, total in [
        ("tok-status", "avenor_status", {"run_id": h, "wait_for": "terminal", "timeout": "3s"}, 3),
        (42, "avenor_result", {"run_id": h, "timeout": 3}, 3),
    ]:
        start = len(mcp.proc.messages)
        t0 = time.monotonic()
        rid = mcp.start("tools/call", {"name": tool, "arguments": args,
                                       "_meta": {"progressToken": token}})
        resp = mcp.response(rid, timeout=30)
        took = time.monotonic() - t0
        out = resp["result"]["structuredContent"]
        assert out["timed_out"] is True, out
        notes = progress_of(token)
        what = f"{tool} with progressToken {token!r} ({took:.1f} s)"
        assert 1 <= len(notes) <= 5, f"{what}: want one notification per 1 s poll, got {notes}"
        values = [n["progress"] for n in notes]
        assert values == sorted(values) and len(set(values)) == len(values), \
            f"{what}: progress not increasing: {notes}"
        assert all(isinstance(v, (int, float)) and 0 <= v <= total + 1 for v in values), notes
        for n in notes:
            assert n.get("total") == total, f"{what}: total must be {total}: {n}"
            assert h in n.get("message", "") and "running" in n["message"], \
                f"{what}: message must name the run and its status: {n}"
        positions = [i for i, m in enumerate(mcp.proc.messages[start:])
                     if m.get("method") == "notifications/progress"]
        resp_at = next(i for i, m in enumerate(mcp.proc.messages[start:]) if m.get("id") == rid)
        assert all(p < resp_at for p in positions), f"{what}: progress after the response"
        assert all(m.get("jsonrpc") == "2.0" for m in mcp.proc.messages[start:])

    # without a progressToken: no progress notifications at all
    before = [m for m in mcp.proc.messages if m.get("method") == "notifications/progress"]
    out = mcp.tool_ok("avenor_status", {"run_id": h, "wait_for": "terminal", "timeout": "2s"})
    assert out["timed_out"] is True
    after = [m for m in mcp.proc.messages if m.get("method") == "notifications/progress"]
    assert after == before, f"progress sent without a progressToken: {after[len(before):]}"

    # a call that does not wait sends no progress even with a token
    d = mcp.spawn(done, "hi")["run_id"]
    mcp.result_done(d)
    rid = mcp.start("tools/call", {"name": "avenor_status", "arguments": {"run_id": d},
                                   "_meta": {"progressToken": "tok-none"}})
    r = mcp.response(rid)
    assert r["result"]["structuredContent"]["status"] == "done", r
    assert progress_of("tok-none") == [], progress_of("tok-none")
    res = mcp.tool_ok("avenor_result", {"run_id": d})
    assert res["output"] == REPLY, res

    mcp.tool_ok("avenor_shutdown", {"force": True})
    mcp.close_stdin()
    assert mcp.wait_exit() == 0
    world.wait_no_servers("stdin closed after avenor_shutdown")


def test_tool_errors_and_unknown_runs(mcp_world):
    """A tool error is a result with isError:true (not a JSON-RPC error) and the server keeps
    serving; the first call that needs the supervisor starts it even when it fails."""
    mcp = session(mcp_world)
    mcp.initialize()
    assert mcp.tool_error("avenor_status", {"wait_for": "terminal"}) == "wait_for requires run_id"
    assert mcp.tool_error("avenor_result", {"run_id": "nope"}) == 'run "nope" not found'
    assert mcp.tool_error("avenor_spawn", {"repo_dir": str(mcp_world.root), "prompt": "x",
                                           "bogus": 1}) == 'unknown parameter "bogus"'
    r = mcp.call("avenor_status", {"run_id": "nope"})
    assert "error" not in r and r["result"]["isError"] is True, r
    assert_still_serving(mcp, "tool errors")
    mcp.close_stdin()
    assert mcp.wait_exit() == 0
    mcp_world.wait_no_servers("stdin closed")
