"""The template pairing templates/codex-to-opencode (issue 14) with the REAL Codex 0.169.0 as the
dispatcher and the REAL `opencode acp` as the dispatched agent, both on scripted models
(127.0.0.1 only).

The pairing is copied into the project exactly as a user would (its files sit in the project
root) and codex runs there with `codex exec --trust` (Codex reads a project's .codex/config.toml
only in a trusted project). Each test checks what the real CLI makes of the files:

* codex lists both skills (.agents/skills/*/SKILL.md) to its model and applies the sandbox of
  .codex/config.toml (workspace-write, network on);
* MCP style: codex calls avenor_spawn/avenor_result of the template's [mcp_servers.avenor];
  opencode runs as the `mule` agent of .opencode/agents/ under .avenor/policy.json;
* CLI style: the scripted model runs the skill avenor-dispatch's shell commands literally (read
  from the SKILL.md) inside codex's sandbox: avenor run -> opencode -> the sentinel's first line
  and the final text from `avenor watch`;
* the boundary: a write outside the project and opencode's folders is refused by the sandbox.

Real peers: codex, opencode (skipped, SKIPPED-PEER, when missing). Each round trip prints its
duration.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

import peer_codex
import peers
from mcp_peers import LABEL, REPLY_PREFIX, SUB_MARKER, SUB_PROMPT, dispatch_seconds, report, \
    run_cli
from mcp_peers import dispatch  # noqa: F401  (the fixture)

PAIRING = peers.repo_root() / "templates" / "codex-to-opencode"
SKILLS = {"avenor-dispatch": PAIRING / ".agents/skills/avenor-dispatch/SKILL.md",
          "avenor-dispatch-mcp": PAIRING / ".agents/skills/avenor-dispatch-mcp/SKILL.md"}
ROLES = ("jockey", "horse", "mule", "groom")
NAMESPACE = "mcp__avenor"
PROMPT = "Dispatch the sub-task to an OpenCode mule through avenor."


# ---------------------------------------------------------------------------
# The pairing's files
# ---------------------------------------------------------------------------

def front_matter(path: Path) -> dict:
    """The `key: value` lines between the leading `---` lines."""
    text = path.read_text()
    assert text.startswith("---\n"), f"{path}: no front matter"
    head = text[4:text.index("\n---\n", 4)]
    out = {}
    for line in head.splitlines():
        if line and not line[0].isspace() and ":" in line:
            key, value = line.split(":", 1)
            out[key.strip()] = value.strip()
    return out


def shell_blocks(path: Path) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", path.read_text(), re.S)


def install(project: Path) -> None:
    """The pairing's files into the project root, as a user copies them."""
    shutil.copytree(PAIRING, project, dirs_exist_ok=True)


def avenor_on_path(avenor: str, tmp_path: Path, env: dict) -> dict:
    """`avenor` as the skills and the config name it: a bin dir first on PATH."""
    bin_dir = tmp_path / "avenor-bin"
    bin_dir.mkdir(exist_ok=True)
    link = bin_dir / "avenor"
    if not link.exists():
        link.symlink_to(avenor)
    out = {**env, "PATH": os.pathsep.join([str(bin_dir), env["PATH"]])}
    if os.environ.get("AVENOR_PLUGIN_DIR"):
        out["AVENOR_PLUGIN_PATH"] = str(Path(os.environ["AVENOR_PLUGIN_DIR"]).resolve())
    # codex runs commands in a login shell (bash -lc), whose /etc/profile resets PATH: the
    # user's ~/.profile puts avenor (and opencode) back, as a user's own setup does
    (Path(env["HOME"]) / ".profile").write_text(f"export PATH={json.dumps(out['PATH'])}\n")
    return out


def codex_exec(codex: str, project: Path, *extra: str) -> list[str]:
    last = project.parent / "last-message.txt"
    return [codex, "exec", "--trust", "--json", "--output-last-message", str(last), *extra,
            "-C", str(project), PROMPT]


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def items(events: list[dict], kind: str) -> list[dict]:
    return [e["item"] for e in events if e.get("type") == "item.completed"
            and e.get("item", {}).get("type") == kind]


def instructions(body: dict) -> str:
    """The developer/user text codex put before the prompt (skills, permissions)."""
    return json.dumps(body.get("input", []))


def tool_outputs(body: dict) -> list[str]:
    return [str(i.get("output")) for i in body.get("input", [])
            if i.get("type") == "function_call_output"]


def exec_step(cmd: str) -> dict:
    """The scripted model runs `cmd` with codex's shell tool, waiting the longest codex allows
    (30 s) before the tool returns: an `avenor run` ends within it."""
    return {"tool_call": {"name": "exec_command",
                          "arguments": {"cmd": cmd, "yield_time_ms": 30000}}}


def opencode_folders(home: Path) -> None:
    """opencode's folders that .codex/config.toml names as writable roots: they exist in a home
    where opencode has run (codex cannot make a missing root writable)."""
    config = tomllib.loads((PAIRING / ".codex/config.toml").read_text())
    for root in config["sandbox_workspace_write"]["writable_roots"]:
        assert root.startswith("~/"), root
        (home / root[2:]).mkdir(parents=True, exist_ok=True)


def test_pairing_files_are_well_formed():
    for name, path in SKILLS.items():
        fm = front_matter(path)
        assert fm.get("name") == name == path.parent.name, (path, fm)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) and len(name) <= 64, name
        assert 0 < len(fm.get("description", "")) <= 1024, (path, fm)
    config = tomllib.loads((PAIRING / ".codex/config.toml").read_text())
    assert config["sandbox_mode"] == "workspace-write", config
    assert config["sandbox_workspace_write"]["network_access"] is True, config
    assert config["mcp_servers"]["avenor"]["command"] == "avenor", config
    assert config["mcp_servers"]["avenor"]["args"] == ["mcp"], config
    policy = json.loads((PAIRING / ".avenor/policy.json").read_text())
    assert policy["rules"] and policy["default"] == "ask", policy
    # the role prompts are written once, in opencode-to-opencode, and copied unchanged
    source = PAIRING.parent / "opencode-to-opencode" / ".opencode/agents"
    for role in ROLES:
        copy = PAIRING / ".opencode/agents" / f"{role}.md"
        assert copy.is_file(), role
        assert copy.read_bytes() == (source / f"{role}.md").read_bytes(), \
            f"{copy} differs from {source / f'{role}.md'}: copy it again"
    # the CLI skill's commands name only files of the pairing or of .avenor/
    commands = "".join(shell_blocks(SKILLS["avenor-dispatch"]))
    assert "$$" not in commands and "--permission-policy .avenor/policy.json" in commands


def test_avenor_accepts_the_policy(avenor, tmp_path):
    """The policy file parses: avenor gets past the policy check to starting the backend."""
    done = tmp_path / "p.done"
    r = subprocess.run([avenor, "run", "--backend", "opencode-acp", "--prompt", "x",
                        "--permission-policy", str(PAIRING / ".avenor/policy.json"),
                        "--sentinel-file", str(done)],
                       env={"PATH": str(tmp_path / "nothing")}, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and "needs \"opencode\" on PATH" in r.stderr, r.stderr


@pytest.fixture
def codex():
    return peers.require_peer("codex")


# ---------------------------------------------------------------------------
# (1) codex loads the pairing, (4) the sandbox boundary holds
# ---------------------------------------------------------------------------

def test_codex_sees_skills_and_sandbox(codex, dispatch, tmp_path, model_server, avenor):
    """One codex exec in a project holding the pairing: it accepts the config (strictly), the
    model is offered both skills (name and description from the front matter), codex says its sandbox is workspace-write with
    network, and a shell write outside the project (into $HOME) is refused while one into the
    project and into opencode's data folder succeeds."""
    d = dispatch
    outside = "outside-boundary.txt"
    probe = (f"touch ~/{outside}; touch inside.txt && echo INSIDE-OK; "
             f"touch ~/.local/share/opencode/probe && echo OPENCODE-DATA-OK")
    server = model_server({"steps": [exec_step(probe), {"reply_from_tool_result": "Got: "}]})
    env = peer_codex.codex_env(tmp_path, server)
    install(env.project)
    opencode_folders(env.home)
    # --strict-config: codex refuses a config key it does not know
    run = run_cli(codex_exec(codex, env.project, "--strict-config"),
                  avenor_on_path(avenor, tmp_path, env.env), env.project, d, "codex exec")
    assert run.returncode == 0, "codex exec failed" + run.describe()

    mains = server.requests(kind="main")
    text = instructions(mains[0]["body"])
    for name, path in SKILLS.items():
        entry = f"- {name}: {front_matter(path)['description']}"
        assert json.dumps(entry)[1:-1] in text, f"codex did not list skill {name}: {text[:3000]}"
    assert "`sandbox_mode` is `workspace-write`" in text, text[:3000]
    assert "Network access is enabled" in text, text[:3000]

    out = "".join(tool_outputs(mains[1]["body"]))
    assert "Read-only file system" in out and "INSIDE-OK" in out and "OPENCODE-DATA-OK" in out, \
        out
    assert not (env.home / outside).exists(), "the sandbox let a write into $HOME through"
    assert (env.project / "inside.txt").exists()


# ---------------------------------------------------------------------------
# (2) MCP round trip
# ---------------------------------------------------------------------------

def mcp_overrides(d) -> list[str]:
    """`-c` overrides pointing the template's [mcp_servers.avenor] at this test's world (its
    supervisor socket and opencode's scripted env); every other key stays the template's."""
    command, args, env = d.mcp_server()
    table = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in sorted(env.items()))
    return ["-c", f"mcp_servers.avenor.command={json.dumps(command)}",
            "-c", f"mcp_servers.avenor.args={json.dumps(args)}",
            "-c", f"mcp_servers.avenor.env={{{table}}}"]


def test_mcp_round_trip(codex, dispatch, tmp_path, model_server, avenor, capsys):
    d = dispatch
    # the sub-agent works in the codex project, which holds the pairing (.opencode/agents)
    project = tmp_path / "codex" / "project"  # codex_env's project (peers.base_env)
    spawn = {"repo_dir": str(project), "backend": "opencode-acp", "agent": "mule",
             "label": LABEL, "prompt": SUB_PROMPT,
             "permission_policy": str(project / ".avenor/policy.json"), "timeout": "30m"}
    server = model_server({"steps": [
        {"tool_call": {"namespace": NAMESPACE, "name": "avenor_spawn", "arguments": spawn}},
        {"tool_call": {"namespace": NAMESPACE, "name": "avenor_result",
                       "arguments": {"run_id": LABEL, "wait": True}}},
        {"reply_from_tool_result": REPLY_PREFIX}]})
    env = peer_codex.codex_env(tmp_path, server)
    assert env.project == project, env.project
    install(project)
    run = run_cli(codex_exec(codex, project, *mcp_overrides(d)), env.env, project, d,
                  "codex exec")
    why = run.describe() + d.diagnostics()
    assert run.returncode == 0, "codex exec failed" + why
    events = jsonl(run.stdout)
    calls = items(events, "mcp_tool_call")
    assert [(c["server"], c["tool"], c["status"]) for c in calls] == [
        ("avenor", "avenor_spawn", "completed"), ("avenor", "avenor_result", "completed")], \
        f"codex's MCP calls: {calls}" + why
    got = calls[1]["result"]["structured_content"]
    assert (got["status"], got["ready"], got["output"]) == ("done", True, SUB_MARKER), got
    messages = [i["text"] for i in items(events, "agent_message")]
    assert messages and SUB_MARKER in messages[-1], messages

    mains = server.requests(kind="main")
    groups = {t["name"]: t for t in mains[0]["body"]["tools"] if t.get("type") == "namespace"}
    assert NAMESPACE in groups, f"no {NAMESPACE} namespace among {sorted(groups)}"
    d.check_sub_agent()
    check_ran_as_mule(d.sub_server)
    d.world.wait_no_servers("after codex exec exited")
    report(capsys, f"ROUND TRIP templates/codex-to-opencode MCP (codex exec -> avenor mcp -> "
                   f"opencode acp --agent mule): {run.seconds:.1f} s codex start to exit; "
                   f"{dispatch_seconds(mains):.1f} s avenor_spawn to avenor_result")


def check_ran_as_mule(sub_server) -> None:
    """opencode's model request carries the mule prompt's body (its first non-empty line)."""
    text = (PAIRING / ".opencode/agents/mule.md").read_text()
    body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text
    line = next(l.strip() for l in body.splitlines() if l.strip())
    sent = json.dumps(sub_server.requests(kind="main")[0]["body"])
    assert json.dumps(line)[1:-1] in sent, \
        f"opencode's request lacks mule.md's prompt line {line!r}: {sent[:2000]}"


# ---------------------------------------------------------------------------
# (3) CLI round trip: the skill's commands, literally
# ---------------------------------------------------------------------------

def skill_commands() -> tuple[str, str, str, str]:
    """(write the brief, run, follow the progress, read the result) from avenor-dispatch's
    SKILL.md, with the placeholders filled in."""
    blocks = [b.replace("<label>", LABEL).replace("<the brief>", SUB_PROMPT).strip()
              for b in shell_blocks(SKILLS["avenor-dispatch"])]
    brief = next(b for b in blocks if b.startswith("mkdir -p .avenor/briefs"))
    run = next(b for b in blocks if b.startswith("avenor run") and "--resume" not in b)
    follow = next(b for b in blocks if "--follow --until-end --classify" in b)
    result = next(b for b in blocks if "--format json" in b)
    assert "--agent mule" in run, run
    return brief, run, follow, result


def test_cli_round_trip(codex, dispatch, tmp_path, model_server, avenor, capsys):
    d = dispatch
    brief, run_cmd, follow_cmd, result_cmd = skill_commands()
    # the follow command twice: when the run outlasts codex's 30 s yield (a loaded machine),
    # the model follows it as the skill says; once it ended, the command returns at once
    server = model_server({"steps": [exec_step(brief), exec_step(run_cmd), exec_step(follow_cmd),
                                     exec_step(follow_cmd), exec_step(result_cmd),
                                     {"reply_from_tool_result": REPLY_PREFIX}]})
    env = peer_codex.codex_env(tmp_path, server)
    install(env.project)
    opencode_folders(env.home)
    # opencode (started by avenor run inside codex's sandbox) talks to the sub-agent's model
    cli_env = avenor_on_path(avenor, tmp_path, env.env)
    cli_env.update({k: v for k, v in d.world.env.items() if k.startswith("OPENCODE_")})
    run = run_cli(codex_exec(codex, env.project), cli_env, env.project, d, "codex exec")
    runs = env.project / ".avenor/runs"
    why = run.describe() + "".join(
        f"\n--- {p.name} ---\n{p.read_text(errors='replace')[-2000:]}"
        for p in sorted(runs.glob("*")) if p.is_file())
    assert run.returncode == 0, "codex exec failed" + why

    mains = server.requests(kind="main")
    assert [r["step"] for r in mains] == [0, 1, 2, 3, 4, 5], [r["step"] for r in mains]
    ran = tool_outputs(mains[2]["body"])[-1]
    in_time = ran.strip().splitlines()[-1] == "DONE"
    assert in_time or "Process running with session ID" in ran, \
        f"the run command's output: {ran}" + why
    done = (runs / f"{LABEL}.done").read_text().splitlines()
    assert done[0] == "DONE", done
    # the progress command returns by itself once the run is over, with the end as a
    # milestone and the sentinel's first line
    follow = tool_outputs(mains[4]["body"])[-1]
    assert "MILESTONE EVENT session.end" in follow and "stop_reason=end_turn" in follow, follow
    assert follow.strip().splitlines()[-1] == "DONE", follow
    read = tool_outputs(mains[5]["body"])[-1]
    end = json.loads(read.strip().splitlines()[-1])
    assert end["event"] == "session.end" and end["final_output"] == SUB_MARKER, end
    messages = [i["text"] for i in items(jsonl(run.stdout), "agent_message")]
    assert messages and messages[-1].startswith(REPLY_PREFIX) and SUB_MARKER in messages[-1], \
        messages
    d.check_sub_agent()
    check_ran_as_mule(d.sub_server)
    times = {r["step"]: r["time"] for r in mains}
    report(capsys, f"ROUND TRIP templates/codex-to-opencode CLI (codex exec -> shell avenor run "
                   f"-> opencode acp --agent mule): {run.seconds:.1f} s codex start to exit; "
                   f"{times[2] - times[1]:.1f} s in the avenor run command"
                   f"{'' if in_time else ' (it outlasted codex 30 s yield; followed)'}")


# ---------------------------------------------------------------------------
# The OpenCode side: the roles load, and the jockey cannot write
# ---------------------------------------------------------------------------

def test_opencode_sees_the_roles(tmp_path, model_server):
    """`opencode agent list` in a project holding the pairing lists the four roles."""
    opencode = peers.require_peer("opencode")
    oc = peers.opencode_env(tmp_path, model_server({"steps": []}))
    install(oc.project)
    r = subprocess.run([opencode, "agent", "list"], env=oc.env,
                       cwd=oc.project, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-2000:]
    modes = dict(re.findall(r"^(\S+) \((\w+)\)$", r.stdout, re.M))
    assert {k: modes.get(k) for k in ROLES} == {
        "jockey": "primary", "horse": "all", "mule": "all", "groom": "subagent"}, r.stdout[:3000]


def test_jockey_dispatched_cannot_write(dispatch, tmp_path, model_server, avenor, capsys):
    """Codex dispatches to the OpenCode jockey with the skill's run command (--agent jockey):
    the jockey's model tries the write tool and a shell redirect; OpenCode's rules refuse both,
    the run still ends DONE."""
    brief, run_cmd, _, _ = skill_commands()
    server = model_server({"steps": [
        {"tool_call": {"name": "write", "arguments": {"filePath": "jockey-wrote.txt",
                                                      "content": "x"}}},
        {"tool_call": {"command": "echo hacked > jockey-bash.txt"}},
        {"reply": "JOCKEY-STOPPED"}], "side_reply": "Title"})
    oc = peers.opencode_env(tmp_path, server)
    install(oc.project)
    env = avenor_on_path(avenor, tmp_path, oc.env)
    env = dispatch.cli_env(env)   # teardown sweeps what is left
    t0 = time.monotonic()
    r = subprocess.run(["bash", "-c", brief + "\n" + run_cmd.replace("--agent mule",
                                                                    "--agent jockey")],
                       env=env, cwd=oc.project, capture_output=True, text=True, timeout=300,
                       stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - t0
    runs = oc.project / ".avenor/runs"
    why = f"\nstdout: {r.stdout}\nstderr: {r.stderr}\n" + "".join(
        f"\n--- {p.name} ---\n{p.read_text(errors='replace')[-3000:]}"
        for p in sorted(runs.glob("*")) if p.is_file())
    assert r.stdout.strip() == "DONE", why
    assert not (oc.project / "jockey-wrote.txt").exists(), "the jockey wrote a file" + why
    assert not (oc.project / "jockey-bash.txt").exists(), "the jockey's redirect ran" + why
    ends = [json.loads(l) for l in (runs / f"{LABEL}.ndjson").read_text().splitlines()
            if '"session.end"' in l]
    assert ends and ends[-1]["final_output"].endswith("JOCKEY-STOPPED"), ends
    report(capsys, f"ROUND TRIP templates/codex-to-opencode jockey boundary (avenor run -> "
                   f"opencode acp --agent jockey, 2 refused writes): {seconds:.1f} s")
