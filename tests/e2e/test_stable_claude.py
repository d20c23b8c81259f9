"""`avenor stable` on the `claude` backend against the REAL Claude Code 2.1.197 talking to the
scripted Anthropic model on 127.0.0.1 (peer_claude.py): spawn returns claude's session id (the
UUID avenor gave it), the runtime parks, a follow-up `prompt` runs in the same claude process and
session (the second model request carries the first turn's history), and `wait_turn` returns the
second turn's final output. A missing CLI skips (SKIPPED-PEER). Every wait is bounded."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402
from mcp_client import McpSession  # noqa: E402
from mcp_harness import McpWorld  # noqa: E402
from peer_claude import MODEL, claude_env  # noqa: E402
from stable_harness import StableWorld, assert_seq_exactly_once  # noqa: E402

TURN = 180  # a turn's bound on a loaded 2-core machine
FIRST_PROMPT = "Say the first thing."
FIRST_REPLY = "FIRST-ANSWER-7731"
FOLLOW_UP = "FOLLOW-UP-QUESTION-9"
SECOND_REPLY = "SECOND-ANSWER-4412"


@pytest.fixture
def claude_world(avenor, tmp_path, model_server):
    peers.require_peer("claude")
    server = model_server({"model": MODEL, "steps": [{"reply": FIRST_REPLY},
                                                     {"reply": SECOND_REPLY}]})
    penv = claude_env(tmp_path, server)
    world = StableWorld(avenor, env=penv.env, fake=False)
    yield world, server, penv
    world.cleanup()


def diagnose(world: StableWorld, runtime_id: str) -> str:
    rt = world.rt(runtime_id)
    sup = "\n".join(s.stderr_text()[-1500:] for s in world.stables)
    return (f"\n--- {runtime_id} stderr.log ---\n{rt.stderr_text()[-2500:]}"
            f"\n--- {runtime_id} events ---\n"
            + "\n".join(json.dumps(e)[:300] for e in rt.events()[-15:])
            + f"\n--- supervisor stderr ---\n{sup}")


def test_spawn_parks_and_a_follow_up_resumes_the_session(claude_world):
    world, server, penv = claude_world
    sup = world.stable()
    rt = world.rt("rt_1")
    with sup.client() as c:
        r = c.call("spawn", {"prompt": FIRST_PROMPT, "dir": str(penv.project), "backend": "claude",
                             "model": MODEL}, timeout=TURN)
        assert "error" not in r, f"spawn failed: {r['error']}{diagnose(world, 'rt_1')}"
        spawned = r["result"]
        assert spawned["effective_backend"] == "claude", spawned
        session = spawned["session_id"]
        assert session, f"spawn returned no session id: {spawned}{diagnose(world, 'rt_1')}"

        try:
            parked = c.wait_parked("rt_1", timeout=TURN)
        except AssertionError as e:
            raise AssertionError(f"{e}{diagnose(world, 'rt_1')}") from None
        world.remember_pgid(os.getpgid(parked["runtime_pid"]))
        assert parked["session_id"] == session, parked
        assert parked["final_output"].endswith(FIRST_REPLY), parked
        backend_pid = parked["pid"]
        assert backend_pid > 0, parked

        pending = c.start_wait_turn("rt_1", 0)
        main_before = len(server.requests(kind="main"))
        assert c.call_ok("prompt", {"runtime_id": "rt_1", "text": FOLLOW_UP}) == \
            {"accepted": True}
        try:
            got = c.finish_wait_turn(pending, timeout=TURN)
        except AssertionError as e:
            raise AssertionError(f"{e}{diagnose(world, 'rt_1')}") from None
        assert got["session_id"] == session and got["stop_reason"] == "end_turn", got
        assert got["final_output"].endswith(SECOND_REPLY), got
        again = c.wait_parked("rt_1", timeout=TURN)
        assert again["pid"] == backend_pid, "the follow-up ran in another claude process"

        follow = [r for r in server.requests(kind="main")[main_before:]
                  if FOLLOW_UP in json.dumps(r["body"]["messages"])]
        assert follow, "the follow-up never reached the model"
        body = json.dumps(follow[0]["body"]["messages"])
        assert FIRST_PROMPT in body and FIRST_REPLY in body, \
            "the follow-up's model request does not carry the first turn's history"
        ends = rt.named("session.end")
        assert [(e["session_id"], e["stop_reason"]) for e in ends] == \
            [(session, "end_turn"), (session, "end_turn")], ends

        assert c.call_ok("shutdown", {"mode": "graceful"}) == {"shutting_down": True}
        assert sup.wait_exit(60) == 0, sup.stderr_text()[-3000:]
        world.wait_no_processes("after shutdown graceful (claude included)", timeout=20)
    assert_seq_exactly_once(rt.events(), "rt_1 log")


def test_avenor_spawn_runs_on_claude(avenor, tmp_path, model_server):
    """The MCP tool `avenor_spawn {backend:"claude"}` (any MCP client → Claude Code, the cell of
    the dispatch matrix the reference left unsupported): the run ends done with claude's reply,
    read back by `avenor_result`."""
    peers.require_peer("claude")
    server = model_server({"model": MODEL, "steps": [{"reply": FIRST_REPLY}]})
    penv = claude_env(tmp_path, server)
    world = McpWorld(avenor, env=penv.env, fake=False)
    try:
        mcp = McpSession(world.stdio("--max-wait", "60s"), world.diagnostics)
        mcp.initialize()
        spawned = mcp.tool_ok("avenor_spawn", {"repo_dir": str(penv.project),
                                               "prompt": FIRST_PROMPT, "backend": "claude",
                                               "model": MODEL}, timeout=TURN)
        out = mcp.result_done(spawned["run_id"], bound=TURN)
        assert out["output"] == FIRST_REPLY, out
        assert FIRST_PROMPT in json.dumps(server.requests(kind="main")[0]["body"]["messages"])
        mcp.tool_ok("avenor_shutdown", {"force": True})
        mcp.close_stdin()
        assert mcp.wait_exit() == 0
    finally:
        world.cleanup()
