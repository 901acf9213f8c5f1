#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# replace-body-milter.py: a python3-milter (pymilter, on Sendmail's libmilter) child milter for
# tests that replaces the message body at end of message. Run it with /usr/bin/python3.
"""Replace the body of every message at end of message."""
import argparse
import os
import sys

import Milter


class ReplaceBodyMilter(Milter.Base):
    """ReplaceBodyMilter - replaces the body with the configured text"""

    new_body = b"Body replaced by replace-body-milter.\r\n"

    def eom(self):
        """eom - replace the body, let the message through"""
        self.replacebody(self.new_body)
        return Milter.CONTINUE


def main():
    """main - parse options and serve until SIGTERM"""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--socket", required=True, help="unix:/path or inet:PORT@127.0.0.1")
    parser.add_argument("--body", help="new body; \\n separates lines (sent as CRLF)")
    args = parser.parse_args()
    if args.body is not None:
        text = args.body.replace("\\n", "\r\n")
        ReplaceBodyMilter.new_body = (text if text.endswith("\r\n") else text + "\r\n").encode()
    Milter.factory = ReplaceBodyMilter
    Milter.set_flags(Milter.CHGBODY)
    # The MTA's daemons do not run as root: the UNIX socket must be writable by them.
    os.umask(0)
    print(f"replace-body-milter: serving on {args.socket}", flush=True)
    Milter.runmilter("replace-body-milter", args.socket, timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
