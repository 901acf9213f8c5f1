#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-privileges.sh: started as root the daemon binds, then runs as the configured user and
# group with no privilege left (from /proc); socket owners and modes; unsafe config refused.
. "$top_srcdir/test/e2e/reliability.sh"

[ "$(id -u)" = 0 ] || tap_skip_all "needs root (to give it up)"
user=nobody
group=$(id -gn "$user" 2>/dev/null) || tap_skip_all "no user $user"
uid=$(id -u "$user")
gid=$(getent group "$group" | cut -d: -f3)
# The sockets' group: another group than the user's, so that it is really applied.
socket_group=$(getent group mail >/dev/null && echo mail || echo daemon)

rl_tmp test-privileges
mkdir -p "$tmp/run" "$tmp/log"
chown "$user" "$tmp/run" "$tmp/log"
rl_child one ok
chmod 0777 "$tmp/one.sock" # the child lets the unprivileged daemon in
rl_config d "security.effective_user = \"$user\"
security.effective_group = \"$group\"
manager.unix_socket_mode = 0620
manager.unix_socket_group = \"$socket_group\"
controller.connection_spec = \"unix:$tmp/run/control.sock\"
controller.unix_socket_mode = 0600
controller.unix_socket_group = \"$socket_group\"
$(rl_milter one)"

tap_plan 13

"$rl_mm" --no-daemon -c "$tmp/d.d" -s "unix:$tmp/run/mm.sock" --log-path="$tmp/log/d.log" \
  --log-level=all >"$tmp/d.stdout" 2>"$tmp/d.stderr" &
pid=$!
tap_at_exit "kill -9 $pid"
if ! wait_for 30 grep -qs "started: listening" "$tmp/log/d.log"; then
  tap_diag "$(tail -5 "$tmp/d.stderr" "$tmp/log/d.log" 2>&1)"
  tap_skip_all "the daemon did not start as root"
fi

status_line() { awk -v key="$1:" '$1 == key { $1 = ""; sub(/^ /, ""); print }' "/proc/$pid/status"; }
uids=$(status_line Uid)
gids=$(status_line Gid)
tap_check "runs as $user: real, effective, saved and fs uid all $uid ($uids)" \
  test "$(echo $uids)" = "$uid $uid $uid $uid"
tap_check "runs as group $group: real, effective, saved and fs gid all $gid ($gids)" \
  test "$(echo $gids)" = "$gid $gid $gid $gid"
groups=$(status_line Groups)
expected_groups=$(id -G "$user" | tr ' ' '\n' | sort -n | tr '\n' ' ')
tap_check "supplementary groups are the user's own ($groups)" \
  test "$(echo $groups | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "$expected_groups"
caps="$(status_line CapInh) $(status_line CapPrm) $(status_line CapEff) $(status_line CapAmb)"
tap_check "no capability left: inheritable, permitted, effective, ambient ($caps)" \
  test "$caps" = "0000000000000000 0000000000000000 0000000000000000 0000000000000000"

socket_stat=$(stat -c '%U %G %a' "$tmp/run/mm.sock")
tap_check "the MTA socket: owner $user, group $socket_group, mode 620 ($socket_stat)" \
  test "$socket_stat" = "$user $socket_group 620"
control_stat=$(stat -c '%U %G %a' "$tmp/run/control.sock")
tap_check "the control socket: owner $user, group $socket_group, mode 600 ($control_stat)" \
  test "$control_stat" = "$user $socket_group 600"

# Sessions still work as nobody (the child's socket allows it).
rl_out=$("$rl_python" "$rl_peer" mta "$tmp/run/mm.sock" $rl_full_session 2>&1)
tap_check "a session passes once root is given up" \
  eval 'grep -q "^eom c$" <<<"$rl_out" && grep -q "^quit closed$" <<<"$rl_out"'

# No path from a peer's data is opened: file system calls of a session whose every field
# names a path (strace follows the daemon while it serves).
if strace -f -qq -e trace=%file -o "$tmp/strace.out" -p "$pid" 2>"$tmp/strace.err" &
  then strace_pid=$!; fi
sleep 1
if [ -n "${strace_pid:-}" ] && alive "$strace_pid"; then
  bait="$tmp/peer-path-bait"
  echo secret >"$bait"
  "$rl_python" - "$tmp/run/mm.sock" "$bait" <<'EOF' >"$tmp/bait.out" 2>&1
import socket, struct, sys
def packet(code, data=b""):
    return struct.pack(">I", len(data) + 1) + code + data
p = sys.argv[2].encode() + b"\0"
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
cmds = [packet(b"O", struct.pack(">III", 6, 0x1FF, 0)),
        packet(b"D", b"C" + b"j\0" + p + b"{path}\0" + p),
        packet(b"C", p + b"L" + struct.pack(">H", 0) + p),
        packet(b"H", p), packet(b"M", b"<" + p[:-1] + b">\0" + p), packet(b"R", p),
        packet(b"T"), packet(b"L", b"X-Path\0" + p), packet(b"N"), packet(b"B", p),
        packet(b"U", p), packet(b"E")]
for c in cmds:
    s.sendall(c)
    if c[4:5] == b"D":
        continue
    while True:
        head = s.recv(4, socket.MSG_WAITALL)
        (n,) = struct.unpack(">I", head)
        body = s.recv(n, socket.MSG_WAITALL)
        if body[:1] in b"Ocatrdsy":
            break
s.sendall(packet(b"Q"))
print("done")
EOF
  # SIGUSR1 reopens the log: one file call that must show, or the trace saw nothing.
  kill -USR1 "$pid"
  wait_for 10 grep -qs "$tmp/log/d.log" "$tmp/strace.out"
  kill "$strace_pid" 2>/dev/null; wait "$strace_pid" 2>/dev/null
  tap_check "a session naming paths everywhere ran" grep -q done "$tmp/bait.out"
  tap_check "the trace saw the daemon's own file calls (the log reopened)" \
    grep -q "$tmp/log/d.log" "$tmp/strace.out"
  if grep -q "peer-path-bait" "$tmp/strace.out"; then
    tap_not_ok "no path from the peer's data was opened"
    grep "peer-path-bait" "$tmp/strace.out" | head -5 | while IFS= read -r l; do tap_diag "$l"; done
  else
    tap_ok "no path from the peer's data was opened ($(wc -l <"$tmp/strace.out") file calls traced)"
  fi
else
  tap_skip "strace cannot attach here: $(head -1 "$tmp/strace.err" 2>/dev/null)"
  tap_skip "strace cannot attach here"
  tap_skip "strace cannot attach here"
fi

kill -TERM "$pid"
wait_for 30 dead "$pid"
wait "$pid"; status=$?
tap_check "stops cleanly as $user (exit $status)" test "$status" = 0

# A configuration directory, or file, writable by others is refused, naming it and the fix.
chmod o+w "$tmp/d.d"
"$rl_mm" --no-daemon -c "$tmp/d.d" -s "unix:$tmp/run/mm.sock" >"$tmp/w.out" 2>&1
rc=$?
tap_check "a configuration directory writable by others is refused (exit $rc)" \
  eval '[ "$rc" != 0 ] && grep -q "$tmp/d.d is writable by every user (mode 0757)" "$tmp/w.out"'
chmod o-w "$tmp/d.d"
chmod o+w "$tmp/d.d/milter-manager.conf"
"$rl_mm" --no-daemon -c "$tmp/d.d" -s "unix:$tmp/run/mm.sock" >"$tmp/w.out" 2>&1
rc=$?
tap_check "a configuration file writable by others is refused (exit $rc)" \
  eval '[ "$rc" != 0 ] && grep -q "milter-manager.conf is writable by every user.*chmod o-w" "$tmp/w.out"'
