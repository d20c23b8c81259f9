#!/usr/bin/env bash
# The sanitizer job (issue 15): one extra build serves both ASan+UBSan testing
# and fuzzing.
#   - configures $BUILD_DIR-san (default build-san/) with clang, AVENOR_SANITIZE
#     and AVENOR_FUZZ, no benchmarks, -O0 with line tables (asserts kept; -O1
#     would double the compile time, which CI cannot afford);
#   - builds avenor, the plugins, the fakes, the unit tests and the fuzz targets;
#   - runs the unit tests and the scripted-agent end-to-end tests (those that need
#     no real backend CLI) against that build's binaries;
#   - runs every fuzz target for SANITIZE_FUZZ_SECONDS (default 10) each.
# Environment: SANITIZE_JOBS (build parallelism, default nproc),
# SANITIZE_E2E="test_a test_b" (replaces the e2e list), SANITIZE_FUZZ_SECONDS=0
# (skips fuzzing). Exits non-zero on the first failing stage.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-$repo/build}-san
jobs=${SANITIZE_JOBS:-$(nproc)}
fuzz_seconds=${SANITIZE_FUZZ_SECONDS:-10}

# End-to-end files that drive only the scripted fakes (fake_acp_agent and the
# Python fakes), never a CLI from .peers/: the run, loop, permission, watch,
# control, HTTP debug, stable and MCP paths. Left out for CI time (about as
# much again): test_control_cli, test_run_surface, test_stable_runtimes,
# test_stable_responsive, test_stable_policy, test_stable_http_debug,
# test_claude_channel_sidecar, test_claude_channel_cleanup, test_cli_surface,
# test_plugins_cli, test_mcp_cli; SANITIZE_E2E runs any of them.
e2e_default="test_run_fake_agent test_run_cli test_run_loop test_verify_cli test_answer_cli
  test_watch_cli test_control_socket test_http_debug test_permission_policy test_stable_cli
  test_stable_faults test_stable_methods test_mcp_stdio test_mcp_lifecycle test_run_codex_fake"
e2e=${SANITIZE_E2E:-$e2e_default}

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "sanitize: $tool not found (bash scripts/setup.sh installs it)" >&2; exit 2; }
done

stage_start=$SECONDS
stage() {  # prints how long the previous stage took
  echo "sanitize: $1 ($((SECONDS - stage_start)) s)"
  stage_start=$SECONDS
}

opt="-O0 -gline-tables-only"
CC=clang CXX=clang++ cmake -S "$repo" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="$opt" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt" \
  -DAVENOR_WERROR=ON -DAVENOR_SANITIZE=ON -DAVENOR_FUZZ=ON -DAVENOR_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" -j "$jobs"
stage "built $build_dir"

# A finding ends the process at once with a stack trace; leaks count.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# One process per core, each a gtest shard (the suite is parallel-safe: CTest
# runs its cases side by side in the main build).
unit_logs=$(mktemp -d "${TMPDIR:-/tmp}/avenor-sanitize.XXXXXX")
trap 'rm -rf "$unit_logs"' EXIT
pids=()
for ((shard = 0; shard < jobs; shard++)); do
  GTEST_TOTAL_SHARDS=$jobs GTEST_SHARD_INDEX=$shard \
    "$build_dir/tests/avenor_unit_tests" --gtest_brief=1 >"$unit_logs/$shard.log" 2>&1 &
  pids+=($!)
done
unit_failed=0
for ((shard = 0; shard < jobs; shard++)); do
  if ! wait "${pids[$shard]}"; then
    echo "sanitize: unit test shard $shard of $jobs failed:" >&2
    cat "$unit_logs/$shard.log" >&2
    unit_failed=1
  fi
done
[ "$unit_failed" -eq 0 ] || exit 1
stage "unit tests passed"

regex=$(printf '%s|' $e2e)
ctest --test-dir "$build_dir" --output-on-failure --timeout 900 -j "$jobs" \
  -R "^e2e\.(${regex%|})\$"
stage "end-to-end tests passed"

if [ "$fuzz_seconds" -gt 0 ]; then
  FUZZ_BUILD_DIR=$build_dir FUZZ_JOBS=$jobs bash "$repo/scripts/fuzz.sh" "$fuzz_seconds"
  stage "fuzz targets ran ${fuzz_seconds} s each without a finding"
fi
