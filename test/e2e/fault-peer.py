#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# fault-peer.py: misbehaving peers for the daemon's fault tests: a child milter that fails in a
# chosen way ("child"), and an MTA that runs a scripted session and checks every answer ("mta").
"""
child SOCKET MODE [ARG]   serve milter connections on the UNIX socket SOCKET:
  ok                      answer everything correctly (continue; eom: continue)
  silent                  accept and never answer
  slow MS                 answer every command after MS milliseconds
  close-at CODE           close the connection on command CODE (e.g. B: mid-body)
  malformed-at CODE       answer CODE with an undecodable packet
  oversized-at CODE       answer CODE with a length prefix of 2 GiB
  edit-at CODE            answer CODE with an add-header (legal only at end of message)
  flood N                 at end of message, N progress replies, then continue
  random SEED             each connection picks one of the above at random (soak)
  first:MODE              only the first connection behaves as MODE, the others as ok
mta SOCKET STEP...        one MTA session; steps: negotiate connect helo mail rcpt data header
  eoh body eom abort quit (commands), close (hang up), garbage (an undecodable packet),
  pipeline (the next two commands without waiting); COMMAND! sends without waiting at all,
  COMMAND~ reads nothing for 3 s after sending. Prints "COMMAND REPLY" for each answer;
  exits 2 when a command got no answer within --wait seconds (default 10).
"""
import os
import random
import socket
import struct
import sys
import threading
import time


def packet(code, data=b""):
    return struct.pack(">I", len(data) + 1) + code + data


def z(*strings):
    return b"".join(s.encode() + b"\0" for s in strings)


def read_packet(conn):
    head = read_exact(conn, 4)
    if head is None:
        return None, None
    (length,) = struct.unpack(">I", head)
    if length == 0 or length > 2 * 1024 * 1024:
        return b"!", b""
    body = read_exact(conn, length)
    if body is None:
        return None, None
    return body[:1], body[1:]


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        try:
            chunk = conn.recv(n - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


NO_REPLY = set(b"DAQK")
MODES = ["ok", "silent", "slow", "close-at", "malformed-at", "oversized-at", "edit-at", "flood"]


def serve_child(conn, mode, arg):
    try:
        while True:
            code, data = read_packet(conn)
            if code is None:
                return
            if code == b"O":
                version, actions, steps = struct.unpack(">III", data[:12])
                if mode == "silent":
                    continue
                conn.sendall(packet(b"O", struct.pack(">III", min(version, 6), actions, 0)))
                continue
            if code[0] in NO_REPLY:
                if code == b"Q":
                    return
                continue
            if mode == "silent":
                continue
            if mode == "slow":
                time.sleep(int(arg) / 1000.0)
            target = arg.encode() if arg else b""
            if mode == "close-at" and code == target:
                return
            if mode == "malformed-at" and code == target:
                conn.sendall(packet(b"Z", b"\1\2\3"))
                continue
            if mode == "oversized-at" and code == target:
                conn.sendall(struct.pack(">I", 0x7FFFFFFF) + b"c")
                continue
            if mode == "edit-at" and code == target:
                conn.sendall(packet(b"h", z("X-Too-Early", "yes")) + packet(b"c"))
                continue
            if mode == "flood" and code == b"E":
                conn.sendall(packet(b"p") * int(arg) + packet(b"c"))
                continue
            conn.sendall(packet(b"c"))
    finally:
        conn.close()


def run_child(path, mode, arg):
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(128)
    rng = random.Random(int(arg) if mode == "random" else 0)
    print("listening on " + path, file=sys.stderr, flush=True)
    n_connections = 0
    while True:
        conn, _ = server.accept()
        m, a = mode, arg
        if mode.startswith("first:"):
            # Only the first connection misbehaves: later sessions show they are unaffected.
            m = mode[len("first:"):]
            mode = "ok"
        if mode == "random":
            # Mostly well-behaved, as real children are; each failure mode now and then.
            m = rng.choice(["ok"] * 6 + MODES[1:])
            a = {"slow": "20", "flood": "50"}.get(m, rng.choice("CHMRTLNBE"))
        n_connections += 1
        print("connection %d: %s %s" % (n_connections, m, a), file=sys.stderr, flush=True)
        threading.Thread(target=serve_child, args=(conn, m, a), daemon=True).start()


COMMANDS = {
    "negotiate": packet(b"O", struct.pack(">III", 6, 0x1FF, 0)),
    "connect": packet(b"C", z("client.example.com") + b"4" + struct.pack(">H", 25) + z("192.0.2.1")),
    "helo": packet(b"H", z("client.example.com")),
    "mail": packet(b"M", z("<from@example.org>")),
    "rcpt": packet(b"R", z("<to@example.net>")),
    "data": packet(b"T"),
    "header": packet(b"L", z("Subject", "fault test")),
    "eoh": packet(b"N"),
    "body": packet(b"B", b"Hello\r\n" * 100),
    "eom": packet(b"E"),
    "abort": packet(b"A"),
    "quit": packet(b"Q"),
    "garbage": b"\0\0\0\5Zjunk",
}
FINAL = set(b"Oacrtdsy4f")


def run_mta(path, steps, wait):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    conn.settimeout(wait)
    pending = []
    pipeline = 0
    progress = 0
    for step in steps:
        if step == "close":
            conn.close()
            return 0
        if step == "pipeline":
            pipeline = 2
            continue
        if step.startswith("headers*"):
            # Many headers: every one is answered, past a limit with the fallback.
            for i in range(int(step[len("headers*"):])):
                conn.sendall(packet(b"L", z("X-Many-%d" % i, "v")))
                code, _ = read_packet(conn)
                if code != b"c":
                    print("header#%d %s" % (i + 1, "closed" if code is None else code.decode()),
                          flush=True)
                    break
            else:
                print("headers c", flush=True)
            continue
        if step == "huge-macros":
            # One MACRO packet of 100 kB: beyond what one command's macros may hold.
            conn.sendall(packet(b"D", b"M" + (z("{big}", "x" * 100000))))
            try:
                code, _ = read_packet(conn)
            except socket.timeout:
                code = b"-"
            print("huge-macros %s" % ("closed" if code is None else "open"), flush=True)
            return 0
        if step.endswith("~"):
            # Sent, then nothing read for 3 s: an MTA slow to read its answers.
            conn.sendall(COMMANDS[step[:-1]])
            pending.append(step[:-1])
            time.sleep(3)
            step = step[:-1]
        elif step.endswith("!"):
            # Sent without waiting for its answer (the MTA hangs up right after, say).
            conn.sendall(COMMANDS[step[:-1]])
            continue
        else:
            conn.sendall(COMMANDS[step])
            if step not in ("abort", "quit", "garbage"):
                pending.append(step)
        if pipeline:
            pipeline -= 1
            if pipeline:
                continue
        while pending:
            try:
                code, _ = read_packet(conn)
            except socket.timeout:
                code = None
            if code is None:
                if step == "garbage" or pending[0] == "after-garbage":
                    print("%s closed" % pending[0], flush=True)
                    return 0
                print("%s no-answer" % pending[0], flush=True)
                return 2
            if code == b"p":
                progress += 1
                continue
            if progress:
                print("%s progress*%d" % (pending[0], progress), flush=True)
                progress = 0
            print("%s %s" % (pending[0], code.decode(errors="replace")), flush=True)
            if code[0] in FINAL:
                done = pending.pop(0)
                if code[0] not in b"Ocs" and done != "eom" and not pending:
                    # As Postfix does: the transaction or the session ends here.
                    if done in ("mail", "rcpt", "data", "header", "eoh", "body"):
                        conn.sendall(COMMANDS["abort"])
                    conn.sendall(COMMANDS["quit"])
                    print("stopped", flush=True)
                    return 0
        if step == "garbage":
            # The proxy must hang up on a stream it cannot frame or decode.
            try:
                code, _ = read_packet(conn)
            except socket.timeout:
                code = b"-"
            print("garbage %s" % ("closed" if code is None else "open"), flush=True)
            return 0
    if steps and steps[-1] == "quit":
        try:
            code, _ = read_packet(conn)
        except socket.timeout:
            code = b"-"
        print("quit %s" % ("closed" if code is None else "open"), flush=True)
    conn.close()
    return 0


def main():
    args = sys.argv[1:]
    wait = 10.0
    if args[:1] == ["--wait"]:
        wait = float(args[1])
        args = args[2:]
    if len(args) >= 3 and args[0] == "child":
        run_child(args[1], args[2], args[3] if len(args) > 3 else "")
    elif len(args) >= 2 and args[0] == "mta":
        sys.exit(run_mta(args[1], args[2:], wait))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(64)


if __name__ == "__main__":
    main()
