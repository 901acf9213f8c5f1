#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# bench/conditions.sh: the cost of the default applicable conditions: the same load through
# three children without conditions and with 2.3's milter-greylist set on each; one ratio.
set -u

usage() {
  cat <<'EOF'
usage: bench/conditions.sh [options]  (from a build tree: `make bench-conditions`, or
                                       top_builddir=DIR bench/conditions.sh)
  --sessions N     sessions per measured run (default 5000)
  --concurrency N  concurrent sessions (default 10)
  --rounds N       runs of each mode, alternating, summed (default 3)
  --quick          200 sessions, 1 round (a smoke test, not a measurement)
Build without --enable-asan for figures worth keeping: the output says when ASan is in.
EOF
}

sessions=5000
concurrency=10
rounds=3
while [ $# -gt 0 ]; do
  case $1 in
    --sessions) sessions=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --quick) sessions=200; rounds=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/conditions.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

BENCH_NAME=bench/conditions.sh
. "$(dirname "$0")/lib.sh"

# The children: two that continue, one that adds a header (as bench/run.sh's 3 children).
for i in 1 2 3; do
  header=()
  [ "$i" = 3 ] && header=(-n X-Bench-Checked)
  "$bench_milter" -s "unix:$tmp/child$i.sock" "${header[@]}" 2>>"$tmp/children.log" &
  pids="$pids $!"
  disown $!  # killed at exit without the shell's job notices
done
for i in 1 2 3; do wait_socket "$tmp/child$i.sock" || exit 1; done

# 2.3's milter-greylist set. mta-load's client (client.example.org, 192.0.2.10) is remote,
# unauthenticated, and made dynamic by the blacklist, so that every condition lets every
# child apply: both modes send the children the same traffic; only the evaluation differs.
DEFAULT_SET='"Sendmail Compatible", "Stress Notify", "Trust", "Remote Network", "S25R", "Unauthenticated"'

# write_conf MODE - the configuration: MODE "none" (no conditions) or "default"
write_conf() {
  local dir="$tmp/$1.conf.d" i
  mkdir -p "$dir"
  cp -r "$top_srcdir/conf/applicable-conditions" "$dir/"
  {
    echo "manager.connection_spec = \"unix:$tmp/mm.sock\""
    echo "manager.pid_file = nil"
    echo 'load("applicable-conditions/*.conf")'
    echo 's25r.add_blacklist("client.example.org")'
    for i in 1 2 3; do
      echo "define_milter(\"child$i\") do |milter|"
      echo "  milter.connection_spec = \"unix:$tmp/child$i.sock\""
      [ "$1" = default ] && echo "  milter.applicable_conditions = [$DEFAULT_SET]"
      echo "end"
    done
  } >"$dir/milter-manager.conf"
  chmod -R a+rX "$dir"
}

# run_mode MODE - one daemon, a warm-up, one measured run; prints "sessions ticks seconds"
run_mode() {
  local mode=$1 daemon before after line
  rm -f "$tmp/mm.sock"
  # shellcheck disable=SC2086
  "$mm" -c "$tmp/$mode.conf.d" --no-daemon $user_option --log-level="critical|error" \
    --log-path="$tmp/daemon.log" 2>>"$tmp/daemon.err" &
  daemon=$!
  wait_socket "$tmp/mm.sock" || { cat "$tmp/daemon.err" >&2; exit 1; }
  "$load_gen" -s "unix:$tmp/mm.sock" -c "$concurrency" -n 200 >/dev/null 2>>"$tmp/load.err"
  before=$(cpu_ticks "$daemon")
  line=$("$load_gen" -s "unix:$tmp/mm.sock" -c "$concurrency" -n "$sessions" 2>>"$tmp/load.err")
  after=$(cpu_ticks "$daemon")
  kill -TERM "$daemon"; wait "$daemon" 2>/dev/null
  if [ "$(field "$line" errors)" != 0 ]; then
    echo "bench/conditions.sh: $mode: $line" >&2
    exit 1
  fi
  echo "$(field "$line" sessions) $((after - before)) $(field "$line" elapsed)"
}

write_conf none
write_conf default
declare -A total_sessions total_ticks total_seconds
for mode in none default; do
  total_sessions[$mode]=0; total_ticks[$mode]=0; total_seconds[$mode]=0
done
for _ in $(seq "$rounds"); do
  for mode in none default; do
    read -r s ticks seconds <<<"$(run_mode "$mode")"
    total_sessions[$mode]=$((total_sessions[$mode] + s))
    total_ticks[$mode]=$((total_ticks[$mode] + ticks))
    total_seconds[$mode]=$(awk -v a="${total_seconds[$mode]}" -v b="$seconds" 'BEGIN {print a + b}')
  done
done

asan=""
grep -q '^SANITIZE_CFLAGS = .*-fsanitize' "$top_builddir/Makefile" 2>/dev/null &&
  asan=" (ASan build: figures are not representative)"
echo "# applicable conditions benchmark$asan: $(nproc) cores, $(uname -r)"
echo "# 3 children (2 continue + 1 header), 1 KB body, concurrency $concurrency," \
     "$rounds x $sessions sessions per mode"
printf '%-8s %9s %9s %12s\n' mode sessions rate/s mm_cpu_us
for mode in none default; do
  awk -v m="$mode" -v s="${total_sessions[$mode]}" -v t="${total_ticks[$mode]}" \
      -v e="${total_seconds[$mode]}" -v hz="$clock_ticks" 'BEGIN {
    printf "%-8s %9d %9.1f %12.1f\n", m, s, (e > 0 ? s / e : 0), (s > 0 ? t * 1e6 / hz / s : 0) }'
done
awk -v sn="${total_sessions[none]}" -v en="${total_seconds[none]}" -v tn="${total_ticks[none]}" \
    -v sd="${total_sessions[default]}" -v ed="${total_seconds[default]}" \
    -v td="${total_ticks[default]}" 'BEGIN {
  rn = en > 0 ? sn / en : 0; rd = ed > 0 ? sd / ed : 0
  cn = sn > 0 ? tn / sn : 0; cd = sd > 0 ? td / sd : 0
  printf "ratio default/none: rate %.2f, daemon CPU per session %s\n",
    (rn > 0 ? rd / rn : 0), (cn > 0 ? sprintf("%.2f", cd / cn) : "-") }'
if [ -s "$tmp/load.err" ] || [ -s "$tmp/daemon.log" ]; then
  echo "# errors reported (first lines):"
  head -n 5 "$tmp/load.err" "$tmp/daemon.log" 2>/dev/null | sed 's/^/#   /'
fi
