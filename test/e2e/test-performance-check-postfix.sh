#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-performance-check-postfix.sh: milter-performance-check measuring a whole MTA plus milters:
# a private Postfix on loopback with smtpd_milters pointing at milter-manager and one child.
. "$top_srcdir/test/lib/tap.sh"
. "$top_srcdir/test/lib/postfix.sh"

check="$top_builddir/src/milter-performance-check"
mm="$top_builddir/src/milter-manager"
client="$top_builddir/src/milter-test-client"
for program in "$check" "$mm" "$client"; do
  [ -x "$program" ] || tap_skip_all "$program is not built"
done
reason=$(postfix_available) || tap_skip_all "$reason"

# Ports of this test's range (35000-35009).
smtp_port=35001
sink_port=35002

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-performance-check-postfix.XXXXXX")
chmod 0755 "$tmp"
tap_at_exit "rm -rf '$tmp'"
tap_plan 6

# One child adding a header, behind milter-manager, behind Postfix.
"$client" -q -s "unix:$tmp/child.sock" --add-header "X-Measured:yes" 2>"$tmp/child.err" &
child_pid=$!
tap_at_exit "kill $child_pid"
wait_for 10 grep -q "listening on" "$tmp/child.err"
cat >"$tmp/milter-manager.conf" <<EOF
define_milter("measured") do |milter|
  milter.connection_spec = "unix:$tmp/child.sock"
end
EOF
chmod 0644 "$tmp/milter-manager.conf"
# Root keeps root here so that it reaches the child's socket; Postfix reaches ours by mode.
"$mm" -c "$tmp" -u root -s "unix:$tmp/mm.sock" --unix-socket-mode=0666 --no-daemon \
  --pid-file="$tmp/mm.pid" --log-path="$tmp/mm.log" --log-level=default >/dev/null 2>&1 &
mm_pid=$!
tap_at_exit "kill $mm_pid"
wait_for 10 test -S "$tmp/mm.sock"

mkdir -p "$tmp/postfix"
if ! postfix_start "$tmp/postfix" $smtp_port $sink_port "unix:$tmp/mm.sock" tempfail \
    2>"$tmp/postfix.err"; then
  tap_diag "$(cat "$tmp/postfix.err")"
  tap_skip_all "the private Postfix did not start"
fi
tap_at_exit "postfix_stop '$tmp/postfix'"

"$check" --smtp-server=127.0.0.1 --smtp-port=$smtp_port --n-mails=40 \
  --n-concurrent-connections=4 --from=sender@example.org --recipient=rcpt@example.net \
  >"$tmp/out" 2>&1
tap_check "milter-performance-check exits 0" test $? -eq 0
tap_diag "$(tail -n 6 "$tmp/out")"
tap_check "40 sessions finished, all delivered to Postfix" \
  grep -q "^Finished sessions: 40 (delivered: 40, failed: 0)" "$tmp/out"
tap_check "reports sessions per second and p50/p90/p99 latency" \
  eval 'grep -Eq "^Sessions per second: [0-9]+\.[0-9]+" "$tmp/out" &&
        grep -Eq "p50 [0-9.]+  p90 [0-9.]+  p99 [0-9.]+" "$tmp/out"'
tap_check "Postfix delivered the 40 mails to its sink" postfix_wait_sink "$tmp/postfix" 40
tap_check "every delivered mail carries the child's header (through milter-manager)" \
  test "$(grep -l '^X-Measured: yes' "$tmp"/postfix/sink/msg.* 2>/dev/null | wc -l)" -eq 40
tap_check "Postfix logged no milter error" postfix_no_milter_warnings "$tmp/postfix"
