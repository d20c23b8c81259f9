#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a built avenor:
#   - installs the system packages (compiler, CMake, Boost 1.81, CLI11, spdlog,
#     GoogleTest, Python's pytest for the end-to-end tests, Node.js if absent,
#     clang with its sanitizer and libFuzzer runtimes for scripts/sanitize.sh);
#   - installs the real backend CLIs the tests drive into .peers/ (not global);
#   - configures and builds into build/ with warnings as errors.
# Environment: AVENOR_SANITIZE=1 builds with ASan+UBSan; BUILD_DIR overrides build/.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${BUILD_DIR:-$repo/build}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(g++ cmake ninja-build git clang-format
          libboost1.81-dev libboost-json1.81-dev libboost-filesystem1.81-dev
          libcli11-dev libspdlog-dev libgtest-dev libgmock-dev tmux
          libyaml-cpp-dev libtomlplusplus-dev
          python3 python3-pytest
          dpkg-dev lintian  # scripts/package.sh and its test (docs/packaging.md)
          clang libclang-rt-14-dev llvm)  # the sanitizer build and libFuzzer (scripts/sanitize.sh)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

bash "$repo/scripts/install-peers.sh"

sanitize=OFF
[ "${AVENOR_SANITIZE:-0}" = "1" ] && sanitize=ON
# /usr: the prefix the Debian packages made from this build install to (scripts/package.sh).
# -g1, not RelWithDebInfo's -g: line tables only, so backtraces and perf keep
# file:line while a build heavy with Asio and Beast templates compiles ~30 %
# faster (CI time) and avenor is not a 155 MB file.
opt="-O2 -g1 -DNDEBUG"
cmake -S "$repo" -B "$build_dir" -G Ninja -DAVENOR_WERROR=ON -DAVENOR_SANITIZE=$sanitize \
  -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_C_FLAGS_RELWITHDEBINFO="$opt" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt"
cmake --build "$build_dir"
echo "setup: built $build_dir/host/avenor"
