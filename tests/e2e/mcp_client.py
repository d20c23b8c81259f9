"""MCP tool calls over a raw stdio connection to `avenor mcp` (control.md §11), on top of
mcp_stdio_client.McpStdioProcess (which only frames JSON-RPC lines).

    mcp = McpSession(world.stdio("--max-wait", "5s"), world.diagnostics)
    mcp.initialize()                                  # -> the initialize result
    out = mcp.tool_ok("avenor_spawn", {...})          # structuredContent of a success
    msg = mcp.tool_error("avenor_status", {"run_id": "nope"})   # text of a tool error
    rid = mcp.start("ping")                           # sent, not awaited (concurrency tests)
    mcp.response(rid)                                 # its response, bounded

Every wait is bounded; failures carry the server's stderr and `diagnostics()` (the world's
other logs, e.g. the supervisor's `<socket>.stderr.log`).
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any, Callable

from mcp_stdio_client import McpStdioProcess

PROTOCOL = "2025-06-18"
FAKE_TURN = 60.0  # bound of one fake-agent turn (spawn to settled) on a loaded 2-core machine


class McpSession:
    def __init__(self, proc: McpStdioProcess, diagnostics: Callable[[], str] = lambda: ""):
        self.proc = proc
        self._diagnostics = diagnostics
        self._ids = itertools.count(1)

    # -- diagnostics -------------------------------------------------------------------------
    def describe(self) -> str:
        return f"\n--- avenor mcp stderr ---\n{self.proc.stderr_text()[-3000:]}" + \
            self._diagnostics()

    # -- raw requests ------------------------------------------------------------------------
    def start(self, method: str, params: dict | None = None,
              request_id: Any = None) -> Any:
        """Sends a request without waiting; returns its id (string ids, never the wrapped
        client's integers)."""
        rid = request_id if request_id is not None else f"s-{next(self._ids)}"
        msg: dict = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.proc.send(msg)
        return rid

    def response(self, rid: Any, timeout: float = 30.0) -> dict:
        try:
            return self.proc.wait_message(lambda m: m.get("id") == rid and "method" not in m,
                                          timeout, f"response to request id {rid!r}")
        except AssertionError as e:
            raise AssertionError(f"{e}{self._diagnostics()}") from None

    def request(self, method: str, params: dict | None = None, timeout: float = 30.0) -> dict:
        return self.response(self.start(method, params), timeout)

    def result(self, method: str, params: dict | None = None, timeout: float = 30.0) -> Any:
        r = self.request(method, params, timeout)
        assert "error" not in r and "result" in r, \
            f"{method} {json.dumps(params)[:300]}: expected a result, got {r}" + self.describe()
        return r["result"]

    def initialize(self, version: str = PROTOCOL) -> dict:
        out = self.result("initialize", {"protocolVersion": version, "capabilities": {},
                                         "clientInfo": {"name": "avenor-e2e", "version": "1"}})
        self.proc.notify("notifications/initialized")
        return out

    # -- tools -------------------------------------------------------------------------------
    def call(self, name: str, args: dict, timeout: float = 90.0,
             progress_token: Any = None) -> dict:
        """The JSON-RPC response of tools/call (result or error)."""
        params: dict = {"name": name, "arguments": args}
        if progress_token is not None:
            params["_meta"] = {"progressToken": progress_token}
        return self.request("tools/call", params, timeout)

    def tool_ok(self, name: str, args: dict, timeout: float = 90.0) -> Any:
        """structuredContent of a success; checks content[0].text is the same JSON."""
        r = self.call(name, args, timeout)
        res = r.get("result")
        assert isinstance(res, dict) and res.get("isError") is False, \
            f"{name} {json.dumps(args)[:400]}: expected isError:false, got {json.dumps(r)[:1500]}" \
            + self.describe()
        content = res.get("content") or []
        assert len(content) == 1 and content[0].get("type") == "text", \
            f"{name}: expected one text content: {res}"
        value = json.loads(content[0]["text"])
        expected = {"runs": value} if isinstance(value, list) else value
        assert res.get("structuredContent") == expected, \
            f"{name}: structuredContent differs from the text content: {json.dumps(res)[:1500]}"
        return expected

    def tool_error(self, name: str, args: dict, timeout: float = 90.0) -> str:
        r = self.call(name, args, timeout)
        res = r.get("result")
        assert isinstance(res, dict) and res.get("isError") is True, \
            f"{name} {json.dumps(args)[:400]}: expected isError:true, got {json.dumps(r)[:1500]}" \
            + self.describe()
        content = res.get("content") or []
        assert len(content) == 1 and content[0].get("type") == "text", \
            f"{name}: a tool error must be one text content: {res}"
        return content[0]["text"]

    def spawn(self, repo_dir, prompt: str, **kw: Any) -> dict:
        args = {"repo_dir": str(repo_dir), "prompt": prompt, "backend": "opencode-acp", **kw}
        return self.tool_ok("avenor_spawn", args, timeout=FAKE_TURN + 30)

    def until_ready(self, tool: str, args: dict, bound: float = FAKE_TURN) -> dict:
        """Calls a waiting tool again while it answers timed_out:true (--max-wait); `bound`
        seconds in all."""
        deadline = time.monotonic() + bound
        while True:
            out = self.tool_ok(tool, args, timeout=max(deadline - time.monotonic(), 0) + 70)
            if not out.get("timed_out"):
                return out
            assert time.monotonic() < deadline, \
                f"{tool} {args}: still timed_out after {bound} s: {out}" + self.describe()

    def result_done(self, run_id: str, bound: float = FAKE_TURN) -> dict:
        """avenor_result until ready; asserts the run ended `done`."""
        out = self.until_ready("avenor_result", {"run_id": run_id}, bound)
        assert out.get("status") == "done" and out.get("ready") is True, \
            f"run {run_id}: expected done/ready, got {out}" + self.describe()
        return out

    # -- end ---------------------------------------------------------------------------------
    def close_stdin(self) -> None:
        try:
            self.proc.proc.stdin.close()
        except BrokenPipeError:
            pass

    def wait_exit(self, timeout: float = 20.0) -> int:
        try:
            return self.proc.proc.wait(timeout=timeout)
        except Exception:
            raise AssertionError(f"avenor mcp did not exit within {timeout} s" +
                                 self.describe()) from None
