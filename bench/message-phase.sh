#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# bench/message-phase.sh: end-of-message latency of the sequential and the parallel message
# phase, with children that each take a fixed time at end of message (doc/performance.md).
set -u

usage() {
  cat <<'EOF_USAGE'
usage: bench/message-phase.sh [options]   (from a build tree: `make bench-message-phase`,
                                          or top_builddir=DIR bench/message-phase.sh)
  --children N          slow children (default 3)
  --delay MS            each child's time at end of message (default 50)
  --sessions N          sessions per cell (default 100)
  --concurrency LIST    concurrent sessions (default "1 10")
  --body BYTES          body size (default 1024)
  --tsv FILE            also write the rows, tab-separated, to FILE
EOF_USAGE
}

n_children=3
delay=50
sessions=100
concurrencies="1 10"
body=1024
tsv=""
while [ $# -gt 0 ]; do
  case $1 in
    --children) n_children=$2; shift 2 ;;
    --delay) delay=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    --concurrency) concurrencies=$2; shift 2 ;;
    --body) body=$2; shift 2 ;;
    --tsv) tsv=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/message-phase.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

BENCH_NAME=bench/message-phase.sh
. "$(dirname "$0")/lib.sh"

for i in $(seq "$n_children"); do
  "$bench_milter" -s "unix:$tmp/child$i.sock" -e "$delay" -n "X-Slow-$i" 2>>"$tmp/children.log" &
  pids="$pids $!"
  # libmilter takes its time to stop: killed at the end, it is not reported as a failed job.
  disown $!
done
for i in $(seq "$n_children"); do wait_socket "$tmp/child$i.sock" || exit 1; done

asan=""
grep -q '^SANITIZE_CFLAGS = .*-fsanitize' "$top_builddir/Makefile" 2>/dev/null &&
  asan=" (ASan build)"
echo "# message phase benchmark$asan: $n_children libmilter children, each ${delay} ms at end of" \
     "message; $sessions sessions of $body body bytes per cell; latency = whole SMTP session"
header=$(printf '%-10s %5s %8s %9s %9s %9s %9s' phase conc sessions rate/s p50_ms p99_ms p50/seq)
echo "$header"
[ -n "$tsv" ] && echo "$header" | tr -s ' ' '\t' >"$tsv"
declare -A sequential_p50
failed=0
for conc in $concurrencies; do
  for phase in sequential parallel; do
    start_daemon "manager.message_phase = \"$phase\"
$(child_milters "$n_children")"
    # A few unmeasured sessions first: libmilter starts its threads, the daemon its children.
    "$load_gen" -s "unix:$tmp/mm.sock" -b "$body" -c "$conc" -n "$conc" >/dev/null 2>>"$tmp/load.err"
    line=$("$load_gen" -s "unix:$tmp/mm.sock" -b "$body" -c "$conc" -n "$sessions" \
      2>>"$tmp/load.err") || failed=1
    stop_daemon
    errors=$(field "$line" errors)
    [ "${errors:-1}" != 0 ] && failed=1
    p50=$(field "$line" p50_ms)
    [ "$phase" = sequential ] && sequential_p50[$conc]=$p50
    row=$(awk -v phase="$phase" -v conc="$conc" -v s="$(field "$line" sessions)" \
      -v rate="$(field "$line" rate)" -v p50="${p50:-0}" -v p99="$(field "$line" p99_ms)" \
      -v sp="${sequential_p50[$conc]:-0}" 'BEGIN {
        printf "%-10s %5d %8d %9.1f %9.3f %9.3f %9s\n", phase, conc, s, rate, p50, p99,
          (sp > 0 ? sprintf("%.2f", p50 / sp) : "-")
      }')
    echo "$row"
    [ -n "$tsv" ] && echo "$row" | tr -s ' ' '\t' >>"$tsv"
  done
done
if [ -s "$tmp/load.err" ] || [ -s "$tmp/daemon.log" ]; then
  echo "# errors reported (first lines):"
  head -n 5 "$tmp/load.err" "$tmp/daemon.log" 2>/dev/null | sed 's/^/#   /'
fi
exit "$failed"
