# SPDX-License-Identifier: GPL-3.0-or-later
# tap.sh: TAP helpers sourced by the shell tests (plan, ok, not ok, skip, a cleanup stack run on
# exit so that servers a test started are always stopped) and polling helpers.
tap_n=0
tap_failed=0
tap_cleanups=""
tap_plan() { echo "1..$1"; }
tap_ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
tap_not_ok() { tap_n=$((tap_n + 1)); tap_failed=1; echo "not ok $tap_n - $*"; }
tap_skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP $*"; }
tap_skip_all() { echo "1..0 # SKIP $*"; exit 0; }
tap_diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
# tap_check DESCRIPTION COMMAND...: one test point from a command's exit status.
tap_check() {
  desc=$1; shift
  if "$@"; then tap_ok "$desc"; else tap_not_ok "$desc"; fi
}
tap_at_exit() { tap_cleanups="$*; $tap_cleanups"; }
tap_finish() { eval "$tap_cleanups" >/dev/null 2>&1 || true; }
trap tap_finish EXIT

# Polling helpers shared by the shell tests.
# wait_for SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds; 1 on time-out
wait_for() {
  local limit=$(($1 * 10)); shift
  local i=0
  while ! "$@"; do
    i=$((i + 1))
    [ "$i" -ge "$limit" ] && return 1
    sleep 0.1
  done
}
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }
has_line() { grep -q -- "$2" "$1" 2>/dev/null; }
