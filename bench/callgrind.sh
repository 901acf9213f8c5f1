#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# bench/callgrind.sh: instructions the daemon executes per session with three children,
# counted by valgrind's callgrind (repeatable on a noisy machine), and its hottest functions.
set -u

usage() {
  cat <<'EOF'
usage: bench/callgrind.sh [--sessions N] [--body-size BYTES] [--top N] [--keep DIR]
  (from a build tree: top_builddir=DIR bench/callgrind.sh; build without --enable-asan)
  --sessions N      sessions measured (default 200), one at a time
  --body-size BYTES body per message (default 1024)
  --top N           functions listed by their own (exclusive) instructions (default 25)
  --keep DIR        keep the callgrind output file in DIR (callgrind_annotate, kcachegrind)
Prints "instructions per session: N" and the top functions with their share.
EOF
}

sessions=200
body=1024
top=25
keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --sessions) sessions=$2; shift 2 ;;
    --body-size) body=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/callgrind.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(dirname "$here")}
top_builddir=${top_builddir:-$top_srcdir/_build}
export MILTER_MANAGER_RUBYLIB=${MILTER_MANAGER_RUBYLIB:-$top_srcdir/binding/lib}
for tool in valgrind callgrind_annotate; do
  command -v "$tool" >/dev/null || { echo "bench/callgrind.sh: $tool is missing (apt-get install valgrind)" >&2; exit 2; }
done
if grep -q '^SANITIZE_CFLAGS = .*-fsanitize' "$top_builddir/Makefile" 2>/dev/null; then
  echo "bench/callgrind.sh: $top_builddir is an ASan build: valgrind cannot run it" >&2
  exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mm-callgrind.XXXXXX")
pids=""
cleanup() {
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_socket() {
  for _ in $(seq 600); do
    [ -S "$1" ] && return 0
    sleep 0.1
  done
  echo "bench/callgrind.sh: nothing listens on $1" >&2
  exit 1
}

# Three children, as in the table's 3-children rows: two continue, one adds a header.
for i in 1 2 3; do
  header=()
  [ "$i" = 3 ] && header=(-n X-Bench-Checked)
  "$top_builddir/bench/bench-milter" -s "unix:$tmp/child$i.sock" "${header[@]}" &
  pids="$pids $!"
done
{
  echo "manager.connection_spec = \"unix:$tmp/mm.sock\""
  echo "manager.pid_file = nil"
  for i in 1 2 3; do
    echo "define_milter(\"child$i\") {|milter| milter.connection_spec = \"unix:$tmp/child$i.sock\"}"
  done
} >"$tmp/milter-manager.conf"
for i in 1 2 3; do wait_socket "$tmp/child$i.sock"; done

if [ "$(id -u)" = 0 ]; then user_option="-u $(id -un)"; else user_option=""; fi
out="$tmp/callgrind.out"
# Only what runs inside the main loop is counted: start-up (Ruby, configuration) is not.
# (callgrind_control -i cannot be used: an idle daemon sleeping in poll never reads it.)
# shellcheck disable=SC2086
"$top_builddir/libtool" --mode=execute valgrind --tool=callgrind --toggle-collect=g_main_loop_run \
  --callgrind-out-file="$out" \
  "$top_builddir/src/milter-manager" -c "$tmp" --no-daemon $user_option --log-level=none \
  2>"$tmp/valgrind.log" &
daemon=$!
pids="$pids $daemon"
wait_socket "$tmp/mm.sock"
result=$("$top_builddir/bench/mta-load" -s "unix:$tmp/mm.sock" -n "$sessions" -b "$body") || {
  echo "bench/callgrind.sh: the sessions failed: $result" >&2
  exit 1
}
kill -TERM "$daemon"
wait "$daemon" 2>/dev/null

total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p; s/^totals: *\([0-9]*\).*/\1/p' "$out" | head -n 1)
if [ -z "$total" ]; then
  echo "bench/callgrind.sh: no totals in the callgrind output" >&2
  cat "$tmp/valgrind.log" >&2
  exit 1
fi
echo "# daemon under callgrind, 3 children (2 continue + 1 header), body $body bytes, $sessions sessions one at a time"
echo "# load: $result"
echo "instructions per session: $((total / sessions)) (main loop only, its stop included)"
echo "# top functions by own instructions (share of all the daemon executed while serving):"
callgrind_annotate --threshold=100 "$out" 2>/dev/null |
  awk -v total="$total" -v top="$top" '
    /^-+$/ { dashes++; next }
    dashes >= 3 && /^ *[0-9,]+/ && !/PROGRAM TOTALS/ && n < top {
      ir = $1; gsub(",", "", ir)
      name = $0; sub(/^ *[0-9,]+ *(\([^)]*\))? */, "", name)
      printf "%6.2f%%  %s\n", 100 * ir / total, name
      n++
    }'
echo "# the project's functions by inclusive instructions (callees included):"
callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
  awk -v total="$total" -v top="$top" '
    /^ *[0-9,]+ .*(libmilter-manager|src)\/[a-z-]+\.c:/ && n < top {
      ir = $1; gsub(",", "", ir)
      name = $0; sub(/^ *[0-9,]+ *(\([^)]*\))? */, "", name); sub(/ \[.*$/, "", name)
      sub(/^.*\.\.\//, "", name); sub(/\x27[0-9]+$/, "", name)
      if (name ~ /:(main|mm_daemon_main)$/ || seen[name]++) next
      printf "%6.2f%%  %s\n", 100 * ir / total, name
      n++
    }'
if [ -n "$keep" ]; then
  mkdir -p "$keep" && cp "$out" "$keep/callgrind.out" && echo "# kept $keep/callgrind.out"
fi
