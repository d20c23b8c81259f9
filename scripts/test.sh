#!/usr/bin/env bash
# Runs the whole test suite (unit and end-to-end) through CTest, then the
# sanitizer job (scripts/sanitize.sh: an ASan+UBSan build in $BUILD_DIR-san, its
# unit and scripted-agent end-to-end tests, a short run of every fuzz target)
# unless AVENOR_SKIP_SANITIZE=1.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-$repo/build}
cmake --build "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure --timeout 900 -j "$(nproc)" "$@"
if [ "${AVENOR_SKIP_SANITIZE:-0}" != "1" ]; then
  BUILD_DIR=$build_dir bash "$repo/scripts/sanitize.sh"
fi
