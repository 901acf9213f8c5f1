#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-launcher.sh: privilege mode as root: the launcher starts a down child milter as its
# milter.user_name, the session succeeds on the retry; no double start, no unknown milter or user.
. "$top_srcdir/test/lib/tap.sh"

mm="$top_builddir/src/milter-manager"
client="$top_builddir/src/milter-test-client"
server="$top_builddir/src/milter-test-server"
[ -x "$mm" ] && [ -x "$client" ] && [ -x "$server" ] ||
  tap_skip_all "the daemon and tools are not built"
[ "$(id -u)" = 0 ] || tap_skip_all "privilege mode needs root"
getent passwd nobody >/dev/null || tap_skip_all "no user nobody"

# Ports of this test's range (33000-33099).
port=33020
port_auto=33021
port_ghost=33022
port_kill=33023
auto_spec="inet:$port_auto@127.0.0.1"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-launcher.XXXXXX")
tap_at_exit "rm -rf '$tmp'"
# The daemon reloads as nobody and the started milter records as nobody.
chmod 0777 "$tmp"
nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)

# The milter "ghost" exists only for a non-root reader: the daemon sees it after a reload
# (as nobody), the launcher (reloading as root) never does.
# The configuration directory must not be writable by others (the daemon refuses it).
mkdir -m 0755 "$tmp/conf"
cat >"$tmp/conf/milter-manager.conf" <<EOF
security.privilege_mode = true
manager.pid_file = nil
define_milter("auto") do |milter|
  milter.connection_spec = "$auto_spec"
  milter.command = "$client"
  milter.command_options = "-s $auto_spec -q --record=$tmp/auto.rec"
  milter.user_name = "nobody"
end
define_milter("baduser") do |milter|
  milter.connection_spec = "inet:$port_ghost@127.0.0.1"
  milter.command = "/bin/touch"
  milter.command_options = "$tmp/baduser-ran"
  milter.user_name = "no-such-user-for-milter-manager"
end
if Process.euid != 0
  define_milter("ghost") do |milter|
    milter.connection_spec = "inet:$port_ghost@127.0.0.1"
    milter.command = "/bin/touch"
    milter.command_options = "$tmp/ghost-ran"
  end
end
EOF
chmod a+r "$tmp/conf/milter-manager.conf"

# pids_of SPEC: processes whose command line has "-s SPEC" (the started milters)
pids_of() {
  local dir
  for dir in /proc/[0-9]*; do
    tr "\0" " " 2>/dev/null <"$dir/cmdline" | grep -q -- "-s $1 " && echo "${dir#/proc/}"
  done
}
count_of() { pids_of "$1" | wc -l; }
kill_started() { local p; for p in $(pids_of "$auto_spec"); do kill -9 "$p"; done; }
tap_at_exit kill_started
# status_field PID NAME: the real id of NAME (Uid, Gid) in PID's status; all_ids: all four
status_field() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
all_ids() { awk -v f="$2:" '$1 == f {print $2, $3, $4, $5}' "/proc/$1/status"; }
children_of() { ps -o pid= --ppid "$1" | tr -d ' '; }

tap_plan 19

log="$tmp/daemon.log"
"$mm" -c "$tmp/conf" -u nobody --log-level=all -s "inet:$port@127.0.0.1" --log-path="$log" \
  >"$tmp/daemon.out" 2>&1 &
pid=$!
tap_at_exit "kill -9 $pid"
wait_for 20 has_line "$log" "started: listening"
launcher=$(children_of "$pid")
tap_check "the launcher is the daemon's child and keeps root" \
  eval '[ -n "$launcher" ] && [ "$(status_field "$launcher" Uid | head -1)" = 0 ]'
tap_check "the daemon itself runs as nobody" test "$(status_field "$pid" Uid)" = "$nobody_uid"

# Two sessions at once while the milter is down: both ask, the launcher starts it once.
start=$(date +%s)
"$server" -s "inet:$port@127.0.0.1" --threads=2 >"$tmp/first.out" 2>&1
rc=$?
elapsed=$(($(date +%s) - start))
tap_check "the sessions succeed on the retry" \
  eval '[ "$rc" = 0 ] && [ "$(grep -c "^status: pass" "$tmp/first.out")" = 2 ]'
tap_check "the retry came about 5 s later" test "$elapsed" -ge 4 -a "$elapsed" -le 15
tap_check "the started milter saw both sessions" \
  test "$(grep -c '^\[end-of-message\]' "$tmp/auto.rec" 2>/dev/null)" = 2
tap_check "the milter was started once" test "$(count_of "$auto_spec")" = 1
auto=$(pids_of "$auto_spec")
tap_check "the milter runs as milter.user_name (uid and gid of nobody)" \
  eval '[ "$(all_ids "$auto" Uid)" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ] &&
        [ "$(all_ids "$auto" Gid)" = "$nobody_gid $nobody_gid $nobody_gid $nobody_gid" ]'
tap_check "the milter gets a clean environment" \
  eval '! tr "\0" "\n" <"/proc/$auto/environ" | grep -q "^MILTER_MANAGER_RUBYLIB=" &&
        tr "\0" "\n" <"/proc/$auto/environ" | grep -q "^PATH="'
tap_check "the launch is logged with the pid and the user" \
  has_line "$log" "started milter auto: pid $auto, user nobody"
tap_check "the launcher refuses a milter whose user does not exist" \
  eval 'has_line "$log" "did not start milter baduser: milter.user_name \".*\": no such user" &&
        [ ! -e "$tmp/baduser-ran" ]'
tap_diag "$(grep -h '\[launcher\]\|\[client\]\[launch\]' "$log")"

# The milter dies: the launcher reports it, and does not start it again within 30 s.
kill -9 "$auto"
tap_check "the launcher reports the milter's end" \
  wait_for 10 has_line "$log" "milter auto (pid $auto) killed by signal 9"

# After a reload, the daemon (reading as nobody) knows "ghost"; the launcher does not.
kill -HUP "$pid"
wait_for 20 has_line "$log" "\[launcher\] reloaded the configuration: 2 launchable"
"$server" -s "inet:$port@127.0.0.1" >"$tmp/second.out" 2>&1
tap_check "the launcher refuses a milter its own configuration lacks" \
  eval 'has_line "$log" "did not start milter ghost: no milter of that name is defined" &&
        [ ! -e "$tmp/ghost-ran" ]'
tap_check "the launcher does not start a milter twice within 30 s" \
  eval 'has_line "$log" "did not start milter auto: last start tried .* s ago" &&
        [ "$(count_of "$auto_spec")" = 0 ]'
tap_check "the session falls back when the retry fails too" \
  eval 'has_line "$log" "after asking the launcher to start it" &&
        grep -q "^status:" "$tmp/second.out"'

# The launcher goes away with the daemon: on a graceful stop ...
kill -TERM "$pid"
tap_check "the launcher exits when the daemon stops" \
  eval 'wait_for 10 dead "$pid" && wait_for 10 dead "$launcher"'
tap_check "the daemon stopped cleanly (no sanitizer report)" \
  eval 'wait "$pid"; [ $? = 0 ] && ! grep -q Sanitizer "$tmp/daemon.out"'

# ... and when the daemon is killed. This daemon's milter has a connection_timeout shorter
# than the retry delay: the session does not ask the launcher and does not wait.
mkdir "$tmp/short"
cat >"$tmp/short/milter-manager.conf" <<EOF
security.privilege_mode = true
manager.pid_file = nil
define_milter("short") do |milter|
  milter.connection_spec = "inet:$port_ghost@127.0.0.1"
  milter.command = "/bin/touch"
  milter.command_options = "$tmp/short-ran"
  milter.connection_timeout = 2
end
EOF
chmod -R a+rX "$tmp/short"
log2="$tmp/kill.log"
"$mm" -c "$tmp/short" -u nobody --log-level=all -s "inet:$port_kill@127.0.0.1" --log-path="$log2" \
  >/dev/null 2>&1 &
pid2=$!
tap_at_exit "kill -9 $pid2"
wait_for 20 has_line "$log2" "started: listening"
launcher2=$(children_of "$pid2")
tap_check "the second daemon has its launcher" test -n "$launcher2"
start=$(date +%s)
"$server" -s "inet:$port_kill@127.0.0.1" >"$tmp/short.out" 2>&1
elapsed=$(($(date +%s) - start))
tap_check "no launch when the retry would exceed connection_timeout" \
  eval 'has_line "$log2" "short .*not asking the launcher: the retry 5000 ms later would exceed" &&
        ! has_line "$log2" "asked to start milter short" && [ "$elapsed" -le 2 ] &&
        [ ! -e "$tmp/short-ran" ]'
kill -9 "$pid2"
wait "$pid2" 2>/dev/null
tap_check "the launcher exits when the daemon is killed" wait_for 10 dead "$launcher2"
