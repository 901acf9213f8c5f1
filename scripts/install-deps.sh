#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# install-deps.sh: install the Debian 12 packages needed to build and test milter-manager
# (scripts/debian-packages.txt), without prompts; Postfix is installed but left stopped.
set -e
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
missing=$(for p in $(cat scripts/debian-packages.txt); do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
done)
if [ -n "$missing" ]; then
  apt-get update
  # shellcheck disable=SC2086
  apt-get install -y --no-install-recommends $missing
fi
# The system Postfix is not ours to run; the tests start private instances.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl stop postfix >/dev/null 2>&1 || true
fi
