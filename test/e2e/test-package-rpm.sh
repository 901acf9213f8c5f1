#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-package-rpm.sh: the RPM spec builds a package (rpmbuild from Debian's rpm, without the
# Red Hat build dependencies) holding the daemon, tools, configuration and systemd files.
. "$top_srcdir/test/lib/tap.sh"

command -v rpmbuild >/dev/null 2>&1 || tap_skip_all "rpmbuild is not installed (Debian package rpm)"
[ -x "$top_srcdir/configure" ] || tap_skip_all "no configure script in the source tree"

version=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-package-rpm.XXXXXX")
tap_at_exit "rm -rf '$tmp'"
tap_plan 6

# A source tarball of this tree (as make dist would, without its build products).
mkdir -p "$tmp/SOURCES" "$tmp/src"
(cd "$top_srcdir" && tar --exclude='./_build*' --exclude='./.git' --exclude='*.o' -cf - .) |
  (mkdir "$tmp/src/milter-manager-$version" && cd "$tmp/src/milter-manager-$version" && tar xf -)
tar -C "$tmp/src" -czf "$tmp/SOURCES/milter-manager-$version.tar.gz" "milter-manager-$version"
sed "s/@VERSION@/$version/" "$top_srcdir/packaging/redhat/milter-manager.spec.in" >"$tmp/milter-manager.spec"

tap_check "the spec parses" \
  eval 'rpmspec --parse "$tmp/milter-manager.spec" >/dev/null 2>"$tmp/parse.err"'
rpmbuild --define "_topdir $tmp" -bb --nodeps "$tmp/milter-manager.spec" >"$tmp/build.log" 2>&1
status=$?
tap_check "rpmbuild -bb builds the package (every installed file is listed in %files)" \
  test $status -eq 0
[ $status -eq 0 ] || tap_diag "$(tail -n 30 "$tmp/build.log")"
rpm=$(ls "$tmp"/RPMS/*/milter-manager-"$version"-*.rpm 2>/dev/null | head -n 1)
rpm -qlp "$rpm" >"$tmp/files" 2>/dev/null
tap_check "the package holds the daemon and the shared library" \
  eval 'grep -qx /usr/sbin/milter-manager "$tmp/files" && grep -q "/libmilter-manager.so" "$tmp/files"'
tap_check "the package holds the tools" \
  eval 'grep -qx /usr/bin/milter-test-server "$tmp/files" && grep -qx /usr/bin/milter-manager-ctl "$tmp/files"'
tap_check "the package holds the configuration, defaults and applicable conditions" \
  eval 'grep -qx /etc/milter-manager/milter-manager.conf "$tmp/files" &&
        grep -qx /etc/milter-manager/defaults/redhat.conf "$tmp/files" &&
        grep -qx /etc/milter-manager/applicable-conditions/s25r.conf "$tmp/files"'
tap_check "the package holds the systemd unit, sysconfig and tmpfiles entries" \
  eval 'grep -qx /usr/lib/systemd/system/milter-manager.service "$tmp/files" &&
        grep -qx /etc/sysconfig/milter-manager "$tmp/files" &&
        grep -qx /usr/lib/tmpfiles.d/milter-manager.conf "$tmp/files"'
