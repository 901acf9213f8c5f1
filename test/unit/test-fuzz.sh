# SPDX-License-Identifier: GPL-3.0-or-later
# test-fuzz.sh: runs each libFuzzer target (fuzz/fuzz-*.c) over its committed corpus as
# regression vectors, then fuzzes it for a bounded time; skipped when clang is missing.
. "$top_srcdir/test/lib/tap.sh"

FUZZ_TEST_SECONDS=${FUZZ_TEST_SECONDS:-10}
builddir=${top_builddir:-.}

if ! command -v clang >/dev/null 2>&1; then
  tap_skip_all "clang is not installed: libFuzzer targets are not built"
fi

sources=$(ls "$top_srcdir"/fuzz/fuzz-*.c 2>/dev/null)
[ -n "$sources" ] || tap_skip_all "no fuzz targets in fuzz/"
tap_plan $(( $(echo "$sources" | wc -l) * 2 ))

work=$(mktemp -d)
tap_at_exit "rm -rf '$work'"

for source in $sources; do
  target=$(basename "$source" .c)
  name=${target#fuzz-}
  binary=$builddir/fuzz/$target
  corpus=$top_srcdir/fuzz/corpus/$name
  if [ ! -x "$binary" ]; then
    tap_not_ok "$name: $binary was not built"
    tap_not_ok "$name: fuzzing"
    continue
  fi
  # Every committed input once, crashes found earlier included.
  files=$(find "$corpus" -type f 2>/dev/null)
  if [ -z "$files" ]; then
    tap_skip "$name: regression corpus: $corpus is empty"
  elif "$binary" -artifact_prefix="$work/" $files >"$work/$name.replay" 2>&1; then
    tap_ok "$name: regression corpus ($(echo "$files" | wc -l) inputs)"
  else
    tap_not_ok "$name: regression corpus"
    tail -n 40 "$work/$name.replay" | while IFS= read -r line; do tap_diag "$line"; done
  fi
  # New inputs go to a scratch corpus: the test never writes into the source tree.
  mkdir -p "$work/$name"
  if "$binary" -max_total_time="$FUZZ_TEST_SECONDS" -artifact_prefix="$work/" \
      "$work/$name" ${files:+"$corpus"} >"$work/$name.log" 2>&1; then
    tap_ok "$name: fuzzed for ${FUZZ_TEST_SECONDS}s ($(grep -c . "$work/$name.log") log lines)"
  else
    tap_not_ok "$name: fuzzing found a failure (copy the crash-* input into $corpus)"
    tail -n 60 "$work/$name.log" | while IFS= read -r line; do tap_diag "$line"; done
    for crash in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
      [ -f "$crash" ] && tap_diag "input: $(od -An -tx1 "$crash" | tr -d ' \n')"
    done
  fi
done
