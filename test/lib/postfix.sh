# SPDX-License-Identifier: GPL-3.0-or-later
# postfix.sh: a private Postfix instance on loopback for shell tests (sourced), delivering
# to smtp-sink which dumps each message into a file; the system instance is never touched.

# Postfix programs live in sbin, which a non-root PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

# Bounded waits, in tenths of a second.
POSTFIX_WAIT_TENTHS=${POSTFIX_WAIT_TENTHS:-150}

# postfix_available - succeed when this machine can run a private Postfix (else print why)
postfix_available() {
  if ! command -v postfix >/dev/null 2>&1 || ! command -v postconf >/dev/null 2>&1; then
    echo "postfix is not installed"; return 1
  fi
  if ! command -v smtp-sink >/dev/null 2>&1; then
    echo "smtp-sink (postfix) is not installed"; return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "a private Postfix instance needs root"; return 1
  fi
  if ! id postfix >/dev/null 2>&1; then
    echo "the postfix user does not exist"; return 1
  fi
  return 0
}

# postfix_version - print the installed mail_version (e.g. 3.7.11)
postfix_version() {
  postconf -dh mail_version 2>/dev/null
}

# postfix_write_master_cf - the services a loopback relay needs, none chrooted
postfix_write_master_cf() {
  local port=$1
  cat <<MASTER
# Private test instance: every service unchrooted so that unix: milter paths are absolute.
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MASTER
}

# postfix_write_main_cf - main.cf for DIR: loopback only, no DNS, relay to the sink
postfix_write_main_cf() {
  local dir=$1 sink_port=$2 milters=$3 action=$4
  cat <<MAIN
# Private test instance under $dir; see test/lib/postfix.sh.
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mm-test.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$sink_port
smtp_host_lookup = native
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtputf8_enable = no
biff = no
notify_classes =
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
smtpd_milters = $milters
milter_default_action = $action
milter_protocol = 6
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
MAIN
}

# postfix_start - start a private Postfix under DIR with smtpd on SMTP_PORT, relaying to a sink
# Usage: postfix_start DIR SMTP_PORT SINK_PORT MILTERS [DEFAULT_ACTION] [EXTRA_MAIN_CF_LINE...]
# DIR must exist (e.g. from mktemp -d); it gets etc/ queue/ data/ sink/ maillog sink.log.
postfix_start() {
  local dir=$1 smtp_port=$2 sink_port=$3 milters=$4 action=${5:-tempfail}
  shift 4; [ $# -gt 0 ] && shift
  # Postfix daemons (user postfix) must reach milter sockets and the sink dir under DIR.
  chmod 755 "$dir" || return 1
  local up
  up=$(cd "$dir" && pwd)
  while [ "$up" != / ]; do
    up=$(dirname "$up")
    if [ -z "$(find "$up" -maxdepth 0 -perm -o+x)" ]; then
      echo "postfix_start: $up is not searchable by the postfix user (chmod o+x it)" >&2
      return 1
    fi
  done
  mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/sink" || return 1
  chown postfix "$dir/data" "$dir/sink" || return 1
  postfix_write_main_cf "$dir" "$sink_port" "$milters" "$action" >"$dir/etc/main.cf"
  for line in "$@"; do printf '%s\n' "$line" >>"$dir/etc/main.cf"; done
  postfix_write_master_cf "$smtp_port" >"$dir/etc/master.cf"
  # smtp-sink runs as postfix after binding; each transaction becomes sink/msg.<random>.
  smtp-sink -u postfix -d "$dir/sink/msg." -h sink.localdomain \
    "127.0.0.1:$sink_port" 16 >"$dir/sink.log" 2>&1 &
  echo $! >"$dir/sink.pid"
  if ! postfix_wait_port "$sink_port"; then
    echo "postfix_start: smtp-sink did not listen on 127.0.0.1:$sink_port" >&2
    cat "$dir/sink.log" >&2
    return 1
  fi
  # postfix-script creates the queue subdirectories ("postfix check") before starting master.
  if ! postfix -c "$dir/etc" start >"$dir/start.log" 2>&1; then
    echo "postfix_start: postfix -c $dir/etc start failed:" >&2
    cat "$dir/start.log" >&2
    return 1
  fi
  if ! postfix_wait_port "$smtp_port"; then
    echo "postfix_start: smtpd did not listen on 127.0.0.1:$smtp_port" >&2
    return 1
  fi
  return 0
}

# postfix_stop - stop the instance and its sink; files under DIR stay for assertions
postfix_stop() {
  local dir=$1
  if [ -f "$dir/etc/main.cf" ]; then
    postfix -c "$dir/etc" stop >/dev/null 2>&1
    # "postfix stop" returns before master exits; wait for the pid file to be released.
    local pidfile=$dir/queue/pid/master.pid
    n=0
    while [ -f "$pidfile" ] && [ "$n" -lt "$POSTFIX_WAIT_TENTHS" ]; do
      local pid
      pid=$(tr -dc 0-9 <"$pidfile" 2>/dev/null)
      [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
      sleep 0.1; n=$((n + 1))
    done
  fi
  if [ -f "$dir/sink.pid" ]; then
    kill "$(cat "$dir/sink.pid")" 2>/dev/null
    wait "$(cat "$dir/sink.pid")" 2>/dev/null
    rm -f "$dir/sink.pid"
  fi
  return 0
}

# postfix_listening - succeed when a socket listens on 127.0.0.1:PORT (reads /proc: no connection
# is made, so no milter sees a probe session)
postfix_listening() {
  local hex
  hex=$(printf '0100007F:%04X' "$1")
  awk -v a="$hex" '$2 == a && $4 == "0A" { found = 1 } END { exit !found }' /proc/net/tcp
}

# postfix_wait_port - poll until something listens on 127.0.0.1:PORT (bounded)
postfix_wait_port() {
  local n=0
  while [ "$n" -lt "$POSTFIX_WAIT_TENTHS" ]; do
    postfix_listening "$1" && return 0
    sleep 0.1; n=$((n + 1))
  done
  return 1
}

# postfix_wait_sink - poll until DIR/sink holds at least COUNT messages (bounded); print the newest
postfix_wait_sink() {
  local dir=$1 count=${2:-1}
  local n=0 sent files
  while [ "$n" -lt "$POSTFIX_WAIT_TENTHS" ]; do
    # The maillog's "status=sent" comes after the sink acknowledged, i.e. wrote, the message.
    sent=$(grep -c ' status=sent ' "$dir/maillog" 2>/dev/null)
    files=$(find "$dir/sink" -type f -name 'msg.*' 2>/dev/null | wc -l)
    if [ "${sent:-0}" -ge "$count" ] && [ "$files" -ge "$count" ]; then
      ls -t "$dir"/sink/msg.* | head -n 1
      return 0
    fi
    sleep 0.1; n=$((n + 1))
  done
  return 1
}

# postfix_wait_log - poll until the maillog of DIR matches the extended regexp RE (bounded)
postfix_wait_log() {
  local dir=$1 re=$2
  local n=0
  while [ "$n" -lt "$POSTFIX_WAIT_TENTHS" ]; do
    grep -Eq -- "$re" "$dir/maillog" 2>/dev/null && return 0
    sleep 0.1; n=$((n + 1))
  done
  return 1
}

# postfix_wait_message - poll until a delivered message matches the extended regexp RE (bounded);
# print its file name
postfix_wait_message() {
  local dir=$1 re=$2
  local n=0 file qid
  while [ "$n" -lt "$POSTFIX_WAIT_TENTHS" ]; do
    file=$(grep -Els -- "$re" "$dir"/sink/msg.* 2>/dev/null | head -n 1)
    # The file is whole once Postfix logged the sink's acknowledgement of that queue id.
    qid=$(sed -n 's/.*(Postfix) with E\{0,1\}SMTP id \([0-9A-Za-z]*\).*/\1/p' "$file" 2>/dev/null | head -n 1)
    if [ -n "$qid" ] && grep -q "$qid: to=.* status=sent" "$dir/maillog" 2>/dev/null; then
      echo "$file"; return 0
    fi
    sleep 0.1; n=$((n + 1))
  done
  return 1
}

# postfix_milter_warnings - print maillog lines that report a milter problem; fails only
# when there is no maillog to look at (so "no output" really means "no problem logged")
postfix_milter_warnings() {
  [ -s "$1/maillog" ] || { echo "no maillog in $1"; return 1; }
  grep -Ei '(warning|error|fatal|panic).*milter|milter.*(warning|error|fatal|panic)' "$1/maillog"
  return 0
}

# postfix_no_milter_warnings - succeed when DIR's maillog exists and reports no milter problem
postfix_no_milter_warnings() {
  local found
  found=$(postfix_milter_warnings "$1") || return 1
  [ -z "$found" ] && return 0
  printf '%s\n' "$found" | sed 's/^/# /'
  return 1
}

# postfix_free_port - print the first port in LOW..HIGH nothing listens on (tests own their range)
postfix_free_port() {
  local p=$1
  while [ "$p" -le "$2" ]; do
    if ! postfix_listening "$p"; then echo "$p"; return 0; fi
    p=$((p + 1))
  done
  return 1
}
