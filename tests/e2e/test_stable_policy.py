"""Permission policies (issue 13, new) through `stable` spawn params, `avenor control spawn`
flags and `avenor_spawn` MCP params: the policy reaches the runtime (its `avenor run` answers
with resolver "policy"), a runtime's permission timeout ends the supervisor's claim, and every
bad value is refused before a runtime exists (-32602 {detail}, a client error, a tool error).
The fake ACP agent stands behind `opencode` (stable_harness)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcp_client import McpSession  # noqa: E402
from mcp_harness import mcp_world  # noqa: E402,F401 (the fixture)
from stable_harness import ASK, fake_script  # noqa: E402
from stable_harness import world  # noqa: E402,F401 (the fixture)

REJECT_EXECUTE = {"rules": [{"tool_kind": "execute", "action": "reject"}]}


def runtime_argv(pid: int) -> list[str]:
    return [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]]


def answered(rt) -> list[tuple]:
    return [(r["source"], r["kind"], r.get("rule")) for r in rt.named("permission.response")]


def detail(error: dict) -> str:
    assert error["code"] == -32602, error
    return error["data"]["detail"]


def test_spawn_params_reach_the_runtime(world):
    sup = world.stable()
    policy_file = world.root / "policy.json"
    policy_file.write_text(json.dumps(REJECT_EXECUTE))
    with sup.client() as c:
        first = c.spawn(prompt=ASK, dir=str(world.workdir("obj")), permission_policy=REJECT_EXECUTE,
                        approve_reads=True, permission_timeout=30,
                        permission_timeout_action="cancel")
        entry = c.wait_parked(first["runtime_id"])
        world.remember_pgid(os.getpgid(entry["runtime_pid"]))
        argv = runtime_argv(entry["runtime_pid"])
        # the policy as the supervisor normalized it: compact, tool_kind as a list
        assert '--permission-policy={"rules":[{"tool_kind":["execute"],"action":"reject"}]}' \
            in argv, argv
        assert {"--approve-reads", "--permission-timeout=30s",
                "--permission-timeout-action=cancel"} <= set(argv), argv
        # A path is read by the supervisor and handed on as JSON; deny_all is the last rule.
        second = c.spawn(prompt=ASK, dir=str(world.workdir("file")),
                         permission_policy=str(policy_file))
        third = c.spawn(prompt=ASK, dir=str(world.workdir("deny")), deny_all=True)
        for rt_id in (second["runtime_id"], third["runtime_id"]):
            c.wait_parked(rt_id)
    rt1, rt2, rt3 = (world.rt(r["runtime_id"]) for r in (first, second, third))
    assert [r["resolver"] for r in rt1.named("permission.request")] == ["policy"]
    assert answered(rt1) == [("policy", "reject", "rules[0]")]
    assert rt1.named("session.end")[-1]["final_output"] == "REJECTED"
    assert answered(rt2) == [("policy", "reject", "rules[0]")]
    assert answered(rt3) == [("policy", "reject", "deny_all")]


def test_runtime_timeout_ends_the_supervisor_claim(world):
    sup = world.stable()
    with sup.client() as c:  # a connected client: the supervisor holds the claim for it
        rt = c.spawn(prompt=ASK, dir=str(world.workdir("late")), permission_timeout=1)
        c.wait_parked(rt["runtime_id"])
    files = world.rt(rt["runtime_id"])
    assert [r["resolver"] for r in files.named("permission.request")] == ["reserved"]
    assert answered(files) == [("timeout", "reject", None)]
    assert files.named("session.end")[-1]["final_output"] == "REJECTED"


def test_bad_spawn_params_are_invalid_params(world):
    sup = world.stable()
    repo = world.workdir("bad")
    missing = world.root / "missing.json"
    with sup.client() as c:
        assert detail(c.spawn_error(prompt="x", dir=str(repo),
                                    permission_policy={"rules": [{"action": "maybe"}]})) == \
            'permission_policy: rules[0].action: "maybe" is not one of allow, reject, ask'
        assert detail(c.spawn_error(prompt="x", dir=str(repo), permission_policy=5)) == \
            "permission_policy: the policy must be a JSON object, not 5"
        assert detail(c.spawn_error(prompt="x", dir=str(repo),
                                    permission_policy=str(missing))) == \
            f"permission_policy: open {missing}: No such file or directory"
        assert detail(c.spawn_error(prompt="x", dir=str(repo), deny_all=True,
                                    auto_approve=True)) == \
            "deny_all and auto_approve are mutually exclusive"
        assert detail(c.spawn_error(prompt="x", dir=str(repo), permission_timeout=-1)) == \
            "permission_timeout must be a non-negative number of seconds"
        assert detail(c.spawn_error(prompt="x", dir=str(repo),
                                    permission_timeout_action="later")) == \
            'permission_timeout_action: "later" is not one of reject, cancel'
        assert c.list() == [], "a refused spawn left a runtime"


def test_control_spawn_flags(world):
    sup = world.stable()
    repo = world.workdir("cli")
    policy_file = world.root / "p.json"
    policy_file.write_text(json.dumps({"rules": [{"command": "ls*", "action": "ask"}],
                                       "default": "reject"}))
    out = json.loads(world.control_ok("spawn", "--prompt", ASK, "--dir", str(repo),
                                      "--permission-policy", str(policy_file),
                                      "--permission-timeout", "60"))
    with sup.client() as c:
        entry = c.wait_parked(out["runtime_id"])
        world.remember_pgid(os.getpgid(entry["runtime_pid"]))
        argv = runtime_argv(entry["runtime_pid"])
    assert "--permission-timeout=60s" in argv, argv
    assert answered(world.rt(out["runtime_id"])) == [("policy", "reject", "default")]
    # Bad values are the client's errors: one line naming the problem, nothing spawned.
    p = world.control("spawn", "--prompt", "x", "--permission-policy", '{"rules": [1]}')
    assert p.returncode == 1
    assert p.stderr.splitlines()[0] == \
        "avenor control: spawn: --permission-policy: rules[0]: 1 is not an object", p.stderr
    p = world.control("spawn", "--prompt", "x", "--deny-all", "--auto-approve")
    assert p.returncode == 1 and p.stderr.splitlines()[0] == \
        "avenor control: spawn: --deny-all and --auto-approve are mutually exclusive", p.stderr
    p = world.control("spawn", "--prompt", "x", "--permission-timeout-action", "wait")
    assert p.returncode == 1 and p.stderr.splitlines()[0] == \
        'avenor control: spawn: --permission-timeout-action: "wait" is not one of reject, ' \
        'cancel', p.stderr
    with sup.client() as c:
        assert [e["runtime_id"] for e in c.list()] == [out["runtime_id"]]


def test_avenor_spawn_policy(mcp_world):
    world = mcp_world
    repo = world.workdir("m", fake_script("ses_m"))
    mcp = McpSession(world.stdio(), world.diagnostics)
    mcp.initialize()
    try:
        spawned = mcp.spawn(repo, ASK, permission_policy=REJECT_EXECUTE,
                            permission_timeout="5m")
        done = mcp.result_done(spawned["run_id"])
        assert done["output"] == "REJECTED", done
        log = [json.loads(x) for x in Path(spawned["event_path"]).read_text().splitlines()
               if x.strip()]
        resp = [e for e in log if e["event"] == "permission.response"]
        assert [(r["source"], r.get("rule")) for r in resp] == [("policy", "rules[0]")], resp

        bad = {"repo_dir": str(repo), "prompt": "x", "backend": "opencode-acp"}
        assert mcp.tool_error("avenor_spawn", {**bad, "permission_policy": {
            "rules": [{"tool_kind": "shell", "action": "allow"}]}}) == \
            'permission_policy: rules[0].tool_kind: "shell" is not one of read, edit, delete, ' \
            'move, search, execute, think, fetch, switch_mode, other'
        assert mcp.tool_error("avenor_spawn", {**bad, "permission_policy": 3}) == \
            'parameter "permission_policy" must be an object or a string'
        assert mcp.tool_error("avenor_spawn", {**bad, "deny_all": True,
                                               "auto_approve": True}) == \
            "deny_all and auto_approve are mutually exclusive"
        assert mcp.tool_error("avenor_spawn", {**bad, "permission_timeout_action": "x"}) == \
            'permission_timeout_action must be reject or cancel, not "x"'
        assert mcp.tool_error("avenor_spawn", {**bad, "permission_timeout": "0s"}) == \
            "permission_timeout must be a positive duration like 90s, 10m or 2h"
    finally:
        mcp.close_stdin()
        mcp.wait_exit()
