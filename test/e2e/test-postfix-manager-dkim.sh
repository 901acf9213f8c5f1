#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-postfix-manager-dkim.sh: OpenDKIM (a real, widely deployed libmilter milter) as a child
# of milter-manager behind a private Postfix: the delivered mail carries a DKIM signature
# that verifies against the test key.
# TCP ports: 31060-31069 (this test's share of the interop range 31000-31099).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/test/lib/postfix-manager.sh"

OPENDKIM=${OPENDKIM:-$(command -v opendkim || echo /usr/sbin/opendkim)}
OPENDKIM_GENKEY=${OPENDKIM_GENKEY:-$(command -v opendkim-genkey || echo /usr/sbin/opendkim-genkey)}
DOMAIN=example.org
SELECTOR=mmtest

postfix_manager_require
[ -x "$OPENDKIM" ] || tap_skip_all "opendkim is not installed (Debian package opendkim)"
[ -x "$OPENDKIM_GENKEY" ] || tap_skip_all "opendkim-genkey is not installed (Debian package opendkim-tools)"

tap_plan 9
work=$(mktemp -d "${TMPDIR:-/tmp}/test-postfix-manager-dkim.XXXXXX")
chmod 755 "$work"   # the postfix user must reach the instance and the daemon's socket
tap_at_exit "[ \$tap_failed = 0 ] && rm -rf '$work'"

# --- a test key, OpenDKIM signing for the test domain, a verifier reading the key from a file ---
mkdir "$work/keys"
"$OPENDKIM_GENKEY" -D "$work/keys" -d "$DOMAIN" -s "$SELECTOR" >"$work/genkey.log" 2>&1
# The DNS TXT record as one string, for OpenDKIM's TestPublicKeys file (no DNS in tests).
txt=$(grep -o '"[^"]*"' "$work/keys/$SELECTOR.txt" | tr -d '"\n')
printf '%s._domainkey.%s %s\n' "$SELECTOR" "$DOMAIN" "$txt" >"$work/keys/public"
cat >"$work/opendkim.conf" <<CONF
# Signs mail from $DOMAIN sent by loopback clients, verifies the rest.
Syslog no
Background no
Mode sv
Domain $DOMAIN
Selector $SELECTOR
KeyFile $work/keys/$SELECTOR.private
# The key lies under a world-writable /tmp, which OpenDKIM would otherwise refuse.
RequireSafeKeys false
InternalHosts 127.0.0.1
Canonicalization relaxed/simple
Socket local:$work/opendkim.sock
PidFile $work/opendkim.pid
UMask 007
CONF
cat >"$work/verify.conf" <<CONF
# Verification only, the public key from a file instead of DNS.
Syslog no
TestPublicKeys $work/keys/public
CONF
# dkim_verify FILE: OpenDKIM's own verifier on a delivered message; prints its verdict line
dkim_verify() {
  "$OPENDKIM" -x "$work/verify.conf" -t "$1" 2>&1 | grep 'verification'
}

peers_start "$work/opendkim.log" "$work/opendkim.sock" "$OPENDKIM" -f -x "$work/opendkim.conf"
tap_check "opendkim serves on a UNIX socket with a fresh test key" test -S "$work/opendkim.sock"
peers_start_scripted "$work/c-header.sock" --add-header 'X-Scripted:added by C'

manager_conf_init "$work/dkim/mm"
manager_define_milter "$work/dkim/mm" c-header "unix:$work/c-header.sock"
manager_define_milter "$work/dkim/mm" opendkim "unix:$work/opendkim.sock" fallback_status=temporary-failure
manager_pair_launch "$work/dkim" 31060 31061
manager_pairs_wait >"$work/pairs.start"
tap_check "milter-manager and a private Postfix started" test $? = 0
[ -s "$work/pairs.start" ] && tap_diag "$(cat "$work/pairs.start")"

# --- mail from the signing domain, submitted by a loopback (internal) client ---
$SMTP_CLIENT --server 127.0.0.1:31060 --from "sender@$DOMAIN" --rcpt "someone@example.net" \
  --subject 'signed by opendkim' --body 'Hello.\nSigned through milter-manager.' >"$work/dkim.smtp"
tap_check "the client sees the message queued" grep -q '^DOT 250 ' "$work/dkim.smtp"
file=$(postfix_wait_message "$work/dkim/pf" '^Subject: signed by opendkim')
tap_check "the delivered mail carries a DKIM-Signature for d=$DOMAIN s=$SELECTOR" \
  eval "grep -A3 '^DKIM-Signature:' '${file:-/dev/null}' | tr -d '\n\t ' |
        grep -q 'd=$DOMAIN;s=$SELECTOR;'"
tap_check "the other child's header arrives too" grep -q '^X-Scripted: added by C' "${file:-/dev/null}"
verdict=$(dkim_verify "${file:-/dev/null}")
tap_diag "$verdict"
tap_check "OpenDKIM verifies the delivered signature with the test key" \
  eval "printf '%s\n' '$verdict' | grep -q 'verification (s=$SELECTOR, d=$DOMAIN, [0-9]*-bit key) succeeded'"
# The verifier must be able to say no: a changed body breaks the signature.
sed 's/^Signed through milter-manager\./Changed after signing./' "${file:-/dev/null}" >"$work/tampered.eml"
verdict=$(dkim_verify "$work/tampered.eml")
tap_check "the same verifier rejects the delivered mail with its body changed" \
  eval "printf '%s\n' '$verdict' | grep -q 'failed'"
tap_check "Postfix logged no milter problem" postfix_no_milter_warnings "$work/dkim/pf"

manager_pairs_stop
tap_check "milter-manager exited 0 on SIGTERM with no sanitizer report" \
  manager_clean_exit "$work/dkim/mm"

[ "$tap_failed" = 0 ] || tap_diag "files kept for inspection in $work"
