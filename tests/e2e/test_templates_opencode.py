"""templates/opencode-to-opencode with the REAL opencode 1.18.33 on both sides (issue 14).

The pairing is copied into a fresh git project; opencode reads it from there (opencode.json, the
four role agents in .opencode/agents, the two skills in .opencode/skills). The provider comes
from OPENCODE_CONFIG_CONTENT (peers.opencode_config: the scripted model server on 127.0.0.1),
which opencode merges over the project's opencode.json.

* loads: `opencode agent list`, `opencode debug skill`, `opencode mcp list` in the project;
* boundary: `avenor run --backend opencode-acp --agent jockey`; the jockey's scripted model tries
  the write tool and a shell redirect; OpenCode's rules refuse both, no file appears;
* CLI round trip: the jockey's model issues the skill's `avenor run … --agent mule …` command
  through its bash tool; the inner opencode runs as mule on the same scripted model (the jockey
  blocks in the tool, so one sequential script serves both) and writes a file; the jockey reads
  the sentinel's first line and the log's last line, and answers with the mule's text;
* MCP round trip: the jockey's model calls avenor_avenor_spawn / avenor_avenor_result of the
  opencode.json `mcp.avenor` server; the mule runs on a second model server (its config goes to
  `avenor mcp` through the `environment` OpenCode passes the server, so the two scripts never
  race).

Every process started here carries MARK_VAR=<root> and is SIGKILLed at teardown if still alive.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import peers
from stable_harness import MARK_VAR, killpg_quietly, marked_pids

TEMPLATE = peers.repo_root() / "templates" / "opencode-to-opencode"
RUN_TIMEOUT = 300.0  # one outer run on a busy 2-core machine: two opencode starts and turns
MULE_MARKER = "MULE-MARKER-4711"
MULE_FILE = "mule-wrote.txt"
MULE_TEXT = "written by the mule"


class World:
    """A short root under /tmp (the MCP supervisor's socket lives under its HOME), a git project
    holding a copy of the pairing, and the environment opencode runs in."""

    def __init__(self, avenor: str, server: peers.ModelServer, extra_config: dict | None = None):
        self.avenor = avenor
        self.root = Path(tempfile.mkdtemp(prefix="avt3-", dir="/tmp"))
        env, self.home, self.project = peers.base_env(self.root, "oc")
        shutil.copytree(TEMPLATE, self.project, dirs_exist_ok=True)
        config = peers.opencode_config(server.base_url)
        config.update(extra_config or {})
        env.update(oc_flags(config))
        # `avenor` as the skill and the MCP entry name it: first on PATH
        env["PATH"] = str(Path(avenor).parent) + os.pathsep + env["PATH"]
        env[MARK_VAR] = str(self.root)
        self.env = env
        self.server = server

    def cli(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
        return subprocess.run(list(args), env=self.env, cwd=self.project, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def run_jockey(self, prompt: str) -> "Outer":
        """`avenor run --backend opencode-acp --agent jockey` in the project, to completion."""
        out = Outer(self.root / "outer")
        argv = [self.avenor, "run", "--backend", "opencode-acp", "--agent", "jockey",
                "--dir", str(self.project), "--prompt", prompt, "--on-event", str(out.events),
                "--sentinel-file", str(out.sentinel), "--timeout", f"{int(RUN_TIMEOUT)}s"]
        t0 = time.monotonic()
        with open(out.stderr, "wb") as err:
            proc = subprocess.Popen(argv, env=self.env, cwd=self.project,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, start_new_session=True)
            try:
                out.rc = proc.wait(timeout=RUN_TIMEOUT + 60)
            except subprocess.TimeoutExpired:
                killpg_quietly(proc.pid)
                proc.wait()
                raise AssertionError("the jockey's avenor run did not end" + out.describe())
        out.seconds = time.monotonic() - t0
        return out

    def diagnostics(self) -> str:
        runs = self.project / ".avenor" / "runs"
        return "".join(f"\n--- {p.name} ---\n{p.read_text(errors='replace')[-2000:]}"
                       for p in sorted(runs.glob("[!.]*"))) if runs.exists() else ""

    def cleanup(self) -> None:
        for _ in range(3):  # a dying opencode may still fork; sweep until nothing is marked
            pids = marked_pids(str(self.root))
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        shutil.rmtree(self.root, ignore_errors=True)


class Outer:
    """The files of the jockey's run."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.events = root / "jockey.ndjson"
        self.sentinel = root / "jockey.done"
        self.stderr = root / "jockey.stderr"
        self.rc = -1
        self.seconds = 0.0

    def end(self) -> dict:
        lines = [json.loads(x) for x in self.events.read_text().split("\n") if x.strip()]
        ends = [e for e in lines if e.get("event") == "session.end"]
        assert ends, "no session.end in the jockey's log" + self.describe()
        return ends[-1]

    def describe(self) -> str:
        err = self.stderr.read_text(errors="replace")[-3000:] if self.stderr.exists() else ""
        sen = self.sentinel.read_text() if self.sentinel.exists() else "(none)"
        return f"\n--- jockey run: exit {self.rc}; sentinel ---\n{sen}\n--- stderr ---\n{err}"


def oc_flags(config: dict) -> dict:
    return {"OPENCODE_CONFIG_CONTENT": json.dumps(config),
            "OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1",
            "OPENCODE_DISABLE_SHARE": "1", "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
            "OPENCODE_DISABLE_CLAUDE_CODE": "1"}


@pytest.fixture
def world(avenor, model_server):
    peers.require_peer("opencode")
    made: list[World] = []

    def make(script: dict, extra_config: dict | None = None) -> World:
        w = World(avenor, model_server(script), extra_config)
        made.append(w)
        return w

    yield make
    for w in made:
        w.cleanup()


def report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n{line}", flush=True)


def bash(command: str, timeout_ms: int | None = None) -> dict:
    args = {"command": command, "description": "avenor dispatch step"}
    if timeout_ms:
        args["timeout"] = timeout_ms
    return {"tool_call": {"name": "bash", "arguments": args}}


def tool_names(request: dict) -> set[str]:
    return {t.get("function", {}).get("name") for t in request["body"].get("tools", [])}


def system_text(request: dict) -> str:
    return json.dumps([m for m in request["body"]["messages"] if m.get("role") == "system"])


def last_tool_result(request: dict) -> str:
    tools = [m for m in request["body"]["messages"] if m.get("role") == "tool"]
    return json.dumps(tools[-1].get("content")) if tools else ""


# ---------------------------------------------------------------------------------------------

def test_opencode_loads_the_pairing(world):
    w = world({"steps": []})
    agents = w.cli("opencode", "agent", "list")
    assert agents.returncode == 0, agents.stderr
    heads = {line.split(" (")[0]: line.split(" (")[1].rstrip(")")
             for line in agents.stdout.splitlines() if line and line[0].isalpha() and " (" in line}
    assert {k: heads.get(k) for k in ("jockey", "horse", "mule", "groom")} == {
        "jockey": "primary", "horse": "all", "mule": "all", "groom": "subagent"}, agents.stdout

    skills = w.cli("opencode", "debug", "skill")
    assert skills.returncode == 0, skills.stderr
    found = {s["name"]: s for s in json.loads(skills.stdout)}
    for name in ("avenor-dispatch", "avenor-dispatch-mcp"):
        assert name in found, sorted(found)
        assert found[name]["location"].endswith(f".opencode/skills/{name}/SKILL.md")
        assert found[name]["description"]

    mcp = w.cli("opencode", "mcp", "list")
    assert mcp.returncode == 0, mcp.stderr
    assert "avenor" in mcp.stdout and "connected" in mcp.stdout, mcp.stdout + mcp.stderr


def test_jockey_cannot_write(world, capsys):
    """The jockey's model tries the write tool, a shell redirect, then an allowed command; only
    the last runs. The model saw the jockey's prompt, both skills, and no edit tools."""
    steps = [
        {"tool_call": {"name": "write", "arguments": {"filePath": "jockey-wrote.txt",
                                                      "content": "x"}}},
        bash("echo hacked > jockey-bash.txt"),
        bash("git status --short"),
        {"reply": "JOCKEY-STOPPED"},
    ]
    w = world({"steps": steps, "side_reply": "Title"})
    out = w.run_jockey("Write jockey-wrote.txt yourself.")
    assert out.rc == 0, out.describe()
    assert out.end()["final_output"].endswith("JOCKEY-STOPPED"), out.describe()
    assert not (w.project / "jockey-wrote.txt").exists(), "the jockey wrote a file"
    assert not (w.project / "jockey-bash.txt").exists(), "the jockey's shell redirect ran"

    mains = w.server.requests(kind="main")
    assert [r["step"] for r in mains] == [0, 1, 2, 3], [r["step"] for r in mains]
    first = mains[0]
    assert "You are the jockey" in system_text(first)
    for name in ("avenor-dispatch", "avenor-dispatch-mcp"):
        assert f"<name>{name}</name>" in system_text(first), "skill not offered: " + name
    tools = tool_names(first)
    assert {"bash", "read", "skill", "task", "avenor_avenor_spawn"} <= tools, sorted(tools)
    assert not tools & {"write", "edit", "apply_patch", "patch"}, sorted(tools)
    task = next(t for t in first["body"]["tools"] if t["function"]["name"] == "task")
    listed = task["function"]["description"]
    assert "- groom:" in listed and "- mule:" not in listed and "- horse:" not in listed, listed
    # what each refused call returned to the model
    assert "unavailable tool 'write'" in last_tool_result(mains[1]), last_tool_result(mains[1])
    assert "prevents you from using this specific tool call" in last_tool_result(mains[2]), \
        last_tool_result(mains[2])
    assert "opencode.json" in last_tool_result(mains[3])  # git status ran
    report(capsys, f"BOUNDARY opencode jockey (write tool, shell redirect refused): "
                   f"{out.seconds:.1f} s")


def test_cli_round_trip(world, capsys):
    """The jockey follows the avenor-dispatch skill literally: avenor run --agent mule, then
    the sentinel's first line and the log's last line; the mule (real opencode as `mule`)
    writes a file and replies with a marker, which reaches the jockey's final answer."""
    label = "t1-mule"
    brief = f"Create {MULE_FILE} containing exactly: {MULE_TEXT}. Then reply {MULE_MARKER}."
    run_cmd = (f"avenor run --backend opencode-acp --agent mule --dir . --prompt '{brief}' "
               f"--on-event .avenor/runs/{label}.ndjson --sentinel-file .avenor/runs/{label}.done "
               f"--permission-policy .avenor/policy.json --timeout 30m")
    steps = [
        bash(run_cmd, timeout_ms=1900000),                                      # jockey
        {"tool_call": {"name": "write", "arguments": {"filePath": MULE_FILE,   # mule
                                                      "content": MULE_TEXT}}},
        {"reply": MULE_MARKER},                                                 # mule
        bash(f"head -n 1 .avenor/runs/{label}.done"),                           # jockey
        bash(f"tail -n 1 .avenor/runs/{label}.ndjson"),                         # jockey
        {"reply_from_tool_result": "Mule reported: "},                          # jockey
    ]
    w = world({"steps": steps, "side_reply": "Title"})
    out = w.run_jockey("Have the mule create the file.")
    why = out.describe() + w.diagnostics()
    assert out.rc == 0, why
    mains = w.server.requests(kind="main")
    assert [r["step"] for r in mains] == list(range(6)), [r["step"] for r in mains]
    # who asked: steps 1-2 came from the mule, the rest from the jockey
    assert ["You are the mule" in system_text(r) for r in mains] == [
        False, True, True, False, False, False], "the mule's requests are not steps 1 and 2"
    assert "write" in tool_names(mains[1]) and "write" not in tool_names(mains[0])
    assert (w.project / MULE_FILE).read_text() == MULE_TEXT
    # mains[3] carries the run's (empty) output, mains[4] the sentinel's first line
    assert last_tool_result(mains[4]).strip('"').startswith("DONE"), last_tool_result(mains[4])
    final = out.end()["final_output"]
    assert "Mule reported: " in final and MULE_MARKER in final, final + why
    sentinel = (w.project / ".avenor" / "runs" / f"{label}.done").read_text().split("\n")
    assert sentinel[0] == "DONE", sentinel
    dispatch = mains[3]["time"] - mains[0]["time"]
    report(capsys, f"ROUND TRIP opencode jockey -> avenor run (CLI skill) -> opencode mule: "
                   f"{out.seconds:.1f} s jockey run; {dispatch:.1f} s from the avenor run call "
                   f"to its tool result")


def test_mcp_round_trip(world, model_server, capsys):
    """The jockey follows avenor-dispatch-mcp: avenor_avenor_spawn (agent mule, the template's
    policy file) and avenor_avenor_result through the opencode.json `mcp.avenor` server; the
    mule (real opencode, second model server) writes a file and replies with a marker that
    reaches the jockey's final answer."""
    label = "t2-mule"
    sub = model_server({"steps": [
        {"tool_call": {"name": "write", "arguments": {"filePath": MULE_FILE,
                                                      "content": MULE_TEXT}}},
        {"reply": MULE_MARKER}], "side_reply": "Sub"})
    spawn = {"repo_dir": ".", "label": label, "agent": "mule", "backend": "opencode-acp",
             "prompt": f"Create {MULE_FILE} containing exactly: {MULE_TEXT}. "
                       f"Then reply {MULE_MARKER}.",
             "permission_policy": ".avenor/policy.json", "timeout": "30m"}
    result = {"tool_call": {"name": "avenor_avenor_result", "arguments": {"run_id": label}}}
    steps = [{"tool_call": {"name": "avenor_avenor_spawn", "arguments": spawn}},
             result,
             result,  # a second look: the same answer once the run is over (one wait ≤ 50 s)
             {"reply_from_tool_result": "Mule reported: "}]
    # OpenCode validates each config layer whole, so the test's layer repeats the template's
    # mcp.avenor entry (read from templates/…/opencode.json) and adds only an environment:
    # avenor mcp, its supervisor and the mule's opencode talk to the second model server.
    template_entry = json.loads((TEMPLATE / "opencode.json").read_text())["mcp"]["avenor"]
    w = world({"steps": steps, "side_reply": "Title"})
    mcp_env = {**oc_flags(peers.opencode_config(sub.base_url)), MARK_VAR: str(w.root)}
    w.env["OPENCODE_CONFIG_CONTENT"] = json.dumps(
        {**peers.opencode_config(w.server.base_url),
         "mcp": {"avenor": {**template_entry, "environment": mcp_env}}})
    out = w.run_jockey("Have the mule create the file, through the avenor MCP tools.")
    why = out.describe() + w.diagnostics()
    assert out.rc == 0, why
    mains = w.server.requests(kind="main")
    assert [r["step"] for r in mains] == [0, 1, 2, 3], [r["step"] for r in mains]
    spawned = json.loads(json.loads(last_tool_result(mains[1])))
    assert spawned["label"] == label and spawned["session_id"].startswith("ses_"), spawned
    got = json.loads(json.loads(last_tool_result(mains[3])))
    assert (got["status"], got["ready"]) == ("done", True), got
    assert got["output"].endswith(MULE_MARKER), got
    final = out.end()["final_output"]
    assert "Mule reported: " in final and MULE_MARKER in final, final + why
    assert (w.project / MULE_FILE).read_text() == MULE_TEXT
    sub_mains = sub.requests(kind="main")
    assert len(sub_mains) == 2 and "You are the mule" in system_text(sub_mains[0]), \
        [system_text(r)[:200] for r in sub_mains]
    dispatch = mains[3]["time"] - mains[0]["time"]
    report(capsys, f"ROUND TRIP opencode jockey -> avenor mcp (MCP skill) -> opencode mule: "
                   f"{out.seconds:.1f} s jockey run; {dispatch:.1f} s from avenor_avenor_spawn "
                   f"to the final avenor_avenor_result")


def test_groom_runs_only_avenor(world, capsys):
    """The jockey hands a command to the hidden groom (task tool); the groom's shell may run
    `avenor …` and nothing else, and it has no write tool."""
    steps = [
        {"tool_call": {"name": "task", "arguments": {                         # jockey
            "subagent_type": "groom", "description": "run avenor",
            "prompt": "Run: avenor version"}}},
        bash("touch groom-wrote.txt"),                                        # groom
        bash("avenor version"),                                               # groom
        {"reply_from_tool_result": "GROOM-RAN: "},                            # groom
        {"reply_from_tool_result": "Groom said: "},                           # jockey
    ]
    w = world({"steps": steps, "side_reply": "Title"})
    out = w.run_jockey("Ask the groom for avenor's version.")
    why = out.describe()
    assert out.rc == 0, why
    mains = w.server.requests(kind="main")
    assert [r["step"] for r in mains] == [0, 1, 2, 3, 4], [r["step"] for r in mains]
    assert ["You are the groom" in system_text(r) for r in mains] == [
        False, True, True, True, False]
    assert not tool_names(mains[1]) & {"write", "edit", "task"}, sorted(tool_names(mains[1]))
    assert "prevents you from using this specific tool call" in last_tool_result(mains[2])
    assert not (w.project / "groom-wrote.txt").exists(), "the groom ran a non-avenor command"
    version = w.cli(w.avenor, "version").stdout.strip()
    assert version and version in last_tool_result(mains[3]), last_tool_result(mains[3])
    final = out.end()["final_output"]
    assert "Groom said: " in final and "GROOM-RAN: " in final and version in final, final
    report(capsys, f"BOUNDARY opencode groom (only avenor commands): {out.seconds:.1f} s")


def test_mule_permissions_follow_policy_and_answer(world, capsys):
    """The skill's commands, literally, for a run whose agent asks: `.avenor/policy.json`
    passes an unlisted command on to the file handler, which the skill's `avenor answer
    .avenor/runs/<label>.perm --option once` allows, and rejects `git commit` (opencode then ends
    the turn); `avenor watch --follow --until-end --classify` reads the whole log."""
    label = "t3-mule"
    steps = [bash("printf 'ANSWERED-%d\\n' 7"),
             bash("git commit -m sneaky"),
             {"reply": "NEVER-ASKED-FOR"}]  # opencode ends the turn on a rejection
    w = world({"steps": steps, "side_reply": "Title"})
    runs = w.project / ".avenor" / "runs"
    argv = [w.avenor, "run", "--backend", "opencode-acp", "--agent", "mule", "--dir", ".",
            "--prompt", "Commit, then print the marker.",
            "--on-event", f".avenor/runs/{label}.ndjson",
            "--sentinel-file", f".avenor/runs/{label}.done",
            "--permission-policy", ".avenor/policy.json", "--timeout", "30m"]
    t0 = time.monotonic()
    with open(w.root / "mule.stderr", "wb") as err:
        proc = subprocess.Popen(argv, env=w.env, cwd=w.project, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        request = runs / f"{label}.perm.req"
        deadline = time.monotonic() + RUN_TIMEOUT
        while not request.exists():
            assert proc.poll() is None, "the run ended without asking: " + \
                (w.root / "mule.stderr").read_text() + w.diagnostics()
            assert time.monotonic() < deadline, "no permission request file" + w.diagnostics()
            time.sleep(0.1)
        assert "ANSWERED" in request.read_text(), request.read_text()
        answer = w.cli("avenor", "answer", f".avenor/runs/{label}.perm", "--option", "once")
        assert answer.returncode == 0, answer.stderr
        rc = proc.wait(timeout=RUN_TIMEOUT)
    finally:
        if proc.poll() is None:
            killpg_quietly(proc.pid)
            proc.wait()
    stderr = (w.root / "mule.stderr").read_text()
    assert rc == 0, stderr + w.diagnostics()
    # the run names the base absolutely; the skill's project-relative form answered it above
    assert f"answer with: avenor answer {runs / label}.perm --option <id>" in stderr, stderr
    assert (runs / f"{label}.done").read_text().split("\n")[0] == "DONE"
    events = [json.loads(x) for x in (runs / f"{label}.ndjson").read_text().split("\n") if x]
    answers = [(e["source"], e["kind"]) for e in events if e["event"] == "permission.response"]
    assert answers == [("file", "allow"), ("policy", "reject")], answers
    mains = w.server.requests(kind="main")
    assert [r["step"] for r in mains] == [0, 1], [r["step"] for r in mains]
    assert "ANSWERED-7" in last_tool_result(mains[1]), last_tool_result(mains[1])
    updates = [e for e in events if e["event"] == "tool.call_update" and
               e.get("title") == "git commit -m sneaky" and e.get("status") == "failed"]
    assert updates and "rejected" in json.dumps(updates[-1]["content"]), updates
    assert events[-1]["event"] == "session.end"
    watch = w.cli("avenor", "watch", "--follow", "--until-end", "--classify",
                  f".avenor/runs/{label}.ndjson", timeout=60)
    assert watch.returncode == 0 and watch.stdout.strip(), watch.stderr
    report(capsys, f"PERMISSIONS opencode mule under .avenor/policy.json + avenor answer: "
                   f"{time.monotonic() - t0:.1f} s")
