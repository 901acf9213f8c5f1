#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# test.sh: install what is needed, build milter-manager and run the whole test suite;
# ends with "N passed, N failed, N skipped". Run as root on Debian 12.
set -e
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
[ -x configure ] || ./autogen.sh
mkdir -p _build/test
cd _build/test
[ -f Makefile ] || ../../configure --enable-asan --prefix=/usr/local --sysconfdir=/usr/local/etc
make -j"$(nproc)"
status=0
make -j"$(nproc)" -k check >make-check.log 2>&1 || status=$?
tail -n 40 make-check.log
sh ../../test/lib/summarize.sh test-suite.log || status=1
exit $status
