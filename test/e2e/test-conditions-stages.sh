#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-conditions-stages.sh: what a stopper that returns true does at each stage, through the
# daemon (2.3's table: out for the session at CONNECT/HELO, out of the message at MAIL and
# later, one recipient hidden at RCPT), a stopped child's verdict not counted, a stopper that
# raises (logged, does not stop, the other conditions still run), and a slow stopper (warned).
. "$top_srcdir/test/data/conditions/common.sh"

stages="connect helo mail rcpt data header end-of-header body end-of-message"
for stage in $stages; do start_client "c-$stage"; done
start_client plain
start_client rejecter --action "end-of-message=reject"
start_client guarded
explain_children="plain"
start_daemon mm <<CONF || exit 1
load("$top_srcdir/test/data/conditions/stages.conf")
$(for stage in $stages; do milter_block "c-$stage" "Stop at $stage"; done)
$(milter_block plain)
$(milter_block guarded Raises "Remote Network" Slow)
CONF
start_daemon verdict <<CONF || exit 1
load("$top_srcdir/test/data/conditions/stages.conf")
$(milter_block rejecter "Stop at end-of-message")
CONF

# unaffected CHILD: every other child took the whole message
unaffected() {
  local stage
  for stage in $stages; do
    [ "c-$stage" = "$1" ] && continue
    applied "c-$stage" || { tap_diag "c-$stage did not see the message"; return 1; }
  done
  applied plain && status pass
}
# stop_logged CHILD STAGE: the debug log says which condition stopped CHILD
stop_logged() {
  logged "[applicable-condition][stop] <$1> stopped by <Stop at $2> at ${3:-$2}"
}

tap_plan 15

explain_children="c-connect plain"
session mm --connect-host stop-connect.example
point "connect: out for the session (no CONNECT, QUIT), the others go on" \
  eval 'out_at_connect c-connect && unaffected c-connect && stop_logged c-connect connect'

explain_children="c-helo plain"
session mm --helo-fqdn stop-helo.example --n-transactions 2
point "helo: out for the session: CONNECT but no HELO, no message in two transactions" \
  eval 'got c-helo connect && ! got c-helo helo && ! got c-helo mail && got c-helo quit &&
        [ "$(count plain end-of-message)" = 2 ] && stop_logged c-helo helo'

explain_children="c-mail plain"
session mm -f twice@example.com --n-transactions 2
point "mail: out of that message only: the first transaction without it, the second with it" \
  eval '[ "$(count c-mail mail)" = 1 ] && [ "$(count c-mail end-of-message)" = 1 ] &&
        [ "$(count plain end-of-message)" = 2 ] &&
        stop_logged c-mail mail envelope-from &&
        logged "[applicable-condition][apply] <c-mail> allowed by <Stop at mail> at envelope-from"'

explain_children="c-rcpt plain"
session mm -r a@example.org -r hidden@example.org -r b@example.org
point "rcpt: the one recipient is hidden from the child, which keeps the message" \
  eval '[ "$(count c-rcpt rcpt)" = 2 ] && ! grep -q "^\[rcpt\].*hidden" "$tmp/c-rcpt.rec" &&
        applied c-rcpt && [ "$(count plain rcpt)" = 3 ] && unaffected c-rcpt &&
        stop_logged c-rcpt rcpt envelope-recipient'

for case in "data:stop-data@example.com:data" "end-of-header:stop-eoh@example.com:end-of-header" \
            "end-of-message:stop-eom@example.com:end-of-message"; do
  stage=${case%%:*}; rest=${case#*:}; from=${rest%%:*}; seen=${rest#*:}
  explain_children="c-$stage plain"
  session mm -f "$from"
  point "$stage: out of the message (no $seen command, no end of message, ABORT), the others go on" \
    eval 'got c-$stage rcpt && ! got c-$stage $seen && ! got c-$stage end-of-message && got c-$stage abort &&
          unaffected c-$stage && stop_logged c-$stage $stage'
done

explain_children="c-header plain"
session mm -h "X-Stop:now"
point "header: out of the message at the X-Stop header (ABORT), the others go on" \
  eval '! grep -q "^\[header\] X-Stop" "$tmp/c-header.rec" && ! got c-header end-of-header &&
        ! got c-header end-of-message && got c-header abort && unaffected c-header && stop_logged c-header header'

explain_children="c-body plain"
session mm -b "first chunk" -b "STOP-BODY here"
point "body: out of the message at the marked chunk (ABORT), the others go on" \
  eval '! grep -q "^\[body\] STOP-BODY" "$tmp/c-body.rec" && ! got c-body end-of-message && got c-body abort &&
        unaffected c-body && stop_logged c-body body'

explain_children="rejecter"
session verdict -f stop-eom@example.com
point "a child stopped at end of message: its reject does not count (accept, as 2.3 compiles it)" \
  eval 'status accept && got rejecter body && ! got rejecter end-of-message'
session verdict -f other@example.com
point "the same child not stopped: its reject is the answer" status reject

explain_children="guarded plain"
session mm --connect-host raise.example --connect-address "inet:25@[198.51.100.1]"
raise_line=$(grep -n "raise ArgumentError" "$top_srcdir/test/data/conditions/stages.conf" | cut -d: -f1)
point "a raising stopper is logged with condition, stage, milter, file:line and message" \
  logged "[error] [applicable-condition][error] <Raises> connect stopper of <guarded> raised at $top_srcdir/test/data/conditions/stages.conf:$raise_line: boom from raise.example (ArgumentError); the milter applies"
point "a raising stopper does not stop: the child applies when its other conditions allow" \
  eval 'status pass && applied guarded &&
        logged "[applicable-condition][apply] <guarded> allowed by <Remote Network> at connect"'
session mm --connect-host raise.example --connect-address "inet:25@[10.0.0.1]"
point "after a raising stopper the other conditions still run: Remote Network stops it" \
  eval 'status pass && out_at_connect guarded &&
        logged "[applicable-condition][stop] <guarded> stopped by <Remote Network> at connect"'

session mm --connect-host slow.example --connect-address "inet:25@[198.51.100.1]"
point "a slow stopper (1.3 s) is warned about, and the session completes with the child" \
  eval 'status pass && applied guarded &&
        grep -q "\[warning\] \[applicable-condition\]\[slow\] <Slow> connect stopper (.*stages.conf:[0-9]*) of <guarded> took 1\.[0-9]*s" "$tmp/session.log"'
