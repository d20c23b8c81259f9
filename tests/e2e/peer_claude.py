"""An isolated environment for the real Claude Code (`claude`, peers.md §5)
pointed at the scripted model server (Anthropic Messages) on 127.0.0.1.

* fresh HOME and CLAUDE_CONFIG_DIR under tmp_path (nothing of the user's
  ~/.claude is read or written);
* ANTHROPIC_BASE_URL + a fake ANTHROPIC_API_KEY, no retries
  (CLAUDE_CODE_MAX_RETRIES=0), no non-essential traffic, no auto-updater;
* a private tmux socket directory (TMUX_TMPDIR) so that a test never sees or
  touches a user's tmux server;
* the variables a parent Claude Code session would leave behind are removed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import peers

MODEL = "claude-sonnet-4-5"

# Set inside a Claude Code session; inherited by a child claude they change
# its behaviour (no transcript, nested-session checks).
PARENT_SESSION_VARS = ("CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_CHILD_SESSION",
                       "CLAUDE_CODE_SESSION_ID", "CLAUDE_PID")


def claude_env(tmp_path: Path, server: peers.ModelServer, name: str = "claude") -> peers.PeerEnv:
    env, home, project = peers.base_env(tmp_path, name)
    config_dir = home / ".claude"
    config_dir.mkdir(parents=True, exist_ok=True)
    tmux_dir = Path(tmp_path) / name / "tmux"
    tmux_dir.mkdir(parents=True, exist_ok=True)
    for var in PARENT_SESSION_VARS:
        env.pop(var, None)
    env.update({
        "ANTHROPIC_BASE_URL": server.base_url,
        "ANTHROPIC_API_KEY": "sk-ant-fake",
        "CLAUDE_CONFIG_DIR": str(config_dir),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "TMUX_TMPDIR": str(tmux_dir),
        "TERM": "xterm-256color",
    })
    return peers.PeerEnv(env, home, project, ["claude"])


def seed_interactive_config(env: peers.PeerEnv) -> None:
    """What a first interactive start would otherwise ask for or fetch: the
    onboarding (which checks api.anthropic.com and fails offline) is marked
    done and the fake API key is approved. The trust dialog and the "New MCP
    server" dialog are left for the backend to answer."""
    config_dir = Path(env.env["CLAUDE_CONFIG_DIR"])
    key = env.env["ANTHROPIC_API_KEY"]
    (config_dir / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True,
        "theme": "dark",
        "numStartups": 1,
        "customApiKeyResponses": {"approved": [key[-20:]], "rejected": []},
    }))


TMUX_LOGGER = """#!/bin/sh
# Records each tmux call (one JSON array per line) before running the real tmux.
/usr/bin/python3 -c 'import json,sys; open(sys.argv[1],"a").write(json.dumps(sys.argv[2:])+"\\n")' \\
  "$AVENOR_TEST_TMUX_LOG" "$@"
exec {real} "$@"
"""


def install_tmux_logger(env: peers.PeerEnv, bin_dir: Path) -> Path:
    """Puts a `tmux` first on PATH that logs its argv to the returned file and
    then runs the real tmux."""
    real = shutil.which("tmux", path="/usr/local/bin:/usr/bin:/bin")
    assert real, "tmux is not installed"
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrapper = bin_dir / "tmux"
    wrapper.write_text(TMUX_LOGGER.replace("{real}", real))
    wrapper.chmod(0o755)
    log = bin_dir.parent / "tmux-calls.ndjson"
    log.write_text("")
    env.env["AVENOR_TEST_TMUX_LOG"] = str(log)
    env.env["PATH"] = f"{bin_dir}{os.pathsep}{env.env['PATH']}"
    return log


def tmux_calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def tmux_sessions(env: dict) -> list[str]:
    """Session names on the env's (private, TMUX_TMPDIR) tmux server; [] when
    no server runs there."""
    real = shutil.which("tmux", path="/usr/local/bin:/usr/bin:/bin")
    p = subprocess.run([real, "list-sessions", "-F", "#{session_name}"], env=env,
                       capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        return []
    return [line for line in p.stdout.splitlines() if line]


def kill_tmux_server(env: dict) -> None:
    real = shutil.which("tmux", path="/usr/local/bin:/usr/bin:/bin")
    subprocess.run([real, "kill-server"], env=env, capture_output=True, timeout=10)


def write_mcp_config(path: Path, servers: dict) -> Path:
    path.write_text(json.dumps({"mcpServers": servers}, indent=1))
    return path


def stream_json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def tool_results(lines: list[dict]) -> list[dict]:
    """Every tool_result block claude fed back to the model, in order."""
    out = []
    for rec in lines:
        if rec.get("type") != "user":
            continue
        for block in rec.get("message", {}).get("content", []):
            if isinstance(block, dict) and block.get("type") == "tool_result":
                out.append(block)
    return out


def block_text(block: dict) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    return "".join(c.get("text", "") for c in content or [] if isinstance(c, dict))


def os_env_without_parent_session() -> dict:
    env = dict(os.environ)
    for var in PARENT_SESSION_VARS:
        env.pop(var, None)
    return env
