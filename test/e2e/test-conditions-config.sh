#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-conditions-config.sh: --show-config lists the defined conditions and each milter's
# conditions; detection gives the detected milters 2.3's default conditions, when defined.
. "$top_srcdir/test/lib/tap.sh"

mm="$top_builddir/src/milter-manager"
fixtures="$top_srcdir/test/detection"
[ -x "$mm" ] || tap_skip_all "src/milter-manager is not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-conditions-config.XXXXXX")
tap_at_exit "rm -rf '$tmp'"
# The shipped configuration: milter-manager.conf, applicable-conditions/, defaults/.
conf="$tmp/conf"
mkdir -p "$conf/defaults"
cp "$top_srcdir/conf/milter-manager.conf" "$conf/"
cp -r "$top_srcdir/conf/applicable-conditions" "$conf/"
cp "$top_srcdir"/conf/defaults/*.conf "$conf/defaults/"
set_local() { printf '%s\n' "$@" >"$conf/milter-manager.local.conf"; }

# show_config [ROOT]: --show-config (detection rooted at ROOT) into $tmp/out and $tmp/err
show_config() {
  MILTER_MANAGER_DETECTION_ROOT="${1:-$tmp/empty}" "$mm" -c "$conf" --show-config \
    >"$tmp/out" 2>"$tmp/err"
}
# conditions_of MILTER: its applicable_conditions from the dump, comma-separated
conditions_of() {
  awk -v name="define_milter(\"$1\")" '
    index($0, name) == 1 { on = 1 }
    on && /applicable_conditions = \[\]/ { exit }
    on && /applicable_conditions = \[/ { list = 1; next }
    on && list && /^  \]/ { exit }
    on && list && /^    "/ { gsub(/^ *"|",?$/, ""); out = out (out == "" ? "" : ",") $0 }
    on && /^end$/ { exit }
    END { print out }' "$tmp/out"
}
# expect MILTER LIST: the milter's conditions are exactly LIST (diagnostic otherwise)
expect() {
  local got
  grep -qF "define_milter(\"$1\") do |milter|" "$tmp/out" || { tap_diag "$1 is not defined"; return 1; }
  got=$(conditions_of "$1")
  [ "$got" = "$2" ] && return 0
  tap_diag "$1: expected [$2], got [$got]"
  return 1
}
greylist="Sendmail Compatible,Stress Notify,Trust,Remote Network,S25R,Unauthenticated"
spam="Remote Network,Unauthenticated,No Stress"

tap_plan 9

mkdir -p "$tmp/empty"
set_local 'define_applicable_condition("Office hours") do |condition|' \
  '  condition.description = "Only between nine and five"' \
  '  condition.define_connect_stopper {|context, host, address| false}' \
  'end' \
  'define_milter("filter") do |milter|' \
  '  milter.connection_spec = "inet:32010@[127.0.0.1]"' \
  '  milter.applicable_conditions = ["Remote Network", "Office hours"]' \
  'end'
show_config; status=$?
shipped="Authenticated Unauthenticated DNSBL_Listed Not_DNSBL_Listed Remote_Network S25R
Sendmail_Compatible Stress_Notify No_Stress Trust Office_hours"
missing=""
for name in $shipped; do
  grep -qF "define_applicable_condition(\"${name//_/ }\") do |condition|" "$tmp/out" ||
    missing="$missing ${name//_/ };"
done
tap_check "--show-config: every shipped condition and the local one are listed" \
  eval '[ "$status" = 0 ] && [ -z "$missing" ]'
if [ -n "$missing" ]; then tap_diag "missing:$missing"; fi
tap_check "--show-config: a condition's description is shown" \
  grep -qF 'condition.description = "Only between nine and five"' "$tmp/out"
tap_check "--show-config: a milter's conditions, in order" expect filter "Remote Network,Office hours"

set_local 'package.platform = "debian"' 'load_default'
show_config "$fixtures/debian12/enabled"
tap_check "debian: milter-greylist gets 2.3's six conditions" expect milter-greylist "$greylist"
tap_check "debian: spamass-milter and rspamd get Remote Network, Unauthenticated, No Stress" \
  eval 'expect spamass-milter "$spam" && expect rspamd "$spam"'
tap_check "debian: clamav-milter, opendkim and opendmarc get none" \
  eval 'expect clamav-milter "" && expect opendkim "" && expect opendmarc "" && [ ! -s "$tmp/err" ]'

set_local 'package.platform = "redhat"' 'load_default'
show_config "$fixtures/alma9/enabled"
tap_check "redhat: milter-greylist, spamass-milter, rspamd as 2.3; clamav-milter, opendkim none" \
  eval 'expect milter-greylist "$greylist" && expect spamass-milter "$spam" && expect rspamd "$spam" &&
        expect clamav-milter "" && expect opendkim ""'

set_local 'package.platform = "freebsd"' 'load_default'
show_config "$fixtures/freebsd14/enabled"
tap_check "freebsd: milter-greylist, spamass-milter, rspamd as 2.3; milter-opendkim none" \
  eval 'expect milter-greylist "$greylist" && expect spamass-milter "$spam" && expect rspamd "$spam" &&
        expect milter-opendkim ""'

# Without s25r.conf the condition is not defined: the others are still given, no error.
rm "$conf/applicable-conditions/s25r.conf"
set_local 'package.platform = "debian"' 'load_default'
show_config "$fixtures/debian12/enabled"; status=$?
tap_check "an undefined condition (no s25r.conf) is left out, without an error" \
  eval '[ "$status" = 0 ] && [ ! -s "$tmp/err" ] &&
        expect milter-greylist "Sendmail Compatible,Stress Notify,Trust,Remote Network,Unauthenticated"'
if [ -s "$tmp/err" ]; then tap_diag "$(head -5 "$tmp/err")"; fi
