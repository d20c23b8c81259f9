"""An isolated environment for the real `codex app-server` (@openai/codex 0.169.0) talking to
the scripted model server on 127.0.0.1 (OpenAI Responses API), and one for the scripted peer
tests/e2e/fake_codex.py.

codex runs offline when (shared/peers.md §2):
* CODEX_HOME exists (codex exits 1 otherwise) and holds a config.toml that selects a provider
  whose base_url is the model server, with ``wire_api = "responses"`` ("chat" is refused);
* request and stream retries are 0, so a failing model fails the turn at once instead of
  "Reconnecting... n/5";
* the API key comes from the env var the provider names (FAKE_API_KEY).
Nothing else is configured: no approval policy and no sandbox, so codex's defaults apply
(approvalPolicy "on-request", a read-only sandbox for an untrusted project), exactly what
avenor's codex-app-server backend gets in real use. The "could not create PATH aliases" and
"could not find bubblewrap" warnings on codex's stderr are harmless.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import peers

FAKE_CODEX = Path(__file__).resolve().parent / "fake_codex.py"


def codex_config(base_url: str, model: str = "fake-model") -> str:
    return f"""\
model = "{model}"
model_provider = "fake"
check_for_update_on_startup = false

[model_providers.fake]
name = "Fake local"
base_url = "{base_url}/v1"
wire_api = "responses"
env_key = "FAKE_API_KEY"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false
"""


def codex_env(tmp_path: Path, server: peers.ModelServer, name: str = "codex") -> peers.PeerEnv:
    """Env for ``codex app-server`` against ``server``; ``home/.codex`` is CODEX_HOME.
    ``name`` separates several environments under one tmp_path."""
    env, home, project = peers.base_env(tmp_path, name)
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(
        codex_config(server.base_url, server.script.get("model", "fake-model")))
    env.update({"CODEX_HOME": str(codex_home), "FAKE_API_KEY": "sk-fake"})
    return peers.PeerEnv(env, home, project, ["codex", "app-server"])


def codex_home(env: peers.PeerEnv) -> Path:
    return Path(env.env["CODEX_HOME"])


def fake_codex_env(tmp_path: Path, scenario: dict) -> tuple[peers.PeerEnv, Path]:
    """Env whose PATH finds tests/e2e/fake_codex.py as ``codex``, playing ``scenario``
    (see fake_codex.py). Returns the env and the file where the fake records every line
    it receives."""
    env, home, project = peers.base_env(tmp_path, "fake-codex")
    bin_dir = tmp_path / "fake-codex-bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    launcher = bin_dir / "codex"
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE_CODEX} \"$@\"\n")
    launcher.chmod(0o755)
    scenario_path = tmp_path / "fake-codex-scenario.json"
    scenario_path.write_text(json.dumps(scenario))
    record = tmp_path / "fake-codex-record.ndjson"
    env.update({"PATH": os.pathsep.join([str(bin_dir), env["PATH"]]),
                "FAKE_CODEX_SCENARIO": str(scenario_path),
                "FAKE_CODEX_RECORD": str(record)})
    return peers.PeerEnv(env, home, project, ["codex", "app-server"]), record


def read_record(record: Path) -> list[dict]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
