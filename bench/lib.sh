# SPDX-License-Identifier: GPL-3.0-or-later
# lib.sh: what the benchmark scripts share (sourced after their option parsing, with
# BENCH_NAME set): paths to the programs, a temporary directory cleaned at exit, the children
# (start_children), the daemon (start_daemon), small helpers.

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

# The children: CHILD_KIND libmilter (bench-milter, the default) or event (milter-test-client),
# started through the CHILD_RUNNER command prefix (empty by default; run.sh's --child-policy).
test_client="$top_builddir/src/milter-test-client"
child_kind=${child_kind:-libmilter}
[ -n "${child_runner+set}" ] || child_runner=()

# start_child INDEX ADDS_HEADER - one child of the chosen kind on child<INDEX>.sock
start_child() {
  local socket="$tmp/child$1.sock"
  if [ "$child_kind" = event ]; then
    local header=()
    [ "$2" = yes ] && header=(--add-header=X-Bench-Checked:yes)
    "${child_runner[@]}" "$test_client" -q -s "unix:$socket" "${header[@]}" >/dev/null \
      2>>"$tmp/children.log" &
  else
    local header=()
    [ "$2" = yes ] && header=(-n X-Bench-Checked)
    "${child_runner[@]}" "$bench_milter" -s "unix:$socket" "${header[@]}" 2>>"$tmp/children.log" &
  fi
}

# start_children N - N children (the last one adds a header when N > 1); 0 and relay: one.
# Sets child_pids (space-separated) and child_specs.
child_pids=""
child_specs=()
start_children() {
  local n=$1 count=$1 i
  case $n in 0|relay) n=0; count=1 ;; esac
  stop_children
  child_specs=()
  for i in $(seq "$count"); do
    if [ "$n" -gt 1 ] && [ "$i" = "$n" ]; then start_child "$i" yes; else start_child "$i" no; fi
    child_pids="$child_pids $!"
    pids="$pids $!"
    child_specs+=("unix:$tmp/child$i.sock")
  done
  for i in $(seq "$count"); do wait_socket "$tmp/child$i.sock" || exit 1; done
}
stop_children() {
  local pid
  for pid in $child_pids; do kill -TERM "$pid" 2>/dev/null; done
  for pid in $child_pids; do wait "$pid" 2>/dev/null; done
  child_pids=""
  rm -f "$tmp"/child*.sock
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
