"""pytest fixtures for avenor's end-to-end tests.

* ``avenor``       path of the avenor binary (env AVENOR_BIN)
* ``fake_agent``   path of the fake ACP agent (env AVENOR_FAKE_ACP_AGENT)
* ``fake``         factory: ``fake(script, env_extra=None)`` -> fake_run.FakeRun; kills
                   anything left running after the test
* ``model_server`` factory: ``model_server({"steps": [...]})`` starts a scripted
                   fake model (tests/model_server) that is stopped after the test.

The binaries are not optional: an unset or non-executable path fails the test
with a clear message (only missing *peers* skip, via peers.require_peer).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers  # noqa: E402  (needs the sys.path entry above)
from fake_run import FakeRun, process_alive  # noqa: E402


def _binary_from_env(var: str, what: str) -> str:
    value = os.environ.get(var)
    if not value:
        pytest.fail(f"{var} is not set: point it at the {what} (CTest sets it; "
                    f"by hand: {var}=build/... python3 -m pytest tests/e2e)", pytrace=False)
    path = Path(value)
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"{var}={value} is not an executable file ({what})", pytrace=False)
    return str(path.resolve())


@pytest.fixture
def avenor() -> str:
    return _binary_from_env("AVENOR_BIN", "avenor binary")


@pytest.fixture
def fake_agent() -> str:
    return _binary_from_env("AVENOR_FAKE_ACP_AGENT", "fake ACP agent binary")


@pytest.fixture
def model_server(tmp_path):
    """Factory: model_server(script_dict) -> started peers.ModelServer."""
    started: list[peers.ModelServer] = []

    def start(script: dict) -> peers.ModelServer:
        srv = peers.ModelServer(script, workdir=tmp_path / f"model-server-{len(started)}")
        srv.start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture
def fake(avenor, fake_agent, tmp_path):
    """Factory: fake(script, env_extra=None) -> FakeRun."""
    made: list[FakeRun] = []

    def make(script: dict, env_extra: dict | None = None) -> FakeRun:
        run = FakeRun(avenor, tmp_path, script, env_extra)
        made.append(run)
        return run

    yield make
    for run in made:  # never leave a hung avenor or agent behind a failed test
        if run.proc is not None and run.proc.proc.poll() is None:
            run.proc.proc.kill()
            run.proc.proc.wait()
        for pid in run.agent_pids():
            if process_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
