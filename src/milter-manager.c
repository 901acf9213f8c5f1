/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-manager.c: the daemon's entry point; everything else lives in daemon.c so that
 * main's frame stays the bottom of the stack the embedded Ruby scans. */
#include "src/daemon.h"

/* main - run the daemon */
int
main(int argc, char **argv)
{
  int stack_start = 0;
  return mm_daemon_main(argc, argv, &stack_start);
}
