#!/usr/bin/env bash
# Builds the Debian packages (docs/packaging.md) in their own build folder, never
# touching build/: a Release build for /usr with Debian's hardening flags, no
# tests or benchmarks, then one `cpack` run that writes every package:
#   avenor, avenor-plugin-<plugin> (one per plugins/<folder>), libavenor-plugin-dev.
# Environment: PKG_BUILD_DIR (default build-pkg/), PKG_OUT_DIR (default
# $PKG_BUILD_DIR/packages), JOBS (parallel build jobs; default ninja's).
# Prints the path of each package written.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${PKG_BUILD_DIR:-$repo/build-pkg}
out_dir=${PKG_OUT_DIR:-$build_dir/packages}

for tool in cmake cpack dpkg-deb dpkg-shlibdeps dpkg-buildflags; do
  command -v "$tool" >/dev/null || { echo "package.sh: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done

# Debian's build flags (hardening, -O2). CMake reads CXXFLAGS/LDFLAGS only when
# it first configures a folder and has no CPPFLAGS, so the preprocessor flags
# (_FORTIFY_SOURCE) go with CXXFLAGS; -g is dropped (the packages are
# stripped, and debug info only slows the build).
# Linker flags are passed on every run (a relink only), with bind-now on top.
eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+bindnow dpkg-buildflags --export=sh)"
CXXFLAGS="$CPPFLAGS $CXXFLAGS"
export CXXFLAGS=${CXXFLAGS//-g /}

cmake -S "$repo" -B "$build_dir" -G Ninja -Wno-dev \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-DNDEBUG -DCMAKE_INSTALL_PREFIX=/usr \
  -DAVENOR_PACKAGING=ON -DAVENOR_WERROR=OFF \
  -DAVENOR_BUILD_TESTS=OFF -DAVENOR_BUILD_BENCH=OFF -DAVENOR_FUZZ=OFF \
  -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS" -DCMAKE_MODULE_LINKER_FLAGS="$LDFLAGS" >/dev/null
cmake --build "$build_dir" ${JOBS:+-j "$JOBS"}

mkdir -p "$out_dir"
rm -f "$out_dir"/*.deb
(cd "$build_dir" && cpack -G DEB -B "$out_dir" >/dev/null 2>&1) || {
  echo "package.sh: cpack failed; rerun: (cd $build_dir && cpack -G DEB -B $out_dir)" >&2; exit 1; }
ls "$out_dir"/*.deb
