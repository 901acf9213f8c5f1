#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-detector.sh: runs the detectors' Ruby test (test-detector.rb) against the fixture
# trees of this directory; it prints TAP itself.
. "$top_srcdir/test/lib/tap.sh"
command -v ruby >/dev/null 2>&1 || tap_skip_all "ruby is not installed"
ruby -I "$top_srcdir/binding/lib" "$top_srcdir/test/detection/test-detector.rb"
