"""Driving `avenor stable` (control.md §10) from end-to-end tests.

    def test_x(world):                       # the `world` fixture (import it from here)
        sup = world.stable("--max-runtimes", "2")     # started and answering `status`
        with sup.client() as c:                        # one connection: the owner once it mutates
            rt = c.spawn(prompt="hi", dir=str(world.workdir("a")))
            c.wait_entry(rt["runtime_id"], lambda e: e["status"] == "idle", "rt parked")
        sup.rt("rt_1").events()                        # <state>/rt_1/events.ndjson

A world is one short directory under /tmp (socket paths must fit sun_path, so pytest's
tmp_path is too long) holding the socket, the state dir, HOME, TMPDIR and the fake agents.

Fake agents: wrappers named `opencode`, `gemini` and `agent` first on PATH exec the scripted
fake ACP agent (tests/fakes/README.md). Each wrapper picks its script by the directory it is
started for (`--cwd D`, else its cwd): `<root>/fake/scripts/<basename D>.json`, else the default
script; it records to `<root>/fake/records/<basename D>.ndjson` and appends "<pid> <name>" to
`<root>/fake/pids`. So every runtime directory can get its own session id and behaviour.

Clean-up never relies on the supervisor: every process the world starts inherits the marker
variable AVENOR_E2E_STABLE_MARK=<root>, and teardown SIGKILLs every process carrying it (plus
every process group named in the registry), so a failing test leaves nothing behind.
Every wait is bounded and says what it waited for.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

import control_rpc
from control_rpc import ControlClient
from fake_agent import fake_agent_binary

MARK_VAR = "AVENOR_E2E_STABLE_MARK"
READY_TIMEOUT = 30.0
WAIT = 30.0

# Environment variables of the caller that would change what avenor or the fake does.
_SCRUBBED_ENV = ("AVENOR_OPENCODE_URL", "AVENOR_PLUGIN_PATH", "FAKE_ACP_SCRIPT", "FAKE_ACP_RECORD",
                 "OPENCODE_CONFIG", "OPENCODE_CONFIG_DIR", "AVENOR_CONTROL_READY_FD",
                 "AVENOR_CONTROL_IDENTITY_TOKEN", MARK_VAR)

# Prompt words every fake script understands (by_prompt: first match wins).
HOLD = "@hold"       # a turn that runs until cancelled (10 min sleep)
ASK = "@ask"         # a turn that asks one permission, then says ALLOWED or REJECTED
BIG = "@big"         # a 5000-character reply (beyond the 4096-rune control copies)
REPLY = "FAKE-REPLY"  # what any other prompt answers
CONTINUED = "CONTINUED-REPLY"  # what a prompt containing "Continue" answers
BIG_TEXT = "x" * 5000


def permission_turn() -> list[dict]:
    return [{"tool_call": {"toolCallId": "c1", "title": "ls", "kind": "execute",
                           "status": "pending"}},
            {"permission": {"toolCall": {"toolCallId": "c1", "title": "ls", "kind": "execute"}},
             "on_allow": [{"tool_call_update": {"toolCallId": "c1", "status": "completed"}},
                          {"chunk": "ALLOWED"}],
             "on_reject": [{"chunk": "REJECTED"}]}]


def fake_script(session_id: str, turns: list | None = None, by_prompt: list | None = None,
                **top: Any) -> dict:
    """A fake-agent script with the shared prompt words; `by_prompt` entries go first."""
    return {
        "session_id": session_id,
        "by_prompt": list(by_prompt or []) + [
            {"contains": HOLD, "turn": [{"chunk": "holding"}, {"sleep_ms": 600000}]},
            {"contains": ASK, "turn": permission_turn()},
            {"contains": BIG, "turn": [{"chunk": BIG_TEXT}]},
            {"contains": "Continue", "turn": [{"chunk": CONTINUED}]},
        ],
        "turns": turns or [[{"chunk": REPLY}]],
        **top,
    }


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


def process_state(pid: int) -> str | None:
    """The /proc state letter of `pid`, or None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    return process_state(pid) not in (None, "Z", "X")


def _proc_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`."""
    out = []
    for pid in _proc_pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            out.append(pid)
    return out


def children(pid: int) -> list[int]:
    """Live (non-zombie) child processes of `pid`."""
    out = []
    for p in _proc_pids():
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            out.append(p)
    return out


def group_gone(pgid: int) -> bool:
    """True when process group `pgid` has no process: os.killpg(pgid, 0) raises
    ProcessLookupError. A group left with only zombies (not yet reaped by init) counts as gone."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return not group_members(pgid)


def wait_groups_gone(pgids: list[int], timeout: float = WAIT, what: str = "process groups") -> None:
    deadline = time.monotonic() + timeout
    while True:
        left = [g for g in pgids if not group_gone(g)]
        if not left:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} still alive {timeout} s later: "
                                 f"{ {g: group_members(g) for g in left} }")
        time.sleep(0.05)


def marked_pids(mark: str) -> list[int]:
    """Live processes whose environment carries MARK_VAR=<mark> (never this process)."""
    needle = f"{MARK_VAR}={mark}".encode()
    out = []
    for pid in _proc_pids():
        if pid == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env and alive(pid):
            out.append(pid)
    return out


def kill_quietly(pid: int, sig=signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def killpg_quietly(pgid: int, sig=signal.SIGKILL) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_until(predicate: Callable[[], Any], timeout: float = WAIT, what: str = "condition",
               interval: float = 0.02) -> Any:
    """control_rpc.wait_until with this harness's default bound."""
    return control_rpc.wait_until(predicate, timeout=timeout, what=what, interval=interval)


# --------------------------------------------------------------------------------------------
# Files of one runtime
# --------------------------------------------------------------------------------------------


def read_ndjson(path: Path) -> list[dict]:
    """Complete lines only (the writer may be mid-line); LF is the only separator."""
    if not path.exists():
        return []
    text = path.read_text(errors="replace")
    complete = text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.split("\n") if line.strip()]


@dataclass
class RuntimeFiles:
    """<state>/<rt_N>/: control.sock, events.ndjson, sentinel.env, stderr.log."""
    dir: Path
    events_path: Path = field(init=False)
    sentinel: Path = field(init=False)
    stderr_log: Path = field(init=False)
    socket: Path = field(init=False)

    def __post_init__(self):
        self.events_path = self.dir / "events.ndjson"
        self.sentinel = self.dir / "sentinel.env"
        self.stderr_log = self.dir / "stderr.log"
        self.socket = self.dir / "control.sock"

    @property
    def perm_base(self) -> Path:
        """The file handler base derived from the default sentinel (cli.md §3.3)."""
        return self.dir / "sentinel.env.perm"

    @property
    def perm_request(self) -> Path:
        return self.dir / "sentinel.env.perm.req"

    def events(self) -> list[dict]:
        return read_ndjson(self.events_path)

    def named(self, name: str) -> list[dict]:
        return [e for e in self.events() if e.get("event") == name]

    def sentinel_lines(self) -> list[str]:
        return self.sentinel.read_text().split("\n")[:-1] if self.sentinel.exists() else []

    def stderr_text(self) -> str:
        return self.stderr_log.read_text(errors="replace") if self.stderr_log.exists() else ""

    def wait_event(self, predicate: Callable[[dict], bool], what: str,
                   timeout: float = WAIT) -> dict:
        def found():
            return next((e for e in self.events() if predicate(e)), None)
        try:
            return wait_until(found, timeout, f"{self.dir.name}: event log entry {what}")
        except AssertionError as e:
            raise AssertionError(f"{e}; log has {[x.get('event') for x in self.events()][-15:]}; "
                                 f"stderr.log: {self.stderr_text()[-1500:]}") from None

    def wait_sentinel(self, first_line: str, timeout: float = WAIT) -> list[str]:
        try:
            wait_until(lambda: self.sentinel_lines()[:1] == [first_line], timeout,
                       f"{self.dir.name}: sentinel {first_line}")
        except AssertionError as e:
            raise AssertionError(f"{e}; sentinel is {self.sentinel_lines()}; stderr.log: "
                                 f"{self.stderr_text()[-1500:]}") from None
        return self.sentinel_lines()


def assert_seq_exactly_once(events: list[dict], what: str = "log") -> None:
    """Every seq 1..n exactly once, in order (events.md §2, control.md §10.1)."""
    seqs = [e.get("seq") for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), f"{what}: seqs are not 1..n in order: {seqs}"


def assert_subscriber_matches_log(seen: list[dict], log: list[dict], what: str) -> None:
    """Events a subscriber saw for one runtime: strictly increasing seq, each equal to the log's
    line with that seq (outputs here stay under the 4096-rune cut)."""
    seqs = [e["seq"] for e in seen]
    assert seqs == sorted(set(seqs)), f"{what}: subscriber saw duplicated/reordered seqs {seqs}"
    by_seq = {e["seq"]: e for e in log}
    for e in seen:
        assert e["seq"] in by_seq, f"{what}: subscriber saw seq {e['seq']} missing from the log"
        assert e == by_seq[e["seq"]], \
            f"{what}: seq {e['seq']} differs:\n{e}\nlog:\n{by_seq[e['seq']]}"


# --------------------------------------------------------------------------------------------
# Fake agents
# --------------------------------------------------------------------------------------------


class FakeAgents:
    """Per-directory scripts for the fake ACP agent behind `opencode`/`gemini`/`agent`."""

    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "bin"
        self.scripts = root / "scripts"
        self.records = root / "records"
        self.pid_file = root / "pids"
        for d in (self.bin, self.scripts, self.records):
            d.mkdir(parents=True, exist_ok=True)
        self.default_script = self.scripts / "_default.json"
        self.default_script.write_text(json.dumps(fake_script("ses_fake_default")))
        fake = shlex.quote(str(fake_agent_binary()))
        q = shlex.quote
        for name in ("opencode", "gemini", "agent"):
            wrapper = self.bin / name
            wrapper.write_text(
                "#!/bin/sh\n"
                "d=\"$PWD\"; prev=\n"
                "for a in \"$@\"; do\n"
                "  if [ \"$prev\" = \"--cwd\" ]; then d=\"$a\"; fi\n"
                "  prev=\"$a\"\n"
                "done\n"
                "n=$(basename \"$d\")\n"
                f"echo \"$$ $n\" >> {q(str(self.pid_file))}\n"
                f"FAKE_ACP_SCRIPT={q(str(self.default_script))}\n"
                f"if [ -f {q(str(self.scripts))}/\"$n.json\" ]; then "
                f"FAKE_ACP_SCRIPT={q(str(self.scripts))}/\"$n.json\"; fi\n"
                f"FAKE_ACP_RECORD={q(str(self.records))}/\"$n.ndjson\"\n"
                "export FAKE_ACP_SCRIPT FAKE_ACP_RECORD\n"
                f"exec {fake} \"$@\"\n")
            wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    def set_script(self, name: str, script: dict) -> None:
        (self.scripts / f"{name}.json").write_text(json.dumps(script, indent=1))

    def record(self, name: str) -> list[dict]:
        return read_ndjson(self.records / f"{name}.ndjson")

    def methods(self, name: str) -> list[str]:
        return [m["method"] for m in self.record(name) if "method" in m]

    def prompts(self, name: str) -> list[dict]:
        """The session/prompt requests the fake in directory `name` received."""
        return [m for m in self.record(name) if m.get("method") == "session/prompt"]

    def prompt_texts(self, name: str) -> list[str]:
        return ["".join(p.get("text", "") for p in m["params"].get("prompt", []))
                for m in self.prompts(name)]

    def pids(self, name: str | None = None) -> list[int]:
        if not self.pid_file.exists():
            return []
        out = []
        for line in self.pid_file.read_text().splitlines():
            pid, _, n = line.partition(" ")
            if name is None or n == name:
                out.append(int(pid))
        return out


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------


class StableClient:
    """One connection to a supervisor (control_rpc.ControlClient by composition) with helpers
    for the stable methods. Unknown attributes go to the ControlClient (call, call_ok,
    call_error, request, response, subscribe, wait_event, events, ...)."""

    def __init__(self, path: str | Path, timeout: float = WAIT):
        self.rpc = ControlClient(path, timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rpc, name)

    def __enter__(self) -> "StableClient":
        return self

    def __exit__(self, *exc) -> None:
        self.rpc.close()

    def spawn(self, **params: Any) -> dict:
        r = self.rpc.call("spawn", params, timeout=60)
        assert "error" not in r, f"spawn {params} failed: {r['error']}"
        return r["result"]

    def spawn_error(self, **params: Any) -> dict:
        r = self.rpc.call("spawn", params, timeout=60)
        assert "error" in r, f"spawn {params} unexpectedly succeeded: {r.get('result')}"
        return r["error"]

    def list(self) -> list[dict]:
        return self.rpc.call_ok("list")

    def entry(self, runtime_id: str) -> dict:
        return self.rpc.call_ok("status", {"runtime_id": runtime_id})

    def entries(self) -> dict[str, dict]:
        return {e["runtime_id"]: e for e in self.list()}

    def wait_entry(self, runtime_id: str, predicate: Callable[[dict], bool], what: str,
                   timeout: float = WAIT) -> dict:
        last: dict = {}
        deadline = time.monotonic() + timeout
        while True:
            last = self.entry(runtime_id)
            if predicate(last):
                return last
            if time.monotonic() > deadline:
                raise AssertionError(f"{runtime_id}: {what} not reached within {timeout} s; "
                                     f"entry is {last}")
            time.sleep(0.05)

    def wait_status(self, runtime_id: str, status: str, timeout: float = WAIT) -> dict:
        return self.wait_entry(runtime_id, lambda e: e.get("status") == status,
                               f"status {status!r}", timeout)

    def wait_parked(self, runtime_id: str, timeout: float = WAIT) -> dict:
        return self.wait_entry(runtime_id,
                               lambda e: e.get("status") == "idle" and e.get("phase") == "done",
                               "parked (status idle, phase done)", timeout)

    def start_wait_turn(self, runtime_id: str, timeout_ms: int = 0) -> Any:
        """Sends wait_turn and returns its request id (the response comes later)."""
        return self.rpc.request("wait_turn", {"runtime_id": runtime_id, "timeout_ms": timeout_ms})

    def finish_wait_turn(self, request_id: Any, timeout: float = 60.0) -> dict:
        r = self.rpc.response(request_id, timeout)
        assert "error" not in r, f"wait_turn failed: {r['error']}"
        return r["result"]


def probe_status(path: Path, timeout: float = 2.0) -> dict | None:
    """One status call on a fresh connection; None when the socket does not answer."""
    try:
        c = ControlClient(path, timeout)
    except OSError:
        return None
    try:
        r = c.call("status", timeout=timeout)
        return r.get("result")
    except (AssertionError, OSError, ValueError):
        return None
    finally:
        c.close()


# --------------------------------------------------------------------------------------------
# The supervisor
# --------------------------------------------------------------------------------------------


class Stable:
    """One `avenor stable` process of a world (a restart is a new Stable on the same paths)."""

    def __init__(self, world: "StableWorld", args: list[str], n: int):
        self.world = world
        self.args = args
        self.stderr_path = world.root / f"stable-{n}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([world.avenor, *args], env=world.env, cwd=world.root,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr)
        self.pid = self.proc.pid

    @property
    def sock(self) -> Path:
        return self.world.sock

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> dict:
        """Polls until the socket answers `status` (the supervisor health probe)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"avenor stable exited ({self.proc.returncode}) before its "
                                     f"socket answered status; stderr:\n"
                                     f"{self.stderr_text()[-3000:]}")
            if self.sock.exists():
                snap = probe_status(self.sock)
                if snap is not None:
                    return snap
            if time.monotonic() > deadline:
                raise AssertionError(f"avenor stable: {self.sock} did not answer status within "
                                     f"{timeout} s; stderr:\n{self.stderr_text()[-3000:]}")
            time.sleep(0.05)

    def wait_exit(self, timeout: float = WAIT) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"avenor stable did not exit within {timeout} s; stderr:\n"
                                 f"{self.stderr_text()[-3000:]}") from None

    def client(self, timeout: float = WAIT) -> StableClient:
        c = StableClient(self.sock, timeout)
        self.world._clients.append(c)
        return c

    def control(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        return self.world.control(*args, timeout=timeout)

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def signal(self, sig) -> None:
        self.proc.send_signal(sig)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


class StableWorld:
    """One test's supervisor world: a short root dir under /tmp holding the socket (`s.sock`),
    the state dir (`state`), HOME, TMPDIR, runtime work dirs (`work/<name>`) and the fakes."""

    def __init__(self, avenor: str, env: dict | None = None, fake: bool = True):
        self.avenor = avenor
        self.root = Path(tempfile.mkdtemp(prefix="avs-", dir="/tmp"))
        self.sock = self.root / "s.sock"
        self.state = self.root / "state"
        self.work = self.root / "work"
        self.work.mkdir()
        self.tmpdir = self.root / "tmp"
        self.tmpdir.mkdir()
        self.agents = FakeAgents(self.root / "fake") if fake else None
        base = dict(os.environ) if env is None else dict(env)
        self.env = {k: v for k, v in base.items() if k not in _SCRUBBED_ENV}
        if env is None:
            home = self.root / "home"
            home.mkdir()
            self.env["HOME"] = str(home)
            for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
                self.env.pop(k, None)
        self.env["TMPDIR"] = str(self.tmpdir)
        self.env[MARK_VAR] = str(self.root)
        if self.agents is not None:
            self.env["PATH"] = f"{self.agents.bin}{os.pathsep}{self.env.get('PATH', '')}"
        self.stables: list[Stable] = []
        self._clients: list[StableClient] = []
        self._pgids: set[int] = set()

    # -- supervisor ----------------------------------------------------------------------------
    def start(self, *flags: str, state_dir: bool = True, sock: Path | str | None = None) -> Stable:
        """Starts `avenor stable --control-socket <sock> --state-dir <state> flags` (not waited)."""
        args = ["stable", "--control-socket", str(sock or self.sock)]
        if state_dir:
            args += ["--state-dir", str(self.state)]
        s = Stable(self, args + list(flags), len(self.stables))
        self.stables.append(s)
        return s

    def stable(self, *flags: str, **kw: Any) -> Stable:
        """Starts a supervisor and waits until it answers `status`."""
        s = self.start(*flags, **kw)
        s.wait_ready()
        return s

    def control(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        """`avenor control --socket <sock> args` with the world's environment."""
        return subprocess.run([self.avenor, "control", "--socket", str(self.sock), *args],
                              capture_output=True, text=True, timeout=timeout, env=self.env,
                              stdin=subprocess.DEVNULL, cwd=self.root)

    def control_ok(self, *args: str, timeout: float = 60.0) -> str:
        p = self.control(*args, timeout=timeout)
        assert p.returncode == 0, f"avenor control {list(args)} exited {p.returncode}: {p.stderr}"
        return p.stdout

    # -- files ---------------------------------------------------------------------------------
    def workdir(self, name: str, script: dict | None = None) -> Path:
        """work/<name>, with the fake agent started there using `script` (default: a script
        whose session id is ses_<name>)."""
        d = self.work / name
        d.mkdir(exist_ok=True)
        if self.agents is not None:
            self.agents.set_script(name, script or fake_script(f"ses_{name}"))
        return d

    def rt(self, runtime_id: str, state: Path | None = None) -> RuntimeFiles:
        return RuntimeFiles((state or self.state) / runtime_id)

    def registry(self, state: Path | None = None) -> dict | None:
        path = (state or self.state) / "registry.json"
        for _ in range(50):  # replaced by rename, but be tolerant of a reader racing a writer
            try:
                return json.loads(path.read_text())
            except FileNotFoundError:
                return None
            except ValueError:
                time.sleep(0.02)
        raise AssertionError(f"{path} is not valid JSON")

    def tombstone(self, sock: Path | None = None) -> str | None:
        path = Path(f"{sock or self.sock}.dead")
        return path.read_text() if path.exists() else None

    def runtime_pgids(self) -> list[int]:
        """Process groups named by the registry (remembered for clean-up)."""
        reg = self.registry() or {}
        for r in reg.get("runtimes", []) if isinstance(reg, dict) else []:
            if isinstance(r, dict) and isinstance(r.get("pgid"), int) and r["pgid"] > 1:
                self._pgids.add(r["pgid"])
        return sorted(self._pgids)

    def remember_pgid(self, pgid: int) -> None:
        if pgid > 1:
            self._pgids.add(pgid)

    def live_processes(self) -> list[int]:
        return marked_pids(str(self.root))

    def wait_no_processes(self, what: str, timeout: float = 10.0) -> None:
        """Bounded wait until no process of this world is left (SIGKILLed groups die
        asynchronously, so "gone" is awaited rather than sampled once)."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.live_processes()
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
                raise AssertionError(f"{what}: processes still alive after {timeout} s: {desc}")
            time.sleep(0.05)

    # -- teardown --------------------------------------------------------------------------------
    def cleanup(self) -> None:
        for c in self._clients:
            c.rpc.close()
        for s in self.stables:
            s.close()
        try:
            pgids = self.runtime_pgids()
        except AssertionError:
            pgids = sorted(self._pgids)
        for g in pgids:
            killpg_quietly(g)
        for _ in range(3):  # a dying runtime may still fork; sweep until nothing carries the mark
            pids = self.live_processes()
            if not pids:
                break
            for pid in pids:
                kill_quietly(pid, signal.SIGCONT)
                kill_quietly(pid)
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def world(avenor, fake_agent):
    """A StableWorld with the fake agents; everything it started is killed afterwards."""
    w = StableWorld(avenor)
    yield w
    w.cleanup()


def socket_answers(path: Path) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()
