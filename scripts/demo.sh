#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# demo.sh: install what is needed, build, and run milter-manager in the foreground with a demo
# configuration: two real child milters (Sendmail libmilter and python3-milter). Run as root.
set -e
cd "$(dirname "$0")/.."
top=$(pwd)
sh scripts/install-deps.sh
[ -x configure ] || ./autogen.sh
mkdir -p _build/demo
cd _build/demo
[ -f Makefile ] || ../../configure --prefix=/usr/local --sysconfdir=/usr/local/etc
make -j"$(nproc)"
make -j"$(nproc)" test/peers/scripted-milter src/milter-test-server src/milter-test-client

# Everything the demo makes lives here; the daemon gives up root, so it must be readable.
demo=$(mktemp -d /tmp/milter-manager-demo.XXXXXX)
chmod 0755 "$demo"
spec="unix:$demo/milter-manager.sock"

cat >"$demo/milter-manager.conf" <<EOF
# Demo configuration: the same Ruby DSL as milter manager 2.3's milter-manager.conf.
manager.connection_spec = "$spec"
manager.pid_file = nil
log.use_syslog = false

define_milter("scripted-milter") do |milter|
  milter.description = "Sendmail libmilter child: adds X-Demo-Libmilter"
  milter.connection_spec = "unix:$demo/scripted.sock"
  milter.fallback_status = "accept"
end

define_milter("python-milter") do |milter|
  milter.description = "python3-milter child: adds X-Demo-Python"
  milter.connection_spec = "unix:$demo/python.sock"
end
EOF
chmod 0644 "$demo/milter-manager.conf"

# The children, in the background; stopped when the demo ends.
./test/peers/scripted-milter -s "unix:$demo/scripted.sock" \
  --add-header "X-Demo-Libmilter:added by a Sendmail libmilter child" >"$demo/scripted.log" 2>&1 &
children=$!
/usr/bin/python3 "$top/test/peers/add-header-milter.py" --socket "unix:$demo/python.sock" \
  --name X-Demo-Python --value "added by a python3-milter child" >"$demo/python.log" 2>&1 &
children="$children $!"
trap 'kill $children 2>/dev/null; rm -rf "$demo"' EXIT INT TERM
for i in $(seq 50); do
  [ -S "$demo/scripted.sock" ] && [ -S "$demo/python.sock" ] && break
  sleep 0.1
done
chmod 0666 "$demo"/*.sock

cat <<EOF

milter-manager is starting in the foreground, listening on $spec
with two child milters ($demo/milter-manager.conf).

Send it a test session from another terminal:

  $top/_build/demo/src/milter-test-server -s $spec --output-message

or point Postfix at it: smtpd_milters = $spec

Stop it with Ctrl-C.

EOF
MILTER_MANAGER_RUBYLIB="$top/binding/lib" ./src/milter-manager -c "$demo" --no-daemon \
  --log-path=- --log-level=default
