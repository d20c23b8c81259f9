#!/usr/bin/env bash
# Runs the whole test suite (unit and end-to-end) through CTest.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-$repo/build}
cmake --build "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure --timeout 900 -j "$(nproc)" "$@"
