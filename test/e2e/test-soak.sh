#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-soak.sh: thousands of sessions through the daemon with three children, two failing at
# random: no session error, no leak (ASan at exit, or valgrind), equal fds, peak RSS reported.
. "$top_srcdir/test/e2e/reliability.sh"

# make check runs the short soak; "make soak" sets SOAK_SESSIONS=50000 SOAK_VALGRIND_SESSIONS=2000.
SOAK_SESSIONS=${SOAK_SESSIONS:-3000}
SOAK_CONCURRENCY=${SOAK_CONCURRENCY:-20}
SOAK_VALGRIND_SESSIONS=${SOAK_VALGRIND_SESSIONS:-200}
# RSS may grow this much between the first tenth of the sessions and the end (allocator
# caches settle early; steady growth past it is a leak that outlives sessions).
SOAK_RSS_GROWTH_KB=${SOAK_RSS_GROWTH_KB:-16384}

load="$top_builddir/bench/mta-load"
[ -x "$load" ] || tap_skip_all "bench/mta-load is not built"

rl_tmp test-soak
rl_child steady ok
rl_child flaky1 random 1
rl_child flaky2 random 2
# Short timeouts: a child that went silent costs the session 0.3 s, not minutes.
timeouts='  milter.connection_timeout = 0.3
  milter.reading_timeout = 0.3
  milter.end_of_message_timeout = 0.3'
rl_config d "$(rl_milter steady; rl_milter flaky1 "$timeouts"; rl_milter flaky2 "$timeouts
  milter.fallback_status = \"temporary-failure\"")"

# src/milter-manager is libtool's wrapper script: ask the build how it was configured.
asan=no
grep -q '^SANITIZE_CFLAGS = .*-fsanitize=address' "$top_builddir/Makefile" && asan=yes

tap_plan 8

# run_load N: N sessions; sets load_out and load_rc
run_load() {
  load_out=$("$load" -s "unix:$tmp/d.sock" -c "$SOAK_CONCURRENCY" -n "$1" 2>&1)
  load_rc=$?
}

# ASan keeps freed memory in quarantine: keep it small, so that RSS says something.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1 rl_daemon d || tap_skip_all "the daemon did not start: $(tail -3 "$tmp/d.log" "$tmp/d.stderr")"
pid=$rl_pid
# Warm up (children's first connections, allocator), then count.
run_load 50
fds_before=$(rl_fds "$pid")
tenth=$((SOAK_SESSIONS / 10))
run_load "$tenth"
rss_early=$(rl_rss_kb "$pid")
started=$(date +%s)
run_load $((SOAK_SESSIONS - tenth))
elapsed=$(( $(date +%s) - started ))
tap_diag "mta-load: $load_out"
tap_check "$SOAK_SESSIONS sessions with randomly failing children: no session error" \
  test "$load_rc" = 0
non_continue=$(echo "$load_out" | sed -n 's/.*non_continue=\([0-9]*\).*/\1/p')
tap_check "the failing children did fail (sessions not answered continue: ${non_continue:-?})" \
  test "${non_continue:-0}" -gt 0
rl_fds_settle "$pid" "$fds_before"
tap_check "file descriptors: $fds_before before, $rl_fds_now after" \
  test "$rl_fds_now" = "$fds_before"
rss_late=$(rl_rss_kb "$pid")
peak=$(rl_peak_rss_kb "$pid")
tap_check "RSS: ${rss_early} kB after $tenth sessions, ${rss_late} kB at the end, peak ${peak} kB ($elapsed s)" \
  test $((rss_late - rss_early)) -le "$SOAK_RSS_GROWTH_KB"
tap_check "the daemon logged no critical error" eval '! grep -q "\[critical\]" "$tmp/d.log"'
if [ "$asan" = yes ]; then
  tap_check "AddressSanitizer/LeakSanitizer at exit: no error, no leak" rl_stop d "$pid"
else
  tap_check "the daemon stops cleanly" rl_stop d "$pid"
fi

# The same under valgrind, with fewer sessions: valgrind cannot run an ASan build.
if [ "$asan" = yes ]; then
  tap_skip "valgrind: the build uses AddressSanitizer, which valgrind cannot run (LeakSanitizer checked leaks above)"
  tap_skip "valgrind: see above"
elif ! command -v valgrind >/dev/null 2>&1; then
  tap_skip "valgrind is not installed"
  tap_skip "valgrind is not installed"
else
  mkdir -p "$tmp/v.d" && cp "$tmp/d.d/milter-manager.conf" "$tmp/v.d/"
  "$top_builddir/libtool" --mode=execute valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --max-stackframe=16777216 --suppressions="$top_srcdir/test/e2e/valgrind.supp" \
    --log-file="$tmp/valgrind.log" \
    "$rl_mm" --no-daemon -c "$tmp/v.d" -u "$rl_user" -s "unix:$tmp/d.sock" \
    --log-path="$tmp/v.log" --log-level=default >/dev/null 2>&1 &
  vpid=$!
  tap_at_exit "kill -9 $vpid"
  wait_for 120 grep -qs "started: listening" "$tmp/v.log"
  run_load "$SOAK_VALGRIND_SESSIONS"
  tap_check "valgrind: $SOAK_VALGRIND_SESSIONS sessions without a session error" test "$load_rc" = 0
  kill -TERM "$vpid"
  wait_for 120 dead "$vpid"
  wait "$vpid"; vstatus=$?
  if [ "$vstatus" = 0 ]; then
    tap_ok "valgrind: no memory error, no definite leak ($(grep -m1 "ERROR SUMMARY" "$tmp/valgrind.log" | sed 's/^==[0-9]*== //'))"
  else
    tap_not_ok "valgrind: no memory error, no definite leak (exit $vstatus)"
    grep -A12 "definitely lost in\|Invalid \|uninitialised" "$tmp/valgrind.log" | head -60 |
      while IFS= read -r line; do tap_diag "$line"; done
  fi
fi
