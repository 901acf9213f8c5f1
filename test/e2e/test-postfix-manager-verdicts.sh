#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-postfix-manager-verdicts.sh: a private Postfix -> milter-manager -> libmilter children:
# rejections, temporary failures, discard, evaluation mode, dead and hanging children.
# TCP ports: 31030-31059 (this test's share of the interop range 31000-31099).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/test/lib/postfix-manager.sh"


postfix_manager_require

tap_plan 29
work=$(mktemp -d "${TMPDIR:-/tmp}/test-postfix-manager-verdicts.XXXXXX")
chmod 755 "$work"   # the postfix user must reach the instances and the daemon's socket
tap_at_exit "[ \$tap_failed = 0 ] && rm -rf '$work'"

# now_ms: the wall clock in milliseconds
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# sink_empty DIR: no message reached DIR's sink and the maillog shows no delivery
sink_empty() {
  [ -z "$(find "$1/pf/sink" -type f -name 'msg.*' 2>/dev/null)" ] &&
    ! grep -q ' status=sent ' "$1/pf/maillog" 2>/dev/null
}
# queue_empty DIR: DIR's Postfix holds no message in any queue
queue_empty() { [ -z "$(postqueue -c "$1/pf/etc" -j 2>/dev/null)" ]; }

# --- peers: libmilter children ---
peers_start_scripted "$work/hdr.sock" --add-header 'X-Other-Child:continued'
peers_start_scripted "$work/reject-rcpt.sock" --reject-rcpt bad \
  --reply-code 'rcpt=550 5.7.1 no such user here'
peers_start_scripted "$work/tempfail-mail.sock" --action mail=tempfail \
  --reply-code 'mail=451 4.7.1 try again later'
peers_start_scripted "$work/discard-eom.sock" --action eom=discard
peers_start_scripted "$work/hang.sock" --delay rcpt=20000
peers_start_scripted "$work/eval.sock" --action rcpt=reject \
  --reply-code 'rcpt=550 5.7.1 evaluated only' --add-header 'X-Evaluated:dropped'
dead="unix:$work/no-such.sock"

# --- one milter-manager and one Postfix per case, all started at once ---
# case_conf NAME CHILD_DEFINITION...: a daemon whose children are "name spec [item=value...]"
# strings, each followed by the C child that adds X-Other-Child
case_conf() {
  local name=$1 child; shift
  manager_conf_init "$work/$name/mm"
  for child in "$@"; do
    # shellcheck disable=SC2086 # a child definition is a list of words
    manager_define_milter "$work/$name/mm" $child
  done
  manager_define_milter "$work/$name/mm" other "unix:$work/hdr.sock"
}
case_conf rcpt "reject-rcpt unix:$work/reject-rcpt.sock"
case_conf mail "tempfail-mail unix:$work/tempfail-mail.sock"
case_conf discard "discard-eom unix:$work/discard-eom.sock"
case_conf dead-accept "dead $dead fallback_status=accept"
case_conf dead-reject "dead $dead fallback_status=reject"
case_conf hang-accept "hang unix:$work/hang.sock reading_timeout=1 fallback_status=accept"
case_conf hang-reject "hang unix:$work/hang.sock reading_timeout=1 fallback_status=reject"
case_conf eval "eval unix:$work/eval.sock evaluation_mode=true"
manager_pair_launch "$work/rcpt" 31030 31031
manager_pair_launch "$work/mail" 31032 31033
manager_pair_launch "$work/discard" 31034 31035
manager_pair_launch "$work/dead-accept" 31036 31037
manager_pair_launch "$work/dead-reject" 31038 31039
manager_pair_launch "$work/hang-accept" 31040 31041
manager_pair_launch "$work/hang-reject" 31042 31043
manager_pair_launch "$work/eval" 31044 31045
manager_pairs_wait >"$work/pairs.start"
tap_check "eight milter-manager daemons and private Postfix instances started" test $? = 0
[ -s "$work/pairs.start" ] && tap_diag "$(cat "$work/pairs.start")"

# --- one child rejects one recipient with its reply, the other recipient is delivered ---
$SMTP_CLIENT --server 127.0.0.1:31030 --subject 'per recipient' --rcpt good@example.org \
  --rcpt bad@example.org >"$work/rcpt.smtp"
tap_diag "$(cat "$work/rcpt.smtp")"
tap_check "RCPT: the rejecting child's reply reaches the client: 550 5.7.1 no such user here" \
  grep -qx 'RCPT 550 5.7.1 no such user here' "$work/rcpt.smtp"
tap_check "RCPT: the other recipient is accepted and the message queued" \
  eval "grep -q '^RCPT 250 ' '$work/rcpt.smtp' && grep -q '^DOT 250 ' '$work/rcpt.smtp'"
file=$(postfix_wait_message "$work/rcpt/pf" '^Subject: per recipient')
tap_check "RCPT: delivered to the accepted recipient only, with the other child's header" \
  eval "grep -q '^X-Rcpt-Args: <good@example.org>' '$file' &&
        ! grep -q 'bad@example.org' '$file' && grep -q '^X-Other-Child: continued' '$file'"
tap_check "RCPT: Postfix logged the milter reject and no milter problem" \
  eval "grep -q 'milter-reject: RCPT from .*: 550 5.7.1 no such user here' '$work/rcpt/pf/maillog' &&
        postfix_no_milter_warnings '$work/rcpt/pf'"

# --- tempfail at MAIL ---
$SMTP_CLIENT --server 127.0.0.1:31032 --subject 'tempfail at mail' >"$work/mail.smtp"
tap_check "MAIL: the child's temporary failure reaches the client: 451 4.7.1 try again later" \
  grep -qx 'MAIL 451 4.7.1 try again later' "$work/mail.smtp"
tap_diag "$(cat "$work/mail.smtp")"
tap_check "MAIL: nothing delivered, no milter problem logged" \
  eval "sink_empty '$work/mail' && postfix_no_milter_warnings '$work/mail/pf'"

# --- discard at end of message ---
$SMTP_CLIENT --server 127.0.0.1:31034 --subject 'discard at eom' >"$work/discard.smtp"
tap_check "discard: Postfix reports the message discarded by the milter" \
  postfix_wait_log "$work/discard/pf" 'milter-discard: END-OF-MESSAGE from .*milter triggers DISCARD action'
tap_check "discard: nothing delivered, nothing left in the queue, no milter problem" \
  eval "sink_empty '$work/discard' && queue_empty '$work/discard' &&
        postfix_no_milter_warnings '$work/discard/pf'"

# --- a dead child (no socket) with fallback_status accept ---
$SMTP_CLIENT --server 127.0.0.1:31036 --subject 'dead accept' >"$work/dead-accept.smtp"
file=$(postfix_wait_message "$work/dead-accept/pf" '^Subject: dead accept')
tap_check "dead child, fallback accept: delivered with the live child's header" \
  eval "[ -n '$file' ] && grep -q '^X-Other-Child: continued' '$file'"
tap_check "dead child, fallback accept: the log names the child, its spec and the cause" \
  grep -Eq "\[child\]\[error\] dead \($dead\): .*No such file or directory; fallback status: accept" \
  "$work/dead-accept/mm/manager.log"
tap_check "dead child, fallback accept: Postfix logged no milter problem" \
  postfix_no_milter_warnings "$work/dead-accept/pf"

# --- a dead child with fallback_status reject ---
$SMTP_CLIENT --server 127.0.0.1:31038 --subject 'dead reject' >"$work/dead-reject.smtp"
tap_diag "$(cat "$work/dead-reject.smtp")"
# The first answer that is not 2xx/3xx is the session's verdict.
verdict=$(awk '$2 !~ /^[23]/ { print $2; exit }' "$work/dead-reject.smtp")
tap_check "dead child, fallback reject: the client gets a 5xx ($verdict)" \
  eval "[[ '$verdict' =~ ^5[0-9][0-9]$ ]]"
tap_check "dead child, fallback reject: nothing delivered" sink_empty "$work/dead-reject"
tap_check "dead child, fallback reject: the log names the child, its spec and the cause" \
  grep -Eq "\[child\]\[error\] dead \($dead\): .*No such file or directory; fallback status: reject" \
  "$work/dead-reject/mm/manager.log"

# --- a child that hangs longer than its reading_timeout, fallback accept ---
start=$(now_ms)
$SMTP_CLIENT --server 127.0.0.1:31040 --subject 'hang accept' >"$work/hang-accept.smtp"
took=$(($(now_ms) - start))
tap_diag "hanging child (20 s delay at RCPT, reading_timeout 1 s), fallback accept: ${took} ms"
tap_check "hanging child, fallback accept: the session ends within the timeout (${took} ms < 15000: the child hangs 20 s)" \
  test "$took" -lt 15000
file=$(postfix_wait_message "$work/hang-accept/pf" '^Subject: hang accept')
tap_check "hanging child, fallback accept: delivered with the other child's header" \
  eval "[ -n '$file' ] && grep -q '^X-Other-Child: continued' '$file'"
tap_check "hanging child, fallback accept: the log names the child and the timeout" \
  grep -Eq "\[child\]\[error\] hang \(unix:$work/hang.sock\): no reply to rcpt within 1 seconds; fallback status: accept" \
  "$work/hang-accept/mm/manager.log"
tap_check "hanging child, fallback accept: Postfix logged no milter problem" \
  postfix_no_milter_warnings "$work/hang-accept/pf"

# --- a child that hangs, fallback reject ---
start=$(now_ms)
$SMTP_CLIENT --server 127.0.0.1:31042 --subject 'hang reject' >"$work/hang-reject.smtp"
took=$(($(now_ms) - start))
tap_diag "$(cat "$work/hang-reject.smtp")"
tap_check "hanging child, fallback reject: RCPT gets a 5xx within the timeout (${took} ms < 15000: the child hangs 20 s)" \
  eval "grep -q '^RCPT 5[0-9][0-9] ' '$work/hang-reject.smtp' && [ $took -lt 15000 ]"
tap_check "hanging child, fallback reject: nothing delivered" sink_empty "$work/hang-reject"
tap_check "hanging child, fallback reject: the log names the child and its fallback" \
  grep -Eq "\[child\]\[error\] hang \(unix:$work/hang.sock\): no reply to rcpt within 1 seconds; fallback status: reject" \
  "$work/hang-reject/mm/manager.log"

# --- a child in evaluation mode rejects: the mail is delivered anyway ---
$SMTP_CLIENT --server 127.0.0.1:31044 --subject 'evaluation' >"$work/eval.smtp"
tap_check "evaluation mode: the client sees no rejection" \
  eval "grep -q '^RCPT 250 ' '$work/eval.smtp' && grep -q '^DOT 250 ' '$work/eval.smtp'"
file=$(postfix_wait_message "$work/eval/pf" '^Subject: evaluation')
tap_check "evaluation mode: delivered with the other child's header" \
  eval "[ -n '$file' ] && grep -q '^X-Other-Child: continued' '$file'"
tap_check "evaluation mode: the evaluated child's header edit is dropped" \
  eval "[ -s '$file' ] && ! grep -q '^X-Evaluated' '$file'"
tap_check "evaluation mode: the daemon logs what the child would have answered" \
  grep -Eq '\[evaluation\] eval \(.*\): would have answered reject' "$work/eval/mm/manager.log"
tap_check "evaluation mode: Postfix logged no milter problem" \
  postfix_no_milter_warnings "$work/eval/pf"

# --- every daemon stops cleanly ---
manager_pairs_stop
unclean=""
for dir in rcpt mail discard dead-accept dead-reject hang-accept hang-reject eval; do
  manager_clean_exit "$work/$dir/mm" >>"$work/unclean" || unclean="$unclean $dir"
done
tap_check "every milter-manager exited 0 on SIGTERM with no sanitizer report${unclean:+ (not:$unclean)}" \
  test -z "$unclean"
[ -n "$unclean" ] && tap_diag "$(cat "$work/unclean")"
tap_check "no milter-manager logged a critical message" \
  eval "! grep -h '\[critical\]' '$work'/*/mm/manager.log"

[ "$tap_failed" = 0 ] || tap_diag "files kept for inspection in $work"
