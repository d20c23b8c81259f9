"""A third party builds a backend plugin out of tree against the installed SDK
(find_package(avenor)), unit-tests it with the SDK's fake host, and avenor loads and runs it
from AVENOR_PLUGIN_PATH."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from avenor_cli import RunFiles, events_named, run_avenor, standard_run_args

REPO = Path(__file__).resolve().parents[2]


def sh(*argv, **kw):
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=300, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, argv))} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r


def test_echo_plugin_built_against_installed_sdk(avenor, tmp_path):
    build_dir = os.environ.get("AVENOR_BUILD_DIR")
    assert build_dir, "AVENOR_BUILD_DIR is not set (CTest sets it)"
    prefix = tmp_path / "prefix"
    sh("cmake", "--install", build_dir, "--prefix", str(prefix))
    assert (prefix / "include/avenor/abi/plugin_abi.h").exists()

    plugin_build = tmp_path / "echo-build"
    sh("cmake", "-S", str(REPO / "sdk/examples/echo-backend"), "-B", str(plugin_build),
       f"-DCMAKE_PREFIX_PATH={prefix}")
    sh("cmake", "--build", str(plugin_build))
    assert (prefix / "include/avenor/sdk/testing/fake_host.hpp").exists()
    assert (prefix / "include/avenor/sdk/testing/plugin_driver.hpp").exists()

    # The example's unit test: the SDK's fake host drives the built echo.so through the C ABI.
    ctest = sh("ctest", "--test-dir", str(plugin_build), "--output-on-failure")
    assert "100% tests passed, 0 tests failed out of 1" in ctest.stdout, ctest.stdout
    direct = sh(str(plugin_build / "echo_backend_test"), str(plugin_build / "echo.so"))
    assert direct.stdout == "echo_backend_test: all checks passed\n", direct.stdout

    env = {**os.environ, "AVENOR_PLUGIN_PATH": str(plugin_build)}
    listing = sh(avenor, "plugins", env=env).stdout
    assert any(line.split("\t")[:3] == ["echo", "1.0.0", "abi=1.2"] for line in listing.splitlines())

    files = RunFiles(tmp_path / "run")
    rc = run_avenor(avenor, standard_run_args(files, "--backend", "echo", "--prompt", "hello there"),
                    env=env, files=files)
    assert rc == 0, files.stderr_text()
    end = events_named(files.read_events(), "session.end")
    assert end[0]["final_output"] == "echo: hello there"
    assert files.sentinel_lines()[:3] == ["DONE", "SESSION=echo-session", "STOP_REASON=end_turn"]
