#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-tools-proxy.sh: milter-test-server through the milter-manager daemon to two
# milter-test-client children: both children's headers arrive, one child's reject wins.
. "$top_srcdir/test/lib/tap.sh"

mm="$top_builddir/src/milter-manager"
server="$top_builddir/src/milter-test-server"
client="$top_builddir/src/milter-test-client"
[ -x "$mm" ] || tap_skip_all "src/milter-manager is not built"
[ -x "$server" ] && [ -x "$client" ] || tap_skip_all "the tools are not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-tools-proxy.XXXXXX")
tap_at_exit "rm -rf '$tmp'"
chmod 0755 "$tmp"
# Started as root the daemon gives up root for security.effective_user: keep root instead
# (see doc/daemon.md), so that it reaches the children's sockets in this directory.
if [ "$(id -u)" = 0 ]; then self_user=root; else self_user=$(id -un); fi


# start_client NAME ARGS...: a child on unix:$tmp/NAME.sock recording to $tmp/NAME.rec.
start_client() {
  local name=$1; shift
  "$client" -s "unix:$tmp/$name.sock" --record "$tmp/$name.rec" -q "$@" \
    >/dev/null 2>"$tmp/$name.err" &
  tap_at_exit "kill -9 $!"
  wait_for 10 grep -qs "listening on" "$tmp/$name.err"
}

# start_daemon NAME CHILD...: milter-manager on unix:$tmp/NAME.sock with those children.
start_daemon() {
  local name=$1; shift
  local dir="$tmp/$name.conf.d"
  mkdir -p "$dir"
  {
    echo "manager.pid_file = nil"
    for child in "$@"; do
      echo "define_milter(\"$child\") do |milter|"
      echo "  milter.connection_spec = \"unix:$tmp/$child.sock\""
      echo "end"
    done
  } >"$dir/milter-manager.conf"
  chmod -R a+rX "$dir"
  "$mm" --no-daemon -c "$dir" -u "$self_user" -s "unix:$tmp/$name.sock" \
    --pid-file="$tmp/$name.pid" --log-path="$tmp/$name.log" --log-level=all \
    >"$tmp/$name.stdout" 2>&1 &
  tap_at_exit "kill -9 $!"
  wait_for 20 grep -qs "started: listening" "$tmp/$name.log"
}

# run_server DAEMON ARGS...: milter-test-server through a daemon.
run_server() {
  local name=$1; shift
  "$server" -s "unix:$tmp/$name.sock" --reading-timeout 10 "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

has() { grep -q -x -F -- "$2" "$1"; }

tap_plan 9

start_client a --add-header "X-Child-A:from a"
start_client b --add-header "X-Child-B:from b"
start_daemon adders a b
run_server adders --output-message
tap_check "through the proxy: the session completes" \
  eval '[ "$rc" = 0 ] && [ "$(head -1 "$tmp/out")" = "status: pass" ]'
tap_check "through the proxy: both children's headers arrive" \
  eval 'has "$tmp/out" "+ X-Child-A: from a" && has "$tmp/out" "+ X-Child-B: from b"'
tap_check "through the proxy: both children saw the message" \
  eval 'grep -q "^\[end-of-message\]" "$tmp/a.rec" && grep -q "^\[end-of-message\]" "$tmp/b.rec"'

run_server adders --n-transactions 2 --abort-between --output-message
tap_check "through the proxy: two transactions, headers in both" \
  eval '[ "$rc" = 0 ] && [ "$(grep -c "^+ X-Child-B: from b$" "$tmp/out")" = 2 ]'

start_client c
start_client d --action "mail@1=reject" --reply-code "mail@2=550 5.7.1 Denied by d"
start_daemon rejecting c d
run_server rejecting
tap_check "through the proxy: one child's reject wins" \
  eval '[ "$rc" = 0 ] && [ "$(head -1 "$tmp/out")" = "status: reject" ]'
run_server rejecting --n-transactions 2
tap_check "through the proxy: a child's reply code reaches the MTA" \
  eval '[ "$rc" = 0 ] && has "$tmp/out" "status: reject [550]<5.7.1>(Denied by d)"'

start_client e --steps no-body --quarantine "held" --replace-body "new body" \
  --change-from "<other@example.com>" --add-recipient "<added@example.org>"
start_client f --close-at body --add-header "X-Child-F:lost"
start_daemon editing e f
run_server editing --output-message
tap_check "through the proxy: a child that closes mid-message falls back to accept" \
  eval '[ "$rc" = 0 ] && [ "$(head -1 "$tmp/out")" = "status: pass" ] && ! grep -q X-Child-F "$tmp/out"'
tap_check "through the proxy: quarantine, new body, new sender, added recipient" \
  eval 'has "$tmp/out" "Quarantine reason: <held>" && has "$tmp/out" "new body" &&
        has "$tmp/out" "+ MAIL FROM:<other@example.com>" && has "$tmp/out" "+ RCPT TO:<added@example.org>"'
tap_check "through the proxy: a child with no-body gets no BODY" \
  eval '! grep -q "^\[body\]" "$tmp/e.rec" && grep -q "^\[end-of-message\]" "$tmp/e.rec"'
