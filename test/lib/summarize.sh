#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# summarize.sh: turn automake's test-suite.log counts into the one closing line
# "N passed, N failed, N skipped"; exits non-zero when anything failed.
log=${1:-test-suite.log}
if [ ! -f "$log" ]; then
  echo "summarize.sh: $log not found: the test suite did not run" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
count() { sed -n "s/^# $1: *\([0-9][0-9]*\).*/\1/p" "$log" | head -n 1; }
pass=$(count PASS); xfail=$(count XFAIL); skip=$(count SKIP)
fail=$(count FAIL); xpass=$(count XPASS); error=$(count ERROR)
passed=$(( ${pass:-0} + ${xfail:-0} ))
failed=$(( ${fail:-0} + ${xpass:-0} + ${error:-0} ))
if [ "$failed" -gt 0 ]; then
  echo "Failed or erroring tests:"
  grep -E '^(FAIL|ERROR|XPASS):' "$log" | sed 's/^/  /'
fi
echo "$passed passed, $failed failed, ${skip:-0} skipped"
[ "$failed" -eq 0 ]
