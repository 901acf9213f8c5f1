#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-reload-load.sh: SIGHUP many times while sessions run (none fails or is cut, new ones see
# the new configuration), and SIGTERM under load (sessions in progress finish).
. "$top_srcdir/test/e2e/reliability.sh"

RELOAD_COUNT=${RELOAD_COUNT:-30}
load="$top_builddir/bench/mta-load"
[ -x "$load" ] || tap_skip_all "bench/mta-load is not built"

rl_tmp test-reload-load
rl_child one ok
rl_child two ok
two_err="$tmp/two.err"
config_one="$(rl_milter one)"
config_both="$(rl_milter one; rl_milter two)"
rl_config d "$config_one"
rl_daemon d || tap_skip_all "the daemon did not start: $(tail -3 "$tmp/d.log" "$tmp/d.stderr")"
pid=$rl_pid
count() { grep -c -- "$2" "$1" 2>/dev/null; }
# at_least FILE PATTERN N: FILE has N lines matching PATTERN (re-counted on each call)
at_least() { test "$(count "$1" "$2")" -ge "$3"; }

tap_plan 9

# Reload RELOAD_COUNT times, switching between one child and two, while the load runs.
"$load" -s "unix:$tmp/d.sock" -c 10 -d 6 >"$tmp/load.out" 2>&1 &
load_pid=$!
sleep 0.5
for i in $(seq 1 "$RELOAD_COUNT"); do
  if [ $((i % 2)) = 1 ]; then rl_config d "$config_both"; else rl_config d "$config_one"; fi
  kill -HUP "$pid"
  sleep 0.15
done
wait "$load_pid"; load_rc=$?
tap_diag "mta-load: $(cat "$tmp/load.out")"
tap_check "$RELOAD_COUNT reloads under load: no session failed or was cut" \
  eval '[ "$load_rc" = 0 ] && grep -q " errors=0 " "$tmp/load.out"'
wait_for 10 at_least "$tmp/d.log" "reloaded the configuration" "$RELOAD_COUNT"
tap_check "every SIGHUP reloaded ($(count "$tmp/d.log" "reloaded the configuration") reloads)" \
  test "$(count "$tmp/d.log" "reloaded the configuration")" -ge "$RELOAD_COUNT"
tap_check "the daemon is still running" alive "$pid"

# The last configuration (RELOAD_COUNT even: one child) is the one new sessions see.
rl_config d "$config_both"
kill -HUP "$pid"
wait_for 10 at_least "$tmp/d.log" "reloaded the configuration" $((RELOAD_COUNT + 1))
before=$(count "$two_err" "^connection ")
rl_mta d $rl_full_session
tap_check "after the reload a new session passes" test "$rl_rc" = 0
tap_check "after the reload a new session reaches the child the new configuration added" \
  test "$(count "$two_err" "^connection ")" -gt "$before"
rl_config d "$config_one"
kill -HUP "$pid"
wait_for 10 at_least "$tmp/d.log" "reloaded the configuration" $((RELOAD_COUNT + 2))
before=$(count "$two_err" "^connection ")
rl_mta d $rl_full_session
tap_check "after reloading back, new sessions no longer reach the removed child" \
  eval '[ "$rl_rc" = 0 ] && [ "$(count "$two_err" "^connection ")" = "$before" ]'

# SIGTERM with sessions in progress: each waits on a slow child, and must still finish.
rl_child slow slow 150
rl_config d "$(rl_milter slow)"
kill -HUP "$pid"
wait_for 10 at_least "$tmp/d.log" "reloaded the configuration" $((RELOAD_COUNT + 3))
mta_pids=""
for i in 1 2 3 4 5; do
  "$rl_python" "$rl_peer" mta "$tmp/d.sock" $rl_full_session >"$tmp/term$i.out" 2>&1 &
  mta_pids="$mta_pids $!"
done
wait_for 10 at_least "$tmp/slow.err" "^connection " 5
kill -TERM "$pid"
failed=0
for p in $mta_pids; do wait "$p" || failed=$((failed + 1)); done
whole=0
for i in 1 2 3 4 5; do
  grep -q "^eom c$" "$tmp/term$i.out" && grep -q "^quit closed$" "$tmp/term$i.out" &&
    whole=$((whole + 1))
done
tap_check "SIGTERM under load: the 5 sessions in progress finished whole ($whole of 5)" \
  test "$failed" = 0 -a "$whole" = 5
tap_check "SIGTERM under load: the daemon exits 0, with no sanitizer report" rl_exited d "$pid"
if grep -q "no longer accepting; [1-5] sessions in progress" "$tmp/d.log"; then
  tap_ok "SIGTERM under load: logged the sessions it waited for"
else
  tap_not_ok "SIGTERM under load: logged the sessions it waited for"
  grep "\[daemon\]" "$tmp/d.log" | tail -5 | while IFS= read -r line; do tap_diag "$line"; done
fi
