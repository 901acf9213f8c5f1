#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-bench-smoke.sh: bench/run.sh --quick runs one tiny cell per row (the floor, the null
# relay, and children through the daemon) and prints a sane table; no timing is asserted.
. "$top_srcdir/test/lib/tap.sh"

for program in src/milter-manager bench/mta-load bench/bench-milter bench/null-relay; do
  [ -x "$top_builddir/$program" ] || tap_skip_all "$program is not built (libmilter missing?)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-bench-smoke.XXXXXX")
tap_at_exit "rm -rf '$tmp'"

tap_plan 11
TMPDIR=$tmp top_builddir=$top_builddir top_srcdir=$top_srcdir \
  bash "$top_srcdir/bench/run.sh" --quick --children "0 relay 1 3" --workers "0 2" \
  --tsv "$tmp/table.tsv" >"$tmp/table" 2>"$tmp/stderr"
status=$?
tap_diag "$(cat "$tmp/table" "$tmp/stderr")"
tap_check "bench/run.sh --quick exits 0" test "$status" = 0
tap_check "the table has its header" grep -q '^children .*rate/s .*p50_ms .*p99_ms .*mm_cpu_ms .*mm_rss_MB' "$tmp/table"

# row_ok CHILDREN WORKERS: the row ran 100 sessions at a positive rate, with the daemon's
# CPU and RSS measured (except for the floor, which has no daemon; the relay's are its own)
row_ok() {
  awk -v n="$1" -v w="$2" '
    $1 == n && $2 == w && $5 == 100 && $6 > 0 && $7 > 0 &&
      (n == "floor" ? $10 == "-" : ($9 ~ /^[0-9.]+$/ && $10 > (n == "relay" ? 0 : 1))) &&
      $12 ~ /^[0-9.]+$/ { found = 1 }
    END { exit !found }' "$tmp/table"
}
tap_check "the floor row: 100 sessions straight to one child" row_ok floor -
tap_check "one child behind bench/null-relay: 100 sessions, the relay's CPU and RSS" row_ok relay -
tap_check "one child through the daemon: 100 sessions, CPU and RSS measured" row_ok 1 0
tap_check "three children (one adds a header) through the daemon" row_ok 3 0
tap_check "three children with manager.n_workers = 2" row_ok 3 2
tap_check "the rows are also written tab-separated" test "$(wc -l <"$tmp/table.tsv")" = 6

# --child-policy batch: the children run under SCHED_BATCH (checked on the running child)
TMPDIR=$tmp top_builddir=$top_builddir top_srcdir=$top_srcdir \
  bash "$top_srcdir/bench/run.sh" --children 0 --bodies 1024 --concurrency 2 --sessions 5000 \
  --warmup 0 --child-policy batch >"$tmp/batch" 2>&1 &
runner=$!
policy=""
for _ in $(seq 100); do
  for pid in $(pgrep -f "bench-milter -s unix:$tmp/" 2>/dev/null); do
    policy=$(chrt -p "$pid" 2>/dev/null | sed -n 's/.*scheduling policy: //p')
  done
  [ -n "$policy" ] && break
  sleep 0.1
done
wait "$runner"
status=$?
tap_diag "$(cat "$tmp/batch")"
tap_check "--child-policy batch runs the floor row" \
  sh -c "test $status = 0 && grep -q '^floor .* 5000 ' '$tmp/batch'"
tap_check "--child-policy batch: the child runs under SCHED_BATCH (saw: ${policy:-nothing})" \
  test "$policy" = SCHED_BATCH

# bench/child-cost.sh: one row per child count, straight and through the daemon (needs perf
# allowed to count the children's events)
if command -v perf >/dev/null 2>&1 && perf stat -e task-clock -o /dev/null true 2>/dev/null; then
  TMPDIR=$tmp top_builddir=$top_builddir top_srcdir=$top_srcdir \
    bash "$top_srcdir/bench/child-cost.sh" --children "0 3" --concurrency 2 --sessions 100 \
    >"$tmp/child-cost" 2>&1
  status=$?
  tap_diag "$(cat "$tmp/child-cost")"
  # costed N: the row of N children ran with the children's CPU per session counted
  costed() {
    awk -v n="$1" '$1 == n && $4 ~ /^[0-9.]+$/ && $4 > 0 { found = 1 } END { exit !found }' \
      "$tmp/child-cost"
  }
  child_cost_ok() { test "$status" = 0 && costed floor && costed 3; }
  tap_check "bench/child-cost.sh: the floor and three children, their CPU counted by perf" \
    child_cost_ok
else
  tap_skip "bench/child-cost.sh: perf is missing or may not count here"
fi
exit $tap_failed
