#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# add-header-milter.py: a python3-milter (pymilter, on Sendmail's libmilter) child milter for
# tests that adds one header at end of message. Run it with /usr/bin/python3.
"""Add one header to every message at end of message."""
import argparse
import os
import sys

import Milter


class AddHeaderMilter(Milter.Base):
    """AddHeaderMilter - adds the configured header at end of message"""

    header_name = "X-Python-Milter"
    header_value = "added"

    def eom(self):
        """eom - add the header, let the message through"""
        self.addheader(self.header_name, self.header_value)
        return Milter.CONTINUE


def main():
    """main - parse options and serve until SIGTERM"""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--socket", required=True, help="unix:/path or inet:PORT@127.0.0.1")
    parser.add_argument("--name", default=AddHeaderMilter.header_name)
    parser.add_argument("--value", default=AddHeaderMilter.header_value)
    args = parser.parse_args()
    AddHeaderMilter.header_name = args.name
    AddHeaderMilter.header_value = args.value
    Milter.factory = AddHeaderMilter
    Milter.set_flags(Milter.ADDHDRS)
    # The MTA's daemons do not run as root: the UNIX socket must be writable by them.
    os.umask(0)
    print(f"add-header-milter: serving on {args.socket}", flush=True)
    Milter.runmilter("add-header-milter", args.socket, timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
