#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-conditions-s25r.sh: the shipped "S25R" condition through the daemon: host names that
# match and miss each of the six rules, no PTR record, the whitelist, the blacklist, IPv6.
. "$top_srcdir/test/data/conditions/common.sh"

start_client greylist
start_client plain
explain_children="greylist plain"
start_daemon mm <<CONF || exit 1
s25r.add_whitelist(".friendly.example")
s25r.add_blacklist("static.spammer.example")
$(milter_block greylist S25R)
$(milter_block plain)
CONF

# dynamic HOST [ADDRESS]: S25R applies greylist to a client named HOST
dynamic() {
  session mm --connect-host "$1" --connect-address "${2:-inet:25@[192.0.2.1]}"
  status pass && applied greylist && applied plain &&
    logged "[applicable-condition][apply] <greylist> allowed by <S25R> at connect"
}
# static HOST [ADDRESS]: S25R takes greylist out of the session, the other child goes on
static() {
  session mm --connect-host "$1" --connect-address "${2:-inet:25@[192.0.2.1]}"
  status pass && out_at_connect greylist && applied plain &&
    logged "[applicable-condition][stop] <greylist> stopped by <S25R> at connect"
}

tap_plan 19

point "rule 1 (digit, non-digits, digit in the first label) matches host1-2.example.com" \
  dynamic host1-2.example.com
point "rule 1 misses host1.example.com" static host1.example.com
point "rule 2 (five digits in the first label) matches abc12345.example.com" \
  dynamic abc12345.example.com
point "rule 2 misses abc1234.example.com" static abc1234.example.com
point "rule 3 (a label starting with a digit, four labels on) matches 1st.foo.example.com" \
  dynamic 1st.foo.example.com
point "rule 3 misses 1st.example.com" static 1st.example.com
point "rule 4 (digit. ... digit-digit) matches a1.b2-3.example.com" dynamic a1.b2-3.example.com
point "rule 4 misses a1.b-3.example.com" static a1.b-3.example.com
point "rule 5 (digit. ... digit. and three more labels) matches a1.b2.c.example.com" \
  dynamic a1.b2.c.example.com
point "rule 5 misses a1.b2.example.com" static a1.b2.example.com
point "rule 6 (dhcp/dialup/ppp/dsl with a digit) matches dhcp-host7.example.com" \
  dynamic dhcp-host7.example.com
point "rule 6 misses dhcp.example.com" static dhcp.example.com
point "no PTR record: [192.0.2.7] is dynamic" dynamic "[192.0.2.7]" "inet:25@[192.0.2.7]"
point "no PTR record: unknown is dynamic" dynamic unknown
point "a plain name (mail.example.com) is not dynamic" static mail.example.com
point "default whitelist: smtp-1-2.mail.google.com matches rule 1 but is whitelisted" \
  static smtp-1-2.mail.google.com
point "s25r.add_whitelist(\".friendly.example\"): p1-2.friendly.example is whitelisted" \
  static p1-2.friendly.example
point "s25r.add_blacklist: static.spammer.example is treated as dynamic" \
  dynamic static.spammer.example
point "an IPv6 client is never matched (only_check_ipv4), even with a dynamic name" \
  static host1-2.example.com "inet6:25@[2001:db8::7]"
