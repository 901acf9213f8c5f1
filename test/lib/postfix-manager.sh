# SPDX-License-Identifier: GPL-3.0-or-later
# postfix-manager.sh: what the Postfix -> milter-manager -> child milter tests share (sourced
# once top_srcdir is set): their libraries, the signal trap, the SMTP client, the peer checks.

. "$top_srcdir/test/lib/tap.sh"
. "$top_srcdir/test/lib/postfix.sh"
. "$top_srcdir/test/peers/peers.sh"
. "$top_srcdir/test/lib/manager.sh"
# A test killed by a signal still stops its servers (the EXIT trap runs on exit).
trap 'exit 143' TERM INT

SMTP_CLIENT="/usr/bin/python3 $top_srcdir/test/lib/smtp-client.py"

# postfix_manager_require [python] - skip the whole test, saying why, unless Postfix, the
# scripted libmilter peer and the daemon are there (and python3-milter, given "python")
postfix_manager_require() {
  local why
  why=$(postfix_available) || tap_skip_all "$why"
  why=$(peers_have_scripted_milter) || tap_skip_all "$why"
  why=$(manager_available) || tap_skip_all "$why"
  if [ "${1:-}" = python ]; then
    why=$(peers_have_python_milter) || tap_skip_all "$why"
  fi
}
