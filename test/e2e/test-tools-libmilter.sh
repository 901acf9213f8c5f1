#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-tools-libmilter.sh: the tools against real implementations: milter-test-server against a
# libmilter milter (python3-milter), milter-test-client driven by OpenDKIM's miltertest.
. "$top_srcdir/test/lib/tap.sh"

server="$top_builddir/src/milter-test-server"
client="$top_builddir/src/milter-test-client"
[ -x "$server" ] && [ -x "$client" ] || tap_skip_all "the tools are not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-tools-libmilter.XXXXXX")
tap_at_exit "rm -rf '$tmp'"

has() { grep -q -x -F -- "$2" "$1"; }

tap_plan 7

# python3-milter works only with Debian's own interpreter.
python=/usr/bin/python3
if [ -x "$python" ] && "$python" -c "import Milter" 2>/dev/null; then
  cat >"$tmp/test_tools_milter.py" <<'EOF'
# A libmilter milter: rejects recipients containing "bad", does not answer headers,
# and edits the message at end of message.
import sys
import Milter

class TestMilter(Milter.Base):
    @Milter.noreply
    def header(self, name, value):
        return Milter.CONTINUE

    def envrcpt(self, to, *args):
        if "bad" in to:
            self.setreply("550", "5.1.1", "No such user")
            return Milter.REJECT
        return Milter.CONTINUE

    def eom(self):
        self.addheader("X-Libmilter", "yes")
        self.chgheader("Subject", 1, "changed")
        self.addrcpt("<added@example.org>")
        self.replacebody(b"libmilter body\r\n")
        self.quarantine("libmilter says so")
        return Milter.CONTINUE

Milter.factory = TestMilter
Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.ADDRCPT | Milter.CHGBODY |
                 Milter.QUARANTINE)
Milter.runmilter("test-tools", sys.argv[1], 60)
EOF
  "$python" "$tmp/test_tools_milter.py" "unix:$tmp/libmilter.sock" >"$tmp/libmilter.log" 2>&1 &
  tap_at_exit "kill -9 $!"
  wait_for 20 test -S "$tmp/libmilter.sock"
  sleep 0.3 # libmilter binds, then listens
  "$server" -s "unix:$tmp/libmilter.sock" -r good@example.org -r bad@example.org \
    -h "Subject:original" --output-message >"$tmp/out" 2>"$tmp/err"
  rc=$?
  tap_check "server vs libmilter: completes; the refused recipient is reported" \
    eval '[ "$rc" = 0 ] && has "$tmp/out" "status: pass" &&
          has "$tmp/out" "rcpt <bad@example.org>: reject [550]<5.1.1>(No such user)"'
  tap_check "server vs libmilter: the end-of-message edits" \
    eval 'has "$tmp/out" "+ X-Libmilter: yes" && has "$tmp/out" "+ Subject: changed" &&
          has "$tmp/out" "+ RCPT TO:<added@example.org>" && grep -q "^libmilter body" "$tmp/out" &&
          has "$tmp/out" "Quarantine reason: <libmilter says so>"'
  "$server" -s "unix:$tmp/libmilter.sock" --n-transactions 3 --abort-between -t 3 \
    >"$tmp/out" 2>"$tmp/err"
  rc=$?
  tap_check "server vs libmilter: three sessions of three transactions with ABORT" \
    eval '[ "$rc" = 0 ] && [ "$(grep -c "^status: pass$" "$tmp/out")" = 9 ]'
  "$server" -s "unix:$tmp/libmilter.sock" --negotiate-version 2 >"$tmp/out" 2>"$tmp/err"
  rc=$?
  tap_check "server vs libmilter: protocol version 2" \
    eval '[ "$rc" = 0 ] && has "$tmp/out" "status: pass"'
else
  for i in 1 2 3 4; do tap_skip "python3-milter is not installed for /usr/bin/python3"; done
fi

# miltertest (OpenDKIM) plays the MTA with libmilter's own view of the protocol.
if command -v miltertest >/dev/null 2>&1; then
  "$client" -s "unix:$tmp/client.sock" -q --record "$tmp/client.rec" \
    --add-header "X-Client:added" --quarantine "held" --replace-body "replaced" \
    --add-recipient "<new@example.org>" --reply-code "rcpt@2=550 5.7.1 Not this one" \
    >/dev/null 2>"$tmp/client.err" &
  client_pid=$!
  tap_at_exit "kill -9 $client_pid"
  wait_for 10 grep -qs "listening on" "$tmp/client.err"
  cat >"$tmp/session.lua" <<EOF
conn = mt.connect("unix:$tmp/client.sock")
if conn == nil then error("connect failed") end
mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.com")
if mt.conninfo(conn, "client.example.net", "192.0.2.10") ~= nil then error("conninfo") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("connect reply") end
if mt.helo(conn, "client.example.net") ~= nil then error("helo") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("helo reply") end
if mt.mailfrom(conn, "<a@example.com>") ~= nil then error("mail") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("mail reply") end
if mt.rcptto(conn, "<b@example.org>") ~= nil then error("rcpt") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("rcpt reply") end
if mt.rcptto(conn, "<c@example.org>") ~= nil then error("rcpt 2") end
if mt.getreply(conn) ~= SMFIR_REPLYCODE then error("rcpt 2 reply: not a reply code") end
if mt.header(conn, "Subject", "hello") ~= nil then error("header") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("header reply") end
if mt.eoh(conn) ~= nil then error("eoh") end
if mt.bodystring(conn, "body\r\n") ~= nil then error("body") end
if mt.eom(conn) ~= nil then error("eom") end
if mt.getreply(conn) ~= SMFIR_CONTINUE then error("eom reply") end
if not mt.eom_check(conn, MT_HDRADD, "X-Client", "added") then error("no X-Client") end
if not mt.eom_check(conn, MT_QUARANTINE, "held") then error("no quarantine") end
if not mt.eom_check(conn, MT_BODYCHANGE, "replaced") then error("no body change") end
if not mt.eom_check(conn, MT_RCPTADD, "<new@example.org>") then error("no added rcpt") end
mt.disconnect(conn)
EOF
  miltertest -s "$tmp/session.lua" >"$tmp/miltertest.out" 2>&1
  rc=$?
  tap_check "client vs miltertest: answers, reply code and edits as libmilter expects" test "$rc" = 0
  [ "$rc" = 0 ] || tap_diag "$(cat "$tmp/miltertest.out")"
  tap_check "client vs miltertest: every command recorded" \
    eval 'grep -q "^\[connect\] host=client.example.net address=inet:[0-9]*@\[192.0.2.10\]$" "$tmp/client.rec" &&
          has "$tmp/client.rec" "[macro] connect j=mx.example.com" &&
          has "$tmp/client.rec" "[header] Subject:hello" && grep -q "^\[end-of-message\]" "$tmp/client.rec"'
  kill -TERM "$client_pid"
  wait "$client_pid"
  client_status=$?
  tap_check "client vs miltertest: SIGTERM exits 0 without sanitizer reports" \
    eval '[ "$client_status" = 0 ] && ! grep -q Sanitizer "$tmp/client.err"'
else
  for i in 1 2 3; do tap_skip "miltertest is not installed"; done
fi
