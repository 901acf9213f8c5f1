#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-conditions.sh: runs the Ruby-level condition tests (test-conditions.rb, minitest) as
# one TAP test point per minitest run, with the DSL from the source tree.
. "$top_srcdir/test/lib/tap.sh"

if ! ruby -e 'require "minitest"' 2>/dev/null; then
  tap_skip_all "minitest is not installed"
fi
tap_plan 1
output=$(ruby -I"$top_srcdir/binding/lib" "$top_srcdir/test/conditions/test-conditions.rb" 2>&1)
status=$?
tap_diag "$output"
if [ $status -eq 0 ] && printf '%s\n' "$output" | grep -q ' 0 failures, 0 errors'; then
  tap_ok "condition helpers (minitest)"
else
  tap_not_ok "condition helpers (minitest)"
fi
