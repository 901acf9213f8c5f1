#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# make-captures.sh: regenerates test/data/captures/*.txt: real Postfix sessions with
# scripted-milter, relayed and logged packet by packet by test/lib/milter-capture.py.
# Usage (as root, after make check builds scripted-milter):
#   top_builddir=$PWD/_build bash test/peers/make-captures.sh [OUTPUT_DIR]
# ONLY=NAME (e.g. ONLY=postfix-eom-modifications) regenerates one file.
# TCP ports: 21090 (smtpd) and 21091 (smtp-sink).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/test/lib/tap.sh"
. "$top_srcdir/test/lib/postfix.sh"
. "$top_srcdir/test/peers/peers.sh"
# A test killed by a signal still stops its servers (the EXIT trap runs on exit).
trap 'exit 143' TERM INT

out=${1:-$top_srcdir/test/data/captures}
SMTP_CLIENT="/usr/bin/python3 $top_srcdir/test/lib/smtp-client.py"
CAPTURE="/usr/bin/python3 $top_srcdir/test/lib/milter-capture.py"

why=$(postfix_available) || { echo "$why" >&2; exit 1; }
why=$(peers_have_scripted_milter) || { echo "$why" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/make-captures.XXXXXX")
chmod 755 "$work"
tap_at_exit "rm -rf '$work'"
mkdir "$work/postfix"
tap_at_exit "postfix_stop '$work/postfix'"
postfix_start "$work/postfix" 21090 21091 "unix:$work/relay.sock" tempfail || exit 1
libmilter_version=$(dpkg-query -W -f '${Version}' libmilter1.0.1 2>/dev/null || echo unknown)

# capture NAME DESCRIPTION "MILTER OPTIONS" CLIENT OPTIONS...: one SMTP session, one file
capture() {
  local name=$1 description=$2 milter_options=$3
  shift 3
  local file=$out/$name.txt
  # ONLY=NAME regenerates one capture.
  [ -z "$ONLY" ] || [ "$ONLY" = "$name" ] || return 0
  rm -f "$file" "$work/milter.sock"
  eval "peers_start_scripted '$work/milter.sock' $milter_options" || return 1
  local milter=$peers_pid
  $CAPTURE --listen "$work/relay.sock" --connect "unix:$work/milter.sock" --output "$file" \
    --sessions 1 \
    --comment "$description" \
    --comment "MTA: Postfix $(postfix_version) (Debian 12, milter_protocol = 6) via test/lib/postfix.sh" \
    --comment "milter: test/peers/scripted-milter on libmilter $libmilter_version, options: $milter_options" \
    --comment "SMTP client: test/lib/smtp-client.py $*" \
    --comment "Regenerate: test/peers/make-captures.sh (see README.md). Format: '> HEX' MTA->milter," \
    --comment "'< HEX' milter->MTA, one whole packet (4-byte length included) per line." \
    >"$work/capture.log" 2>&1 &
  local relay=$!
  peers_wait_socket "$work/relay.sock" || { echo "relay did not start" >&2; return 1; }
  $SMTP_CLIENT --server 127.0.0.1:21090 "$@" >"$work/$name.smtp"
  sed 's/^/#   /' "$work/$name.smtp" >"$work/$name.smtp.comment"
  # The relay exits once Postfix closed the milter connection (end of the SMTP session).
  local n=0
  while kill -0 "$relay" 2>/dev/null && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  kill "$relay" 2>/dev/null; wait "$relay" 2>/dev/null
  peers_stop "$milter"
  { echo "# SMTP client output:"; cat "$work/$name.smtp.comment"; } >>"$file"
  echo "$name: $(grep -c '^[<>]' "$file") packets"
}

all_macros() {
  echo "--symlist 'connect=j _ {daemon_name} {daemon_addr} {client_addr} {client_port} {client_name}'" \
       "--symlist 'helo={tls_version} {cipher}' --symlist 'mail={mail_addr} {mail_host} {mail_mailer} {auth_type}'" \
       "--symlist 'rcpt={rcpt_addr} {rcpt_host} {rcpt_mailer}' --symlist 'data=i' --symlist 'eoh=i'" \
       "--symlist 'eom=i {msg_id}'"
}

capture postfix-accept-macros \
  "A plain accepted message; the negotiate reply carries macro request lists for every stage." \
  "$(all_macros)" --subject 'plain accepted message'

capture postfix-eom-modifications \
  "Every end-of-message modification libmilter can send, then continue." \
  "--add-header 'X-Added:added header' --insert-header '0:X-Inserted:inserted at top' \
   --change-header 'Subject:1:changed subject' --change-header 'X-Remove-Me:1:' \
   --replace-body 'Replaced body line 1\\nReplaced body line 2\\n' \
   --add-rcpt '<added@example.org>:NOTIFY=NEVER' --add-rcpt '<plain-added@example.org>' \
   --delete-rcpt '<recipient@example.org>' --change-from '<new-sender@example.org>:RET=HDRS' \
   --quarantine 'held by scripted-milter' --progress 2" \
  --subject 'modify me' --header 'X-Remove-Me: please'

capture postfix-reject-rcpt \
  "RCPT rejected by the milter with a reply code (SMFIR_REPLYCODE) for one recipient, continue for the other." \
  "--reject-rcpt bad@ --reply-code 'rcpt=550 5.7.1 go away'" \
  --rcpt bad@example.org --rcpt good@example.org --subject 'one rejected recipient'

capture postfix-two-transactions \
  "Two transactions on one connection with RSET between (Postfix sends ABORT), one SMTP session." \
  "" --messages 2 --rset --subject 'transaction'

capture postfix-unknown-command \
  "An SMTP command Postfix does not know (SMFIC_UNKNOWN), then a message." \
  "" --before 'XYZZY plugh' --subject 'after unknown command'

capture postfix-tempfail-mail \
  "MAIL tempfailed by the milter without a reply code (SMFIR_TEMPFAIL)." \
  "--action mail=tempfail" --subject 'tempfailed'

capture postfix-reject-rcpt-plain \
  "RCPT rejected by the milter without a reply code (SMFIR_REJECT)." \
  "--action rcpt=reject" --subject 'rejected'

capture postfix-accept-header \
  "ACCEPT at the first header: the milter sees nothing more of the message." \
  "--action header=accept" --subject 'accepted early'

capture postfix-discard-eom \
  "DISCARD at end of message." \
  "--action eom=discard" --subject 'discarded'

body=$work/large-message.txt
{ printf 'Subject: large body\r\nFrom: <sender@example.org>\r\n\r\n'
  for i in $(seq 1 2000); do printf 'line %04d of a body longer than one 65535-byte milter chunk.......\r\n' "$i"; done
} >"$body"
capture postfix-skip-body \
  "SKIP after the first body chunk of a body larger than one chunk; SMFIP_SKIP negotiated." \
  "--action body=skip" --message-file "$body"

capture postfix-negotiate-flags \
  "Protocol flags requested in the negotiate reply: no HELO, no reply to headers, leading space, rejected recipients." \
  "--no-stage helo --no-reply header --leading-space --rcpt-rejected --action rcpt=continue" \
  --subject 'negotiated flags'

# Captures of sessions Postfix complained about would be worthless as reference bytes.
if ! postfix_no_milter_warnings "$work/postfix"; then
  echo "Postfix logged milter problems during the captures (see above)" >&2
  exit 1
fi
echo "Postfix logged no milter problem."
