#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-workers.sh: manager.n_workers = 2: both workers serve, a killed or stopped worker is
# replaced without touching the socket file, SIGTERM stops all, the master removes its files.
. "$top_srcdir/test/lib/tap.sh"

mm="$top_builddir/src/milter-manager"
load_gen="$top_builddir/bench/mta-load"
[ -x "$mm" ] || tap_skip_all "src/milter-manager is not built"
[ -x "$load_gen" ] || tap_skip_all "bench/mta-load is not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-workers.XXXXXX")
tap_at_exit "rm -rf '$tmp'"
chmod 0755 "$tmp"
if [ "$(id -u)" = 0 ]; then user_option="-u root"; else user_option=""; fi
sock="$tmp/mm.sock"
pid_file="$tmp/mm.pid"
log="$tmp/daemon.log"
# No child milters: the daemon still serves every session (it answers for them).
cat >"$tmp/milter-manager.conf" <<EOF
manager.connection_spec = "unix:$sock"
manager.pid_file = "$pid_file"
manager.n_workers = 2
EOF

workers_of() { cat "/proc/$1/task/$1/children" 2>/dev/null | tr ' ' '\n' | grep -v '^$' | sort; }
n_workers_of() { workers_of "$1" | wc -l; }
count_lines() { local n; n=$(grep -c -- "$2" "$1" 2>/dev/null); echo "${n:-0}"; }
both_started() { test "$(count_lines "$log" "started: listening")" -ge 2; }
serves() {
  local out
  out=$("$load_gen" -s "unix:$sock" -n 40 -c 4 2>&1)
  tap_diag "$out"
  case $out in *"sessions=40 errors=0 "*) return 0 ;; *) return 1 ;; esac
}

tap_plan 13

# shellcheck disable=SC2086
"$mm" -c "$tmp" --no-daemon $user_option --log-level="critical|error|warning|message|info" \
  --log-path="$log" >"$tmp/stderr" 2>&1 &
master=$!
tap_at_exit "kill -9 $master; for w in \$(cat '$tmp/workers' 2>/dev/null); do kill -9 \$w; done"
wait_for 20 both_started
tap_check "two workers start under the master" test "$(n_workers_of "$master")" = 2
workers_of "$master" >"$tmp/workers"
tap_check "the workers serve sessions" serves
tap_check "the master writes the pid file with its own pid" test "$(cat "$pid_file" 2>/dev/null)" = "$master"

victim=$(head -n 1 "$tmp/workers")
kill -9 "$victim"
tap_check "a worker killed with SIGKILL is replaced" \
  wait_for 10 eval 'test "$(n_workers_of $master)" = 2 && ! workers_of $master | grep -qx $victim'
tap_check "the master logs the dead worker" wait_for 5 grep -q "died (signal 9" "$log"
workers_of "$master" >"$tmp/workers"
tap_check "sessions are still served after the restart" serves

# A worker stopping on its own closes its copy of the listener: the file must stay.
victim=$(head -n 1 "$tmp/workers")
kill -TERM "$victim"
wait_for 10 dead "$victim"
tap_check "a worker that stops keeps the socket file in place" test -S "$sock"
wait_for 10 eval 'test "$(n_workers_of $master)" = 2'
workers_of "$master" >"$tmp/workers"
tap_check "sessions are served after a worker stopped and was replaced" serves

all_workers=$(cat "$tmp/workers")
kill -TERM "$master"
wait_for 20 dead "$master"
wait "$master"; status=$?
tap_check "SIGTERM: the master exits 0 once the workers stopped" test "$status" = 0
gone=yes
for w in $all_workers; do kill -0 "$w" 2>/dev/null && gone=no; done
tap_check "SIGTERM: every worker is gone" test "$gone" = yes
tap_check "SIGTERM: the socket file and the pid file are removed" \
  test ! -e "$sock" -a ! -e "$pid_file"
tap_check "SIGTERM: the master reports the stop once" \
  test "$(count_lines "$log" "all workers stopped")" = 1
no_sanitizer_report() { ! grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer" "$tmp/stderr"; }
no_sanitizer_report || tap_diag "$(cat "$tmp/stderr")"
tap_check "no sanitizer report from the master or the workers" no_sanitizer_report
exit $tap_failed
