# SPDX-License-Identifier: GPL-3.0-or-later
# peers.sh: start and stop the test peers (scripted-milter, python3-milter milters) from shell
# tests (sourced after test/lib/tap.sh); every peer is stopped when the test exits.

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/_build}"
PEERS_SCRIPTED_MILTER=${PEERS_SCRIPTED_MILTER:-$top_builddir/test/peers/scripted-milter}
PEERS_PYTHON=${PEERS_PYTHON:-/usr/bin/python3}   # the python3 first on PATH may lack Milter
PEERS_DIR_PY=$top_srcdir/test/peers
PEERS_WAIT_TENTHS=${PEERS_WAIT_TENTHS:-100}
peers_pids=""

# peers_have_scripted_milter - succeed when scripted-milter was built (else print why)
peers_have_scripted_milter() {
  [ -x "$PEERS_SCRIPTED_MILTER" ] && return 0
  echo "scripted-milter not built (libmilter-dev missing?): $PEERS_SCRIPTED_MILTER"
  return 1
}

# peers_have_python_milter - succeed when /usr/bin/python3 can import Milter (else print why)
peers_have_python_milter() {
  "$PEERS_PYTHON" -c 'import Milter' >/dev/null 2>&1 && return 0
  echo "python3-milter missing: $PEERS_PYTHON cannot import Milter"
  return 1
}

# peers_wait_socket - poll until PATH is a UNIX socket (bounded)
peers_wait_socket() {
  local n=0
  while [ "$n" -lt "$PEERS_WAIT_TENTHS" ]; do
    [ -S "$1" ] && return 0
    sleep 0.1; n=$((n + 1))
  done
  return 1
}

# peers_stop - SIGTERM one peer and reap it; sets peers_status to its exit status. Not in a
# $(...) subshell: only this shell can reap it. libmilter notices a stop request only when
# its listener's poll times out, so this takes a few seconds.
peers_stop() {
  kill -TERM "$1" 2>/dev/null
  wait "$1" 2>/dev/null
  peers_status=$?
}

# peers_stop_all - SIGTERM every peer started so far at once, then reap them
peers_stop_all() {
  local pid
  for pid in $peers_pids; do kill -TERM "$pid" 2>/dev/null; done
  for pid in $peers_pids; do wait "$pid" 2>/dev/null; done
  peers_pids=""
}

# peers_start - run CMD... in the background until SOCKET_PATH appears; sets peers_pid
# Usage: peers_start LOG SOCKET_PATH CMD...   (every peer is stopped at exit)
peers_start() {
  local log=$1 socket=$2; shift 2
  "$@" >"$log" 2>&1 &
  peers_pid=$!
  [ -n "$peers_pids" ] || tap_at_exit "peers_stop_all"
  peers_pids="$peers_pids $peers_pid"
  if ! peers_wait_socket "$socket"; then
    echo "peers_start: no socket $socket from: $*" >&2
    cat "$log" >&2
    return 1
  fi
  return 0
}

# peers_start_scripted - scripted-milter on unix:SOCKET_PATH with OPTIONS...; sets peers_pid
peers_start_scripted() {
  local socket=$1; shift
  peers_start "$socket.log" "$socket" "$PEERS_SCRIPTED_MILTER" -s "unix:$socket" "$@"
}

# peers_start_python - test/peers/NAME.py on unix:SOCKET_PATH with OPTIONS...; sets peers_pid
peers_start_python() {
  local name=$1 socket=$2; shift 2
  peers_start "$socket.log" "$socket" "$PEERS_PYTHON" "$PEERS_DIR_PY/$name.py" --socket "unix:$socket" "$@"
}
