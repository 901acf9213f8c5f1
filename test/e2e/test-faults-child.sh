#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-faults-child.sh: the whole daemon against a child milter that fails in each way the issue
# names: the MTA gets the child's fallback, other sessions go on, no fd is left, no restart.
. "$top_srcdir/test/e2e/reliability.sh"

rl_tmp test-faults-child
rl_child good ok
# The failing child's fallback is temporary-failure, so that its failures show at the MTA
# (the good child answers continue); short timeouts keep the test quick.
rl_config d "$(rl_milter bad '  milter.fallback_status = "temporary-failure"
  milter.connection_timeout = 1
  milter.reading_timeout = 1
  milter.end_of_message_timeout = 1'; rl_milter good)"
rl_daemon d || tap_skip_all "the daemon did not start: $(tail -3 "$tmp/d.log" "$tmp/d.stderr")"
daemon_pid=$rl_pid
baseline=$(rl_fds "$daemon_pid")

all_continue="negotiate O
connect c
helo c
mail c
rcpt c
data c
header c
eoh c
body c
eom c
quit closed"

# expect_session DESCRIPTION EXPECTED: the last session's answers, one "COMMAND REPLY" a line
expect_session() {
  if [ "$rl_rc" = 0 ] && [ "$rl_out" = "$2" ]; then
    tap_ok "$1"
  else
    tap_not_ok "$1"
    tap_diag "expected:" "$2" "got (status $rl_rc):" "$rl_out"
  fi
}

# fault MODE EXPECTED...: the failing child in MODE; the session gets EXPECTED (lines), the
# next session (child well again) passes, and the daemon holds as many fds as before
fault() {
  local mode=$1 expected=$2
  rl_child bad first:$mode # MODE ARG: two words
  local bad_pid=$rl_child_pid
  rl_mta d $rl_full_session
  # Progress replies are passed on while the MTA keeps up: how many depends on timing.
  rl_out=$(sed 's/progress\*[0-9]*$/progress*N/' <<<"$rl_out")
  expect_session "child $mode: the MTA gets the fallback" "$expected"
  rl_mta d $rl_full_session
  expect_session "child $mode: the next session works without a restart" "$all_continue"
  if rl_fds_settle "$daemon_pid" "$baseline"; then
    tap_ok "child $mode: no file descriptor left behind ($baseline)"
  else
    tap_not_ok "child $mode: no file descriptor left behind ($baseline before, $rl_fds_now after)"
    ls -l "/proc/$daemon_pid/fd" | while IFS= read -r line; do tap_diag "$line"; done
  fi
  kill -9 "$bad_pid"
  wait "$bad_pid" 2>/dev/null
}

tap_plan 29

# Nobody listens on the failing child's socket: it is out, with its fallback, at once.
rl_mta d $rl_full_session
expect_session "child refuses connections: the MTA gets the fallback" "negotiate O
connect t
stopped"
tap_check "child refuses connections: logged with the socket and the cause" \
  grep -q "bad (unix:$tmp/bad.sock).*\(refused\|No such file\)" "$tmp/d.log"

fault silent "negotiate O
connect t
stopped"
tap_check "child never answers: logged as a timeout" grep -q "bad.*no reply to negotiate within 1 seconds" "$tmp/d.log"
fault "slow 1500" "negotiate O
connect t
stopped"
fault "close-at B" "negotiate O
connect c
helo c
mail c
rcpt c
data c
header c
eoh c
body t
stopped"
fault "malformed-at M" "negotiate O
connect c
helo c
mail t
stopped"
fault "oversized-at R" "negotiate O
connect c
helo c
mail c
rcpt t
stopped"
fault "edit-at H" "negotiate O
connect c
helo t
stopped"
fault "flood 2000" "negotiate O
connect c
helo c
mail c
rcpt c
data c
header c
eoh c
body c
eom progress*N
eom c
quit closed"

# A progress flood while the MTA does not read: what the MTA has not read yet already tells
# it to wait, so the queue for it does not grow with the flood.
rl_child bad first:flood 400000
bad_pid=$rl_child_pid
rl_mta d negotiate connect helo mail rcpt data header eoh body eom~ quit
received=$(sed -n 's/^eom progress\*//p' <<<"$rl_out")
tap_check "a progress flood to an MTA that does not read: answered (eom c)" \
  grep -qx "eom c" <<<"$rl_out"
tap_check "a progress flood to an MTA that does not read: the MTA got ${received:-0} of 400000" \
  test "${received:-0}" -lt 200000
kill -9 "$bad_pid"
wait "$bad_pid" 2>/dev/null

# Other sessions are unaffected: while one session waits on a silent child, another one
# runs from start to end.
rl_child bad "first:silent"
bad_pid=$rl_child_pid
"$rl_python" "$rl_peer" mta "$tmp/d.sock" $rl_full_session >"$tmp/waiting.out" 2>&1 &
waiting=$!
wait_for 10 grep -qs "connection 1: silent" "$tmp/bad.err"
started=$(date +%s%N)
rl_mta d $rl_full_session
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
expect_session "a session alongside one waiting on a silent child passes" "$all_continue"
tap_check "a session alongside one waiting on a silent child is not held up (${elapsed_ms} ms)" \
  test "$elapsed_ms" -lt 900
wait "$waiting"
kill -9 "$bad_pid"

tap_check "the daemon stops cleanly, without sanitizer reports or leaks" rl_stop d "$daemon_pid"
