"""Every command line of docs/mcp.md, and of README.md's "Driving agents from an MCP client"
section, runs literally as written (project rule), and the config snippets the page shows are
the ones the real clients accept.

Each ```sh / ```bash block of those texts is a script: it runs whole in `bash -e` in an McpWorld
(short root under /tmp, private HOME and TMPDIR, the fake ACP agent as `opencode` first on PATH,
the avenor under test next, the marker variable so teardown kills whatever is left). Blocks that
name the literal sockets /tmp/avenor-mcp-*.sock and /tmp/avenor-shared.sock hold a lock so two
runs of this file never share them, and remove the files they made beside them.
`test_every_command_block_is_run` fails when a block is added that no test here runs.

Blocks for real clients run the real CLI from .peers (skipped, SKIPPED-PEER, when missing):
Claude Code (`claude mcp add`, then `claude -p … --allowedTools mcp__avenor` against the
scripted Anthropic model), Codex (`codex mcp add`, the page's config.toml table, then
`codex exec` against the scripted Responses model) and OpenCode (`opencode mcp list` with the
page's opencode.json). The agent they dispatch to through `avenor_spawn` is the fake agent.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

import peers
from mcp_harness import TOOLS, McpWorld
from peer_claude import MODEL, claude_env
from peer_codex import codex_env
from stable_harness import MARK_VAR, fake_script, killpg_quietly

REPO = peers.repo_root()
DOC = REPO / "docs" / "mcp.md"
README = REPO / "README.md"
README_SECTION = "## Driving agents from an MCP client"

HELLO = "Hello from the agent: the repository has 3 files."   # the fake's first turn
LARGEST = "The largest file is main.cpp."                     # its second turn
SOCKETS = ("/tmp/avenor-mcp-demo.sock", "/tmp/avenor-mcp-http.sock", "/tmp/avenor-shared.sock",
           "/tmp/avenor-nothing-here.sock")
SIDE_FILES = (".start.lock", ".stderr.log", ".control.lock", ".dead")
BLOCK_TIMEOUT = 120.0   # one block with the fake agent on a busy 2-core machine
CLI_TIMEOUT = 300.0     # one block running a real agent CLI

# Each block is recognised by one of these (exactly one must match); the value names the test.
BLOCK_KEYS = {
    "avenor mcp --help": "test_help_block",
    '"method":"tools/list"': "test_handshake_block",
    "claude mcp add --scope project": "test_claude_code_blocks",
    "claude -p": "test_claude_code_blocks",
    "codex mcp add avenor": "test_codex_blocks",
    "codex exec": "test_codex_blocks",
    "opencode mcp list": "test_opencode_block",
    "avenor mcp --no-autostart": "test_flag_errors_block",
    "--supervisor-socket /tmp/avenor-shared.sock": "test_supervisor_socket_block",
    "coproc MCP": "test_shell_session_block",
    "--transport http --auth-token": "test_http_block",
}


# --------------------------------------------------------------------------------------------
# The texts
# --------------------------------------------------------------------------------------------

FENCE_RE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


def fenced(text: str, langs: tuple[str, ...]) -> list[str]:
    return [m.group(2) for m in FENCE_RE.finditer(text) if m.group(1) in langs]


def readme_section() -> str:
    text = README.read_text()
    start = text.find(README_SECTION)
    assert start >= 0, f"README.md has no {README_SECTION!r} section"
    end = text.find("\n## ", start + len(README_SECTION))
    return text[start:end if end >= 0 else len(text)]


def doc_blocks() -> list[str]:
    return fenced(DOC.read_text(), ("sh", "bash"))


def block(key: str, text: str | None = None) -> str:
    """The one shell block of docs/mcp.md (or of `text`) containing `key`."""
    found = [b for b in (fenced(text, ("sh", "bash")) if text else doc_blocks()) if key in b]
    assert len(found) == 1, f"expected one shell block containing {key!r}, found {len(found)}"
    return found[0]


def snippet(lang: str, key: str) -> str:
    found = [b for b in fenced(DOC.read_text(), (lang,)) if key in b]
    assert len(found) == 1, f"expected one ```{lang} block containing {key!r}, found {len(found)}"
    return found[0]


def text_after(script: str) -> str:
    """The ```text block right after the shell block `script` in docs/mcp.md."""
    doc = DOC.read_text()
    at = doc.index("```", doc.index(script) + len(script)) + 3  # past the block's closing fence
    m = FENCE_RE.search(doc, at)
    assert m and m.group(1) == "text", "no ```text block follows the block"
    return m.group(2)


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def result_of(response: dict) -> dict:
    """structuredContent of a successful tools/call response (checks the text copy)."""
    r = response["result"]
    assert r["isError"] is False, f"tool error: {r}"
    text = json.loads(r["content"][0]["text"])
    sc = r["structuredContent"]
    assert sc == ({"runs": text} if isinstance(text, list) else text), r
    return sc


# --------------------------------------------------------------------------------------------
# Running blocks
# --------------------------------------------------------------------------------------------

class Ran:
    def __init__(self, script: str, rc: int, out: str, err: str):
        self.script, self.rc, self.out, self.err = script, rc, out, err

    def why(self, world: McpWorld | None = None) -> str:
        tail = world.diagnostics() if world else ""
        return (f"\n--- block ---\n{self.script}\n--- exit {self.rc}; stdout ---\n"
                f"{self.out[-6000:]}\n--- stderr ---\n{self.err[-4000:]}{tail}")


def run_block(script: str, env: dict, cwd: Path, timeout: float = BLOCK_TIMEOUT,
              merge: bool = False) -> Ran:
    """`bash -e -c script` in its own process group, bounded (then the group is killed)."""
    proc = subprocess.Popen(["bash", "-e", "-c", script], env=env, cwd=str(cwd),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        killpg_quietly(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"block did not finish within {timeout} s" +
                             Ran(script, -9, out or "", err or "").why())
    return Ran(script, proc.returncode, out, err or "")


def avenor_dir(avenor: str) -> str:
    return str(Path(avenor).parent)


@pytest.fixture
def world(avenor, fake_agent):
    """An McpWorld whose PATH finds the fake `opencode` first, then the avenor under test;
    the fake plays HELLO then LARGEST in work/app (where the blocks run)."""
    w = McpWorld(avenor)
    w.env["PATH"] = f"{w.agents.bin}{os.pathsep}{avenor_dir(avenor)}{os.pathsep}{w.env['PATH']}"
    w.app = w.workdir("app", fake_script("ses_4f1c2a9e7b",
                                         turns=[[{"chunk": HELLO}], [{"chunk": LARGEST}]]))
    yield w
    w.cleanup()


@pytest.fixture
def literal_paths():
    """The page's literal /tmp sockets, for this test only: a lock serialises runs of this file;
    a live socket there that is not ours skips; side files this test made are removed after."""
    lock = open("/tmp/avenor-mcp-docs.e2e-lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        for path in SOCKETS:
            if os.path.lexists(path):
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.settimeout(1)
                    s.connect(path)
                    pytest.skip(f"{path} is in use by something else")
                except OSError:
                    pass
                finally:
                    s.close()
        before = {p + suffix for p in SOCKETS for suffix in ("", *SIDE_FILES)
                  if os.path.lexists(p + suffix)}
        yield before
        for p in SOCKETS:
            for suffix in ("", *SIDE_FILES):
                f = p + suffix
                if f not in before and os.path.lexists(f):
                    os.unlink(f)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def no_new_files(before: set, sock: str) -> list[str]:
    return [sock + s for s in ("", *SIDE_FILES)
            if sock + s not in before and os.path.lexists(sock + s)]


# --------------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------------

def test_every_command_block_is_run():
    """Each shell block of docs/mcp.md and of the README section is matched by exactly one key
    above, so each is run by a test of this file."""
    blocks = doc_blocks() + fenced(readme_section(), ("sh", "bash"))
    assert len(blocks) >= len(set(BLOCK_KEYS.values())), blocks
    for b in blocks:
        keys = [k for k in BLOCK_KEYS if k in b]
        in_readme = b in fenced(readme_section(), ("sh", "bash"))
        assert len(keys) == 1 or (in_readme and keys), \
            f"shell block matched by {keys} (needs exactly one key and a test):\n{b}"
    assert fenced(readme_section(), ("sh", "bash")), "the README section has no command block"
    assert "docs/mcp.md" in readme_section(), "the README section does not link docs/mcp.md"


def test_config_and_json_blocks_parse():
    """Every ```json block of the page is JSON and every ```toml block TOML (the tool calls,
    results and client configs a reader copies)."""
    doc = DOC.read_text()
    for b in fenced(doc, ("json",)):
        try:
            json.loads(b)
        except ValueError as e:
            raise AssertionError(f"```json block is not JSON ({e}):\n{b}") from None
    for b in fenced(doc, ("toml",)):
        tomllib.loads(b)


# --------------------------------------------------------------------------------------------
# avenor alone (fake agent)
# --------------------------------------------------------------------------------------------

def test_help_block(world):
    r = run_block(block("avenor mcp --help"), world.env, world.app)
    assert r.rc == 0, r.why()
    for flag in ("-transport", "-addr", "-auth-token", "-control-socket", "-supervisor-socket",
                 "-no-autostart", "-idle-timeout", "-max-wait"):
        assert flag in r.out, f"--help (on stdout) lacks {flag}" + r.why()


def test_handshake_block(world, literal_paths):
    """initialize + tools/list piped in: both answered, seven tools with closed schemas, and
    no supervisor started (nothing at or beside the socket)."""
    r = run_block(block('"method":"tools/list"'), world.env, world.app)
    assert r.rc == 0, r.why(world)
    msgs = {m["id"]: m for m in json_lines(r.out)}
    assert set(msgs) == {1, 2}, r.why(world)
    init = msgs[1]["result"]
    assert init["protocolVersion"] == "2025-06-18" and init["serverInfo"]["name"] == "avenor"
    assert init["capabilities"] == {"tools": {"listChanged": False}}
    doc_init = json.loads(snippet("json", '"serverInfo"'))["result"]
    assert init["serverInfo"].pop("version") and doc_init["serverInfo"].pop("version")
    assert doc_init == init, f"docs/mcp.md shows another initialize result:\n{init}"
    tools = msgs[2]["result"]["tools"]
    assert [t["name"] for t in tools] == list(TOOLS), tools
    for t in tools:
        s = t["inputSchema"]
        assert s["type"] == "object" and s["additionalProperties"] is False, t
    assert no_new_files(literal_paths, "/tmp/avenor-mcp-demo.sock") == [], \
        "tools/list started a supervisor"
    world.wait_no_processes("after the handshake block")


def test_flag_errors_block(world, literal_paths):
    """The three refusals print exactly what the page shows after the block."""
    script = block("avenor mcp --no-autostart")
    r = run_block(script, world.env, world.app, merge=True)
    assert r.rc == 0, r.why()
    assert r.out == text_after(script), "output differs from the page" + r.why()


def test_shell_session_block(world, literal_paths):
    """The coproc session: spawn, result, follow-up on the parked runtime (same rt, resumed
    false), its result, the shared log's two session.end, the list, shutdown deleting the two
    files; avenor mcp exits 0 and leaves nothing running."""
    r = run_block(block("coproc MCP"), world.env, world.app)
    assert r.rc == 0, r.why(world)
    by_id = {m["id"]: m for m in json_lines(r.out)}
    assert sorted(by_id) == list(range(1, 9)), r.why(world)
    spawned = result_of(by_id[2])
    assert spawned["label"] == "hello" and spawned["runtime_id"] == "rt_1", spawned
    assert spawned["supervisor_id"] == "/tmp/avenor-mcp-demo.sock", spawned
    assert spawned["sentinel_file"] == \
        f"{world.tmpdir}/avenor-run-{spawned['run_id']}.done", spawned
    first = result_of(by_id[3])
    assert (first["status"], first["ready"], first["output"]) == ("done", True, HELLO), first
    follow = result_of(by_id[4])
    assert (follow["label"], follow["runtime_id"], follow["resumed"]) == \
        ("hello-followup", "rt_1", False), follow
    second = result_of(by_id[5])
    assert (second["run_id"], second["status"], second["output"]) == \
        (follow["run_id"], "done", LARGEST), second
    ends = result_of(by_id[6])["events"]
    assert [e["final_output"] for e in ends] == [HELLO, LARGEST], ends
    runs = result_of(by_id[7])["runs"]
    assert [(x["label"], x["status"]) for x in runs] == \
        [("hello", "done"), ("hello-followup", "done")], runs
    cleaned = result_of(by_id[8])["cleaned_up"]
    files = [spawned["sentinel_file"], spawned["event_path"]]
    assert sorted(cleaned) == sorted(files), cleaned
    assert not any(Path(f).exists() for f in files), cleaned
    world.wait_no_processes("after the shell session block")
    assert Path("/tmp/avenor-mcp-demo.sock.stderr.log").exists(), "no supervisor stderr file"


def test_supervisor_socket_block(world, literal_paths):
    """`avenor stable` of one's own, `avenor mcp --supervisor-socket` spawns on it and exits;
    the runtime outlives it (attached: left alone) until `shutdown graceful`."""
    r = run_block(block("--supervisor-socket /tmp/avenor-shared.sock"), world.env, world.app)
    assert r.rc == 0, r.why(world)
    spawn = next(m for m in json_lines(r.out) if m.get("id") == 2)
    spawned = result_of(spawn)
    assert spawned["supervisor_id"] == "/tmp/avenor-shared.sock", spawned
    listed = [line for line in r.out.splitlines() if "rt_1" in line and "hello" in line]
    assert listed, "`avenor control list` did not show rt_1 after avenor mcp exited" + r.why()
    world.wait_no_processes("after the supervisor-socket block")
    assert "reason=shutdown" in Path("/tmp/avenor-shared.sock.dead").read_text()


def port_free(port: int) -> bool:
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_http_block(world, literal_paths):
    """The HTTP block on the default 127.0.0.1:3748: spawn answered as JSON, the waiting result
    as an event stream (progress, then the response), a request without the token 401, and
    SIGTERM ends the server (exit 0) and the supervisor it started."""
    if shutil.which("curl", path=world.env["PATH"]) is None:
        pytest.skip(f"{peers.SKIP_PREFIX} curl not installed (the page's HTTP examples use it)")
    if not port_free(3748):
        pytest.skip("127.0.0.1:3748 (the page's default address) is in use")
    # a turn that takes a while, so that avenor_result sends progress before it answers
    world.agents.set_script("app", fake_script("ses_4f1c2a9e7b",
                                               turns=[[{"chunk": HELLO}, {"sleep_ms": 2500}]]))
    r = run_block(block("--transport http --auth-token"), world.env, world.app)
    assert r.rc == 0, r.why(world)
    assert "avenor mcp: listening on http://127.0.0.1:3748/mcp" in r.err, r.why(world)
    spawned = result_of(json_lines(r.out)[0])
    assert spawned["label"] == "hello" and spawned["supervisor_id"] == "/tmp/avenor-mcp-http.sock"
    frames = [json.loads(line[len("data: "):]) for line in r.out.splitlines()
              if line.startswith("data: ")]
    progress = [f for f in frames if f.get("method") == "notifications/progress"]
    assert progress and all(p["params"]["progressToken"] == "r1" for p in progress), r.why()
    assert progress[0]["params"]["total"] == 50 and \
        progress[0]["params"]["message"].startswith("hello running"), progress
    final = result_of(frames[-1])
    assert (final["status"], final["output"]) == ("done", HELLO), final
    assert "event: message" in r.out and "HTTP/1.1 401 Unauthorized" in r.out, r.why()
    world.wait_no_processes("after the HTTP block (SIGTERM)")


# --------------------------------------------------------------------------------------------
# Real clients
# --------------------------------------------------------------------------------------------

def dispatch_steps(prefix: str = "", namespace: str | None = None) -> list[dict]:
    """A dispatcher model: avenor_spawn in ".", avenor_result by label, then its answer carries
    the tool result (so the sub-agent's output)."""
    def call(name: str, args: dict) -> dict:
        c = {"name": prefix + name, "arguments": args}
        if namespace:
            c["namespace"] = namespace
        return {"tool_call": c}
    return [call("avenor_spawn", {"repo_dir": ".", "prompt": "List the files", "label": "files"}),
            call("avenor_result", {"run_id": "files"}),
            {"reply_from_tool_result": "Sub-agent said: "}]


def client_env(world: McpWorld, env: dict, fake_first: bool = True) -> dict:
    """A real client's isolated env plus what avenor needs: the fake agent (unless the real
    opencode must be found), the avenor under test, TMPDIR, the plugin dir and the marker."""
    out = dict(env)
    front = ([str(world.agents.bin)] if fake_first else []) + [avenor_dir(world.avenor)]
    out["PATH"] = os.pathsep.join(front + [out["PATH"]])
    out["TMPDIR"] = str(world.tmpdir)
    out[MARK_VAR] = str(world.root)
    if "AVENOR_PLUGIN_DIR" in world.env:
        out["AVENOR_PLUGIN_DIR"] = world.env["AVENOR_PLUGIN_DIR"]
    return out


def test_claude_code_blocks(world, model_server):
    """`claude mcp add --scope project` writes exactly the page's .mcp.json; the page's
    `claude -p … --allowedTools mcp__avenor` then runs both avenor tools unasked and answers
    with the sub-agent's output; the page's rule in ~/.claude/settings.json does the same
    without the flag."""
    peers.require_peer("claude")
    server = model_server({"model": MODEL, "steps": dispatch_steps("mcp__avenor__")})
    ce = claude_env(world.root, server)
    env = client_env(world, ce.env)
    env["ANTHROPIC_MODEL"] = MODEL
    world.agents.set_script(ce.project.name, fake_script("ses_sub", turns=[[{"chunk": HELLO}]]))

    added = run_block(block("claude mcp add --scope project"), env, ce.project, CLI_TIMEOUT)
    assert added.rc == 0, added.why()
    written = json.loads((ce.project / ".mcp.json").read_text())
    assert written == json.loads(snippet("json", '"mcpServers"')), \
        f"claude mcp add wrote another .mcp.json than the page shows: {written}"

    r = run_block(block("claude -p"), env, ce.project, CLI_TIMEOUT)
    assert r.rc == 0, r.why(world)
    assert r.out.strip().startswith("Sub-agent said: ") and HELLO in r.out, r.why(world)
    got = json.loads(r.out.strip()[len("Sub-agent said: "):])
    assert (got["label"], got["status"], got["output"]) == ("files", "done", HELLO), got
    mains = server.requests(kind="main")
    assert [m["step"] for m in mains] == [0, 1, 2], [m["step"] for m in mains]
    names = {t["name"] for t in mains[0]["body"]["tools"]}
    assert {"mcp__avenor__avenor_spawn", "mcp__avenor__avenor_result"} <= names, sorted(names)

    world.wait_no_processes("after claude -p exited", timeout=30)

    # the page's settings rule in ~/.claude/settings.json does what the flag did
    settings = snippet("json", '"permissions"')
    assert json.loads(settings) == {"permissions": {"allow": ["mcp__avenor"]}}, settings
    (ce.home / ".claude" / "settings.json").write_text(settings)
    again = model_server({"model": MODEL, "steps": dispatch_steps("mcp__avenor__")})
    env["ANTHROPIC_BASE_URL"] = again.base_url
    line = block("claude -p")
    assert line.count(" --allowedTools mcp__avenor") == 1, line
    r = run_block(line.replace(" --allowedTools mcp__avenor", ""), env, ce.project, CLI_TIMEOUT)
    assert r.rc == 0 and r.out.startswith("Sub-agent said: ") and HELLO in r.out, r.why(world)
    world.wait_no_processes("after the second claude -p exited", timeout=30)


def codex_table(text: str) -> dict:
    return tomllib.loads(text)["mcp_servers"]["avenor"]


def test_codex_blocks(world, model_server):
    """`codex mcp add` writes the first lines of the page's table; with the whole table in
    config.toml the page's `codex exec` line runs both tools (approval "approve") and answers
    with the sub-agent's output."""
    peers.require_peer("codex")
    server = model_server({"steps": dispatch_steps(namespace="mcp__avenor")})
    ce = codex_env(world.root, server)
    env = client_env(world, ce.env)
    world.agents.set_script(ce.project.name, fake_script("ses_sub", turns=[[{"chunk": HELLO}]]))
    config = Path(env["CODEX_HOME"]) / "config.toml"
    assert config == ce.home / ".codex" / "config.toml"  # the page's ~/.codex/config.toml

    added = run_block(block("codex mcp add avenor"), env, ce.project, CLI_TIMEOUT)
    assert added.rc == 0, added.why()
    table = snippet("toml", "[mcp_servers.avenor]")
    written = codex_table(config.read_text())
    assert written == {"command": "avenor", "args": ["mcp"]}, written
    assert table.startswith('[mcp_servers.avenor]\ncommand = "avenor"\nargs = ["mcp"]\n'), table
    assert codex_table(table)["default_tools_approval_mode"] == "approve"

    # the page's table in place of what codex wrote; the test's marker and plugin dir after it
    text = config.read_text()
    start = text.index("[mcp_servers.avenor]")
    nxt = text.find("\n[", start + 1)
    rest = text[nxt + 1:] if nxt >= 0 else ""
    extra = "\n[mcp_servers.avenor.env]\n" + "".join(
        f"{k} = {json.dumps(env[k])}\n" for k in (MARK_VAR, "AVENOR_PLUGIN_DIR", "TMPDIR")
        if k in env)
    config.write_text(text[:start] + rest + "\n" + table + extra)

    r = run_block(block("codex exec"), env, ce.project, CLI_TIMEOUT)
    why = r.why(world) + "\n--- config.toml ---\n" + config.read_text()
    assert r.rc == 0, why
    assert "Sub-agent said: " in r.out and HELLO in r.out, why
    assert "MCP tool call requires approval" not in r.out + r.err, why
    mains = server.requests(kind="main")
    assert [m["step"] for m in mains] == [0, 1, 2], [m["step"] for m in mains]
    groups = {t["name"] for t in mains[0]["body"]["tools"] if t.get("type") == "namespace"}
    assert "mcp__avenor" in groups, sorted(groups)
    world.wait_no_processes("after codex exec exited", timeout=30)


def test_opencode_block(world):
    """The page's opencode.json in a project: `opencode mcp list` starts `avenor mcp`, finds it
    connected, and no supervisor is started for that."""
    opencode = peers.require_peer("opencode")
    env, home, project = peers.base_env(world.root, "opencode")
    env.update({"OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_MODELS_FETCH": "1",
                "OPENCODE_DISABLE_SHARE": "1", "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
                "OPENCODE_DISABLE_CLAUDE_CODE": "1"})
    env = client_env(world, env, fake_first=False)
    config = json.loads(snippet("json", '"type": "local"'))
    assert config["mcp"]["avenor"] == {"type": "local", "command": ["avenor", "mcp"],
                                       "enabled": True}, config
    (project / "opencode.json").write_text(json.dumps(config, indent=2))
    assert shutil.which("opencode", path=env["PATH"]) == opencode
    r = run_block(block("opencode mcp list"), env, project, CLI_TIMEOUT)
    assert r.rc == 0, r.why()
    line = next((x for x in r.out.splitlines() if "avenor" in x and "connected" in x), None)
    assert line, "opencode does not list avenor as connected" + r.why()
    assert not (home / ".avenor").exists(), "listing the tools started a supervisor"
    world.wait_no_processes("after opencode mcp list")


def test_readme_block(world):
    """README's lines: `claude mcp add --scope project …` and `codex mcp add …` register
    `avenor mcp` as the page says."""
    peers.require_peer("claude")
    peers.require_peer("codex")
    env, home, project = peers.base_env(world.root, "readme")
    (home / ".codex").mkdir()
    env.update({"CLAUDE_CONFIG_DIR": str(home / ".claude"), "CODEX_HOME": str(home / ".codex"),
                "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"})
    env = client_env(world, env)
    script = fenced(readme_section(), ("sh", "bash"))
    assert len(script) == 1, script
    r = run_block(script[0], env, project, CLI_TIMEOUT)
    assert r.rc == 0, r.why()
    assert json.loads((project / ".mcp.json").read_text()) == \
        json.loads(snippet("json", '"mcpServers"'))
    assert codex_table((home / ".codex" / "config.toml").read_text()) == \
        {"command": "avenor", "args": ["mcp"]}
    for line in script[0].splitlines():
        if line.strip() and not line.startswith("#"):
            assert line.split("#")[0].strip() in DOC.read_text(), \
                f"README line not on docs/mcp.md: {line}"
