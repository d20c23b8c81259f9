#!/usr/bin/env bash
# Builds the Debian packages (docs/packaging.md) with one `cpack` run, which
# writes every package: avenor, avenor-plugin-<plugin> (one per plugins/<folder>),
# libavenor-plugin-dev. Prints the path of each package written.
#
# By default it packages build/ (the build scripts/setup.sh made; BUILD_DIR
# overrides), configured for /usr and brought up to date first, so the
# packages hold exactly the binaries the test suite ran. PKG_RELEASE=1 instead
# makes a build of its own in build-pkg/ (PKG_BUILD_DIR overrides): Release,
# Debian's hardening flags, no tests or benchmarks — what a distribution ships.
# Environment: PKG_OUT_DIR (default <build folder>/packages), JOBS (parallel
# build jobs; default ninja's).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

for tool in cmake cpack dpkg-deb dpkg-shlibdeps dpkg-buildflags; do
  command -v "$tool" >/dev/null || { echo "package.sh: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done

if [ "${PKG_RELEASE:-0}" = "1" ]; then
  build_dir=${PKG_BUILD_DIR:-$repo/build-pkg}
  # Debian's build flags (hardening, -O2). CMake reads CXXFLAGS/LDFLAGS only
  # when it first configures a folder and has no CPPFLAGS, so the preprocessor
  # flags (_FORTIFY_SOURCE) go with CXXFLAGS; -g is dropped (the packages are
  # stripped, and debug info only slows the build). Linker flags are passed
  # on every run (a relink only), with bind-now on top.
  eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+bindnow dpkg-buildflags --export=sh)"
  CXXFLAGS="$CPPFLAGS $CXXFLAGS"
  export CXXFLAGS=${CXXFLAGS//-g /}
  cmake -S "$repo" -B "$build_dir" -G Ninja -Wno-dev \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-DNDEBUG -DCMAKE_INSTALL_PREFIX=/usr \
    -DAVENOR_WERROR=OFF -DAVENOR_BUILD_TESTS=OFF -DAVENOR_BUILD_BENCH=OFF -DAVENOR_FUZZ=OFF \
    -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS" -DCMAKE_MODULE_LINKER_FLAGS="$LDFLAGS" >/dev/null
else
  build_dir=${BUILD_DIR:-$repo/build}
  [ -f "$build_dir/CMakeCache.txt" ] || {
    echo "package.sh: $build_dir is not configured; run scripts/setup.sh first (or PKG_RELEASE=1)" >&2; exit 1; }
  # The packages install under /usr; setup.sh configures build/ that way.
  grep -q '^CMAKE_INSTALL_PREFIX:PATH=/usr$' "$build_dir/CMakeCache.txt" ||
    cmake -S "$repo" -B "$build_dir" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
fi
cmake --build "$build_dir" ${JOBS:+-j "$JOBS"} >&2  # stdout lists only the packages

out_dir=${PKG_OUT_DIR:-$build_dir/packages}
mkdir -p "$out_dir"
rm -f "$out_dir"/*.deb
(cd "$build_dir" && cpack -G DEB -B "$out_dir" >/dev/null 2>&1) || {
  echo "package.sh: cpack failed; rerun: (cd $build_dir && cpack -G DEB -B $out_dir)" >&2; exit 1; }
ls "$out_dir"/*.deb
