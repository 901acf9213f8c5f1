#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-conditions-macros.sh: the conditions that never stop but set macros, through the
# daemon: "Trust" (trusted_domain=yes reaching milter-test-client and a libmilter child at
# RCPT, as milter-greylist's racl needs), "Sendmail Compatible", "Stress Notify"/"No Stress".
. "$top_srcdir/test/data/conditions/common.sh"
scripted="$top_builddir/test/peers/scripted-milter"

start_client trust
start_client compatible
start_client notify
start_client calm
# holder keeps one session in progress: it answers HELO late, for the "held.example" session
start_client holder --delay "helo=2000"
explain_children="trust compatible notify calm"
libmilter=""
if [ -x "$scripted" ]; then
  # libmilter cannot list the macros it got: --symlist at DATA names the one to record.
  "$scripted" -s "unix:$tmp/greylist.sock" --record "$tmp/greylist.rec" \
    --symlist "data={trusted_domain}" >/dev/null 2>"$tmp/greylist.err" &
  tap_at_exit "kill -9 $!"
  wait_for 10 test -S "$tmp/greylist.sock" && libmilter="$(milter_block greylist Trust)"
  explain_children="$explain_children greylist"
fi
start_daemon mm <<CONF || exit 1
trust.add_envelope_from_domain("example.net")
trust.add_envelope_from_domain(/\\.trusted\\.example\\z/)
stress.threshold_n_connections = 2
$(milter_block trust Trust)
$(milter_block compatible "Sendmail Compatible")
$(milter_block notify "Stress Notify")
$(milter_block calm "No Stress")
define_applicable_condition("Held") do |condition|
  condition.define_helo_stopper {|context, fqdn| fqdn != "held.example"}
end
$(milter_block holder Held)
$libmilter
CONF

tap_plan 9

session mm -f alice@gmail.com -r bob@example.org
point "Trust: a default trusted domain (gmail.com) gives trusted_domain=yes with MAIL" \
  eval 'status pass && macro trust mail "{trusted_domain}=yes" && macro trust rcpt "{trusted_domain}=yes" &&
        ! grep -q trusted_domain "$tmp/calm.rec"'
if [ -n "$libmilter" ]; then
  point "Trust: a libmilter child sees {trusted_domain} at RCPT (milter-greylist's sm_macro)" \
    grep -q "^rcpt .*macro {trusted_domain}=yes" "$tmp/greylist.rec"
else
  tap_skip "test/peers/scripted-milter is not built (libmilter-dev missing)"
fi
session mm -f carol@example.com
point "Trust: an untrusted domain gets no trusted_domain macro" \
  eval 'status pass && applied trust && ! grep -q trusted_domain "$tmp/trust.rec" &&
        ! grep -qs trusted_domain "$tmp/greylist.rec"'
session mm -f "dave@mx.trusted.example"
point "Trust: trust.add_envelope_from_domain(/regexp/) trusts mx.trusted.example" \
  macro trust mail "{trusted_domain}=yes"
session mm -f "erin@example.net"
point "Trust: trust.add_envelope_from_domain(\"example.net\")" macro trust mail "{trusted_domain}=yes"

session mm --connect-macro "v:Postfix 3.7.11" --envelope-from-macro "i:"
point "Sendmail Compatible: with Postfix and no queue id, i=dummy-id at MAIL" \
  eval 'status pass && applied compatible && macro compatible mail "i=dummy-id" &&
        ! grep -q "dummy-id" "$tmp/calm.rec"'
session mm --envelope-from-macro "i:"
point "Sendmail Compatible: not Postfix: no dummy queue id" \
  eval 'status pass && applied compatible && ! grep -q "dummy-id" "$tmp/compatible.rec"'

session mm
point "one session (below the threshold 2): no stress macro, No Stress applies" \
  eval 'status pass && applied notify && ! grep -q "stress=" "$tmp/notify.rec" && applied calm'
# A session held open at HELO makes the next one the second in progress.
"$server" -s "unix:$tmp/mm.sock" --helo-fqdn held.example >/dev/null 2>&1 &
held=$!
tap_at_exit "kill -9 $held"
wait_for 10 grep -q "held.example" "$tmp/holder.rec"
session mm
{ kill -9 "$held"; wait "$held"; } 2>/dev/null
point "two sessions: Stress Notify sets stress=yes, No Stress takes its child out" \
  eval 'status pass && applied notify && grep -q "^\[macro\] connect .*{stress}=yes" "$tmp/notify.rec" &&
        ! applied calm && logged "[applicable-condition][stop] <calm> stopped by <No Stress> at connect"'
