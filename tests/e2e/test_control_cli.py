"""`avenor control --socket <path> <command> [args]` (cli.md §6), driven as a binary.

Two kinds of peer:

* a scripted fake control server in this file (a thread serving a Unix socket) for the exact
  request shapes, every output, error formatting, transport failures and `tail`'s client-side
  lag accounting;
* the real control server of `avenor run --control-socket` with the scripted fake ACP agent
  (tests/fakes/README.md) for the end-to-end behaviour.

Socket paths live in short directories under /tmp: pytest's tmp_path can exceed sun_path.
Nothing here sleeps to synchronise; every wait polls a condition with a bounded deadline.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from avenor_cli import RunFiles, events_named  # noqa: E402
from control_rpc import TailProcess, wait_until  # noqa: E402
from fake_agent import fake_cli_env, read_record  # noqa: E402

CALL_TIMEOUT_S = 30  # cli.md §6: the client's per-call timeout
USAGE_HEAD = "Usage: avenor control --socket <path> <command> [args]"


def short_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def run_control(avenor: str, sock: str | Path, *args: str, timeout: float = 60.0,
                env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([avenor, "control", "--socket", str(sock), *args], capture_output=True,
                          text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)


def indented(value: Any) -> str:
    """Go's json.MarshalIndent(v, "", "  ") for the values used here, plus the newline."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# Fake control server
# --------------------------------------------------------------------------------------------


class Conn:
    """One accepted client connection, as the handler sees it."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.closed = False

    def send_raw(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True  # the client went away; the test checks what it saw

    def send(self, frame: dict) -> None:
        self.send_raw((json.dumps(frame) + "\n").encode())

    def reply(self, request: dict, result: Any) -> None:
        self.send({"jsonrpc": "2.0", "id": request["id"], "result": result})

    def error(self, request: dict, code: int, message: str, data: Any = None) -> None:
        error = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        self.send({"jsonrpc": "2.0", "id": request["id"], "error": error})

    def event(self, params: dict) -> None:
        self.send({"jsonrpc": "2.0", "method": "event", "params": params})

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.closed = True


Handler = Callable[[Conn, dict], None]


class FakeControlServer:
    """Serves one connection at a time; `handler(conn, request)` scripts each reply."""

    def __init__(self, handler: Handler):
        self.dir = short_dir("avc-")
        self.path = str(self.dir / "c.sock")
        self.handler = handler
        self.requests: list[dict] = []
        self.connections = 0
        self._stop = False
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(8)
        self._listener.settimeout(0.05)  # lets stop() end the accept loop promptly
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                sock, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            # Blocking, so a handler's sendall of a big flood is never cut short; the read
            # side polls so stop() is seen promptly.
            sock.settimeout(None)
            conn = Conn(sock)
            buffer = b""
            with sock:
                while not self._stop and not conn.closed:
                    readable, _, _ = select.select([sock], [], [], 0.05)
                    if not readable:
                        continue
                    try:
                        chunk = sock.recv(65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    buffer += chunk
                    while b"\n" in buffer and not conn.closed:
                        line, buffer = buffer.split(b"\n", 1)
                        request = json.loads(line)
                        self.requests.append(request)
                        self.handler(conn, request)

    def stop(self) -> None:
        self._stop = True
        self._thread.join(timeout=10)
        self._listener.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def fake_server():
    """Factory: fake_server(handler) -> started FakeControlServer, stopped after the test."""
    started: list[FakeControlServer] = []

    def start(handler: Handler) -> FakeControlServer:
        server = FakeControlServer(handler)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def echo_handler(results: dict[str, Any]) -> Handler:
    """Answers each method with results[method] (default {"ok": true})."""
    def handle(conn: Conn, request: dict) -> None:
        conn.reply(request, results.get(request["method"], {"ok": True}))
    return handle


def request_shape(request: dict) -> tuple[str, Any]:
    assert request["jsonrpc"] == "2.0"
    assert isinstance(request["id"], int)
    assert set(request) <= {"jsonrpc", "id", "method", "params"}, request
    return request["method"], request.get("params")


# --------------------------------------------------------------------------------------------
# Against the fake server: request shapes and outputs
# --------------------------------------------------------------------------------------------

SIMPLE_COMMANDS = [
    # (argv after --socket P, method, params or None, stdout)
    (["cancel"], "cancel", None, "cancelled\n"),
    (["cancel", "rt_1"], "cancel", {"runtime_id": "rt_1"}, "cancelled\n"),
    (["prompt", "do more"], "prompt", {"text": "do more"}, "prompt queued\n"),
    (["prompt", "--not-a-flag", "rt_2"], "prompt", {"text": "--not-a-flag", "runtime_id": "rt_2"},
     "prompt queued\n"),
    (["interrupt-and-prompt", "stop"], "interrupt_and_prompt",
     {"text": "stop", "keep_queue": False}, "interrupt queued\n"),
    (["interrupt-and-prompt", "stop", "rt_3"], "interrupt_and_prompt",
     {"text": "stop", "keep_queue": False, "runtime_id": "rt_3"}, "interrupt queued\n"),
    (["answer-permission", "17", "allow"], "answer_permission",
     {"request_id": "17", "option_id": "allow"}, "permission answered\n"),
    (["answer-permission", "17", "deny", "rt_4"], "answer_permission",
     {"request_id": "17", "option_id": "deny", "runtime_id": "rt_4"}, "permission answered\n"),
    (["shutdown"], "shutdown", None, "shutting down\n"),
    (["shutdown", "graceful"], "shutdown", {"mode": "graceful"}, "shutting down\n"),
    (["shutdown", "kill"], "shutdown", {"mode": "kill"}, "shutting down\n"),
]


@pytest.mark.parametrize("argv,method,params,stdout", SIMPLE_COMMANDS,
                         ids=[" ".join(c[0]) for c in SIMPLE_COMMANDS])
def test_success_words_and_request_shapes(avenor, fake_server, argv, method, params, stdout):
    server = fake_server(echo_handler({"cancel": {"ok": True}, "prompt": {"accepted": True}}))
    result = run_control(avenor, server.path, *argv)
    assert result.returncode == 0, result.stderr
    assert result.stdout == stdout
    assert result.stderr == ""
    assert server.connections == 1
    assert [request_shape(r) for r in server.requests] == [(method, params)]


def test_status_and_list_print_indented_json(avenor, fake_server):
    snapshot = {"session_id": "ses_1", "run_id": "r1", "pending_permission": False,
                "permission": None, "latest_seq": 42, "turn_state": "running",
                "nested": {"list": [1, 2.5, "x<y>&z"], "empty": [], "obj": {}}, "text": "é\n\"q\""}
    runtimes = [{"runtime_id": "rt_1", "children": None}, {"runtime_id": "rt_2", "children": []}]
    server = fake_server(echo_handler({"status": snapshot, "list": runtimes}))

    result = run_control(avenor, server.path, "status")
    assert result.returncode == 0, result.stderr
    assert result.stdout == indented(snapshot)
    result = run_control(avenor, server.path, "status", "rt_1")
    assert result.returncode == 0, result.stderr
    result = run_control(avenor, server.path, "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout == indented(runtimes)

    assert [request_shape(r) for r in server.requests] == [
        ("status", None), ("status", {"runtime_id": "rt_1"}), ("list", None)]


def test_spawn_flags_become_params(avenor, fake_server):
    spawn_result = {"runtime_id": "rt_1", "session_id": "ses_9", "on_event": "/s/e.ndjson",
                    "sentinel_file": "/s/sentinel.env", "effective_backend": "opencode-acp"}
    server = fake_server(echo_handler({"spawn": spawn_result}))

    result = run_control(
        avenor, server.path, "spawn", "--prompt", "hello", "--dir", "/w", "--agent", "build",
        "--label", "L1", "--model", "prov/m", "--thinking", "xhigh", "--backend", "gemini-acp",
        "--server-url", "http://127.0.0.1:9", "--on-event", "/e.ndjson", "--sentinel-file",
        "/s.env", "--permission-handler", "file:/p", "--auto-approve", "--timeout", "120",
        "--max-retries", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout == indented(spawn_result)

    # Empty fields are omitted; timeout and max_retries only when > 0; -flag=value works.
    result = run_control(avenor, server.path, "spawn", "-prompt-file=/p.txt", "--dir", "",
                         "--label=", "--timeout", "0", "--max-retries", "-2",
                         "--auto-approve=false")
    assert result.returncode == 0, result.stderr

    result = run_control(avenor, server.path, "spawn", "--prompt", "x", "--timeout", "-5",
                         "--max-retries", "1")
    assert result.returncode == 0, result.stderr

    assert [request_shape(r) for r in server.requests] == [
        ("spawn", {"prompt": "hello", "dir": "/w", "agent": "build", "label": "L1",
                   "model": "prov/m", "thinking": "xhigh", "backend": "gemini-acp",
                   "server_url": "http://127.0.0.1:9", "on_event": "/e.ndjson",
                   "sentinel_file": "/s.env", "permission_handler": "file:/p",
                   "auto_approve": True, "timeout": 120, "max_retries": 3}),
        ("spawn", {"prompt_file": "/p.txt"}),
        ("spawn", {"prompt": "x", "max_retries": 1}),
    ]


def test_spawn_session_loop_and_idempotency_flags(avenor, fake_server):
    server = fake_server(echo_handler({"spawn": {"runtime_id": "rt_2", "session_id": ""}}))
    result = run_control(
        avenor, server.path, "spawn", "--loop-file", "/w/loop.yaml", "--agent-profile", "strict",
        "--session-id", "ses_1", "--parent-id", "rt_1", "--idempotency-key", "k-1")
    assert result.returncode == 0, result.stderr
    assert result.stdout == indented({"runtime_id": "rt_2", "session_id": ""})
    # --resume is the child's name for --session-id; a loop file may come with a prompt.
    result = run_control(avenor, server.path, "spawn", "--prompt", "go", "--loop-file", "/l.toml",
                         "--resume", "ses_2")
    assert result.returncode == 0, result.stderr
    assert [request_shape(r) for r in server.requests] == [
        ("spawn", {"loop_file": "/w/loop.yaml", "agent_profile": "strict", "session_id": "ses_1",
                   "parent_id": "rt_1", "idempotency_key": "k-1"}),
        ("spawn", {"prompt": "go", "loop_file": "/l.toml", "session_id": "ses_2"}),
    ]


def test_result_history_wait_turn_identity_print_indented_json(avenor, fake_server):
    results = {
        "result": {"final_output": "line 1\nline 2 \u00e9"},
        "history": {"runtime_id": "rt_1", "latest_seq": 7,
                    "events": [{"event": "session.start", "seq": 1, "runtime_id": "rt_1"}]},
        "wait_turn": {"runtime_id": "rt_1", "session_id": "ses_1", "stop_reason": "end_turn",
                      "final_output": "done"},
        "identity": {"token": "tok"},
    }
    server = fake_server(echo_handler(results))
    calls = [
        (["result"], "result", None),
        (["result", "rt_1"], "result", {"runtime_id": "rt_1"}),
        (["history", "rt_1"], "history", {"runtime_id": "rt_1"}),
        (["history", "rt_1", "20"], "history", {"runtime_id": "rt_1", "limit": 20}),
        (["wait-turn", "rt_1"], "wait_turn", {"runtime_id": "rt_1"}),
        (["wait-turn", "rt_1", "2500"], "wait_turn", {"runtime_id": "rt_1", "timeout_ms": 2500}),
        (["identity"], "identity", None),
    ]
    for argv, method, _ in calls:
        result = run_control(avenor, server.path, *argv)
        assert result.returncode == 0, (argv, result.stderr)
        assert result.stdout == indented(results[method]), argv
        assert result.stderr == ""
    assert [request_shape(r) for r in server.requests] == [(m, p) for _, m, p in calls]


def test_wait_turn_client_timeout_follows_timeout_ms(avenor, fake_server):
    # wait_turn answers late on purpose: the client waits timeout_ms + 30 s, and without a
    # server limit (0) it waits as long as it takes. Three clients on three servers run at
    # once, so this costs one 33 s wait, not three.
    answer_after = CALL_TIMEOUT_S + 3

    def late(conn: Conn, request: dict) -> None:
        timer = threading.Timer(answer_after, conn.reply,
                                (request, {"runtime_id": "rt_1", "stop_reason": "end_turn"}))
        timer.daemon = True
        timer.start()

    def start(argv: list[str]) -> subprocess.Popen:
        server = fake_server(late if argv[-1] != "1000" else (lambda conn, req: None))
        return subprocess.Popen([avenor, "control", "--socket", server.path, *argv],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)

    started = time.monotonic()
    unlimited = start(["wait-turn", "rt_1", "0"])
    ten_s = start(["wait-turn", "rt_1", "10000"])
    one_s = start(["wait-turn", "rt_1", "1000"])
    try:
        out, err = one_s.communicate(timeout=CALL_TIMEOUT_S + 40)
        elapsed = time.monotonic() - started
        assert one_s.returncode == 1, (out, err)
        assert err == "avenor control: wait-turn: timeout after 31s waiting for the response\n"
        assert CALL_TIMEOUT_S + 1 <= elapsed < CALL_TIMEOUT_S + 15, elapsed
        for proc in (unlimited, ten_s):
            out, err = proc.communicate(timeout=answer_after + 40)
            assert proc.returncode == 0, err
            assert json.loads(out) == {"runtime_id": "rt_1", "stop_reason": "end_turn"}
        assert time.monotonic() - started >= answer_after
    finally:
        for proc in (unlimited, ten_s, one_s):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


RPC_ERRORS = [
    (["status"], -32601, "method not found"),
    (["prompt", ""], -32602, "invalid params"),
    (["cancel"], -32010, "permission_denied"),
    (["answer-permission", "1", "x"], -32001, "no_pending_permission"),
    (["spawn", "--prompt", "p"], -32050, "runtime capacity reached (16 of 16)"),
    (["shutdown", "soon"], -32000, "shutdown mode must be graceful or kill"),
    (["tail"], -32602, "invalid params"),
]


@pytest.mark.parametrize("argv,code,message", RPC_ERRORS, ids=[e[0][0] for e in RPC_ERRORS])
def test_rpc_errors_are_formatted_and_exit_1(avenor, fake_server, argv, code, message):
    server = fake_server(lambda conn, req: conn.error(req, code, message, {"detail": "ignored"}))
    result = run_control(avenor, server.path, *argv)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"avenor control: {argv[0]}: rpc error [{code}]: {message}\n"


def test_notifications_and_stale_responses_before_the_answer_are_skipped(avenor, fake_server):
    def handle(conn: Conn, request: dict) -> None:
        conn.event({"event": "agent.message_chunk", "seq": 1})
        conn.send({"jsonrpc": "2.0", "id": 999, "result": "not yours"})
        conn.reply(request, {"ok": True})
    server = fake_server(handle)
    result = run_control(avenor, server.path, "cancel")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "cancelled\n"


def test_server_closing_mid_call_is_a_transport_error(avenor, fake_server):
    def handle(conn: Conn, request: dict) -> None:
        conn.send_raw(b'{"jsonrpc":"2.0","id":')  # half a frame, then the connection drops
        conn.close()
    server = fake_server(handle)
    result = run_control(avenor, server.path, "status")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == \
        "avenor control: status: connection closed before the response arrived\n"


def test_garbage_from_the_server_is_a_transport_error(avenor, fake_server):
    server = fake_server(lambda conn, req: conn.send_raw(b"hello there\n"))
    result = run_control(avenor, server.path, "list")
    assert result.returncode == 1
    assert result.stderr.startswith("avenor control: list: invalid frame from server: "), \
        result.stderr


def test_missing_socket_is_a_transport_error(avenor):
    path = short_dir("avc-") / "absent.sock"
    try:
        result = run_control(avenor, path, "status")
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr == (f"avenor control: status: dial unix {path}: connect: "
                                 "no such file or directory\n")
        # A path that is not a socket fails the same way (connection refused).
        path.write_text("")
        result = run_control(avenor, path, "list")
        assert result.returncode == 1
        assert result.stderr == (f"avenor control: list: dial unix {path}: connect: "
                                 "connection refused\n")
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def test_server_that_never_answers_times_out_after_30s(avenor, fake_server):
    # The spec has no knob for the client timeout, so this waits the real 30 s once.
    server = fake_server(lambda conn, req: None)
    start = time.monotonic()
    result = run_control(avenor, server.path, "status", timeout=CALL_TIMEOUT_S + 30)
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "avenor control: status: timeout after 30s waiting for the response\n"
    assert CALL_TIMEOUT_S <= elapsed < CALL_TIMEOUT_S + 10, elapsed


CONTROL_HINT = "run 'avenor control --help' for usage"
SPAWN_HINT = "run 'avenor control spawn --help' for usage"

USAGE_ERRORS = [
    # (argv after "control", expected first stderr line, the hint line after it); issue 13:
    # one error line and one hint line, never the whole usage
    ([], "avenor control: --socket is required", CONTROL_HINT),
    (["status"], "avenor control: --socket is required", CONTROL_HINT),
    (["--bogus", "x"], "avenor control: flag provided but not defined: -bogus", CONTROL_HINT),
    (["--socket"], "avenor control: flag needs an argument: -socket", CONTROL_HINT),
    (["--socket", "S"], "avenor control: missing command", CONTROL_HINT),
    (["--socket", "S", "frobnicate"], 'avenor control: unknown command "frobnicate"', CONTROL_HINT),
    (["--socket", "S", "status", "a", "b"],
     "avenor control: status: too many arguments (usage: status [runtime-id])", CONTROL_HINT),
    (["--socket", "S", "list", "x"], "avenor control: list: too many arguments (usage: list)",
     CONTROL_HINT),
    (["--socket", "S", "prompt"], "avenor control: prompt: missing <text>", CONTROL_HINT),
    (["--socket", "S", "interrupt-and-prompt"],
     "avenor control: interrupt-and-prompt: missing <text>", CONTROL_HINT),
    (["--socket", "S", "answer-permission", "1"],
     "avenor control: answer-permission: missing <option-id>", CONTROL_HINT),
    (["--socket", "S", "history"], "avenor control: history: missing <runtime-id>", CONTROL_HINT),
    (["--socket", "S", "wait-turn"], "avenor control: wait-turn: missing <runtime-id>",
     CONTROL_HINT),
    (["--socket", "S", "wait-turn", "rt_1", "5s"],
     'avenor control: wait-turn: invalid <timeout-ms> "5s": want a non-negative integer',
     CONTROL_HINT),
    (["--socket", "S", "history", "rt_1", "-3"],
     'avenor control: history: invalid <limit> "-3": want a non-negative integer', CONTROL_HINT),
    (["--socket", "S", "identity", "x"],
     "avenor control: identity: too many arguments (usage: identity)", CONTROL_HINT),
    (["--socket", "S", "--wait-socket", "5", "status"],
     'avenor control: invalid value "5" for flag -wait-socket: missing unit in duration '
     "(use e.g. 5s, 10m, 1h30m)", CONTROL_HINT),
    (["status", "--socket", "S", "--wait-socket"],
     "avenor control: flag needs an argument: -wait-socket", CONTROL_HINT),
    (["--socket", "S", "spawn"],
     "avenor control: spawn: one of --prompt, --prompt-file and --loop-file is required",
     SPAWN_HINT),
    (["--socket", "S", "spawn", "--prompt", "a", "--prompt-file", "b"],
     "avenor control: spawn: --prompt and --prompt-file are mutually exclusive", SPAWN_HINT),
    (["--socket", "S", "spawn", "--loop-file", "l", "--prompt", "a", "--prompt-file", "b"],
     "avenor control: spawn: --prompt and --prompt-file are mutually exclusive", SPAWN_HINT),
    (["--socket", "S", "spawn", "--prompt", "a", "--resume", "s1", "--session-id", "s2"],
     "avenor control: spawn: --session-id and --resume name different sessions", SPAWN_HINT),
    (["--socket", "S", "spawn", "--prompt", "a", "--thinking", "extreme"],
     'avenor control: spawn: invalid --thinking "extreme"', SPAWN_HINT),
    (["--socket", "S", "spawn", "--prompt", "a", "--timeout", "5m"],
     'avenor control: spawn: invalid value "5m" for flag -timeout: parse error', SPAWN_HINT),
    (["--socket", "S", "spawn", "--prompt", "a", "--session", "s"],
     "avenor control: spawn: flag provided but not defined: -session", SPAWN_HINT),
]


@pytest.mark.parametrize("argv,first_line,hint", USAGE_ERRORS,
                         ids=[" ".join(u[0]) or "(none)" for u in USAGE_ERRORS])
def test_usage_errors_exit_1_without_dialling(avenor, fake_server, argv, first_line, hint):
    server = fake_server(echo_handler({}))
    argv = [server.path if a == "S" else a for a in argv]
    result = subprocess.run([avenor, "control", *argv], capture_output=True, text=True,
                            timeout=30, stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == first_line + "\n" + hint + "\n", result.stderr
    assert server.connections == 0


@pytest.mark.parametrize("argv,head", [
    (["-h"], USAGE_HEAD),
    (["--help"], USAGE_HEAD),
    (["--socket", "S", "status", "--help"], USAGE_HEAD),
    (["--socket", "S", "spawn", "-h"], "Usage: avenor control --socket <path> spawn [flags]"),
])
def test_help_is_usage_on_stdout_without_dialling(avenor, fake_server, argv, head):
    server = fake_server(echo_handler({}))
    argv = [server.path if a == "S" else a for a in argv]
    result = subprocess.run([avenor, "control", *argv], capture_output=True, text=True,
                            timeout=30, stdin=subprocess.DEVNULL)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith(head + "\n"), result.stdout
    assert "-socket path" in result.stdout and "-wait-socket duration" in result.stdout
    assert server.connections == 0


# --------------------------------------------------------------------------------------------
# tail against the fake server
# --------------------------------------------------------------------------------------------


def test_tail_prints_every_notification_until_the_socket_closes(avenor, fake_server):
    events = [{"event": "session.start", "seq": 1, "session_id": "s"},
              {"event": "agent.message_chunk", "seq": 2, "text": "a\nb \u2028 <&>"},
              {"event": "session.end", "seq": 3, "final_output": "done"}]

    def handle(conn: Conn, request: dict) -> None:
        conn.event(events[0])  # may come before the response; still printed first
        conn.reply(request, {"subscribed": True})
        conn.send({"jsonrpc": "2.0", "method": "other", "params": {"x": 1}})  # not an event
        for e in events[1:]:
            conn.event(e)
        conn.close()
    server = fake_server(handle)
    result = run_control(avenor, server.path, "tail")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.split("\n")
    assert lines[-1] == ""
    # Compact JSON (no padding), plain characters (D1), the server's key order.
    assert lines[:-1] == [json.dumps(e, separators=(",", ":"), ensure_ascii=False)
                          for e in events]
    assert [request_shape(r) for r in server.requests] == [("subscribe", None)]


def test_tail_reports_client_lagged_when_stdout_falls_behind(avenor, fake_server):
    total = 20000
    flood_done = threading.Event()

    def handle(conn: Conn, request: dict) -> None:
        conn.reply(request, {"subscribed": True})
        blob = "".join(
            json.dumps({"jsonrpc": "2.0", "method": "event",
                        "params": {"event": "agent.message_chunk", "seq": i, "text": "x" * 80}})
            + "\n" for i in range(1, total + 1))
        conn.send_raw(blob.encode())
        conn.close()
        flood_done.set()

    server = fake_server(handle)
    # Nobody reads tail's stdout until the whole flood has been written and the socket closed:
    # tail's printer blocks on the full pipe while its reader keeps draining the socket, so its
    # 256-slot queue must overflow.
    proc = subprocess.Popen([avenor, "control", "--socket", server.path, "tail"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    try:
        assert flood_done.wait(60), "the fake server could not write its flood within 60 s"
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert err == b""
    lines = [json.loads(line) for line in out.decode().splitlines()]
    lagged = [line for line in lines if line.get("event") == "client.lagged"]
    assert lagged, "no client.lagged line although stdout was not read"
    for line in lagged:
        assert set(line) == {"event", "dropped_count"} and line["dropped_count"] > 0, line

    # Every lagged line accounts exactly for the gap before the next event; the newest events
    # are never the ones dropped.
    previous = 0
    printed = 0
    pending_drop = 0
    for line in lines:
        if line["event"] == "client.lagged":
            assert pending_drop == 0, "two lagged lines in a row (not coalesced)"
            pending_drop = line["dropped_count"]
            continue
        assert line["seq"] == previous + 1 + pending_drop, (previous, pending_drop, line["seq"])
        previous = line["seq"]
        pending_drop = 0
        printed += 1
    assert previous == total
    assert printed + sum(line["dropped_count"] for line in lagged) == total
    assert printed >= 256


def test_tail_subscribe_error_and_transport_error(avenor, fake_server):
    server = fake_server(lambda conn, req: conn.close())
    result = run_control(avenor, server.path, "tail")
    assert result.returncode == 1
    assert result.stderr == "avenor control: tail: connection closed before the response arrived\n"


# --------------------------------------------------------------------------------------------
# Against the real server: avenor run --control-socket with the scripted fake ACP agent
# --------------------------------------------------------------------------------------------


class ControlledRun:
    """`avenor run --control-socket` on the fake agent; ready once the socket is bound."""

    def __init__(self, avenor: str, tmp_path: Path, script: dict, *extra: str,
                 sentinel: bool = True, prompt: str = "first"):
        self.avenor = avenor
        self.sock_dir = short_dir("avr-")
        self.socket = str(self.sock_dir / "run.sock")
        self.files = RunFiles(tmp_path / "run")
        env, self.record = fake_cli_env(tmp_path, script)
        args = ["run", "--prompt", prompt, "--dir", str(tmp_path), "--on-event",
                str(self.files.events), "--control-socket", self.socket, *extra]
        if sentinel:
            args += ["--sentinel-file", str(self.files.sentinel)]
        ready_read, ready_write = os.pipe()
        env["AVENOR_CONTROL_READY_FD"] = str(ready_write)
        self._stderr = open(self.files.stderr, "wb")
        self.proc = subprocess.Popen([avenor, *args], env=env, pass_fds=[ready_write],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr)
        os.close(ready_write)
        try:
            # The ready byte (cli.md §12) arrives once the socket is bound; EOF means avenor
            # closed the fd without it (e.g. it failed first).
            readable, _, _ = select.select([ready_read], [], [], 30)
            byte = os.read(ready_read, 1) if readable else b""
        finally:
            os.close(ready_read)
        if byte != b"\x01":
            self.kill()
            raise AssertionError(f"control socket not ready (got {byte!r}); stderr:\n"
                                 f"{self.files.stderr_text()[-3000:]}")

    def control(self, *args: str) -> subprocess.CompletedProcess:
        return run_control(self.avenor, self.socket, *args)

    def status(self) -> dict:
        result = self.control("status")
        assert result.returncode == 0, result.stderr
        assert result.stdout == indented(json.loads(result.stdout))
        return json.loads(result.stdout)

    def wait_status(self, predicate: Callable[[dict], bool], what: str) -> dict:
        def check():
            self.fail_if_exited(what)
            snapshot = self.status()
            return snapshot if predicate(snapshot) else None
        return wait_until(check, what=what)

    def fail_if_exited(self, what: str) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"avenor exited ({self.proc.returncode}) while waiting for "
                                 f"{what}; stderr:\n{self.files.stderr_text()[-3000:]}")

    def wait(self, timeout: float = 60.0) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"avenor did not exit within {timeout} s; stderr:\n"
                                 f"{self.files.stderr_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        self.kill()
        self._stderr.close()
        shutil.rmtree(self.sock_dir, ignore_errors=True)


@pytest.fixture
def controlled_run(avenor, tmp_path, fake_agent):
    """Factory: controlled_run(script, *extra_run_args, sentinel=True) -> ControlledRun."""
    runs: list[ControlledRun] = []

    def start(script: dict, *extra: str, **kwargs) -> ControlledRun:
        run = ControlledRun(avenor, tmp_path / f"r{len(runs)}", script, *extra, **kwargs)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.close()


def prompts_sent(record: Path) -> list[dict]:
    return [m["params"] for m in read_record(record) if m.get("method") == "session/prompt"]


def prompt_text(params: dict) -> str:
    return "".join(block.get("text", "") for block in params["prompt"])


WAITING_TURN = {"turns": [[{"chunk": "working"}, {"sleep_ms": 120000}]]}


def test_real_status_while_a_turn_waits_then_cancel(controlled_run):
    run = controlled_run(WAITING_TURN)
    snapshot = run.wait_status(lambda s: s.get("last_event") == "agent.message_chunk",
                               "the first chunk")
    assert snapshot["session_id"] == "ses_fake_1"
    assert snapshot["turn_state"] == "running"
    assert snapshot["pending_permission"] is False
    assert isinstance(snapshot["started_at"], int) and isinstance(snapshot["updated_at"], int)
    assert snapshot["latest_seq"] >= 1

    result = run.control("cancel")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "cancelled\n"
    assert run.wait() == 130
    lines = run.files.sentinel_lines()
    assert lines[0] == "KILLED"
    assert "EXIT_CODE=130" in lines and "STOP_REASON=cancelled" in lines
    assert events_named(run.files.read_events(), "session.end")[-1]["stop_reason"] == "cancelled"


class ProbeConnection:
    """A raw JSON-RPC connection to the real server, for publish_event probes."""

    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.settimeout(CALL_TIMEOUT_S)
        self.file = self.sock.makefile("rb")
        self.next_id = 1

    def call(self, method: str, params: dict) -> dict:
        request_id = self.next_id
        self.next_id += 1
        self.sock.sendall((json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method,
                                       "params": params}) + "\n").encode())
        while True:
            line = self.file.readline()
            assert line, f"server closed the connection during {method}"
            frame = json.loads(line)
            if frame.get("id") == request_id:
                assert "error" not in frame, frame
                return frame["result"]

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def subscribe_tail(avenor: str, run: ControlledRun) -> TailProcess:
    """Starts a tail and returns once it provably receives live events: it has printed a
    publish_event probe. The probe connection is closed again (it held ownership)."""
    tail = TailProcess(avenor, run.socket)
    probe = ProbeConnection(run.socket)
    try:
        def tail_saw_probe():
            if tail.proc.poll() is not None:
                raise AssertionError(f"tail exited early: {tail.proc.stderr.read().decode()}")
            probe.call("publish_event", {"event": {"event": "test.probe"}})
            return any(e.get("event") == "test.probe" for e in tail.snapshot())
        wait_until(tail_saw_probe, what="tail to print a probe event", interval=0.05)
    finally:
        probe.close()
    return tail


def mutate(run: ControlledRun, *args: str) -> subprocess.CompletedProcess:
    """A mutating `control` call, retried while the server still counts an earlier,
    already-closed connection as the owner (control.md §4: ownership ends with its
    connection, which the server learns asynchronously)."""
    def attempt():
        result = run.control(*args)
        if result.returncode != 0 and "[-32010]" in result.stderr:
            return None
        return result
    return wait_until(attempt, what="ownership to be released", interval=0.05)


def answer_permission(run: ControlledRun, request_id: str, option_id: str
                      ) -> subprocess.CompletedProcess:
    return mutate(run, "answer-permission", request_id, option_id)


def test_real_tail_streams_every_event_in_seq_order(avenor, controlled_run):
    # The permission is the gate: nothing after it happens until the test has a subscribed
    # tail. After it come ~200 events, fewer than the server's 256-event queue, so a live
    # subscriber must see all of them (a lag would be a server-side drop, not a client bug).
    script = {"turns": [[
        {"chunk": "before"},
        {"permission": {"toolCall": {"toolCallId": "c1", "title": "ls", "kind": "execute"}},
         "on_allow": [
             {"tool_call": {"toolCallId": "c2", "title": "cat", "kind": "read",
                            "status": "pending"}},
             {"flood": {"count": 150, "text": "x", "numbered": True}},
             {"thought": "hmm"},
             {"tool_call_update": {"toolCallId": "c2", "status": "completed"}},
             {"chunk": " after"}],
         "on_reject": [{"chunk": "rejected"}]},
        {"end": {"stopReason": "end_turn"}}]]}
    run = controlled_run(script, sentinel=False)
    tail = subscribe_tail(avenor, run)
    snapshot = run.wait_status(lambda s: s.get("pending_permission"), "the permission request")
    result = answer_permission(run, snapshot["permission"]["request_id"], "once")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "permission answered\n"
    assert run.wait() == 0, run.files.stderr_text()

    rc, err = tail.finish()
    assert rc == 0, err
    assert err == ""
    streamed = tail.snapshot()
    log = run.files.read_events()
    assert not [e for e in streamed if e["event"] == "subscriber.lagged"]
    first = streamed[0]["seq"]
    expected = [e for e in log if e["seq"] >= first]
    assert [e["seq"] for e in streamed] == [e["seq"] for e in expected]
    assert [e["seq"] for e in streamed] == list(range(first, log[-1]["seq"] + 1))
    for live, logged in zip(streamed, expected):
        assert {k: v for k, v in logged.items() if k in live} == {k: live[k] for k in logged}, \
            (live, logged)
    names = [e["event"] for e in streamed]
    assert "permission.response" in names and names[-1] == "session.end"
    assert names.count("agent.message_chunk") >= 1


def test_real_prompt_runs_a_second_turn_on_the_same_session(controlled_run):
    script = {"turns": [
        [{"chunk": "one"}, {"permission": {}, "on_allow": [{"chunk": "!"}]}],
        [{"chunk": "two"}, {"end": {"stopReason": "end_turn"}}]]}
    run = controlled_run(script, sentinel=False)
    snapshot = run.wait_status(lambda s: s.get("pending_permission"), "the permission request")
    result = run.control("prompt", "second prompt")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "prompt queued\n"
    result = answer_permission(run, snapshot["permission"]["request_id"], "once")
    assert result.returncode == 0, result.stderr
    assert run.wait() == 0, run.files.stderr_text()

    ends = events_named(run.files.read_events(), "session.end")
    assert [e["stop_reason"] for e in ends] == ["end_turn", "end_turn"]
    assert ends[0]["session_id"] == ends[1]["session_id"] == "ses_fake_1"
    assert [e["final_output"] for e in ends] == ["one!", "two"]
    prompts = prompts_sent(run.record)
    assert [prompt_text(p) for p in prompts] == ["first", "second prompt"]
    assert prompts[1]["sessionId"] == "ses_fake_1"


def test_real_interrupt_and_prompt(controlled_run):
    script = {"turns": [[{"chunk": "one"}, {"sleep_ms": 120000}],
                        [{"chunk": "two"}, {"end": {"stopReason": "end_turn"}}]]}
    run = controlled_run(script)
    run.wait_status(lambda s: s.get("last_event") == "agent.message_chunk", "the first chunk")
    result = run.control("interrupt-and-prompt", "change of plan")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "interrupt queued\n"
    assert run.wait() == 0, run.files.stderr_text()

    ends = events_named(run.files.read_events(), "session.end")
    assert [e["stop_reason"] for e in ends] == ["cancelled", "end_turn"]
    assert ends[-1]["final_output"] == "two"
    methods = [m.get("method") for m in read_record(run.record)]
    assert "session/cancel" in methods
    assert [prompt_text(p) for p in prompts_sent(run.record)] == ["first", "change of plan"]
    assert run.files.sentinel_lines()[0] == "DONE"


def test_real_answer_permission(controlled_run):
    script = {"turns": [[
        {"tool_call": {"toolCallId": "c1", "title": "ls", "kind": "execute",
                       "status": "pending"}},
        {"permission": {"toolCall": {"toolCallId": "c1", "title": "ls", "kind": "execute"}},
         "on_allow": [{"chunk": "allowed"}], "on_reject": [{"chunk": "rejected"}]}]]}
    run = controlled_run(script, sentinel=False)
    snapshot = run.wait_status(lambda s: s.get("pending_permission"), "the permission request")
    permission = snapshot["permission"]
    assert permission["options"], permission

    result = run.control("answer-permission", "no-such-request", "reject")
    assert result.returncode == 1
    assert result.stderr == ("avenor control: answer-permission: rpc error [-32001]: "
                             "no_pending_permission\n")
    result = answer_permission(run, permission["request_id"], "reject")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "permission answered\n"
    assert run.wait() == 0, run.files.stderr_text()

    events = run.files.read_events()
    responses = events_named(events, "permission.response")
    assert len(responses) == 1
    assert responses[0]["source"] == "control"
    assert responses[0]["option_id"] == "reject" and responses[0]["kind"] == "reject"
    assert events_named(events, "session.end")[-1]["final_output"] == "rejected"


@pytest.mark.parametrize("argv", [["spawn", "--prompt", "p"], ["list"], ["shutdown"],
                                  ["shutdown", "kill"], ["status", "rt_1"], ["cancel", "rt_1"]],
                         ids=lambda a: " ".join(a))
def test_real_supervisor_methods_on_a_single_run(controlled_run, argv):
    run = controlled_run(WAITING_TURN)
    result = run.control(*argv)
    assert result.returncode == 1
    assert result.stdout == ""
    if len(argv) == 2 and argv[1] == "rt_1":
        # issue 13: a runtime id on a run's socket says what to do instead
        assert result.stderr == (f"avenor control: {argv[0]}: runtime ids need a stable supervisor "
                                 f"socket; {run.socket} is a run's socket (omit the runtime id)\n")
    else:
        assert result.stderr == f"avenor control: {argv[0]}: rpc error [-32601]: method not found\n"
    # The run is untouched: still going, and cancellable.
    run.fail_if_exited("the rejected call")
    assert mutate(run, "cancel").returncode == 0
    assert run.wait() == 130
