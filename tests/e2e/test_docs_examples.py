"""Every shell example of README.md and docs/*.md runs literally as written, and where the page
shows the output in the ```text block right after it, prints exactly that (project rule: the
docs cannot drift from the binary). docs/mcp.md and README's MCP section are run by
test_docs_mcp.py and left out here.

Each ```sh / ```bash block is one script: `bash -e -c <block>` in a fresh DocsWorld — a short
root under /tmp with a private HOME and TMPDIR, the scripted fake ACP agent as `opencode`
(and `gemini`, `agent`) first on PATH, the avenor under test next, cwd a scratch project
(`<root>/work/proj`). The fake plays DOCS_AGENT: what it answers depends on words of the
prompt, so the pages can use ordinary prompts ("Fix the failing test", "Run the tests", …).
Blocks that name repository paths (`scripts/demo.py`, `build`, `sdk/…`) run in a scratch
"clone": the project holds links to those folders of the repository.

Comparing output (stdout and stderr merged, in the order written). The expected text may use
two placeholders, and nothing else is normalised:
  * `…` inside a line matches any text on that line (run ids, ports, temp paths, times);
  * a line that is only `…` matches any number of whole lines (long JSON, listings).
Trailing spaces at line ends and a missing final newline are ignored.

`test_every_block_is_run` fails when a page gains a block that no case here names (each case
names its block by a substring that must occur in exactly one block of that page), or when a
case names a block that is gone. Blocks that cannot run offline are listed in SKIPPED with the
reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

import peers
from stable_harness import StableWorld, killpg_quietly, read_ndjson

REPO = peers.repo_root()
DOCS = REPO / "docs"
README = REPO / "README.md"
README_MCP_SECTION = "## Driving agents from an MCP client"
EXCLUDED_PAGES = ("mcp.md",)  # test_docs_mcp.py runs its blocks
BLOCK_TIMEOUT = 120.0          # one block with the fake agent on a busy 2-core machine
BUILD_TIMEOUT = 600.0          # the block that builds the example plugin

SESSION = "ses_4f1c2a9e7b"     # the session id the fake reports (the pages show it)

# --------------------------------------------------------------------------------------------
# The agent the pages talk to
# --------------------------------------------------------------------------------------------


def _permission(call_id: str, title: str, kind: str, raw_input: dict,
                allowed: list, rejected: list) -> list:
    call = {"toolCallId": call_id, "title": title, "kind": kind, "status": "pending",
            "rawInput": raw_input}
    return [{"tool_call": call},
            {"permission": {"toolCall": call},
             "on_allow": [{"tool_call_update": {"toolCallId": call_id, "status": "completed"}},
                          *allowed],
             "on_reject": rejected}]


def _end(input_tokens: int, output_tokens: int) -> dict:
    return {"end": {"stopReason": "end_turn",
                    "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens}}}


# Prompt word → turn (first match wins). Every prompt the pages use is answered here.
DOCS_AGENT = {
    "session_id": SESSION,
    "by_prompt": [
        {"contains": "Run the tests", "turn": _permission(
            "call_1", "npm test", "execute", {"command": "npm test"},
            [{"chunk": "All 12 tests pass."}], [{"chunk": "I did not run the tests."}])
         + [_end(900, 12)]},
        {"contains": "Read the README", "turn": _permission(
            "call_1", "Read README.md", "read", {"path": "README.md"},
            [{"chunk": "README.md explains the build."}], [{"chunk": "I did not read it."}])
         + [_end(700, 8)]},
        {"contains": "Clean the build", "turn": _permission(
            "call_1", "rm -rf build", "execute", {"command": "rm -rf build"},
            [{"chunk": "Removed build/."}], [{"chunk": "I left build/ alone."}])
         + [_end(600, 7)]},
        {"contains": "Refactor the parser", "turn": [
            {"thought": "The parser mixes lexing and parsing."},
            {"chunk": "Refactoring the parser..."},
            {"sleep_ms": 600000}]},
        {"contains": "Fix the failing test", "turn": [
            {"thought": "The fixture lists 2 files; the test expects 3."},
            {"tool_call": {"toolCallId": "call_1", "title": "Edit tests/fixture.json",
                           "kind": "edit", "status": "pending"}},
            {"tool_call_update": {"toolCallId": "call_1", "status": "completed"}},
            {"chunk": "Fixed the failing test: "},
            {"chunk": "the fixture now lists 3 files."},
            _end(1200, 85)]},
        # loop phases (docs/loop.md's review.yaml)
        {"contains": "Build the project", "turn": [{"chunk": "Built; no compile errors."}]},
        {"contains": "Run the test suite", "turn": [{"chunk": "All 12 tests pass."}]},
        {"contains": "Review iteration 2", "turn": [
            {"chunk": "The code is clean.\n[loop: exit | clean]\n"}]},
        {"contains": "Review iteration", "turn": [{"chunk": "Two nits remain in parser.cpp."}]},
        {"contains": "Fix what the review found", "turn": [{"chunk": "Fixed both nits."}]},
        {"contains": "release notes", "turn": [{"chunk": "Wrote NOTES.md."}]},
        {"contains": "Continue", "turn": [{"chunk": "Continued: the review is done."}]},
        {"contains": "Review PR #42", "turn": [{"chunk": "PR #42 looks good; one nit."}]},
    ],
    "turns": [[{"chunk": "Done."}]],
}


# --------------------------------------------------------------------------------------------
# The pages and their blocks
# --------------------------------------------------------------------------------------------

FENCE_RE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass
class Block:
    page: str            # "README.md" or "docs/<name>.md"
    text: str            # the script
    output: str | None   # the ```text block right after it, if any


def pages() -> list[Path]:
    return [README] + sorted(p for p in DOCS.glob("*.md") if p.name not in EXCLUDED_PAGES)


def page_name(path: Path) -> str:
    return str(path.relative_to(REPO))


def page_text(path: Path) -> str:
    """The page, without README's MCP section (test_docs_mcp.py runs that one)."""
    text = path.read_text()
    if path == README:
        start = text.find(README_MCP_SECTION)
        assert start >= 0, f"README.md has no {README_MCP_SECTION!r} section"
        end = text.find("\n## ", start + len(README_MCP_SECTION))
        text = text[:start] + (text[end:] if end >= 0 else "")
    return text


def shell_blocks(text: str) -> list[tuple[str, str | None]]:
    """(script, the ```text block right after it or None) for every ```sh/```bash block."""
    found = list(FENCE_RE.finditer(text))
    out = []
    for i, m in enumerate(found):
        if m.group(1) not in ("sh", "bash"):
            continue
        output = None
        if i + 1 < len(found):
            nxt = found[i + 1]
            if nxt.group(1) == "text" and text[m.end():nxt.start()].strip() == "":
                output = nxt.group(2)
        out.append((m.group(2), output))
    return out


def blocks_of(path: Path) -> list[Block]:
    return [Block(page_name(path), script, output)
            for script, output in shell_blocks(page_text(path))]


def all_blocks() -> list[Block]:
    return [b for p in pages() for b in blocks_of(p)]


def the_json_block(page: str, key: str) -> str:
    """The one ```json block of the page containing `key`."""
    found = [m.group(2) for m in FENCE_RE.finditer((REPO / page).read_text())
             if m.group(1) == "json" and key in m.group(2)]
    assert len(found) == 1, \
        f"{page}: expected one json block containing {key!r}, found {len(found)}"
    return found[0]


def the_block(page: str, key: str) -> Block:
    found = [b for b in all_blocks() if b.page == page and key in b.text]
    assert len(found) == 1, f"{page}: expected one shell block containing {key!r}, " \
                            f"found {len(found)}"
    return found[0]


# --------------------------------------------------------------------------------------------
# Output comparison
# --------------------------------------------------------------------------------------------

ELLIPSIS = "\u2026"


def expected_pattern(expected: str) -> re.Pattern:
    parts = []
    for line in expected.rstrip("\n").split("\n"):
        line = line.rstrip()
        if line == ELLIPSIS:
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append("[^\n]*?".join(re.escape(p) for p in line.split(ELLIPSIS)) + r"\n")
    return re.compile("".join(parts))


def normalised(actual: str) -> str:
    lines = [line.rstrip() for line in actual.rstrip("\n").split("\n")]
    return "\n".join(lines) + "\n" if actual.strip("\n") else ""


def output_matches(expected: str, actual: str) -> bool:
    return expected_pattern(expected).fullmatch(normalised(actual)) is not None


# --------------------------------------------------------------------------------------------
# The world a block runs in
# --------------------------------------------------------------------------------------------

CLONE_LINKS = ("build", "sdk", "scripts", "tests")


class DocsWorld(StableWorld):
    """A StableWorld (short /tmp root, HOME, TMPDIR, marker variable, fake agents first on PATH)
    whose fake plays DOCS_AGENT everywhere, with the avenor under test next on PATH and a
    scratch project `work/proj` as the blocks' cwd."""

    def __init__(self, avenor: str):
        super().__init__(avenor)
        self.agents.default_script.write_text(json.dumps(DOCS_AGENT, indent=1))
        # Only the system's own folders after these, so a CLI installed elsewhere on this
        # machine (codex in /usr/local/bin, …) cannot change what `avenor doctor` prints.
        self.env["PATH"] = os.pathsep.join(dict.fromkeys(
            [str(self.agents.bin), str(Path(avenor).parent), str(Path(sys.executable).parent),
             "/usr/bin", "/bin"]))
        for var in ("AVENOR_PLUGIN_DIR",):
            if var in os.environ:
                self.env[var] = os.environ[var]
        for var in ("MCP_AUTH_TOKEN", "AVENOR_CLAUDE_TERMINAL", "PI_CODING_AGENT_DIR",
                    "PI_AGENT", "PI_AGENT_PROFILE"):
            self.env.pop(var, None)
        self.proj = self.work / "proj"
        self.proj.mkdir()

    def clone_links(self) -> None:
        """Makes the project look like a clone for blocks that name repository paths."""
        for name in CLONE_LINKS:
            (self.proj / name).symlink_to(REPO / name)

    def write(self, name: str, text: str) -> Path:
        path = self.proj / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def events(self, name: str) -> list[dict]:
        return read_ndjson(self.proj / name)

    def named(self, log: str, event: str) -> list[dict]:
        return [e for e in self.events(log) if e.get("event") == event]

    def lines(self, name: str) -> list[str]:
        return (self.proj / name).read_text().split("\n")[:-1]


class Ran:
    def __init__(self, block: Block, rc: int, out: str):
        self.block, self.rc, self.out = block, rc, out

    def why(self, world: DocsWorld | None = None) -> str:
        files = ""
        if world is not None:
            listing = sorted(str(p.relative_to(world.proj)) for p in world.proj.rglob("*")
                             if p.is_file() and not any(p.relative_to(world.proj).parts[0] == n
                                                        for n in CLONE_LINKS))
            files = f"\n--- files in the project ---\n{listing}"
            for name in listing:
                if name.endswith((".err", ".ndjson", ".done")):
                    files += f"\n--- {name} ---\n{(world.proj / name).read_text()[-2500:]}"
        return (f"\n--- {self.block.page} block ---\n{self.block.text}"
                f"--- exit {self.rc}; output ---\n{self.out[-6000:]}{files}")


def run_block(block: Block, world: DocsWorld, timeout: float = BLOCK_TIMEOUT) -> Ran:
    """`bash -e -c block` in its own process group, stdout and stderr merged, bounded."""
    proc = subprocess.Popen(["bash", "-e", "-c", block.text], env=world.env, cwd=str(world.proj),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        killpg_quietly(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"block did not finish within {timeout} s" +
                             Ran(block, -9, out or "").why(world))
    return Ran(block, proc.returncode, out)


# --------------------------------------------------------------------------------------------
# The cases: one per block
# --------------------------------------------------------------------------------------------


@dataclass
class Case:
    page: str
    key: str                                   # a substring of exactly one block of the page
    prepare: Callable[[DocsWorld], None] | None = None
    check: Callable[[DocsWorld, Ran], None] | None = None
    rc: int = 0
    clone: bool = False                        # the project links build/, sdk/, scripts/, tests/
    timeout: float = BLOCK_TIMEOUT
    needs: tuple[str, ...] = ()                # tools the block uses (skipped when missing)
    peer: str | None = None                    # a real CLI from .peers the block needs

    @property
    def id(self) -> str:
        short = re.sub(r"[^\w.-]+", "_", self.key)[:40]
        return f"{self.page}:{short}"


# Blocks that cannot run in the suite, with the reason.
SKIPPED = {
    ("README.md", "bash scripts/setup.sh"):
        "setup.sh installs system packages and the real CLIs and builds; test.sh runs this very "
        "suite: the suite runs on their result",
    ("docs/packaging.md", "bash scripts/package.sh"):
        "a Release build of its own: test_packages.py runs this block literally",
    ("docs/packaging.md", "sudo apt install"):
        "installs into the machine: test_packages.py installs the same packages into scratch roots",
}


def _files_from_page(page: str, names: dict[str, str]) -> Callable[[DocsWorld], None]:
    """Writes files the page shows (file name → a key of its fenced block) into the project."""
    def prepare(world: DocsWorld) -> None:
        text = (REPO / page).read_text()
        for name, key in names.items():
            found = [m.group(2) for m in FENCE_RE.finditer(text) if key in m.group(2)
                     and m.group(1) not in ("sh", "bash", "text")]
            assert len(found) == 1, f"{page}: expected one block with {key!r} for {name}"
            world.write(name, found[0])
    return prepare


CASES: list[Case] = []


def case(page: str, key: str, **kw) -> Callable:
    """Registers a case; used as a decorator on its extra check (or called with check=None)."""
    def register(check: Callable | None) -> Callable | None:
        CASES.append(Case(page, key, check=check, **kw))
        return check
    return register


# The loop file and prompt file docs/loop.md shows (file name → a key of its block).
LOOP_FILES = {"review.yaml": "name: notes", "prompts/fix.md": "Fix what the review found"}


# ---- README.md ------------------------------------------------------------------------------

case("README.md", "python3 scripts/demo.py", clone=True, peer="opencode", timeout=300.0)(None)


@case("README.md", "avenor answer run.perm --option once",
      prepare=_files_from_page("docs/loop.md", LOOP_FILES))
def _readme_using_it(world: DocsWorld, ran: Ran) -> None:
    assert "DONE\nSESSION=" + SESSION in ran.out, ran.why(world)
    assert world.named("ev.ndjson", "session.end")[0]["final_output"].startswith("Fixed")
    assert (world.proj / "run.perm.req.response").exists(), ran.why(world)
    first = world.named("review.ndjson", "session.end")[0]
    assert first["final_output"] == "PR #42 looks good; one nit.", first
    assert "ok: review.yaml" in ran.out and "opencode-acp\t" in ran.out, ran.why(world)
    world.wait_no_processes("after the README block's supervisor shut down")


@case("README.md", "cmake --install build", clone=True, timeout=BUILD_TIMEOUT, needs=("cmake",))
def _readme_plugin(world: DocsWorld, ran: Ran) -> None:
    assert (world.root / "home" / "avenor-sdk" / "include/avenor/abi/plugin_abi.h").exists()


# ---- docs/cli.md ---------------------------------------------------------------------------

case("docs/cli.md", "avenor --version")(None)
case("docs/cli.md", "avenor run --prompt fix the tests")(None)


@case("docs/cli.md", "--on-event ev.ndjson --sentinel-file run.done\necho")
def _cli_run(world: DocsWorld, ran: Ran) -> None:
    ends = world.named("ev.ndjson", "session.end")
    assert [e["final_output"] for e in ends] == \
        ["Fixed the failing test: the fixture now lists 3 files."], ran.why(world)


case("docs/cli.md", "--backend opencode --prompt")(None)


@case("docs/cli.md", "--timeout 5s")
def _cli_timeout(world: DocsWorld, ran: Ran) -> None:
    world.wait_no_processes("after the timed-out run (its agent must be gone too)")


case("docs/cli.md", "avenor plugins")(None)
case("docs/cli.md", "avenor doctor")(None)


# ---- docs/events.md -------------------------------------------------------------------------


@case("docs/events.md", "python3 - ev.ndjson")
def _events_log(world: DocsWorld, ran: Ran) -> None:
    shown = [json.loads(line) for line in
             the_json_block("docs/events.md", '"seq":9,').strip().split("\n")]
    got = world.events("ev.ndjson")
    strip = ("ts", "run_id")
    assert [{k: v for k, v in e.items() if k not in strip} for e in got] == \
        [{k: v for k, v in e.items() if k not in strip} for e in shown], \
        "the log differs from the page's copy of it" + ran.why(world)


# ---- docs/watch.md --------------------------------------------------------------------------

case("docs/watch.md", "--classify --accumulate")(None)


@case("docs/watch.md", "--follow --until-end --classify")
def _watch_follow(world: DocsWorld, ran: Ran) -> None:
    assert world.named("live.ndjson", "permission.response")[0]["source"] == "avenor"


case("docs/watch.md", "--format json --classify | head")(None)
case("docs/watch.md", "--since-cursor ev.cursor | wc")(None)


# ---- docs/control-protocol.md ----------------------------------------------------------------


@case("docs/control-protocol.md", "interrupt-and-prompt \"Fix the failing test instead\"")
def _control_interrupt(world: DocsWorld, ran: Ran) -> None:
    status = json.loads((world.proj / "status.json").read_text())
    assert status["pending_permission"] is False and status["run_id"], status
    ends = world.named("ev.ndjson", "session.end")
    assert ends[-1]["final_output"] == "Fixed the failing test: the fixture now lists 3 files.", \
        ends


@case("docs/control-protocol.md", "--wait-socket 30s cancel")
def _control_cancel(world: DocsWorld, ran: Ran) -> None:
    # The cancel may come before the session exists (then SESSION= is empty).
    lines = world.lines("run.done")
    assert lines[0] == "KILLED" and lines[1] in ("SESSION=", f"SESSION={SESSION}") and \
        lines[2:4] == ["STOP_REASON=cancelled", "EXIT_CODE=130"], lines


case("docs/control-protocol.md", "python3 - run.sock")(None)
case("docs/control-protocol.md", "--http-debug 127.0.0.1:0", needs=("curl",))(None)


# ---- docs/stable.md ------------------------------------------------------------------------


@case("docs/stable.md", "--label review-42 --on-event review.ndjson")
def _stable_quick_start(world: DocsWorld, ran: Ran) -> None:
    spawned = json.loads((world.proj / "rt_1.json").read_text())
    shown = json.loads(the_json_block("docs/stable.md", '"runtime_id": "rt_1"'))
    assert set(spawned) == set(shown), f"spawn printed {spawned}"
    assert (spawned["runtime_id"], spawned["session_id"]) == ("rt_1", SESSION), spawned
    assert "reason=shutdown" in Path(f"{world.proj}/stable.sock.dead").read_text()
    world.wait_no_processes("after the supervisor's shutdown")


@case("docs/stable.md", "--sentinel-file tests.done")
def _stable_permissions(world: DocsWorld, ran: Ran) -> None:
    [response] = world.named("tests.ndjson", "permission.response")
    assert (response["source"], response["option_id"]) == ("file", "once"), response
    [response] = world.named("clean.ndjson", "permission.response")
    assert (response["source"], response["kind"]) == ("policy", "reject"), response
    world.wait_no_processes("after the supervisor's shutdown")


# ---- docs/loop.md ---------------------------------------------------------------------------

@case("docs/loop.md", "avenor verify --loop-file review.yaml\navenor run",
      prepare=_files_from_page("docs/loop.md", LOOP_FILES))
def _loop_worked_example(world: DocsWorld, ran: Ran) -> None:
    ends = world.named("run.ndjson", "avenor.phase.end")
    marked = [e for e in ends if e.get("exit_marker")]
    assert [(e["phase"], e["iteration"], e["exit_marker_label"]) for e in marked] == \
        [("review", 2, "clean")], ends
    [end] = world.named("run.ndjson", "avenor.loop.end")
    assert (end["exit_reason"], end["exit_label"], end["iterations_completed"]) == \
        ("marker", "clean", 1), end


case("docs/loop.md", "avenor verify --loop-file loop.yaml")(None)


@case("docs/loop.md", "--timeout 2h --max-retries 1",
      prepare=_files_from_page("docs/loop.md", LOOP_FILES))
def _loop_running(world: DocsWorld, ran: Ran) -> None:
    assert world.lines("run.done")[0] == "DONE", world.lines("run.done")
    starts = world.named("run.ndjson", "avenor.phase.start")
    assert [s["phase"] for s in starts][:2] == ["build", "test"], starts


# ---- docs/permission-handler.md ----------------------------------------------------------


@case("docs/permission-handler.md", "avenor answer run.perm --option once\nwait")
def _ph_file_handler(world: DocsWorld, ran: Ran) -> None:
    req = json.loads((world.proj / "run.perm.req").read_text())
    shown = json.loads(the_json_block("docs/permission-handler.md", '"payload"'))
    assert req == shown, f"run.perm.req differs from the page's:\n{json.dumps(req, indent=2)}"
    [response] = world.named("ev.ndjson", "permission.response")
    assert (response["source"], response["option_id"]) == ("file", "once"), response


case("docs/permission-handler.md", "avenor answer run.perm --option once ||")(None)


@case("docs/permission-handler.md", "cat > policy.json")
def _ph_policy(world: DocsWorld, ran: Ran) -> None:
    shown = json.loads(the_json_block("docs/permission-handler.md", '"npm test*"'))
    assert json.loads((world.proj / "policy.json").read_text()) == shown
    for log, text in (("test.ndjson", "All 12 tests pass."),
                      ("clean.ndjson", "I left build/ alone.")):
        [end] = world.named(log, "session.end")
        assert end["final_output"] == text, end


@case("docs/permission-handler.md", "--approve-reads --deny-all")
def _ph_shorthands(world: DocsWorld, ran: Ran) -> None:
    [end] = world.named("slow.ndjson", "session.end")
    assert end["final_output"] == "I did not run the tests.", end


# ---- docs/plugin-guide.md ------------------------------------------------------------------

case("docs/plugin-guide.md", "ctest --test-dir", clone=True, timeout=BUILD_TIMEOUT,
     needs=("cmake", "ctest"))(None)


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_every_block_is_run():
    """Each shell block is named by exactly one case or skip entry of its page, and each case
    and skip entry names exactly one block."""
    keys = [(c.page, c.key) for c in CASES] + list(SKIPPED)
    assert len(keys) == len(set(keys)), "a block is named twice"
    for b in all_blocks():
        named = [k for (p, k) in keys if p == b.page and k in b.text]
        assert len(named) == 1, f"{b.page}: shell block named by {named} (needs exactly one " \
                                f"case in test_docs_examples.py):\n{b.text}"
    for page, key in keys:
        the_block(page, key)


def owned_pages() -> list[Path]:
    """The pages this file checks beyond their shell blocks: README and the user docs."""
    return [README, *(DOCS / n for n in ("cli.md", "events.md", "watch.md",
                                          "permission-handler.md", "control-protocol.md",
                                          "stable.md", "loop.md"))]


def test_json_blocks_parse():
    """Every ```json block is one JSON value or JSON lines (the events, requests, policies and
    results an agent copies)."""
    for path in owned_pages():
        for m in FENCE_RE.finditer(page_text(path)):
            if m.group(1) != "json":
                continue
            text = m.group(2)
            try:
                json.loads(text)
            except ValueError:
                try:
                    for line in text.strip().split("\n"):
                        json.loads(line)
                except ValueError as e:
                    raise AssertionError(f"{page_name(path)}: ```json block is neither JSON nor "
                                         f"JSON lines ({e}):\n{text}") from None


LINK_RE = re.compile(r"\]\(([^)\s]+)\)")
URL_RE = re.compile(r"https?://[^\s)`'\"<>]+")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_stay_in_the_repository():
    """The docs stand alone in a clone: no link leaves the repository (no ../ outside it, no
    http(s) address but loopback), and every relative link names a file and heading that exist."""
    for path in owned_pages():
        text = path.read_text()
        for url in URL_RE.findall(text):
            assert re.match(r"https?://(127\.0\.0\.1|localhost|\[::1\])[:/]", url), \
                f"{page_name(path)} links out of the repository: {url}"
        assert "shared/spec" not in text, f"{page_name(path)} points at the spec outside the repo"
        for target in LINK_RE.findall(text):
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            assert dest.is_relative_to(REPO) and dest.exists(), \
                f"{page_name(path)}: link to {target} names no file in the repository"
            if anchor and dest.suffix == ".md":
                heads = [slug(h) for h in re.findall(r"^#+ (.*)$", dest.read_text(), re.M)]
                assert anchor in heads, f"{page_name(path)}: link {target}: no such heading"


# Where each command's flags are documented (its usage, `avenor help <cmd>`, lists them).
FLAG_PAGES = {
    ("run",): "docs/cli.md",
    ("answer",): "docs/permission-handler.md",
    ("watch",): "docs/watch.md",
    ("control",): "docs/control-protocol.md",
    ("control", "spawn"): "docs/stable.md",
    ("stable",): "docs/stable.md",
    ("mcp",): "docs/mcp.md",
    ("verify",): "docs/loop.md",
    ("plugins",): "docs/cli.md",
    ("doctor",): "docs/cli.md",
    ("claude-channel",): "docs/cli.md",
    ("claude-channel-cleanup",): "docs/cli.md",
}


@pytest.mark.parametrize("command", list(FLAG_PAGES), ids=[" ".join(c) for c in FLAG_PAGES])
def test_every_flag_is_documented(command, avenor):
    """Each flag a command's usage lists appears as `--flag` on the page that documents the
    command (a flag added to the binary without docs fails here)."""
    argv = [avenor, *command, "--help"] if command != ("control", "spawn") else \
        [avenor, "control", "--socket", "x", "spawn", "--help"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    flags = re.findall(r"^  -([a-z][a-z-]*)", r.stdout + r.stderr, re.M)
    assert flags, f"`{' '.join(argv[1:])}` listed no flags:\n{r.stdout}{r.stderr}"
    page = REPO / FLAG_PAGES[command]
    text = page.read_text()
    missing = [f for f in flags if not re.search(rf"--{re.escape(f)}(?![\w-])", text)]
    assert not missing, f"{FLAG_PAGES[command]} does not document {' '.join(command)} flags " \
                        f"{missing}"


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_block(c: Case, avenor, fake_agent):
    for tool in c.needs:
        if shutil.which(tool) is None:
            pytest.skip(f"{peers.SKIP_PREFIX} {tool} not installed (the block uses it)")
    if c.peer:
        peers.require_peer(c.peer)
    block = the_block(c.page, c.key)
    world = DocsWorld(avenor)
    try:
        if c.clone:
            world.clone_links()
        if c.prepare:
            c.prepare(world)
        ran = run_block(block, world, c.timeout)
        assert ran.rc == c.rc, f"exit {ran.rc}, expected {c.rc}" + ran.why(world)
        if block.output is not None:
            assert output_matches(block.output, ran.out), \
                f"output differs from the page's:\n--- page ---\n{block.output}" + ran.why(world)
        if c.check:
            c.check(world, ran)
    finally:
        world.cleanup()
