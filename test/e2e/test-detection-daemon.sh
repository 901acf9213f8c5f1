#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-detection-daemon.sh: detection through the daemon with the shipped configuration:
# --show-config on fixture trees, broken files not fatal, SIGHUP after disabling a service.
. "$top_srcdir/test/lib/tap.sh"

mm="$top_builddir/src/milter-manager"
fixtures="$top_srcdir/test/detection"
[ -x "$mm" ] || tap_skip_all "src/milter-manager is not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-detection-daemon.XXXXXX")
tap_at_exit "rm -rf '$tmp'"
chmod 0755 "$tmp"
# The shipped milter-manager.conf and defaults, with the platform fixed by the local file.
conf="$tmp/conf"
mkdir -p "$conf/defaults"
cp "$top_srcdir/conf/milter-manager.conf" "$conf/"
cp "$top_srcdir"/conf/defaults/*.conf "$conf/defaults/"
chmod -R a+rX "$conf"
set_platform() { printf 'package.platform = "%s"\nload_default\n' "$1" > "$conf/milter-manager.local.conf"; }

# show_config ROOT: --show-config with detection rooted at ROOT; stdout, stderr apart
show_config() {
  MILTER_MANAGER_DETECTION_ROOT="$1" "$mm" -c "$conf" --show-config \
    >"$tmp/out" 2>"$tmp/err"
}
# milter_block NAME: the dump of one define_milter block, with the comment line above it
milter_block() {
  awk -v name="define_milter(\"$1\")" '
    /^# detected: / { last = $0 }
    index($0, name) == 1 { print last; on = 1 }
    on { print }
    on && /^end$/ { exit }' "$tmp/out"
}
has() { grep -qF -- "$2" <<<"$1"; }

tap_plan 14

# --- --show-config on each platform ---------------------------------------------------------
set_platform debian
show_config "$fixtures/debian12/enabled"; status=$?
tap_check "debian: --show-config exits 0" test "$status" = 0
block=$(milter_block opendkim)
tap_check "debian: opendkim defined from /etc/opendkim.conf, enabled" \
  eval 'has "$block" "# detected: /etc/opendkim.conf" &&
        has "$block" "milter.connection_spec = \"unix:/run/opendkim/opendkim.sock\"" &&
        has "$block" "milter.enabled = true"'
block=$(milter_block spamass-milter)
tap_check "debian: spamass-milter from its init script, Postfix's spool socket" \
  eval 'has "$block" "unix:/var/spool/postfix/spamass/spamass.sock" &&
        has "$block" "milter.enabled = true"'
block=$(milter_block milter-greylist)
tap_check "debian: milter-greylist's 30 s tarpit is added to its reading timeout" \
  has "$block" "milter.reading_timeout = 37.0"
tap_check "debian: detection logged nothing on standard error" test ! -s "$tmp/err"
[ -s "$tmp/err" ] && tap_diag "$(cat "$tmp/err")"

show_config "$fixtures/debian12/disabled"
tap_check "debian: disabled services are defined with enabled = false" \
  eval '[ "$(grep -c "milter.enabled = false" "$tmp/out")" = 6 ] &&
        ! grep -q "milter.enabled = true" "$tmp/out"'

set_platform redhat
show_config "$fixtures/alma9/enabled"
block=$(milter_block spamass-milter)
tap_check "redhat: spamass-milter-postfix's socket from /etc/sysconfig" \
  eval 'has "$block" "# detected: /etc/sysconfig/spamass-milter" &&
        has "$block" "unix:/run/spamass-milter/postfix/sock"'

set_platform freebsd
show_config "$fixtures/freebsd14/profiles"
tap_check "freebsd: one milter per OpenDKIM profile" \
  eval 'has "$(milter_block milter-opendkim-sign)" "unix:/var/run/milteropendkim/sign.sock" &&
        has "$(milter_block milter-opendkim-verify)" "milter.enabled = false"'

# --- a file detection cannot parse is logged and the daemon still starts ------------------
set_platform debian
broken="$tmp/broken"
cp -a "$fixtures/debian12/enabled" "$broken"
echo "MilterSocket inet:port@localhost" > "$broken/etc/clamav/clamav-milter.conf"
show_config "$broken"; status=$?
tap_check "broken: --show-config still exits 0" test "$status" = 0
tap_check "broken: [detector][error] FILE: reason on standard error" \
  grep -q '\[detector\]\[error\] /etc/clamav/clamav-milter.conf: socket "inet:port@localhost"' "$tmp/err"
tap_check "broken: the other milters are defined" \
  eval 'has "$(milter_block opendkim)" "milter.enabled = true" && ! grep -q "clamav-milter" "$tmp/out"'

# --- SIGHUP: disable a service, reload, the milter is defined disabled ------------------------
root="$tmp/root"
cp -a "$fixtures/debian12/enabled" "$root"
chmod -R a+rX "$root"
if [ "$(id -u)" = 0 ]; then self_user=root; else self_user=$(id -un); fi
log="$tmp/daemon.log"
MILTER_MANAGER_DETECTION_ROOT="$root" "$mm" -c "$conf" -u "$self_user" --log-level=all \
  --log-path="$log" -s "unix:$tmp/mm.sock" --pid-file "$tmp/mm.pid" --no-daemon >"$tmp/daemon.out" 2>&1 &
pid=$!
tap_at_exit "kill -KILL $pid"
# The first load logs to standard error: the log file is opened once the daemon serves.
wait_log() {
  local i=0
  until cat "$tmp/daemon.out" "$log" 2>/dev/null | grep -qF -- "$1"; do
    i=$((i + 1)); [ "$i" -ge 100 ] && return 1; sleep 0.1
  done
}
tap_check "daemon: started with opendkim enabled" \
  eval 'wait_log "[detector][info] opendkim: unix:/run/opendkim/opendkim.sock, enabled" &&
        wait_log "started: listening on"'
# what "systemctl disable opendkim" does to the tree
rm "$root/etc/systemd/system/multi-user.target.wants/opendkim.service"
kill -HUP "$pid"
tap_check "daemon: after SIGHUP opendkim is defined disabled" \
  eval 'wait_log "reloaded the configuration" &&
        wait_log "[detector][info] opendkim: unix:/run/opendkim/opendkim.sock, disabled"'
kill -TERM "$pid"
wait "$pid"; status=$?
tap_check "daemon: SIGTERM stops it with status 0" test "$status" = 0
[ "$status" = 0 ] || tap_diag "$(cat "$tmp/daemon.out" "$log" 2>/dev/null | tail -20)"
