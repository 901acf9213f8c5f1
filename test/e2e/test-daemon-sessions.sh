#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-daemon-sessions.sh: the daemon with MTA connections in progress: manager.max_connections
# pauses and resumes accepting, SIGTERM waits for sessions in progress, a second one does not.
. "$top_srcdir/test/lib/tap.sh"

mm="$top_builddir/src/milter-manager"
data="$top_srcdir/test/data/daemon"
[ -x "$mm" ] || tap_skip_all "src/milter-manager is not built"

# Ports of this test's range (23000-23099).
port=23021
port_twice=23022

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-daemon-sessions.XXXXXX")
tap_at_exit "rm -rf '$tmp'"
chmod 0755 "$tmp"
cp "$data/max-connections.conf" "$tmp/milter-manager.conf"
chmod a+r "$tmp/milter-manager.conf"
if [ "$(id -u)" = 0 ]; then self_user=root; else self_user=$(id -un); fi

count_lines() { grep -c -- "$2" "$1" 2>/dev/null; }
connect_probe() { (exec 9<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

tap_plan 8

log="$tmp/daemon.log"
"$mm" -c "$tmp" -u "$self_user" --log-level=all -s "inet:$port@127.0.0.1" --log-path="$log" \
  >/dev/null 2>&1 &
pid=$!
tap_at_exit "kill -9 $pid"
wait_for 20 has_line "$log" "started: listening"

# manager.max_connections = 1: the first session pauses accepting.
exec 3<>"/dev/tcp/127.0.0.1/$port"
tap_check "max_connections: accepting pauses at the limit" \
  wait_for 10 has_line "$log" "paused accepting"
exec 4<>"/dev/tcp/127.0.0.1/$port" # waits in the backlog
exec 3>&-
tap_check "max_connections: accepting resumes when a session ends" \
  wait_for 10 has_line "$log" "accepting again"
# The second connection is accepted now and pauses accepting again.
tap_check "max_connections: the waiting connection is accepted" \
  wait_for 10 test "$(count_lines "$log" "paused accepting")" -ge 2

kill -TERM "$pid"
tap_check "SIGTERM: logs the session in progress" \
  wait_for 10 has_line "$log" "no longer accepting; 1 sessions in progress"
sleep 1
tap_check "SIGTERM: keeps running while a session is in progress" alive "$pid"
tap_check "SIGTERM: no new connections" test -n "$(connect_probe "$port" || echo refused)"
exec 4>&-
wait_for 10 dead "$pid"
wait "$pid"; status=$?
tap_check "SIGTERM: exits 0 once the session ended" test "$status" = 0

# A second SIGTERM does not wait.
log2="$tmp/twice.log"
"$mm" -c "$tmp" -u "$self_user" --log-level=all -s "inet:$port_twice@127.0.0.1" \
  --log-path="$log2" >/dev/null 2>&1 &
pid2=$!
tap_at_exit "kill -9 $pid2"
wait_for 20 has_line "$log2" "started: listening"
exec 5<>"/dev/tcp/127.0.0.1/$port_twice"
wait_for 10 has_line "$log2" "paused accepting"
kill -TERM "$pid2"
wait_for 10 has_line "$log2" "no longer accepting"
kill -TERM "$pid2"
tap_check "second SIGTERM: stops at once with a session in progress" wait_for 10 dead "$pid2"
exec 5>&-
