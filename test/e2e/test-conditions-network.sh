#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-conditions-network.sh: "Remote Network" (IPv4, IPv6, UNIX, the local/remote overrides),
# "Authenticated"/"Unauthenticated" with and without the auth macros, and several conditions
# on one child, which all have to allow it, through the daemon.
. "$top_srcdir/test/data/conditions/common.sh"

start_client remote
start_client authenticated
start_client unauthenticated
start_client both
explain_children="remote authenticated unauthenticated both"
start_daemon mm <<CONF || exit 1
remote_network.add_local_address("192.0.2.0/24")
remote_network.add_remote_address("10.9.0.0/16")
$(milter_block remote "Remote Network")
$(milter_block authenticated Authenticated)
$(milter_block unauthenticated Unauthenticated)
$(milter_block both "Remote Network" S25R)
CONF

# remote ADDRESS: Remote Network applies the child to a client at ADDRESS
remote() {
  session mm --connect-host mail.example.com --connect-address "$1"
  status pass && applied remote &&
    logged "[applicable-condition][apply] <remote> allowed by <Remote Network> at connect"
}
# local ADDRESS: Remote Network takes the child out of the session
local_() {
  session mm --connect-host mail.example.com --connect-address "$1"
  status pass && out_at_connect remote && applied unauthenticated &&
    logged "[applicable-condition][stop] <remote> stopped by <Remote Network> at connect"
}

tap_plan 17

point "IPv4 198.51.100.1 is remote" remote "inet:25@[198.51.100.1]"
point "IPv4 127.0.0.1 (loopback) is local" local_ "inet:25@[127.0.0.1]"
point "IPv4 10.1.2.3 (RFC 1918) is local" local_ "inet:25@[10.1.2.3]"
point "IPv4 172.16.5.5 (RFC 1918) is local" local_ "inet:25@[172.16.5.5]"
point "IPv4 192.168.1.1 (RFC 1918) is local" local_ "inet:25@[192.168.1.1]"
point "IPv6 2001:db8::1 is remote" remote "inet6:25@[2001:db8::1]"
point "IPv6 ::1 (loopback) is local" local_ "inet6:25@[::1]"
point "IPv6 fe80::1 (link-local) is local" local_ "inet6:25@[fe80::1]"
point "a UNIX client is local" local_ "unix:/run/some-client.sock"
point "add_local_address(\"192.0.2.0/24\"): 192.0.2.9 is local" local_ "inet:25@[192.0.2.9]"
point "add_remote_address(\"10.9.0.0/16\") wins over RFC 1918: 10.9.1.1 is remote" \
  remote "inet:25@[10.9.1.1]"

session mm --connect-host mail.example.com --connect-address "inet:25@[198.51.100.1]"
point "no auth macros: Unauthenticated applies, Authenticated is out of the message" \
  eval 'status pass && applied unauthenticated && got authenticated helo &&
        ! got authenticated mail && ! got authenticated end-of-message &&
        logged "[applicable-condition][stop] <authenticated> stopped by <Authenticated> at envelope-from" &&
        logged "[applicable-condition][apply] <unauthenticated> allowed by <Unauthenticated> at envelope-from"'
session mm --connect-host mail.example.com --connect-address "inet:25@[198.51.100.1]" \
  --authenticated-name alice --authenticated-type PLAIN
point "auth_authen and auth_type: Authenticated applies, Unauthenticated is out of the message" \
  eval 'status pass && applied authenticated && got unauthenticated helo &&
        ! got unauthenticated mail && ! got unauthenticated end-of-message &&
        logged "[applicable-condition][stop] <unauthenticated> stopped by <Unauthenticated> at envelope-from"'
session mm --connect-host mail.example.com --connect-address "inet:25@[198.51.100.1]" \
  --envelope-from-macro "{auth_type}:CRAM-MD5"
point "auth_type alone counts as authenticated" \
  eval 'status pass && applied authenticated && ! got unauthenticated end-of-message'

# both: Remote Network and S25R
session mm --connect-host host1-2.example.com --connect-address "inet:25@[198.51.100.1]"
point "two conditions: remote and dynamic, both allow: the child applies" \
  eval 'status pass && applied both &&
        logged "[applicable-condition][apply] <both> allowed by <Remote Network> at connect" &&
        logged "[applicable-condition][apply] <both> allowed by <S25R> at connect"'
session mm --connect-host host1-2.example.com --connect-address "inet:25@[10.1.2.3]"
point "two conditions: dynamic but local: Remote Network alone stops it" \
  eval 'status pass && out_at_connect both &&
        logged "[applicable-condition][stop] <both> stopped by <Remote Network> at connect"'
session mm --connect-host mail.example.com --connect-address "inet:25@[198.51.100.1]"
point "two conditions: remote but static: S25R alone stops it" \
  eval 'status pass && out_at_connect both &&
        logged "[applicable-condition][stop] <both> stopped by <S25R> at connect"'
