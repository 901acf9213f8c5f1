#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-daemon.sh: the daemon's command line and life cycle end to end: options, --show-config,
# listening, --daemon with a pid file, SIGHUP reload, SIGUSR1 log reopen, SIGTERM, privilege drop,
# and SIGHUP/SIGUSR1 arriving while the daemon starts.
. "$top_srcdir/test/lib/tap.sh"

mm="$top_builddir/src/milter-manager"
data="$top_srcdir/test/data/daemon"
[ -x "$mm" ] || tap_skip_all "src/milter-manager is not built"

# Ports of this test's range (23000-23099).
port_inet=23011

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-daemon.XXXXXX")
tap_at_exit "rm -rf '$tmp'"
# As root the daemon gives up root: the files it writes must be writable by that user.
chmod 0755 "$tmp"
conf_dir="$tmp/conf"
mkdir "$conf_dir"
cp "$data/milter-manager.conf" "$conf_dir/milter-manager.conf"
chmod -R a+rX "$conf_dir"
broken_dir="$tmp/broken"
mkdir "$broken_dir"
cp "$data/broken.conf" "$broken_dir/milter-manager.conf"

if [ "$(id -u)" = 0 ]; then
  self_user=root
else
  self_user=$(id -un)
fi
# Every daemon of this test logs everything to a file the test reads; the configuration
# sets no pid file, so only --pid-file writes one.
common=(-c "$conf_dir" -u "$self_user" --log-level=all)

# stop_daemon PID: SIGTERM, and exit status of the process once it is gone
stop_daemon() {
  kill -TERM "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

tap_plan 32

# --- options -----------------------------------------------------------------------------
out=$("$mm" --version 2>&1); status=$?
tap_check "--version prints the version, exit 0" \
  test "$status" = 0 -a -n "$(printf '%s' "$out" | grep -E '^milter-manager [0-9]+\.[0-9]+')"

out=$("$mm" --help 2>&1); status=$?
tap_check "--help lists 2.3's options, exit 0" \
  test "$status" = 0 -a -n "$(printf '%s' "$out" | grep -e '--connection-spec')" \
       -a -n "$(printf '%s' "$out" | grep -e '--unix-socket-mode')" \
       -a -n "$(printf '%s' "$out" | grep -e '--event-loop-backend')"

out=$("$mm" --no-such-option 2>&1); status=$?
tap_check "unknown option: exit 1 naming it" \
  test "$status" = 1 -a -n "$(printf '%s' "$out" | grep -e '--no-such-option')"

out=$("$mm" --unix-socket-mode=999 2>&1); status=$?
tap_check "bad --unix-socket-mode: exit 1 naming the value" \
  test "$status" = 1 -a -n "$(printf '%s' "$out" | grep -e '999')"

# --- configuration -----------------------------------------------------------------------
out=$("$mm" -c "$conf_dir" --show-config 2>"$tmp/show.err"); status=$?
tap_check "--show-config prints the configuration, exit 0" \
  test "$status" = 0 -a -n "$(printf '%s' "$out" | grep -e 'manager.connection_spec')"
tap_check "--show-config names the file and line that set an item" \
  test -n "$(printf '%s' "$out" | grep -e 'milter-manager.conf:[0-9]')"

"$mm" -c "$broken_dir" --show-config >/dev/null 2>"$tmp/broken.err"; status=$?
tap_check "broken configuration: --show-config exits 1" test "$status" = 1
tap_check "broken configuration: stderr names file:line and Ruby's message" \
  has_line "$tmp/broken.err" "milter-manager.conf:4.*broken on purpose"
tap_diag "$(cat "$tmp/broken.err")"

"$mm" -c "$broken_dir" -s "unix:$tmp/broken.sock" --pid-file="$tmp/broken.pid" \
  >/dev/null 2>"$tmp/broken-start.err"; status=$?
tap_check "broken configuration: the daemon does not start (exit 1, no socket)" \
  test "$status" = 1 -a ! -e "$tmp/broken.sock" -a ! -e "$tmp/broken.pid"

# --- foreground on a UNIX socket ---------------------------------------------------------
sock="$tmp/fg.sock"
log="$tmp/fg.log"
"$mm" "${common[@]}" --no-daemon -s "unix:$sock" --log-path="$log" \
  --pid-file="$tmp/fg.pid" >"$tmp/fg.out" 2>&1 &
fg_pid=$!
tap_at_exit "kill -9 $fg_pid"
tap_check "foreground: the UNIX socket appears" wait_for 20 test -S "$sock"
tap_check "foreground: the socket has mode 0660" \
  test "$(stat -c %a "$sock" 2>/dev/null)" = 660
tap_check "foreground: the pid file holds the daemon's pid" \
  test "$(cat "$tmp/fg.pid" 2>/dev/null)" = "$fg_pid"
# maps_gio_free: the running daemon maps GLib but not GIO (about 1 MB of RSS it does not need:
# doc/performance.md, "Third round")
maps_gio_free() {
  grep -q 'libglib-2\.0\.so' "/proc/$fg_pid/maps" && ! grep -q 'libgio-2\.0\.so' "/proc/$fg_pid/maps"
}
tap_check "foreground: the daemon maps GLib, not GIO" maps_gio_free

# SIGHUP with a changed configuration, then with a broken one.
printf '\nmanager.max_connections = 7\n' >>"$conf_dir/milter-manager.conf"
kill -HUP "$fg_pid"
tap_check "SIGHUP: the log shows the reload" \
  wait_for 10 has_line "$log" "reloaded the configuration"
cp "$data/broken.conf" "$conf_dir/milter-manager.conf"
kill -HUP "$fg_pid"
tap_check "SIGHUP with a broken file: the error names file:line" \
  wait_for 10 has_line "$log" "keeping the running one.*milter-manager.conf:4"
tap_check "SIGHUP with a broken file: still running and listening" \
  test -S "$sock" -a -n "$(alive "$fg_pid" && echo yes)"
cp "$data/milter-manager.conf" "$conf_dir/milter-manager.conf"

# SIGUSR1 after the log file was moved away.
mv "$log" "$log.1"
kill -USR1 "$fg_pid"
tap_check "SIGUSR1: a new log file is opened" wait_for 10 has_line "$log" "reopened the log file"

stop_daemon "$fg_pid"; status=$?
tap_check "SIGTERM: exit 0" test "$status" = 0
tap_check "SIGTERM: the socket and the pid file are removed" \
  test ! -e "$sock" -a ! -e "$tmp/fg.pid"
tap_check "SIGTERM: the log shows the stop" has_line "$log" "no longer accepting"

# --- SIGHUP and SIGUSR1 during start-up ---------------------------------------------------
# From the moment the daemon handles SIGHUP (it holds it first thing in main) until it
# listens, it gets SIGHUP and SIGUSR1 every 10 ms: a reload asked for while Ruby starts and
# the configuration loads must neither end it nor fail the load.
# Its configuration takes a second to load, as a large one on a slow machine may.
sock="$tmp/early.sock"
log="$tmp/early.log"
early_dir="$tmp/early-conf"
mkdir "$early_dir"
{ echo "sleep 1"; cat "$data/milter-manager.conf"; } >"$early_dir/milter-manager.conf"
chmod -R a+rX "$early_dir"
"$mm" -c "$early_dir" -u "$self_user" --log-level=all --no-daemon -s "unix:$sock" \
  --log-path="$log" >"$tmp/early.out" 2>&1 &
early_pid=$!
tap_at_exit "kill -9 $early_pid"
# handles_hup: bit 0 of SigCgt (SIGHUP is signal 1) is set
handles_hup() {
  local mask
  mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$early_pid/status" 2>/dev/null)
  [ -n "$mask" ] && [ $((0x$mask & 1)) = 1 ]
}
for _ in $(seq 4000); do handles_hup && break; sleep 0.005; done
sent=0
while ! test -S "$sock" && alive "$early_pid" && [ "$sent" -lt 4000 ]; do
  kill -HUP "$early_pid" 2>/dev/null && kill -USR1 "$early_pid" 2>/dev/null && sent=$((sent + 1))
  sleep 0.01
done
tap_diag "$sent SIGHUP and SIGUSR1 pairs sent before the socket appeared"
tap_check "start-up: SIGHUP is handled before the daemon listens ($sent SIGHUP, SIGUSR1 pairs sent then)" \
  test "$sent" -gt 0
tap_check "start-up: SIGHUP and SIGUSR1 did not end the daemon; it listens" \
  wait_for 20 test -S "$sock" -a -n "$(alive "$early_pid" && echo yes)"
tap_check "start-up: a held SIGHUP reloads once the daemon serves" \
  wait_for 10 has_line "$log" "reloaded the configuration"
stop_daemon "$early_pid"; status=$?
tap_check "start-up: SIGTERM afterwards exits 0" test "$status" = 0
tap_diag "$(tail -n 5 "$log" "$tmp/early.out" 2>/dev/null)"

# --- inet ----------------------------------------------------------------------------------
"$mm" "${common[@]}" -s "inet:$port_inet@127.0.0.1" --log-path="$tmp/inet.log" \
  --pid-file="$tmp/inet.pid" >/dev/null 2>&1 &
inet_pid=$!
tap_at_exit "kill -9 $inet_pid"
connect() { (exec 3<>"/dev/tcp/127.0.0.1/$port_inet") 2>/dev/null; }
tap_check "inet:PORT@127.0.0.1 accepts TCP connections" wait_for 20 connect
stop_daemon "$inet_pid"; status=$?
tap_check "inet: SIGTERM exits 0" test "$status" = 0

# --- --daemon ------------------------------------------------------------------------------
"$mm" "${common[@]}" --daemon -s "unix:$tmp/bg.sock" --log-path="$tmp/bg.log" \
  --pid-file="$tmp/bg.pid" >/dev/null 2>&1; status=$?
bg_pid=$(cat "$tmp/bg.pid" 2>/dev/null)
[ -n "$bg_pid" ] && tap_at_exit "kill -9 $bg_pid"
tap_check "--daemon: the starting process returns 0 once the daemon listens" \
  test "$status" = 0 -a -S "$tmp/bg.sock"
tap_check "--daemon: the pid file names a live process that is not ours" \
  test -n "$bg_pid" -a "$bg_pid" != "$$" -a -n "$(alive "${bg_pid:-0}" && echo yes)"
kill -TERM "${bg_pid:-0}" 2>/dev/null
tap_check "--daemon: SIGTERM removes the pid file and the socket" \
  wait_for 20 test ! -e "$tmp/bg.pid" -a ! -e "$tmp/bg.sock"

# --- as root: privilege drop, socket group -------------------------------------------------
if [ "$(id -u)" != 0 ]; then
  tap_skip "privilege drop: needs root"
  tap_skip "UNIX socket group: needs root"
  tap_skip "runtime directory creation: needs root"
else
  run="$tmp/run"
  mkdir "$run"
  chown nobody:nogroup "$run"
  # LeakSanitizer cannot inspect a process that gave up root: leaks are checked above.
  ASAN_OPTIONS=detect_leaks=0 "$mm" -c "$conf_dir" -u nobody -g nogroup \
    --unix-socket-group=mail -s "unix:$run/root.sock" --log-path="$run/root.log" \
    --pid-file="$run/root.pid" >/dev/null 2>"$tmp/root.err" &
  root_pid=$!
  tap_at_exit "kill -9 $root_pid"
  wait_for 20 test -S "$run/root.sock"
  uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$root_pid/status" 2>/dev/null)
  gids=$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$root_pid/status" 2>/dev/null)
  tap_check "privilege drop: real, effective, saved and fs ids are nobody/nogroup" \
    test "$uids" = "65534 65534 65534 65534" -a "$gids" = "65534 65534 65534 65534"
  tap_diag "Uid: $uids" "Gid: $gids" "$(cat "$tmp/root.err")"
  tap_check "UNIX socket: group mail (--unix-socket-group), owner nobody" \
    test "$(stat -c %G:%U "$run/root.sock" 2>/dev/null)" = "mail:nobody"
  kill -TERM "$root_pid"
  wait "$root_pid" 2>/dev/null

  # A missing socket/pid directory (no systemd RuntimeDirectory) is created for the user.
  ASAN_OPTIONS=detect_leaks=0 "$mm" -c "$conf_dir" -u nobody -g nogroup \
    -s "unix:$tmp/fresh/run/mm.sock" --log-path="$run/fresh.log" \
    --pid-file="$tmp/fresh/run/mm.pid" >/dev/null 2>"$tmp/fresh.err" &
  fresh_pid=$!
  tap_at_exit "kill -9 $fresh_pid"
  wait_for 20 test -S "$tmp/fresh/run/mm.sock"
  tap_check "runtime directory: created for nobody, holding the socket and the pid file" \
    test "$(stat -c %U "$tmp/fresh/run" 2>/dev/null)" = "nobody" -a -s "$tmp/fresh/run/mm.pid"
  tap_diag "$(cat "$tmp/fresh.err")"
  kill -TERM "$fresh_pid"
  wait "$fresh_pid" 2>/dev/null
fi
