#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# bench/child-cost.sh: what the libmilter children cost per session straight from the load
# generator and through the daemon (perf stat on the children), for doc/performance.md.
set -u

usage() {
  cat <<'EOF_USAGE'
usage: bench/child-cost.sh [options]   (from a build tree: `make bench-child-cost`,
                                       or top_builddir=DIR bench/child-cost.sh)
  --children LIST       child counts through the daemon; 0 is the floor (default "0 1 3")
  --concurrency LIST    concurrent sessions (default "10 50")
  --sessions N          sessions per cell (default 5000)
Needs perf (Debian: linux-perf) allowed to count other processes (run as root, or
kernel.perf_event_paranoid <= 0 for your processes). Build without --enable-asan.
EOF_USAGE
}

children_list="0 1 3"
concurrencies="10 50"
sessions=5000
while [ $# -gt 0 ]; do
  case $1 in
    --children) children_list=$2; shift 2 ;;
    --concurrency) concurrencies=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/child-cost.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

BENCH_NAME=bench/child-cost.sh
. "$(dirname "$0")/lib.sh"
if ! command -v perf >/dev/null 2>&1; then
  echo "bench/child-cost.sh: perf is not installed (Debian: apt-get install linux-perf)" >&2
  exit 2
fi
# Thread creations and poll calls are tracepoints; without them only CPU and switches count.
events=task-clock,context-switches
tracepoints=task:task_newtask,syscalls:sys_enter_poll
perf stat -e "$tracepoints" -o /dev/null true 2>/dev/null && events="$events,$tracepoints"

# counted NAME FILE - NAME's count in perf stat's output FILE, as a plain number
counted() {
  awk -v name="$1" '$0 ~ name { gsub(",", "", $1); print $1; exit }' "$2"
}

echo "# libmilter children (bench-milter), 1 KB bodies, $sessions sessions per cell;" \
  "per session: children's CPU, context switches, threads created, poll calls; daemon's CPU"
printf '%-8s %5s %9s %10s %9s %8s %8s %10s\n' children conc rate/s child_ms switches \
  threads polls daemon_ms
for n in $children_list; do
  for conc in $concurrencies; do
    start_children "$n"
    spec="unix:$tmp/child1.sock"
    if [ "$n" != 0 ]; then
      start_daemon "$(child_milters "$n")"
      spec="unix:$tmp/mm.sock"
    fi
    "$load_gen" -s "$spec" -b 1024 -c "$conc" -d 0.5 >/dev/null 2>>"$tmp/load.err"
    # shellcheck disable=SC2086
    child_list=$(echo $child_pids | tr ' ' ',')
    perf stat -e "$events" -p "$child_list" -o "$tmp/children.perf" &
    perf_children=$!
    perf_daemon=""
    if [ -n "$daemon_pid" ]; then
      perf stat -e task-clock -p "$daemon_pid" -o "$tmp/daemon.perf" &
      perf_daemon=$!
    fi
    sleep 0.3   # perf attaches before the first session
    line=$("$load_gen" -s "$spec" -b 1024 -c "$conc" -n "$sessions" 2>>"$tmp/load.err")
    kill -INT $perf_children $perf_daemon 2>/dev/null
    wait $perf_children $perf_daemon 2>/dev/null
    done_sessions=$(field "$line" sessions)
    daemon_ms=-
    [ -n "$perf_daemon" ] && daemon_ms=$(counted task-clock "$tmp/daemon.perf")
    awk -v n="$n" -v c="$conc" -v s="${done_sessions:-0}" -v rate="$(field "$line" rate)" \
      -v cpu="$(counted task-clock "$tmp/children.perf")" \
      -v cs="$(counted context-switches "$tmp/children.perf")" \
      -v threads="$(counted task_newtask "$tmp/children.perf")" \
      -v polls="$(counted sys_enter_poll "$tmp/children.perf")" -v dms="$daemon_ms" '
      function per(x) { return (x == "" || s == 0) ? "-" : sprintf("%.3f", x / s) }
      BEGIN {
        printf "%-8s %5d %9.1f %10s %9s %8s %8s %10s\n", (n == 0 ? "floor" : n), c, rate,
          per(cpu), per(cs), per(threads), per(polls), (dms == "-" ? "-" : per(dms))
      }'
    stop_daemon
    stop_children
  done
done
