#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# milter-capture.py: a relay between an MTA and a real milter that forwards bytes unchanged
# and logs every whole milter packet as hex: "> " MTA->milter, "< " milter->MTA.
"""Capture milter protocol sessions.

Listens on a UNIX socket (give that to the MTA as its milter), connects each accepted
connection to the real milter, forwards the bytes both ways as they arrive and appends each
whole packet (4-byte length included) to the output file as lowercase hex, one per line:
"> 0000000d4f..." for MTA->milter, "< ..." for milter->MTA.  Lines starting with "#" are
comments.  A packet is logged before its last byte is forwarded, so the order of lines is
the order in which the peers saw the packets.

"milter-capture.py --decode FILE" prints a capture with command names, for humans;
"milter-capture.py --check FILE..." validates the format and exits 1 on a problem.
"""
import argparse
import os
import signal
import socket
import struct
import sys
import threading

# A length above this is not a milter packet: log the rest as a comment, keep forwarding.
MAX_PACKET = 64 * 1024 * 1024


class CaptureLog:
    """CaptureLog - the output file, shared by the forwarding threads"""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="ascii")

    def line(self, text):
        """line - append one line and flush it, so a killed relay loses nothing"""
        with self.lock:
            self.file.write(text + "\n")
            self.file.flush()


def parse_spec(spec):
    """parse_spec - libmilter's unix:/path, local:/path or inet:PORT@HOST to an address"""
    kind, _, rest = spec.partition(":")
    if kind in ("unix", "local"):
        return socket.AF_UNIX, rest
    if kind in ("inet", "inet6"):
        port, _, host = rest.partition("@")
        family = socket.AF_INET if kind == "inet" else socket.AF_INET6
        return family, (host or "127.0.0.1", int(port))
    if spec.startswith("/"):
        return socket.AF_UNIX, spec
    raise ValueError(f"bad milter spec {spec!r}")


def pump(source, sink, mark, log, number):
    """pump - forward one direction, logging whole packets, until end of file"""
    pending = b""
    framing = True
    while True:
        try:
            data = source.recv(65536)
        except OSError as e:
            log.line(f"# connection {number}: {mark} read error: {e}")
            data = b""
        if not data:
            break
        if framing:
            pending += data
            while len(pending) >= 4:
                length = struct.unpack(">I", pending[:4])[0]
                if length > MAX_PACKET:
                    log.line(f"# connection {number}: {mark} length {length} is not a packet; framing stops")
                    framing = False
                    break
                if len(pending) < 4 + length:
                    break
                log.line(f"{mark} {pending[:4 + length].hex()}")
                pending = pending[4 + length:]
        try:
            sink.sendall(data)
        except OSError as e:
            log.line(f"# connection {number}: {mark} write error: {e}")
            break
    if pending:
        log.line(f"# connection {number}: {mark} {len(pending)} trailing bytes: {pending.hex()}")
    try:
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def relay(mta, milter_spec, log, number):
    """relay - connect one MTA connection to the milter and forward both ways"""
    family, address = parse_spec(milter_spec)
    milter = socket.socket(family, socket.SOCK_STREAM)
    try:
        milter.connect(address)
    except OSError as e:
        log.line(f"# connection {number}: cannot connect to {milter_spec}: {e}")
        mta.close()
        milter.close()
        return
    log.line(f"# connection {number}: opened")
    back = threading.Thread(target=pump, args=(milter, mta, "<", log, number), daemon=True)
    back.start()
    pump(mta, milter, ">", log, number)
    back.join()
    log.line(f"# connection {number}: closed")
    mta.close()
    milter.close()


MTA_NAMES = {"O": "OPTNEG", "C": "CONNECT", "H": "HELO", "M": "MAIL", "R": "RCPT", "T": "DATA",
             "L": "HEADER", "N": "EOH", "B": "BODY", "E": "EOM", "A": "ABORT", "Q": "QUIT",
             "K": "QUIT_NC", "U": "UNKNOWN", "D": "MACRO"}
MILTER_NAMES = {"O": "OPTNEG", "c": "CONTINUE", "a": "ACCEPT", "r": "REJECT", "t": "TEMPFAIL",
                "d": "DISCARD", "s": "SKIP", "y": "REPLYCODE", "h": "ADDHEADER", "i": "INSHEADER",
                "m": "CHGHEADER", "b": "REPLBODY", "+": "ADDRCPT", "2": "ADDRCPT_PAR",
                "-": "DELRCPT", "e": "CHGFROM", "q": "QUARANTINE", "p": "PROGRESS",
                "f": "CONN_FAIL", "4": "SHUTDOWN", "l": "SETSYMLIST"}


def decode(path):
    """decode - print a capture file one packet per line with command names (for humans)"""
    with open(path, encoding="ascii") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            mark, _, text = line.partition(" ")
            packet = bytes.fromhex(text)
            code = chr(packet[4])
            names = MTA_NAMES if mark == ">" else MILTER_NAMES
            data = packet[5:]
            shown = repr(data[:120]) + ("..." if len(data) > 120 else "")
            print(f"{mark} {names.get(code, '?' + code):<11} {len(data):6d} {shown}")


def check(path):
    """check - validate a capture file's format; return a list of problems (empty: fine)"""
    problems = []
    packets = 0
    with open(path, encoding="ascii") as f:
        lines = f.read().split("\n")
    if not lines or not lines[0].startswith("# "):
        problems.append(f"{path}: does not open with a '# ' comment saying what it is")
    for number, line in enumerate(lines, 1):
        if not line or line.startswith("#"):
            continue
        mark, _, text = line.partition(" ")
        where = f"{path}:{number}"
        if mark not in ("<", ">") or not text or text != text.lower() or " " in text:
            problems.append(f"{where}: not '> HEX' or '< HEX' in lowercase without spaces")
            continue
        try:
            packet = bytes.fromhex(text)
        except ValueError:
            problems.append(f"{where}: bad hex")
            continue
        if len(packet) < 5 or struct.unpack(">I", packet[:4])[0] != len(packet) - 4:
            problems.append(f"{where}: length prefix does not match the packet")
            continue
        names = MTA_NAMES if mark == ">" else MILTER_NAMES
        if chr(packet[4]) not in names:
            problems.append(f"{where}: unknown command code {chr(packet[4])!r}")
        if packets == 0 and (mark != ">" or packet[4:5] != b"O"):
            problems.append(f"{where}: the first packet is not the MTA's OPTNEG")
        packets += 1
    if packets == 0:
        problems.append(f"{path}: no packets")
    return problems


def main():
    """main - listen, relay connections until SIGTERM or --sessions are done"""
    if len(sys.argv) == 3 and sys.argv[1] == "--decode":
        decode(sys.argv[2])
        return 0
    if len(sys.argv) >= 3 and sys.argv[1] == "--check":
        problems = [p for path in sys.argv[2:] for p in check(path)]
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", required=True, help="UNIX socket path the MTA connects to")
    parser.add_argument("--connect", required=True, help="the milter: unix:/path or inet:PORT@HOST")
    parser.add_argument("--output", required=True, help="capture file (appended)")
    parser.add_argument("--comment", action="append", default=[], help="header comment line")
    parser.add_argument("--sessions", type=int, default=0, help="exit after N connections (0: never)")
    args = parser.parse_args()

    log = CaptureLog(args.output)
    for comment in args.comment:
        log.line("# " + comment)
    if os.path.exists(args.listen):
        os.unlink(args.listen)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0)  # the MTA's daemons do not run as root
    listener.bind(args.listen)
    os.umask(old_mask)
    listener.listen(16)

    def stop(signum, frame):
        """stop - remove the socket and leave on SIGTERM/SIGINT"""
        try:
            os.unlink(args.listen)
        except OSError:
            pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"milter-capture: listening on {args.listen}", flush=True)
    threads = []
    number = 0
    while args.sessions == 0 or number < args.sessions:
        mta, _ = listener.accept()
        number += 1
        thread = threading.Thread(target=relay, args=(mta, args.connect, log, number), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    stop(None, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
