#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-postfix-peers.sh: proves the Postfix harness and the peers by pointing a private Postfix
# straight at scripted-milter and python3-milter milters (no milter-manager in between).
# TCP ports: 21000-21019 (this test's share of the peers range).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/test/lib/tap.sh"
. "$top_srcdir/test/lib/postfix.sh"
. "$top_srcdir/test/peers/peers.sh"
# A test killed by a signal still stops its servers (the EXIT trap runs on exit).
trap 'exit 143' TERM INT

SMTP_CLIENT="/usr/bin/python3 $top_srcdir/test/lib/smtp-client.py"

why=$(postfix_available) || tap_skip_all "$why"
why=$(peers_have_scripted_milter) || tap_skip_all "$why"
python_why=$(peers_have_python_milter) && python_why=""

tap_plan 15
work=$(mktemp -d "${TMPDIR:-/tmp}/test-postfix-peers.XXXXXX")
chmod 755 "$work"   # the postfix user must reach the instances and milter sockets
tap_at_exit "[ \$tap_failed = 0 ] && rm -rf '$work'"

# One private Postfix per case, all started at once: this also proves parallel instances.
instances=""
starters=""
# instance_start NAME SMTP_PORT SINK_PORT MILTERS ACTION: start in the background
instance_start() {
  mkdir -p "$work/$1"
  instances="$instances $1"
  postfix_start "$work/$1" "$2" "$3" "$4" "$5" >"$work/$1.start" 2>&1 &
  starters="$starters $!"
}
# instances_stop: stop every instance at once (each "postfix stop" takes a second or two)
instances_stop() {
  local name pids=""
  for name in $instances; do postfix_stop "$work/$name" & pids="$pids $!"; done
  for name in $pids; do wait "$name"; done
}
tap_at_exit instances_stop

# --- peers ---
peers_start_scripted "$work/c-header.sock" --add-header 'X-Scripted:added by C' \
  --symlist 'connect={daemon_name} j' --record "$work/c-header.record"
peers_start_scripted "$work/c-reject.sock" --action rcpt=reject --reply-code 'rcpt=550 5.7.1 go away'
peers_start_scripted "$work/c-both.sock" --add-header 'X-Scripted-Both:yes'
if [ -z "$python_why" ]; then
  peers_start_python replace-body-milter "$work/py-body.sock" --body 'Body from python.\nSecond line.'
  peers_start_python replace-body-milter "$work/py-both.sock" --body 'Replaced in the pair.'
  peers_start_python add-header-milter "$work/py-header.sock" --name X-Python-Both --value yes
fi

instance_start header 21000 21001 "unix:$work/c-header.sock" tempfail
instance_start reject 21002 21003 "unix:$work/c-reject.sock" tempfail
instance_start dead 21004 21005 "unix:$work/no-such.sock" accept
if [ -z "$python_why" ]; then
  instance_start body 21006 21007 "unix:$work/py-body.sock" tempfail
  instance_start both 21008 21009 "unix:$work/c-both.sock unix:$work/py-both.sock unix:$work/py-header.sock" tempfail
fi
started=0
for job in $starters; do wait "$job" && started=$((started + 1)); done
tap_check "all private Postfix instances started at once ($started)" \
  test "$started" -eq "$([ -z "$python_why" ] && echo 5 || echo 3)"
for f in "$work"/*.start; do [ -s "$f" ] && tap_diag "$(cat "$f")"; done

# --- a header added by the C milter arrives ---
$SMTP_CLIENT --server 127.0.0.1:21000 --subject 'c header' >"$work/header.smtp"
tap_check "SMTP client sees the message queued" grep -q '^DOT 250 ' "$work/header.smtp"
file=$(postfix_wait_message "$work/header" '^Subject: c header')
tap_check "message delivered to the sink" test -n "$file"
tap_check "header added by scripted-milter arrives" grep -q '^X-Scripted: added by C' "$file"
tap_check "scripted-milter recorded connect with the requested macro" \
  grep -q '^connect host=.* family=inet addr=127.0.0.1 .*macro {daemon_name}=mm-test.localdomain' \
  "$work/c-header.record"
tap_check "Postfix logged no milter problem" postfix_no_milter_warnings "$work/header"

# --- a rejection at RCPT reaches the SMTP client ---
$SMTP_CLIENT --server 127.0.0.1:21002 >"$work/reject.smtp"
tap_check "RCPT rejected with the milter's reply: 550 5.7.1 go away" \
  grep -qx 'RCPT 550 5.7.1 go away' "$work/reject.smtp"
tap_diag "$(cat "$work/reject.smtp")"

# --- a milter socket that does not exist, milter_default_action = accept ---
$SMTP_CLIENT --server 127.0.0.1:21004 --subject 'dead milter' >"$work/dead.smtp"
tap_check "dead milter with default_action=accept delivers" \
  test -n "$(postfix_wait_message "$work/dead" '^Subject: dead milter')"
tap_check "Postfix logged the dead milter's connect failure" \
  grep -q "warning: connect to Milter service unix:$work/no-such.sock" "$work/dead/maillog"

# --- python milters ---
if [ -n "$python_why" ]; then
  for i in 1 2 3 4 5; do tap_skip "$python_why"; done
else
  $SMTP_CLIENT --server 127.0.0.1:21006 --subject 'py body' >"$work/body.smtp"
  file=$(postfix_wait_message "$work/body" '^Subject: py body')
  tap_check "body replaced by the python milter arrives" grep -q '^Body from python\.$' "$file"
  tap_check "original body is gone" eval "[ -s '$file' ] && ! grep -q 'This is a test' '$file'"
  $SMTP_CLIENT --server 127.0.0.1:21008 --subject 'two milters' >"$work/both.smtp"
  file=$(postfix_wait_message "$work/both" '^Subject: two milters')
  tap_check "three milters in smtpd_milters: C header arrives" grep -q '^X-Scripted-Both: yes' "$file"
  tap_check "three milters in smtpd_milters: python header and body arrive" \
    eval "grep -q '^X-Python-Both: yes' '$file' && grep -q '^Replaced in the pair\.' '$file'"
  tap_check "Postfix logged no milter problem with three milters" \
    postfix_no_milter_warnings "$work/both"
fi

# --- clean exit on SIGTERM ---
peers_start_scripted "$work/c-term.sock"
peers_stop "$peers_pid"
tap_check "scripted-milter exits 0 on SIGTERM" test "$peers_status" = 0

[ "$tap_failed" = 0 ] || tap_diag "files kept for inspection in $work"
