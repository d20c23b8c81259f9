"""`avenor stable` on the backends other than opencode-acp, each against its REAL CLI talking to
the scripted model server on 127.0.0.1 (peers.py, peer_codex.py, peer_pi.py,
peer_opencode_http.py):

* `codex-app-server` (real codex) and `pi` (real pi): spawn returns the backend's real session
  id, the runtime parks (status idle, sentinel DONE), a follow-up `prompt` resumes the same
  session in the same backend process (the second model request carries the first turn's
  history) and `wait_turn` returns the second turn's final output (control.md §10.4, §10.6,
  §10.7);
* `opencode-http` without a server URL: two runtimes in one directory share one managed
  `opencode serve` started by the supervisor in that directory, a runtime in another directory
  gets its own, and `shutdown graceful` stops them all (§10.14, §10.15).

A missing CLI skips (SKIPPED-PEER). Every wait is bounded and says what it waited for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peer_codex  # noqa: E402
import peer_pi  # noqa: E402
import peers  # noqa: E402
from peer_opencode_http import opencode_http_env, opencode_serve_pids  # noqa: E402
from stable_harness import (StableClient, StableWorld, assert_seq_exactly_once,  # noqa: E402
                            wait_until)

TURN = 180  # a turn's bound on a loaded 2-core machine (a real CLI alone starts in up to 25 s)
FIRST_PROMPT = "Say the first thing."
FIRST_REPLY = "FIRST-ANSWER-7731"
FOLLOW_UP = "FOLLOW-UP-QUESTION-9"
SECOND_REPLY = "SECOND-ANSWER-4412"
HTTP_REPLY = "HTTP-TURN-DONE-5120"


@pytest.fixture
def peer_world(avenor, tmp_path, model_server):
    """Factory: peer_world(env_factory, script) -> (StableWorld, ModelServer, PeerEnv), the
    supervisor's environment being the peer's isolated one (its CLI first on PATH)."""
    made: list[StableWorld] = []

    def make(env_factory, script: dict):
        server = model_server(script)
        penv = env_factory(tmp_path, server)
        w = StableWorld(avenor, env=penv.env, fake=False)
        made.append(w)
        return w, server, penv

    yield make
    for w in made:
        w.cleanup()


def spawn(c: StableClient, **params) -> dict:
    """spawn with a bound fit for a real CLI's start (spawn waits for the session id)."""
    r = c.call("spawn", params, timeout=TURN)
    assert "error" not in r, f"spawn {params} failed: {r['error']}"
    return r["result"]


def diagnose(world: StableWorld, runtime_id: str) -> str:
    """What to print when a runtime does not do what was expected."""
    rt = world.rt(runtime_id)
    sup = "\n".join(s.stderr_text()[-1500:] for s in world.stables)
    return (f"\n--- {runtime_id} stderr.log ---\n{rt.stderr_text()[-2500:]}"
            f"\n--- {runtime_id} events ---\n"
            + "\n".join(json.dumps(e)[:300] for e in rt.events()[-15:])
            + f"\n--- supervisor stderr ---\n{sup}")


def shutdown_graceful(world: StableWorld, c: StableClient, sup) -> None:
    assert c.call_ok("shutdown", {"mode": "graceful"}) == {"shutting_down": True}
    assert sup.wait_exit(60) == 0, sup.stderr_text()[-3000:]
    world.wait_no_processes("after shutdown graceful (the backend CLIs included)", timeout=20)


# ---------------------------------------------------------------------------------------------
# codex-app-server and pi: spawn, park, follow-up on the same session
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backend,peer,env_factory", [
    ("codex-app-server", "codex", peer_codex.codex_env),
    ("pi", "pi", peer_pi.pi_env)])
def test_spawn_parks_and_a_follow_up_resumes_the_session(peer_world, backend, peer,
                                                         env_factory):
    peers.require_peer(peer)
    world, server, penv = peer_world(env_factory, {"steps": [{"reply": FIRST_REPLY},
                                                             {"reply": SECOND_REPLY}]})
    sup = world.stable()
    rt = world.rt("rt_1")
    with sup.client() as c:
        spawned = spawn(c, prompt=FIRST_PROMPT, dir=str(penv.project), backend=backend)
        assert spawned["runtime_id"] == "rt_1", spawned
        assert spawned["effective_backend"] == backend, spawned
        session = spawned["session_id"]
        assert session, f"spawn returned no session id: {spawned}{diagnose(world, 'rt_1')}"

        try:
            parked = c.wait_parked("rt_1", timeout=TURN)
        except AssertionError as e:
            raise AssertionError(f"{e}{diagnose(world, 'rt_1')}") from None
        world.remember_pgid(os.getpgid(parked["runtime_pid"]))
        assert parked["session_id"] == session, parked
        assert parked["final_output"].endswith(FIRST_REPLY), parked
        assert parked["backend"] == backend and parked["dir"] == str(penv.project), parked
        lines = rt.wait_sentinel("DONE", timeout=10)
        assert f"SESSION={session}" in lines, lines
        assert rt.named("avenor.parked"), "the runtime parked without avenor.parked"
        backend_pid = parked["pid"]
        assert backend_pid > 0, f"no backend pid in the entry: {parked}"

        pending = c.start_wait_turn("rt_1", 0)
        main_before = len(server.requests(kind="main"))
        assert c.call_ok("prompt", {"runtime_id": "rt_1", "text": FOLLOW_UP}) == \
            {"accepted": True}
        try:
            got = c.finish_wait_turn(pending, timeout=TURN)
        except AssertionError as e:
            raise AssertionError(f"{e}{diagnose(world, 'rt_1')}") from None
        assert got["runtime_id"] == "rt_1" and got["session_id"] == session, got
        assert got["stop_reason"] == "end_turn", got
        assert got["final_output"].endswith(SECOND_REPLY), got
        again = c.wait_parked("rt_1", timeout=TURN)
        assert again["session_id"] == session, again
        assert again["pid"] == backend_pid, "the follow-up ran in another backend process"

        # The follow-up's model request carries the first turn: same session, same history.
        follow = [r for r in server.requests(kind="main")[main_before:]
                  if FOLLOW_UP in json.dumps(r.get("body"))]
        assert follow, "the follow-up never reached the model"
        body = json.dumps(follow[0].get("body"))
        assert FIRST_PROMPT in body and FIRST_REPLY in body, \
            "the follow-up's model request does not carry the first turn's history"

        ends = rt.named("session.end")
        assert [(e["session_id"], e["stop_reason"]) for e in ends] == \
            [(session, "end_turn"), (session, "end_turn")], ends
        assert len(rt.named("avenor.parked")) == 2
        shutdown_graceful(world, c, sup)
    assert_seq_exactly_once(rt.events(), "rt_1 log")
    assert rt.sentinel_lines()[0] == "KILLED", rt.sentinel_lines()


# ---------------------------------------------------------------------------------------------
# opencode-http: managed `opencode serve`, one per directory
# ---------------------------------------------------------------------------------------------

def project(world: StableWorld, name: str) -> Path:
    d = world.work / name
    d.mkdir()
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(d)], check=True,
                   timeout=30, env=world.env, stdout=subprocess.DEVNULL)
    return d


def runtime_server_url(runtime_pid: int) -> str:
    """The --server-url the supervisor gave the runtime process (control.md §10.1)."""
    argv = Path(f"/proc/{runtime_pid}/cmdline").read_bytes().decode().split("\0")
    urls = [a.split("=", 1)[1] for a in argv if a.startswith("--server-url=")]
    if not urls:  # "--server-url URL" form
        urls = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--server-url"]
    assert len(urls) == 1, f"runtime {runtime_pid}: no single --server-url in {argv}"
    return urls[0]


def serve_port(pid: int) -> int:
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    assert "--port" in argv, f"opencode serve {pid} without --port: {argv}"
    return int(argv[argv.index("--port") + 1])


def parent_pid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def one_server(d: Path) -> int:
    # A server's own child that carries the same command line (opencode may start one, and a
    # busy machine shows it) is part of that server, not a second one.
    found = opencode_serve_pids(d)
    pids = [p for p in found if parent_pid(p) not in found]
    assert len(pids) == 1, f"expected exactly one opencode serve in {d}, got {found}"
    return pids[0]


def session_cwds(world: StableWorld, runtime_id: str) -> set[str]:
    """The directories opencode reported for the runtime's messages."""
    return {e["info"]["path"]["cwd"] for e in world.rt(runtime_id).named("http.message.updated")
            if isinstance(e.get("info"), dict) and e["info"].get("path")}


def test_opencode_http_managed_server_per_directory(peer_world):
    peers.require_peer("opencode")
    world, server, _ = peer_world(opencode_http_env,
                                  {"steps": [{"reply": HTTP_REPLY, "repeat": True}]})
    shared = project(world, "shared")
    other = project(world, "other")
    sup = world.stable()
    with sup.client() as c:
        # Both spawns in flight at once: they must share one start of the server.
        first = c.request("spawn", {"prompt": "Turn one.", "dir": str(shared),
                                    "backend": "opencode-http", "label": "a"})
        second = c.request("spawn", {"prompt": "Turn two.", "dir": str(shared),
                                     "backend": "opencode-http", "label": "b"})
        results = []
        for rid in (first, second):
            r = c.response(rid, timeout=TURN)
            assert "error" not in r, \
                f"opencode-http spawn in {shared} failed: {r['error']}{diagnose(world, 'rt_1')}"
            results.append(r["result"])
        ids = sorted(r["runtime_id"] for r in results)
        assert ids == ["rt_1", "rt_2"], results
        for r in results:
            assert r["session_id"].startswith("ses_"), r
            assert r["effective_backend"] == "opencode-http", r
        assert results[0]["session_id"] != results[1]["session_id"], results

        entries = {}
        for rid in ids:
            try:
                entries[rid] = c.wait_parked(rid, timeout=TURN)
            except AssertionError as e:
                raise AssertionError(f"{e}{diagnose(world, rid)}") from None
            world.remember_pgid(os.getpgid(entries[rid]["runtime_pid"]))
            assert entries[rid]["final_output"].endswith(HTTP_REPLY), entries[rid]
            assert world.rt(rid).sentinel_lines()[0] == "DONE"

        serve_shared = one_server(shared)
        world.remember_pgid(os.getpgid(serve_shared))
        urls = {rid: runtime_server_url(e["runtime_pid"]) for rid, e in entries.items()}
        assert urls["rt_1"] == urls["rt_2"], f"the two runtimes use different servers: {urls}"
        assert urls["rt_1"] == f"http://127.0.0.1:{serve_port(serve_shared)}", \
            f"runtimes use {urls['rt_1']}, the server in {shared} is pid {serve_shared}"
        # The server is the supervisor's, in its own process group: not a runtime's child.
        assert os.getpgid(serve_shared) not in \
            {os.getpgid(e["runtime_pid"]) for e in entries.values()}
        for rid in ids:
            cwds = session_cwds(world, rid)
            assert cwds <= {os.path.realpath(shared)} and cwds, \
                f"{rid}: opencode worked in {cwds}, not {shared}"

        # Another directory: its own server.
        third = spawn(c, prompt="Turn three.", dir=str(other), backend="opencode-http")
        assert third["runtime_id"] == "rt_3", third
        try:
            e3 = c.wait_parked("rt_3", timeout=TURN)
        except AssertionError as e:
            raise AssertionError(f"{e}{diagnose(world, 'rt_3')}") from None
        world.remember_pgid(os.getpgid(e3["runtime_pid"]))
        assert e3["final_output"].endswith(HTTP_REPLY), e3
        serve_other = one_server(other)
        world.remember_pgid(os.getpgid(serve_other))
        assert serve_other != serve_shared
        assert one_server(shared) == serve_shared, "the shared server was restarted"
        url3 = runtime_server_url(e3["runtime_pid"])
        assert url3 == f"http://127.0.0.1:{serve_port(serve_other)}" and url3 != urls["rt_1"]
        cwds = session_cwds(world, "rt_3")
        assert cwds == {os.path.realpath(other)}, f"rt_3: opencode worked in {cwds}"

        assert c.call_ok("shutdown", {"mode": "graceful"}) == {"shutting_down": True}
    assert sup.wait_exit(60) == 0, sup.stderr_text()[-3000:]
    wait_until(lambda: not opencode_serve_pids(shared) and not opencode_serve_pids(other),
               timeout=20, what="no managed opencode serve left after shutdown graceful")
    world.wait_no_processes("after shutdown graceful (managed servers included)", timeout=20)
    for rid in ("rt_1", "rt_2", "rt_3"):
        assert_seq_exactly_once(world.rt(rid).events(), f"{rid} log")
        assert world.rt(rid).sentinel_lines()[0] == "KILLED", rid
