#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-postfix-manager-deferred.sh: a private Postfix -> milter-manager -> libmilter and
# python3-milter children with manager.defer_message_replies: a header-stage reject reaches the
# SMTP client unchanged, and a message with many headers is delivered with the children's edits.
# TCP ports: 41400-41409.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/test/lib/postfix-manager.sh"

REJECT_TEXT='550 5.7.1 header rejected by the test'
LOGGED_TEXT='5.7.1 header rejected by the test'   # Postfix logs it without the code
MANY_HEADERS=40

postfix_manager_require python

tap_plan 15
work=$(mktemp -d "${TMPDIR:-/tmp}/test-postfix-manager-deferred.XXXXXX")
chmod 755 "$work"   # the postfix user must reach the instances and the daemon's socket
tap_at_exit "[ \$tap_failed = 0 ] && rm -rf '$work'"

# sink_empty DIR: no message reached DIR's sink and the maillog shows no delivery
sink_empty() {
  [ -z "$(find "$1/pf/sink" -type f -name 'msg.*' 2>/dev/null)" ] &&
    ! grep -q ' status=sent ' "$1/pf/maillog" 2>/dev/null
}
# count PATTERN FILE: lines of FILE matching PATTERN (0 when none or no file)
count() { grep -c -- "$1" "$2" 2>/dev/null || true; }

# --- peers: one per case, so that each record file belongs to one daemon ---
for name in on off; do
  peers_start_scripted "$work/rej-$name.sock" --action header=reject \
    --reply-code "header=$REJECT_TEXT" --record "$work/rej-$name.record"
  peers_start_scripted "$work/next-$name.sock" --add-header 'X-Next:seen' \
    --record "$work/next-$name.record"
done
peers_start_scripted "$work/c-many.sock" --add-header 'X-Scripted:added by C' \
  --record "$work/c-many.record"
peers_start_python add-header-milter "$work/py-many.sock" --name X-Python --value added

# --- one milter-manager and one Postfix per case ---
manager_conf_init "$work/on/mm"
manager_define_milter "$work/on/mm" rej "unix:$work/rej-on.sock"
manager_define_milter "$work/on/mm" next "unix:$work/next-on.sock"
manager_conf_init "$work/off/mm"
manager_conf_set "$work/off/mm" manager.defer_message_replies false
manager_define_milter "$work/off/mm" rej "unix:$work/rej-off.sock"
manager_define_milter "$work/off/mm" next "unix:$work/next-off.sock"
manager_conf_init "$work/many/mm"
manager_define_milter "$work/many/mm" c "unix:$work/c-many.sock"
manager_define_milter "$work/many/mm" py "unix:$work/py-many.sock"
manager_pair_launch "$work/on" 41400 41401
manager_pair_launch "$work/off" 41402 41403
manager_pair_launch "$work/many" 41404 41405
manager_pairs_wait >"$work/pairs.start"
tap_check "three milter-manager daemons and private Postfix instances started" test $? = 0
[ -s "$work/pairs.start" ] && tap_diag "$(cat "$work/pairs.start")"

# --- a header-stage reject, replies deferred (the default) ---
$SMTP_CLIENT --server 127.0.0.1:41400 --subject 'deferred reject' --header 'X-One: 1' \
  --header 'X-Two: 2' >"$work/on.smtp"
tap_diag "$(cat "$work/on.smtp")"
tap_check "deferred: the daemon asked Postfix for no replies to headers, end of header, body" \
  grep -q 'agreed with the MTA: version 6, steps .*nr-header.*nr-end-of-header|nr-body' \
  "$work/on/mm/manager.log"
tap_check "deferred: the client gets the child's reply at the end of DATA: $REJECT_TEXT" \
  grep -qx "DOT $REJECT_TEXT" "$work/on.smtp"
tap_check "deferred: the reject was kept for the end of message" \
  grep -q 'header: reject kept for the next answer' "$work/on/mm/manager.log"
tap_check "deferred: the rejecting child got one header, the next child none" \
  eval "[ \"\$(count '^header' '$work/rej-on.record')\" = 1 ] &&
        [ \"\$(count '^header' '$work/next-on.record')\" = 0 ]"
tap_check "deferred: nothing delivered, Postfix logged the milter reject at end of message" \
  eval "sink_empty '$work/on' &&
        postfix_wait_log '$work/on/pf' 'milter-reject: END-OF-MESSAGE .*$LOGGED_TEXT'"
tap_diag "Postfix: $(grep -h 'milter-reject' "$work/on/pf/maillog" | sed 's/.*milter-reject/milter-reject/')"
tap_check "deferred: one [statistics] session line, reject at header" \
  eval "[ \"\$(count '\[statistics\] \[session\]\[end\]' '$work/on/mm/manager.log')\" = 1 ] &&
        grep -q '\[statistics\] \[session\]\[end\]\[header\]\[reject\]' '$work/on/mm/manager.log'"

# --- the same with manager.defer_message_replies = false (2.3's rule) ---
$SMTP_CLIENT --server 127.0.0.1:41402 --subject 'immediate reject' --header 'X-One: 1' \
  --header 'X-Two: 2' >"$work/off.smtp"
tap_diag "$(cat "$work/off.smtp")"
tap_check "not deferred: no no-reply step asked for, the same reply reaches the client" \
  eval "! grep -q 'agreed with the MTA: .*nr-header' '$work/off/mm/manager.log' &&
        grep -qx 'DOT $REJECT_TEXT' '$work/off.smtp'"
# Postfix 3.7 logs a milter's header-stage reject at END-OF-MESSAGE too (cleanup reports it
# when the message is done), so the MTA's log is the same either way.
tap_check "not deferred: Postfix logged the same milter reject, nothing delivered" \
  eval "postfix_wait_log '$work/off/pf' 'milter-reject: END-OF-MESSAGE .*$LOGGED_TEXT' &&
        sink_empty '$work/off'"
tap_diag "Postfix: $(grep -h 'milter-reject' "$work/off/pf/maillog" | sed 's/.*milter-reject/milter-reject/')"
tap_check "not deferred: the same [statistics] session line" \
  grep -q '\[statistics\] \[session\]\[end\]\[header\]\[reject\]' "$work/off/mm/manager.log"

# --- many headers, replies deferred: delivered with both children's edits ---
headers=()
for i in $(seq 1 "$MANY_HEADERS"); do headers+=(--header "X-Many-$i: value $i"); done
$SMTP_CLIENT --server 127.0.0.1:41404 --subject 'many headers' "${headers[@]}" \
  >"$work/many.smtp"
tap_diag "$(tail -3 "$work/many.smtp")"
tap_check "many headers: queued" grep -q '^DOT 250 ' "$work/many.smtp"
file=$(postfix_wait_message "$work/many/pf" '^Subject: many headers')
tap_check "many headers: delivered with every original header" \
  eval "[ -n '$file' ] && [ \"\$(count '^X-Many-' '$file')\" = $MANY_HEADERS ] &&
        grep -q '^X-Many-$MANY_HEADERS: value $MANY_HEADERS' '$file'"
tap_check "many headers: with the libmilter and the python child's headers" \
  eval "grep -q '^X-Scripted: added by C' '$file' && grep -q '^X-Python: added' '$file'"
tap_check "many headers: the C child saw every header, Postfix logged no milter problem" \
  eval "[ \"\$(count '^header' '$work/c-many.record')\" -ge $MANY_HEADERS ] &&
        postfix_no_milter_warnings '$work/many/pf'"

# --- every daemon stops cleanly ---
manager_pairs_stop
unclean=""
for dir in on off many; do
  manager_clean_exit "$work/$dir/mm" >>"$work/unclean" || unclean="$unclean $dir"
done
tap_check "every milter-manager exited 0 on SIGTERM with no sanitizer report${unclean:+ (not:$unclean)}" \
  test -z "$unclean"
[ -n "$unclean" ] && tap_diag "$(cat "$work/unclean")"

[ "$tap_failed" = 0 ] || tap_diag "files kept for inspection in $work"
