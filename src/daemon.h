/* SPDX-License-Identifier: GPL-3.0-or-later */
/* daemon.h: the daemon's life cycle: configuration, listening, giving up root, detaching,
 * the pid file, signals (reload, log reopen, graceful stop) and the main loop. */
#pragma once

/* How long a stop waits for sessions in progress before ending them. */
#define MM_DAEMON_STOP_TIMEOUT_SECONDS 30

/* Mode of a socket or pid file directory the daemon creates itself (the MTA must traverse it). */
#define MM_DAEMON_RUNTIME_DIRECTORY_MODE 0755

/* The listening spec when neither the configuration nor MILTER_DEFAULT_CONNECTION_SPEC
 * gives one (2.3's fallback). */
#define MM_DAEMON_FALLBACK_CONNECTION_SPEC "inet:10025@[127.0.0.1]"

/* mm_daemon_main - run the daemon with ARGV; STACK_START is the address of a local in
 * main() (for the embedded Ruby). Returns the exit status. */
int mm_daemon_main(int argc, char **argv, void *stack_start);
