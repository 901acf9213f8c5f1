#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-postfix-manager-differential.sh: the same libmilter children, once straight in Postfix's
# smtpd_milters and once behind milter-manager: the delivered mail must be the same.
# TCP ports: 31070-31099 and 31020-31029 (this test's share of the interop range 31000-31099).

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/test/lib/postfix-manager.sh"


postfix_manager_require

work=$(mktemp -d "${TMPDIR:-/tmp}/test-postfix-manager-differential.XXXXXX")
chmod 755 "$work"   # the postfix user must reach the instances and the sockets
tap_at_exit "[ \$tap_failed = 0 ] && rm -rf '$work'"

# One fixed message, so that both deliveries can be compared byte for byte.
cat >"$work/message.eml" <<'MESSAGE'
From: <sender@example.org>
To: <recipient@example.org>
Subject: differential
Date: Sat, 21 Nov 2026 12:00:00 +0000
Message-ID: <differential@mm-test.localdomain>
X-Dup: one
X-Dup: two
X-Dup: three
X-Folded: first line
	continued line
X-Keep: yes

Body line 1.
Body line 2.
MESSAGE

# Each case: a name, then one "|"-separated list of scripted-milter option sets, one per child
# in order. Postfix calls its milters in smtpd_milters order; milter-manager's default
# sequential message phase does the same with its children.
cases=(
  "insert|--insert-header 0:X-Top:first --insert-header 4:X-Middle:inserted --add-header X-New:added"
  "change|--change-header X-Dup:2:changed\\stwo --change-header X-Dup:1: --change-header subject:1:Lower\\sname --change-header X-Folded:1:one\\sline"
  "envelope|--change-from changed@example.org --add-rcpt added@example.org --delete-rcpt <removed@example.org>"
  "chain|--add-header X-Chain:from\\sA --change-header Subject:1:Subject\\sfrom\\sA|--change-header X-Chain:1:changed\\sby\\sB --insert-header 0:X-B-Top:b"
  "body|--replace-body New\\sbody.\\nSecond\\sline.|--add-header X-After-Body:yes"
  "leading-space|--leading-space --add-header X-Lead:\\sspaced --change-header X-Keep:1:\\schanged"
  "append-after-delete|--add-header X-New:appended --change-header X-Keep:1:"
)
# Where milter-manager places headers differently from Postfix alone, by design
# (doc/merge-rules.md: an added header goes before the first header of the same name, and so
# does a change of an absent one): a name, the child's options, a check of the managed mail.
placements=(
  "add-same-name|--add-header X-Dup:four|check_add_same_name"
  "change-absent|--change-header X-Dup:0:zero --change-header X-Dup:7:seventh|check_change_absent"
)
tap_plan $((1 + 4 * ${#cases[@]} + 3 * ${#placements[@]} + 1))
# tap_todo DESCRIPTION REASON: a known difference, reported as an expected failure (TODO)
tap_todo() { tap_n=$((tap_n + 1)); echo "not ok $tap_n - $1 # TODO $2"; }

# words OPTIONS: split an option set on spaces; "\s" inside a word is a space
words() {
  local w
  for w in $1; do printf '%s\n' "${w//\\s/ }"; done
}

# --- peers, daemons and Postfix instances: direct/NAME and managed/NAME per case ---
port=31070
direct_starters=""
direct_dirs=""
# direct_stop_all: stop the Postfix instances that talk to the children straight, at once
direct_stop_all() {
  local dir pids="" pid
  for dir in $direct_dirs; do postfix_stop "$dir" & pids="$pids $!"; done
  for pid in $pids; do wait "$pid"; done
}
tap_at_exit direct_stop_all
for entry in "${cases[@]}"; do
  name=${entry%%|*}
  IFS='|' read -r -a children <<<"${entry#*|}"
  specs=""
  manager_conf_init "$work/managed-$name/mm"
  n=0
  for options in "${children[@]}"; do
    n=$((n + 1))
    socket="$work/$name-$n.sock"
    mapfile -t argv < <(words "$options")
    peers_start_scripted "$socket" "${argv[@]}"
    specs="$specs unix:$socket"
    manager_define_milter "$work/managed-$name/mm" "child-$n" "unix:$socket"
  done
  mkdir -p "$work/direct-$name"
  direct_dirs="$direct_dirs $work/direct-$name"
  postfix_start "$work/direct-$name" "$port" $((port + 1)) "${specs# }" tempfail \
    >"$work/direct-$name.start" 2>&1 &
  direct_starters="$direct_starters $!"
  manager_pair_launch "$work/managed-$name" $((port + 2)) $((port + 3))
  port=$((port + 4))
done
port=31020
for entry in "${placements[@]}"; do
  IFS='|' read -r name options _ <<<"$entry"
  mapfile -t argv < <(words "$options")
  peers_start_scripted "$work/$name.sock" "${argv[@]}"
  manager_conf_init "$work/managed-$name/mm"
  manager_define_milter "$work/managed-$name/mm" child "unix:$work/$name.sock"
  manager_pair_launch "$work/managed-$name" "$port" $((port + 1))
  port=$((port + 2))
done
started=0
for job in $direct_starters; do wait "$job" && started=$((started + 1)); done
manager_pairs_wait >"$work/pairs.start" && started=$((started + ${#cases[@]} + ${#placements[@]}))
tap_check "$((2 * ${#cases[@]} + ${#placements[@]})) Postfix instances started, $((${#cases[@]} + ${#placements[@]})) behind milter-manager" \
  test "$started" = $((2 * ${#cases[@]} + ${#placements[@]}))
cat "$work"/*.start 2>/dev/null | sed 's/^/# /'

# normalized DIR: every delivered message of DIR, without what differs between two
# deliveries (Received: with queue ids and times, the sink's client lines), in a stable order
normalized() {
  local f
  for f in "$1"/sink/msg.*; do
    [ -f "$f" ] || continue
    awk '/^[^ \t]/ { skip = ($0 ~ /^(Received|X-Client-Addr|X-Client-Proto|X-Helo-Args):/) }
         /^\r?$/ { skip = 0 } !skip' "$f"
    echo "-----"
  done | awk 'BEGIN { RS = "-----\n"; ORS = "" } { print $0 "-----\n\0" }' | sort -z | tr -d '\0'
}
# fold_names FILE: the mail with its header names in lower case (RFC 5322: case does not matter)
fold_names() {
  awk '/^-----$/ { head = 1; print; next } NR == 1 { head = 1 }
       head && /^\r?$/ { head = 0 }
       head && /^[^ \t][^:]*:/ { i = index($0, ":"); $0 = tolower(substr($0, 1, i)) substr($0, i + 1) }
       { print }' "$1"
}
# delivered DIR: wait until the message arrived and DIR's queue is empty (every recipient done)
delivered() {
  postfix_wait_message "$1" '^Message-ID: <differential@' >/dev/null || return 1
  local n=0
  while [ -n "$(postqueue -c "$1/etc" -j 2>/dev/null)" ] && [ "$n" -lt "$POSTFIX_WAIT_TENTHS" ]; do
    sleep 0.1; n=$((n + 1))
  done
  [ -z "$(postqueue -c "$1/etc" -j 2>/dev/null)" ]
}

# --- the same message through both paths ---
port=31070
for entry in "${cases[@]}"; do
  name=${entry%%|*}
  for path in direct:$port managed:$((port + 2)); do
    $SMTP_CLIENT --server "127.0.0.1:${path#*:}" --message-file "$work/message.eml" \
      --rcpt recipient@example.org --rcpt removed@example.org >"$work/${path%%:*}-$name.smtp"
  done
  port=$((port + 4))
  delivered "$work/direct-$name"
  delivered "$work/managed-$name/pf"
  normalized "$work/direct-$name" >"$work/direct-$name.mail"
  normalized "$work/managed-$name/pf" >"$work/managed-$name.mail"
  tap_check "$name: Postfix delivered the message straight from its milters" \
    grep -q '^Message-ID: <differential@' "$work/direct-$name.mail"
  fold_names "$work/direct-$name.mail" >"$work/direct-$name.folded"
  fold_names "$work/managed-$name.mail" >"$work/managed-$name.folded"
  if cmp -s "$work/direct-$name.folded" "$work/managed-$name.folded"; then
    tap_ok "$name: behind milter-manager the delivered mail is the same (header names without case)"
  else
    tap_not_ok "$name: behind milter-manager the delivered mail is the same (header names without case)"
    tap_diag "diff (- Postfix with the milters, + Postfix with milter-manager):"
    tap_diag "$(diff -u "$work/direct-$name.mail" "$work/managed-$name.mail" | tail -n +3)"
  fi
  # Seen here: Postfix alone writes a changed header with the name as the milter spelled it;
  # milter-manager keeps the message's spelling. Reported as a known difference (TODO).
  if cmp -s "$work/direct-$name.mail" "$work/managed-$name.mail"; then
    tap_ok "$name: header names spelled as with Postfix alone"
  elif ! cmp -s "$work/direct-$name.folded" "$work/managed-$name.folded"; then
    tap_skip "$name: header names not compared: the mail differs beyond them (see above)"
  else
    tap_todo "$name: header names spelled as with Postfix alone" \
      "milter-manager keeps the message's spelling of a changed header's name; Postfix alone takes the milter's"
    tap_diag "$(diff -u "$work/direct-$name.mail" "$work/managed-$name.mail" | grep '^[-+][^-+]')"
  fi
  tap_check "$name: Postfix logged no milter problem on either path" \
    eval "postfix_no_milter_warnings '$work/direct-$name' &&
          postfix_no_milter_warnings '$work/managed-$name/pf'"
done

# --- placements that differ from Postfix alone by design: checked against the documentation ---
# headers_of FILE: the message header lines of a delivered file, continuation lines included
headers_of() { awk '/^\r?$/ { exit } { print }' "$1"; }
# check_add_same_name FILE: "X-Dup: four" lands right before the first X-Dup (merge-rules.md)
check_add_same_name() {
  [ "$(headers_of "$1" | grep -A1 '^X-Dup: four$' | tail -n 1)" = "X-Dup: one" ]
}
# check_change_absent FILE: X-Dup #1 is now "zero"; the absent #7 was added right before the
# first X-Dup: seventh, zero, two, three
check_change_absent() {
  [ "$(headers_of "$1" | grep -A1 '^X-Dup: seventh$' | tail -n 1)" = "X-Dup: zero" ] &&
    [ "$(headers_of "$1" | grep '^X-Dup:' | tr '\n' '|')" = "X-Dup: seventh|X-Dup: zero|X-Dup: two|X-Dup: three|" ]
}
port=31020
for entry in "${placements[@]}"; do
  IFS='|' read -r name options check <<<"$entry"
  $SMTP_CLIENT --server "127.0.0.1:$port" --message-file "$work/message.eml" \
    --rcpt recipient@example.org >"$work/managed-$name.smtp"
  port=$((port + 2))
  file=$(postfix_wait_message "$work/managed-$name/pf" '^Message-ID: <differential@')
  tap_check "$name: delivered behind milter-manager" test -n "$file"
  if "$check" "${file:-/dev/null}"; then
    tap_ok "$name: placed as doc/merge-rules.md says (child: $options)"
  else
    tap_not_ok "$name: placed as doc/merge-rules.md says (child: $options)"
    tap_diag "headers delivered (Postfix counts its own, hidden Received: header in SMFIR_INSHEADER indexes):"
    tap_diag "$(headers_of "${file:-/dev/null}" | grep -v '^[[:space:]]' | grep -v '^X-\(Client\|Helo\|Mail\|Rcpt\)-')"
    tap_diag "milter-manager's own log has no edit detail; capture the session with test/lib/milter-capture.py to see the operations"
  fi
  tap_check "$name: Postfix logged no milter problem" postfix_no_milter_warnings "$work/managed-$name/pf"
done

manager_pairs_stop
unclean=""
for entry in "${cases[@]}"; do
  name=${entry%%|*}
  manager_clean_exit "$work/managed-$name/mm" >>"$work/unclean" || unclean="$unclean $name"
done
for entry in "${placements[@]}"; do
  name=${entry%%|*}
  manager_clean_exit "$work/managed-$name/mm" >>"$work/unclean" || unclean="$unclean $name"
done
tap_check "every milter-manager exited 0 on SIGTERM with no sanitizer report${unclean:+ (not:$unclean)}" \
  test -z "$unclean"

[ "$tap_failed" = 0 ] || tap_diag "files kept for inspection in $work"
