#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# smtp-client.py: a scripted SMTP client for tests: sends messages to host:port and prints
# every SMTP reply as "COMMAND CODE TEXT", one line per command, for assertions.
"""Send test mail over SMTP and print each reply.

Output lines look like "RCPT 550 5.7.1 go away"; multi-line replies are joined with
" / ".  The exit status is 0 when the SMTP conversation completed (whatever the codes),
1 on a connection or protocol failure.
"""
import argparse
import smtplib
import socket
import sys


def print_reply(command, code, text):
    """print_reply - one assertion line for one command"""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = " / ".join(text.splitlines())
    print(f"{command} {code} {text}", flush=True)


def build_message(args, index):
    """build_message - the message text (CRLF lines) from --message-file or the arguments"""
    if args.message_file:
        with open(args.message_file, "rb") as f:
            data = f.read()
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    lines = [f"From: <{args.mail_from}>", f"To: <{args.rcpt[0]}>",
             f"Subject: {args.subject}" + (f" {index + 1}" if args.messages > 1 else ""),
             "Message-ID: <test-%d-%d@mm-test.localdomain>" % (index, id(args))]
    lines.extend(args.header)
    lines.append("")
    lines.extend(args.body.split("\\n"))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def send_one(client, args, index):
    """send_one - MAIL, RCPT..., DATA for one transaction; False when the server ended it"""
    code, text = client.docmd("MAIL", f"FROM:<{args.mail_from}>" + (" " + args.mail_args if args.mail_args else ""))
    print_reply("MAIL", code, text)
    if code >= 400:
        return code != 421
    accepted = 0
    for rcpt in args.rcpt:
        code, text = client.docmd("RCPT", f"TO:<{rcpt}>")
        print_reply("RCPT", code, text)
        if code == 421:
            return False
        if code < 400:
            accepted += 1
    if accepted == 0:
        code, text = client.docmd("RSET")
        print_reply("RSET", code, text)
        return code != 421
    code, text = client.docmd("DATA")
    print_reply("DATA", code, text)
    if code != 354:
        return code != 421
    data = build_message(args, index)
    # Dot-stuffing, then the terminating dot, as smtplib.data() would do.
    data = b"\r\n".join((b"." + line if line.startswith(b".") else line) for line in data.split(b"\r\n"))
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    client.send(data + b".\r\n")
    code, text = client.getreply()
    print_reply("DOT", code, text)
    return code != 421


def main():
    """main - parse options, run the SMTP conversation, print the replies"""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default="127.0.0.1:25", help="HOST:PORT")
    parser.add_argument("--helo", default="client.localdomain")
    parser.add_argument("--from", dest="mail_from", default="sender@example.org")
    parser.add_argument("--mail-args", default="", help="ESMTP parameters for MAIL FROM")
    parser.add_argument("--rcpt", action="append", help="recipient (repeatable)")
    parser.add_argument("--subject", default="test message")
    parser.add_argument("--header", action="append", default=[], help="extra 'Name: value' header")
    parser.add_argument("--body", default="Hello.\\nThis is a test.", help="body; \\n separates lines")
    parser.add_argument("--message-file", help="whole message (headers and body) from a file")
    parser.add_argument("--messages", type=int, default=1, help="transactions on one connection")
    parser.add_argument("--rset", action="store_true", help="send RSET between transactions")
    parser.add_argument("--before", action="append", default=[],
                        help="raw command sent after EHLO, before the first MAIL (repeatable)")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    if not args.rcpt:
        args.rcpt = ["recipient@example.org"]
    host, _, port = args.server.rpartition(":")
    try:
        client = smtplib.SMTP(timeout=args.timeout)
        code, text = client.connect(host, int(port))
        print_reply("CONNECT", code, text)
        if code != 220:
            client.close()
            return 0
        code, text = client.ehlo(args.helo)
        print_reply("EHLO", code, text.split(b"\n")[0])
        if code != 250:
            client.close()
            return 0
        for raw in args.before:
            code, text = client.docmd(raw)
            print_reply(raw.split(" ")[0].upper(), code, text)
        alive = True
        for index in range(args.messages):
            if index > 0 and args.rset:
                code, text = client.docmd("RSET")
                print_reply("RSET", code, text)
            alive = send_one(client, args, index)
            if not alive:
                break
        if alive:
            code, text = client.docmd("QUIT")
            print_reply("QUIT", code, text)
        client.close()
    except (OSError, smtplib.SMTPException, socket.timeout) as e:
        print(f"ERROR {type(e).__name__}: {e}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
