#!/usr/bin/env bash
# Fuzzing (issue 11, part 6; not part of scripts/test.sh): builds the targets in fuzz/
# with cargo-fuzz (libFuzzer) and runs each for SECS seconds on its corpus in
# fuzz/corpus/<target>, then prints executions and findings per target. A crash leaves
# its input in fuzz/artifacts/<target>/: turn it into a regression test next to the
# code it broke, then keep the input in the corpus.
# usage: scripts/fuzz.sh [SECS=60] [TARGET...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# cargo-fuzz passes -Z flags; the pinned stable toolchain takes them with this.
export RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && cargo fuzz list)
fi
# No sanitizer: the code is safe Rust, and what is sought is a panic (an unwrap, an
# overflow, a slice out of range), which libFuzzer reports as a crash by itself.
# Debug assertions stay on so integer overflow panics too.
(cd fuzz && cargo fuzz build -s none --debug-assertions)
summary=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  log="$(mktemp)"
  set +e
  # Absolute: the config target works in a scratch folder of its own.
  (cd fuzz && cargo fuzz run -s none --debug-assertions "$t" "$PWD/corpus/$t" -- \
    -max_total_time="$secs" -max_len=4096 -print_final_stats=1) >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  crashes=$(find "fuzz/artifacts/$t" -type f | wc -l)
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  summary+=("$t: $runs executions in ${secs} s, corpus $corpus inputs, $crashes crash inputs (exit $rc)")
  if [ "$rc" -ne 0 ]; then
    grep -E "panicked|ERROR|SUMMARY" "$log" | head -5 || true
  fi
  rm -f "$log"
done
printf '\n==> fuzz summary\n'
printf '%s\n' "${summary[@]}"
