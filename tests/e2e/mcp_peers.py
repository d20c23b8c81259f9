"""The dispatch story (issue 12) with real agents on both sides: a real agent CLI (Claude Code,
Codex) has `avenor mcp` as an MCP server, its scripted model calls `avenor_spawn` (backend
opencode-acp) and `avenor_result`, the real `opencode acp` does the sub-task against a SECOND
scripted model, and the CLI's final answer carries the sub-agent's output.

    def test_x(dispatch, ...):                   # the fixture (import it from here)
        d = dispatch                             # Dispatch: world, sub_server, repo
        cmd, args, env = d.mcp_server()          # what the CLI's MCP config names
        steps = d.dispatch_steps("mcp__avenor__")  # spawn, result, reply_from_tool_result
        run = run_cli(argv, env, cwd, d, "claude -p")  # bounded; stdout/stderr/seconds
        d.check_sub_agent()                       # opencode's model got the sub-task prompt

Two model servers, so the dispatcher's steps and opencode's never race for one script. The MCP
server runs in an McpWorld (mcp_harness.py): a short root under /tmp holding the supervisor
socket (<root>/sup.sock), TMPDIR and the repo; its environment is opencode's isolated one
(peers.opencode_env) and carries the marker variable, so teardown SIGKILLs whatever is left
(the CLI too: run_cli puts the marker in its environment).
"""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import peers
from mcp_harness import McpWorld
from stable_harness import MARK_VAR, killpg_quietly

SUB_MARKER = "OPENCODE-SUBAGENT-MARKER-5150"  # opencode's scripted reply; in no prompt or arg
SUB_PROMPT = "Sub-task: reply with your completion marker."
LABEL = "sub-1"             # the dispatcher cannot know the run's uuid: it names the run
REPLY_PREFIX = "Sub-agent said: "
CLI_TIMEOUT = 300.0         # one real CLI run on a busy 2-core machine (opencode starts in ≤25 s)
MAX_WAIT = "240s"           # avenor mcp --max-wait: avenor_result waits for the whole sub-turn


@dataclass
class CliRun:
    argv: list
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def describe(self) -> str:
        return (f"\n--- {Path(self.argv[0]).name} exit {self.returncode} after "
                f"{self.seconds:.1f} s; stdout tail ---\n{self.stdout[-4000:]}"
                f"\n--- stderr tail ---\n{self.stderr[-3000:]}")


class Dispatch:
    """One dispatch story's world: the MCP server's McpWorld (opencode's env), the sub-agent's
    model server and the repo the sub-agent works in (a git repository under the world)."""

    def __init__(self, avenor: str, tmp_path: Path, model_server):
        self.sub_server: peers.ModelServer = model_server(
            {"steps": [{"reply": SUB_MARKER}], "side_reply": "Sub-task"})
        oc = peers.opencode_env(tmp_path / "sub", self.sub_server)
        self.world = McpWorld(avenor, env=oc.env, fake=False)
        self.repo = self.world.work / "repo"
        self.repo.mkdir()
        subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(self.repo)],
                       check=True, timeout=30, env=self.world.env, stdout=subprocess.DEVNULL)

    def mcp_server(self) -> tuple[str, list[str], dict]:
        """(command, args, env) of `avenor mcp` as the CLI's MCP config names it. The env is
        the whole environment the server (and through it the supervisor and opencode) needs, so
        it does not matter what the CLI passes down of its own."""
        argv = self.world.mcp_argv("--max-wait", MAX_WAIT)
        return argv[0], argv[1:], dict(self.world.env)

    def spawn_args(self) -> dict:
        return {"repo_dir": str(self.repo), "backend": "opencode-acp", "prompt": SUB_PROMPT,
                "label": LABEL}

    def dispatch_steps(self, tool_prefix: str) -> list[dict]:
        """The dispatcher's script: spawn on opencode, wait for the result by label, then answer
        with the result the tool returned (reply_from_tool_result)."""
        return [
            {"tool_call": {"name": tool_prefix + "avenor_spawn", "arguments": self.spawn_args()}},
            {"tool_call": {"name": tool_prefix + "avenor_result",
                           "arguments": {"run_id": LABEL, "wait": True}}},
            {"reply_from_tool_result": REPLY_PREFIX},
        ]

    def cli_env(self, env: dict) -> dict:
        """The CLI's env plus the marker variable (so teardown can sweep it)."""
        return {**env, MARK_VAR: str(self.world.root)}

    def check_sub_agent(self) -> None:
        """opencode's model got exactly one main request, carrying the sub-task prompt."""
        mains = self.sub_server.requests(kind="main")
        assert len(mains) == 1, \
            f"opencode's model server got {len(mains)} main requests, expected 1" + \
            self.world.diagnostics()
        body = str(mains[0]["body"])
        assert SUB_PROMPT in body, f"opencode's model request lacks the sub-task prompt: " \
            f"{body[:2000]}"
        assert mains[0]["path"].endswith("/chat/completions"), mains[0]["path"]

    def diagnostics(self) -> str:
        return self.world.diagnostics() + "\n--- runtimes' stderr ---\n" + "".join(
            f"{p}:\n{p.read_text(errors='replace')[-1500:]}\n"
            for p in sorted(self.world.root.glob("**/rt_*/stderr.log")))


@pytest.fixture
def dispatch(avenor, tmp_path, model_server):
    peers.require_peer("opencode")
    d = Dispatch(avenor, tmp_path, model_server)
    yield d
    d.world.cleanup()


def run_cli(argv: list, env: dict, cwd: Path, d: Dispatch, what: str,
            timeout: float = CLI_TIMEOUT) -> CliRun:
    """Runs a CLI to completion in its own process group, bounded by `timeout` (then the group
    is SIGKILLed and the test fails with the CLI's output tails and the world's diagnostics)."""
    out_path = d.world.root / f"{Path(argv[0]).name}.stdout"
    err_path = d.world.root / f"{Path(argv[0]).name}.stderr"
    t0 = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, env=d.cli_env(env), cwd=str(cwd), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            killpg_quietly(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
    run = CliRun(argv, rc if rc is not None else -9, out_path.read_text(errors="replace"),
                 err_path.read_text(errors="replace"), time.monotonic() - t0)
    if rc is None:
        raise AssertionError(f"{what} did not finish within {timeout} s" + run.describe() +
                             d.diagnostics())
    return run


def dispatch_seconds(mains: list[dict]) -> float:
    """From the dispatcher model's answer calling avenor_spawn (its step-0 request) to its
    request carrying avenor_result's output (step 2), by the model server's record times: the
    part of the round trip spent in avenor mcp, the supervisor and opencode."""
    times = {r["step"]: r["time"] for r in mains}
    return times[2] - times[0]


def report(capsys, line: str) -> None:
    """Prints a measurement so that it shows in the CTest log even when the test passes."""
    with capsys.disabled():
        print(f"\n{line}", flush=True)
