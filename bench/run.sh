#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# bench/run.sh: the one-command benchmark: starts the children, the daemon and the load
# generator for each cell of the matrix and prints one table (see doc/performance.md).
set -u

usage() {
  cat <<'EOF'
usage: bench/run.sh [options]   (from a build tree: `make bench`, or top_builddir=DIR bench/run.sh)
  --quick               one tiny cell per row (floor and 1 child, 1 KB, concurrency 2, 100 sessions)
  --duration S          seconds each cell starts sessions for (default 3)
  --sessions N          a fixed number of sessions per cell instead of a duration
  --children LIST       child counts; 0 is the floor, straight to one child (default "0 1 3 5");
                        "relay" is one child behind bench/null-relay, the cheapest proxy possible
  --bodies LIST         body sizes in bytes (default "1024 1048576")
  --concurrency LIST    concurrent sessions (default "1 50 1000")
  --workers LIST        manager.n_workers values tried for --workers-children (default "0 2")
  --workers-children L  child counts that also run with workers > 0 (default "3")
  --warmup S            seconds of unmeasured sessions before each cell (default 0.5)
  --child-kind KIND     libmilter (default: bench-milter, Sendmail's libmilter, one thread pool
                        per child) or event (milter-test-client: event-driven on our library, the
                        kind of trivial child milter manager 2.3 measured itself with)
  --child-policy P      other (default) or batch: the children (the floor's too) run under that
                        CPU scheduling policy (chrt), as systemd's CPUSchedulingPolicy= sets it
  --tsv FILE            also write the rows, tab-separated, to FILE
Build without --enable-asan for figures worth keeping: the table says when ASan is in.
EOF
}

duration=3
sessions=0
children_list="0 1 3 5"
bodies="1024 1048576"
concurrencies="1 50 1000"
workers_list="0 2"
workers_children="3"
tsv=""
warmup=0.5
child_kind=libmilter
child_policy=other
while [ $# -gt 0 ]; do
  case $1 in
    --quick) sessions=100; duration=0; children_list="0 1"; bodies="1024"; concurrencies="2"
             workers_list="0"; warmup=0; shift ;;
    --warmup) warmup=$2; shift 2 ;;
    --duration) duration=$2; sessions=0; shift 2 ;;
    --sessions) sessions=$2; duration=0; shift 2 ;;
    --children) children_list=$2; shift 2 ;;
    --bodies) bodies=$2; shift 2 ;;
    --concurrency) concurrencies=$2; shift 2 ;;
    --workers) workers_list=$2; shift 2 ;;
    --workers-children) workers_children=$2; shift 2 ;;
    --tsv) tsv=$2; shift 2 ;;
    --child-kind) child_kind=$2; shift 2 ;;
    --child-policy) child_policy=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

case $child_kind in
  libmilter|event) ;;
  *) echo "bench/run.sh: --child-kind is libmilter or event, not $child_kind" >&2; exit 2 ;;
esac
# The children's launcher: SCHED_BATCH spares a woken thread from preempting the one that
# woke it, which is most of what a libmilter child's thread pool costs ("Tuning" in
# doc/performance.md).
child_runner=()
case $child_policy in
  other) ;;
  batch) command -v chrt >/dev/null || { echo "bench/run.sh: chrt (util-linux) is needed for --child-policy batch" >&2; exit 2; }
         child_runner=(chrt --batch 0) ;;
  *) echo "bench/run.sh: --child-policy is other or batch, not $child_policy" >&2; exit 2 ;;
esac
BENCH_NAME=bench/run.sh
. "$(dirname "$0")/lib.sh"
null_relay="$top_builddir/bench/null-relay"
case " $children_list " in
  *" relay "*) [ -x "$null_relay" ] || { echo "bench/run.sh: $null_relay is not built" >&2; exit 2; } ;;
esac
if [ "$child_kind" = event ] && [ ! -x "$test_client" ]; then
  echo "bench/run.sh: $test_client is not built" >&2
  exit 2
fi
# 1,000 sessions through 5 children need some 6,000 descriptors in the daemon.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# tree_pids PID - PID and its children (workers)
tree_pids() {
  echo "$1"
  cat "/proc/$1/task/$1/children" 2>/dev/null
}

# peak_rss_kb PIDS... - the sum of their peak resident set sizes
peak_rss_kb() {
  local total=0 pid kb
  for pid in "$@"; do
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

# start_workers_daemon WORKERS - the daemon over the running children
start_workers_daemon() {
  start_daemon "manager.n_workers = $1
$(child_milters "${#child_specs[@]}")"
  # Workers accept from the same socket: give them a moment to enter their loops.
  [ "$1" -gt 0 ] && sleep 0.5
  return 0
}

# start_relay - bench/null-relay from relay.sock to the first child; sets relay_pid
relay_pid=""
start_relay() {
  "$null_relay" -l "$tmp/relay.sock" -t "${child_specs[0]#unix:}" 2>>"$tmp/daemon.log" &
  relay_pid=$!
  pids="$pids $relay_pid"
  wait_socket "$tmp/relay.sock" || exit 1
}
stop_relay() {
  kill -TERM "$relay_pid" 2>/dev/null
  wait "$relay_pid" 2>/dev/null
  relay_pid=""
}

# run_load SPEC BODY CONCURRENCY - one load generator run; prints its result line
run_load() {
  local args=(-s "$1" -b "$2" -c "$3")
  if [ "$sessions" -gt 0 ]; then args+=(-n "$sessions"); else args+=(-d "$duration"); fi
  "$load_gen" "${args[@]}" 2>>"$tmp/load.err"
}

asan=""
grep -q '^SANITIZE_CFLAGS = .*-fsanitize' "$top_builddir/Makefile" 2>/dev/null &&
  asan=" (ASan build: figures are not representative)"
echo "# milter-manager benchmark$asan: $(nproc) cores, $(uname -r), per cell" \
     "$([ "$sessions" -gt 0 ] && echo "$sessions sessions" || echo "${duration} s of sessions")"
child_name=bench-milter
[ "$child_kind" = event ] && child_name=milter-test-client
echo "# children: $child_kind ($child_name), scheduling policy $child_policy"
echo "# floor = mta-load straight to one $child_name; N children = N-1 continue + 1 adding a header"
case " $children_list " in
  *" relay "*) echo "# relay = mta-load through bench/null-relay (bytes copied, no protocol) to one continue child; its CPU in mm_cpu_ms" ;;
esac
header=$(printf '%-8s %-7s %-7s %5s %8s %9s %9s %9s %11s %9s %11s %8s %8s' \
  children workers body conc sessions rate/s p50_ms p99_ms mm_cpu_ms mm_rss_MB child_cpu_ms \
  rate/flr p50/flr)
echo "$header"
[ -n "$tsv" ] && echo "$header" | tr -s ' ' '\t' >"$tsv"
declare -A floor_rate floor_p50
failed=0
for n in $children_list; do
  start_children "$n"
  workers_here=0
  case " $workers_children " in *" $n "*) [ "$n" != relay ] && [ "$n" -gt 0 ] && workers_here=$workers_list ;; esac
  for workers in $workers_here; do
    for body in $bodies; do
      for conc in $concurrencies; do
        if [ "$n" = 0 ]; then
          watched=""
          spec=${child_specs[0]}
        elif [ "$n" = relay ]; then
          start_relay
          watched=$relay_pid
          spec="unix:$tmp/relay.sock"
        else
          start_workers_daemon "$workers"
          watched=$(tree_pids "$daemon_pid")
          spec="unix:$tmp/mm.sock"
        fi
        # A first burst settles thread pools, allocators and CPU frequency; it is not counted.
        if [ "$warmup" != 0 ]; then
          "$load_gen" -s "$spec" -b "$body" -c "$conc" -d "$warmup" >/dev/null 2>>"$tmp/load.err"
        fi
        # shellcheck disable=SC2086
        mm_before=$(cpu_ticks $watched)
        # shellcheck disable=SC2086
        child_before=$(cpu_ticks $child_pids)
        line=$(run_load "$spec" "$body" "$conc") || failed=1
        # shellcheck disable=SC2086
        mm_after=$(cpu_ticks $watched)
        # shellcheck disable=SC2086
        child_after=$(cpu_ticks $child_pids)
        # shellcheck disable=SC2086
        rss=$(peak_rss_kb $watched)
        case $n in 0) ;; relay) stop_relay ;; *) stop_daemon ;; esac
        done_sessions=$(field "$line" sessions)
        errors=$(field "$line" errors)
        [ "${errors:-1}" != 0 ] && failed=1
        rate=$(field "$line" rate)
        p50=$(field "$line" p50_ms)
        p99=$(field "$line" p99_ms)
        key="$body/$conc"
        [ "$n" = 0 ] && floor_rate[$key]=$rate && floor_p50[$key]=$p50
        row=$(awk -v n="$n" -v w="$workers" -v body="$body" -v conc="$conc" \
          -v s="${done_sessions:-0}" -v rate="${rate:-0}" -v p50="${p50:-0}" -v p99="${p99:-0}" \
          -v mmb="$mm_before" -v mma="$mm_after" -v cb="$child_before" -v ca="$child_after" \
          -v hz="$clock_ticks" -v rss="$rss" -v fr="${floor_rate[$key]:-0}" \
          -v fp="${floor_p50[$key]:-0}" '
          function size(b) { return b >= 1048576 ? b / 1048576 "MB" : b >= 1024 ? b / 1024 "KB" : b "B" }
          BEGIN {
            per = s > 0 ? 1000.0 / hz / s : 0
            mmcpu = n == 0 ? "-" : sprintf("%.3f", (mma - mmb) * per)
            mmrss = n == 0 ? "-" : sprintf("%.1f", rss / 1024)
            wk = (n == 0 || n == "relay") ? "-" : w
            printf "%-8s %-7s %-7s %5d %8d %9.1f %9.3f %9.3f %11s %9s %11.3f %8s %8s\n",
              (n == 0 ? "floor" : n), wk, size(body), conc, s, rate, p50, p99, mmcpu, mmrss,
              (cb == "" ? 0 : (ca - cb) * per),
              (fr > 0 ? sprintf("%.2f", rate / fr) : "-"),
              (fp > 0 ? sprintf("%.2f", p50 / fp) : "-")
          }')
        echo "$row"
        [ -n "$tsv" ] && echo "$row" | tr -s ' ' '\t' >>"$tsv"
      done
    done
  done
  stop_children
done
if [ -s "$tmp/load.err" ] || [ -s "$tmp/daemon.log" ]; then
  echo "# errors reported (first lines):"
  head -n 5 "$tmp/load.err" "$tmp/daemon.log" 2>/dev/null | sed 's/^/#   /'
fi
exit "$failed"
