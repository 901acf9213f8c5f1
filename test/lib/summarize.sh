#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# summarize.sh: turn automake's test-suite.log counts (one or more logs, added up) into the one
# closing line "N passed, N failed, N skipped"; exits non-zero when anything failed.
[ $# -gt 0 ] || set -- test-suite.log
passed=0; failed=0; skipped=0
for log in "$@"; do
  if [ ! -f "$log" ]; then
    echo "summarize.sh: $log not found: the test suite did not run" >&2
    failed=$((failed + 1))
    continue
  fi
  count() { sed -n "s/^# $1: *\([0-9][0-9]*\).*/\1/p" "$log" | head -n 1; }
  pass=$(count PASS); xfail=$(count XFAIL); skip=$(count SKIP)
  fail=$(count FAIL); xpass=$(count XPASS); error=$(count ERROR)
  passed=$((passed + ${pass:-0} + ${xfail:-0}))
  failed=$((failed + ${fail:-0} + ${xpass:-0} + ${error:-0}))
  skipped=$((skipped + ${skip:-0}))
  if [ $((${fail:-0} + ${xpass:-0} + ${error:-0})) -gt 0 ]; then
    echo "Failed or erroring tests in $log:"
    grep -E '^(FAIL|ERROR|XPASS):' "$log" | sed 's/^/  /'
  fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
