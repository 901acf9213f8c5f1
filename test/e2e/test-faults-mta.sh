#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-faults-mta.sh: the whole daemon against an MTA that hangs up at each stage, sends
# garbage, or sends ABORT and new transactions at odd times: answers, fds, the next session.
. "$top_srcdir/test/e2e/reliability.sh"

rl_tmp test-faults-mta
rl_child one ok
rl_child two slow 0
two_pid=$rl_child_pid
rl_config d "$(rl_milter one; rl_milter two)"
rl_daemon d || tap_skip_all "the daemon did not start: $(tail -3 "$tmp/d.log" "$tmp/d.stderr")"
daemon_pid=$rl_pid
baseline=$(rl_fds "$daemon_pid")

# expect_session DESCRIPTION EXPECTED: the last session's answers, one "COMMAND REPLY" a line
expect_session() {
  if [ "$rl_rc" = 0 ] && [ "$rl_out" = "$2" ]; then
    tap_ok "$1"
  else
    tap_not_ok "$1"
    tap_diag "expected:" "$2" "got (status $rl_rc):" "$rl_out"
  fi
}

# answers STEP...: what an MTA gets when both children continue: "STEP c" for each command
# that calls for an answer
answers() {
  local step
  for step in "$@"; do
    case $step in
      negotiate) echo "negotiate O" ;;
      abort|close|*!) ;;
      quit) echo "quit closed" ;;
      *) echo "$step c" ;;
    esac
  done
}

# settled DESCRIPTION: the daemon is back to its fds, and a whole session passes
settled() {
  if rl_fds_settle "$daemon_pid" "$baseline"; then
    tap_ok "$1: no file descriptor left behind"
  else
    tap_not_ok "$1: no file descriptor left behind ($baseline before, $rl_fds_now after)"
  fi
  rl_mta d $rl_full_session
  expect_session "$1: the next session works" "$(answers $rl_full_session)"
}

stages="negotiate connect helo mail rcpt data header eoh body eom"
tap_plan $(( 10 * 2 + 3 + 3 + 1 + 2 * 4 + 3 * 3 + 1 ))

# Hang up after each stage's answer.
steps=""
for stage in $stages; do
  steps="$steps $stage"
  rl_mta d $steps close
  settled "MTA hangs up after $stage"
done

# Hang up while the children work on end of message: the slow child is still busy.
kill -9 "$two_pid"
rl_child two first:slow 800
rl_mta d negotiate connect helo mail rcpt data header eoh body eom! close
settled "MTA hangs up while a child works on end of message"
tap_check "MTA hangs up while a child works: the session ends, logged" \
  grep -q "end: MTA closed the connection" "$tmp/d.log"

# Garbage: an unknown command, then a length the protocol cannot have.
rl_mta d negotiate connect garbage
expect_session "MTA sends garbage: the daemon hangs up" "negotiate O
connect c
garbage closed"
settled "MTA sends garbage"
"$rl_python" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"\xff\xff\xff\xffO"); s.settimeout(10); print(repr(s.recv(10)))' "$tmp/d.sock" >"$tmp/huge.out" 2>&1
tap_check "MTA sends a 4 GiB length: the daemon hangs up" grep -qx "b''" "$tmp/huge.out"

# Limits: more headers than a message may have (MM_HEADER_LIST_MAX_HEADERS), a packet larger
# than the negotiated maximum (the stream cannot be trusted past it: the daemon hangs up).
rl_mta d negotiate connect helo mail rcpt data headers*10005 eoh quit
expect_session "MTA sends 10,005 headers: the 10,001st gets the fallback (accept)" "negotiate O
connect c
helo c
mail c
rcpt c
data c
header#10001 a
eoh a
stopped"
tap_check "MTA sends 10,005 headers: a clear error is logged" \
  grep -q 'more than 10000 headers: answering accept' "$tmp/d.log"
settled "MTA sends 10,005 headers"
rl_mta d negotiate connect helo huge-macros
expect_session "MTA sends a 100 kB MACRO packet: the daemon hangs up" "negotiate O
connect c
helo c
huge-macros closed"
tap_check "MTA sends a 100 kB packet: the limit is logged" \
  grep -q 'packet of 100009 bytes exceeds the limit of 65536 bytes' "$tmp/d.log"
settled "MTA sends a 100 kB packet"

# ABORT and new transactions at odd times.
odd1="negotiate abort connect helo abort mail rcpt abort mail rcpt data header abort mail rcpt data header eoh body eom quit"
rl_mta d $odd1
expect_session "ABORT before CONNECT and in every stage: each command answered" "$(answers $odd1)"
settled "ABORT at odd times"
odd2="negotiate connect helo mail rcpt data header eoh body eom mail rcpt rcpt data header eoh body eom quit"
rl_mta d $odd2
expect_session "a second transaction without ABORT: each command answered" "$(answers $odd2)"
settled "a second transaction without ABORT"
odd3="negotiate connect helo mail rcpt abort! mail rcpt data eoh body eom quit"
rl_mta d $odd3
expect_session "ABORT sent with no wait, then a new transaction: each command answered" "$(answers $odd3)"
settled "pipelined ABORT"

tap_check "the daemon stops cleanly, without sanitizer reports or leaks" rl_stop d "$daemon_pid"
