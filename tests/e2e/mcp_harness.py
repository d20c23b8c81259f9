"""Shared pieces for the `avenor mcp` end-to-end tests (control.md §11).

    from mcp_harness import mcp_world  # noqa: F401  (the fixture)

    def test_x(mcp_world):                               # an McpWorld with the fake agents
        d = mcp_world.workdir("a", fake_script("ses_a"))  # work/a; the fake there plays this script
        with mcp_world.stdio("--max-wait", "5s") as mcp:  # raw JSON-RPC: mcp_stdio_client
            mcp.initialize()
        http = mcp_world.http("--max-wait", "5s")         # started; http.url, http.token
        sdk = mcp_world.sdk()                             # the official TS SDK client (node)
        sdk.connect_stdio()                               # or sdk.connect_http(http)
        out = sdk.tool_ok("avenor_spawn", {"repo_dir": str(d), "prompt": "hi"})

McpWorld is a stable_harness.StableWorld (short root under /tmp, HOME, TMPDIR=<root>/tmp, fake
agents first on PATH, the marker variable on every process, teardown SIGKILLs everything
marked) whose `sock` is <root>/sup.sock: every `avenor mcp` it starts gets
`--control-socket <root>/sup.sock`, so `world.control(...)` talks to the supervisor the MCP
server started. `world.wait_no_servers(what)` waits (bounded) until only the SDK drivers are
left of the world's processes. `world.diagnostics()` is the stderr of every MCP server and
driver it started plus the supervisor's `<sock>.stderr.log`, for failure messages.

The SDK driver (mcp_sdk_client.mjs) needs node and @modelcontextprotocol/sdk in
<peers>/node_modules (scripts/install-peers.sh); `require_sdk()` skips (SKIPPED-PEER) without.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

import peers
from mcp_stdio_client import McpStdioProcess
from stable_harness import StableWorld

SDK_DRIVER = Path(__file__).resolve().parent / "mcp_sdk_client.mjs"
SDK_PACKAGE = "@modelcontextprotocol/sdk"
LISTEN_RE = re.compile(r"avenor mcp: listening on (http://127\.0\.0\.1:\d+/mcp)\s*$", re.M)
ANY_URL_RE = re.compile(r"(http://[\w.\[\]:-]+:\d+[^\s'\"]*)")
START_TIMEOUT = 30.0
TOOLS = ("avenor_spawn", "avenor_status", "avenor_result", "avenor_answer_permission",
         "avenor_events", "avenor_follow_up", "avenor_shutdown")


def sdk_dir() -> Path:
    return peers.peers_dir() / "node_modules" / SDK_PACKAGE


def require_sdk() -> str:
    """Path of node; pytest-skips (SKIPPED-PEER) when node or the SDK is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip(f"{peers.SKIP_PREFIX} node not installed (needed for the MCP SDK client)")
    if not (sdk_dir() / "package.json").exists():
        pytest.skip(f"{peers.SKIP_PREFIX} {SDK_PACKAGE} not installed ({sdk_dir()} missing; "
                    f"run scripts/install-peers.sh)")
    return node


def _tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


class HttpMcp:
    """`avenor mcp --transport http --addr 127.0.0.1:0 --auth-token <token> flags` started, its
    URL read from the stderr line `avenor mcp: listening on http://127.0.0.1:PORT/mcp`.
    `listen_line_exact` is False when only some other line named a URL (then `url` is that)."""

    def __init__(self, world: "McpWorld", token: str, flags: tuple[str, ...], n: int):
        self.token = token
        self.stderr_path = world.root / f"mcp-http-{n}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        argv = world.mcp_argv("--transport", "http", "--addr", "127.0.0.1:0",
                              "--auth-token", token, *flags)
        self.proc = subprocess.Popen(argv, env=world.env, cwd=world.root, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._stderr)
        self.url, self.listen_line_exact = self._wait_url()

    def stderr_text(self) -> str:
        return _tail(self.stderr_path, 1 << 20)

    def _wait_url(self) -> tuple[str, bool]:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            text = self.stderr_text()
            m = LISTEN_RE.search(text)
            if m:
                return m.group(1), True
            if self.proc.poll() is not None or time.monotonic() > deadline:
                any_url = ANY_URL_RE.search(text)
                if any_url and self.proc.poll() is None:
                    return any_url.group(1), False
                raise AssertionError(f"avenor mcp --transport http printed no "
                                     f"'avenor mcp: listening on http://127.0.0.1:PORT/mcp' line "
                                     f"within {START_TIMEOUT} s (rc={self.proc.poll()}); "
                                     f"stderr:\n{text[-3000:]}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Sends `sig` and returns the exit status (bounded)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"avenor mcp (http) did not exit within {timeout} s of signal "
                                 f"{sig}; stderr:\n{self.stderr_text()[-3000:]}") from None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


class SdkDriver:
    """One `node mcp_sdk_client.mjs` process (steps on its stdin, one JSON result line each).
    A stdio connection's server stderr goes to `server_stderr`."""

    def __init__(self, world: "McpWorld", node: str, n: int):
        self.world = world
        self.stderr_path = world.root / f"sdk-{n}.stderr"
        self.server_stderr = world.root / f"mcp-stdio-sdk-{n}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([node, str(SDK_DRIVER)], env=world.env, cwd=world.root,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr)
        self._buf = b""
        self.log: list[str] = []  # every step and result line, for failure messages

    def describe(self) -> str:
        return ("\n--- last SDK steps/results ---\n" + "\n".join(l[:600] for l in self.log[-8:]) +
                f"\n--- SDK driver stderr ---\n{_tail(self.stderr_path, 1500)}" +
                self.world.diagnostics())

    def step(self, step: dict, timeout: float = 60.0) -> dict:
        """Runs one step; returns its result line (ok true or false), bounded by `timeout`."""
        line = json.dumps(step)
        self.log.append(">>> " + line)
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            sel = selectors.DefaultSelector()
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            ready = sel.select(max(left, 0))
            sel.close()
            if not ready:
                raise AssertionError(f"SDK step {step.get('op')} {step.get('name', '')}: no result "
                                     f"within {timeout} s" + self.describe())
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
            if not chunk:
                raise AssertionError(f"SDK driver exited (rc={self.proc.poll()}) during "
                                     f"{step.get('op')}" + self.describe())
            self._buf += chunk
        out, self._buf = self._buf.split(b"\n", 1)
        self.log.append("<<< " + out.decode(errors="replace"))
        return json.loads(out)

    def ok(self, step: dict, timeout: float = 60.0) -> dict:
        r = self.step(step, timeout)
        assert r.get("ok"), f"SDK step {json.dumps(step)[:300]} failed: {r.get('error')}" + \
            self.describe()
        return r

    # -- connections -------------------------------------------------------------------------
    def connect_stdio(self, *flags: str, timeout: float = START_TIMEOUT) -> dict:
        argv = self.world.mcp_argv(*flags)
        return self.ok({"op": "connect", "transport": "stdio", "command": argv[0],
                        "args": argv[1:], "cwd": str(self.world.root),
                        "stderr_file": str(self.server_stderr)}, timeout)

    def connect_http(self, http: HttpMcp, token: str | None = None,
                     timeout: float = START_TIMEOUT) -> dict:
        """Connects with `Authorization: Bearer <token>` (default: the server's own); returns the
        result line without asserting (a wrong token is expected to fail)."""
        return self.step({"op": "connect", "transport": "http", "url": http.url,
                          "headers": {"Authorization": f"Bearer {token or http.token}"}}, timeout)

    def close(self, timeout: float = 30.0) -> dict:
        return self.ok({"op": "close"}, timeout)

    # -- calls -------------------------------------------------------------------------------
    def list_tools(self) -> list[dict]:
        return self.ok({"op": "listTools"})["tools"]

    def ping(self) -> dict:
        return self.ok({"op": "ping"})

    def call(self, name: str, args: dict, progress: bool = False, timeout: float = 120.0) -> dict:
        """The whole step result (result, progress, elapsed_ms) of a tools/call that did not fail
        at the JSON-RPC level."""
        return self.ok({"op": "callTool", "name": name, "arguments": args, "progress": progress,
                        "timeout_ms": int(timeout * 1000)}, timeout + 30)

    def tool_ok(self, name: str, args: dict, **kw: Any) -> Any:
        """structuredContent of a successful call; checks content[0].text is the same JSON."""
        r = self.call(name, args, **kw)["result"]
        text = (r.get("content") or [{}])[0].get("text")
        assert r.get("isError") is False, \
            f"{name} {json.dumps(args)}: expected isError:false, got {json.dumps(r)[:1500]}" + \
            self.describe()
        value = json.loads(text)
        if "structuredContent" in r:
            expected = {"runs": value} if isinstance(value, list) else value
            assert r["structuredContent"] == expected, \
                f"{name}: structuredContent differs from the text content:\n{r}"
        return r.get("structuredContent", value)

    def tool_error(self, name: str, args: dict, **kw: Any) -> str:
        """The message of a tool error (isError:true, one text content)."""
        r = self.call(name, args, **kw)["result"]
        assert r.get("isError") is True, \
            f"{name} {json.dumps(args)}: expected isError:true, got {json.dumps(r)[:1500]}" + \
            self.describe()
        content = r.get("content") or []
        assert len(content) == 1 and content[0].get("type") == "text", \
            f"{name}: a tool error must be one text content: {r}"
        return content[0]["text"]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        self._stderr.close()


class McpWorld(StableWorld):
    """A StableWorld whose supervisor socket is <root>/sup.sock, started by `avenor mcp`."""

    def __init__(self, avenor: str, env: dict | None = None, fake: bool = True):
        super().__init__(avenor, env=env, fake=fake)
        self.sock = self.root / "sup.sock"
        for var in ("AVENOR_PLUGIN_DIR",):  # a peers env (env=...) is otherwise env -i style
            if var in os.environ and var not in self.env:
                self.env[var] = os.environ[var]
        self.env.pop("MCP_AUTH_TOKEN", None)
        self._stdio: list[McpStdioProcess] = []
        self._http: list[HttpMcp] = []
        self._sdk: list[SdkDriver] = []

    def mcp_argv(self, *flags: str) -> list[str]:
        """[avenor, "mcp", "--control-socket", <root>/sup.sock, *flags]."""
        return [self.avenor, "mcp", "--control-socket", str(self.sock), *flags]

    def stdio(self, *flags: str, timeout: float = 15.0) -> McpStdioProcess:
        """`avenor mcp` (stdio) with a raw line client; killed at teardown."""
        p = McpStdioProcess(self.mcp_argv(*flags), self.env,
                            self.root / f"mcp-stdio-{len(self._stdio)}.stderr", cwd=self.root,
                            timeout=timeout)
        self._stdio.append(p)
        return p

    def http(self, *flags: str, token: str = "e2e-token-0123456789") -> HttpMcp:
        h = HttpMcp(self, token, flags, len(self._http))
        self._http.append(h)
        return h

    def sdk(self) -> SdkDriver:
        d = SdkDriver(self, require_sdk(), len(self._sdk))
        self._sdk.append(d)
        return d

    def wait_no_servers(self, what: str, timeout: float = 30.0) -> None:
        """Bounded wait until no process of this world is left but the SDK drivers (the MCP
        servers, the supervisor and the runtimes are gone)."""
        drivers = {d.proc.pid for d in self._sdk}
        deadline = time.monotonic() + timeout
        while True:
            left = [p for p in self.live_processes() if p not in drivers]
            if not left:
                return
            if time.monotonic() > deadline:
                desc = []
                for pid in left:
                    try:
                        desc.append(f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes()
                                    .replace(b"\0", b" ").decode(errors="replace")[:160])
                    except OSError:
                        desc.append(str(pid))
                raise AssertionError(f"{what}: processes still alive after {timeout} s: {desc}"
                                     + self.diagnostics())
            time.sleep(0.05)

    def supervisor_stderr(self) -> str:
        return _tail(Path(f"{self.sock}.stderr.log"))

    def diagnostics(self) -> str:
        parts = []
        for p in [*self._stdio, *self._http]:
            parts.append(f"\n--- {p.stderr_path.name} ---\n{_tail(p.stderr_path)}")
        for d in self._sdk:
            if d.server_stderr.exists():
                parts.append(f"\n--- {d.server_stderr.name} (MCP server) ---\n"
                             f"{_tail(d.server_stderr)}")
        parts.append(f"\n--- {self.sock.name}.stderr.log (supervisor) ---\n"
                     f"{self.supervisor_stderr()}")
        return "".join(parts)

    def cleanup(self) -> None:
        for d in self._sdk:
            d.kill()
        for p in self._stdio:
            p.close()
        for h in self._http:
            h.close()
        super().cleanup()


@pytest.fixture
def mcp_world(avenor, fake_agent):
    """An McpWorld with the fake agents; everything it started is killed afterwards."""
    w = McpWorld(avenor)
    yield w
    w.cleanup()
