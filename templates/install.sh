#!/usr/bin/env bash
# install.sh [--dry-run] <pairing> <project-dir>
#
# Copies one pairing of the avenor template pack (templates/<pairing>/) into a project without
# overwriting any of the user's files:
#   * a file that is absent is created; one that exists with identical content is left alone;
#   * .claude/settings.json, opencode.json and .mcp.json are merged into an existing file
#     (objects deep-merged; permissions.allow/ask/deny of settings.json: union);
#   * .codex/config.toml: tables the project lacks are appended, top-level keys it lacks are
#     added at the top; a table or key that exists with different content is a conflict;
#   * any other existing file with different content, a differing JSON/TOML value, or a symlink
#     or non-regular file at a target path is a conflict: one line on stderr naming the file
#     and key, exit 1, and nothing is written (everything is checked before the first write).
# Exit codes: 0 done, 1 conflict or unreadable project file, 2 usage error or unknown pairing.
set -euo pipefail

if ! command -v python3 >/dev/null 2>&1; then
    echo "install.sh: python3 (3.11 or later) is required and was not found on PATH" >&2
    exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

exec python3 - "$here" "$@" <<'PY'
import json
import os
import stat
import sys

try:
    import tomllib  # Python 3.11+
except ImportError:
    print(f"install.sh: python3 3.11 or later is required (found {sys.version.split()[0]})",
          file=sys.stderr)
    sys.exit(2)

PROG = "install.sh"
MERGE_JSON = {".claude/settings.json", "opencode.json", ".mcp.json"}
MERGE_TOML = {".codex/config.toml"}
UNION_ARRAYS = {(".claude/settings.json", ("permissions", "allow")),
                (".claude/settings.json", ("permissions", "ask")),
                (".claude/settings.json", ("permissions", "deny"))}


class Conflict(Exception):
    pass


def die(code, message):
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(code)


def pairings(root):
    return sorted(d for d in os.listdir(root)
                  if "-to-" in d and os.path.isdir(os.path.join(root, d)))


def usage(root):
    return (f"usage: {PROG} [--dry-run] <pairing> <project-dir>; "
            f"pairings: {', '.join(pairings(root))}")


def template_files(src):
    """Relative paths of every file of the pairing, sorted (dot-files included)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in filenames:
            out.append(os.path.relpath(os.path.join(dirpath, name), src))
    return sorted(out)


def check_target(project, rel):
    """Refuses a symlink or non-regular file at the target or at any folder on its way."""
    parts = rel.split(os.sep)
    path = project
    for i, part in enumerate(parts):
        path = os.path.join(path, part)
        shown = os.path.join(*parts[:i + 1])
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return False
        if stat.S_ISLNK(st.st_mode):
            raise Conflict(f"{shown}: is a symlink; refusing to write through it")
        last = i == len(parts) - 1
        if last and not stat.S_ISREG(st.st_mode):
            raise Conflict(f"{shown}: exists and is not a regular file; refusing")
        if not last and not stat.S_ISDIR(st.st_mode):
            raise Conflict(f"{shown}: exists and is not a directory; refusing")
    return True


def merge(rel, mine, theirs, path=()):
    """Deep-merges template value `theirs` into project value `mine`; raises Conflict."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        out = dict(mine)
        for key, value in theirs.items():
            out[key] = merge(rel, mine[key], value, path + (key,)) if key in mine else value
        return out
    if (rel, path) in UNION_ARRAYS and isinstance(mine, list) and isinstance(theirs, list):
        return mine + [v for v in theirs if v not in mine]
    if mine == theirs and type(mine) is type(theirs):
        return mine
    raise Conflict(f"{rel}: key {'.'.join(path) or '(top level)'} has a different value "
                   f"than the template's; not overwritten")


def load_json(rel, text):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise Conflict(f"{rel}: not valid JSON (line {e.lineno}: {e.msg}); not merged")
    if not isinstance(value, dict):
        raise Conflict(f"{rel}: top level is not a JSON object; not merged")
    return value


def load_toml(rel, text):
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise Conflict(f"{rel}: not valid TOML ({e}); not merged")


def toml_segments(text):
    """The template's text split at table headers: [(header path or None, text)]. Comment
    lines right above a header belong to that header's segment (they describe it)."""
    segments, header, lines = [], None, []
    for line in text.splitlines(keepends=True):
        s = line.strip()
        if s.startswith("[") and not s.startswith("[["):
            lead = len(lines)
            while lead > 0 and lines[lead - 1].lstrip().startswith("#"):
                lead -= 1
            segments.append((header, "".join(lines[:lead])))
            header, lines = _header_path(s), lines[lead:] + [line]
        else:
            lines.append(line)
    segments.append((header, "".join(lines)))
    return segments


def _header_path(s):
    """['a.b."c"'] -> ('a', 'b', 'c') by asking tomllib what the header defines."""
    d, path = tomllib.loads(s + "\n"), []
    while isinstance(d, dict) and len(d) == 1:
        key = next(iter(d))
        path.append(key)
        d = d[key]
    return tuple(path)


def lookup(d, path):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def merge_toml(rel, mine_text, theirs_text):
    """Text of the project's file with what the template adds; raises Conflict."""
    mine, theirs = load_toml(rel, mine_text), load_toml(rel, theirs_text)
    merged = merge(rel, mine, theirs)
    prepend, append = [], []
    for header, seg in toml_segments(theirs_text):
        if header is None:
            # top-level keys: add those the project lacks (with the comment lines right
            # above them) at the top of the file, where they are still top-level keys
            comments, pending = [], []
            for line in seg.splitlines(keepends=True):
                s = line.strip()
                if not pending and s.startswith("#"):
                    comments.append(line)
                    continue
                if not pending and not s:
                    comments = []
                    continue
                pending.append(line if line.endswith("\n") else line + "\n")
                try:  # a value may span lines (arrays): read on until the key parses
                    key = next(iter(tomllib.loads("".join(pending))))
                except tomllib.TOMLDecodeError:
                    continue
                if key not in mine:
                    prepend += comments + pending
                comments, pending = [], []
            continue
        existing = lookup(mine, header)
        if existing is None:
            append.append(seg)
        elif existing != lookup(theirs, header):
            raise Conflict(f"{rel}: table [{'.'.join(header)}] exists with different content; "
                           f"not overwritten")
    text = "".join(prepend) + ("\n" if prepend and mine_text else "") + mine_text
    if append:
        if text and not text.endswith("\n"):
            text += "\n"
        text += "".join("\n" + seg.strip("\n") + "\n" for seg in append)
    if load_toml(rel, text) != merged:  # the textual edit must mean exactly the merge
        raise Conflict(f"{rel}: cannot add the template's settings without rewriting the file; "
                       f"merge it by hand")
    return text


def plan_file(project, src, rel):
    """(action, new text or None): action is create / merge / keep."""
    with open(os.path.join(src, rel), encoding="utf-8") as f:
        theirs = f.read()
    if not check_target(project, rel):
        return "create", theirs
    with open(os.path.join(project, rel), encoding="utf-8", errors="surrogateescape") as f:
        mine = f.read()
    if mine == theirs:
        return "keep", None
    if rel in MERGE_JSON:
        merged = merge(rel, load_json(rel, mine), load_json(rel, theirs))
        if merged == load_json(rel, mine):
            return "keep", None
        return "merge", json.dumps(merged, indent=2, ensure_ascii=False) + "\n"
    if rel in MERGE_TOML:
        text = merge_toml(rel, mine, theirs)
        return ("keep", None) if text == mine else ("merge", text)
    raise Conflict(f"{rel}: exists with different content; not overwritten")


def check_writable(project, rel):
    """The folder that will receive rel (or its nearest existing ancestor) must be writable."""
    folder = os.path.dirname(os.path.join(project, rel))
    while not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    if not os.access(folder, os.W_OK):
        shown = os.path.relpath(folder, project)
        raise Conflict(f"{rel}: cannot write: folder {shown} is not writable")


def write(project, src, rel, text):
    target = os.path.join(project, rel)
    os.makedirs(os.path.dirname(target) or project, exist_ok=True)
    mode = 0o755 if os.stat(os.path.join(src, rel)).st_mode & 0o111 else 0o644
    if os.path.exists(target):
        mode = stat.S_IMODE(os.stat(target).st_mode)  # keep the user's mode on a merge
    tmp = f"{target}.avenor-install.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)  # atomic: the file is either the old or the new one
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def main(argv):
    root, args = argv[0], argv[1:]
    dry = "--dry-run" in args
    args = [a for a in args if a != "--dry-run"]
    if len(args) != 2 or args[0].startswith("-"):
        die(2, usage(root))
    pairing, project = args
    if pairing not in pairings(root):
        die(2, f"unknown pairing '{pairing}'; known: {', '.join(pairings(root))}")
    if not os.path.isdir(project):
        die(2, f"{project}: not a directory (create the project folder first)")
    src = os.path.join(root, pairing)
    plan = []
    try:
        for rel in template_files(src):
            action, text = plan_file(project, src, rel)
            plan.append((rel, action, text))
        for rel, action, _ in plan:
            if action != "keep":
                check_writable(project, rel)
    except Conflict as e:
        die(1, f"{e} (nothing written)")
    except OSError as e:
        die(1, f"{e.filename or project}: {e.strerror} (nothing written)")
    verb = "would " if dry else ""
    for rel, action, text in plan:
        if action == "keep":
            print(f"{verb}keep {rel} (already up to date)")
            continue
        if not dry:
            try:
                write(project, src, rel, text)
            except OSError as e:  # after the checks: only a race or a full disk gets here
                die(1, f"{rel}: {e.strerror}; the files listed above were written")
        print(f"{verb}{action} {rel}")
    changed = sum(1 for _, a, _ in plan if a != "keep")
    if dry:
        print(f"dry run: {changed} file(s) would change in {project}; nothing written")
    else:
        print(f"installed {pairing} into {project}: {changed} file(s) changed")


main(sys.argv[1:])
PY
