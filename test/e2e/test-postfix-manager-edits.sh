#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-postfix-manager-edits.sh: a private Postfix -> milter-manager -> libmilter and
# python3-milter children: header and body edits, added recipients, quarantine, a large body,
# several messages on one connection, all checked on the delivered mail.
# TCP ports: 31000-31029 (this test's share of the interop range 31000-31099).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/test/lib/postfix-manager.sh"

# The large message: bigger than 1 MB and than the daemon's in-memory body limit set below.
BIG_LINES=20000          # 76 characters each: 1.56 MB
BODY_MEMORY_LIMIT=262144
# Postfix's own load generator: messages over parallel SMTP sessions.
LOAD_MESSAGES=40
LOAD_SESSIONS=5

postfix_manager_require python

tap_plan 33
work=$(mktemp -d "${TMPDIR:-/tmp}/test-postfix-manager-edits.XXXXXX")
chmod 755 "$work"   # the postfix user must reach the instances and the daemon's socket
tap_at_exit "[ \$tap_failed = 0 ] && rm -rf '$work'"

# body_of FILE: the message body of a delivered file (after the first empty line), LF ends
body_of() { awk 'body { print; next } /^\r?$/ { body = 1 }' "$1" | tr -d '\r'; }
# sink_body FILE: body_of a file smtp-sink wrote, without the empty line the sink appends to
# every message (it does so with no milter at all)
sink_body() { body_of "$1" | sed '${/^$/d}'; }
# sink_empty DIR: no message reached DIR's sink and the maillog shows no delivery
sink_empty() {
  [ -z "$(find "$1/pf/sink" -type f -name 'msg.*' 2>/dev/null)" ] &&
    ! grep -q ' status=sent ' "$1/pf/maillog" 2>/dev/null
}

# --- peers ---
peers_start_scripted "$work/c-header.sock" --add-header 'X-Scripted:added by C'
peers_start_python replace-body-milter "$work/py-body.sock" --body 'Body from python.\nSecond line.'
peers_start_scripted "$work/c-first.sock" --add-header 'X-First:one'
peers_start_python add-header-milter "$work/py-second.sock" --name X-Second --value two
peers_start_scripted "$work/c-subject.sock" --change-header 'Subject:1:Changed by milter'
peers_start_scripted "$work/c-delete.sock" --change-header 'X-Delete-Me:1:'
peers_start_scripted "$work/c-envelope.sock" --add-rcpt 'added@example.org' \
  --delete-rcpt '<removed@example.org>' --change-from 'changed@example.org'
peers_start_scripted "$work/c-quarantine.sock" --quarantine 'held by the test'
peers_start_scripted "$work/c-pass.sock" --record "$work/c-pass.record"
peers_start_scripted "$work/c-count.sock" --add-header 'X-Counted:yes' --record "$work/c-count.record"

# --- one milter-manager and one Postfix per case, all started at once ---
# case_conf NAME "child spec [item=value...]"...: a daemon with those children, in order
case_conf() {
  local name=$1 child; shift
  manager_conf_init "$work/$name/mm"
  for child in "$@"; do
    # shellcheck disable=SC2086 # a child definition is a list of words
    manager_define_milter "$work/$name/mm" $child
  done
}
case_conf header-body "c-header unix:$work/c-header.sock" "py-body unix:$work/py-body.sock"
case_conf headers "c-first unix:$work/c-first.sock" "py-second unix:$work/py-second.sock" \
  "c-subject unix:$work/c-subject.sock" "c-delete unix:$work/c-delete.sock"
case_conf envelope "c-envelope unix:$work/c-envelope.sock" "c-header unix:$work/c-header.sock"
case_conf quarantine "c-quarantine unix:$work/c-quarantine.sock" "c-header unix:$work/c-header.sock"
case_conf big "c-header unix:$work/c-header.sock" "c-pass unix:$work/c-pass.sock"
manager_conf_set "$work/big/mm" manager.body_memory_limit "$BODY_MEMORY_LIMIT"
case_conf two "c-count unix:$work/c-count.sock"
# As packaged: the daemon gives up root; Postfix reaches it through the socket's group.
case_conf load "c-header unix:$work/c-header.sock" "py-second unix:$work/py-second.sock"
MANAGER_USER=nobody MANAGER_GROUP=nogroup case_conf unprivileged "c-header unix:$work/c-header.sock"
manager_pair_launch "$work/header-body" 31000 31001
manager_pair_launch "$work/headers" 31002 31003
manager_pair_launch "$work/envelope" 31004 31005
manager_pair_launch "$work/quarantine" 31006 31007
manager_pair_launch "$work/big" 31008 31009
manager_pair_launch "$work/two" 31010 31011
manager_pair_launch "$work/unprivileged" 31012 31013
manager_pair_launch "$work/load" 31014 31015
manager_pairs_wait >"$work/pairs.start"
tap_check "eight milter-manager daemons and private Postfix instances started" test $? = 0
[ -s "$work/pairs.start" ] && tap_diag "$(cat "$work/pairs.start")"
tap_check "the daemon's socket is for group postfix only (root:postfix, mode 0660)" \
  test "$(stat -c %U:%G:%a "$work/header-body/mm/manager.sock" 2>/dev/null)" = root:postfix:660

# --- a header added by the libmilter child and a body replaced by the python child ---
$SMTP_CLIENT --server 127.0.0.1:31000 --subject 'header and body' >"$work/header-body.smtp"
tap_check "header+body: the client sees the message queued" \
  grep -q '^DOT 250 ' "$work/header-body.smtp"
file=$(postfix_wait_message "$work/header-body/pf" '^Subject: header and body')
tap_check "header+body: the libmilter child's header arrives" \
  grep -q '^X-Scripted: added by C' "${file:-/dev/null}"
tap_check "header+body: the python child's body arrives, the original is gone" \
  eval "[ \"\$(sink_body '$file' | od -c)\" = \"\$(printf 'Body from python.\nSecond line.\n' | od -c)\" ]"
tap_check "header+body: Postfix logged no milter problem" \
  postfix_no_milter_warnings "$work/header-body/pf"

# --- two children add headers, one changes Subject, one deletes a header the client sent ---
$SMTP_CLIENT --server 127.0.0.1:31002 --subject 'original subject' \
  --header 'X-Delete-Me: yes' --header 'X-Keep: yes' >"$work/headers.smtp"
file=$(postfix_wait_message "$work/headers/pf" '^X-Keep: yes')
tap_check "headers: both added headers arrive (libmilter and python children)" \
  eval "grep -q '^X-First: one' '$file' && grep -q '^X-Second: two' '$file'"
tap_check "headers: the Subject the client sent is changed" \
  eval "grep -q '^Subject: Changed by milter' '$file' && ! grep -q 'original subject' '$file'"
tap_check "headers: the header the client sent is deleted, the others kept" \
  eval "[ -s '$file' ] && ! grep -qi '^X-Delete-Me' '$file' && grep -q '^Message-ID: ' '$file'"
tap_check "headers: Postfix logged no milter problem" postfix_no_milter_warnings "$work/headers/pf"

# --- a child adds a recipient, deletes one and changes the sender ---
$SMTP_CLIENT --server 127.0.0.1:31004 --subject 'envelope' --rcpt recipient@example.org \
  --rcpt removed@example.org >"$work/envelope.smtp"
postfix_wait_message "$work/envelope/pf" '^Subject: envelope' >/dev/null
# The relay may carry both recipients in one transaction or in two.
postfix_wait_log "$work/envelope/pf" 'to=<added@example.org>.* status=sent'
args=$(cat "$work"/envelope/pf/sink/msg.* 2>/dev/null | grep '^X-\(Rcpt\|Mail\)-Args:')
tap_diag "$args"
tap_check "envelope: delivered to the added recipient and the kept one, with the other child's header" \
  eval "printf '%s\n' '$args' | grep -q '^X-Rcpt-Args: <added@example.org>' &&
        printf '%s\n' '$args' | grep -q '^X-Rcpt-Args: <recipient@example.org>' &&
        grep -q '^X-Scripted: added by C' '$work'/envelope/pf/sink/msg.*"
tap_check "envelope: not to the deleted recipient" \
  eval "[ -n '$args' ] && ! printf '%s\n' '$args' | grep -q 'removed@example.org'"
tap_check "envelope: the sender is the one the child set" \
  eval "printf '%s\n' '$args' | grep -q '^X-Mail-Args: <changed@example.org>' &&
        ! printf '%s\n' '$args' | grep -q '^X-Mail-Args: <sender@example.org>'"
tap_check "envelope: Postfix logged no milter problem" \
  postfix_no_milter_warnings "$work/envelope/pf"

# --- a child quarantines: Postfix puts the message on hold ---
$SMTP_CLIENT --server 127.0.0.1:31006 --subject 'quarantine' >"$work/quarantine.smtp"
tap_check "quarantine: Postfix logs the milter's HOLD action" \
  postfix_wait_log "$work/quarantine/pf" 'milter-hold: END-OF-MESSAGE from .*milter triggers HOLD action'
postqueue -c "$work/quarantine/pf/etc" -j >"$work/quarantine.queue" 2>&1
tap_check "quarantine: the message is in the hold queue, nothing delivered" \
  eval "grep -q '\"queue_name\": \"hold\"' '$work/quarantine.queue' && sink_empty '$work/quarantine'"
tap_check "quarantine: Postfix logged no milter problem" \
  postfix_no_milter_warnings "$work/quarantine/pf"

# --- a body larger than 1 MB and than the daemon's memory limit passes intact ---
{
  printf 'From: <sender@example.org>\nTo: <recipient@example.org>\nSubject: big message\n'
  printf 'Message-ID: <big@mm-test.localdomain>\n\n'
  awk -v n="$BIG_LINES" 'BEGIN { for (i = 0; i < n; i++) printf "%08d %067d\n", i, i * 7919 }'
} >"$work/big.eml"
sent_md5=$(body_of "$work/big.eml" | md5sum | cut -d' ' -f1)
sent_size=$(body_of "$work/big.eml" | wc -c)
$SMTP_CLIENT --server 127.0.0.1:31008 --message-file "$work/big.eml" >"$work/big.smtp"
tap_check "large body: the client sees the message queued ($sent_size bytes of body)" \
  eval "grep -q '^DOT 250 ' '$work/big.smtp' && [ $sent_size -gt 1048576 ]"
file=$(postfix_wait_message "$work/big/pf" '^Subject: big message')
got_md5=$(sink_body "${file:-/dev/null}" | md5sum | cut -d' ' -f1)
tap_check "large body: delivered intact (md5 $sent_md5, got $got_md5), with the header" \
  eval "[ '$got_md5' = '$sent_md5' ] && grep -q '^X-Scripted: added by C' '$file'"
# The second child gets the body replayed from the daemon's spool, CRLF line ends.
got_len=$(awk '/^body / { sub(/.* length=/, ""); sub(/ .*/, ""); n += $0 } END { print n + 0 }' \
  "$work/c-pass.record")
tap_check "large body: the second child received all of it ($got_len bytes with CRLF)" \
  test "$got_len" -eq $((sent_size + BIG_LINES))
tap_check "large body: Postfix logged no milter problem" postfix_no_milter_warnings "$work/big/pf"

# --- several messages on one SMTP connection ---
$SMTP_CLIENT --server 127.0.0.1:31010 --subject 'second MAIL' --messages 2 >"$work/two.smtp"
$SMTP_CLIENT --server 127.0.0.1:31010 --subject 'with RSET' --messages 2 --rset >>"$work/two.smtp"
tap_check "two messages per connection: all four queued" \
  test "$(grep -c '^DOT 250 ' "$work/two.smtp")" = 4
tap_diag "$(cat "$work/two.smtp")"
postfix_wait_sink "$work/two/pf" 4 >/dev/null
counted=0
for subject in 'second MAIL 1' 'second MAIL 2' 'with RSET 1' 'with RSET 2'; do
  file=$(postfix_wait_message "$work/two/pf" "^Subject: $subject\$")
  grep -q '^X-Counted: yes' "${file:-/dev/null}" && counted=$((counted + 1))
done
tap_check "two messages per connection: all four delivered with the child's header ($counted)" \
  test "$counted" = 4
tap_check "two messages per connection: the child saw four messages on two connections" \
  eval "[ \$(grep -c '^eom' '$work/c-count.record') = 4 ] &&
        [ \$(grep -c '^connect ' '$work/c-count.record') = 2 ]"
tap_check "two messages per connection: Postfix logged no milter problem" \
  postfix_no_milter_warnings "$work/two/pf"

# --- the daemon running as nobody, its socket nobody:postfix 0660 ---
tap_check "unprivileged: the daemon runs as nobody, its socket is nobody:postfix, mode 0660" \
  eval "cat '$work/unprivileged/mm/manager.out' '$work/unprivileged/mm/manager.log' | grep -q 'running as user nobody' &&
        [ \"\$(stat -c %U:%G:%a '$work/unprivileged/mm/manager.sock')\" = nobody:postfix:660 ]"
$SMTP_CLIENT --server 127.0.0.1:31012 --subject 'unprivileged' >"$work/unprivileged.smtp"
file=$(postfix_wait_message "$work/unprivileged/pf" '^Subject: unprivileged')
tap_check "unprivileged: Postfix reaches the daemon, the child's header arrives" \
  grep -q '^X-Scripted: added by C' "${file:-/dev/null}"
tap_check "unprivileged: Postfix logged no milter problem" \
  postfix_no_milter_warnings "$work/unprivileged/pf"

# --- smtp-source: many messages over parallel sessions ---
command -v smtp-source >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
if command -v smtp-source >/dev/null 2>&1; then
  smtp-source -s "$LOAD_SESSIONS" -m "$LOAD_MESSAGES" -l 4096 -f sender@example.org \
    -t recipient@example.org -S 'load test' 127.0.0.1:31014 >"$work/load.smtp" 2>&1
  tap_check "smtp-source: $LOAD_MESSAGES messages over $LOAD_SESSIONS parallel sessions sent" test $? = 0
  postfix_wait_sink "$work/load/pf" "$LOAD_MESSAGES" >/dev/null
  both=$(grep -l '^X-Scripted: added by C' "$work"/load/pf/sink/msg.* 2>/dev/null |
         xargs -r grep -l '^X-Second: two' | wc -l)
  tap_check "smtp-source: all $LOAD_MESSAGES delivered with both children's headers ($both)" \
    test "$both" = "$LOAD_MESSAGES"
  tap_check "smtp-source: Postfix logged no milter problem" postfix_no_milter_warnings "$work/load/pf"
else
  for i in 1 2 3; do tap_skip "smtp-source (postfix) is not installed"; done
fi

# --- every daemon stops cleanly ---
manager_pairs_stop
unclean=""
for dir in header-body headers envelope quarantine big two unprivileged load; do
  manager_clean_exit "$work/$dir/mm" >>"$work/unclean" || unclean="$unclean $dir"
done
tap_check "every milter-manager exited 0 on SIGTERM with no sanitizer report${unclean:+ (not:$unclean)}" \
  test -z "$unclean"
[ -n "$unclean" ] && tap_diag "$(cat "$work/unclean")"
tap_check "no milter-manager logged an error or a critical message" \
  eval "! grep -h '\[\(critical\|error\)\]' '$work'/*/mm/manager.log"

[ "$tap_failed" = 0 ] || tap_diag "files kept for inspection in $work"
