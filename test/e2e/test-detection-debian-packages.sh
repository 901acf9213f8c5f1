#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-detection-debian-packages.sh: install Debian's opendkim, spamass-milter and
# clamav-milter, enable them, and check that detection on this very system finds them with
# the sockets their own files name; disable one and check it; leave the system as found.
. "$top_srcdir/test/lib/tap.sh"

mm="$top_builddir/src/milter-manager"
[ -x "$mm" ] || tap_skip_all "src/milter-manager is not built"
[ -f /etc/debian_version ] || tap_skip_all "not a Debian system"
[ "$(id -u)" = 0 ] || tap_skip_all "installing packages needs root"
command -v apt-get >/dev/null 2>&1 || tap_skip_all "apt-get is not installed"
[ -x /usr/sbin/postfix ] || tap_skip_all "Postfix is not installed (spamass-milter's socket depends on it)"

packages=(opendkim spamass-milter clamav-milter)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-detection-debian.XXXXXX")
chmod 0755 "$tmp"
apt_options=(-y -q -o DPkg::Lock::Timeout=600)
installed() { dpkg-query -W -f='${db:Status-Status} ${Package}\n' 2>/dev/null | awk '$1 == "installed" {print $2}' | sort; }
installed >"$tmp/before"
opendkim_wanted=no
[ -e /etc/systemd/system/multi-user.target.wants/opendkim.service ] && opendkim_wanted=yes

# cleanup - purge what this test installed, put opendkim's enablement back
cleanup() {
  installed >"$tmp/after"
  new=$(comm -13 "$tmp/before" "$tmp/after")
  if [ -n "$new" ]; then
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get purge "${apt_options[@]}" $new >/dev/null 2>&1
  fi
  if [ -e /etc/systemd/system/opendkim.service ] || dpkg -s opendkim >/dev/null 2>&1; then
    if [ "$opendkim_wanted" = yes ]; then
      systemctl enable opendkim >/dev/null 2>&1
    else
      systemctl disable opendkim >/dev/null 2>&1
    fi
  fi
  rm -rf "$tmp"
}
tap_at_exit cleanup

# Packages must not start their daemons here (systemd may not be running): the usual
# policy-rc.d answer, only when the machine has none of its own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  tap_at_exit "rm -f /usr/sbin/policy-rc.d"
fi
if ! DEBIAN_FRONTEND=noninteractive apt-get install "${apt_options[@]}" \
       --no-install-recommends "${packages[@]}" >"$tmp/install.log" 2>&1; then
  tap_skip_all "apt-get install ${packages[*]} failed (no package mirror?): $(tail -1 "$tmp/install.log")"
fi

tap_plan 8

conf="$tmp/conf"
mkdir -p "$conf/defaults"
cp "$top_srcdir/conf/milter-manager.conf" "$conf/"
cp "$top_srcdir/conf/defaults/debian.conf" "$conf/defaults/"
printf 'package.platform = "debian"\nload_default\n' >"$conf/milter-manager.local.conf"
# show_config: detection of this system, as the packaged daemon would do it
show_config() {
  env -u MILTER_MANAGER_DETECTION_ROOT "$mm" -c "$conf" --show-config >"$tmp/out" 2>"$tmp/err"
}
milter_block() {
  awk -v name="define_milter(\"$1\")" '
    /^# detected: / { last = $0 }
    index($0, name) == 1 { print last; on = 1 }
    on { print }
    on && /^end$/ { exit }' "$tmp/out"
}
has() { grep -qF -- "$2" <<<"$1"; }
# The sockets the packages' own files name, read here independently of the detectors.
opendkim_spec=$(awk '$1 == "Socket" {print $2; exit}' /etc/opendkim.conf | sed 's/^local:/unix:/')
clamav_spec=$(awk '$1 == "MilterSocket" {print $2; exit}' /etc/clamav/clamav-milter.conf)
case "$clamav_spec" in /*) clamav_spec="unix:$clamav_spec";; esac
spamass_spec=unix:/var/spool/postfix/spamass/spamass.sock

systemctl enable opendkim >/dev/null 2>&1
update-rc.d spamass-milter defaults >/dev/null 2>&1
update-rc.d spamass-milter enable >/dev/null 2>&1
update-rc.d clamav-milter defaults >/dev/null 2>&1
update-rc.d clamav-milter enable >/dev/null 2>&1

show_config; status=$?
tap_check "--show-config on this system exits 0" test "$status" = 0
[ "$status" = 0 ] || tap_diag "$(cat "$tmp/err")"
block=$(milter_block opendkim)
tap_check "opendkim: $opendkim_spec from /etc/opendkim.conf, enabled" \
  eval 'has "$block" "# detected: /etc/opendkim.conf" &&
        has "$block" "milter.connection_spec = \"$opendkim_spec\"" && has "$block" "milter.enabled = true"'
block=$(milter_block spamass-milter)
tap_check "spamass-milter: $spamass_spec (Postfix is installed), enabled" \
  eval 'has "$block" "milter.connection_spec = \"$spamass_spec\"" && has "$block" "milter.enabled = true"'
block=$(milter_block clamav-milter)
tap_check "clamav-milter: $clamav_spec from clamav-milter.conf, enabled" \
  eval 'has "$block" "# detected: /etc/clamav/clamav-milter.conf" &&
        has "$block" "milter.connection_spec = \"$clamav_spec\"" && has "$block" "milter.enabled = true"'
tap_check "no detector error" eval '! grep -q "\[detector\]\[error\]" "$tmp/err"'
[ -s "$tmp/err" ] && tap_diag "$(cat "$tmp/err")"

systemctl disable opendkim >/dev/null 2>&1
update-rc.d spamass-milter disable >/dev/null 2>&1
show_config
tap_check "after systemctl disable opendkim it is defined with enabled = false" \
  has "$(milter_block opendkim)" "milter.enabled = false"
tap_check "after update-rc.d spamass-milter disable it is defined with enabled = false" \
  has "$(milter_block spamass-milter)" "milter.enabled = false"
tap_check "clamav-milter stays enabled" has "$(milter_block clamav-milter)" "milter.enabled = true"
