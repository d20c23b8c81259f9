"""`avenor mcp` command line (cli.md §2 and §8, control.md §11.1): flag and value errors, the
stdio and http process lifecycles, and the Streamable HTTP security checks (bearer token,
Host, Origin) spoken directly with http.client against `--addr 127.0.0.1:0`."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcp_harness import LISTEN_RE, McpWorld, mcp_world  # noqa: E402,F401
from stable_harness import socket_answers, wait_until  # noqa: E402

TOKEN = "cli-token-0123456789abcdef"
RUN_LIMIT = 20.0  # an `avenor mcp` that should exit at once


def run_mcp(world: McpWorld, *flags: str, env: dict | None = None,
            control_socket: bool = True) -> subprocess.CompletedProcess:
    argv = world.mcp_argv(*flags) if control_socket else [world.avenor, "mcp", *flags]
    try:
        return subprocess.run(argv, env=env or world.env, cwd=world.root,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=RUN_LIMIT)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{argv[1:]}: still running after {RUN_LIMIT} s (stdin is "
                             f"/dev/null); stderr: {e.stderr}") from None


def assert_nothing_started(world: McpWorld, what: str) -> None:
    assert not world.sock.exists(), f"{what}: a supervisor socket appeared at {world.sock}"
    world.wait_no_servers(what, timeout=10)
    default_dir = Path(world.env["HOME"]) / ".avenor" / "sockets"
    made = sorted(p.name for p in default_dir.glob("*.sock")) if default_dir.exists() else []
    assert not made, f"{what}: sockets made in the default directory {default_dir}: {made}"


# --------------------------------------------------------------------------------------------
# flag errors
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("flags, names", [
    (["--bogus"], "-bogus"),
    (["--max-wait", "abc"], "max-wait"),
    (["--idle-timeout", "soon"], "idle-timeout"),
    (["--no-autostart=maybe"], "no-autostart"),
    (["--transport"], "transport"),
])
def test_flag_parse_errors_exit_1_with_a_hint(mcp_world, flags, names):
    """cli.md §2, issue 13: an unknown flag or a bad value is one error line naming it plus
    one hint line on stderr (not the whole usage), exit 1 for mcp."""
    p = run_mcp(mcp_world, *flags)
    assert p.returncode == 1, f"avenor mcp {flags}: exit {p.returncode}, want 1; " \
                              f"stderr:\n{p.stderr}"
    lines = p.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("avenor mcp: ") and names in lines[0], \
        f"avenor mcp {flags}: the first stderr line should name {names!r}: {p.stderr!r}"
    assert lines[1] == "run 'avenor mcp --help' for usage", p.stderr
    assert p.stdout == "", f"avenor mcp {flags}: wrote to stdout: {p.stdout!r}"
    assert_nothing_started(mcp_world, f"avenor mcp {flags}")


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_is_usage_on_stdout(mcp_world, flag):
    p = run_mcp(mcp_world, flag)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert p.stdout.startswith("Usage: avenor mcp") and "-supervisor-socket" in p.stdout
    assert_nothing_started(mcp_world, f"avenor mcp {flag}")


@pytest.mark.parametrize("flags, want", [
    (["--no-autostart"], "avenor mcp: --no-autostart requires --supervisor-socket"),
    (["--transport", "http"],
     "avenor mcp: --transport http requires a bearer token (--auth-token or MCP_AUTH_TOKEN)"),
    (["--transport", "http", "--auth-token", ""],
     "avenor mcp: --transport http requires a bearer token (--auth-token or MCP_AUTH_TOKEN)"),
    (["--transport", "bogus"], ["--transport", "bogus"]),
    (["--transport", "HTTP", "--auth-token", TOKEN], ["--transport", "HTTP"]),
    (["--max-wait", "0s"], ["--max-wait"]),
    (["stray-argument"], ["stray-argument"]),
    (["--transport", "http", "--auth-token", TOKEN, "--addr", "0.0.0.0:0"],
     ["--addr", "0.0.0.0"]),
    (["--transport", "http", "--auth-token", TOKEN, "--addr", "192.0.2.1:0"],
     ["--addr", "192.0.2.1"]),
    (["--transport", "http", "--auth-token", TOKEN, "--addr", "no-port"], ["--addr"]),
])
def test_bad_values_exit_1_with_one_line(mcp_world, flags, want):
    """Values that parse as flags but are refused: exit 1, exactly one line
    `avenor mcp: <message>` (the exact text where the contract gives it, else words it must
    name), nothing started."""
    p = run_mcp(mcp_world, *flags)
    lines = p.stderr.splitlines()
    assert p.returncode == 1, f"avenor mcp {flags}: exit {p.returncode}, want 1; " \
                              f"stderr:\n{p.stderr}"
    if isinstance(want, str):
        assert lines == [want], f"avenor mcp {flags}: stderr {p.stderr!r}, want {want!r}"
    else:
        assert len(lines) == 1 and lines[0].startswith("avenor mcp: ") and \
            all(w in lines[0] for w in want), \
            f"avenor mcp {flags}: want one line 'avenor mcp: …' naming {want}: {p.stderr!r}"
    assert p.stdout == ""
    assert_nothing_started(mcp_world, f"avenor mcp {flags}")


@pytest.mark.parametrize("no_autostart", [False, True])
def test_supervisor_socket_missing_exits_1(mcp_world, no_autostart):
    """--supervisor-socket dials at start; a missing socket → exit 1
    `avenor mcp: supervisor <S>: <reason>`, and nothing is autostarted."""
    missing = mcp_world.root / "missing.sock"
    flags = ["--supervisor-socket", str(missing)] + (["--no-autostart"] if no_autostart else [])
    p = run_mcp(mcp_world, *flags)
    lines = p.stderr.splitlines()
    prefix = f"avenor mcp: supervisor {missing}: "
    assert p.returncode == 1, f"avenor mcp {flags}: exit {p.returncode}; stderr {p.stderr!r}"
    assert len(lines) == 1 and lines[0].startswith(prefix) and len(lines[0]) > len(prefix), \
        f"avenor mcp {flags}: want one line {prefix!r}<reason>, got {p.stderr!r}"
    assert not missing.exists(), "the missing supervisor socket was created"
    assert_nothing_started(mcp_world, f"avenor mcp {flags}")


# --------------------------------------------------------------------------------------------
# stdio lifecycle
# --------------------------------------------------------------------------------------------

def test_stdin_closed_at_once_exits_0(mcp_world):
    p = run_mcp(mcp_world)
    assert p.returncode == 0, f"stdin at EOF: exit {p.returncode}; stderr {p.stderr!r}"
    assert p.stdout == "", f"nothing was asked, yet stdout has {p.stdout!r}"
    assert_nothing_started(mcp_world, "stdin at EOF from the start")
    # the same without --control-socket (the default path under HOME is never made)
    p = run_mcp(mcp_world, control_socket=False)
    assert p.returncode == 0, f"stdin at EOF, default socket: exit {p.returncode}; " \
                              f"{p.stderr!r}"
    assert_nothing_started(mcp_world, "stdin at EOF, default --control-socket")


def test_stdin_closed_after_initialize_exits_0(mcp_world):
    mcp = mcp_world.stdio()
    resp = mcp.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                      "clientInfo": {"name": "e2e", "version": "1"}})
    assert "result" in resp, resp
    mcp.proc.stdin.close()
    rc = mcp.wait_exit(RUN_LIMIT)
    assert rc == 0, f"exit {rc} after stdin closed; stderr {mcp.stderr_text()!r}"
    assert_nothing_started(mcp_world, "stdin closed after initialize")


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "e2e-http", "version": "1"}}}


class Reply:
    def __init__(self, status: int, headers: dict, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def messages(self) -> list[dict]:
        """The JSON-RPC messages of a JSON or an SSE body."""
        ctype = self.header("content-type") or ""
        text = self.body.decode(errors="replace")
        if ctype.startswith("text/event-stream"):
            return [json.loads(line[5:].strip()) for line in text.splitlines()
                    if line.startswith("data:") and line[5:].strip()]
        return [json.loads(text)] if text.strip() else []

    def __repr__(self) -> str:
        return f"HTTP {self.status} {self.headers} {self.body[:400]!r}"


def post(url: str, message: dict | bytes, token: str | None = None,
         headers: dict | None = None, auth: str | None = None) -> Reply:
    """One POST with http.client (so Host/Origin are exactly what is given)."""
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
         "Host": f"{u.hostname}:{u.port}"}
    if auth is not None:
        h["Authorization"] = auth
    elif token is not None:
        h["Authorization"] = f"Bearer {token}"
    h.update(headers or {})
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    try:
        conn.request("POST", u.path, body=body, headers=h)
        r = conn.getresponse()
        return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def assert_initialized(reply: Reply, what: str) -> dict:
    assert reply.status == 200, f"{what}: want 200, got {reply}"
    msgs = reply.messages()
    assert len(msgs) == 1 and msgs[0].get("id") == 1 and \
        msgs[0].get("result", {}).get("serverInfo", {}).get("name") == "avenor", \
        f"{what}: want the initialize result, got {msgs}"
    return msgs[0]["result"]


def test_http_security(mcp_world):
    h = mcp_world.http(token=TOKEN)
    assert h.listen_line_exact, f"no 'avenor mcp: listening on http://127.0.0.1:PORT/mcp' " \
                                f"line:\n{h.stderr_text()}"
    url = h.url
    port = urlsplit(url).port
    assert port and port != 3748, f"--addr 127.0.0.1:0 must bind an ephemeral port: {url}"
    problems: list[str] = []

    def expect(status: int, what: str, **kw) -> Reply:
        r = post(url, INIT, **kw)
        if r.status != status:
            problems.append(f"{what}: want HTTP {status}, got {r}")
        return r

    r = expect(401, "no Authorization")
    if not (r.header("www-authenticate") or "").startswith("Bearer"):
        problems.append(f"no Authorization: want WWW-Authenticate: Bearer…, got {r.headers}")
    r = expect(401, "wrong token", token="not-" + TOKEN)
    if not (r.header("www-authenticate") or "").startswith("Bearer"):
        problems.append(f"wrong token: want WWW-Authenticate: Bearer…, got {r.headers}")
    expect(401, "token prefix only", token=TOKEN[:-1])
    expect(401, "token with a suffix", token=TOKEN + "x")
    expect(401, "Basic scheme", auth=f"Basic {TOKEN}")
    expect(401, "bare token", auth=TOKEN)
    expect(403, "non-loopback Host", token=TOKEN, headers={"Host": f"evil.example.com:{port}"})
    expect(403, "foreign Origin", token=TOKEN, headers={"Origin": "http://evil.example.com"})
    expect(403, "https Origin on loopback", token=TOKEN,
           headers={"Origin": f"https://127.0.0.1:{port}"})
    expect(403, "Origin null", token=TOKEN, headers={"Origin": "null"})
    accepted = [("good request", {"token": TOKEN}),
                ("lower-case bearer", {"auth": f"bearer {TOKEN}"}),
                ("Host localhost", {"token": TOKEN, "headers": {"Host": f"localhost:{port}"}}),
                ("Origin http loopback",
                 {"token": TOKEN, "headers": {"Origin": f"http://127.0.0.1:{port}"}}),
                ("Origin http localhost",
                 {"token": TOKEN, "headers": {"Origin": f"http://localhost:{port}"}})]
    for what, kw in accepted:
        r = post(url, INIT, **kw)
        try:
            res = assert_initialized(r, what)
            if res.get("protocolVersion") != "2025-06-18":
                problems.append(f"{what}: protocolVersion {res.get('protocolVersion')}")
        except AssertionError as e:
            problems.append(str(e))
    # refused requests reached no handler: still nothing started, and the server still serves
    r = post(url, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, token=TOKEN)
    if r.status != 200 or r.messages() != [{"jsonrpc": "2.0", "id": 2, "result": {}}]:
        problems.append(f"ping after the refusals: {r}")
    assert not problems, "HTTP security:\n  " + "\n  ".join(problems) + \
        f"\n--- server stderr ---\n{h.stderr_text()[-2000:]}"
    assert not mcp_world.sock.exists(), "a refused or protocol-only request started a supervisor"
    assert h.stop(signal.SIGTERM) == 0, h.stderr_text()
    mcp_world.wait_no_servers("http server after SIGTERM")


def test_http_token_from_environment(mcp_world):
    """MCP_AUTH_TOKEN is the default bearer token."""
    world = mcp_world
    env = {**world.env, "MCP_AUTH_TOKEN": TOKEN}
    err_path = world.root / "env-http.stderr"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(world.mcp_argv("--transport", "http", "--addr", "127.0.0.1:0"),
                                env=env, cwd=world.root, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        m = wait_until(lambda: LISTEN_RE.search(err_path.read_text(errors="replace")) or
                       (proc.poll() is not None and "exited"), 30,
                       "the 'listening on' line of an http server with MCP_AUTH_TOKEN")
        assert m != "exited", f"exit {proc.returncode}: {err_path.read_text()}"
        url = m.group(1)
        assert post(url, INIT).status == 401
        assert_initialized(post(url, INIT, token=TOKEN), "token from MCP_AUTH_TOKEN")
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=30)
        assert rc == 0, f"SIGINT: exit {rc}; stderr {err_path.read_text()}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_http_sigterm_shuts_down_its_supervisor(mcp_world):
    """http mode: a tool call autostarts the supervisor; SIGTERM → exit 0 and the owned
    supervisor is shut down (nothing of the world left)."""
    world = mcp_world
    h = world.http("--max-wait", "5s", token=TOKEN)
    assert_initialized(post(h.url, INIT, token=TOKEN), "initialize")
    assert not world.sock.exists(), "initialize must not start the supervisor"
    r = post(h.url, {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                     "params": {"name": "avenor_status", "arguments": {}}}, token=TOKEN)
    msgs = r.messages() if r.status == 200 else []
    assert len(msgs) == 1 and msgs[0].get("result", {}).get("isError") is False and \
        msgs[0]["result"].get("structuredContent") == {"runs": []}, \
        f"avenor_status list over HTTP: {r}" + world.diagnostics()
    assert socket_answers(world.sock), "the first tool call did not start a supervisor"
    t0 = time.monotonic()
    rc = h.stop(signal.SIGTERM)
    took = time.monotonic() - t0
    assert rc == 0, f"SIGTERM: exit {rc}" + world.diagnostics()
    assert not socket_answers(world.sock), "the owned supervisor still answers after exit"
    world.wait_no_servers("after SIGTERM of the http server")
    assert took < 15, f"SIGTERM took {took:.1f} s (graceful shutdown waits 3 s at most)"


def test_http_sigterm_while_a_wait_is_pending(mcp_world):
    """A tools/call that is waiting (its SSE stream already carried a progress notification)
    does not keep the server up after SIGTERM: exit 0, the stream ends, nothing left."""
    world = mcp_world
    h = world.http("--max-wait", "60s", token=TOKEN)
    d = world.workdir("hold")
    r = post(h.url, {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                     "params": {"name": "avenor_spawn",
                                "arguments": {"repo_dir": str(d), "prompt": "@hold on",
                                              "backend": "opencode-acp"}}}, token=TOKEN)
    msgs = r.messages() if r.status == 200 else []
    assert msgs and msgs[0].get("result", {}).get("isError") is False, \
        f"avenor_spawn over HTTP: {r}" + world.diagnostics()
    run_id = msgs[0]["result"]["structuredContent"]["run_id"]

    u = urlsplit(h.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    body = json.dumps({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                       "params": {"name": "avenor_status", "_meta": {"progressToken": "p"},
                                  "arguments": {"run_id": run_id, "wait_for": "terminal"}}})
    conn.request("POST", u.path, body=body, headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
        "Authorization": f"Bearer {TOKEN}"})
    try:
        resp = conn.getresponse()
        assert resp.status == 200 and \
            (resp.getheader("content-type") or "").startswith("text/event-stream"), \
            f"a waiting call with a progressToken: HTTP {resp.status} {resp.getheaders()}"
        seen = []
        while not any("notifications/progress" in line for line in seen):
            line = resp.readline()  # bounded by the connection's 30 s timeout
            assert line, f"the SSE stream ended before a progress notification: {seen}"
            seen.append(line.decode(errors="replace"))
        rc = h.stop(signal.SIGTERM, timeout=30)
        assert rc == 0, f"SIGTERM with a pending wait: exit {rc}" + world.diagnostics()
        try:  # the contract leaves open whether the stream is ended cleanly or dropped
            resp.read()
        except (http.client.IncompleteRead, ConnectionError):
            pass
    finally:
        conn.close()
    world.wait_no_servers("after SIGTERM with a pending wait")
