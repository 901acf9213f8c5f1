#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-tools.sh: milter-test-server against milter-test-client: statuses at every stage, reply
# codes, end-of-message edits, several transactions, NO_/NR_ steps, macros, errors, timeouts.
. "$top_srcdir/test/lib/tap.sh"

server="$top_builddir/src/milter-test-server"
client="$top_builddir/src/milter-test-client"
[ -x "$server" ] && [ -x "$client" ] || tap_skip_all "the tools are not built"

# Ports of this test's range (25000-25099).
port=25001

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-tools.XXXXXX")
tap_at_exit "rm -rf '$tmp'"


# start_client NAME ARGS...: a milter-test-client on unix:$tmp/NAME.sock recording to
# $tmp/NAME.rec; its pid in $client_pid.
start_client() {
  local name=$1; shift
  rm -f "$tmp/$name.rec"
  "$client" -s "unix:$tmp/$name.sock" --record "$tmp/$name.rec" "$@" \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  client_pid=$!
  tap_at_exit "kill -9 $client_pid"
  wait_for 10 grep -qs "listening on" "$tmp/$name.err"
}

# stop_client: SIGTERM the last client; its exit status in $client_status.
stop_client() {
  kill -TERM "$client_pid" 2>/dev/null
  wait "$client_pid"
  client_status=$?
}

# run_server ARGS...: milter-test-server; output in $tmp/out and $tmp/err, exit status in $rc.
run_server() {
  "$server" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

# with_client NAME CLIENT-ARGS -- SERVER-ARGS: one session against a fresh client.
with_client() {
  local name=$1; shift
  local client_args=()
  while [ "$1" != "--" ]; do client_args+=("$1"); shift; done
  shift
  start_client "$name" "${client_args[@]}"
  run_server -s "unix:$tmp/$name.sock" "$@"
  stop_client
}

has() { grep -q -x -F -- "$2" "$1"; }
has_re() { grep -q -E -- "$2" "$1"; }

# Stages and the 2.3 status each scripted answer gives there.
stages="connect helo mail rcpt data header end-of-header body end-of-message"
statuses="reject temporary-failure discard accept"

# 1. The default session: continue everywhere is 2.3's "pass", then the elapsed time.
with_client plain -- --output-message
tap_check "default session: exit 0, status: pass" test "$rc" = 0 -a "$(head -1 "$tmp/out")" = "status: pass"
tap_check "default session: elapsed-time line" has_re "$tmp/out" '^elapsed-time: [0-9.e-]+ seconds$'
tap_check "default session: the default message" \
  eval 'has "$tmp/out" "  MAIL FROM:<sender@example.com>" && has "$tmp/out" "  RCPT TO:<receiver@example.org>" &&
        has "$tmp/out" "  From: <sender@example.com>" && has "$tmp/out" "La de da de da 4."'
tap_check "default session: client saw every step in order" \
  test "$(grep -v '^\[macro\]' "$tmp/plain.rec" | sed 's/\].*/]/' | tr '\n' ' ')" = \
  "[negotiate] [connect] [helo] [mail] [rcpt] [data] [header] [header] [end-of-header] [body] [end-of-message] [quit] "
tap_check "default session: macros as 2.3 sent them" \
  has "$tmp/plain.rec" "[macro] connect {daemon_name}=milter-test-server {if_name}=localhost {if_addr}=127.0.0.1 j=mail.example.com"
tap_check "client: SIGTERM ends it with 0 and removes its socket" \
  test "$client_status" = 0 -a ! -e "$tmp/plain.sock"

# 2. Every scripted verdict at every stage.
for stage in $stages; do
  for status in $statuses; do
    expected=$status
    with_client "v-$stage-$status" --action "$stage=$status" --
    if [ "$rc" = 0 ] && [ "$(head -1 "$tmp/out")" = "status: $expected" ]; then
      tap_ok "$status at $stage: status: $expected"
    else
      tap_not_ok "$status at $stage: status: $expected"
      tap_diag "exit $rc" "$(cat "$tmp/out" "$tmp/err")"
    fi
  done
done

# 3. Reply codes pass through, in 2.3's form and as the raw response.
with_client code --reply-code "mail=550 5.7.1 Go away" --
tap_check "reply code: status line as 2.3" has "$tmp/out" "status: reject [550]<5.7.1>(Go away)"
tap_check "reply code: response line" has "$tmp/out" "response: 550 5.7.1 Go away"
with_client tempcode --reply-code "data=451 4.7.1 Later" --
tap_check "4xx reply code: temporary-failure" has "$tmp/out" "status: temporary-failure [451]<4.7.1>(Later)"

# 4. Every end-of-message edit shows in --output-message.
with_client edits \
  --add-header "X-Added:yes" --insert-header "0:X-First:top" --change-header "Subject:1:new" \
  --delete-header "X-Drop:1" --replace-body "new body" --add-recipient "<added@example.org>" \
  --delete-recipient "<gone@example.org>" --change-from "<other@example.com>:SIZE=10" \
  --quarantine "held for review" -- \
  -r kept@example.org -r gone@example.org -h "Subject:old" -h "X-Drop:bye" --output-message
tap_check "edits: add-header" has "$tmp/out" "+ X-Added: yes"
tap_check "edits: insert-header at the top" \
  test "$(sed -n '/^Header:/{n;p;}' "$tmp/out")" = "+ X-First: top"
tap_check "edits: change-header" eval 'has "$tmp/out" "- Subject: old" && has "$tmp/out" "+ Subject: new"'
tap_check "edits: delete-header" has "$tmp/out" "- X-Drop: bye"
tap_check "edits: replace-body" test "$(sed -n '/^Body:/{n;p;}' "$tmp/out")" = "new body"
tap_check "edits: recipients added and deleted" \
  eval 'has "$tmp/out" "+ RCPT TO:<added@example.org>" && has "$tmp/out" "- RCPT TO:<gone@example.org>" && has "$tmp/out" "  RCPT TO:<kept@example.org>"'
tap_check "edits: change-from with arguments" \
  eval 'has "$tmp/out" "- MAIL FROM:<sender@example.com>" && has "$tmp/out" "+ MAIL FROM:<other@example.com> SIZE=10"'
tap_check "edits: quarantine reason" has "$tmp/out" "Quarantine reason: <held for review>"

# 5. Two transactions on one connection, ABORT between them when asked.
with_client two --action "mail@2=reject" -- --n-transactions 2 --abort-between
tap_check "two transactions: each has its status" \
  test "$(grep '^status:' "$tmp/out" | tr '\n' ' ')" = "status: pass status: reject "
tap_check "two transactions: ABORT between them, one connection" \
  test "$(grep -E '^\[(negotiate|mail|end-of-message|abort|quit)' "$tmp/two.rec" | sed 's/\].*/]/' | tr '\n' ' ')" = \
  "[negotiate] [mail] [end-of-message] [abort] [mail] [abort] [quit] "

# 6. A missing socket: exit 1, the spec and the cause.
run_server -s "unix:$tmp/missing.sock"
tap_check "missing socket: exit 1 naming the spec and the cause" \
  eval '[ "$rc" = 1 ] && grep -q "unix:$tmp/missing.sock.*No such file or directory" "$tmp/err"'

# 7. NO_* and NR_* steps are honoured.
with_client nobody --steps "no-body|no-headers" --
tap_check "no-body|no-headers: no BODY or HEADER sent" \
  eval '[ "$rc" = 0 ] && ! grep -q "^\[body\]" "$tmp/nobody.rec" && ! grep -q "^\[header\]" "$tmp/nobody.rec" && grep -q "^\[end-of-message\]" "$tmp/nobody.rec"'
with_client noreply --steps "nr-header|nr-rcpt|nr-body" -- --reading-timeout 2
tap_check "nr-header|nr-rcpt|nr-body: the session does not wait for replies" \
  eval '[ "$rc" = 0 ] && has "$tmp/out" "status: pass" && [ "$(grep -c "^\[header\]" "$tmp/noreply.rec")" = 2 ]'

# 8. A rejected recipient does not end the transaction.
with_client onercpt --action "rcpt@1=reject" -- -r a@example.org -r b@example.org --output-message
tap_check "rejected recipient: the others go on" \
  eval 'has "$tmp/out" "status: pass" && has "$tmp/out" "- RCPT TO:<a@example.org>" && grep -q "^\[data\]" "$tmp/onercpt.rec"'

# 9. Macro requests and per-stage macros.
with_client symlist --symlist "connect:{daemon_name}" -- --name my-mta --envelope-from-macro "{x}:y"
tap_check "symlist: only the requested macros; --name; --*-macro" \
  eval 'has "$tmp/symlist.rec" "[macro] connect {daemon_name}=my-mta" && grep -q "^\[macro\] mail .*{x}=y" "$tmp/symlist.rec"'

# 9b. The connect, helo, envelope and unknown arguments reach the milter.
with_client args -- --connect-host client.example --connect-address "inet:25@[192.0.2.1]" \
  --helo-fqdn helo.example -f from@example.com -r to@example.org --unknown "XYZZY now"
tap_check "connect address, helo, envelope, unknown command in order" \
  test "$(grep -E '^\[(connect|helo|mail|rcpt|unknown|data)\]' "$tmp/args.rec" | tr '\n' '|')" = \
  "[connect] host=client.example address=inet:25@[192.0.2.1]|[helo] fqdn=helo.example|[mail] from=<from@example.com>|[rcpt] to=<to@example.org>|[unknown] XYZZY now|[data]|"
with_client unixaddr -- --connect-address "unix:/var/run/client.sock"
tap_check "unix connect address" has "$tmp/unixaddr.rec" "[connect] host=mx.example.net address=unix:/var/run/client.sock"

# 10. Timeouts, closes and progress.
with_client slow --delay "mail=3000" -- --reading-timeout 0.5
tap_check "reading timeout: exit 1 with the cause" eval '[ "$rc" = 1 ] && grep -q "reading timeout" "$tmp/err"'
with_client slow-eom --delay "end-of-message=2500" -- --reading-timeout 1.5 --end-of-message-timeout 10
tap_check "--end-of-message-timeout sets the end-of-message timeout" eval '[ "$rc" = 0 ] && has "$tmp/out" "status: pass"'
with_client closer --close-at rcpt --
tap_check "close without reply: exit 1, the milter closed" \
  eval '[ "$rc" = 1 ] && grep -q "closed the connection.*rcpt" "$tmp/err"'
with_client progress --progress 3 --delay "end-of-message=300" -- --output-message
tap_check "progress packets before the answer" eval '[ "$rc" = 0 ] && has "$tmp/out" "status: pass"'

# 11. A mail file gives the headers, envelope and body.
printf 'From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: hi\n\tthere\n\nline 1\nline 2\n' >"$tmp/mail.eml"
with_client file -- -m "$tmp/mail.eml" --output-message
tap_check "mail file: envelope from From:/To:, folded header, body" \
  eval 'has "$tmp/out" "  MAIL FROM:<alice@example.com>" && has "$tmp/out" "  RCPT TO:<bob@example.org>" &&
        has "$tmp/file.rec" "[header] Subject:hi\\n\\tthere" && has_re "$tmp/out" "^line 2"'

# 12. TCP, and several concurrent sessions.
"$client" -s "inet:$port@[127.0.0.1]" -q --record "$tmp/tcp.rec" >/dev/null 2>"$tmp/tcp.err" &
tcp_pid=$!
tap_at_exit "kill -9 $tcp_pid"
wait_for 10 grep -qs "listening on" "$tmp/tcp.err"
run_server -s "inet:$port@127.0.0.1" -t 5
tap_check "TCP, five concurrent sessions: five results" \
  eval '[ "$rc" = 0 ] && [ "$(grep -c "^status: pass$" "$tmp/out")" = 5 ] && [ "$(grep -c "^\[quit\]" "$tmp/tcp.rec")" = 5 ]'
kill -TERM "$tcp_pid"; wait "$tcp_pid"

# 13. Bad command lines.
run_server -s "unix:$tmp/x.sock" --negotiate-version 9
tap_check "bad --negotiate-version: exit 1" eval '[ "$rc" = 1 ] && grep -q "negotiate-version" "$tmp/err"'
"$client" -s "unix:$tmp/y.sock" --action "nowhere=reject" >/dev/null 2>"$tmp/err"
rc=$?
tap_check "client: unknown stage: exit 1 naming it" eval '[ "$rc" = 1 ] && grep -q "nowhere" "$tmp/err"'

# 14. No client reported a sanitizer error or leak on its way out.
reports=$(grep -l "Sanitizer" "$tmp"/*.err 2>/dev/null)
tap_check "clients: no sanitizer reports" test -z "$reports"
[ -n "$reports" ] && tap_diag "$reports"

tap_plan "$tap_n"
