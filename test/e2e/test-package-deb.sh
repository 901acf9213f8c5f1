#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-package-deb.sh: build the .deb, install it, run the unit's ExecStartPre/ExecStart with
# the defaults file (SOCKET_GROUP=postfix), check the socket, reload, restart, stop, remove.
. "$top_srcdir/test/lib/tap.sh"

[ "$(id -u)" = 0 ] || tap_skip_all "installing a package needs root"
for tool in dpkg-deb apt-get adduser file; do
  command -v "$tool" >/dev/null 2>&1 || tap_skip_all "$tool is not installed"
done
getent group postfix >/dev/null || tap_skip_all "no postfix group (Postfix is not installed)"
if dpkg-query -W -f='${Status}' milter-manager 2>/dev/null | grep -q "install ok installed"; then
  tap_skip_all "a milter-manager package is installed already; not touching it"
fi
if [ -e /run/milter-manager/milter-manager.sock ]; then
  tap_skip_all "/run/milter-manager/milter-manager.sock exists: a daemon may be running"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-package-deb.XXXXXX")
chmod 0755 "$tmp"
apt_options=(-y -q -o DPkg::Lock::Timeout=600)
user_existed=no
getent passwd milter-manager >/dev/null && user_existed=yes
# cleanup - stop what runs, remove the package, and the user when this test created it
cleanup() {
  if [ -f /run/milter-manager/milter-manager.pid ]; then
    kill -TERM "$(cat /run/milter-manager/milter-manager.pid)" 2>/dev/null
    sleep 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get purge "${apt_options[@]}" milter-manager >/dev/null 2>&1
  if [ "$user_existed" = no ] && getent passwd milter-manager >/dev/null; then
    deluser --quiet --system milter-manager >/dev/null 2>&1
    delgroup --quiet --system milter-manager >/dev/null 2>&1
  fi
  rm -rf /run/milter-manager "$tmp"
}
tap_at_exit cleanup

tap_plan 13

deb=$(bash "$top_srcdir/packaging/debian/build-deb.sh" "$top_srcdir" "$tmp/deb" 2>"$tmp/build.err" | tail -1)
if [ ! -f "$deb" ]; then
  tap_not_ok "the .deb builds"
  tap_diag "$(tail -20 "$tmp/build.err")"
  exit 1
fi
tap_ok "the .deb builds: $(basename "$deb")"
contents=$(dpkg-deb -c "$deb")
tap_check "it ships the daemon, the unit, the defaults file, tmpfiles.d and the detectors" \
  eval 'for f in ./usr/sbin/milter-manager ./lib/systemd/system/milter-manager.service \
                 ./etc/default/milter-manager ./usr/lib/tmpfiles.d/milter-manager.conf \
                 ./etc/milter-manager/defaults/debian.conf \
                 ./usr/share/milter-manager/ruby/milter/manager/detector.rb; do
          grep -qF " $f" <<<"$contents" || { tap_diag "missing $f"; exit 1; }; done'

DEBIAN_FRONTEND=noninteractive apt-get install "${apt_options[@]}" "$deb" >"$tmp/install.log" 2>&1
status=$?
tap_check "apt-get installs it" test "$status" = 0
[ "$status" = 0 ] || tap_diag "$(tail -20 "$tmp/install.log")"
tap_check "postinst created the system user and group milter-manager" \
  eval 'getent passwd milter-manager >/dev/null && getent group milter-manager >/dev/null &&
        [ "$(getent passwd milter-manager | cut -d: -f3)" -lt 1000 ]'

# The defaults file as an administrator running Postfix edits it; logging to a file so
# that the reload can be seen.
defaults=/etc/default/milter-manager
sed -i -e 's/^SOCKET_GROUP=.*/SOCKET_GROUP=postfix/' \
       -e "s#^OPTION_ARGS=.*#OPTION_ARGS=\"--log-level=all --log-path=$tmp/log/milter-manager.log\"#" \
       "$defaults"
install -d -o milter-manager -g milter-manager "$tmp/log"
log="$tmp/log/milter-manager.log"

unit=/lib/systemd/system/milter-manager.service
# unit_run KEY: run the unit's KEY= line as systemd would: its Environment= values, then the
# EnvironmentFile= files, ${VAR} and $VAR expanded, MAINPID from the pid file.
unit_run() {
  (
    set -a
    while IFS= read -r line; do eval "$line"; done < <(sed -n 's/^Environment=//p' "$unit" |
      tr ' ' '\n' | sed -n "s/^\([A-Z_]*\)=\(.*\)$/\1='\2'/p")
    for file in $(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit"); do
      [ -f "$file" ] && . "$file"
    done
    MAINPID=$(cat /run/milter-manager/milter-manager.pid 2>/dev/null)
    set +a
    command=$(sed -n "s/^$1=//p" "$unit")
    eval "$command"
  )
}
socket=/run/milter-manager/milter-manager.sock
socket_is() { [ -S "$socket" ] && [ "$(stat -c '%U %G %a' "$socket")" = "$1" ]; }

tap_check "ExecStartPre and ExecStart start the daemon" \
  eval 'unit_run ExecStartPre && unit_run ExecStart >"$tmp/start.out" 2>&1'
pid=$(cat /run/milter-manager/milter-manager.pid 2>/dev/null)
tap_check "it runs as milter-manager and wrote its pid file" \
  eval '[ -n "$pid" ] && [ "$(ps -o user= -p "$pid")" = milter-manager ]'
tap_check "the socket is milter-manager:postfix, mode 660 (SOCKET_GROUP, SOCKET_MODE)" \
  socket_is "milter-manager postfix 660"
[ -S "$socket" ] && tap_diag "socket: $(stat -c '%U %G %a' "$socket")"

unit_run ExecReload
wait_log() {
  local i=0
  until grep -qF -- "$1" "$log" 2>/dev/null; do
    i=$((i + 1)); [ "$i" -ge 100 ] && return 1; sleep 0.1
  done
}
tap_check "ExecReload reloads the configuration (with detection)" \
  eval 'wait_log "reloaded the configuration" && kill -0 "$pid"'
tap_check "after the reload the socket is unchanged" socket_is "milter-manager postfix 660"

# A restart: stop, start again; the group and mode come back from the defaults file.
kill -TERM "$pid"
i=0; while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
tap_check "SIGTERM stops it and removes the socket" eval '! kill -0 "$pid" 2>/dev/null && [ ! -e "$socket" ]'
unit_run ExecStartPre && unit_run ExecStart >>"$tmp/start.out" 2>&1
pid=$(cat /run/milter-manager/milter-manager.pid 2>/dev/null)
tap_check "after a restart the socket is milter-manager:postfix 660 again" \
  socket_is "milter-manager postfix 660"
kill -TERM "$pid" 2>/dev/null
i=0; while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

DEBIAN_FRONTEND=noninteractive apt-get purge "${apt_options[@]}" milter-manager >"$tmp/purge.log" 2>&1
tap_check "apt-get purge removes it" \
  eval '! dpkg-query -W -f="\${Status}" milter-manager 2>/dev/null | grep -q "install ok installed" &&
        [ ! -e /usr/sbin/milter-manager ]'
tap_check "nothing of it runs any more" eval '! kill -0 "$pid" 2>/dev/null'
