/* SPDX-License-Identifier: GPL-3.0-or-later */
/* workers.h: manager.n_workers: a master process that forks worker processes sharing the
 * listening socket, restarts dead ones and forwards reload and stop to them. */
#pragma once

#include <glib.h>

/* A worker that dies sooner than this after its start counts as dying in a loop. */
#define MM_WORKERS_QUICK_DEATH_SECONDS 5
/* The first delay before restarting a worker that died in a loop; doubles each time. */
#define MM_WORKERS_BACKOFF_MIN_MS 100
/* The longest delay between restarts of a worker that keeps dying. */
#define MM_WORKERS_BACKOFF_MAX_MS 30000
/* After a stop, how long past the workers' own stop timeout the master waits before
 * killing the workers that are still there. */
#define MM_WORKERS_KILL_GRACE_SECONDS 5

#define MM_WORKERS_ERROR (mm_workers_error_quark())
GQuark mm_workers_error_quark(void);

typedef enum {
  MM_WORKERS_ERROR_FORK, /* the first worker could not be started */
} MmWorkersError;

typedef struct {
  guint n_workers;             /* > 0 */
  int listen_fd;               /* the listening socket the workers share */
  gboolean remove_socket_file; /* the master removes a UNIX socket's file at exit */
  int stop_timeout_seconds;    /* the workers' own graceful stop limit */
} MmWorkersOptions;

/* mm_workers_run - become the master of OPTIONS->n_workers workers. The call returns in
 * every worker (forked through mm_ruby_fork) with *IS_WORKER TRUE: the caller serves there
 * as a single process would, accepting on the inherited listener, but must leave the pid file
 * and the socket file alone. In the master it returns once all workers have stopped after
 * SIGTERM or SIGINT, with *IS_WORKER FALSE, the socket file removed (if asked) when it is
 * still the one bound at the start. FALSE with an error when no worker could be
 * started. The master forwards SIGHUP, SIGUSR1, SIGTERM and SIGINT to the workers, and
 * restarts a dead worker at once, or after a growing delay when workers die quickly. */
gboolean mm_workers_run(const MmWorkersOptions *options, gboolean *is_worker, GError **error);

/* mm_workers_signal_add - run HANDLER on the main loop when SIGNUM arrives (returning
 * G_SOURCE_REMOVE gives the next one the default disposition). One self-pipe and one source
 * serve every signal of the process, in the master and in each worker (where GLib's signal
 * thread, started before the fork, does not exist). A worker that starts after the master
 * got SIGHUP sees one SIGHUP at once, so that it loads the configuration the others run. */
gboolean mm_workers_signal_add(int signum, GSourceFunc handler, gpointer user_data);

/* mm_workers_signal_hold - until SIGNUM is watched (mm_workers_signal_add, or the master's
 * own watch), note its arrival instead of letting its default action end the process; the
 * watch then receives it. For the start-up, while Ruby starts and the configuration loads:
 * a reload asked for then must not stop the daemon. */
void mm_workers_signal_hold(int signum);

/* mm_workers_signal_clear - stop watching every signal */
void mm_workers_signal_clear(void);
