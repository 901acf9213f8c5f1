#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-log-analyzer.sh: milter-manager-log-analyzer end to end: sample logs with known sessions
# into RRD files (checked with rrdtool fetch), idempotent reruns, valid PNGs and index.html.
. "$top_srcdir/test/lib/tap.sh"

analyzer="$top_builddir/src/milter-manager-log-analyzer"
data="$top_srcdir/test/data/statistics"
[ -x "$analyzer" ] || tap_skip_all "src/milter-manager-log-analyzer is not built (no librrd)"
command -v rrdtool >/dev/null || tap_skip_all "rrdtool is not installed"

# Syslog stamps are local time; the sample logs are written for UTC.
export TZ=UTC
# librrd's graph code and fontconfig leak at exit; nothing of ours is hidden by this. The
# slow unwinder is needed for the suppressions to see librrd's frames.
export LSAN_OPTIONS="suppressions=$data/librrd-lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-log-analyzer.XXXXXX")
tap_at_exit "rm -rf '$tmp'"
out="$tmp/out"

# Times of the sample logs (2026-11-21, UTC); an RRD row is stamped with its minute's end.
t1940=1795290000
end() { echo $(($1 + 60)); }
t1942=$((t1940 + 120)); t1944=$((t1940 + 240)); t1945=$((t1940 + 300))
t1946=$((t1940 + 360)); t1947=$((t1940 + 420))

# value FILE TIME DS: the stored value of DS at TIME (a row stamp) as an integer, or "nan"
value() {
  rrdtool fetch "$out/$1" AVERAGE -r 60 -s $(($2 - 60)) -e "$2" 2>/dev/null |
    awk -v t="$2:" -v ds="$3" '
      NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i + 1 }
      $1 == t { v = $(col[ds]); if (v ~ /nan/) print "nan"; else printf "%d\n", v + 0.5 }'
}

# check_values DESCRIPTION FILE TIME DS=N...: one test point for several values of one row
check_values() {
  local desc=$1 file=$2 time=$3; shift 3
  local bad=""
  for pair in "$@"; do
    local got; got=$(value "$file" "$time" "${pair%%=*}")
    [ "$got" = "${pair#*=}" ] || bad="$bad ${pair%%=*}=$got(want ${pair#*=})"
  done
  if [ -z "$bad" ]; then tap_ok "$desc"; else tap_not_ok "$desc"; tap_diag "$file @$time:$bad"; fi
}

# run NOW ARGS...: the analyzer with --verbose; its report in $tmp/report
run() {
  local now=$1; shift
  "$analyzer" --output-directory="$out" --now="$now" --verbose "$@" >"$tmp/report" 2>"$tmp/stderr"
}
reported() { grep -qx "$1" "$tmp/report"; }

tap_plan 27

# 1. First run: the 19:45 line is in a minute not over yet (now 19:45:30).
run $((t1945 + 30)) --log="$data/syslog.log"
rc=$?
tap_check "first run succeeds" test $rc -eq 0
tap_check "counts 20 lines, defers 1, finds 1 malformed" \
  eval 'reported "statistics counted: 20" && reported "deferred (minute not over): 1" && reported "malformed: 1"'
check_values "19:40: 3 SMTP sessions, 7 child sessions" session.rrd "$(end $t1940)" smtp=3 child=7
check_values "19:41: a minute without sessions is zero" session.rrd "$(end $((t1940 + 60)))" smtp=0 child=0
check_values "19:42: 2 SMTP sessions, 3 child sessions" session.rrd "$(end $t1942)" smtp=2 child=3
check_values "19:44: 1 SMTP session" session.rrd "$(end $t1944)" smtp=1
check_values "19:40: merged verdicts" milter-manager.status.rrd "$(end $t1940)" \
  pass=2 reject=1 accept=0 discard=0
check_values "19:42: merged verdicts" milter-manager.status.rrd "$(end $t1942)" \
  discard=1 temporary_failure=1 pass=0
check_values "19:42: milter-greylist: temporary failure and stop" \
  milter.status.milter-greylist.rrd "$(end $t1942)" temporary_failure=1 stop=1 pass=0
check_values "19:40: spamass-milter: pass, reject, accept" \
  milter.status.spamass-milter.rrd "$(end $t1940)" pass=1 reject=1 accept=1
check_values "19:40: header findings" milter-manager.report.rrd "$(end $t1940)" \
  spam=1 uribl=1 dkim_pass=1 spf_fail=1 spf_pass=0 virus=0
check_values "19:40: findings by milter" milter.report.opendkim.rrd "$(end $t1940)" \
  dkim_pass=1 spf_fail=1 spam=0
check_values "19:42: clamav-milter found a virus" milter.report.clamav-milter.rrd "$(end $t1942)" virus=1
check_values "19:45 is not stored yet" session.rrd "$(end $t1945)" smtp=nan

# 2. The same log again changes nothing.
dump_all() { for f in "$out"/*.rrd; do rrdtool fetch "$f" AVERAGE -r 60 -s $t1940 -e $((t1947 + 60)); done; }
dump_all >"$tmp/before"
run $((t1945 + 30)) --log="$data/syslog.log"
tap_check "second run: nothing counted, 20 lines already stored" \
  eval 'reported "statistics counted: 0" && reported "already stored: 20"'
dump_all >"$tmp/after"
tap_check "second run: RRD files unchanged" cmp -s "$tmp/before" "$tmp/after"

# 3. Once 19:45 is over, its line is counted, and only it.
run $((t1946 + 5)) --log="$data/syslog.log"
tap_check "third run counts the deferred line only" \
  eval 'reported "statistics counted: 1" && reported "already stored: 20"'
check_values "19:45: 1 SMTP session" session.rrd "$(end $t1945)" smtp=1

# 4. Our own file log format, read from standard input.
run $((t1947 + 90)) <"$data/file.log"
tap_check "file log from standard input: 4 lines counted" reported "statistics counted: 4"
check_values "19:46: 1 SMTP session, 1 child session" session.rrd "$(end $t1946)" smtp=1 child=1
check_values "19:47: quarantine and pass" milter-manager.status.rrd "$(end $t1947)" \
  quarantine=1 pass=1

# 5. Graphs: every range of every graph is a valid PNG, and index.html shows them all.
png_ok() {
  # signature, IHDR first, IEND last, and every chunk's CRC
  /usr/bin/python3 - "$@" <<'PY'
import struct, sys, zlib
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, names = 8, []
    while pos < len(data):
        length, name = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(name + body) & 0xffffffff == crc, path
        names.append(name)
        pos += 12 + length
    assert names[0] == b"IHDR" and names[-1] == b"IEND", path
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 600 and height >= 200, path
PY
}
pngs=("$out"/*.png)
# per range: sessions, status, report, the milters overview, and 2 per child (4 children)
tap_check "48 graphs drawn (4 ranges x 12)" test "${#pngs[@]}" -eq 48
if [ -x /usr/bin/python3 ]; then
  tap_check "every graph is a valid PNG of at least 600x200" png_ok "${pngs[@]}"
else
  tap_skip "/usr/bin/python3 is needed to check PNG chunks"
fi
html_ok() {
  local html="$out/index.html" src
  grep -q "<title>milter manager statistics</title>" "$html" || return 1
  for range in day week month year; do grep -q "id=\"$range\"" "$html" || return 1; done
  for src in $(grep -o 'src="[^"]*"' "$html" | sed 's/src="//; s/"$//'); do
    [ -s "$out/$src" ] || return 1
  done
  [ "$(grep -c '<img ' "$html")" -eq 48 ]
}
tap_check "index.html shows every graph, each file exists" html_ok

# 6. Data source names carry no '-' (RRDtool 1.5 refuses them).
tap_check "no data source name contains '-'" \
  eval '! for f in "$out"/*.rrd; do rrdtool info "$f"; done | grep "^ds\[" | grep -q "^ds\[[^]]*-"'

# 7. Errors are reported, not crashed on.
"$analyzer" --output-directory="$out" --log="$tmp/missing.log" >/dev/null 2>"$tmp/stderr"
rc=$?
tap_check "a missing log is an error naming it" \
  eval '[ $rc -eq 1 ] && grep -q "missing.log" "$tmp/stderr"'
mkdir "$tmp/old"
rrdtool create "$tmp/old/session.rrd" --step 60 DS:smtp-sessions:GAUGE:180:0:U RRA:AVERAGE:0.5:1:10 2>/dev/null ||
  rrdtool create "$tmp/old/session.rrd" --step 60 DS:smtp_old:GAUGE:180:0:U RRA:AVERAGE:0.5:1:10
"$analyzer" --output-directory="$tmp/old" --log="$data/syslog.log" >/dev/null 2>"$tmp/stderr"
rc=$?
tap_check "an RRD file of another layout is an error naming the missing data source" \
  eval '[ $rc -eq 1 ] && grep -q "no data source \"smtp\"" "$tmp/stderr"'
