#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# test.sh: install what is needed, build milter-manager and run the whole test suite under
# AddressSanitizer, then the soak test in a plain build under valgrind (valgrind cannot run an
# ASan build); ends with "N passed, N failed, N skipped" over both. Run as root on Debian 12.
set -e
cd "$(dirname "$0")/.."
top=$(pwd)
sh scripts/install-deps.sh
[ -x configure ] || ./autogen.sh

# The daemon under test gives up root for nobody, and the launcher starts milters as nobody:
# they must reach the build tree. Give search permission (o+x, nothing else) to the
# directories above the checkout that lack it, e.g. a clone made under "mktemp -d".
dir=$top
while [ "$dir" != / ]; do
  dir=$(dirname "$dir")
  if [ -z "$(find "$dir" -maxdepth 0 -perm -o+x)" ]; then
    echo "test.sh: $dir: adding search permission for others (tests run programs as nobody)"
    chmod o+x "$dir"
  fi
done

# 1. Everything, built with AddressSanitizer and UBSan.
mkdir -p _build/test
cd _build/test
[ -f Makefile ] || ../../configure --enable-asan --prefix=/usr/local --sysconfdir=/usr/local/etc
make -j"$(nproc)"
status=0
rm -f test-suite.log # a suite that cannot build must not be read from an earlier run
make -j"$(nproc)" -k check >make-check.log 2>&1 || status=$?
tail -n 40 make-check.log

# 2. The soak test again, in a plain build, so that valgrind checks the daemon too.
mkdir -p "$top/_build/plain"
cd "$top/_build/plain"
[ -f Makefile ] || ../../configure --prefix=/usr/local --sysconfdir=/usr/local/etc
make -j"$(nproc)"
rm -f test-suite.log
make -k check TESTS=test/e2e/test-soak.sh >make-check.log 2>&1 || status=$?
tail -n 12 make-check.log

sh "$top/test/lib/summarize.sh" "$top/_build/test/test-suite.log" \
  "$top/_build/plain/test-suite.log" || status=1
exit $status
