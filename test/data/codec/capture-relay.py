#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# capture-relay.py: listens on a UNIX socket, relays each MTA connection to a milter and
# writes every whole packet it forwards as "> hex" (MTA to milter) or "< hex" (milter to MTA).
import os
import select
import socket
import sys


def packets(buffer):
    """Split whole packets off the front of buffer; return (packets, rest)."""
    found = []
    while len(buffer) >= 4:
        length = int.from_bytes(buffer[:4], "big")
        if len(buffer) < 4 + length:
            break
        found.append(buffer[: 4 + length])
        buffer = buffer[4 + length :]
    return found, buffer


def relay(client, milter_path, log, session):
    milter = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    milter.connect(milter_path)
    log.write(f"# session {session}\n")
    pending = {client: b"", milter: b""}
    peer = {client: milter, milter: client}
    mark = {client: ">", milter: "<"}
    open_sockets = [client, milter]
    while open_sockets:
        readable, _, _ = select.select(open_sockets, [], [], 30)
        if not readable:
            break
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                open_sockets = []
                break
            peer[sock].sendall(data)
            whole, pending[sock] = packets(pending[sock] + data)
            for packet in whole:
                log.write(f"{mark[sock]} {packet.hex()}\n")
            log.flush()
    milter.close()
    client.close()


def main():
    listen_path, milter_path, log_path, sessions = sys.argv[1:5]
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(listen_path)
    server.listen(1)
    with open(log_path, "w") as log:
        for session in range(1, int(sessions) + 1):
            client, _ = server.accept()
            relay(client, milter_path, log, session)
    server.close()
    os.unlink(listen_path)


if __name__ == "__main__":
    main()
