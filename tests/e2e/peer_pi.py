"""An isolated environment for the real ``pi`` (npm @mariozechner/pi-coding-agent) that talks
only to the scripted model server on 127.0.0.1.

pi reads its models from ``$PI_CODING_AGENT_DIR/models.json`` (default ``~/.pi/agent``) and its
settings from ``settings.json`` next to it; ``PI_OFFLINE=1`` turns off every startup network call
(update checks, telemetry), ``PI_SKIP_VERSION_CHECK=1`` and ``PI_TELEMETRY=0`` make sure. The
settings here pick the fake model by default and shrink pi's own retry back-off (2 s, 4 s, 8 s by
default) so error tests run in well under a second per retry.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import peers

FAKE_PROVIDER = "fake"
FAKE_MODEL = "fake-model"
OTHER_MODEL = "other-model"     # a second model of the same provider, for --model tests
THINK_MODEL = "think-model"     # reasoning:true, so pi sends reasoning_effort
EXTENSION = Path(__file__).resolve().parent / "pi_dialog_extension.ts"


def models_config(base_url: str) -> dict:
    return {"providers": {FAKE_PROVIDER: {
        "baseUrl": base_url + "/v1",
        "api": "openai-completions",
        "apiKey": "sk-fake",
        "compat": {"supportsDeveloperRole": False},
        "models": [
            {"id": FAKE_MODEL, "name": "Fake Model", "reasoning": False},
            {"id": OTHER_MODEL, "name": "Other Model", "reasoning": False},
            {"id": THINK_MODEL, "name": "Think Model", "reasoning": True,
             "thinkingLevelMap": {"xhigh": "xhigh"}},
        ],
    }}}


def settings(max_retries: int = 2) -> dict:
    return {
        "defaultProvider": FAKE_PROVIDER,
        "defaultModel": FAKE_MODEL,
        "quietStartup": True,
        "enableInstallTelemetry": False,
        # pi's own retry of transient errors: fast, and no extra SDK-level retries underneath
        "retry": {"enabled": True, "maxRetries": max_retries, "baseDelayMs": 50,
                  "provider": {"maxRetries": 0}},
    }


def pi_env(tmp_path: Path, server: peers.ModelServer | None, *, configured: bool = True,
           extension: bool = False, agents: dict | None = None, agent_dir_var: bool = True,
           max_retries: int = 2) -> peers.PeerEnv:
    """Env for ``pi --mode rpc`` talking to ``server``.

    configured=False leaves out models.json and settings.json (pi then has no usable model);
    extension=True installs tests/e2e/pi_dialog_extension.ts as a global extension;
    agents is written to agents.json (avenor's agent→model lookup);
    agent_dir_var=False leaves PI_CODING_AGENT_DIR unset so ~/.pi/agent is used.
    """
    env, home, project = peers.base_env(tmp_path, "pi")
    agent_dir = home / ".pi" / "agent"
    agent_dir.mkdir(parents=True, exist_ok=True)
    if configured:
        assert server is not None
        (agent_dir / "models.json").write_text(json.dumps(models_config(server.base_url), indent=1))
        (agent_dir / "settings.json").write_text(json.dumps(settings(max_retries), indent=1))
    if extension:
        (agent_dir / "extensions").mkdir(exist_ok=True)
        shutil.copy(EXTENSION, agent_dir / "extensions" / EXTENSION.name)
    if agents is not None:
        (agent_dir / "agents.json").write_text(json.dumps(agents, indent=1))
    env.update({"PI_OFFLINE": "1", "PI_SKIP_VERSION_CHECK": "1", "PI_TELEMETRY": "0"})
    if agent_dir_var:
        env["PI_CODING_AGENT_DIR"] = str(agent_dir)
    return peers.PeerEnv(env, home, project, ["pi", "--mode", "rpc", "--no-session"])
