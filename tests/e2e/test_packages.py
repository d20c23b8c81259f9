"""The Debian packages (docs/packaging.md, issue 16): built by the page's own command line
(scripts/package.sh, which packages build/ — the binaries the rest of the suite runs),
then installed with dpkg into scratch roots — never into the machine — in the combinations a
distribution user meets: the host alone, the host with only the opencode-acp plugin, and
everything. Each install gets its own dpkg admin folder, seeded with the machine's package
status so the packages' real Depends (libc, Boost, spdlog, ...) resolve, while avenor and its
plugins exist only in the scratch root.

Packaging an up-to-date build/ takes seconds; lintian and the example-plugin build are the
heaviest parts. Everything shares one module-scoped package build.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from avenor_cli import RunFiles, events_named, run_avenor, standard_run_args
from fake_run import FakeRun, base_env

REPO = Path(__file__).resolve().parents[2]
PACKAGING_PAGE = REPO / "docs/packaging.md"
PACKAGE_TIMEOUT = 600.0   # cpack strips and compresses every package
STEP_TIMEOUT = 300.0


def sh(argv, timeout: float = STEP_TIMEOUT, check: bool = True, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout, **kw)
    if check:
        assert r.returncode == 0, \
            f"{shlex.join(map(str, argv))} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def multiarch() -> str:
    return sh(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]).stdout.strip()


# --------------------------------------------------------------------------------------------
# The packages, built once by the documented command line
# --------------------------------------------------------------------------------------------


@dataclass
class Deb:
    path: Path
    fields: dict[str, str]

    @property
    def name(self) -> str:
        return self.fields["Package"]


def page_block(key: str) -> str:
    """The one ```sh block of docs/packaging.md that contains `key`."""
    blocks = [m.group(1) for m in re.finditer(r"```sh\n(.*?)```", PACKAGING_PAGE.read_text(), re.S)
              if key in m.group(1)]
    assert len(blocks) == 1, f"docs/packaging.md: expected one sh block with {key!r}"
    return blocks[0]


@pytest.fixture(scope="module")
def debs() -> dict[str, Deb]:
    """Runs the page's build command literally from the repository root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKG_")}
    r = sh(["bash", "-e", "-c", page_block("scripts/package.sh")], timeout=PACKAGE_TIMEOUT,
           cwd=REPO, env=env)
    paths = [Path(line) for line in r.stdout.split() if line.endswith(".deb")]
    assert paths, f"package.sh listed no packages:\n{r.stdout}"
    out = {}
    for p in paths:
        info = sh(["dpkg-deb", "-f", p]).stdout
        fields = dict(re.findall(r"^([\w-]+): (.*)$", info, re.M))
        out[fields["Package"]] = Deb(p, fields)
    return out


def plugin_debs(debs: dict[str, Deb]) -> dict[str, Deb]:
    return {n: d for n, d in debs.items() if n.startswith("avenor-plugin-")}


def plugin_folders() -> list[str]:
    return sorted(p.name for p in (REPO / "plugins").iterdir()
                  if (p / "CMakeLists.txt").exists())


# --------------------------------------------------------------------------------------------
# A scratch root with its own dpkg database
# --------------------------------------------------------------------------------------------


class ScratchRoot:
    """dpkg --root into a temporary folder. The admin folder starts as a copy of the machine's
    status (so system libraries count as installed) with an empty file list per package."""

    def __init__(self, path: Path):
        self.root = path
        admin = path / "var/lib/dpkg"
        (admin / "info").mkdir(parents=True)
        (admin / "updates").mkdir()
        (admin / "triggers").mkdir()
        shutil.copy("/var/lib/dpkg/status", admin / "status")
        for name in ("available", "diversions", "statoverride"):
            (admin / name).touch()
        status = (admin / "status").read_text()
        # Empty file lists: dpkg then knows the machine's packages own no file in this root.
        for block in status.split("\n\n"):
            pkg = re.search(r"^Package: (\S+)", block, re.M)
            arch = re.search(r"^Architecture: (\S+)", block, re.M)
            multi = re.search(r"^Multi-Arch: same", block, re.M)
            if pkg:
                stem = f"{pkg.group(1)}:{arch.group(1)}" if multi and arch else pkg.group(1)
                (admin / "info" / f"{stem}.list").touch()

    def dpkg(self, *args, check: bool = True) -> subprocess.CompletedProcess:
        return sh(["dpkg", "--force-not-root", f"--root={self.root}", "--log=/dev/null",
                   "--no-triggers", *args], check=check)

    def install(self, *debs: Deb) -> None:
        self.dpkg("--install", *(d.path for d in debs))

    @property
    def avenor(self) -> Path:
        return self.root / "usr/bin/avenor"

    @property
    def plugin_dir(self) -> Path:
        return self.root / "usr/lib" / multiarch() / "avenor/plugins"

    def env(self) -> dict[str, str]:
        env = base_env()  # no AVENOR_PLUGIN_PATH: only the installed folder counts
        env["HOME"] = str(self.root / "home")
        env["PATH"] = "/usr/bin:/bin"  # no backend CLI from .peers or a user's PATH
        return env

    def plugins(self) -> dict[str, str]:
        r = sh([self.avenor, "plugins"], env=self.env())
        return {cols[0]: cols[3] for cols in (line.split("\t") for line in r.stdout.splitlines())}

    def doctor(self) -> tuple[int, list[str]]:
        r = sh([self.avenor, "doctor"], env=self.env(), check=False)
        return r.returncode, r.stdout.splitlines()


@pytest.fixture
def scratch(tmp_path) -> ScratchRoot:
    machine_dir = Path("/usr/lib") / multiarch() / "avenor/plugins"
    assert not machine_dir.exists(), \
        f"{machine_dir} exists on this machine: the installed host would see those plugins too"
    return ScratchRoot(tmp_path / "root")


def not_installed_lines(doctor_out: list[str]) -> dict[str, str]:
    found = {}
    for line in doctor_out:
        m = re.match(r"missing (\S+): plugin not installed; install (\S+)$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


# --------------------------------------------------------------------------------------------
# The packages themselves
# --------------------------------------------------------------------------------------------


def test_one_package_per_plugin_folder_plus_host_and_sdk(debs):
    plugins = plugin_debs(debs)
    assert len(plugins) == len(plugin_folders()), \
        f"plugins/ has {plugin_folders()}, packages {sorted(plugins)}"
    assert {"avenor", "libavenor-plugin-dev"} <= set(debs)
    assert set(debs) == {"avenor", "libavenor-plugin-dev", *plugins}


def test_control_fields(debs):
    abi_major = re.search(r"#define AVENOR_ABI_MAJOR (\d+)",
                          (REPO / "sdk/include/avenor/abi/plugin_abi.h").read_text()).group(1)
    abi = f"avenor-abi-{abi_major}"
    host = debs["avenor"].fields
    assert host["Provides"] == abi
    assert host["Multi-Arch"] == "foreign"
    assert "libboost-json1.81" in host["Depends"]  # from dpkg-shlibdeps
    for name, deb in plugin_debs(debs).items():
        assert abi in re.split(r",\s*", deb.fields["Depends"]), (name, deb.fields["Depends"])
        assert deb.fields["Multi-Arch"] == "same", name
    dev = debs["libavenor-plugin-dev"].fields
    assert dev["Multi-Arch"] == "same"
    assert "libboost-json1.81-dev" in dev["Depends"]
    for deb in debs.values():
        assert deb.fields["Version"] == debs["avenor"].fields["Version"]
        assert deb.fields["Description"].strip(), deb.name


def test_package_contents(debs):
    ma = multiarch()

    def files(name: str) -> set[str]:
        listing = sh(["dpkg-deb", "-c", debs[name].path]).stdout
        return {line.split()[-1].lstrip(".") for line in listing.splitlines()
                if not line.startswith("d")}

    host = files("avenor")
    for f in ("/usr/bin/avenor", "/usr/share/man/man1/avenor.1.gz",
              "/usr/share/bash-completion/completions/avenor", "/usr/share/zsh/vendor-completions/_avenor",
              "/usr/share/doc/avenor/copyright", "/usr/share/doc/avenor/changelog.Debian.gz",
              "/usr/share/doc/avenor/README.md"):
        assert f in host, f"avenor lacks {f}"
    assert not any(".so" in f for f in host)
    for name in plugin_debs(debs):
        plugin = name.removeprefix("avenor-plugin-")
        assert files(name) >= {f"/usr/lib/{ma}/avenor/plugins/{plugin}.so",
                               f"/usr/share/doc/{name}/copyright",
                               f"/usr/share/doc/{name}/changelog.Debian.gz"}, name
    dev = files("libavenor-plugin-dev")
    for f in ("/usr/include/avenor/abi/plugin_abi.h", "/usr/include/avenor/sdk/backend.hpp",
              f"/usr/lib/{ma}/cmake/avenor/avenorConfig.cmake",
              "/usr/share/avenor/examples/echo-backend/CMakeLists.txt"):
        assert f in dev, f"libavenor-plugin-dev lacks {f}"


def test_lintian_clean(debs):
    """HEAVY (~1 min). Tags that remain are overridden in packaging/lintian/<package>, each
    with its reason; lintian then prints nothing at warning level or above."""
    if not shutil.which("lintian"):
        pytest.fail("lintian is not installed (scripts/setup.sh installs it)")
    r = sh(["lintian", "--fail-on", "error,warning", *(d.path for d in debs.values())],
           timeout=600, check=False)
    assert r.returncode == 0 and not r.stdout.strip(), f"lintian:\n{r.stdout}\n{r.stderr}"


# --------------------------------------------------------------------------------------------
# Three install combinations
# --------------------------------------------------------------------------------------------


def test_host_alone(debs, scratch):
    scratch.install(debs["avenor"])
    assert scratch.plugins() == {}
    rc, out = scratch.doctor()
    assert rc == 1
    missing = not_installed_lines(out)
    # Every backend the project ships is reported with the package that brings it.
    for name in plugin_debs(debs):
        backend = name.removeprefix("avenor-plugin-")
        assert missing.get(backend) == name, f"doctor said {out}"
    assert out[-1].startswith("summary: missing ")


def test_host_and_opencode_acp_only(debs, scratch, tmp_path):
    scratch.install(debs["avenor"], debs["avenor-plugin-opencode-acp"])
    assert scratch.plugins() == {"opencode-acp": str(scratch.plugin_dir / "opencode-acp.so")}

    # Without the fake on PATH (it would sit out doctor's 20 s version probe): the plugin is
    # there, only its CLI may be missing.
    rc, out = scratch.doctor()
    missing = not_installed_lines(out)
    assert rc == 1
    assert "opencode-acp" not in missing
    assert any(line.startswith(("ok opencode-acp: ", "missing opencode-acp: opencode"))
               for line in out), out
    others = {n.removeprefix("avenor-plugin-") for n in plugin_debs(debs)} - {"opencode-acp"}
    assert set(missing) == others, out

    (tmp_path / "fake").mkdir()
    fake = FakeRun(str(scratch.avenor), tmp_path / "fake", {"turns": [[
        {"chunk": "installed and working"},
        {"end": {"stopReason": "end_turn"}}]]})
    assert fake.run("--backend", "opencode-acp", "--prompt", "hello", timeout=120) == 0, fake.stderr()
    [end] = events_named(fake.events(), "session.end")
    assert end["final_output"] == "installed and working"


def test_everything(debs, scratch, tmp_path):
    scratch.install(*debs.values())
    listed = scratch.plugins()
    expected = {n.removeprefix("avenor-plugin-") for n in plugin_debs(debs)}
    assert set(listed) == expected
    assert all(Path(p).parent == scratch.plugin_dir for p in listed.values()), listed
    _, out = scratch.doctor()
    assert not_installed_lines(out) == {}, out


def test_plugin_without_host_is_refused(debs, scratch):
    r = scratch.dpkg("--install", debs["avenor-plugin-opencode-acp"].path, check=False)
    assert r.returncode != 0
    assert "avenor-abi-1" in r.stdout + r.stderr, r.stdout + r.stderr
    status = scratch.dpkg("--status", "avenor-plugin-opencode-acp", check=False).stdout
    assert "Status: install ok installed" not in status


def test_example_plugin_builds_against_installed_sdk(debs, scratch, tmp_path):
    """HEAVY (~1 min): the example from the SDK package, built with find_package(avenor)
    against the scratch root, then loaded by the installed host."""
    scratch.install(debs["avenor"], debs["libavenor-plugin-dev"])
    example = scratch.root / "usr/share/avenor/examples/echo-backend"
    build = tmp_path / "echo-build"
    sh(["cmake", "-S", example, "-B", build, f"-DCMAKE_PREFIX_PATH={scratch.root / 'usr'}"])
    sh(["cmake", "--build", build])
    sh(["ctest", "--test-dir", build, "--output-on-failure"])  # the example's own test, if any
    env = {**scratch.env(), "AVENOR_PLUGIN_PATH": str(build)}
    listing = sh([scratch.avenor, "plugins"], env=env).stdout
    assert any(line.split("\t")[0] == "echo" for line in listing.splitlines()), listing
    files = RunFiles(tmp_path / "run")
    rc = run_avenor(str(scratch.avenor), standard_run_args(files, "--backend", "echo", "--prompt", "hi"),
                    env=env, files=files)
    assert rc == 0, files.stderr_text()
    assert events_named(files.read_events(), "session.end")[0]["final_output"] == "echo: hi"
