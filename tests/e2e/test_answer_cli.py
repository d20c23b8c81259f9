"""`avenor answer <perm-base>`: the check table of events.md §7.6 and cli.md §4.

Exit 2 for usage/validation, 1 for I/O failures, 0 on success (nothing printed). The response
is compact JSON with exactly the keys outcome, option_id, message and a trailing newline,
published without clobbering an existing answer unless --force is given.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

PREFIX = "avenor answer: "

REQUEST = {
    "request_id": "17",
    "session_id": "ses_1",
    "tool": "bash",
    "question": "Run command?",
    "options": [{"optionId": "a", "kind": "allow"},
                {"optionId": "b", "kind": "reject", "requiresMessage": False}],
    "payload": {"toolCall": {"title": "bash"}, "request_id": "17"},
}


@pytest.fixture
def base(tmp_path) -> Path:
    """A perm base with a pending request offering options a and b."""
    b = tmp_path / "run.perm"
    Path(f"{b}.req").write_text(json.dumps(REQUEST, indent=2) + "\n")
    return b


def answer(avenor: str, *args: str, cwd: Path | None = None):
    return subprocess.run([avenor, "answer", *args], capture_output=True, text=True, timeout=20,
                          cwd=cwd, stdin=subprocess.DEVNULL)


def response_path(base: Path) -> Path:
    return Path(f"{base}.req.response")


def read_response(base: Path) -> dict:
    text = response_path(base).read_text()
    assert text.endswith("\n") and text.count("\n") == 1, repr(text)
    doc = json.loads(text)
    # compact JSON: re-encoding compactly, in the file's key order, gives the same bytes
    assert text == json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n", repr(text)
    return doc


def no_temp_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------------------------------------
# Success
# ---------------------------------------------------------------------------------------------

def test_selected(avenor, base):
    r = answer(avenor, "--option", "a", str(base))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    doc = read_response(base)
    assert doc == {"outcome": "selected", "option_id": "a", "message": ""}
    assert set(doc) == {"outcome", "option_id", "message"}
    assert stat.S_IMODE(response_path(base).stat().st_mode) == 0o600
    assert no_temp_files(base.parent)
    # the request is left alone
    assert json.loads(Path(f"{base}.req").read_text()) == REQUEST


def test_message(avenor, base):
    r = answer(avenor, "--option", "b", "--message", 'not now, "really"\nsorry', str(base))
    assert r.returncode == 0, r.stderr
    assert read_response(base) == {"outcome": "selected", "option_id": "b",
                                   "message": 'not now, "really"\nsorry'}


def test_outcome_cancelled(avenor, base):
    r = answer(avenor, "--outcome", "cancelled", "--option", "a", str(base))
    assert r.returncode == 0, r.stderr
    assert read_response(base) == {"outcome": "cancelled", "option_id": "a", "message": ""}


def test_explicit_outcome_selected(avenor, base):
    r = answer(avenor, "--outcome=selected", "-option=b", str(base))
    assert r.returncode == 0, r.stderr
    assert read_response(base)["option_id"] == "b"


def test_relative_base(avenor, base):
    r = answer(avenor, "--option", "a", base.name, cwd=base.parent)
    assert r.returncode == 0, r.stderr
    assert read_response(base)["option_id"] == "a"


def test_force_overwrites(avenor, base):
    assert answer(avenor, "--option", "a", str(base)).returncode == 0
    r = answer(avenor, "--option", "b", "--force", str(base))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    assert read_response(base)["option_id"] == "b"
    assert no_temp_files(base.parent)


# ---------------------------------------------------------------------------------------------
# Checks in order (events.md §7.6)
# ---------------------------------------------------------------------------------------------

HINT = "run 'avenor answer --help' for usage\n"


def test_1_flag_parse_error(avenor, base):
    r = answer(avenor, "--bogus", "--option", "a", str(base))
    assert r.returncode == 2
    # one error line and one hint line, not the whole usage (issue 13)
    assert r.stderr == f"{PREFIX}flag provided but not defined: -bogus\n" + HINT, r.stderr
    assert not response_path(base).exists()


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_1_help(avenor, base, flag):
    # asked-for help is no error: usage on stdout, exit 0 (issue 13)
    r = answer(avenor, flag)
    assert r.returncode == 0, r.stderr
    assert "-option" in r.stdout and r.stderr == ""


def test_2_outcome_value(avenor, base):
    r = answer(avenor, "--outcome", "x", "--option", "a", str(base))
    assert r.returncode == 2
    assert f'{PREFIX}--outcome must be "selected" or "cancelled", got "x"' in r.stderr
    assert not response_path(base).exists()


def test_2_outcome_checked_before_option_and_positionals(avenor):
    r = answer(avenor, "--outcome", "Selected")
    assert r.returncode == 2
    assert '--outcome must be "selected" or "cancelled", got "Selected"' in r.stderr


def test_3_option_required(avenor, base):
    r = answer(avenor, str(base))
    assert r.returncode == 2
    assert r.stderr == f"{PREFIX}--option <id> is required\n" + HINT, r.stderr
    assert not response_path(base).exists()


def test_3_empty_option_is_missing(avenor, base):
    r = answer(avenor, "--option", "", str(base))
    assert r.returncode == 2
    assert not response_path(base).exists()


@pytest.mark.parametrize("positionals,message", [
    ([], "<perm-base> is required (the path before .req, e.g. run.perm)"),
    (["one", "two"], 'unexpected argument "{two}" (answer takes one <perm-base>)'),
], ids=["none", "two"])
def test_4_exactly_one_positional(avenor, base, positionals, message):
    paths = [str(base.parent / p) for p in positionals]
    r = answer(avenor, "--option", "a", *paths)
    assert r.returncode == 2
    assert r.stderr == PREFIX + message.format(two=paths[-1] if paths else "") + "\n" + HINT


def test_4_flags_after_the_perm_base(avenor, base):
    # D13: the documented form `avenor answer <path> --option <id>` works
    r = answer(avenor, str(base), "--option", "a", "--message", "m")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
    assert read_response(base) == {"outcome": "selected", "option_id": "a", "message": "m"}


def test_4_double_dash_ends_the_flags(avenor, base):
    # after -- a word like --force is the perm base, not a flag
    r = answer(avenor, "--option", "a", "--", str(base), "--force")
    assert r.returncode == 2
    assert r.stderr == PREFIX + 'unexpected argument "--force" (answer takes one <perm-base>)\n' + HINT
    assert not response_path(base).exists()


def test_5_request_missing(avenor, tmp_path):
    missing = tmp_path / "nothing"
    r = answer(avenor, "--option", "a", str(missing))
    assert r.returncode == 2
    assert f"{PREFIX}request file {missing}.req does not exist" in r.stderr
    assert not response_path(missing).exists()


def test_5_request_unreadable_is_io_error(avenor, tmp_path):
    b = tmp_path / "dir-base"
    Path(f"{b}.req").mkdir()  # reading a directory fails with EISDIR
    r = answer(avenor, "--option", "a", str(b))
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith(PREFIX)
    assert not response_path(b).exists()


@pytest.mark.parametrize("content", ["{not json", "", '{"options": [}'])
def test_6_request_not_json(avenor, tmp_path, content):
    b = tmp_path / "bad"
    Path(f"{b}.req").write_text(content)
    r = answer(avenor, "--option", "a", str(b))
    assert r.returncode == 2
    assert r.stderr.startswith(PREFIX)
    assert not response_path(b).exists()


def test_7_option_not_offered(avenor, base):
    r = answer(avenor, "--option", "z", str(base))
    assert r.returncode == 2
    assert f'{PREFIX}option "z" is not in the offered set; valid options: a, b' in r.stderr
    assert not response_path(base).exists()


def test_7_option_checked_for_cancelled_too(avenor, base):
    r = answer(avenor, "--outcome", "cancelled", "--option", "z", str(base))
    assert r.returncode == 2
    assert 'option "z" is not in the offered set' in r.stderr


def test_7_request_without_options(avenor, tmp_path):
    b = tmp_path / "noopts"
    Path(f"{b}.req").write_text('{"request_id": "1"}\n')
    r = answer(avenor, "--option", "a", str(b))
    assert r.returncode == 2
    assert 'option "a" is not in the offered set' in r.stderr


def test_8_no_clobber(avenor, base):
    response_path(base).write_text('{"outcome":"selected","option_id":"b","message":"first"}\n')
    before = response_path(base).read_bytes()
    r = answer(avenor, "--option", "a", str(base))
    assert r.returncode == 2
    assert (f"{PREFIX}response already exists at {base}.req.response; pass --force to overwrite"
            in r.stderr)
    assert response_path(base).read_bytes() == before
    assert no_temp_files(base.parent)


def test_8_even_an_empty_response_is_not_clobbered(avenor, base):
    response_path(base).write_text("")
    r = answer(avenor, "--option", "a", str(base))
    assert r.returncode == 2
    assert response_path(base).read_text() == ""


def test_8_option_checked_before_clobber(avenor, base):
    response_path(base).write_text("x\n")
    r = answer(avenor, "--option", "z", str(base))
    assert r.returncode == 2
    assert "is not in the offered set" in r.stderr
    assert "already exists" not in r.stderr


def test_9_write_failure_is_io_error(avenor, base):
    # --force renames over the target; a non-empty directory there cannot be replaced
    target = response_path(base)
    target.mkdir()
    (target / "keep").write_text("x")
    r = answer(avenor, "--option", "a", "--force", str(base))
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith(PREFIX)
    assert no_temp_files(base.parent)


def test_9_unwritable_directory_is_io_error(avenor, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    d = tmp_path / "ro"
    d.mkdir()
    b = d / "run.perm"
    Path(f"{b}.req").write_text(json.dumps(REQUEST))
    d.chmod(0o555)
    try:
        r = answer(avenor, "--option", "a", str(b))
    finally:
        d.chmod(0o755)
    assert r.returncode == 1


def test_two_racing_answers_one_wins(avenor, base):
    procs = [subprocess.Popen([avenor, "answer", "--option", opt, str(base)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for opt in ("a", "b") * 4]
    codes = []
    for p in procs:
        _, err = p.communicate(timeout=20)
        codes.append(p.returncode)
        if p.returncode:
            assert "already exists" in err
    assert codes.count(0) == 1, codes
    assert set(codes) <= {0, 2}
    assert read_response(base)["option_id"] in ("a", "b")
    assert no_temp_files(base.parent)
