-- SPDX-License-Identifier: GPL-3.0-or-later
-- capture.lua: the miltertest (OpenDKIM's MTA simulator) sessions behind
-- libmilter-replies.txt; the HELO name tells capture-milter.c what to reply.
local socket = "unix:" .. os.getenv("CAPTURE_SOCKET")

local function session(helo, ip, body)
  local conn = mt.connect(socket, 40, 0.25)
  if conn == nil then error("mt.connect() failed") end
  assert(mt.negotiate(conn, nil, nil, nil) == nil)
  assert(mt.macro(conn, SMFIC_CONNECT, "j", "mx.example.org", "{client_addr}", "192.0.2.7") == nil)
  assert(mt.conninfo(conn, "client.example.net", ip) == nil)
  assert(mt.helo(conn, helo) == nil)
  return conn
end

local function message(conn, rcpts, body)
  assert(mt.macro(conn, SMFIC_MAIL, "i", "4ABC123", "{auth_type}", "PLAIN") == nil)
  assert(mt.mailfrom(conn, "<sender@example.net>", "SIZE=1234", "BODY=8BITMIME") == nil)
  for _, rcpt in ipairs(rcpts) do
    assert(mt.rcptto(conn, rcpt) == nil)
  end
  assert(mt.data(conn) == nil)
  assert(mt.header(conn, "From", "sender@example.net") == nil)
  assert(mt.header(conn, "Subject", "capture") == nil)
  assert(mt.header(conn, "X-Drop", "me") == nil)
  assert(mt.eoh(conn) == nil)
  assert(mt.bodystring(conn, body) == nil)
  assert(mt.eom(conn) == nil)
end

-- 1: every modification at end of message, then a reply code.
local conn = session("modify.example.net", "192.0.2.7")
assert(mt.unknown(conn, "XYZZY now") == nil)
message(conn, {"<rcpt@example.org>", "<deleted@example.org>"}, "body line\r\n")
assert(mt.eom_check(conn, MT_HDRADD, "X-Capture", "added"))
assert(mt.eom_check(conn, MT_QUARANTINE))
assert(mt.getreply(conn) == SMFIR_REPLYCODE)
mt.disconnect(conn)

-- 2: a reply code at HELO, over IPv6.
conn = session("helo-reject.example.net", "2001:db8::7")
assert(mt.getreply(conn) == SMFIR_REPLYCODE)
mt.disconnect(conn)

-- 3: temporary failure at HELO, unknown address family.
conn = session("helo-tempfail.example.net", "unspec")
assert(mt.getreply(conn) == SMFIR_TEMPFAIL)
mt.disconnect(conn)

-- 4: accept at MAIL.
conn = session("mail-accept.example.net", "192.0.2.8")
assert(mt.mailfrom(conn, "<sender@example.net>") == nil)
assert(mt.getreply(conn) == SMFIR_ACCEPT)
mt.disconnect(conn)

-- 5: reject and discard a recipient, skip the body, then abort.
conn = session("body-skip.example.net", "192.0.2.9")
assert(mt.mailfrom(conn, "<sender@example.net>") == nil)
assert(mt.rcptto(conn, "<reject@example.org>") == nil)
assert(mt.getreply(conn) == SMFIR_REJECT)
assert(mt.rcptto(conn, "<discard@example.org>") == nil)
assert(mt.getreply(conn) == SMFIR_DISCARD)
assert(mt.rcptto(conn, "<ok@example.org>", "NOTIFY=NEVER") == nil)
assert(mt.data(conn) == nil)
assert(mt.header(conn, "Subject", "skip") == nil)
assert(mt.eoh(conn) == nil)
assert(mt.bodystring(conn, "first chunk\r\n") == nil)
assert(mt.getreply(conn) == SMFIR_SKIP)
assert(mt.abort(conn) == nil)
mt.disconnect(conn)
