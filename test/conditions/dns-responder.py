#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# dns-responder.py: a tiny DNSBL server for the tests on 127.0.0.1 (port 0 unless given):
# prints its port, answers A queries by zone (listed/other), stays silent for silent.test.
import socket
import struct
import sys


def answer_for(name):
    """The A record address for NAME, None for NXDOMAIN, False for no reply."""
    labels = name.lower().rstrip(".").split(".")
    if len(labels) < 5:
        return None
    client = ".".join(reversed(labels[:4]))
    zone = ".".join(labels[4:])
    if zone == "silent.test":
        return False
    if zone == "listed.test" and client in ("127.0.0.2", "127.0.0.3"):
        return client
    if zone == "other.test" and client == "127.0.0.4":
        return "127.0.0.4"
    return None


def parse_question(message):
    """The question name of MESSAGE and the offset after the question."""
    offset = 12
    labels = []
    while message[offset] != 0:
        length = message[offset]
        labels.append(message[offset + 1:offset + 1 + length].decode("ascii"))
        offset += 1 + length
    return ".".join(labels), offset + 5


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", port))
    print(server.getsockname()[1], flush=True)
    while True:
        message, peer = server.recvfrom(1500)
        if len(message) < 17:
            continue
        name, end = parse_question(message)
        address = answer_for(name)
        if address is False:
            continue
        query_id = message[:2]
        question = message[12:end]
        if address is None:
            header = query_id + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0)
            server.sendto(header + question, peer)
            continue
        header = query_id + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
        record = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4)
        record += bytes(int(octet) for octet in address.split("."))
        server.sendto(header + question + record, peer)


if __name__ == "__main__":
    main()
