#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-conditions-dnsbl.sh: "DNSBL Listed" and "Not DNSBL Listed" through the daemon, against
# a DNS responder on loopback (test/data/conditions/dns-responder.py): listed, not listed,
# unexpected answer, no answer (timeout), IPv6, and a pending lookup blocking no other session.
. "$top_srcdir/test/data/conditions/common.sh"
python=$(command -v python3) || tap_skip_all "python3 is not installed"

"$python" "$top_srcdir/test/data/conditions/dns-responder.py" "$tmp/dns.log" \
  2.2.0.192.bl.example=127.0.0.2 \
  4.2.0.192.strict.example=127.0.0.9 6.2.0.192.strict.example=127.0.0.2 \
  5.2.0.192.bl.example=silent 5.2.0.192.strict.example=silent \
  >"$tmp/dns.out" 2>&1 &
tap_at_exit "kill -9 $!"
wait_for 10 grep -q "listening on" "$tmp/dns.out" || tap_skip_all "the DNS responder did not start"
dns=$(sed -n 's/^listening on //p' "$tmp/dns.out")

start_client listed
start_client clean
start_client plain
explain_children="listed clean"
start_daemon mm <<CONF || exit 1
dnsbl.clear_services
dnsbl.add_service("bl.example")
dnsbl.add_service("strict.example", "127.0.0.2")
dnsbl.name_servers = ["$dns"]
dnsbl.timeout = 1
$(milter_block listed "DNSBL Listed")
$(milter_block clean "Not DNSBL Listed")
$(milter_block plain)
CONF

# listed_client ADDRESS: the session from ADDRESS goes to "listed" only
listed_client() {
  session mm --connect-address "inet:25@[$1]"
  status pass && applied listed && out_at_connect clean && applied plain
}
# clean_client ADDRESS: the session from ADDRESS goes to "clean" only
clean_client() {
  session mm --connect-address "inet:25@[$1]"
  status pass && out_at_connect listed && applied clean && applied plain
}

tap_plan 8

point "a client bl.example lists (any address) goes to DNSBL Listed, not to Not DNSBL Listed" \
  eval 'listed_client 192.0.2.2 &&
        logged "[applicable-condition][apply] <listed> allowed by <DNSBL Listed> at connect" &&
        logged "[applicable-condition][stop] <clean> stopped by <Not DNSBL Listed> at connect"'
point "both services were asked, once per session (d.c.b.a.service A)" \
  eval '[ "$(grep -c "^query 2.2.0.192.bl.example type 1$" "$tmp/dns.log")" = 1 ] &&
        [ "$(grep -c "^query 2.2.0.192.strict.example type 1$" "$tmp/dns.log")" = 1 ]'
point "a client no service lists (NXDOMAIN) goes to Not DNSBL Listed only" clean_client 192.0.2.3
point "an answer other than the expected one does not list (strict.example wants 127.0.0.2)" \
  clean_client 192.0.2.4
point "the expected answer lists (strict.example 127.0.0.2)" listed_client 192.0.2.6

start=$(date +%s%N)
session mm --connect-address "inet:25@[192.0.2.5]"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
point "no answer: after dnsbl.timeout (1 s) the client counts as not listed" \
  eval 'status pass && out_at_connect listed && applied clean && [ "$elapsed_ms" -ge 900 ]'

: >"$tmp/dns.log"
session mm --connect-address "inet6:25@[2001:db8::2]"
point "an IPv6 client is not looked up and is never listed" \
  eval 'status pass && out_at_connect listed && applied clean && [ ! -s "$tmp/dns.log" ]'

# A session waiting for its lookups must not hold the others up.
"$server" -s "unix:$tmp/mm.sock" --connect-address "inet:25@[192.0.2.5]" >"$tmp/slow.out" 2>&1 &
slow=$!
wait_for 5 grep -q "5.2.0.192" "$tmp/dns.log"
start=$(date +%s%N)
"$server" -s "unix:$tmp/mm.sock" --connect-address "inet6:25@[2001:db8::3]" >"$tmp/fast.out" 2>&1
fast_ms=$((($(date +%s%N) - start) / 1000000))
wait "$slow"; slow_rc=$?
point "a session waiting for DNSBL answers blocks no other session (the other took ${fast_ms} ms)" \
  eval '[ "$fast_ms" -lt 700 ] && [ "$slow_rc" = 0 ] && head -1 "$tmp/slow.out" | grep -q "status: pass"'
