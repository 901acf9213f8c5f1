# SPDX-License-Identifier: GPL-3.0-or-later
# reliability.sh: helpers sourced by the reliability tests (test-faults-*, test-soak,
# test-reload-load, test-privileges): a daemon with children, fault peers, fd and memory counts.
. "$top_srcdir/test/lib/tap.sh"

rl_mm="$top_builddir/src/milter-manager"
rl_peer="$top_srcdir/test/e2e/fault-peer.py"
# python3-milter and our peers want Debian's python, not another python3 first on PATH.
rl_python=/usr/bin/python3
[ -x "$rl_mm" ] || tap_skip_all "src/milter-manager is not built"
[ -x "$rl_python" ] || tap_skip_all "/usr/bin/python3 is missing"

# rl_tmp NAME: a private directory for this test, removed at exit
rl_tmp() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  tap_at_exit "rm -rf '$tmp'"
  chmod 0755 "$tmp"
}

# Started as root the daemon gives up root for security.effective_user: keep root (see
# doc/daemon.md) so that it reaches the children's sockets in the test directory.
if [ "$(id -u)" = 0 ]; then rl_user=root; else rl_user=$(id -un); fi

# rl_child NAME MODE [ARG]: a fault-peer child on unix:$tmp/NAME.sock; sets rl_child_pid
rl_child() {
  local name=$1; shift
  "$rl_python" "$rl_peer" child "$tmp/$name.sock" "$@" 2>"$tmp/$name.err" &
  rl_child_pid=$!
  tap_at_exit "kill -9 $rl_child_pid"
  wait_for 10 grep -qs "listening on" "$tmp/$name.err"
}

# rl_config NAME TEXT: write the configuration directory $tmp/NAME.d with TEXT
rl_config() {
  mkdir -p "$tmp/$1.d"
  printf '%s\n' "manager.pid_file = nil" "$2" >"$tmp/$1.d/milter-manager.conf"
  chmod -R go-w,a+rX "$tmp/$1.d"
}

# rl_milter NAME [SETTINGS]: a define_milter block for the child on unix:$tmp/NAME.sock
rl_milter() {
  printf 'define_milter("%s") do |milter|\n  milter.connection_spec = "unix:%s"\n%s\nend\n' \
    "$1" "$tmp/$1.sock" "${2:-}"
}

# rl_daemon NAME [OPTIONS...]: milter-manager with $tmp/NAME.d on unix:$tmp/NAME.sock, log
# $tmp/NAME.log, sanitizer reports in $tmp/NAME.stderr; sets rl_pid
rl_daemon() {
  local name=$1; shift
  "$rl_mm" --no-daemon -c "$tmp/$name.d" -u "$rl_user" -s "unix:$tmp/$name.sock" \
    --log-path="$tmp/$name.log" --log-level=all "$@" >"$tmp/$name.stdout" 2>"$tmp/$name.stderr" &
  rl_pid=$!
  tap_at_exit "kill -9 $rl_pid"
  wait_for 30 grep -qs "started: listening" "$tmp/$name.log"
}

# rl_fds PID: open file descriptors of PID
rl_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# rl_rss_kb PID / rl_peak_rss_kb PID: resident set size now / at its peak
rl_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
rl_peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# rl_fds_settle PID BASELINE: wait (up to 10 s) until PID has BASELINE fds again; the count
# is left in rl_fds_now
rl_fds_settle() {
  local i
  for i in $(seq 1 100); do
    rl_fds_now=$(rl_fds "$1")
    [ "$rl_fds_now" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# rl_mta DAEMON STEP...: one fault-peer MTA session; its output in $rl_out, status in $rl_rc
rl_mta() {
  local name=$1; shift
  rl_out=$("$rl_python" "$rl_peer" mta "$tmp/$name.sock" "$@" 2>&1)
  rl_rc=$?
}

# rl_stop DAEMON PID: SIGTERM, then rl_exited
rl_stop() {
  kill -TERM "$2" 2>/dev/null
  rl_exited "$@"
}

# rl_exited DAEMON PID: wait for the exit; TRUE if it exited 0 without a sanitizer report
# (leaks included: LeakSanitizer runs at exit in an --enable-asan build)
rl_exited() {
  wait_for 30 dead "$2" || return 1
  wait "$2"
  local status=$?
  if grep -q "Sanitizer\|runtime error" "$tmp/$1.stderr"; then
    sed -n 1,40p "$tmp/$1.stderr" | while IFS= read -r line; do tap_diag "$line"; done
    return 1
  fi
  return $status
}

# rl_full_session: the steps of one whole message
rl_full_session="negotiate connect helo mail rcpt data header eoh body eom quit"
