"""`avenor verify --loop-file <path> [--dir <dir>]`: cli.md §9 and events.md §9.1, driven through
the real binary.

Valid files in every format, one error of each class with its exact line, nested loop files
followed recursively (each file reported once), error lines before ok lines, flags and exit codes.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

PREFIX = "avenor verify: "
RUN_LEVEL = "is not supported in loop configs (phases use the run-level identity)"
EMPTY_PROMPT = "prompt must not be empty (set prompt, prompt_file, or loop_file)"

# One loop file in the three formats; build.md sits next to it.
EXAMPLES = {
    "json": """{
  "max_iterations": 3,
  "pre": [{"name": "plan", "prompt": "Plan the work for {{.WorkDir}}."}],
  "loop": [
    {"name": "build", "prompt_file": "build.md"},
    {"name": "review", "prompt": "Review iteration {{.Iteration}}.", "resume_from_previous": true}
  ],
  "post": [{"name": "summary", "prompt": "Summarise."}]
}
""",
    "yaml": """max_iterations: 3
pre:
  - name: plan
    prompt: "Plan the work for {{.WorkDir}}."
loop:
  - name: build
    prompt_file: build.md
  - name: review
    prompt: "Review iteration {{.Iteration}}."
    resume_from_previous: true
post:
  - name: summary
    prompt: Summarise.
""",
    "toml": """max_iterations = 3

[[pre]]
name = "plan"
prompt = "Plan the work for {{.WorkDir}}."

[[loop]]
name = "build"
prompt_file = "build.md"

[[loop]]
name = "review"
prompt = "Review iteration {{.Iteration}}."
resume_from_previous = true

[[post]]
name = "summary"
prompt = "Summarise."
""",
}


def verify(avenor: str, *args: str, cwd: Path | None = None, merge: bool = False):
    """Runs `avenor verify` to completion; text stdout and stderr (stderr folded into stdout
    when `merge`)."""
    return subprocess.run([avenor, "verify", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                          text=True, timeout=30)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def phase_json(**fields) -> str:
    """A loop file with one loop phase made of `fields`."""
    return json.dumps({"loop": [fields]})


# ---------------------------------------------------------------------------------------------
# Valid files
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("ext", ["json", "yaml", "yml", "toml", "loop"])
def test_valid_file_in_each_format(avenor, tmp_path, ext):
    text = EXAMPLES["yaml" if ext == "yml" else "json" if ext == "loop" else ext]
    config = write(tmp_path / f"loop.{ext}", text)
    write(tmp_path / "build.md", "Build the next step.\n")
    r = verify(avenor, "--loop-file", str(config))
    assert (r.returncode, r.stdout, r.stderr) == (0, f"ok: {config}\n", "")


def test_flag_spellings(avenor, tmp_path):
    config = write(tmp_path / "loop.json", phase_json(name="a", prompt="p"))
    for args in (["-loop-file", str(config)], [f"--loop-file={config}"],
                 ["--dir", str(tmp_path), "--loop-file", str(config)], [f"-dir={tmp_path}",
                                                                        f"-loop-file={config}"]):
        r = verify(avenor, *args)
        assert (r.returncode, r.stdout, r.stderr) == (0, f"ok: {config}\n", ""), args


def test_paths_resolve_against_the_config_not_dir_or_cwd(avenor, tmp_path):
    write(tmp_path / "cfg" / "prompts" / "p.md", "from the config's folder")
    write(tmp_path / "cfg" / "nested" / "n.toml", "[[loop]]\nname = 'n'\nprompt_file = 'q.md'\n")
    write(tmp_path / "cfg" / "nested" / "q.md", "nested prompt")
    write(tmp_path / "cfg" / "c.yaml",
          "pre:\n  - name: a\n    prompt_file: prompts/p.md\n"
          "loop:\n  - name: b\n    loop_file: nested/n.toml\n")
    work = tmp_path / "work"
    work.mkdir()
    # Neither the process's cwd nor --dir holds the prompt files.
    r = verify(avenor, "--loop-file", "cfg/c.yaml", "--dir", str(work), cwd=tmp_path)
    assert r.stderr == ""
    assert r.stdout == "ok: cfg/c.yaml\nok: cfg/nested/n.toml\n"
    assert r.returncode == 0


# ---------------------------------------------------------------------------------------------
# One error of each class: exactly one error line, no ok line, exit 1.
# ---------------------------------------------------------------------------------------------

ERROR_CASES = [
    # (id, file name, content, extra files, message with {d} = the test directory)
    ("json_syntax", "c.json", '{"loop": [\n  {"name": "a",}\n]}', {},
     "loop config: parse {d}/c.json: line 2, column 16: syntax error"),
    ("json_trailing_data", "c.json", '{"loop": []}\n{}', {},
     "loop config: parse {d}/c.json: line 2, column 1: extra data"),
    ("yaml_syntax", "c.yaml", "loop: [\n  {name: a\n", {},
     "loop config: parse {d}/c.yaml: line 3, column 1: end of map flow not found"),
    ("yaml_two_documents", "c.yaml", "loop: [{name: a, prompt: p}]\n---\nloop: []\n", {},
     "loop config: parse {d}/c.yaml: line 3, column 1: expected one YAML document, found 2"),
    ("yaml_empty", "c.yaml", "# only a comment\n", {},
     "loop config: parse {d}/c.yaml: empty YAML document"),
    ("toml_syntax", "c.toml", "[[loop]]\nname = \n", {},
     "loop config: parse {d}/c.toml: line 2, column 8: Error while parsing key-value pair: "
     "expected value, saw '\\n'"),
    ("top_level_not_object", "c.json", "[]", {},
     "loop config: top level must be an object, got array"),
    ("unknown_field", "c.yaml", "loop: [{name: a, prompt: p}]\nmax_iteration: 2\n", {},
     'loop config: unknown field "max_iteration"'),
    ("unknown_phase_field", "c.json", phase_json(name="a", prompt="p", promt="q"), {},
     'loop config: phase[name a]: unknown field "promt"'),
    ("no_phases", "c.toml", "max_iterations = 2\n[[post]]\nname = 'p'\nprompt = 'x'\n", {},
     "loop config: at least one of pre or loop must be non-empty"),
    ("max_iterations_negative", "c.json", '{"max_iterations": -1, "loop": [{"name": "a", '
     '"prompt": "p"}]}', {},
     "loop config: max_iterations must be >= 1 when loop phases are present"),
    ("max_iterations_type", "c.yaml", "max_iterations: '3'\nloop: [{name: a, prompt: p}]\n", {},
     "loop config: max_iterations must be an integer"),
    ("name_empty", "c.json", '{"pre": [{"name": "a", "prompt": "p"}, {"name": "", "prompt": "q"}]}',
     {}, "loop config: pre phase[index 1]: name must not be empty"),
    ("name_reserved", "c.json", phase_json(name="(initial)", prompt="p"), {},
     'loop config: loop phase[index 0]: name "(initial)" is reserved'),
    ("duplicate_name", "c.yaml", "pre: [{name: a, prompt: p}]\nloop: [{name: a, prompt: q}]\n", {},
     'loop config: duplicate phase name: "a"'),
    ("prompt_missing", "c.json", phase_json(name="a"), {},
     f"loop config: phase[name a]: {EMPTY_PROMPT}"),
    ("prompt_blank", "c.yaml", "loop:\n  - name: a\n    prompt: '   '\n", {},
     f"loop config: phase[name a]: {EMPTY_PROMPT}"),
    ("prompt_and_prompt_file", "c.json", phase_json(name="a", prompt="p", prompt_file="p.md"),
     {"p.md": "x"}, "loop config: phase[name a]: prompt and prompt_file are mutually exclusive"),
    ("loop_file_and_prompt", "c.json", phase_json(name="a", prompt="p", loop_file="n.json"), {},
     "loop config: phase[name a]: loop_file is exclusive with prompt and prompt_file"),
    ("agent", "c.json", phase_json(name="a", prompt="p", agent="x"), {},
     f"loop config: phase[name a]: agent {RUN_LEVEL}"),
    ("model", "c.yaml", "loop: [{name: a, prompt: p, model: m}]\n", {},
     f"loop config: phase[name a]: model {RUN_LEVEL}"),
    ("conditional", "c.toml", "[[loop]]\nname = 'a'\nprompt = 'p'\nconditional = true\n", {},
     f"loop config: phase[name a]: conditional {RUN_LEVEL}"),
    ("resume_type", "c.json", phase_json(name="a", prompt="p", resume_from_previous="yes"), {},
     "loop config: phase[name a]: resume_from_previous must be a boolean"),
    ("prompt_file_missing", "c.json", phase_json(name="a", prompt_file="gone.md"), {},
     "loop config: phase[name a]: prompt_file {d}/gone.md: No such file or directory"),
    ("prompt_file_empty", "c.json", phase_json(name="a", prompt_file="p.md"), {"p.md": "\n"},
     "loop config: phase[name a]: prompt_file {d}/p.md is empty"),
    ("self_cycle", "c.json", phase_json(name="again", loop_file="c.json"), {},
     "loop config: phase[name again]: loop_file {d}/c.json: nested loop_file cycle: "
     "c.json -> c.json"),
]


@pytest.mark.parametrize("name,content,extra,message", [c[1:] for c in ERROR_CASES],
                         ids=[c[0] for c in ERROR_CASES])
def test_each_error_class(avenor, tmp_path, name, content, extra, message):
    config = write(tmp_path / name, content)
    for extra_name, extra_text in extra.items():
        write(tmp_path / extra_name, extra_text)
    r = verify(avenor, "--loop-file", str(config))
    assert r.stderr == f"error: {config}: {message.format(d=tmp_path)}\n"
    assert r.stdout == ""
    assert r.returncode == 1


def test_unreadable_loop_file(avenor, tmp_path):
    missing = tmp_path / "nope.yaml"
    r = verify(avenor, "--loop-file", str(missing))
    assert r.stderr == (f"error: {missing}: loop config: read {missing}: "
                        "No such file or directory\n")
    assert (r.returncode, r.stdout) == (1, "")


def test_template_error_names_phase_and_line(avenor, tmp_path):
    config = write(tmp_path / "c.yaml", "loop:\n  - name: a\n    prompt: \"ok\\n{{.NoSuchField}}\"\n")
    r = verify(avenor, "--loop-file", str(config))
    assert r.stderr.startswith(f"error: {config}: loop config: phase[name a]: prompt: template: "
                               "line 2: "), r.stderr
    assert r.stderr.count("\n") == 1
    assert (r.returncode, r.stdout) == (1, "")


# ---------------------------------------------------------------------------------------------
# Nested loop files
# ---------------------------------------------------------------------------------------------

def test_nested_files_each_reported_once_in_order(avenor, tmp_path):
    write(tmp_path / "top.json", """{
      "pre":  [{"name": "setup", "loop_file": "sub/one.yaml"}],
      "loop": [{"name": "work", "loop_file": "two.toml"},
               {"name": "again", "loop_file": "./sub/one.yaml"}]
    }""")
    write(tmp_path / "sub" / "one.yaml", "loop:\n  - {name: inner, loop_file: ../three.json}\n")
    write(tmp_path / "two.toml", "[[loop]]\nname = 'w'\nprompt = 'p'\n")
    write(tmp_path / "three.json", phase_json(name="t", prompt="p"))
    r = verify(avenor, "--loop-file", "top.json", cwd=tmp_path)
    assert r.stderr == ""
    assert r.stdout == ("ok: top.json\nok: sub/one.yaml\nok: sub/../three.json\n"
                        "ok: two.toml\n")
    assert r.returncode == 0


def test_nested_errors_then_ok_lines(avenor, tmp_path):
    write(tmp_path / "top.yaml", "pre:\n  - {name: a, loop_file: bad.json}\n"
                                 "loop:\n  - {name: b, loop_file: good.toml}\n"
                                 "  - {name: c, loop_file: gone.yaml}\n")
    write(tmp_path / "bad.json", phase_json(name="x", agent="claude", prompt="p"))
    write(tmp_path / "good.toml", "[[pre]]\nname = 'g'\nprompt = 'p'\n")
    r = verify(avenor, "--loop-file", "top.yaml", cwd=tmp_path, merge=True)
    assert r.stdout == (
        f"error: bad.json: loop config: phase[name x]: agent {RUN_LEVEL}\n"
        "error: gone.yaml: loop config: read gone.yaml: No such file or directory\n"
        "ok: top.yaml\n"
        "ok: good.toml\n")
    assert r.returncode == 1


def test_nested_cycle_is_an_error_of_every_file_on_it(avenor, tmp_path):
    # (issue 15) `run` can load neither file, so neither is "ok"; each names its own way round.
    write(tmp_path / "a.json", phase_json(name="x", loop_file="b.yaml"))
    write(tmp_path / "b.yaml", "pre:\n  - {name: y, loop_file: a.json}\n")
    r = verify(avenor, "--loop-file", "a.json", cwd=tmp_path)
    assert r.stderr == ("error: a.json: loop config: phase[name x]: loop_file b.yaml: "
                        "nested loop_file cycle: a.json -> b.yaml -> a.json\n"
                        "error: b.yaml: loop config: phase[name y]: loop_file a.json: "
                        "nested loop_file cycle: b.yaml -> a.json -> b.yaml\n")
    assert r.stdout == ""
    assert r.returncode == 1


# ---------------------------------------------------------------------------------------------
# Flags and --dir
# ---------------------------------------------------------------------------------------------

HINT = "run 'avenor verify --help' for usage\n"


def test_missing_loop_file_flag(avenor, tmp_path):
    r = verify(avenor, "--dir", str(tmp_path))
    assert (r.returncode, r.stdout, r.stderr) == (1, "", f"{PREFIX}--loop-file is required\n" + HINT)


@pytest.mark.parametrize("args,first_line", [
    (["--bogus"], "flag provided but not defined: -bogus"),
    (["--loop-file"], "flag needs an argument: -loop-file"),
], ids=["unknown", "no-value"])
def test_bad_flags_exit_1_with_one_line_and_a_hint(avenor, args, first_line):
    r = verify(avenor, *args)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr == PREFIX + first_line + "\n" + HINT


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_on_stdout_exit_0(avenor, flag):
    r = verify(avenor, flag)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("Usage: avenor verify --loop-file <path> [--dir <dir>]\n")
    assert "-loop-file file" in r.stdout


def test_loop_file_as_positional_with_flags_after_it(avenor, tmp_path):
    # (new) `avenor verify <path>` is `--loop-file <path>`; D13: flags may follow it
    config = write(tmp_path / "c.json", phase_json(name="a", prompt="p"))
    r = verify(avenor, str(config), "--dir", str(tmp_path))
    assert (r.returncode, r.stdout, r.stderr) == (0, f"ok: {config}\n", "")


@pytest.mark.parametrize("extra", [["--loop-file", "X"], ["Y"]], ids=["with-flag", "two"])
def test_a_second_loop_file_is_rejected(avenor, tmp_path, extra):
    config = write(tmp_path / "c.json", phase_json(name="a", prompt="p"))
    extra = [str(config) if a == "X" else a for a in extra]
    r = verify(avenor, str(config), *extra)
    assert r.returncode == 1 and r.stdout == ""
    word = str(config) if extra[0] == "--loop-file" else "Y"
    assert r.stderr == (f'{PREFIX}unexpected argument "{word}" (verify checks one loop file: '
                        f"--loop-file <path> or <path>)\n" + HINT)


def test_missing_dir_is_an_error_line(avenor, tmp_path):
    config = write(tmp_path / "c.json", phase_json(name="a", prompt="p"))
    missing = tmp_path / "no-such-dir"
    r = verify(avenor, "--loop-file", str(config), "--dir", str(missing))
    assert r.stderr == f"error: {missing}: --dir: No such file or directory\n"
    assert r.stdout == f"ok: {config}\n"
    assert r.returncode == 1


def test_dir_that_is_a_file_is_an_error_line(avenor, tmp_path):
    config = write(tmp_path / "c.json", phase_json(name="a", prompt="p"))
    r = verify(avenor, "--loop-file", str(config), "--dir", str(config))
    assert r.stderr == f"error: {config}: --dir: not a directory\n"
    assert r.returncode == 1
