"""The supervisor's methods over the socket (control.md §4, §10.3, §10.4, §10.6): every param
error with its code, message and data, the owner rule, the un-scoped single-run forms, the spawn
checks in order, and a child that fails to start. The fake ACP agent stands behind `opencode`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stable_harness import BIG, BIG_TEXT, HOLD, REPLY, fake_script, wait_until  # noqa: E402
from stable_harness import world  # noqa: E402,F401 (the fixture)


def check(error: dict, code: int, message: str | None = None, data=None) -> None:
    assert error["code"] == code, f"expected code {code}, got {error}"
    if message is not None:
        assert error["message"] == message, f"expected message {message!r}, got {error}"
    if data is not None:
        assert error.get("data") == data, f"expected data {data!r}, got {error}"


def test_param_errors(world):
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt="hi", dir=str(world.workdir("p")))
        c.wait_parked("rt_1")
        e = lambda m, p=None: c.call_error(m, p)  # noqa: E731

        # wait_turn (§10.3)
        check(e("wait_turn", {}), -32602, data={"required": ["runtime_id"]})
        check(e("wait_turn", {"runtime_id": "rt_1", "timeout_ms": -1}), -32602,
              data={"detail": "timeout_ms must be non-negative"})
        check(e("wait_turn", {"runtime_id": "rt_9", "timeout_ms": 10}), -32000,
              'runtime "rt_9" not found')
        # send_to_parent
        check(e("send_to_parent", {"message": "x"}), -32602, data={"required": ["runtime_id"]})
        check(e("send_to_parent", {"runtime_id": "rt_1", "message": ""}), -32602,
              data={"required": ["message"]})
        long = e("send_to_parent", {"runtime_id": "rt_1", "message": "y" * 65537})
        assert long["code"] == -32602 and "message exceeds 65536 bytes" in \
            (long["message"] + str(long.get("data", ""))), long
        check(e("send_to_parent", {"runtime_id": "rt_1", "message": "q"}), -32000,
              'runtime "rt_1" has no parent')
        check(e("send_to_parent", {"runtime_id": "rt_9", "message": "q"}), -32000,
              'runtime "rt_9" not found')
        # prompt / interrupt_and_prompt / answer_permission as in §6
        check(e("prompt", {"runtime_id": "rt_1"}), -32602, data={"required": ["text"]})
        check(e("prompt", {"runtime_id": "rt_1", "text": ""}), -32602,
              data={"required": ["text"]})
        check(e("interrupt_and_prompt", {"runtime_id": "rt_1", "text": "",
                                         "keep_queue": False}), -32602,
              data={"required": ["text"]})
        check(e("answer_permission", {"runtime_id": "rt_1"}), -32602,
              data={"required": ["request_id", "option_id"]})
        bad_msg = e("answer_permission", {"runtime_id": "rt_1", "request_id": "0",
                                          "option_id": "once", "message": 5})
        assert bad_msg["code"] == -32602 and "detail" in (bad_msg.get("data") or {}), bad_msg
        check(e("answer_permission", {"runtime_id": "rt_1", "request_id": "77",
                                      "option_id": "once"}), -32000,
              'permission request "77" not found for runtime "rt_1"')
        # unknown runtime on every scoped method
        for method, params in (("status", {}), ("result", {}), ("cancel", {}),
                               ("prompt", {"text": "x"}),
                               ("interrupt_and_prompt", {"text": "x", "keep_queue": False})):
            check(e(method, {"runtime_id": "rt_9", **params}), -32000,
                  'runtime "rt_9" not found')
        # shutdown with an unknown mode
        check(e("shutdown", {"mode": "later"}), -32000, "shutdown mode must be graceful or kill")
        # subscribe (§8)
        check(e("subscribe", {"replay": True}), -32602, data={"required": ["runtime_id"]})
        check(e("subscribe", {"runtime_id": "rt_1", "replay": True, "limit": -1}), -32602)
        # history without id
        check(e("history", {}), -32602, data={"required": ["runtime_id"]})
        # framing (§2)
        c.send_raw(b"{not json\n")
        frame = c.read_frame()
        assert frame == {"jsonrpc": "2.0", "id": None,
                         "error": {"code": -32700, "message": "parse error"}}, frame
        c.send({"jsonrpc": "1.0", "id": 7, "method": "list"})
        frame = c.read_frame()
        assert frame["id"] == 7 and frame["error"]["code"] == -32600, frame
        check(e("no_such_method"), -32601, "method not found")
        assert sup.proc.poll() is None, "a bad request stopped the supervisor"


def test_ended_runtime_errors_and_silent_cancel(world):
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt=HOLD, dir=str(world.workdir("e")))
        c.wait_status("rt_1", "running")
        assert c.call_ok("cancel", {"runtime_id": "rt_1"}) == {"ok": True}
        c.wait_status("rt_1", "ended")
        check(c.call_error("prompt", {"runtime_id": "rt_1", "text": "more"}), -32000,
              'runtime "rt_1" has ended')
        ie = c.call_error("interrupt_and_prompt", {"runtime_id": "rt_1", "text": "more",
                                                   "keep_queue": False})
        assert ie["code"] == -32000 and "has ended" in ie["message"], ie
        assert c.call_ok("cancel", {"runtime_id": "rt_1"}) == {"ok": True}, \
            "cancelling an ended runtime succeeds silently"
        e = c.entry("rt_1")
        assert e["exit_code"] == 130 and e["status"] == "ended"
        lines = world.rt("rt_1").sentinel_lines()
        assert lines[0] == "KILLED" and "STOP_REASON=cancelled" in lines, lines
        # send_to_parent from a child whose parent has ended
        c.spawn(prompt="child", dir=str(world.workdir("kid")), parent_id="rt_1")
        check(c.call_error("send_to_parent", {"runtime_id": "rt_2", "message": "q"}), -32000,
              'runtime "rt_1" has ended')


def test_owner_rule(world):
    sup = world.stable()
    with sup.client() as owner, sup.client() as other:
        # read methods before anyone owns the socket do not claim it
        assert other.call_ok("list") == []
        owner.spawn(prompt="hi", dir=str(world.workdir("o")))
        owner.wait_parked("rt_1")
        denied = [("spawn", {"prompt": "x", "dir": str(world.workdir("o2"))}),
                  ("cancel", {"runtime_id": "rt_1"}),
                  ("prompt", {"runtime_id": "rt_1", "text": "x"}),
                  ("interrupt_and_prompt", {"runtime_id": "rt_1", "text": "x",
                                            "keep_queue": False}),
                  ("answer_permission", {"runtime_id": "rt_1", "request_id": "0",
                                         "option_id": "once"}),
                  ("shutdown", {"mode": "graceful"}),
                  ("cancel", None), ("prompt", {"text": "x"})]
        for method, params in denied:
            check(other.call_error(method, params), -32010, "permission_denied")
        # read methods and send_to_parent are not owner-checked
        assert [e["runtime_id"] for e in other.list()] == ["rt_1"]
        assert other.entry("rt_1")["status"] == "idle"
        assert other.call_ok("result", {"runtime_id": "rt_1"}) == {"final_output": REPLY}
        h = other.call_ok("history", {"runtime_id": "rt_1"})
        assert h["runtime_id"] == "rt_1" and h["events"], h
        assert other.call_ok("subscribe", {"runtime_id": "rt_1"}) == {"subscribed": True}
        assert "token" in other.call_ok("identity")
        r = other.call("wait_turn", {"runtime_id": "rt_1", "timeout_ms": 50})
        assert r.get("error", {}).get("code") == -32020, r
        r = other.call("send_to_parent", {"runtime_id": "rt_1", "message": "q"})
        assert r["error"]["code"] == -32000 and "has no parent" in r["error"]["message"], r
        assert [e["runtime_id"] for e in owner.list()] == ["rt_1"], "a denied spawn ran"
    # the owner's connection closed: the next mutating caller becomes the owner
    with sup.client() as next_owner:
        assert next_owner.call_ok("prompt", {"runtime_id": "rt_1", "text": "again"}) == \
            {"accepted": True}


def test_unscoped_single_run_forms(world):
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt="hi", dir=str(world.workdir("u")))
        c.wait_parked("rt_1")
        snap = c.call_ok("status")
        reg = world.registry()
        assert snap["run_id"] == reg["supervisor_run_id"], (snap, reg)
        assert "pending_permission" in snap and "started_at" in snap and "updated_at" in snap
        assert c.call_ok("result") == {"final_output": ""}
        assert c.call_ok("cancel") == {"ok": True}
        assert c.call_ok("prompt", {"text": "ignored"}) == {"accepted": True}
        assert c.call_ok("interrupt_and_prompt", {"text": "ignored", "keep_queue": False}) == \
            {"accepted": True}
        check(c.call_error("answer_permission", {"request_id": "0", "option_id": "once"}),
              -32001, "no_pending_permission")
        e = c.entry("rt_1")
        assert e["status"] == "idle", "an un-scoped cancel/prompt must have no effect"
        assert world.agents.prompt_texts("u") == ["hi"], "an un-scoped prompt reached a runtime"


def test_spawn_checks(world):
    sup = world.stable()
    repo = world.workdir("s")
    with sup.client() as c:
        check(c.spawn_error(dir=str(repo)), -32000, "prompt, prompt_file, or loop_file is required")
        check(c.spawn_error(prompt="a", prompt_file=str(repo / "p.txt"), dir=str(repo)), -32602,
              data={"detail": "prompt and prompt_file are mutually exclusive"})
        check(c.spawn_error(prompt="a", dir=str(repo), backend="nope"), -32000,
              'unknown backend "nope"')
        check(c.spawn_error(prompt="a", dir=str(repo), thinking="high"), -32000,
              'backend "opencode-acp" does not support parameter "thinking"')
        check(c.spawn_error(prompt="a", dir=str(repo), permission_handler="cmd:x"), -32000,
              "--permission-handler supports file:<path> only")
        assert c.list() == [], "a failed spawn left a runtime entry"

        first = c.spawn(prompt="a", dir=str(repo), model="fake/m1")
        c.wait_parked(first["runtime_id"])
        msg = (f'cannot resume session "{first["session_id"]}" with model "fake/m2": '
               f'session belongs to model "fake/m1"')
        check(c.spawn_error(prompt="b", dir=str(repo), model="fake/m2",
                            session_id=first["session_id"]), -32000, msg)
        # ids are never reused: failed spawns may leave gaps but the next id is new
        later = c.spawn(prompt="c", dir=str(world.workdir("s2")))
        n_first, n_later = int(first["runtime_id"][3:]), int(later["runtime_id"][3:])
        assert n_later > n_first, (first, later)
        assert sorted(e["runtime_id"] for e in c.list()) == sorted([first["runtime_id"],
                                                                    later["runtime_id"]])


def test_spawn_fails_with_the_childs_last_stderr_line(world):
    repo = world.workdir("broken", fake_script(
        "ses_broken", fail_method={"session/new": {"code": -32000, "message": "boom-on-new"}}))
    sup = world.stable()
    with sup.client() as c:
        e = c.spawn_error(prompt="x", dir=str(repo))
        assert e["code"] == -32000 and e["message"].startswith("avenor: "), e
        assert "boom-on-new" in e["message"], e
        assert c.list() == [], "a runtime that failed to start must be removed"
        assert sup.proc.poll() is None
        ok = c.spawn(prompt="x", dir=str(world.workdir("fine")))
        assert ok["session_id"] == "ses_fine"


def test_final_output_cut_on_control_copies_full_in_result(world):
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt=BIG, dir=str(world.workdir("big")))
        e = c.wait_parked("rt_1")
        assert e["final_output"] == BIG_TEXT[:4096] and e["final_output_truncated"] is True
        assert c.call_ok("result", {"runtime_id": "rt_1"}) == {"final_output": BIG_TEXT}
        listed = c.list()[0]
        assert len(listed["final_output"]) == 4096 and listed["final_output_truncated"] is True
        h = c.call_ok("history", {"runtime_id": "rt_1"})
        ends = [x for x in h["events"] if x["event"] == "session.end"]
        assert ends and ends[-1]["final_output_truncated"] is True
        log_end = world.rt("rt_1").named("session.end")[-1]
        assert log_end["final_output"] == BIG_TEXT, "the log keeps the full text"


def test_history_and_subscribe_replay(world):
    sup = world.stable()
    with sup.client() as c, sup.client() as sub:
        c.spawn(prompt="one", dir=str(world.workdir("h")))
        c.wait_parked("rt_1")
        log = world.rt("rt_1").events()
        h = c.call_ok("history", {"runtime_id": "rt_1"})
        assert h["latest_seq"] == log[-1]["seq"]
        assert [x["seq"] for x in h["events"]] == [x["seq"] for x in log]
        h2 = c.call_ok("history", {"runtime_id": "rt_1", "after_seq": 2, "limit": 2})
        assert all(x["seq"] > 2 for x in h2["events"]) and len(h2["events"]) <= 2, h2
        sub.subscribe({"runtime_id": "rt_1", "replay": True, "limit": 256})
        sub.wait_event(lambda x: x.get("seq") == log[-1]["seq"], what="replayed last event")
        assert [x["seq"] for x in sub.events] == [x["seq"] for x in log]
        assert sub.events == log
        c.call_ok("prompt", {"runtime_id": "rt_1", "text": "two"})
        sub.wait_event(lambda x: x.get("event") == "avenor.parked" and x["seq"] > log[-1]["seq"],
                       what="live avenor.parked after the follow-up")
        wait_until(lambda: world.rt("rt_1").events()[-1]["event"] == "avenor.parked",
                   what="follow-up logged")
        full = world.rt("rt_1").events()
        assert sub.events == full, "replay + live must be gap-free and equal to the log"


def test_wait_turn_limits(world):
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt="x", dir=str(world.workdir("w")))
        c.wait_parked("rt_1")
        ids = [c.start_wait_turn("rt_1", 0) for _ in range(8)]
        ninth = c.call("wait_turn", {"runtime_id": "rt_1", "timeout_ms": 0})
        assert ninth["error"]["code"] == -32000 and ninth["error"]["message"] == \
            "too many in-flight wait_turn requests on this connection", ninth
        c.call_ok("prompt", {"runtime_id": "rt_1", "text": "again"})
        results = [c.finish_wait_turn(i) for i in ids]
        assert all(r == results[0] for r in results)
        assert results[0]["runtime_id"] == "rt_1" and results[0]["stop_reason"] == "end_turn"
        assert results[0]["session_id"] == "ses_w" and results[0]["final_output"] == REPLY

