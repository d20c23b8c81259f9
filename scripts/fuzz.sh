#!/usr/bin/env bash
# Runs every libFuzzer target of the sanitizer build for a bounded time:
#   bash scripts/fuzz.sh [seconds-per-target]     (default 60)
# The targets are the tests/fuzz/*_fuzz executables of $FUZZ_BUILD_DIR (default:
# scripts/sanitize.sh's build dir, $BUILD_DIR-san, i.e. build-san/). Each starts
# from a temporary copy of its seeds (tests/fuzz/corpus/<name>/; the repository
# is never written) with its dictionary (tests/fuzz/dicts/<name>.dict).
# Environment: FUZZ_TARGETS="a b" runs only those (names without _fuzz);
# FUZZ_JOBS=n runs n targets at a time (default 1); FUZZ_ARTIFACTS moves the
# findings (default $FUZZ_BUILD_DIR/fuzz-artifacts/<name>/).
# Exits 1 when a target finds a crash, leak, timeout or OOM, after printing the
# reproducer's path and the command that reruns it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
build_dir=${FUZZ_BUILD_DIR:-${BUILD_DIR:-$repo/build}-san}
fuzz_dir=$build_dir/tests/fuzz
artifacts=${FUZZ_ARTIFACTS:-$build_dir/fuzz-artifacts}
jobs=${FUZZ_JOBS:-1}

if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz: seconds must be a positive integer, got '$seconds'" >&2
  exit 2
fi
shopt -s nullglob
targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
  for name in $FUZZ_TARGETS; do targets+=("$fuzz_dir/${name%_fuzz}_fuzz"); done
else
  for bin in "$fuzz_dir"/*_fuzz; do [ -x "$bin" ] && targets+=("$bin"); done
fi
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz targets in $fuzz_dir (build them with bash scripts/sanitize.sh)" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/avenor-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
# A finding stops the target at once; UBSan reports count as findings.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Runs one target; its summary goes to $work/<name>.result (first line the
# table row, "FAILED" in it on a finding).
run_target() {
  local bin=$1 name out corpus seeds dict log status=0 rate runs cov
  name=$(basename "$bin" _fuzz)
  out=$artifacts/$name
  if [ ! -x "$bin" ]; then
    printf '%-16s %10s %9s %6s  FAILED (not built: %s)\n' "$name" - - - "$bin" >"$work/$name.result"
    return
  fi
  corpus=$work/corpus/$name
  mkdir -p "$corpus" "$out"
  # Findings of an earlier run are not this run's.
  rm -f "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* "$out"/fuzz.log
  seeds=$repo/tests/fuzz/corpus/$name
  [ -d "$seeds" ] && cp -R "$seeds/." "$corpus/"
  local args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
              -artifact_prefix="$out/")
  dict=$repo/tests/fuzz/dicts/$name.dict
  [ -f "$dict" ] && args+=(-dict="$dict")
  log=$out/fuzz.log
  "$bin" "${args[@]}" "$corpus" >"$log" 2>&1 || status=$?
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  {
    if [ "$status" -eq 0 ]; then
      printf '%-16s %10s %9s %6s  ok\n' "$name" "${rate:-?}" "${runs:-?}" "${cov:-?}"
    else
      printf '%-16s %10s %9s %6s  FAILED (exit %s)\n' "$name" "${rate:-?}" "${runs:-?}" \
        "${cov:-?}" "$status"
      grep -m1 -E 'ERROR: |runtime error:|fuzz invariant broken' "$log" | sed 's/^/  /' || true
      local found=0 reproducer
      for reproducer in "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*; do
        echo "  reproducer: $reproducer"
        echo "  rerun: $bin $reproducer"
        found=1
      done
      [ "$found" -eq 1 ] || echo "  no reproducer written"
      echo "  log: $log"
    fi
  } >"$work/$name.result"
}

mkdir -p "$artifacts"
running=0
for bin in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$bin" &
  running=$((running + 1))
done
wait

failed=0
printf '%-16s %10s %9s %6s  %s\n' target exec/s runs cov result
for bin in "${targets[@]}"; do
  result=$work/$(basename "$bin" _fuzz).result
  if [ ! -f "$result" ]; then
    echo "$(basename "$bin" _fuzz): FAILED (the runner itself failed)"
    failed=1
    continue
  fi
  cat "$result"
  if grep -q FAILED "$result"; then failed=1; fi
done
exit "$failed"
