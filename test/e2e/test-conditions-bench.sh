#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-conditions-bench.sh: bench/conditions.sh --quick runs both modes without errors and
# prints its table and ratio (a smoke test: the figures themselves are not checked).
. "$top_srcdir/test/lib/tap.sh"
for program in src/milter-manager bench/mta-load bench/bench-milter; do
  [ -x "$top_builddir/$program" ] || tap_skip_all "$program is not built"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-conditions-bench.XXXXXX")
tap_at_exit "rm -rf '$tmp'"

tap_plan 3
TMPDIR=$tmp bash "$top_srcdir/bench/conditions.sh" --quick --concurrency 4 >"$tmp/out" 2>"$tmp/err"
status=$?
tap_check "bench/conditions.sh --quick exits 0" test "$status" = 0
tap_check "both modes ran their 200 sessions" \
  eval 'grep -q "^none  *200 " "$tmp/out" && grep -q "^default  *200 " "$tmp/out"'
tap_check "the ratio line is printed and no error was reported" \
  eval 'grep -q "^ratio default/none: rate [0-9.]*, daemon CPU per session [0-9.]*$" "$tmp/out" &&
        ! grep -q "errors reported" "$tmp/out"'
[ "$status" = 0 ] || tap_diag "$(cat "$tmp/out" "$tmp/err")"
