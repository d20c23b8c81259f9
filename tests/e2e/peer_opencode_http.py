"""The real `opencode serve` (npm opencode-ai) as a test peer for the opencode-http backend.

* ``opencode_http_env``: an isolated environment (fresh HOME/XDG dirs, a git project) whose
  opencode config, passed in OPENCODE_CONFIG_CONTENT, points at the scripted model server;
* ``OpencodeServer``: starts ``opencode serve --hostname 127.0.0.1 --port 0 --pure`` in the
  project, reads the "listening on http://…" line from its stdout (bounded), and stops it (its
  process group: SIGTERM, then SIGKILL);
* ``opencode_serve_pids``: the running ``opencode serve`` processes, optionally only those
  whose working directory is a given folder (to show a managed server does not outlive a run).

Nothing here talks to any address but 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import peers

# opencode 1.18 on a loaded machine took up to ~25 s to print its URL on a fresh HOME.
START_TIMEOUT = 120.0
OTHER_MODEL = "other-model"


def opencode_http_config(server: peers.ModelServer, permission_ask: bool = False,
                         agents: dict | None = None) -> dict:
    """peers.opencode_config plus a second model (so --model is visible at the model server),
    and optional agent definitions."""
    model = server.script.get("model", "fake-model")
    cfg = peers.opencode_config(server.base_url, permission_ask=False, model=model)
    cfg["provider"]["fake"]["models"][OTHER_MODEL] = {"name": "Other Model"}
    if permission_ask:
        cfg["permission"] = {"bash": "ask"}
    if agents:
        cfg["agent"] = agents
    return cfg


def opencode_http_env(tmp_path: Path, server: peers.ModelServer, permission_ask: bool = False,
                      agents: dict | None = None) -> peers.PeerEnv:
    penv = peers.opencode_env(tmp_path, server)
    penv.env["OPENCODE_CONFIG_CONTENT"] = json.dumps(
        opencode_http_config(server, permission_ask, agents))
    penv.env.pop("AVENOR_OPENCODE_URL", None)
    penv.argv = ["opencode", "serve", "--hostname", "127.0.0.1", "--port", "0", "--pure"]
    return penv


class OpencodeServer:
    """A running `opencode serve` in ``penv.project``; ``url`` once started.

    with OpencodeServer(penv, password="pw") as srv:
        srv.url, srv.get("/session")
    """

    def __init__(self, penv: peers.PeerEnv, workdir: Path, password: str | None = None):
        self.penv = penv
        self.password = password
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stdout_path = self.workdir / "opencode-serve.stdout"
        self.stderr_path = self.workdir / "opencode-serve.stderr"
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None

    def start(self) -> "OpencodeServer":
        env = dict(self.penv.env)
        if self.password is not None:
            env["OPENCODE_SERVER_PASSWORD"] = self.password
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.penv.argv, env=env, cwd=self.penv.project,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr, start_new_session=True)
        self.url = self._read_url()
        return self

    def _read_url(self) -> str:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT
        out = b""
        while True:
            for line in out.decode(errors="replace").splitlines(keepends=True):
                if "listening on http://" in line and line.endswith("\n"):
                    self.stdout_path.write_bytes(out)
                    return line.split("listening on ", 1)[1].strip().rstrip("/")
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                self.stop()
                raise AssertionError(f"opencode serve printed no URL within {START_TIMEOUT} s; "
                                     f"stdout {out!r}; stderr {self._stderr_tail()}")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                self.stop()
                raise AssertionError(f"opencode serve exited (rc={self.proc.poll()}) before "
                                     f"listening; stdout {out!r}; stderr {self._stderr_tail()}")
            out += chunk

    def _stderr_tail(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def url_with_auth(self, user: str, password: str) -> str:
        return self.url.replace("http://", f"http://{user}:{password}@", 1)

    def request(self, method: str, path: str, body: dict | None = None,
                timeout: float = 30.0):
        """A JSON request to the server (with the Basic auth of ``password``, if any)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        if self.password is not None:
            import base64
            token = base64.b64encode(f"opencode:{self.password}".encode()).decode()
            req.add_header("authorization", f"Basic {token}")
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")

    def get(self, path: str):
        return self.request("GET", path)

    def messages(self, session_id: str) -> list[dict]:
        return self.get(f"/session/{session_id}/message")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()
        self.proc = None

    def __enter__(self) -> "OpencodeServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _signal_group(pid: int, sig) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def opencode_serve_pids(cwd: Path | None = None) -> list[int]:
    """PIDs of live (not zombie) processes running `opencode serve`, optionally only those
    whose working directory is ``cwd``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            workdir = os.readlink(entry / "cwd") if cwd is not None else None
        except OSError:
            continue
        if state == "Z":
            continue
        names = [Path(a.decode(errors="replace")).name for a in argv if a]
        if "serve" not in names or not any(n.startswith("opencode") for n in names):
            continue
        if cwd is not None and Path(workdir) != Path(cwd).resolve():
            continue
        found.append(int(entry.name))
    return found
