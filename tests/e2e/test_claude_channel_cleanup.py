"""`avenor claude-channel-cleanup [--dir D]` (backends.md §7.8): stale
`avenor-channel-*` entries leave `<D>/.mcp.json`, everything else stays.

An entry is stale unless its relay (`--broker-url`) still answers GET /health;
a live relay is played by the scripted relay (tests/e2e/fake_channel_relay.py).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

from fake_channel_relay import FakeChannelRelay


def cleanup(avenor: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([avenor, "claude-channel-cleanup", *args], cwd=cwd,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def channel_entry(url: str, run_id: str = "deadbeef00000000") -> dict:
    return {"command": "/usr/local/bin/avenor",
            "args": ["claude-channel", "--run-id", run_id, "--token", "t", "--broker-url", url]}


def test_removes_stale_entries_and_keeps_the_rest(avenor, tmp_path):
    with FakeChannelRelay() as live:
        config = {
            "mcpServers": {
                "avenor-channel-deadbeef": channel_entry(dead_url()),
                "github": {"command": "gh-mcp", "args": ["--stdio"], "env": {"X": "1"}},
                "avenor-channel-cafecafe": {"command": "avenor"},  # no broker URL at all
                "avenor-channel-11112222": channel_entry(live.url, "1111222233334444"),
                "avenor-channelish": {"command": "not-ours"},
            },
            "otherKey": [1, 2, {"k": "v"}],
        }
        path = tmp_path / ".mcp.json"
        path.write_text(json.dumps(config))
        os.chmod(path, 0o640)

        p = cleanup(avenor, "--dir", str(tmp_path))
        assert p.returncode == 0, p.stderr
        assert p.stdout == f"removed 2 avenor-channel entries from {path}\n"
        assert p.stderr == ""
        # the live relay was asked
        assert [r["route"] for r in live.recorded()] == ["/health"]

    after = json.loads(path.read_text())
    assert list(after["mcpServers"]) == ["github", "avenor-channel-11112222", "avenor-channelish"]
    assert after["mcpServers"]["github"] == config["mcpServers"]["github"]
    assert after["otherKey"] == config["otherKey"]
    assert list(after) == ["mcpServers", "otherKey"]
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.read_text().endswith("}\n")
    assert [f.name for f in tmp_path.iterdir()] == [".mcp.json"]  # no temp file left


def test_nothing_stale_leaves_the_file_untouched(avenor, tmp_path):
    path = tmp_path / ".mcp.json"
    original = '{"mcpServers": {"github": {"command": "gh"}}}'
    path.write_text(original)
    before = path.stat()
    p = cleanup(avenor, "--dir", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"removed 0 avenor-channel entries from {path}\n"
    assert path.read_text() == original
    assert path.stat().st_ino == before.st_ino


def test_missing_file_removes_nothing(avenor, tmp_path):
    p = cleanup(avenor, "--dir", str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"removed 0 avenor-channel entries from {tmp_path / '.mcp.json'}\n"
    assert list(tmp_path.iterdir()) == []


def test_dir_defaults_to_the_working_directory(avenor, tmp_path):
    (tmp_path / ".mcp.json").write_text(json.dumps(
        {"mcpServers": {"avenor-channel-deadbeef": channel_entry(dead_url())}}))
    p = cleanup(avenor, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "removed 1 avenor-channel entries from ./.mcp.json\n"
    assert json.loads((tmp_path / ".mcp.json").read_text()) == {"mcpServers": {}}


def test_invalid_file_is_an_error_and_unchanged(avenor, tmp_path):
    path = tmp_path / ".mcp.json"
    for text, needle in [("{not json", "invalid JSON"), ("[1]", "not a JSON object"),
                         ('{"mcpServers": 3}', '"mcpServers" is not a JSON object')]:
        path.write_text(text)
        p = cleanup(avenor, "--dir", str(tmp_path))
        assert p.returncode == 1, p
        assert p.stdout == ""
        assert p.stderr.startswith(f"avenor claude-channel-cleanup: parse {path}: "), p.stderr
        assert needle in p.stderr
        assert path.read_text() == text


def test_bad_flags_exit_2(avenor, tmp_path):
    for args, needle in [(["--bogus"], "flag provided but not defined: -bogus"),
                         (["--dir"], "flag needs an argument: -dir"),
                         (["--dir", str(tmp_path), "extra"], "unexpected argument extra")]:
        p = cleanup(avenor, *args)
        assert p.returncode == 2, (args, p)
        assert needle in p.stderr
        assert p.stdout == ""
