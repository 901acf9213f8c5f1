#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# dns-responder.py: a tiny DNS server on 127.0.0.1 for the DNSBL tests: answers A queries
# from NAME=ADDRESS arguments, NXDOMAIN for other names, never answers NAME=silent.
import socket
import struct
import sys


def parse_question(packet):
    """The query's id, the question's name (lowercased), type, and where the question ends."""
    query_id, _flags, qdcount = struct.unpack("!HHH", packet[:6])
    if qdcount != 1:
        raise ValueError("one question expected")
    labels, offset = [], 12
    while packet[offset] != 0:
        length = packet[offset]
        labels.append(packet[offset + 1:offset + 1 + length].decode("ascii"))
        offset += 1 + length
    qtype, _qclass = struct.unpack("!HH", packet[offset + 1:offset + 5])
    return query_id, ".".join(labels).lower(), qtype, offset + 5


def answer(packet, table, log):
    """The response to PACKET, or None when the name is to stay unanswered."""
    query_id, name, qtype, end = parse_question(packet)
    log.write(f"query {name} type {qtype}\n")
    log.flush()
    address = table.get(name)
    if address == "silent":
        return None
    question = packet[12:end]
    if address is None or qtype != 1:
        rcode = 3 if address is None else 0
        return struct.pack("!HHHHHH", query_id, 0x8180 | rcode, 1, 0, 0, 0) + question
    record = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(address)
    return struct.pack("!HHHHHH", query_id, 0x8180, 1, 1, 0, 0) + question + record


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: dns-responder.py LOG [NAME=ADDRESS|NAME=silent ...]")
    table = dict(argument.lower().split("=", 1) for argument in sys.argv[2:])
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    print(f"listening on 127.0.0.1:{server.getsockname()[1]}", flush=True)
    with open(sys.argv[1], "a") as log:
        while True:
            packet, peer = server.recvfrom(512)
            try:
                response = answer(packet, table, log)
            except (ValueError, IndexError, struct.error) as error:
                log.write(f"bad query: {error}\n")
                continue
            if response is not None:
                server.sendto(response, peer)


if __name__ == "__main__":
    main()
