#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-captures.sh: checks the byte captures in test/data/captures: format, framing, and that
# together they cover the commands and replies the codec tests rely on.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/test/lib/tap.sh"

PYTHON=/usr/bin/python3
CAPTURE="$top_srcdir/test/lib/milter-capture.py"
dir=$top_srcdir/test/data/captures
[ -x "$PYTHON" ] || tap_skip_all "$PYTHON not installed"
files=$(ls "$dir"/*.txt 2>/dev/null)
[ -n "$files" ] || tap_skip_all "no captures in $dir"

count=$(echo "$files" | wc -l)
tap_plan $((count + 3))
for file in $files; do
  tap_check "$(basename "$file"): well-formed capture" "$PYTHON" "$CAPTURE" --check "$file"
done

# covered DIRECTION CODES: every command code in CODES occurs in some capture
covered() {
  local mark=$1 codes=$2 seen code missing=""
  # Characters 11-12 of "> LLLLLLLLCC..." are the command code in hex.
  seen=$(grep -h "^$mark " $files | cut -c11-12 | sort -u |
         "$PYTHON" -c 'import sys; print("".join(chr(int(h, 16)) for h in sys.stdin.read().split()))')
  for code in $(echo "$codes" | fold -w1); do
    case "$seen" in *"$code"*) ;; *) missing="$missing $code";; esac
  done
  [ -z "$missing" ] || tap_diag "missing $mark codes:$missing"
  [ -z "$missing" ]
}
tap_check "MTA commands covered: O D C H U M R T L N B E A Q" covered '>' 'ODCHUMRTLNBEAQ'
tap_check "milter replies covered: O c a r t d s y h i m b + 2 - e q p" covered '<' 'Ocartdsyhimb+2-eqp'
tap_check "README.md says how the captures were made" \
  grep -q 'make-captures.sh' "$dir/README.md"
