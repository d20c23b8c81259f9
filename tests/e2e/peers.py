"""Helpers for e2e tests that drive real coding-agent CLIs ("peers").

* where the peers live: ``repo_root()``, ``peers_bin(name)``, ``require_peer(name)``
  (peers are installed by ``scripts/install-peers.sh`` into ``<repo>/.peers``);
* ``ModelServer``: the scripted fake model (tests/model_server/model_server.py)
  as a context manager;
* isolated environments for the real CLIs: ``opencode_env``, ``gemini_env``;
* ``AcpProcess``: a tiny line-based JSON-RPC (ACP) client over a child's stdio,
  with bounded waits, for talking to a real CLI directly from Python.

Every wait here is bounded and fails with a message saying what was awaited.
Nothing here talks to any address but 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import queue
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

SKIP_PREFIX = "SKIPPED-PEER:"  # CTest's SKIP_REGULAR_EXPRESSION matches this


# ---------------------------------------------------------------------------
# Locating peers
# ---------------------------------------------------------------------------

def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def peers_dir() -> Path:
    return Path(os.environ.get("AVENOR_PEERS_DIR") or repo_root() / ".peers")


def peer_path_dirs() -> list[str]:
    """Directories to put first on PATH: stable links, then npm's .bin."""
    return [str(peers_dir() / "bin"), str(peers_dir() / "node_modules" / ".bin")]


def peers_bin(name: str) -> str | None:
    """Absolute path of peer CLI ``name`` or None if it is not installed.

    Prefers ``.peers/bin/<name>`` (a link install-peers.sh made to a binary it
    saw run, e.g. opencode's native executable when npm skipped its
    postinstall), then ``.peers/node_modules/.bin/<name>``.
    """
    for d in peer_path_dirs():
        p = Path(d) / name
        if p.exists() and os.access(p, os.X_OK):
            return str(p)
    return None


def require_peer(name: str) -> str:
    """Path of peer ``name``; pytest-skips with the SKIPPED-PEER prefix if missing."""
    path = peers_bin(name)
    if path is None:
        import pytest
        pytest.skip(f"{SKIP_PREFIX} {name} not installed ({peers_dir()}/node_modules/.bin/{name} "
                    f"missing; run scripts/install-peers.sh)")
    return path


def node_dir() -> str | None:
    node = shutil.which("node")
    return str(Path(node).resolve().parent) if node else None


# ---------------------------------------------------------------------------
# The fake model server
# ---------------------------------------------------------------------------

MODEL_SERVER = repo_root() / "tests" / "model_server" / "model_server.py"


class ModelServer:
    """Runs model_server.py with ``script`` (a dict) in ``workdir`` (or a temp dir).

    with ModelServer({"steps": [{"reply": "hi"}]}) as srv:
        srv.base_url, srv.port, srv.requests(kind="main")
    """

    def __init__(self, script: dict, workdir: str | Path | None = None,
                 start_timeout: float = 10.0, python: str | None = None):
        self.script = script
        self._own_dir = workdir is None
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="avenor-model-"))
        self.start_timeout = start_timeout
        self.python = python or sys.executable
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.record_path = self.dir / "record.ndjson"
        self.stderr_path = self.dir / "model_server.stderr"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ModelServer":
        self.dir.mkdir(parents=True, exist_ok=True)
        script_path = self.dir / "script.json"
        script_path.write_text(json.dumps(self.script, indent=1))
        self.record_path.write_text("")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [self.python, str(MODEL_SERVER), "--script", str(script_path),
             "--record", str(self.record_path), "--port", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr)
        self.port = self._read_port()
        return self

    def _read_port(self) -> int:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + self.start_timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                self.stop()
                raise RuntimeError(f"model_server.py printed no PORT line within "
                                   f"{self.start_timeout} s; stderr: {self._stderr_tail()}")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                self.stop()
                raise RuntimeError(f"model_server.py exited before listening "
                                   f"(rc={self.proc.poll()}); stderr: {self._stderr_tail()}")
            buf += chunk
        line = buf.split(b"\n", 1)[0].decode()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"model_server.py printed {line!r}, expected 'PORT <n>'")
        return int(line.split()[1])

    def _stderr_tail(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()
        self.proc = None

    def __enter__(self) -> "ModelServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def requests(self, kind: str | None = None) -> list[dict]:
        """Parsed record lines, optionally only those of one kind (main/side/meta)."""
        out = []
        for line in self.record_path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                if kind is None or rec.get("kind") == kind:
                    out.append(rec)
        return out

    def wait_for_requests(self, predicate, timeout: float = 30.0, what: str = "requests"):
        """Poll the record until predicate(records) is truthy; bounded."""
        deadline = time.monotonic() + timeout
        while True:
            recs = self.requests()
            if predicate(recs):
                return recs
            if time.monotonic() > deadline:
                raise TimeoutError(f"model server: no {what} within {timeout} s; "
                                   f"got {len(recs)} records")
            time.sleep(0.05)


# ---------------------------------------------------------------------------
# Isolated environments for the real CLIs
# ---------------------------------------------------------------------------

@dataclass
class PeerEnv:
    """An isolated environment for one CLI run: pass ``env`` to the child and
    run it in ``project`` (an empty git repo). ``argv`` is the machine-mode
    command line this env was made for."""
    env: dict
    home: Path
    project: Path
    argv: list = field(default_factory=list)


def base_env(tmp_path: Path, name: str) -> tuple[dict, Path, Path]:
    """env -i style: fresh HOME and XDG dirs under tmp_path/name, PATH with the
    peers first, and a git-initialised project dir."""
    root = Path(tmp_path) / name
    home = root / "home"
    project = root / "project"
    xdg = {"XDG_CONFIG_HOME": home / ".config", "XDG_DATA_HOME": home / ".local/share",
           "XDG_CACHE_HOME": home / ".cache", "XDG_STATE_HOME": home / ".local/state"}
    for d in [home, project, *xdg.values()]:
        d.mkdir(parents=True, exist_ok=True)
    path = peer_path_dirs() + [d for d in (node_dir(),) if d] + [
        "/usr/local/bin", "/usr/bin", "/bin"]
    env = {"PATH": os.pathsep.join(dict.fromkeys(path)), "HOME": str(home),
           "LANG": "C.UTF-8", "TERM": "dumb", "NO_COLOR": "1",
           # any npm the CLIs spawn (opencode's plugin install) goes nowhere
           "npm_config_registry": "http://127.0.0.1:9/",
           "npm_config_cache": str(home / ".npm"),
           **{k: str(v) for k, v in xdg.items()}}
    git = ["git", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q", str(project)], check=True, env=env,
                   stdout=subprocess.DEVNULL, timeout=30)
    return env, home, project


def opencode_config(server_url: str, permission_ask: bool = False,
                    model: str = "fake-model") -> dict:
    cfg = {
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "provider": {"fake": {
            "npm": "@ai-sdk/openai-compatible",  # built into the binary, not fetched
            "name": "Fake",
            "options": {"baseURL": server_url + "/v1", "apiKey": "sk-fake"},
            "models": {model: {"name": "Fake Model"}},
        }},
        "model": f"fake/{model}",
        "small_model": f"fake/{model}",
    }
    if permission_ask:
        cfg["permission"] = {"bash": "ask", "edit": "ask"}
    return cfg


def opencode_env(tmp_path: Path, server: ModelServer, permission_ask: bool = False) -> PeerEnv:
    """Env for ``opencode acp`` talking to ``server`` (config passed in
    OPENCODE_CONFIG_CONTENT; no config file, so nothing else is read)."""
    env, home, project = base_env(tmp_path, "opencode")
    model = server.script.get("model", "fake-model")
    env.update({
        "OPENCODE_CONFIG_CONTENT": json.dumps(opencode_config(server.base_url, permission_ask,
                                                              model)),
        "OPENCODE_DISABLE_MODELS_FETCH": "1",   # else GET models.opencode.ai on session/new
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_SHARE": "1",
        "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
        "OPENCODE_DISABLE_CLAUDE_CODE": "1",    # don't read ~/.claude prompts/skills
    })
    return PeerEnv(env, home, project, ["opencode", "acp"])


# gemini picks its model, without -m, from settings.json "model.name" (checked
# against gemini-cli 0.61.0 by test_gemini_acp_text_turn: the request goes to
# .../models/<model.name>:streamGenerateContent and no classifier call is made).
# The env var GEMINI_MODEL works the same way; both are set here.
# Without either, the default "auto" model first asks a JSON classifier router
# (gemini-*-flash-lite:generateContent, answered by the model server with
# {"complexity_reasoning":"x","complexity_score":10}).
GEMINI_MODEL = "gemini-2.5-flash"


def gemini_settings(model: str = GEMINI_MODEL) -> dict:
    return {
        "model": {"name": model},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
    }


def gemini_env(tmp_path: Path, server: ModelServer, model: str = GEMINI_MODEL) -> PeerEnv:
    """Env for ``gemini --acp`` talking to ``server``. GOOGLE_GEMINI_BASE_URL
    makes gemini choose the "gateway" auth by itself (no authenticate call)."""
    env, home, project = base_env(tmp_path, "gemini")
    settings = home / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps(gemini_settings(model), indent=1))
    env.update({
        "GOOGLE_GEMINI_BASE_URL": server.base_url,
        "GEMINI_API_KEY": "fake-key",
        "GEMINI_MODEL": model,
        "GEMINI_CLI_NO_RELAUNCH": "true",
        "GEMINI_TELEMETRY_ENABLED": "false",
    })
    return PeerEnv(env, home, project, ["gemini", "--acp", "--approval-mode", "default"])


# ---------------------------------------------------------------------------
# A minimal ACP (JSON-RPC 2.0 over NDJSON stdio) client for real CLIs
# ---------------------------------------------------------------------------

class AcpError(RuntimeError):
    pass


class AcpProcess:
    """Runs an ACP agent and talks JSON-RPC lines to it.

    ``request()`` waits (bounded) for its response, collecting notifications
    in ``self.notifications`` and answering agent->client requests with
    ``on_request(msg) -> result dict`` (default: JSON-RPC error). Agent
    request ids may be 0.
    """

    def __init__(self, argv: list, env: dict, cwd: str | Path, stderr_path: str | Path):
        self.argv = argv
        self.stderr_path = Path(stderr_path)
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, env=env, cwd=str(cwd), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr,
                                     start_new_session=True)
        self.messages: "queue.Queue[dict | None]" = queue.Queue()
        self.notifications: list[dict] = []
        self.agent_requests: list[dict] = []
        self.log: list[str] = []  # every line in both directions, for failure messages
        self._next_id = 1
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            self.log.append("<<< " + line)
            try:
                self.messages.put(json.loads(line))
            except ValueError:
                self.messages.put({"_unparsed": line})
        self.messages.put(None)  # EOF

    def send(self, obj: dict) -> None:
        line = json.dumps(obj)
        self.log.append(">>> " + line)
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def describe(self) -> str:
        err = self.stderr_path.read_text(errors="replace")[-3000:] if self.stderr_path.exists() else ""
        return ("\n--- last protocol lines ---\n" + "\n".join(l[:500] for l in self.log[-20:]) +
                f"\n--- stderr tail ({self.stderr_path}) ---\n{err}")

    def request(self, method: str, params: dict, timeout: float = 60.0, on_request=None):
        rid = self._next_id
        self._next_id += 1
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise queue.Empty
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                raise TimeoutError(f"{self.argv[0]}: no response to {method} within {timeout} s"
                                   + self.describe()) from None
            if msg is None:
                raise AcpError(f"{self.argv[0]} closed stdout (rc={self.proc.poll()}) while "
                               f"waiting for {method}" + self.describe())
            if "method" in msg and "id" in msg:
                self._answer(msg, on_request)
            elif "method" in msg:
                self.notifications.append(msg)
            elif msg.get("id") == rid:
                if "error" in msg:
                    raise AcpError(f"{method} failed: {msg['error']}" + self.describe())
                return msg.get("result")

    def _answer(self, msg: dict, on_request) -> None:
        self.agent_requests.append(msg)
        if on_request is None:
            self.send({"jsonrpc": "2.0", "id": msg["id"],
                       "error": {"code": -32601, "message": f"unhandled {msg['method']}"}})
        else:
            self.send({"jsonrpc": "2.0", "id": msg["id"], "result": on_request(msg)})

    def updates(self, kind: str | None = None) -> list[dict]:
        """session/update payloads ("update" objects), optionally of one kind."""
        out = [n["params"]["update"] for n in self.notifications
               if n.get("method") == "session/update"]
        return [u for u in out if kind is None or u.get("sessionUpdate") == kind]

    def text(self) -> str:
        return "".join(u["content"].get("text", "") for u in self.updates("agent_message_chunk"))

    def close(self, timeout: float = 5.0) -> None:
        """Close stdin, wait, then SIGTERM / SIGKILL the child's process group."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._signal(signal.SIGKILL)
                    self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()

    def _signal(self, sig) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def __enter__(self) -> "AcpProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


ACP_CLIENT_CAPS = {"fs": {"readTextFile": False, "writeTextFile": False}, "terminal": False}


def acp_initialize(agent: AcpProcess, timeout: float = 60.0) -> dict:
    return agent.request("initialize", {"protocolVersion": 1,
                                        "clientCapabilities": ACP_CLIENT_CAPS,
                                        "clientInfo": {"name": "avenor-e2e", "version": "0"}},
                         timeout)
