# SPDX-License-Identifier: GPL-3.0-or-later
# common.sh: sourced by test/e2e/test-conditions-*.sh: recording children, a daemon with the
# shipped applicable conditions and a configuration of the test's own, sessions, record checks.
. "$top_srcdir/test/lib/tap.sh"

mm="$top_builddir/src/milter-manager"
server="$top_builddir/src/milter-test-server"
client="$top_builddir/src/milter-test-client"
[ -x "$mm" ] || tap_skip_all "src/milter-manager is not built"
[ -x "$server" ] && [ -x "$client" ] || tap_skip_all "the tools are not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-conditions.XXXXXX")
tap_at_exit "rm -rf '$tmp'"
chmod 0755 "$tmp"
# Started as root the daemon gives up root: keep root so that it reaches the children here.
if [ "$(id -u)" = 0 ]; then self_user=root; else self_user=$(id -un); fi

# start_client NAME ARGS...: a milter-test-client on unix:$tmp/NAME.sock recording to
# $tmp/NAME.rec (one line per packet, macros as "[macro] STAGE name=value ...")
start_client() {
  local name=$1; shift
  "$client" -s "unix:$tmp/$name.sock" --record "$tmp/$name.rec" -q "$@" \
    >/dev/null 2>"$tmp/$name.err" &
  tap_at_exit "kill -9 $!"
  wait_for 10 grep -qs "listening on" "$tmp/$name.err"
}

# milter_block NAME CONDITION...: a define_milter block for child NAME with those conditions
milter_block() {
  local name=$1 list="" condition; shift
  for condition in "$@"; do list="$list${list:+, }\"$condition\""; done
  printf 'define_milter("%s") do |milter|\n' "$name"
  printf '  milter.connection_spec = "unix:%s/%s.sock"\n' "$tmp" "$name"
  printf '  milter.applicable_conditions = [%s]\n' "$list"
  printf 'end\n'
}

# start_daemon NAME < CONFIGURATION: the daemon on unix:$tmp/NAME.sock, logging everything to
# $tmp/NAME.log, with the shipped applicable-conditions/*.conf loaded before CONFIGURATION
start_daemon() {
  local name=$1 dir="$tmp/$1.conf.d"
  mkdir -p "$dir"
  cp -r "$top_srcdir/conf/applicable-conditions" "$dir/"
  {
    echo "manager.pid_file = nil"
    echo 'load("applicable-conditions/*.conf")'
    cat
  } >"$dir/milter-manager.conf"
  chmod -R a+rX "$dir"
  "$mm" --no-daemon -c "$dir" -u "$self_user" -s "unix:$tmp/$name.sock" \
    --pid-file="$tmp/$name.pid" --log-path="$tmp/$name.log" --log-level=all \
    >"$tmp/$name.stdout" 2>&1 &
  daemon_pid=$!
  tap_at_exit "kill -9 $daemon_pid"
  if ! wait_for 30 grep -qs "started: listening" "$tmp/$name.log"; then
    tap_diag "the daemon $name did not start:" "$(tail -20 "$tmp/$name.stdout" "$tmp/$name.log")"
    return 1
  fi
}

# session DAEMON ARGS...: one milter-test-server session through DAEMON after emptying every
# record; output in $tmp/out, status in $rc. The log lines it wrote are in $tmp/session.log.
session() {
  local name=$1 before; shift
  local record
  for record in "$tmp"/*.rec; do [ -e "$record" ] && : >"$record"; done
  before=$(wc -l <"$tmp/$name.log")
  "$server" -s "unix:$tmp/$name.sock" --reading-timeout 10 "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  # The daemon logs the session's end after answering: give it a moment.
  sleep 0.05
  tail -n +"$((before + 1))" "$tmp/$name.log" >"$tmp/session.log"
  [ "$rc" = 0 ] || tap_diag "milter-test-server $* exited $rc:" "$(cat "$tmp/err")"
}

# got CHILD STAGE: CHILD received STAGE's command ([connect], [mail], [rcpt], [data], ...)
got() { grep -q "^\[$2\]" "$tmp/$1.rec"; }
# count CHILD STAGE: how many STAGE commands CHILD received
count() { grep -c "^\[$2\]" "$tmp/$1.rec"; }
# applied CHILD: CHILD saw the whole message (its end-of-message)
applied() { got "$1" end-of-message; }
# out_at_connect CHILD: CHILD was never given the session (no CONNECT; told to quit)
out_at_connect() { ! got "$1" connect && got "$1" quit; }
# macro CHILD STAGE NAME=VALUE: CHILD received that macro with STAGE's command
macro() { grep "^\[macro\] $2 " "$tmp/$1.rec" | grep -q -- " $3\( \|$\)"; }
# logged TEXT: the last session logged a line holding TEXT
logged() { grep -qF -- "$1" "$tmp/session.log"; }
# status STATUS: the session's merged answer
status() { [ "$rc" = 0 ] && [ "$(head -1 "$tmp/out")" = "status: $1" ]; }
# explain CHILD...: diagnostics after a failed point: the records and the session's log
explain() {
  local child
  for child in "$@"; do tap_diag "$child.rec:" "$(grep -v '^\[negotiate\]' "$tmp/$child.rec")"; done
  tap_diag "output:" "$(cat "$tmp/out")" \
    "log (conditions, warnings, errors):" "$(grep -v '\[debug\] \[session\]\|\[statistics\]' "$tmp/session.log" | tail -20)"
}
# point DESCRIPTION COMMAND...: tap_check, with the records and log shown on failure
point() {
  local desc=$1; shift
  if "$@"; then tap_ok "$desc"; else tap_not_ok "$desc"; explain $explain_children; fi
}
explain_children=""
