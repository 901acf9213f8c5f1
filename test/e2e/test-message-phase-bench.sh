#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-message-phase-bench.sh: bench/message-phase.sh with three children that each take
# 50 ms at end of message: the sequential phase takes their sum, the parallel phase the slowest.
. "$top_srcdir/test/lib/tap.sh"

for program in src/milter-manager bench/mta-load bench/bench-milter; do
  [ -x "$top_builddir/$program" ] || tap_skip_all "$program is not built (libmilter missing?)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-message-phase-bench.XXXXXX")
tap_at_exit "rm -rf '$tmp'"

tap_plan 4
TMPDIR=$tmp top_builddir=$top_builddir top_srcdir=$top_srcdir \
  bash "$top_srcdir/bench/message-phase.sh" --children 3 --delay 50 --sessions 10 \
  --concurrency 1 >"$tmp/table" 2>"$tmp/stderr"
status=$?
tap_diag "$(cat "$tmp/table" "$tmp/stderr")"
tap_check "bench/message-phase.sh exits 0 (no failed session)" test "$status" = 0
# p50 PHASE - the median session latency of PHASE, in whole milliseconds
p50() { awk -v phase="$1" '$1 == phase && $3 == 10 { printf "%d", $5 }' "$tmp/table"; }
sequential=$(p50 sequential)
parallel=$(p50 parallel)
tap_check "both phases ran 10 sessions" test -n "$sequential" -a -n "$parallel"
tap_check "sequential: at least the sum of the three 50 ms ($sequential ms)" \
  test "${sequential:-0}" -ge 150
tap_check "parallel: below two children's time, not the sum ($parallel ms)" \
  test "${parallel:-999}" -lt 100
exit $tap_failed
