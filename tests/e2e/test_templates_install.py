"""templates/install.sh and templates/README.md, driven as a user drives them.

* install.sh runs as a real process against scratch projects. Most cases use a copy of the
  script next to a synthetic pairing `x-to-y` (so the merge cases do not depend on the exact
  content of the real pairings); the real pairings of templates/ are installed as well: into an
  empty project (every file lands byte-identical), again (idempotent), and over a project with
  its own config files (merged, the user's entries kept).
* "Nothing written" is checked by a snapshot of the whole project tree (paths, types, bytes)
  before and after a refused run.
* Every ```sh block of templates/README.md runs literally (`bash -e -c <block>`, like
  test_docs_examples.py) in a scratch "clone" whose `templates` is the repository's folder,
  with a private HOME that holds an empty project `~/src/myproject`.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

import peers
from test_docs_examples import output_matches, shell_blocks  # same fences, same `…` placeholders

REPO = peers.repo_root()
TEMPLATES = REPO / "templates"
INSTALL = TEMPLATES / "install.sh"
README = TEMPLATES / "README.md"
TIMEOUT = 60.0  # one install.sh run (a python3 start and a few files)

# The synthetic pairing: one file of every kind install.sh treats differently.
PAIRING = {
    ".claude/settings.json": json.dumps({"permissions": {
        "allow": ["Bash(avenor run:*)", "Bash(avenor watch:*)"],
        "deny": ["Bash(curl:*)"]}}, indent=2) + "\n",
    "opencode.json": json.dumps({
        "$schema": "https://opencode.ai/config.json",
        "permission": {"edit": "deny", "bash": {"*": "deny", "avenor *": "allow"}},
        "mcp": {"avenor": {"type": "local", "command": ["avenor", "mcp"], "enabled": True}},
    }, indent=2) + "\n",
    ".mcp.json": json.dumps({"mcpServers": {"avenor": {
        "type": "stdio", "command": "avenor", "args": ["mcp"], "env": {}}}}, indent=2) + "\n",
    ".codex/config.toml": ('# the sandbox\nsandbox_mode = "workspace-write"\n'
                           'notify = [\n  "a",\n  "b",\n]\n\n'
                           '# the server\n[mcp_servers.avenor]\ncommand = "avenor"\n'
                           'args = [\n  "mcp",\n]\n'),
    ".claude/skills/avenor-dispatch/SKILL.md": "---\nname: avenor-dispatch\n"
                                               "description: d\n---\nbody\n",
    ".avenor/policy.json": '{"rules": []}\n',
}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """A templates folder with this repository's install.sh and the pairing `x-to-y`."""
    root = tmp_path / "templates"
    root.mkdir()
    shutil.copy2(INSTALL, root / "install.sh")
    for rel, text in PAIRING.items():
        path = root / "x-to-y" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "a-to-b").mkdir()  # a second pairing, so listings show more than one
    (root / "a-to-b" / "AGENTS.md").write_text("a\n")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "proj"
    p.mkdir()
    return p


def install(script: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(script), *map(str, args)], capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def snapshot(root: Path) -> dict:
    """Every path under root: its type and, for regular files, bytes and mode."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = str(p.relative_to(root))
            if stat.S_ISREG(st.st_mode):
                out[rel] = ("file", p.read_bytes(), stat.S_IMODE(st.st_mode))
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode))
    return out


def write(project: Path, rel: str, text: str) -> None:
    path = project / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def one_line(stderr: str) -> str:
    lines = stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0], f"expected one line on stderr, got: {stderr!r}"
    return lines[0]


def real_pairings() -> list[str]:
    return sorted(d.name for d in TEMPLATES.iterdir() if d.is_dir() and "-to-" in d.name)


def pairing_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# --------------------------------------------------------------------------------------------
# install.sh with the synthetic pairing
# --------------------------------------------------------------------------------------------


def test_fresh_install_copies_every_file(pack, project):
    r = install(pack / "install.sh", "x-to-y", project)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    for rel, text in PAIRING.items():
        assert (project / rel).read_text() == text, rel
        assert f"create {rel}\n" in r.stdout
    assert r.stdout.endswith(f"installed x-to-y into {project}: {len(PAIRING)} file(s) changed\n")


def test_reinstall_is_idempotent(pack, project):
    assert install(pack / "install.sh", "x-to-y", project).returncode == 0
    before = snapshot(project)
    r = install(pack / "install.sh", "x-to-y", project)
    assert r.returncode == 0, r.stderr
    assert snapshot(project) == before
    assert r.stdout.count("(already up to date)") == len(PAIRING)
    assert r.stdout.endswith("0 file(s) changed\n")


def test_merges_into_existing_config_files(pack, project):
    write(project, ".claude/settings.json", json.dumps({
        "model": "opus", "permissions": {"allow": ["Bash(npm test:*)", "Bash(avenor run:*)"]}}))
    write(project, "opencode.json", json.dumps({
        "model": "anthropic/claude", "permission": {"bash": {"git *": "allow"}},
        "mcp": {"other": {"type": "local", "command": ["other"]}}}))
    write(project, ".mcp.json", json.dumps({"mcpServers": {"github": {"command": "gh-mcp"}}}))
    write(project, ".codex/config.toml",
          '# my settings\nmodel = "o3"\n\n[mcp_servers.github]\ncommand = "gh-mcp"\n')
    r = install(pack / "install.sh", "x-to-y", project)
    assert r.returncode == 0, r.stderr
    for rel in (".claude/settings.json", "opencode.json", ".mcp.json", ".codex/config.toml"):
        assert f"merge {rel}\n" in r.stdout

    settings = json.loads((project / ".claude/settings.json").read_text())
    assert settings == {"model": "opus", "permissions": {
        "allow": ["Bash(npm test:*)", "Bash(avenor run:*)", "Bash(avenor watch:*)"],
        "deny": ["Bash(curl:*)"]}}

    oc = json.loads((project / "opencode.json").read_text())
    assert oc["model"] == "anthropic/claude"
    assert oc["permission"] == {"bash": {"git *": "allow", "*": "deny", "avenor *": "allow"},
                                "edit": "deny"}
    assert set(oc["mcp"]) == {"other", "avenor"}

    mcp = json.loads((project / ".mcp.json").read_text())
    assert set(mcp["mcpServers"]) == {"github", "avenor"}

    text = (project / ".codex/config.toml").read_text()
    assert "# my settings\n" in text  # the user's text is kept as written
    assert "# the sandbox\n" in text and "# the server\n" in text  # comments travel along
    assert tomllib.loads(text) == {
        "model": "o3", "sandbox_mode": "workspace-write", "notify": ["a", "b"],
        "mcp_servers": {"github": {"command": "gh-mcp"},
                        "avenor": {"command": "avenor", "args": ["mcp"]}}}

    # and a second run changes nothing
    before = snapshot(project)
    r = install(pack / "install.sh", "x-to-y", project)
    assert r.returncode == 0, r.stderr
    assert snapshot(project) == before


CONFLICTS = {
    "opencode-value": ("opencode.json", json.dumps({"permission": {"edit": "allow"}}),
                       "install.sh: opencode.json: key permission.edit has a different value "
                       "than the template's; not overwritten (nothing written)"),
    "mcp-server": (".mcp.json", json.dumps({"mcpServers": {"avenor": {"command": "/opt/avenor"}}}),
                   "install.sh: .mcp.json: key mcpServers.avenor.command has a different value "
                   "than the template's; not overwritten (nothing written)"),
    "settings-type": (".claude/settings.json", json.dumps({"permissions": {"allow": "all"}}),
                      "install.sh: .claude/settings.json: key permissions.allow has a different "
                      "value than the template's; not overwritten (nothing written)"),
    "codex-table": (".codex/config.toml", '[mcp_servers.avenor]\ncommand = "other"\n',
                    "install.sh: .codex/config.toml: key mcp_servers.avenor.command has a "
                    "different value than the template's; not overwritten (nothing written)"),
    "codex-extra-key": (".codex/config.toml",
                        '[mcp_servers.avenor]\ncommand = "avenor"\nargs = ["mcp"]\n'
                        'env = { A = "1" }\n',
                        "install.sh: .codex/config.toml: table [mcp_servers.avenor] exists with "
                        "different content; not overwritten (nothing written)"),
    "skill-text": (".claude/skills/avenor-dispatch/SKILL.md", "my own skill\n",
                   "install.sh: .claude/skills/avenor-dispatch/SKILL.md: exists with different "
                   "content; not overwritten (nothing written)"),
    "bad-json": ("opencode.json", "{ // jsonc\n}\n",
                 "install.sh: opencode.json: not valid JSON (line 1: Expecting property name "
                 "enclosed in double quotes); not merged (nothing written)"),
}


@pytest.mark.parametrize("case", sorted(CONFLICTS))
def test_conflict_names_file_and_key_and_writes_nothing(pack, project, case):
    rel, text, message = CONFLICTS[case]
    write(project, rel, text)
    before = snapshot(project)
    r = install(pack / "install.sh", "x-to-y", project)
    assert r.returncode == 1, r.stdout + r.stderr
    assert one_line(r.stderr) == message
    assert r.stdout == ""
    assert snapshot(project) == before


def test_dry_run_prints_the_plan_and_writes_nothing(pack, project):
    write(project, "opencode.json", json.dumps({"model": "m"}))
    before = snapshot(project)
    r = install(pack / "install.sh", "--dry-run", "x-to-y", project)
    assert r.returncode == 0, r.stderr
    assert snapshot(project) == before
    assert "would merge opencode.json\n" in r.stdout
    assert "would create .codex/config.toml\n" in r.stdout
    assert r.stdout.endswith(
        f"dry run: {len(PAIRING)} file(s) would change in {project}; nothing written\n")
    # a dry run reports a conflict exactly like a real run
    write(project, "opencode.json", json.dumps({"permission": {"edit": "ask"}}))
    r = install(pack / "install.sh", "--dry-run", "x-to-y", project)
    assert r.returncode == 1
    assert "key permission.edit" in one_line(r.stderr)


def test_unknown_pairing_lists_the_known_ones(pack, project):
    r = install(pack / "install.sh", "codex-to-nowhere", project)
    assert r.returncode == 2
    assert one_line(r.stderr) == \
        "install.sh: unknown pairing 'codex-to-nowhere'; known: a-to-b, x-to-y"
    assert snapshot(project) == {}


@pytest.mark.parametrize("args", [(), ("x-to-y",), ("x-to-y", "a", "b"), ("--help",)])
def test_usage_errors_exit_2(pack, project, args):
    r = install(pack / "install.sh", *args)
    assert r.returncode == 2
    assert one_line(r.stderr) == ("install.sh: usage: install.sh [--dry-run] <pairing> "
                                  "<project-dir>; pairings: a-to-b, x-to-y")


def test_missing_project_dir_exits_2(pack, tmp_path):
    r = install(pack / "install.sh", "x-to-y", tmp_path / "nope")
    assert r.returncode == 2
    assert one_line(r.stderr) == (f"install.sh: {tmp_path / 'nope'}: not a directory "
                                  f"(create the project folder first)")


def test_symlinked_file_is_refused_and_its_target_untouched(pack, project, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text(PAIRING["opencode.json"])  # identical content: still refused
    (project / "opencode.json").symlink_to(outside)
    before = snapshot(project)
    r = install(pack / "install.sh", "x-to-y", project)
    assert r.returncode == 1
    assert one_line(r.stderr) == ("install.sh: opencode.json: is a symlink; refusing to write "
                                  "through it (nothing written)")
    assert snapshot(project) == before
    assert outside.read_text() == PAIRING["opencode.json"]


def test_symlinked_folder_is_refused(pack, project, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (project / ".claude").symlink_to(outside)
    r = install(pack / "install.sh", "x-to-y", project)
    assert r.returncode == 1
    assert one_line(r.stderr) == ("install.sh: .claude: is a symlink; refusing to write "
                                  "through it (nothing written)")
    assert list(outside.iterdir()) == []
    assert not (project / "opencode.json").exists()


def test_fifo_is_refused_without_blocking(pack, project):
    os.mkfifo(project / "opencode.json")
    r = install(pack / "install.sh", "x-to-y", project)  # a read of the FIFO would hang
    assert r.returncode == 1
    assert one_line(r.stderr) == ("install.sh: opencode.json: exists and is not a regular "
                                  "file; refusing (nothing written)")
    assert not (project / ".mcp.json").exists()


def test_file_where_a_folder_belongs_is_refused(pack, project):
    (project / ".codex").write_text("not a folder\n")
    r = install(pack / "install.sh", "x-to-y", project)
    assert r.returncode == 1
    assert one_line(r.stderr) == ("install.sh: .codex: exists and is not a directory; "
                                  "refusing (nothing written)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_unwritable_folder_is_refused_before_any_write(pack, project):
    (project / ".claude").mkdir()
    (project / ".claude").chmod(0o555)
    try:
        r = install(pack / "install.sh", "x-to-y", project)
        assert r.returncode == 1
        assert one_line(r.stderr) == ("install.sh: .claude/settings.json: cannot write: folder "
                                      ".claude is not writable (nothing written)")
        assert not (project / "opencode.json").exists()
    finally:
        (project / ".claude").chmod(0o755)


# --------------------------------------------------------------------------------------------
# The real pairings
# --------------------------------------------------------------------------------------------


def test_the_pack_has_pairings():
    assert INSTALL.is_file() and os.access(INSTALL, os.X_OK), f"{INSTALL} is not executable"
    assert real_pairings(), "templates/ holds no <from>-to-<to> folder"


@pytest.mark.parametrize("pairing", real_pairings())
def test_real_pairing_installs_identically_and_idempotently(pairing, project):
    src = TEMPLATES / pairing
    r = install(INSTALL, pairing, project)
    assert r.returncode == 0, r.stderr
    files = pairing_files(src)
    assert pairing_files(project) == files
    for rel in files:
        assert (project / rel).read_bytes() == (src / rel).read_bytes(), rel
    before = snapshot(project)
    r = install(INSTALL, pairing, project)
    assert r.returncode == 0, r.stderr
    assert snapshot(project) == before
    assert r.stdout.count("(already up to date)") == len(files)


@pytest.mark.parametrize("pairing", real_pairings())
def test_real_pairing_merges_into_a_project_with_its_own_config(pairing, project):
    """The user's own entries in every mergeable file survive next to the pairing's."""
    src = TEMPLATES / pairing
    mine = {
        ".claude/settings.json": {"permissions": {"allow": ["Bash(make:*)"]}, "x-user": 1},
        "opencode.json": {"x-user": 1, "mcp": {"mine": {"type": "local", "command": ["m"]}}},
        ".mcp.json": {"mcpServers": {"mine": {"command": "m"}}},
    }
    present = [rel for rel in mine if (src / rel).is_file()]
    for rel in present:
        write(project, rel, json.dumps(mine[rel]))
    codex = (src / ".codex/config.toml").is_file()
    if codex:
        write(project, ".codex/config.toml", '[mcp_servers.mine]\ncommand = "m"\n')
    r = install(INSTALL, pairing, project)
    assert r.returncode == 0, r.stderr
    for rel in present:
        got = json.loads((project / rel).read_text())
        assert got.get("x-user", 1) == 1
        theirs = json.loads((src / rel).read_text())
        for key in theirs:
            assert key in got, f"{rel}: {key} missing after the merge"
    if (project / ".claude/settings.json").is_file() and ".claude/settings.json" in present:
        allow = json.loads((project / ".claude/settings.json").read_text())["permissions"]["allow"]
        assert allow[0] == "Bash(make:*)"
    if "opencode.json" in present:
        assert "mine" in json.loads((project / "opencode.json").read_text())["mcp"]
    if codex:
        cfg = tomllib.loads((project / ".codex/config.toml").read_text())
        assert cfg["mcp_servers"]["mine"] == {"command": "m"}
        theirs = tomllib.loads((src / ".codex/config.toml").read_text())
        for key in theirs:
            assert key in cfg, f".codex/config.toml: {key} missing after the merge"


# --------------------------------------------------------------------------------------------
# templates/README.md: every ```sh block runs literally
# --------------------------------------------------------------------------------------------


def readme_blocks() -> list[tuple[str, str | None]]:
    """(script, the ```text block right after it or None) for every ```sh block."""
    if not README.is_file():
        return []
    return shell_blocks(README.read_text())


def file_table() -> list[tuple[list[str], str]]:
    """Rows of README's "Each file's job" table: (paths, pairings cell)."""
    text = README.read_text()
    start = text.index("## Each file's job")
    end = text.find("\n## ", start + 1)
    rows = []
    for line in text[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        path = cells[0].strip("`")
        m = re.fullmatch(r"(.*)\{([^}]*)\}(.*)", path)
        paths = [m.group(1) + p + m.group(3) for p in m.group(2).split(",")] if m else [path]
        rows.append((paths, cells[1]))
    return rows


def pairings_of(cell: str) -> set[str]:
    everyone = set(real_pairings())
    if cell == "every pairing":
        return everyone
    if cell == "every pairing with an OpenCode side":
        return {p for p in everyone if "opencode" in p}
    globs = re.findall(r"`([^`]+)`", cell)
    assert globs, f"README file table: cannot read the pairings cell {cell!r}"
    return {p for p in everyone if any(fnmatch.fnmatch(p, g) for g in globs)}


def test_readme_file_table_matches_the_pairings():
    """Every file of every pairing has a row; each row names exactly the pairings holding it."""
    rows = file_table()
    described = {p for paths, _ in rows for p in paths}
    for pairing in real_pairings():
        for rel in pairing_files(TEMPLATES / pairing):
            assert rel in described, f"templates/README.md does not describe {pairing}/{rel}"
    for paths, cell in rows:
        for rel in paths:
            holding = {p for p in real_pairings() if (TEMPLATES / p / rel).is_file()}
            assert holding == pairings_of(cell), \
                f"templates/README.md: {rel} is said to be in {cell!r} but is in {sorted(holding)}"


def test_readme_matrix_names_every_pairing():
    text = README.read_text()
    matrix = text[text.index("## The matrix"):text.index("\n## ", text.index("## The matrix") + 1)]
    assert set(re.findall(r"`([a-z-]+-to-[a-z-]+)`", matrix)) == set(real_pairings())


def test_readme_has_shell_blocks():
    assert README.is_file(), "templates/README.md is missing"
    assert readme_blocks(), "templates/README.md shows no ```sh block"


@pytest.mark.parametrize("index", range(len(readme_blocks())))
def test_readme_block_runs(index, tmp_path):
    block, expected = readme_blocks()[index]
    clone, home = tmp_path / "avenor", tmp_path / "home"
    clone.mkdir()
    (clone / "templates").symlink_to(TEMPLATES)
    (home / "src" / "myproject").mkdir(parents=True)
    env = {"HOME": str(home), "TMPDIR": str(tmp_path),
           "PATH": os.pathsep.join([str(Path(os.environ.get("AVENOR_BIN", "avenor")).parent),
                                    "/usr/local/bin", "/usr/bin", "/bin"]),
           "LANG": "C.UTF-8"}
    r = subprocess.run(["bash", "-e", "-c", block], cwd=clone, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT * 4,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"block {index} failed:\n{block}\n--- output\n{r.stdout}"
    if expected is not None:
        assert output_matches(expected, r.stdout), \
            f"block {index}:\n{block}\n--- expected\n{expected}--- got\n{r.stdout}"
