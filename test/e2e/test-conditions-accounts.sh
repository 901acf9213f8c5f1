#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-conditions-accounts.sh: restrict_accounts_by_list, restrict_accounts_generic and
# define_policy through the daemon, with recipients inside and outside the lists.
. "$top_srcdir/test/data/conditions/common.sh"

start_client restricted
start_client staff
start_client archiver
start_client plain
explain_children="restricted staff archiver plain"
start_daemon mm <<CONF || exit 1
$(milter_block restricted)
$(milter_block staff)
$(milter_block archiver)
$(milter_block plain)
restrict_accounts_by_list("alice@example.com", /@example\\.org\\z/, milters: ["restricted"])
restrict_accounts_generic(condition_name: "Staff", milters: ["staff"]) do |context, recipient|
  recipient.end_with?("@staff.example>")
end
define_policy("archive internal mail") do |policy|
  policy.milters = ["archiver"]
  policy.address = IPAddr.new("192.0.2.0/24")
  policy.from = /@example\\.com>\\z/
  policy.recipient = /\\A<boss@/
end
CONF

tap_plan 10

session mm -r alice@example.com -r bob@example.org
point "restrict_accounts_by_list: every recipient in the list (string, regexp): the child applies" \
  eval 'status pass && applied restricted && [ "$(count restricted rcpt)" = 2 ]'
session mm -r ALICE@Example.COM
point "restrict_accounts_by_list: strings compare case-insensitively" applied restricted
session mm -r alice@example.com -r mallory@example.net
point "restrict_accounts_by_list: one recipient outside: hidden from the child, stopped at DATA" \
  eval 'status pass && ! grep -q "^\[rcpt\].*mallory" "$tmp/restricted.rec" &&
        got restricted rcpt && ! got restricted data && ! got restricted end-of-message &&
        applied plain && [ "$(count plain rcpt)" = 2 ]'
session mm -r mallory@example.net
point "restrict_accounts_by_list: no recipient inside: out of the message" \
  eval 'status pass && ! got restricted rcpt && ! got restricted end-of-message && applied plain'

session mm -r a@staff.example -r b@staff.example
point "restrict_accounts_generic: recipients the block accepts: the child applies" \
  eval 'applied staff && logged "allowed by <Staff>"'
session mm -r a@staff.example -r c@example.net
point "restrict_accounts_generic: a recipient the block refuses: out of the message" \
  eval '! applied staff && logged "[applicable-condition][stop] <staff> stopped by <Staff>"'

session mm --connect-address "inet:25@[192.0.2.10]" -f carol@example.com -r boss@example.org
point "policy: address, sender and recipient all match: the targeted child applies" \
  eval 'status pass && applied archiver && applied plain'
session mm --connect-address "inet:25@[198.51.100.10]" -f carol@example.com -r boss@example.org
point "policy: the address does not match: the targeted child is out at CONNECT" \
  eval 'status pass && out_at_connect archiver && applied plain &&
        logged "[applicable-condition][stop] <archiver> stopped by <Policy> at connect"'
session mm --connect-address "inet:25@[192.0.2.10]" -f carol@example.net -r boss@example.org
point "policy: the sender does not match: out of the message, other milters unaffected" \
  eval 'status pass && got archiver helo && ! got archiver mail && ! applied archiver &&
        applied plain && applied restricted'
session mm --connect-address "inet:25@[192.0.2.10]" -f carol@example.com \
  -r boss@example.org -r clerk@example.org
point "policy: a recipient that does not match is hidden from the targeted child" \
  eval 'status pass && applied archiver && [ "$(count archiver rcpt)" = 1 ] &&
        ! grep -q "^\[rcpt\].*clerk" "$tmp/archiver.rec" && [ "$(count plain rcpt)" = 2 ]'
