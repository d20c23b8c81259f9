"""`avenor mcp` driven by the OFFICIAL MCP TypeScript SDK client (@modelcontextprotocol/sdk,
pinned in scripts/install-peers.sh) over stdio (StdioClientTransport) and Streamable HTTP
(StreamableHTTPClientTransport with a bearer token): tool listing and schema validation (ajv),
every parameter error of control.md §11.3, waits and progress notifications, and the round trip
spawn → status (each wait_for) → result → events → answer_permission → follow_up → shutdown,
on the fake ACP agent and on the REAL `opencode acp` with the scripted model server.

The node driver (mcp_sdk_client.mjs) only performs steps; every decision is made here.
Skipped (SKIPPED-PEER) without node/the SDK, and the opencode tests without opencode."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402
from mcp_harness import TOOLS, McpWorld, SdkDriver, mcp_world  # noqa: E402,F401
from stable_harness import ASK, CONTINUED, HOLD, REPLY, fake_script, socket_answers  # noqa: E402

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TURN = 180.0  # one real opencode turn on a loaded 2-core machine (opencode alone starts in ~25 s)
FAKE_TURN = 60.0
TOOL_COMMAND = "printf 'TOOL-MARKER-%d\\n' 42"
TIMEOUT_MSG = "timeout must be a positive duration like 90s, 10m or 2h"

# Each tool's parameters (control.md §11.3) and the required ones.
PARAMS = {
    "avenor_spawn": ({"repo_dir", "agent", "prompt", "prompt_file", "label", "timeout", "model",
                      "thinking", "backend", "server_url", "supervisor_id", "auto_approve",
                      "permission_policy", "approve_reads", "deny_all", "permission_timeout",
                      "permission_timeout_action"},
                     {"repo_dir"}),
    "avenor_status": ({"run_id", "view", "wait_for", "timeout", "supervisor_id"}, set()),
    "avenor_result": ({"run_id", "wait", "timeout", "supervisor_id"}, {"run_id"}),
    "avenor_answer_permission": ({"run_id", "option_id", "request_id", "message",
                                  "supervisor_id"}, {"run_id", "option_id"}),
    "avenor_events": ({"run_id", "types", "limit"}, {"run_id"}),
    "avenor_follow_up": ({"run_id", "message", "label", "supervisor_id"},
                         {"run_id", "message"}),
    "avenor_shutdown": ({"supervisor_id", "force"}, set()),
}
STATUS_KEYS = {"run_id", "label", "status", "runtime_id", "supervisor_id", "session_id", "phase",
               "phase_label", "pending_permission", "backend", "agent", "model", "dir",
               "parent_id", "children", "event_path", "sentinel_file", "latest_seq"}
LIFECYCLE_KEYS = {"run_id", "label", "status", "runtime_id", "phase", "phase_label",
                  "pending_permission", "latest_seq", "timed_out"}
RESULT_KEYS = {"run_id", "label", "status", "ready", "runtime_id", "session_id",
               "pending_permission"}
TERMINAL = {"done", "failed", "timeout", "killed"}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


class Mentions:
    """An expected tool error whose exact text the contract leaves open: it names `word`."""

    def __init__(self, word: str):
        self.word = word

    def __repr__(self) -> str:
        return f"<a message naming {self.word!r}>"


def spawn(sdk: SdkDriver, d: Path, prompt: str, timeout: float = FAKE_TURN, **kw) -> dict:
    args = {"repo_dir": str(d), "prompt": prompt, "backend": "opencode-acp", **kw}
    return sdk.tool_ok("avenor_spawn", args, timeout=timeout)


def check_spawned(world: McpWorld, out: dict, label: str | None = None) -> str:
    """The spawn result of the contract; returns the run id."""
    missing = {"run_id", "label", "supervisor_id", "runtime_id", "session_id", "sentinel_file",
               "event_path"} - set(out)
    assert not missing, f"avenor_spawn result lacks {missing}: {out}"
    rid = out["run_id"]
    assert UUID4.match(rid), f"run_id is not a uuid v4: {out}"
    assert out["label"] == (label or rid), f"label: {out}"
    assert out["supervisor_id"] == str(world.sock), f"supervisor_id: {out}"
    assert re.fullmatch(r"rt_\d+", out["runtime_id"] or ""), f"runtime_id: {out}"
    assert out["sentinel_file"] == str(world.tmpdir / f"avenor-run-{rid}.done"), out
    assert out["event_path"] == str(world.tmpdir / f"avenor-run-{rid}.log"), out
    return rid


def wait_until_ready(sdk: SdkDriver, tool: str, args: dict, bound: float,
                     progress: bool = False) -> tuple[dict, list[dict]]:
    """Calls a waiting tool again while it answers timed_out:true (--max-wait), up to `bound`
    seconds in all. Returns the last answer and every call's step result."""
    deadline = time.monotonic() + bound
    calls = []
    while True:
        step = sdk.call(tool, args, progress=progress, timeout=max(deadline - time.monotonic(),
                                                                     0) + 70)
        calls.append(step)
        r = step["result"]
        assert r.get("isError") is False, f"{tool} {args}: {r}" + sdk.describe()
        out = r["structuredContent"]
        if not out.get("timed_out"):
            return out, calls
        assert time.monotonic() < deadline, \
            f"{tool} {args}: still timed_out after {bound} s: {out}" + sdk.describe()


def file_lines(path: str) -> list[str]:
    p = Path(path)
    return p.read_text().split("\n") if p.exists() else []


def assert_progress(step: dict, what: str) -> list[dict]:
    """≥ 1 notifications/progress for this call (the SDK drops the token after matching it),
    progress increasing, total a number, a message naming the status."""
    notes = step["progress"]
    assert notes, f"{what}: a {step['elapsed_ms']} ms wait with a progressToken got no " \
                  f"notifications/progress"
    values = [n["progress"] for n in notes]
    assert values == sorted(values) and len(set(values)) == len(values), \
        f"{what}: progress values not increasing: {notes}"
    for n in notes:
        assert isinstance(n.get("total"), (int, float)) and n["total"] > 0, f"{what}: total {n}"
        assert isinstance(n.get("message"), str) and n["message"], f"{what}: message {n}"
    assert all(n["at_ms"] <= step["started_ms"] + step["elapsed_ms"] for n in notes), \
        f"{what}: a progress notification arrived after the response"
    return notes


def opencode_project(world: McpWorld, name: str) -> Path:
    d = world.work / name
    d.mkdir()
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(d)], check=True,
                   timeout=30, env=world.env, stdout=subprocess.DEVNULL)
    return d


def wait_supervisor_gone(world: McpWorld, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while socket_answers(world.sock):
        assert time.monotonic() < deadline, f"{what}: {world.sock} still answers {timeout} s " \
                                            f"later" + world.diagnostics()
        time.sleep(0.05)


def close_and_check(world: McpWorld, sdk: SdkDriver, what: str) -> dict:
    """Closes the SDK client (stdin EOF; the SDK sends SIGTERM 2 s later, SIGKILL 2 s after
    that), then requires that nothing of the world is left but the driver itself."""
    closed = sdk.close()
    world.wait_no_servers(f"{what} (SDK saw exit {closed.get('exit')})")
    return closed


# --------------------------------------------------------------------------------------------
# tools/list and schemas
# --------------------------------------------------------------------------------------------

def schema_samples(d: str) -> dict:
    """Arguments each schema must accept (valid) and reject (invalid)."""
    return {
        "avenor_spawn": {
            "valid": [{"repo_dir": d}, {"repo_dir": d, "prompt": "x", "timeout": "90s"},
                      {"repo_dir": d, "prompt_file": "/p", "timeout": 90, "auto_approve": True,
                       "label": "l", "agent": "a", "model": "m", "thinking": "high",
                       "backend": "opencode-acp", "server_url": "http://127.0.0.1:1",
                       "supervisor_id": "/s.sock"},
                      {"repo_dir": d, "permission_policy": "/p.json", "approve_reads": True,
                       "deny_all": False, "permission_timeout": "2m",
                       "permission_timeout_action": "cancel"},
                      {"repo_dir": d, "permission_timeout": 30, "permission_policy": {
                          "rules": [{"tool_kind": ["read", "search"], "action": "allow"},
                                    {"command": "git *", "option_kind": "allow_always",
                                     "action": "allow"},
                                    {"title": "*rm -rf*", "tool_kind": "execute",
                                     "action": "reject"}],
                          "default": "ask"}}],
            "invalid": [{}, {"prompt": "x"}, {"repo_dir": 5}, {"repo_dir": d, "bogus": 1},
                        {"repo_dir": d, "auto_approve": "yes"}, {"repo_dir": d, "timeout": True},
                        {"repo_dir": d, "label": 7},
                        {"repo_dir": d, "permission_policy": 5},
                        {"repo_dir": d, "permission_policy": {"rules": [{"action": "maybe"}]}},
                        {"repo_dir": d, "permission_policy": {"rules": [{"title": "x"}]}},
                        {"repo_dir": d, "permission_policy": {"rules": [], "extra": 1}},
                        {"repo_dir": d, "permission_policy": {"rules": [
                            {"tool_kind": "shell", "action": "allow"}]}},
                        {"repo_dir": d, "permission_timeout_action": "later"},
                        {"repo_dir": d, "deny_all": "yes"}]},
        "avenor_status": {
            "valid": [{}, {"run_id": "r"}, {"run_id": "r", "view": "lifecycle"},
                      {"run_id": "r", "view": "full", "wait_for": "terminal", "timeout": "5s"},
                      *({"run_id": "r", "wait_for": w}
                        for w in ("phase_change", "turn_complete", "permission")),
                      {"run_id": "r", "wait_for": "terminal", "timeout": 5}],
            "invalid": [{"view": "tiny"}, {"run_id": "r", "wait_for": "never"}, {"run_id": 5},
                        {"bogus": 1}]},
        "avenor_result": {
            "valid": [{"run_id": "r"}, {"run_id": "r", "wait": False, "timeout": "1m"}],
            "invalid": [{}, {"run_id": "r", "wait": "yes"}, {"run_id": "r", "x": 1}]},
        "avenor_answer_permission": {
            "valid": [{"run_id": "r", "option_id": "once"},
                      {"run_id": "r", "option_id": "once", "request_id": "q", "message": "m"}],
            "invalid": [{"run_id": "r"}, {"option_id": "once"},
                        {"run_id": "r", "option_id": 1}]},
        "avenor_events": {
            "valid": [{"run_id": "r"}, {"run_id": "r", "types": ["session.end"], "limit": 5}],
            "invalid": [{}, {"run_id": "r", "types": "session.end"},
                        {"run_id": "r", "types": [1]}, {"run_id": "r", "limit": "5"}]},
        "avenor_follow_up": {
            "valid": [{"run_id": "r", "message": "m"}, {"run_id": "r", "message": "m",
                                                       "label": "l"}],
            "invalid": [{"run_id": "r"}, {"message": "m"}, {"run_id": "r", "message": 1}]},
        "avenor_shutdown": {
            "valid": [{}, {"force": True}, {"supervisor_id": "/s.sock", "force": False}],
            "invalid": [{"force": "yes"}, {"bogus": 1}]},
    }


def test_initialize_and_tool_schemas(mcp_world):
    sdk = mcp_world.sdk()
    info = sdk.connect_stdio()
    assert info["server_version"]["name"] == "avenor", info
    assert isinstance(info["server_version"].get("version"), str) and \
        info["server_version"]["version"], info
    assert "tools" in (info["capabilities"] or {}), info
    assert isinstance(info["instructions"], str) and info["instructions"].strip(), info
    assert not info["transport_errors"], info

    tools = sdk.list_tools()
    names = [t["name"] for t in tools]
    assert sorted(names) == sorted(TOOLS) and len(names) == 7, f"tools/list names: {names}"
    problems = []
    for t in tools:
        name, schema = t["name"], t.get("inputSchema") or {}
        if not (isinstance(t.get("title"), str) and t["title"].strip()):
            problems.append(f"{name}: no title")
        if not (isinstance(t.get("description"), str) and len(t["description"]) >= 20):
            problems.append(f"{name}: description missing or too short: {t.get('description')!r}")
        if schema.get("type") != "object":
            problems.append(f"{name}: inputSchema.type is {schema.get('type')!r}")
        props = schema.get("properties")
        if not isinstance(props, dict):
            problems.append(f"{name}: inputSchema.properties is not an object")
            continue
        required = schema.get("required", [])
        if not isinstance(required, list) or not set(required) <= set(props):
            problems.append(f"{name}: required {required} not a subset of {sorted(props)}")
        if schema.get("additionalProperties") is not False:
            problems.append(f"{name}: additionalProperties is "
                            f"{schema.get('additionalProperties')!r}, not false")
        want_props, want_req = PARAMS[name]
        if set(props) != want_props:
            problems.append(f"{name}: properties {sorted(props)} != contract {sorted(want_props)}")
        if set(required) != want_req:
            problems.append(f"{name}: required {sorted(required)} != contract {sorted(want_req)}")
        for k, p in props.items():
            if not (isinstance(p, dict) and isinstance(p.get("description"), str)
                    and p["description"].strip()):
                problems.append(f"{name}.{k}: no description")
    by_name = {t["name"]: t for t in tools}
    status_props = by_name["avenor_status"]["inputSchema"]["properties"]
    if set(status_props.get("view", {}).get("enum", [])) != {"lifecycle", "full"}:
        problems.append(f"avenor_status.view enum: {status_props.get('view')}")
    if set(status_props.get("wait_for", {}).get("enum", [])) != \
            {"terminal", "phase_change", "turn_complete", "permission"}:
        problems.append(f"avenor_status.wait_for enum: {status_props.get('wait_for')}")

    # ajv (the SDK's validator) compiles each schema, meta-validated against 2020-12, strict
    d = str(mcp_world.workdir("a"))
    samples = schema_samples(d)
    schemas = sdk.ok({"op": "validateSchemas", "samples": samples})["schemas"]
    for name, res in schemas.items():
        if res["compile_error"]:
            problems.append(f"{name}: ajv compile: {res['compile_error']}")
            continue
        if res["strict_error"]:
            problems.append(f"{name}: ajv strict mode: {res['strict_error']}")
        for case in res["valid"]:
            if not case["ok"]:
                problems.append(f"{name}: schema rejects valid {case['args']}: {case['errors']}")
        for case in res["invalid"]:
            if case["ok"]:
                problems.append(f"{name}: schema accepts invalid {case['args']}")
    assert not problems, "tool schema problems:\n  " + "\n  ".join(problems) + \
        f"\ntools: {json.dumps(tools, indent=1)[:6000]}"
    sdk.ping()
    closed = close_and_check(mcp_world, sdk, "close after tools/list (no supervisor started)")
    assert closed["exit"] == {"code": 0, "signal": None}, closed
    assert not mcp_world.sock.exists(), "a supervisor was started though no tool call needed it"


# --------------------------------------------------------------------------------------------
# parameter errors
# --------------------------------------------------------------------------------------------

def test_param_errors_are_tool_errors(mcp_world):
    world = mcp_world
    d = world.workdir("a")
    hold = world.workdir("hold")
    prompt_file = world.root / "prompt.txt"
    prompt_file.write_text("hi from a file")
    sdk = world.sdk()
    sdk.connect_stdio()
    done = spawn(sdk, d, "hi", label="lbl-a")
    rid = check_spawned(world, done, "lbl-a")
    wait_until_ready(sdk, "avenor_result", {"run_id": rid}, FAKE_TURN)
    busy = check_spawned(world, spawn(sdk, hold, f"{HOLD} forever"))
    asking = check_spawned(world, spawn(sdk, world.workdir("ask"), f"{ASK} me"))
    pending, _ = wait_until_ready(sdk, "avenor_status",
                                  {"run_id": asking, "wait_for": "permission"}, FAKE_TURN)
    assert pending["pending_permission"] is True, pending

    missing_dir = world.root / "no-such-dir"
    cases = [
        # avenor_spawn
        ("avenor_spawn", {}, "repo_dir is required"),
        ("avenor_spawn", {"prompt": "x"}, "repo_dir is required"),
        ("avenor_spawn", {"repo_dir": str(d), "prompt": "x", "bogus": 1},
         'unknown parameter "bogus"'),
        ("avenor_spawn", {"repo_dir": 5, "prompt": "x"}, 'parameter "repo_dir" must be a string'),
        ("avenor_spawn", {"repo_dir": str(d), "prompt": "x", "label": 7},
         'parameter "label" must be a string'),
        ("avenor_spawn", {"repo_dir": str(d), "prompt": "x", "auto_approve": "yes"},
         'parameter "auto_approve" must be a boolean'),
        ("avenor_spawn", {"repo_dir": str(missing_dir), "prompt": "x"},
         f'repo_dir "{missing_dir}" is not a directory'),
        ("avenor_spawn", {"repo_dir": str(prompt_file), "prompt": "x"},
         f'repo_dir "{prompt_file}" is not a directory'),
        ("avenor_spawn", {"repo_dir": str(d)}, "prompt or prompt_file is required"),
        ("avenor_spawn", {"repo_dir": str(d), "prompt": "x", "prompt_file": str(prompt_file)},
         "prompt and prompt_file are mutually exclusive"),
        *(("avenor_spawn", {"repo_dir": str(d), "prompt": "x", "timeout": t}, TIMEOUT_MSG)
          for t in ("0", "0s", "abc", "10x", "-5s", "", 0, -5)),
        ("avenor_spawn", {"repo_dir": str(d), "prompt": "x", "backend": "nope"},
         'unknown backend "nope"'),
        # avenor_status
        ("avenor_status", {"wait_for": "terminal"}, "wait_for requires run_id"),
        ("avenor_status", {"run_id": rid, "timeout": "5s"}, "timeout requires wait_for"),
        ("avenor_status", {"run_id": rid, "wait_for": "terminal", "timeout": "0"}, TIMEOUT_MSG),
        ("avenor_status", {"run_id": rid, "wait_for": "terminal", "timeout": "soon"},
         TIMEOUT_MSG),
        ("avenor_status", {"run_id": rid, "wait_for": "never"}, Mentions("wait_for")),
        ("avenor_status", {"run_id": rid, "view": "tiny"}, Mentions("view")),
        ("avenor_status", {"run_id": 5}, 'parameter "run_id" must be a string'),
        ("avenor_status", {"run_id": rid, "wait_for": 1}, 'parameter "wait_for" must be a string'),
        ("avenor_status", {"run_id": "nope"}, 'run "nope" not found'),
        ("avenor_status", {"run_id": "nope", "wait_for": "terminal"}, 'run "nope" not found'),
        ("avenor_status", {"bogus": 1}, 'unknown parameter "bogus"'),
        # avenor_result
        ("avenor_result", {}, "run_id is required"),
        ("avenor_result", {"run_id": ""}, "run_id is required"),
        ("avenor_result", {"run_id": "nope"}, 'run "nope" not found'),
        ("avenor_result", {"run_id": rid, "wait": "yes"}, 'parameter "wait" must be a boolean'),
        ("avenor_result", {"run_id": rid, "timeout": "-1s"}, TIMEOUT_MSG),
        ("avenor_result", {"run_id": rid, "view": "full"}, 'unknown parameter "view"'),
        # avenor_answer_permission
        ("avenor_answer_permission", {"run_id": rid}, "option_id is required"),
        ("avenor_answer_permission", {"option_id": "once"}, "run_id is required"),
        ("avenor_answer_permission", {"run_id": rid, "option_id": 1},
         'parameter "option_id" must be a string'),
        ("avenor_answer_permission", {"run_id": "nope", "option_id": "once"},
         'run "nope" not found'),
        ("avenor_answer_permission", {"run_id": rid, "option_id": "once"},
         f'run "{rid}" has no pending permission request'),
        ("avenor_answer_permission", {"run_id": asking, "option_id": "once",
                                      "message": "m" * 65537}, Mentions("message")),  # > 64 KiB
        # avenor_events
        ("avenor_events", {}, "run_id is required"),
        ("avenor_events", {"run_id": "nope"}, 'run "nope" not found'),
        ("avenor_events", {"run_id": rid, "types": "session.end"},
         'parameter "types" must be an array of strings'),
        ("avenor_events", {"run_id": rid, "types": [1]},
         'parameter "types" must be an array of strings'),
        ("avenor_events", {"run_id": rid, "limit": "5"}, 'parameter "limit" must be an integer'),
        ("avenor_events", {"run_id": rid, "limit": 1.5}, 'parameter "limit" must be an integer'),
        # avenor_follow_up
        ("avenor_follow_up", {"run_id": rid}, "message is required"),
        ("avenor_follow_up", {"message": "x"}, "run_id is required"),
        ("avenor_follow_up", {"run_id": "nope", "message": "x"}, 'run "nope" not found'),
        ("avenor_follow_up", {"run_id": rid, "message": "x", "label": []},
         'parameter "label" must be a string'),
        ("avenor_follow_up", {"run_id": busy, "message": "x"},
         f'run "{busy}" is still running; wait for it with avenor_result before a follow-up'),
        # avenor_shutdown
        ("avenor_shutdown", {"force": "yes"}, 'parameter "force" must be a boolean'),
        ("avenor_shutdown", {"bogus": 1}, 'unknown parameter "bogus"'),
    ]
    mismatches = []
    for tool, args, want in cases:
        step = sdk.call(tool, args, timeout=30)
        r = step["result"]
        shown = {k: (v if not isinstance(v, str) or len(v) < 80 else v[:20] + "…")
                 for k, v in args.items()}
        text = (r.get("content") or [{}])[0].get("text")
        if r.get("isError") is not True:
            mismatches.append(f"{tool} {shown}: expected isError:true with {want!r}, "
                              f"got {json.dumps(r)[:400]}")
        elif isinstance(want, Mentions) and want.word not in (text or ""):
            mismatches.append(f"{tool} {shown}: expected a message naming {want.word!r}, "
                              f"got {text!r}")
        elif isinstance(want, str) and text != want:
            mismatches.append(f"{tool} {shown}: expected {want!r}, got {text!r}")
        sdk.ping()  # the server keeps serving after every error

    # an unknown tool is a JSON-RPC error (-32602), not a tool error
    r = sdk.step({"op": "callTool", "name": "avenor_nope", "arguments": {}})
    if r["ok"] or r["error"]["code"] != -32602 or 'unknown tool "avenor_nope"' not in \
            r["error"]["message"]:
        mismatches.append(f"tools/call avenor_nope: expected JSON-RPC error -32602 "
                          f"'unknown tool \"avenor_nope\"', got {r}")
    assert not mismatches, f"{len(mismatches)} of {len(cases) + 1} error cases differ:\n  " + \
        "\n  ".join(mismatches) + world.diagnostics()

    # still serving: a spawn with prompt_file works, and the runs are untouched
    pf = check_spawned(world, sdk.tool_ok(
        "avenor_spawn", {"repo_dir": str(world.workdir("pf")), "prompt_file": str(prompt_file),
                         "backend": "opencode-acp"}, timeout=FAKE_TURN))
    out, _ = wait_until_ready(sdk, "avenor_result", {"run_id": pf}, FAKE_TURN)
    assert out["output"] == REPLY and out["status"] == "done", out
    assert world.agents.prompt_texts("pf") == ["hi from a file"], world.agents.prompt_texts("pf")
    st = sdk.tool_ok("avenor_status", {"run_id": busy, "view": "lifecycle"})
    assert st["status"] == "running", st
    st = sdk.tool_ok("avenor_status", {"run_id": asking})
    assert st["pending_permission"] is True, f"a refused answer must leave it pending: {st}"
    shut = sdk.tool_ok("avenor_shutdown", {"force": True})
    assert shut["ok"] is True, shut
    close_and_check(world, sdk, "close after shutdown force")


# --------------------------------------------------------------------------------------------
# round trip on the fake agent
# --------------------------------------------------------------------------------------------

def test_fake_round_trip(mcp_world):
    world = mcp_world
    a = world.workdir("a", fake_script("ses_a"))
    perm = world.workdir("perm", fake_script("ses_perm"))
    sdk = world.sdk()
    sdk.connect_stdio()
    assert not world.sock.exists(), "the supervisor must start at the first tool call, not before"

    spawned = spawn(sdk, a, "hi there", label="fake-a")
    rid = check_spawned(world, spawned, "fake-a")
    assert spawned["session_id"] == "ses_a", spawned
    assert socket_answers(world.sock), "no supervisor at --control-socket after avenor_spawn"

    res, _ = wait_until_ready(sdk, "avenor_result", {"run_id": rid}, FAKE_TURN)
    assert RESULT_KEYS <= set(res), f"avenor_result lacks {RESULT_KEYS - set(res)}: {res}"
    assert (res["run_id"], res["label"], res["status"], res["ready"], res["output"],
            res["pending_permission"], res["session_id"], res["runtime_id"]) == \
        (rid, "fake-a", "done", True, REPLY, False, "ses_a", spawned["runtime_id"]), res
    assert res.get("stop_reason") == "end_turn", res
    assert file_lines(spawned["sentinel_file"])[:1] == ["DONE"], \
        f"sentinel {spawned['sentinel_file']}: {file_lines(spawned['sentinel_file'])}"
    assert Path(spawned["event_path"]).exists(), spawned

    full = sdk.tool_ok("avenor_status", {"run_id": rid})
    assert STATUS_KEYS <= set(full), f"status lacks {STATUS_KEYS - set(full)}: {full}"
    assert (full["status"], full["session_id"], full["dir"], full["pending_permission"],
            full["event_path"], full["sentinel_file"], full["supervisor_id"]) == \
        ("done", "ses_a", str(a), False, spawned["event_path"], spawned["sentinel_file"],
         str(world.sock)), full
    assert "timed_out" not in full, f"timed_out outside a wait: {full}"
    life = sdk.tool_ok("avenor_status", {"run_id": rid, "view": "lifecycle"})
    assert LIFECYCLE_KEYS - {"timed_out"} <= set(life) <= LIFECYCLE_KEYS, \
        f"lifecycle view keys {sorted(life)}"
    for alias in ("fake-a", spawned["runtime_id"]):  # a label and a runtime id resolve too
        assert sdk.tool_ok("avenor_status", {"run_id": alias})["run_id"] == rid, alias
    for kind in ("terminal", "turn_complete", "phase_change"):  # a done run ends every wait
        got, calls = wait_until_ready(sdk, "avenor_status", {"run_id": rid, "wait_for": kind},
                                      FAKE_TURN)
        assert got["status"] == "done" and not got.get("timed_out") and len(calls) == 1, \
            (kind, got)

    ends = sdk.tool_ok("avenor_events", {"run_id": rid, "types": ["session.end"]})["events"]
    assert [e["event"] for e in ends] == ["session.end"], ends
    assert ends[0]["final_output"] == REPLY and ends[0]["session_id"] == "ses_a", ends
    last = sdk.tool_ok("avenor_events", {"run_id": rid, "limit": 1})["events"]
    assert len(last) == 1, last
    log = [json.loads(x) for x in file_lines(spawned["event_path"]) if x.strip()]
    assert last[0] == log[-1], f"limit 1 must give the log's last line:\n{last}\n{log[-1]}"
    assert sdk.tool_ok("avenor_events", {"run_id": rid, "types": ["no.such.event"]}) == \
        {"events": []}
    everything = sdk.tool_ok("avenor_events", {"run_id": rid, "limit": 0})["events"]
    assert everything == log[-50:], "limit 0 must give the last 50 lines of the log"

    # a permission: wait_for permission, then answer it
    p = check_spawned(world, spawn(sdk, perm, f"{ASK} now"))
    got, _ = wait_until_ready(sdk, "avenor_status", {"run_id": p, "wait_for": "permission"},
                              FAKE_TURN)
    assert got["pending_permission"] is True and got["status"] == "running", got
    permission = got.get("permission") or {}
    assert permission.get("request_id") is not None and permission.get("options"), got
    again, _ = wait_until_ready(sdk, "avenor_status", {"run_id": p, "wait_for": "terminal"},
                                FAKE_TURN)
    assert again["pending_permission"] is True and not again.get("timed_out"), \
        f"a pending permission must end a terminal wait: {again}"
    waiting, _ = wait_until_ready(sdk, "avenor_result", {"run_id": p}, FAKE_TURN)
    assert (waiting["ready"], waiting["pending_permission"]) == (False, True), waiting
    assert sdk.tool_ok("avenor_answer_permission", {"run_id": p, "option_id": "once"}) == \
        {"ok": True}
    res_p, _ = wait_until_ready(sdk, "avenor_result", {"run_id": p}, FAKE_TURN)
    assert (res_p["status"], res_p["ready"], res_p["output"]) == ("done", True, "ALLOWED"), res_p
    answered = sdk.tool_error("avenor_answer_permission", {"run_id": p, "option_id": "once"})
    assert answered == f'run "{p}" has no pending permission request', answered

    # follow-up on the parked runtime: same process, same session, a new run id
    fu = sdk.tool_ok("avenor_follow_up", {"run_id": rid, "message": "Continue please"})
    assert UUID4.match(fu["run_id"]) and fu["run_id"] != rid, fu
    assert (fu["label"], fu["runtime_id"], fu["resumed"]) == \
        ("fake-a-followup", spawned["runtime_id"], False), fu
    res2, _ = wait_until_ready(sdk, "avenor_result", {"run_id": fu["run_id"]}, FAKE_TURN)
    assert (res2["status"], res2["output"], res2["session_id"]) == ("done", CONTINUED, "ses_a"), \
        res2
    assert world.agents.prompt_texts("a") == ["hi there", "Continue please"], \
        world.agents.prompt_texts("a")
    assert len(world.agents.pids("a")) == 1, "the follow-up started a second agent process"
    assert sdk.tool_ok("avenor_status", {"run_id": rid})["status"] == "done"
    fu2 = sdk.tool_ok("avenor_follow_up", {"run_id": fu["run_id"], "message": "Continue again",
                                           "label": "third"})
    assert fu2["label"] == "third" and fu2["resumed"] is False, fu2
    wait_until_ready(sdk, "avenor_result", {"run_id": fu2["run_id"]}, FAKE_TURN)

    listed = sdk.tool_ok("avenor_status", {})
    ids = {r["run_id"] for r in listed["runs"]}
    names = {rid: "first", p: "perm", fu["run_id"]: "follow-up", fu2["run_id"]: "third"}
    listing = f"the list has {[names.get(i, i) for i in ids]}: " + \
        json.dumps([{k: r.get(k) for k in ("run_id", "label", "status", "runtime_id")}
                    for r in listed["runs"]])
    assert {p, fu2["run_id"]} <= ids, listing
    # earlier runs of a runtime that took follow-ups (terminal sentinel, no longer reported by
    # the supervisor) are listed too (control.md §11.3, avenor_status); checked at the end
    late = [] if {rid, fu["run_id"]} <= ids else \
        ["avenor_status list lacks the runs a follow-up superseded; " + listing]

    # shutdown removes this server's sentinels and logs
    paths = {spawned["sentinel_file"], spawned["event_path"],
             str(world.tmpdir / f"avenor-run-{p}.done"), str(world.tmpdir / f"avenor-run-{p}.log")}
    assert all(Path(x).exists() for x in paths), [x for x in paths if not Path(x).exists()]
    shut = sdk.tool_ok("avenor_shutdown", {})
    assert shut["ok"] is True and paths <= set(shut["cleaned_up"]), shut
    left = [x for x in shut["cleaned_up"] if Path(x).exists()]
    assert not left, f"avenor_shutdown listed files it did not delete: {left}"
    wait_supervisor_gone(world, "after avenor_shutdown")
    after = sdk.tool_ok("avenor_status", {})
    if after != {"runs": []}:
        late.append(f"avenor_shutdown must remove this server's runs on that supervisor; the "
                    f"list after it (a fresh supervisor) has {json.dumps(after)[:1500]}")
    assert socket_answers(world.sock), "the next tool call must autostart a fresh supervisor"
    closed = close_and_check(world, sdk, "stdin closed (owned supervisor shut down)")
    assert closed["exit"] == {"code": 0, "signal": None}, closed
    assert not late, "\n".join(late)


# --------------------------------------------------------------------------------------------
# waits, progress, concurrency, --max-wait
# --------------------------------------------------------------------------------------------

# phases (events.md §5.3): thinking (thought) → working/halfway (tool call) → done, 2.5 s apart
SLOW = [{"thought": "pondering"}, {"sleep_ms": 2500},
        {"tool_call": {"toolCallId": "c1", "title": "halfway", "kind": "execute",
                       "status": "pending"}},
        {"sleep_ms": 2500}, {"chunk": "SLOW-DONE"}]


def test_waits_progress_and_concurrency(mcp_world):
    world = mcp_world
    slow = world.workdir("slow", fake_script("ses_slow", turns=[SLOW]))
    hold = world.workdir("hold")
    sdk = world.sdk()
    sdk.connect_stdio("--max-wait", "3s")

    s = check_spawned(world, spawn(sdk, slow, "go slowly"))
    phase0 = sdk.tool_ok("avenor_status", {"run_id": s})
    changed = sdk.call("avenor_status", {"run_id": s, "wait_for": "phase_change"}, progress=True)
    got = changed["result"]["structuredContent"]
    assert got.get("timed_out") is not True, f"phase_change timed out: {got}"
    assert got["status"] in TERMINAL or got["phase"] != phase0["phase"], \
        f"phase_change returned with the phase unchanged ({phase0['phase']}): {got}"
    if phase0["phase"] == "thinking":
        assert (got["phase"], got["phase_label"]) == ("working", "halfway"), got

    # a terminal wait with a progressToken, and a ping answered while it waits
    both = sdk.ok({"op": "parallel", "steps": [
        {"op": "callTool", "name": "avenor_status", "progress": True, "timeout_ms": 60000,
         "arguments": {"run_id": s, "wait_for": "terminal", "timeout": "30s"}},
        {"op": "ping"}]}, 90)
    wait, ping = both["results"]
    assert wait["ok"] and ping["ok"], both
    done = wait["result"]["structuredContent"]
    if done.get("timed_out"):  # --max-wait 3s: call again once more
        done, _ = wait_until_ready(sdk, "avenor_status", {"run_id": s, "wait_for": "terminal"},
                                   FAKE_TURN)
    assert done["status"] == "done" and done["final_output"] == "SLOW-DONE", done
    assert ping["started_ms"] + ping["elapsed_ms"] < wait["started_ms"] + wait["elapsed_ms"], \
        f"ping ({ping['elapsed_ms']} ms) was answered only after the wait " \
        f"({wait['elapsed_ms']} ms): requests are not handled concurrently"
    if wait["elapsed_ms"] > 1500:
        notes = assert_progress(wait, "status wait_for terminal")
        assert s in notes[0]["message"] and "running" in notes[0]["message"], notes
    if changed["elapsed_ms"] > 1500:
        assert_progress(changed, "status wait_for phase_change")

    # timeout and --max-wait on a turn that never ends
    h = check_spawned(world, spawn(sdk, hold, f"{HOLD} on"))
    t = sdk.call("avenor_status", {"run_id": h, "wait_for": "terminal", "timeout": "2s"},
                 progress=True)
    out = t["result"]["structuredContent"]
    assert out["timed_out"] is True and out["status"] == "running", out
    assert 1500 <= t["elapsed_ms"] <= 15000, f"a 2 s wait took {t['elapsed_ms']} ms"
    notes = assert_progress(t, "status wait_for terminal timeout 2s")
    assert all(n["total"] == 2 for n in notes), f"total must be the wait's seconds: {notes}"
    capped = sdk.call("avenor_status", {"run_id": h, "wait_for": "turn_complete",
                                        "timeout": "10m", "view": "lifecycle"})
    out = capped["result"]["structuredContent"]
    assert out["timed_out"] is True and set(out) <= LIFECYCLE_KEYS, out
    assert 2500 <= capped["elapsed_ms"] <= 20000, \
        f"--max-wait 3s must cap a 10m wait; took {capped['elapsed_ms']} ms"
    r = sdk.call("avenor_result", {"run_id": h, "timeout": "1s"})
    out = r["result"]["structuredContent"]
    assert (out["timed_out"], out["ready"], out["status"]) == (True, False, "running"), out
    now = sdk.call("avenor_result", {"run_id": h, "wait": False})
    assert now["elapsed_ms"] < 3000 and now["result"]["structuredContent"]["ready"] is False, now
    perm = sdk.call("avenor_status", {"run_id": h, "wait_for": "permission", "timeout": "1s"})
    assert perm["result"]["structuredContent"]["timed_out"] is True, perm

    shut = sdk.tool_ok("avenor_shutdown", {"force": True})
    assert shut["ok"] is True, shut
    wait_supervisor_gone(world, "after avenor_shutdown force")
    close_and_check(world, sdk, "stdin closed")


# --------------------------------------------------------------------------------------------
# Streamable HTTP
# --------------------------------------------------------------------------------------------

def test_http_round_trip(mcp_world):
    world = mcp_world
    a = world.workdir("a", fake_script("ses_a", turns=[SLOW]))
    http = world.http("--max-wait", "20s")
    assert http.listen_line_exact, \
        f"no 'avenor mcp: listening on http://127.0.0.1:PORT/mcp' line; stderr:\n" \
        f"{http.stderr_text()}"
    sdk = world.sdk()
    info = sdk.connect_http(http)
    assert info["ok"], f"SDK connect over HTTP failed: {info}" + world.diagnostics()
    assert info["server_version"]["name"] == "avenor" and not info["transport_errors"], info
    assert sorted(t["name"] for t in sdk.list_tools()) == sorted(TOOLS)
    sdk.ping()

    spawned = spawn(sdk, a, "over http", label="via-http")
    rid = check_spawned(world, spawned, "via-http")
    step = sdk.call("avenor_result", {"run_id": rid}, progress=True)
    res = step["result"]["structuredContent"]
    assert (res["status"], res["ready"], res["output"].endswith("SLOW-DONE")) == \
        ("done", True, True), res
    assert_progress(step, "avenor_result over HTTP (SSE)")
    ends = sdk.tool_ok("avenor_events", {"run_id": rid, "types": ["session.end"]})["events"]
    assert len(ends) == 1 and ends[0]["final_output"].endswith("SLOW-DONE"), ends
    assert sdk.tool_error("avenor_status", {"wait_for": "terminal"}) == "wait_for requires run_id"

    wrong = world.sdk().connect_http(http, token="not-the-token")
    assert not wrong["ok"] and "401" in json.dumps(wrong["error"]), \
        f"a wrong bearer token must be refused with 401: {wrong}"

    shut = sdk.tool_ok("avenor_shutdown", {})
    assert shut["ok"] is True and {spawned["sentinel_file"], spawned["event_path"]} <= \
        set(shut["cleaned_up"]), shut
    assert not any(Path(x).exists() for x in shut["cleaned_up"]), shut
    sdk.close()
    assert http.stop(signal.SIGTERM) == 0, http.stderr_text()
    world.wait_no_servers("after SIGTERM to the http server")


# --------------------------------------------------------------------------------------------
# the real opencode acp with the scripted model
# --------------------------------------------------------------------------------------------

@pytest.fixture
def oc_mcp(avenor, tmp_path, model_server):
    """Factory: oc_mcp(script, permission_ask=False) -> (McpWorld, ModelServer); the MCP
    process's environment (inherited by the supervisor and opencode) points at the model."""
    peers.require_peer("opencode")
    made: list[McpWorld] = []

    def make(script: dict, permission_ask: bool = False):
        server = model_server(script)
        penv = peers.opencode_env(tmp_path / f"oc{len(made)}", server,
                                  permission_ask=permission_ask)
        w = McpWorld(avenor, env=penv.env, fake=False)
        made.append(w)
        return w, server

    yield make
    for w in made:
        w.cleanup()


class Clock:
    def __init__(self):
        self.t0 = time.monotonic()
        self.last = self.t0
        self.laps: list[tuple[str, float]] = []

    def lap(self, what: str) -> None:
        now = time.monotonic()
        self.laps.append((what, now - self.last))
        self.last = now

    def report(self, title: str) -> str:
        total = time.monotonic() - self.t0
        return f"{title}: {total:.1f} s — " + ", ".join(f"{w} {s:.1f} s" for w, s in self.laps)


def test_opencode_round_trip(oc_mcp):
    world, server = oc_mcp({"steps": [{"delay_ms": 2500, "reply": "SUB-DONE-ONE"},
                                      {"delay_ms": 3000, "reply": "SUB-DONE-TWO"}]})
    proj = opencode_project(world, "sub")
    sdk = world.sdk()
    clock = Clock()
    sdk.connect_stdio()
    clock.lap("connect")

    spawned = spawn(sdk, proj, "Do the sub-task.", timeout=TURN, label="sub")
    rid = check_spawned(world, spawned, "sub")
    assert spawned["session_id"].startswith("ses_"), spawned
    clock.lap("spawn")

    phase0 = sdk.tool_ok("avenor_status", {"run_id": rid})
    assert phase0["backend"] == "opencode-acp" and phase0["dir"] == str(proj), phase0
    changed, calls = wait_until_ready(sdk, "avenor_status",
                                      {"run_id": rid, "wait_for": "phase_change"}, TURN,
                                      progress=True)
    assert changed["status"] in TERMINAL or changed["phase"] != phase0["phase"], \
        (phase0, changed)
    turn, more = wait_until_ready(sdk, "avenor_status",
                                  {"run_id": rid, "wait_for": "turn_complete"}, TURN,
                                  progress=True)
    assert turn["status"] == "done", turn
    for c in calls + more:  # the model answers after 2.5 s, so at least one wait is long
        if c["elapsed_ms"] > 1500:
            assert_progress(c, "opencode status wait")
    terminal, calls = wait_until_ready(sdk, "avenor_status",
                                       {"run_id": rid, "wait_for": "terminal"}, TURN)
    assert terminal["status"] == "done" and calls[0]["elapsed_ms"] < 5000, terminal
    clock.lap("first turn (waits)")

    res, _ = wait_until_ready(sdk, "avenor_result", {"run_id": rid}, TURN)
    assert (res["status"], res["ready"], res["session_id"]) == \
        ("done", True, spawned["session_id"]), res
    assert res["output"] == "SUB-DONE-ONE", f"output is not the scripted reply: {res}"
    ends = sdk.tool_ok("avenor_events", {"run_id": rid, "types": ["session.end"]})["events"]
    assert [e["event"] for e in ends] == ["session.end"], ends
    assert ends[0]["final_output"].endswith("SUB-DONE-ONE"), ends
    statuses = sdk.tool_ok("avenor_events", {"run_id": rid, "types": ["agent.status"]})
    assert statuses["events"] and all(e["event"] == "agent.status" for e in statuses["events"])
    clock.lap("result+events")

    fu = sdk.tool_ok("avenor_follow_up", {"run_id": rid, "message": "Now do part two."},
                     timeout=TURN)
    assert (fu["resumed"], fu["runtime_id"], fu["label"]) == \
        (False, spawned["runtime_id"], "sub-followup"), fu
    res2, calls = wait_until_ready(sdk, "avenor_result", {"run_id": fu["run_id"]}, TURN,
                                   progress=True)
    assert res2["status"] == "done" and res2["output"].endswith("SUB-DONE-TWO"), res2
    # the model answers the follow-up 3 s late: this wait is long and reports progress
    assert calls[0]["elapsed_ms"] > 1500, f"the follow-up's turn took only {calls[0]} ms"
    assert_progress(calls[0], "avenor_result on the follow-up")
    assert res2["session_id"] == spawned["session_id"], res2
    mains = server.requests(kind="main")
    assert len(mains) == 2, f"expected 2 main model requests, got {len(mains)}"
    second = json.dumps(mains[1]["body"])
    assert "Do the sub-task." in second and "SUB-DONE-ONE" in second, \
        "the follow-up's model request does not carry the first turn's history"
    assert sdk.tool_ok("avenor_status", {"run_id": rid})["status"] == "done"
    clock.lap("follow-up")

    shut = sdk.tool_ok("avenor_shutdown", {}, timeout=60)
    want = {spawned["sentinel_file"], spawned["event_path"]}
    assert shut["ok"] is True and want <= set(shut["cleaned_up"]), shut
    assert not any(Path(x).exists() for x in shut["cleaned_up"]), shut
    wait_supervisor_gone(world, "after avenor_shutdown")
    clock.lap("shutdown")
    closed = close_and_check(world, sdk, "after shutdown and stdin EOF (opencode included)")
    assert closed["exit"] == {"code": 0, "signal": None}, closed
    print(clock.report("SDK stdio round trip on real opencode"))


def test_opencode_permission(oc_mcp):
    world, server = oc_mcp({"steps": [{"tool_call": {"command": TOOL_COMMAND}},
                                      {"reply": "AFTER-PERMISSION"}]}, permission_ask=True)
    proj = opencode_project(world, "perm")
    sdk = world.sdk()
    clock = Clock()
    sdk.connect_stdio()
    rid = check_spawned(world, spawn(sdk, proj, "RUN_TOOL", timeout=TURN))
    clock.lap("spawn")
    got, _ = wait_until_ready(sdk, "avenor_status", {"run_id": rid, "wait_for": "permission"},
                              TURN)
    assert got["pending_permission"] is True and got["status"] == "running", got
    options = (got.get("permission") or {}).get("options") or []
    allow = next((o["optionId"] for o in options if o.get("kind", "").startswith("allow")), None)
    assert allow, f"no allow option in {got}"
    clock.lap("permission pending")
    assert sdk.tool_ok("avenor_answer_permission", {"run_id": rid, "option_id": allow}) == \
        {"ok": True}
    res, _ = wait_until_ready(sdk, "avenor_result", {"run_id": rid}, TURN)
    assert (res["status"], res["ready"], res["pending_permission"]) == ("done", True, False), res
    assert res["output"].endswith("AFTER-PERMISSION"), res
    assert any("TOOL-MARKER-42" in json.dumps(r["body"]) for r in server.requests(kind="main")), \
        "the allowed tool's output never reached the model"
    kinds = sdk.tool_ok("avenor_events", {"run_id": rid,
                                          "types": ["permission.request", "permission.response"]})
    assert [e["event"] for e in kinds["events"]] == ["permission.request",
                                                     "permission.response"], kinds
    clock.lap("answered turn")
    shut = sdk.tool_ok("avenor_shutdown", {}, timeout=60)
    assert shut["ok"] is True and not any(Path(x).exists() for x in shut["cleaned_up"]), shut
    close_and_check(world, sdk, "after shutdown (opencode included)")
    print(clock.report("SDK permission round trip on real opencode"))
