"""The template pack's Claude Code pairings (issue 14), driven with the REAL Claude Code 2.1.197
as the dispatcher: templates/claude-code-to-opencode (target: the real `opencode acp`) and
templates/claude-code-to-codex (target: the real `codex app-server`).

Each test copies a pairing's files unchanged into a fresh project (a git repository under a
short /tmp root, so socket paths stay short), marks the project trusted in claude's config dir
(as accepting the trust dialog once would: without it claude -p ignores the project's
permissions.allow) and runs `claude -p --output-format stream-json` in it against scripted model
server 1 (Anthropic Messages). The target agent runs against scripted model server 2.

* loads: claude sees both skills and the connected `avenor` server from the template's
  .mcp.json; the model calls the Skill tool and gets the skill text; the permission boundary
  holds: `rm -rf x` (a deny rule) and a Write outside .avenor/runs (no allow rule) are refused
  and reported in the result's permission_denials, and nothing is changed. For the OpenCode
  pairing `opencode agent list` lists the four role agents.
* CLI round trip: the model follows skill avenor-dispatch literally: the commands are taken
  from the SKILL.md code blocks with only <label> filled in (Write the brief, `avenor run` in the
  foreground, `head -n 1` of the sentinel, `avenor watch --format json`), all allowed by the
  template's .claude/settings.json; its final answer carries the target's marker.
* dispatched agent's boundary (CLI style): the target tries `rm -rf keep`; opencode refuses it
  by the pairing's opencode.json, codex's request to leave its sandbox is rejected by the
  pairing's .avenor/policy.json; `keep` survives and the run still ends DONE.
* MCP permission answer: a request no policy rule decides reaches the model through
  avenor_result (pending_permission) and is answered with avenor_answer_permission using the
  option id the skill shows (opencode `once`, codex `allow`).
* MCP round trip: the model calls mcp__avenor__avenor_spawn / avenor_result as skill
  avenor-dispatch-mcp shows, allowed by the template's settings (no --allowedTools). The
  template's .mcp.json is used with `avenor mcp` given a short --control-socket and
  --max-wait (the only change; `avenor` comes from PATH as in the template).

Real peers: claude plus opencode or codex (skipped, SKIPPED-PEER, when missing). Only 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import peer_claude
import peer_codex
import peers
from mcp_harness import McpWorld
from mcp_peers import CliRun, report
from stable_harness import MARK_VAR, killpg_quietly

TEMPLATES = peers.repo_root() / "templates"
PAIRINGS = {"claude-code-to-opencode": "opencode", "claude-code-to-codex": "codex"}
BACKEND = {"opencode": "opencode-acp", "codex": "codex-app-server"}
SUB_MARKER = "TEMPLATE-SUBAGENT-MARKER-7713"   # the target's scripted reply; in no prompt
SUB_PROMPT = "Sub-task from the template test: reply with your completion marker."
REPLY_PREFIX = "Sub-agent said: "
LABEL = "task-1"
CLI_TIMEOUT = 400.0
ROLES = ("jockey", "horse", "mule", "groom")


class World:
    """A short /tmp root (an McpWorld: its processes carry the marker and are swept at
    teardown) holding the project with the pairing's files, claude's env merged with the
    target's (opencode's OPENCODE_* config, or CODEX_HOME), `avenor` first on PATH."""

    def __init__(self, pairing: str, avenor: str, tmp_path: Path, model_server,
                 sub_steps: list | None = None):
        self.pairing = pairing
        self.target = PAIRINGS[pairing]
        peers.require_peer("claude")
        peers.require_peer(self.target)
        self.sub_server = model_server({"steps": (sub_steps or []) + [{"reply": SUB_MARKER}],
                                        "side_reply": "Sub-task"})
        if self.target == "opencode":
            target_env = peers.opencode_env(tmp_path / "sub", self.sub_server).env
            extra = {k: v for k, v in target_env.items() if k.startswith("OPENCODE_")}
        else:
            target_env = peer_codex.codex_env(tmp_path / "sub", self.sub_server).env
            extra = {k: target_env[k] for k in ("CODEX_HOME", "FAKE_API_KEY")}
        self.tmp_path = tmp_path
        self.extra = extra
        self.avenor = avenor
        self.world: McpWorld | None = None

    def start(self) -> None:
        """Builds the world and the project; the dispatcher's model server comes later
        (use_server), once the script can name the project's paths."""
        placeholder = type("NoServer", (), {"base_url": "http://127.0.0.1:9"})()
        env = peer_claude.claude_env(self.tmp_path, placeholder)
        env.env.update(self.extra)
        env.env.update({"MCP_TOOL_TIMEOUT": "600000", "MCP_TIMEOUT": "60000"})
        env.env["PATH"] = f"{Path(self.avenor).resolve().parent}{os.pathsep}{env.env['PATH']}"
        self.world = McpWorld(self.avenor, env=env.env, fake=False)
        self.env = self.world.env
        self.project = self.world.work / "project"
        shutil.copytree(TEMPLATES / self.pairing, self.project)
        subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(self.project)],
                       check=True, timeout=30, env=self.env, stdout=subprocess.DEVNULL)
        config_dir = Path(self.env["CLAUDE_CONFIG_DIR"])
        (config_dir / ".claude.json").write_text(json.dumps(
            {"projects": {str(self.project): {"hasTrustDialogAccepted": True}}}))
        if self.target == "codex":  # codex reads the project's .codex/config.toml when trusted
            cfg = Path(self.env["CODEX_HOME"]) / "config.toml"
            cfg.write_text(cfg.read_text() +
                           f'\n[projects.{json.dumps(str(self.project))}]\n'
                           'trust_level = "trusted"\n')

    def use_server(self, server: peers.ModelServer) -> None:
        self.env["ANTHROPIC_BASE_URL"] = server.base_url

    def use_mcp_socket(self) -> None:
        """The template's .mcp.json with a short supervisor socket and a long --max-wait."""
        path = self.project / ".mcp.json"
        cfg = json.loads(path.read_text())
        entry = cfg["mcpServers"]["avenor"]
        assert (entry["command"], entry["args"]) == ("avenor", ["mcp"]), entry
        entry["args"] = ["mcp", "--control-socket", str(self.world.sock), "--max-wait", "240s"]
        path.write_text(json.dumps(cfg, indent=1))

    def claude(self, prompt: str, timeout: float = CLI_TIMEOUT) -> CliRun:
        argv = [peers.peers_bin("claude"), "-p", prompt, "--output-format", "stream-json",
                "--verbose", "--model", peer_claude.MODEL]
        out_path, err_path = self.world.root / "claude.stdout", self.world.root / "claude.stderr"
        t0 = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(argv, env={**self.env, MARK_VAR: str(self.world.root)},
                                    cwd=str(self.project), stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, start_new_session=True)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                killpg_quietly(proc.pid, signal.SIGKILL)
                proc.wait()
                rc = None
        run = CliRun(argv, -9 if rc is None else rc, out_path.read_text(errors="replace"),
                     err_path.read_text(errors="replace"), time.monotonic() - t0)
        if rc is None:
            raise AssertionError(f"claude -p did not finish within {timeout} s" +
                                 run.describe() + self.diagnostics())
        return run

    def diagnostics(self) -> str:
        runs = self.project / ".avenor" / "runs"
        files = "".join(f"\n--- {p.name} ---\n{p.read_text(errors='replace')[-1500:]}"
                        for p in sorted(runs.glob("*"))) if runs.exists() else ""
        return files + (self.world.diagnostics() if self.world else "")

    def cleanup(self) -> None:
        if self.world:
            self.world.cleanup()


@pytest.fixture
def make_world(avenor, tmp_path, model_server):
    made: list[World] = []

    def make(pairing: str, sub_steps: list | None = None) -> World:
        w = World(pairing, avenor, tmp_path, model_server, sub_steps)
        made.append(w)
        return w

    yield make
    for w in made:
        w.cleanup()


def skill_text(pairing: str, name: str) -> str:
    return (TEMPLATES / pairing / ".claude" / "skills" / name / "SKILL.md").read_text()


def skill_command(pairing: str, name: str, starts: str) -> str:
    """The one line of a ```sh block of the skill that starts with `starts`, <label> filled."""
    blocks = re.findall(r"```sh\n(.*?)```", skill_text(pairing, name), re.S)
    lines = [ln for b in blocks for ln in b.splitlines() if ln.startswith(starts)]
    assert lines, f"no `{starts}…` command in {pairing}'s skill {name}"
    return lines[0].replace("<label>", LABEL)


def init_line(lines: list[dict]) -> dict:
    init = next((x for x in lines if x.get("type") == "system" and x.get("subtype") == "init"),
                None)
    assert init, "no init line in claude's stream-json"
    return init


def bash(command: str, timeout_ms: int | None = None) -> dict:
    args = {"command": command, "description": "template step"}
    if timeout_ms:
        args["timeout"] = timeout_ms
    return {"tool_call": {"name": "Bash", "arguments": args}}


# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pairing", sorted(PAIRINGS))
def test_claude_loads_pairing_and_boundary_holds(pairing, make_world, model_server):
    w = make_world(pairing)
    w.start()
    server = model_server({"model": peer_claude.MODEL, "steps": [
        {"tool_call": {"name": "Skill", "arguments": {"skill": "avenor-dispatch"}}},
        bash("rm -rf keep"),
        # a Write to the project root, outside .avenor/runs
        {"tool_call": {"name": "Write", "arguments": {"file_path": str(w.project / "notes.txt"),
                                                      "content": "jockey wrote this\n"}}},
        {"reply": "done"}]})
    w.use_server(server)
    (w.project / "keep").mkdir()
    (w.project / "keep" / "file").write_text("x")

    run = w.claude("Check the dispatch setup.")
    why = run.describe() + w.diagnostics()
    assert run.returncode == 0, "claude -p failed" + why
    assert "Ignoring" not in run.stderr and "Invalid" not in run.stderr, \
        "claude complained about the template's settings" + why
    lines = peer_claude.stream_json_lines(run.stdout)
    init = init_line(lines)
    assert {"avenor-dispatch", "avenor-dispatch-mcp"} <= set(init.get("skills", [])), \
        f"claude does not see the skills: {init.get('skills')}" + why
    assert {"name": "avenor", "status": "connected"} in [
        {k: s.get(k) for k in ("name", "status")} for s in init.get("mcp_servers", [])], \
        f"the template's .mcp.json server is not connected: {init.get('mcp_servers')}" + why

    # the model was told about both skills and got the CLI skill's text from the Skill tool
    mains = server.requests(kind="main")
    first = json.dumps(mains[0]["body"])
    assert "- avenor-dispatch: " in first and "- avenor-dispatch-mcp: " in first, \
        "the skills are not in the model's request"
    results = peer_claude.tool_results(lines)
    assert len(results) == 3, f"tool results: {results}" + why
    assert not results[0].get("is_error") and "avenor run --backend" in json.dumps(
        mains[1]["body"]), "the Skill tool did not hand back the skill text" + why

    # the boundary: a denied command and a write outside .avenor/runs are refused, unchanged
    final = lines[-1]
    denied = [(d["tool_name"], d["tool_input"].get("command") or d["tool_input"].get(
        "file_path")) for d in final.get("permission_denials", [])]
    assert denied == [("Bash", "rm -rf keep"), ("Write", str(w.project / "notes.txt"))], \
        f"permission_denials: {denied}" + why
    assert results[1].get("is_error") and results[2].get("is_error"), results
    assert (w.project / "keep" / "file").exists(), "rm -rf ran despite the deny rule"
    assert not (w.project / "notes.txt").exists(), "the Write outside .avenor/runs happened"

    if w.target == "opencode":  # the role agents load in the real opencode
        p = subprocess.run([peers.peers_bin("opencode"), "agent", "list"], env=w.env,
                           cwd=str(w.project), capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, f"opencode agent list failed: {p.stderr[-2000:]}"
        for role in ROLES:
            assert re.search(rf"^{role}\b", p.stdout, re.M), \
                f"opencode does not list agent {role}:\n{p.stdout}\n{p.stderr[-2000:]}"


def cli_round_trip(w: World, model_server, prepare=None
                   ) -> tuple[CliRun, list[dict], list[dict], str]:
    """claude -p follows skill avenor-dispatch with the commands of its SKILL.md; returns the
    run, claude's stream-json lines, the run's events (from `avenor watch --format json`) and
    the run's duration summary. `prepare(project)` runs once the project exists."""
    pairing = w.pairing
    run_cmd = skill_command(pairing, "avenor-dispatch", "avenor run ")
    head_cmd = skill_command(pairing, "avenor-dispatch", "head -n 1 ")
    blocks = re.findall(r"```sh\n(.*?)```", skill_text(pairing, "avenor-dispatch"), re.S)
    result_cmd = next(ln for b in blocks for ln in b.splitlines()
                      if ln.startswith("avenor watch ") and "--format json" in ln
                      ).replace("<label>", LABEL)
    prompt_path = f".avenor/runs/{LABEL}.prompt.md"
    assert f"--prompt-file {prompt_path}" in run_cmd, run_cmd
    assert "--permission-policy .avenor/policy.json" in run_cmd, run_cmd
    w.start()
    if prepare:
        prepare(w.project)
    server = model_server({"model": peer_claude.MODEL, "steps": [
        {"tool_call": {"name": "Skill", "arguments": {"skill": "avenor-dispatch"}}},
        {"tool_call": {"name": "Write", "arguments": {"file_path": str(w.project / prompt_path),
                                                      "content": SUB_PROMPT + "\n"}}},
        bash(run_cmd, 600000),
        bash(head_cmd),
        bash(result_cmd),
        {"reply_from_tool_result": REPLY_PREFIX}]})
    w.use_server(server)

    run = w.claude("Dispatch the sub-task through avenor.")
    why = run.describe() + w.diagnostics()
    assert run.returncode == 0, "claude -p failed" + why
    lines = peer_claude.stream_json_lines(run.stdout)
    final = lines[-1]
    assert final.get("permission_denials") == [], \
        f"a command of the skill was refused: {final.get('permission_denials')}" + why
    results = peer_claude.tool_results(lines)
    assert len(results) == 5 and not any(r.get("is_error") for r in results), \
        f"tool results: {results}" + why
    assert peer_claude.block_text(results[3]).strip() == "DONE", results[3]
    events = [json.loads(x) for x in peer_claude.block_text(results[4]).splitlines()
              if x.startswith("{")]
    assert events and events[-1]["event"] == "session.end", events[-3:]
    assert events[-1]["final_output"] == SUB_MARKER, events[-1]
    assert final["result"].startswith(REPLY_PREFIX) and SUB_MARKER in final["result"], \
        f"claude's final answer lacks the target's marker: {final['result']!r}" + why
    subs = w.sub_server.requests(kind="main")
    assert subs and SUB_PROMPT in json.dumps(subs[0]["body"]), \
        "the target's model did not get the brief" + why
    if w.target == "opencode":  # it ran as the template's mule
        assert "You are the mule" in json.dumps(subs[0]["body"]), "not run as agent mule"
    else:  # it ran with the template's .codex/config.toml (codex tells its model the sandbox)
        assert "`sandbox_mode` is `workspace-write`" in json.dumps(subs[0]["body"]), \
            "the dispatched codex did not get the template's sandbox_mode" + why
    times = {r["step"]: r["time"] for r in server.requests(kind="main")}
    summary = (f"{run.seconds:.1f} s claude start to exit; {times[3] - times[2]:.1f} s in "
               f"avenor run")
    return run, lines, events, summary


@pytest.mark.parametrize("pairing", sorted(PAIRINGS))
def test_cli_style_round_trip(pairing, make_world, model_server, capsys):
    w = make_world(pairing)
    run, lines, events, summary = cli_round_trip(w, model_server)
    assert len(w.sub_server.requests(kind="main")) == 1
    report(capsys, f"ROUND TRIP {pairing} CLI style (claude -p -> Bash avenor run -> "
                   f"{BACKEND[w.target]}): {summary}")


# The dispatched agent tries `rm -rf keep`. OpenCode (agent mule) meets the pairing's
# opencode.json rule "rm -rf *": deny; codex asks to leave its sandbox for it and avenor's
# .avenor/policy.json rejects the request (rule "*rm -rf*").
DESTRUCTIVE = {
    "opencode": {"tool_call": {"command": "rm -rf keep"}},
    "codex": {"tool_call": {"name": "exec_command", "arguments": {
        "cmd": "rm -rf keep", "sandbox_permissions": "require_escalated",
        "justification": "Clean up the keep folder"}}},
}


@pytest.mark.parametrize("pairing", sorted(PAIRINGS))
def test_dispatched_agent_boundary(pairing, make_world, model_server, capsys):
    w = make_world(pairing, sub_steps=[DESTRUCTIVE[PAIRINGS[pairing]]])

    def make_keep(project: Path) -> None:
        (project / "keep").mkdir()
        (project / "keep" / "file").write_text("x")
    run, lines, events, summary = cli_round_trip(w, model_server, make_keep)
    assert (w.project / "keep" / "file").exists(), \
        "the dispatched agent's rm -rf ran" + run.describe() + w.diagnostics()
    subs = w.sub_server.requests(kind="main")
    assert len(subs) == 2, f"the target's model got {len(subs)} main requests, expected the " \
        f"tool call and the reply after its result"
    if w.target == "opencode":
        assert "prevents you from using this specific tool call" in json.dumps(
            subs[1]["body"]), "opencode did not refuse rm -rf by the pairing's rule"
    else:
        answers = [e for e in events if e["event"] == "permission.response"]
        assert answers and answers[0].get("source") == "policy" and \
            answers[0].get("rule") == "rules[1]", f"permission answers: {answers}"
    report(capsys, f"BOUNDARY {pairing}: the dispatched agent's rm -rf refused; {summary}")


def skill_spawn_args(pairing: str) -> dict:
    """The avenor_spawn arguments the MCP skill shows, for LABEL, with the sub-task's prompt
    inline instead of its brief file."""
    text = skill_text(pairing, "avenor-dispatch-mcp")
    spawn = json.loads(re.findall(r"```json\n(\{\"repo_dir\".*?)```", text, re.S)[0]
                       .replace("<label>", LABEL))
    spawn.pop("prompt_file")
    spawn["prompt"] = SUB_PROMPT
    return spawn


@pytest.mark.parametrize("pairing", sorted(PAIRINGS))
def test_mcp_style_round_trip(pairing, make_world, model_server, capsys):
    w = make_world(pairing)
    spawn = skill_spawn_args(pairing)
    assert spawn["backend"] == BACKEND[w.target], spawn
    server = model_server({"model": peer_claude.MODEL, "steps": [
        {"tool_call": {"name": "Skill", "arguments": {"skill": "avenor-dispatch-mcp"}}},
        {"tool_call": {"name": "mcp__avenor__avenor_spawn", "arguments": spawn}},
        {"tool_call": {"name": "mcp__avenor__avenor_result",
                       "arguments": {"run_id": LABEL, "wait": True}}},
        {"reply_from_tool_result": REPLY_PREFIX}]})
    w.start()
    w.use_server(server)
    w.use_mcp_socket()

    run = w.claude("Dispatch the sub-task through the avenor tools.")
    why = run.describe() + w.diagnostics()
    assert run.returncode == 0, "claude -p failed" + why
    lines = peer_claude.stream_json_lines(run.stdout)
    final = lines[-1]
    assert final.get("permission_denials") == [], \
        f"the template's settings did not allow the avenor tools: " \
        f"{final.get('permission_denials')}" + why
    results = peer_claude.tool_results(lines)
    assert len(results) == 3 and not any(r.get("is_error") for r in results), \
        f"tool results: {results}" + why
    got = json.loads(peer_claude.block_text(results[2]))
    assert (got["status"], got["ready"], got["output"]) == ("done", True, SUB_MARKER), got
    assert final["result"].startswith(REPLY_PREFIX) and SUB_MARKER in final["result"], \
        f"claude's final answer lacks the target's marker: {final['result']!r}" + why
    subs = w.sub_server.requests(kind="main")
    assert len(subs) == 1 and SUB_PROMPT in json.dumps(subs[0]["body"]), why
    if w.target == "opencode":
        assert "You are the mule" in json.dumps(subs[0]["body"]), "not run as agent mule"
    w.world.wait_no_servers("after claude -p exited")
    mains = server.requests(kind="main")
    times = {r["step"]: r["time"] for r in mains}
    report(capsys, f"ROUND TRIP {pairing} MCP style (claude -p -> avenor mcp -> "
                   f"{BACKEND[w.target]}): {run.seconds:.1f} s claude start to exit; "
                   f"{times[3] - times[1]:.1f} s from avenor_spawn to avenor_result's answer")


# A command no rule of .avenor/policy.json decides ("default": "ask"): opencode asks for every
# bash command but the few its opencode.json allows; codex asks when it leaves its sandbox.
ASKING = {
    "opencode": ({"tool_call": {"command": "printf PERM-ANSWERED"}}, "once"),
    "codex": ({"tool_call": {"name": "exec_command", "arguments": {
        "cmd": "printf PERM-ANSWERED", "sandbox_permissions": "require_escalated",
        "justification": "Print outside the sandbox"}}}, "allow"),
}


@pytest.mark.parametrize("pairing", sorted(PAIRINGS))
def test_mcp_style_permission_answer(pairing, make_world, model_server, capsys):
    """Skill avenor-dispatch-mcp step 4: avenor_result returns with the pending request, the
    model answers it with avenor_answer_permission and waits again."""
    step, option = ASKING[PAIRINGS[pairing]]
    w = make_world(pairing, sub_steps=[step])
    text = skill_text(pairing, "avenor-dispatch-mcp")
    assert f'"option_id": "{option}"' in text, f"the skill's answer example is not {option}"
    spawn = skill_spawn_args(pairing)
    server = model_server({"model": peer_claude.MODEL, "steps": [
        {"tool_call": {"name": "mcp__avenor__avenor_spawn", "arguments": spawn}},
        {"tool_call": {"name": "mcp__avenor__avenor_result",
                       "arguments": {"run_id": LABEL, "wait": True}}},
        {"tool_call": {"name": "mcp__avenor__avenor_answer_permission",
                       "arguments": {"run_id": LABEL, "option_id": option}}},
        {"tool_call": {"name": "mcp__avenor__avenor_result",
                       "arguments": {"run_id": LABEL, "wait": True}}},
        {"reply_from_tool_result": REPLY_PREFIX}]})
    w.start()
    w.use_server(server)
    w.use_mcp_socket()

    run = w.claude("Dispatch the sub-task through the avenor tools.")
    why = run.describe() + w.diagnostics()
    assert run.returncode == 0, "claude -p failed" + why
    lines = peer_claude.stream_json_lines(run.stdout)
    assert lines[-1].get("permission_denials") == [], lines[-1].get("permission_denials")
    results = peer_claude.tool_results(lines)
    assert len(results) == 4 and not any(r.get("is_error") for r in results), \
        f"tool results: {results}" + why
    pending = json.loads(peer_claude.block_text(results[1]))
    assert (pending["ready"], pending["pending_permission"]) == (False, True), pending
    assert option in [o["optionId"] for o in pending["permission"]["options"]], pending
    got = json.loads(peer_claude.block_text(results[3]))
    assert (got["status"], got["ready"], got["output"]) == ("done", True, SUB_MARKER), got
    subs = w.sub_server.requests(kind="main")
    assert len(subs) == 2 and "PERM-ANSWERED" in json.dumps(subs[1]["body"]), \
        "the allowed command's output did not reach the target's model" + why
    w.world.wait_no_servers("after claude -p exited")
    report(capsys, f"PERMISSION {pairing} MCP style: answered {option!r} through "
                   f"avenor_answer_permission; {run.seconds:.1f} s claude start to exit")
