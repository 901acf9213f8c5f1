# SPDX-License-Identifier: GPL-3.0-or-later
# lib.sh: what the benchmark scripts share (sourced after their option parsing, with
# BENCH_NAME set): paths to the programs, a temporary directory cleaned at exit, small helpers.

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(dirname "$here")}
top_builddir=${top_builddir:-$top_srcdir/_build}
export MILTER_MANAGER_RUBYLIB=${MILTER_MANAGER_RUBYLIB:-$top_srcdir/binding/lib}
mm="$top_builddir/src/milter-manager"
load_gen="$top_builddir/bench/mta-load"
bench_milter="$top_builddir/bench/bench-milter"
for program in "$mm" "$load_gen" "$bench_milter"; do
  if [ ! -x "$program" ]; then
    echo "$BENCH_NAME: $program is not built (make -C $top_builddir check_PROGRAMS)" >&2
    exit 2
  fi
done
clock_ticks=$(getconf CLK_TCK)
# As root the daemon would give up root and lose access to the temporary directory.
if [ "$(id -u)" = 0 ]; then user_option="-u $(id -un)"; else user_option=""; fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mm-bench.XXXXXX")
chmod 0755 "$tmp"
pids=""
# cleanup - stop every process the script started (in $pids) and remove the directory
cleanup() {
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
  sleep 0.2
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_socket PATH - until something listens on PATH (at most 10 s)
wait_socket() {
  for _ in $(seq 100); do
    [ -S "$1" ] && return 0
    sleep 0.1
  done
  echo "$BENCH_NAME: nothing listens on $1" >&2
  return 1
}

# cpu_ticks [PID...] - user + system clock ticks of the processes, summed (0 for none)
cpu_ticks() {
  local pid fields total=0
  for pid in "$@"; do
    fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    # shellcheck disable=SC2086
    set -- $fields
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}

# field LINE NAME - the value of NAME=VALUE in LINE
field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# child_milters N - the define_milter lines for children 1..N listening on $tmp/child<I>.sock
child_milters() {
  local i
  for i in $(seq "$1"); do
    echo "define_milter(\"child$i\") {|milter| milter.connection_spec = \"unix:$tmp/child$i.sock\"}"
  done
}

# start_daemon LINES - the daemon on $tmp/mm.sock with LINES (configuration text) after its
# socket and pid file settings; sets daemon_pid and adds it to the processes stopped at exit
daemon_pid=""
start_daemon() {
  mkdir -p "$tmp/conf"
  {
    echo "manager.connection_spec = \"unix:$tmp/mm.sock\""
    echo "manager.pid_file = nil"
    printf '%s\n' "$1"
  } >"$tmp/conf/milter-manager.conf"
  rm -f "$tmp/mm.sock"
  # shellcheck disable=SC2086
  "$mm" -c "$tmp/conf" --no-daemon $user_option --log-level="critical|error" \
    --log-path="$tmp/daemon.log" 2>>"$tmp/daemon.err" &
  daemon_pid=$!
  pids="$pids $daemon_pid"
  wait_socket "$tmp/mm.sock" || { cat "$tmp/daemon.err" >&2; exit 1; }
}

# stop_daemon - stop the daemon start_daemon started, if it runs
stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  kill -TERM "$daemon_pid" 2>/dev/null
  wait "$daemon_pid" 2>/dev/null
  daemon_pid=""
}
