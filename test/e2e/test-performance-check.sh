#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-performance-check.sh: milter-performance-check against Postfix's smtp-sink on loopback:
# delivered counts, latency report, mail files, flood, pacing, progress and failures.
. "$top_srcdir/test/lib/tap.sh"

check="$top_builddir/src/milter-performance-check"
data="$top_srcdir/test/data/performance-check"
sink=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
[ -x "$check" ] || tap_skip_all "src/milter-performance-check is not built"
[ -x "$sink" ] || tap_skip_all "Postfix's smtp-sink is not installed"

# Ports of this test's range (26000-26099).
port=26011
port_rejecting=26012
port_closed=26013

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-performance-check.XXXXXX")
tap_at_exit "rm -rf '$tmp'"
sink_user=()
[ "$(id -u)" = 0 ] && sink_user=(-u nobody)

# start_sink PORT OUTPUT ARGS...: smtp-sink counting sessions and mails (-c) into OUTPUT
start_sink() {
  local p=$1 output=$2; shift 2
  "$sink" "${sink_user[@]}" -c "$@" "127.0.0.1:$p" 100 >"$output" 2>&1 &
  local pid=$!
  tap_at_exit "kill $pid"
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# received OUTPUT: how many mails the sink took (its last "mesg=N")
received() { grep -o 'mesg=[0-9]*' "$1" | tail -1 | cut -d= -f2; }
# field NAME: the line of the last report starting with NAME
field() { grep "^$1" "$tmp/out" | tail -1; }

tap_plan 14

start_sink $port "$tmp/sink.out" || tap_skip_all "smtp-sink did not start on port $port"
start_sink $port_rejecting "$tmp/rejecting.out" -f RCPT || tap_skip_all "smtp-sink did not start"

# 1. 50 generated mails to two recipients over 5 connections.
before=$(received "$tmp/sink.out"); before=${before:-0}
"$check" --smtp-server=127.0.0.1 --smtp-port=$port --n-mails=50 --n-concurrent-connections=5 \
  --recipient=a@example.net --recipient=b@example.net >"$tmp/out" 2>&1
tap_check "exits 0" test $? -eq 0
tap_check "50 sessions, all delivered" \
  eval '[ "$(field "Finished sessions")" = "Finished sessions: 50 (delivered: 50, failed: 0)" ]'
sleep 0.2
after=$(received "$tmp/sink.out")
tap_check "smtp-sink received 50 mails" test "$((after - before))" -eq 50
tap_check "reports a positive session rate" \
  eval 'field "Sessions per second" | grep -Eq ": [0-9]+\.[0-9]+$" && ! field "Sessions per second" | grep -q ": 0.00$"'
tap_check "reports p50, p90 and p99 latency" \
  eval 'field "Latency" | grep -Eq "p50 [0-9.]+  p90 [0-9.]+  p99 [0-9.]+"'

# 2. Mail files from a directory, each sent --n-mails times.
"$check" --smtp-server=127.0.0.1 --smtp-port=$port --n-mails=3 "$data" >"$tmp/out" 2>&1
tap_check "two mail files three times: 6 deliveries" \
  eval '[ "$(field "Finished sessions")" = "Finished sessions: 6 (delivered: 6, failed: 0)" ]'

# 3. Flooding for one second stops by itself.
SECONDS=0
"$check" --smtp-server=127.0.0.1 --smtp-port=$port --flood=1 --n-concurrent-connections=3 \
  >"$tmp/out" 2>&1
took=$SECONDS
tap_check "--flood=1 sends for about a second" \
  eval '[ $took -le 4 ] && field "Finished sessions" | grep -Eq "delivered: [1-9][0-9]*, failed: 0"'

# 4. Pacing: 5 mails at 0.2 s intervals take at least 0.8 s; progress is reported.
"$check" --smtp-server=127.0.0.1 --smtp-port=$port --n-mails=5 --interval=0.2 \
  --report-periodically=0.25 >"$tmp/out" 2>&1
tap_check "--interval paces the sessions" \
  eval 'awk "/^Elapsed time/ { exit !(\$3 >= 0.8) }" "$tmp/out"'
tap_check "--report-periodically prints progress lines" \
  eval '[ "$(grep -c "finished: .* rate: " "$tmp/out")" -ge 2 ]'
"$check" --smtp-server=127.0.0.1 --smtp-port=$port --n-mails=4 --period=0.6 >"$tmp/out" 2>&1
tap_check "--period spreads the mails over the period" \
  eval 'awk "/^Elapsed time/ { exit !(\$3 >= 0.4) }" "$tmp/out"'

# 5. Failures are counted and, on request, listed; the exit status stays 0.
"$check" --smtp-server=127.0.0.1 --smtp-port=$port_rejecting --n-mails=4 \
  --report-failure-responses >"$tmp/out" 2>&1
rc=$?
tap_check "a rejecting server: 4 failures, exit 0" \
  eval '[ $rc -eq 0 ] && [ "$(field "Finished sessions")" = "Finished sessions: 4 (delivered: 0, failed: 4)" ]'
tap_check "the failure names the stage and the response" grep -q "RCPT: 5[0-9][0-9]" "$tmp/out"
"$check" --smtp-server=127.0.0.1 --smtp-port=$port_closed --n-mails=2 --report-failure-responses \
  >"$tmp/out" 2>&1
tap_check "a closed port: connection failures reported" \
  eval 'grep -q "failed: 2" "$tmp/out" && grep -q "connect: .*refused" "$tmp/out"'

# 6. Bad options are refused.
"$check" --period=soon >"$tmp/out" 2>&1
rc=$?
tap_check "a bad duration is an error naming it" eval '[ $rc -eq 1 ] && grep -q "soon" "$tmp/out"'

# The same run against a real Postfix waits for test/lib/postfix.sh (another engineer's
# helper); smtp-sink is Postfix's own SMTP test server and needs no configuration.
