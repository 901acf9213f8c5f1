#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# make-session-seeds.py: writes the seed inputs of fuzz-server-session and fuzz-client-session
# (whole MTA sessions, child reply streams) into fuzz/corpus/, named by SHA-1 of the content.
import hashlib
import os
import struct
import sys


def packet(code, data=b""):
    return struct.pack(">I", len(data) + 1) + code.encode() + data


def z(*strings):
    return b"".join(s.encode() + b"\0" for s in strings)


def negotiate(version=6, actions=0x1FF, steps=0x1FFFFF):
    return packet("O", struct.pack(">III", version, actions, steps))


def message(rcpts=2, body=b"Hello\r\n", headers=(("From", "<a@example.org>"), ("Subject", "hi"))):
    out = packet("D", b"M" + z("i", "4AbCdE")) + packet("M", z("<a@example.org>", "SIZE=10"))
    for i in range(rcpts):
        out += packet("R", z("<r%d@example.net>" % i))
    out += packet("T")
    for name, value in headers:
        out += packet("L", z(name, value))
    out += packet("N") + packet("B", body) + packet("E")
    return out


def opening():
    return (negotiate() + packet("D", b"C" + z("j", "mx.example.net")) +
            packet("C", z("client.example.com") + b"4" + struct.pack(">H", 25) + z("192.0.2.1")) +
            packet("H", z("client.example.com")))


def server_seeds():
    whole = opening() + message() + packet("Q")
    scripts = [b"", b"\x00", b"\x01", b"\x02", b"\x03\x00\x00\x06", b"\x07", b"\x08",
               b"\x09", b"\x05\x00\x00\x00\x00\x00", b"\x0b", b"\x0c", b"\x0d"]
    for script in scripts:
        yield bytes([len(script)]) + script + whole
    yield b"\x00" + opening() + message() + packet("A") + message(1) + packet("K")
    yield b"\x00" + opening() + message(body=b"x" * 5000) + packet("Q")
    yield b"\x00" + opening() + packet("D", b"M" + z("i", "q")) + packet("M", z("<a@b>")) + packet("A") + packet("Q")
    yield b"\x00" + opening() + packet("U", z("XFOO bar")) + packet("Q")
    yield b"\x00" + negotiate(2, 0x1FF, 0) + opening()[17:] + message() + packet("Q")
    yield b"\x00" + packet("C", z("early")) + negotiate() + packet("Q")
    yield b"\x00" + negotiate() + negotiate() + packet("Q")
    yield b"\x00" + opening() + message(rcpts=0) + packet("Q")
    yield b"\x00" + opening() + packet("T") + packet("E") + packet("Q")
    yield b"\x00" + opening() + struct.pack(">I", 0x7fffffff) + b"B"
    yield b"\x00" + opening() + struct.pack(">I", 0)


def record(data):
    return struct.pack(">H", len(data)) + data


def client_seeds():
    c = packet("c")
    # connect, helo, mail, rcpt, rcpt, data, header, header, eoh, body, body, eom, quit
    steps = [c] * 11
    edits = (packet("h", z("X-Added", "yes")) + packet("i", struct.pack(">I", 0) + z("X-First", "1")) +
             packet("m", struct.pack(">I", 1) + z("Subject", "new")) + packet("e", z("<n@example.org>")) +
             packet("+", z("<add@example.org>")) + packet("-", z("<r0@example.net>")) +
             packet("b", b"replaced\r\n") + packet("q", z("held")))
    yield b"".join(record(s) for s in steps + [edits + packet("a")])
    yield b"".join(record(s) for s in steps + [packet("p") * 50 + packet("a")])
    yield record(packet("a"))
    yield record(c) + record(c) + record(packet("r"))
    yield record(c) + record(c) + record(packet("y", z("550 5.7.1 no")))
    yield record(c) + record(c) + record(c) + record(packet("t"))
    yield record(c) + record(c) + record(c) + record(c) + record(packet("d"))
    yield record(c) + record(c) + record(edits + c)
    yield record(c) * 9 + record(packet("s")) + record(c) + record(packet("a"))
    yield record(c) * 3 + b"\xff\xff"
    yield record(c) * 3 + b"\xff\xfe"
    yield record(c) * 5 + record(struct.pack(">I", 0x7fffffff) + b"c")
    yield record(c) * 5 + record(struct.pack(">I", 0))
    yield record(c) * 5 + record(packet("Z", b"\1\2"))
    yield record(c[:3]) + record(c[3:]) + record(c + c)
    yield record(packet("f")) + record(packet("4"))
    yield record(c) * 11 + record(packet("p") * 3 + packet("y", z("451 4.3.0 later")))


def write(directory, seeds):
    os.makedirs(directory, exist_ok=True)
    for seed in seeds:
        name = hashlib.sha1(seed).hexdigest()
        with open(os.path.join(directory, name), "wb") as f:
            f.write(seed)


top = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
write(os.path.join(top, "corpus", "server-session"), server_seeds())
write(os.path.join(top, "corpus", "client-session"), client_seeds())
