"""Runtime behaviour under the supervisor with the fake ACP agent behind `opencode`: parking and
follow-ups on the same session, wait_turn (control.md §10.6, §10.7), admission (§10.8),
idempotent spawn (§10.9), permission routing with and without a connected client (§10.10), and
child → parent questions (§10.11)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from control_rpc import ControlClient  # noqa: E402
from stable_harness import (ASK, CONTINUED, HOLD, REPLY, assert_seq_exactly_once,  # noqa: E402
                            wait_until)
from stable_harness import world  # noqa: E402,F401 (the fixture)


def test_parking_follow_up_same_session_and_wait_turn(world):
    sup = world.stable()
    with sup.client() as c:
        res = c.spawn(prompt="first", dir=str(world.workdir("park")))
        e = c.wait_parked("rt_1")
        rt = world.rt("rt_1")
        assert rt.sentinel_lines()[0] == "DONE"
        parked = rt.named("avenor.parked")
        assert len(parked) == 1 and parked[0]["timeout_ms"] == 30 * 60 * 1000, parked
        assert e["final_output"] == REPLY

        # wait_turn on an idle runtime fires on the *next* turn only
        early = c.call("wait_turn", {"runtime_id": "rt_1", "timeout_ms": 300})
        assert early["error"]["code"] == -32020 and early["error"]["message"] == \
            "wait_turn: timeout before the runtime's turn settled", early
        pending = c.start_wait_turn("rt_1", 0)
        assert c.call_ok("prompt", {"runtime_id": "rt_1", "text": "Continue"}) == \
            {"accepted": True}
        got = c.finish_wait_turn(pending)
        assert got == {"runtime_id": "rt_1", "session_id": res["session_id"],
                       "stop_reason": "end_turn", "final_output": CONTINUED}, got
        c.wait_parked("rt_1")

        # the same backend session, one process, two prompts
        methods = world.agents.methods("park")
        assert methods.count("session/new") == 1 and "session/load" not in methods, methods
        prompts = world.agents.prompts("park")
        assert [p["params"]["sessionId"] for p in prompts] == ["ses_park", "ses_park"]
        assert len(world.agents.pids("park")) == 1, "the follow-up started a second agent"
        ends = rt.named("session.end")
        assert [x["final_output"] for x in ends] == [REPLY, CONTINUED]
        assert len(rt.named("avenor.parked")) == 2

        # wait_turn on an ended runtime returns at once with the current values
        c.call_ok("cancel", {"runtime_id": "rt_1"})
        c.wait_status("rt_1", "ended")
        t0 = time.monotonic()
        done = c.call_ok("wait_turn", {"runtime_id": "rt_1", "timeout_ms": 0})
        assert time.monotonic() - t0 < 5
        assert done["runtime_id"] == "rt_1" and done["stop_reason"] == "cancelled", done
        assert_seq_exactly_once(rt.events(), "rt_1 log")


def test_parked_timeout_expiry_ends_the_runtime(world):
    sup = world.stable("--parked-timeout", "1s")
    with sup.client() as c:
        c.spawn(prompt="x", dir=str(world.workdir("exp")))
        e = c.wait_status("rt_1", "ended", timeout=30)
        assert e["exit_code"] == 0, e
        rt = world.rt("rt_1")
        assert rt.sentinel_lines()[0] == "DONE"
        assert rt.named("avenor.parked")[0]["timeout_ms"] == 1000
        assert [x["event"] for x in rt.events()][-1] == "avenor.parked", "no event after expiry"
        check = c.call("prompt", {"runtime_id": "rt_1", "text": "late"})
        assert check["error"]["message"] == 'runtime "rt_1" has ended', check


def test_admission_limit_and_parked_runtimes_do_not_count(world):
    sup = world.stable("--max-runtimes", "2")
    with sup.client() as c:
        c.spawn(prompt="quick", dir=str(world.workdir("a")))
        c.wait_parked("rt_1")
        c.spawn(prompt=HOLD, dir=str(world.workdir("b")))
        c.spawn(prompt=HOLD, dir=str(world.workdir("c")))
        c.wait_status("rt_2", "running")
        c.wait_status("rt_3", "running")
        denied = c.spawn_error(prompt="x", dir=str(world.workdir("d")))
        assert denied == {"code": -32050, "message": "max runtimes (2) reached",
                          "data": {"source": "local", "retryable": True, "limit": 2,
                                   "active": 2}}, denied
        assert len(c.list()) == 3, "a denied spawn created a runtime"

        # a follow-up to the parked runtime waits for a slot
        assert c.call_ok("prompt", {"runtime_id": "rt_1", "text": "Continue"}) == \
            {"accepted": True}
        time.sleep(0.5)  # not synchronisation: a window in which the follow-up must NOT run
        assert world.agents.prompt_texts("a") == ["quick"], "the follow-up ran beyond the limit"
        assert c.entry("rt_1")["status"] == "idle"
        c.call_ok("cancel", {"runtime_id": "rt_2"})
        c.wait_status("rt_2", "ended")
        wait_until(lambda: world.agents.prompt_texts("a") == ["quick", "Continue"], timeout=15,
                   what="the queued follow-up runs once rt_2 released its slot")
        c.wait_parked("rt_1")
        # rt_1 parked again, rt_3 running: one slot free
        ok = c.spawn(prompt="quick", dir=str(world.workdir("e")))
        assert ok["runtime_id"] == "rt_4"


def test_idempotent_spawn(world):
    sup = world.stable()
    repo = world.workdir("idem")
    params = {"prompt": "same", "dir": str(repo), "label": "L", "idempotency_key": "k1"}
    with sup.client() as c:
        first = c.spawn(**params)
        again = c.spawn(**params)
        assert again == first
        assert len(c.list()) == 1
        # fields cleared from the hash: on_event, sentinel_file, parent_id, ...
        same = c.spawn(**params, parent_id="")
        assert same == first
        conflict = c.spawn_error(**{**params, "prompt": "different"})
        assert conflict["code"] == -32602 and \
            conflict["message"] == "idempotency key reused with different parameters", conflict
        assert len(c.list()) == 1
        # label_derived: the label is not part of the hash
        d1 = c.spawn(prompt="p", dir=str(repo), label="try-1", label_derived=True,
                     idempotency_key="k2")
        d2 = c.spawn(prompt="p", dir=str(repo), label="try-2", label_derived=True,
                     idempotency_key="k2")
        assert d1 == d2 and len(c.list()) == 2
        # a failed spawn is not stored: a retry executes again
        f1 = c.spawn_error(prompt="p", dir=str(repo), backend="nope", idempotency_key="k3")
        f2 = c.spawn_error(prompt="p", dir=str(repo), backend="nope", idempotency_key="k3")
        assert f1 == f2 and f1["message"] == 'unknown backend "nope"'


def test_sixteen_pipelined_identical_spawns_make_one_runtime(world):
    """spawn is owner-only and one connection's requests run in order (control.md §3, §4), so
    16 duplicates reach the supervisor as 16 pipelined requests on the owner connection, written
    in one send before any answer: all 16 get the same result and one runtime exists."""
    sup = world.stable()
    params = {"prompt": "race", "dir": str(world.workdir("race")), "idempotency_key": "race-1"}
    with sup.client() as c:
        frames = [{"jsonrpc": "2.0", "id": f"s{i}", "method": "spawn", "params": params}
                  for i in range(16)]
        c.send_raw("".join(json.dumps(f) + "\n" for f in frames).encode())
        results = [c.response(f"s{i}", timeout=60) for i in range(16)]
        assert all("result" in r for r in results), [r.get("error") for r in results]
        assert all(r["result"] == results[0]["result"] for r in results)
        assert [e["runtime_id"] for e in c.list()] == [results[0]["result"]["runtime_id"]]
        assert len(world.agents.pids("race")) == 1


def test_sixteen_connections_racing_one_key(world):
    """16 connections send the same keyed spawn at once. Ownership lets one connection mutate at
    a time, so each gets either -32010 or exactly the first spawn's result; one runtime exists."""
    sup = world.stable()
    params = {"prompt": "race", "dir": str(world.workdir("race2")), "idempotency_key": "race-2"}
    barrier = threading.Barrier(16)
    outcomes: list = [None] * 16

    def one(i: int) -> None:
        with ControlClient(world.sock, 60) as c:
            barrier.wait(timeout=30)
            outcomes[i] = c.call("spawn", params, timeout=60)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert all(o is not None for o in outcomes), "a racing spawn got no answer"
    results = [o["result"] for o in outcomes if "result" in o]
    errors = [o["error"] for o in outcomes if "error" in o]
    assert results, f"no connection got the spawn through: {errors}"
    assert all(r == results[0] for r in results), results
    assert all(e["code"] == -32010 for e in errors), errors
    with sup.client() as c:
        assert [e["runtime_id"] for e in c.list()] == [results[0]["runtime_id"]]


def test_permission_answered_by_a_supervisor_client(world):
    sup = world.stable()
    with sup.client() as c, sup.client() as sub:
        sub.subscribe()  # every runtime: rt_1 does not exist yet
        c.spawn(prompt=ASK, dir=str(world.workdir("perm")))
        req = sub.wait_event(lambda e: e.get("event") == "permission.request",
                             what="permission.request on the supervisor stream")
        assert req["runtime_id"] == "rt_1" and req["resolver"] == "reserved", req
        e = c.wait_entry("rt_1", lambda x: x.get("pending_permission") is True,
                         "pending_permission mirrored")
        perm = e["permission"]
        assert perm["request_id"] == req["request_id"] and "cwd" in perm, perm
        for k in ("runtime_id", "run_id", "run_label", "ts", "seq"):
            assert k not in perm, f"runtime entry permission keeps {k}: {perm}"
        assert not world.rt("rt_1").perm_request.exists(), \
            "the file handler ran while a supervisor client held the claim"
        rid = req["request_id"]
        bad = c.call_error("answer_permission", {"runtime_id": "rt_1", "request_id": rid,
                                                 "option_id": "nope"})
        assert bad["code"] == -32000 and "unknown option_id" in bad["message"], bad
        assert c.call_ok("answer_permission", {"runtime_id": "rt_1", "request_id": rid,
                                               "option_id": "once"}) == {"accepted": True}
        c.wait_parked("rt_1")
        assert c.call_ok("answer_permission", {"runtime_id": "rt_1", "request_id": rid,
                                               "option_id": "once"}) == {"accepted": True}, \
            "an already-resolved request is accepted"
    log = world.rt("rt_1").events()
    resp = [x for x in log if x["event"] == "permission.response"]
    assert len(resp) == 1 and resp[0]["source"] == "control" and resp[0]["kind"] == "allow"
    assert log[[x["event"] for x in log].index("session.end")]["final_output"] == "ALLOWED"
    assert_seq_exactly_once(log)


def test_permission_without_a_client_falls_through_to_the_file_handler(world, avenor):
    sup = world.stable()
    out = world.control_ok("spawn", "--prompt", ASK, "--dir", str(world.workdir("fperm")))
    rt_id = json.loads(out)["runtime_id"]
    rt = world.rt(rt_id)
    # no client is connected now; the supervisor releases the claim to the runtime's handler
    wait_until(rt.perm_request.exists, timeout=30,
               what=f"{rt.perm_request} written by the runtime's file handler")
    request = json.loads(rt.perm_request.read_text())
    p = subprocess.run([avenor, "answer", "--option", "once", str(rt.perm_base)],
                       capture_output=True, text=True, timeout=30, env=world.env)
    assert p.returncode == 0, p.stderr
    rt.wait_event(lambda e: e.get("event") == "avenor.parked", "parked after the answer")
    resp = rt.named("permission.response")
    assert len(resp) == 1 and resp[0]["source"] == "file" and \
        resp[0]["request_id"] == request["request_id"], resp
    assert rt.named("session.end")[-1]["final_output"] == "ALLOWED"
    with sup.client() as c:
        c.wait_parked(rt_id)


def test_permission_claim_timeout_hands_over_to_the_file_handler(world, avenor):
    sup = world.stable("--permission-claim-timeout", "1s")
    with sup.client() as c:
        c.spawn(prompt=ASK, dir=str(world.workdir("cto")))
        rt = world.rt("rt_1")
        wait_until(rt.perm_request.exists, timeout=30,
                   what="the file handler takes over after the 1 s claim timeout")
        subprocess.run([avenor, "answer", "--option", "reject", str(rt.perm_base)], check=True,
                       capture_output=True, timeout=30, env=world.env)
        c.wait_parked("rt_1")
    resp = rt.named("permission.response")
    assert [(x["source"], x["kind"]) for x in resp] == [("file", "reject")], resp


def test_send_to_parent_and_the_answer(world):
    sup = world.stable()
    with sup.client() as c, sup.client() as parent_sub:
        c.spawn(prompt="parent", dir=str(world.workdir("par")))
        c.wait_parked("rt_1")
        parent_sub.subscribe({"runtime_id": "rt_1"})
        c.spawn(prompt="child", dir=str(world.workdir("kid")), parent_id="rt_1")
        c.wait_parked("rt_2")
        assert c.entry("rt_1")["children"] == ["rt_2"]
        assert c.entry("rt_2")["parent_id"] == "rt_1"
        # any connection may ask (not owner-checked)
        with ControlClient(world.sock) as asker:
            assert asker.call_ok("send_to_parent", {"runtime_id": "rt_2",
                                                    "message": "Which file?"}) == \
                {"accepted": True}
        q = parent_sub.wait_event(lambda e: e.get("event") == "child.question",
                                  what="child.question on the parent's stream")
        assert q["runtime_id"] == "rt_1" and q["parent_id"] == "rt_1" and \
            q["child_id"] == "rt_2" and q["message"] == "Which file?", q
        assert q["session_id"] == "ses_par" and q["request_id"].startswith("cq_"), q
        logged = world.rt("rt_1").named("child.question")
        assert len(logged) == 1 and logged[0]["seq"] == q["seq"], \
            "child.question must go through the parent's own log and seq"
        assert_seq_exactly_once(world.rt("rt_1").events(), "parent log")

        answer = {"runtime_id": "rt_2", "text": "Use a.txt", "request_id": q["request_id"]}
        assert c.call_ok("prompt", answer) == {"accepted": True}
        wait_until(lambda: world.agents.prompt_texts("kid") == ["child", "Use a.txt"],
                   what="the answer reaches the child as a prompt")
        c.wait_parked("rt_2")
        assert c.call_ok("prompt", answer) == {"accepted": True}, "a duplicate is a no-op"
        time.sleep(0.5)  # not synchronisation: a window in which a duplicate must NOT run
        assert world.agents.prompt_texts("kid") == ["child", "Use a.txt"]
        assert world.agents.prompt_texts("par") == ["parent"], "the parent got a prompt"


def test_interrupt_and_prompt_on_running_and_parked(world):
    sup = world.stable()
    with sup.client() as c:
        c.spawn(prompt=HOLD, dir=str(world.workdir("int")))
        c.wait_status("rt_1", "running")
        assert c.call_ok("interrupt_and_prompt", {"runtime_id": "rt_1", "text": "redirect",
                                                  "keep_queue": False}) == {"accepted": True}
        c.wait_parked("rt_1")
        ends = world.rt("rt_1").named("session.end")
        assert [x["stop_reason"] for x in ends] == ["cancelled", "end_turn"], ends
        assert world.agents.prompt_texts("int") == [HOLD, "redirect"]
        assert c.call_ok("interrupt_and_prompt", {"runtime_id": "rt_1", "text": "Continue",
                                                  "keep_queue": False}) == {"accepted": True}
        wait_until(lambda: world.agents.prompt_texts("int")[-1:] == ["Continue"],
                   what="interrupt_and_prompt to a parked runtime runs")
        c.wait_parked("rt_1")
        assert len(world.agents.pids("int")) == 1

