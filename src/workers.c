/* SPDX-License-Identifier: GPL-3.0-or-later */
/* workers.c: manager.n_workers: the master forks workers that accept on the shared listening
 * socket, restarts dead ones (with a back-off), forwards signals, and owns the socket file. */

#include "build-config.h"

#include "src/workers.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libmilter-manager/log.h"
#include "binding/ruby-config.h"

G_DEFINE_QUARK(mm-workers-error-quark, mm_workers_error)

typedef struct {
  guint index;
  GPid pid;          /* 0: not running */
  gint64 started;    /* monotonic microseconds */
  guint backoff_ms;  /* delay before the next restart; 0 while it lives long enough */
  gboolean due;      /* to be forked when the master's loop returns */
  GSource *watch;    /* child watch */
  GSource *restart;  /* pending delayed restart */
  struct Master *master;
} Worker;

typedef struct Master {
  MmWorkersOptions options;
  char *socket_path;
  gboolean has_socket;
  dev_t socket_device;
  ino_t socket_inode;
  pid_t pid;
  GMainContext *context; /* the master's own: a worker never runs it, so nothing of it fires there */
  GMainLoop *loop;
  Worker *workers;
  GSource *signals[4];
  GSource *kill_timer;
  gboolean stopping;
  guint reloads;
} Master;

/* The master's state. A worker keeps it (unused) rather than finalize GLib sources whose
 * locks another thread of the master might have held at the fork. */
static Master *the_master;

/* In a worker: set once after the fork. */
static gboolean in_worker;
static gboolean worker_stale_config; /* the master got SIGHUP before this worker started */
static gboolean worker_orphaned;     /* the master died before the death signal was armed */
/* Write ends of the worker's signal pipes, stored as fd + 1 (0: none). */

/* n_alive - workers running */
static guint
n_alive(const Master *m)
{
  guint n = 0;
  for (guint i = 0; i < m->options.n_workers; i++)
    n += m->workers[i].pid != 0;
  return n;
}

/* forward - send SIGNUM to every running worker */
static void
forward(Master *m, int signum)
{
  for (guint i = 0; i < m->options.n_workers; i++) {
    if (m->workers[i].pid != 0 && kill(m->workers[i].pid, signum) != 0 && errno != ESRCH)
      mm_warning("[workers] failed to signal worker %u (pid %ld): %s", i,
                 (long)m->workers[i].pid, g_strerror(errno));
  }
}

/* clear_source - destroy *SOURCE if any */
static void
clear_source(GSource **source)
{
  if (*source != NULL) {
    g_source_destroy(*source);
    g_source_unref(*source);
    *source = NULL;
  }
}

/* on_restart_due - a delayed restart is due: fork it from outside the loop */
static gboolean
on_restart_due(gpointer user_data)
{
  Worker *w = user_data;
  g_source_unref(w->restart);
  w->restart = NULL;
  w->due = TRUE;
  g_main_loop_quit(w->master->loop);
  return G_SOURCE_REMOVE;
}

/* describe_status - "exit status N" or "signal N" */
static char *
describe_status(int status)
{
  if (WIFEXITED(status))
    return g_strdup_printf("exit status %d", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return g_strdup_printf("signal %d (%s)", WTERMSIG(status), g_strsignal(WTERMSIG(status)));
  return g_strdup_printf("wait status %d", status);
}

/* on_worker_exited - a worker ended: restart it, after a back-off if it died young */
static void
on_worker_exited(GPid pid, int status, gpointer user_data)
{
  Worker *w = user_data;
  Master *m = w->master;
  g_spawn_close_pid(pid);
  g_source_unref(w->watch);
  w->watch = NULL;
  w->pid = 0;
  g_autofree char *how = describe_status(status);
  if (m->stopping) {
    mm_info("[workers] worker %u (pid %ld) stopped: %s", w->index, (long)pid, how);
    if (n_alive(m) == 0)
      g_main_loop_quit(m->loop);
    return;
  }
  gint64 lived_ms = (g_get_monotonic_time() - w->started) / 1000;
  if (lived_ms < MM_WORKERS_QUICK_DEATH_SECONDS * 1000)
    w->backoff_ms = w->backoff_ms == 0 ? MM_WORKERS_BACKOFF_MIN_MS
                                       : MIN(w->backoff_ms * 2, MM_WORKERS_BACKOFF_MAX_MS);
  else
    w->backoff_ms = 0;
  mm_warning("[workers] worker %u (pid %ld) died (%s) after %" G_GINT64_FORMAT " ms: "
             "restarting it%s", w->index, (long)pid, how, lived_ms,
             w->backoff_ms > 0 ? " after a back-off" : "");
  if (w->backoff_ms == 0) {
    w->due = TRUE;
    g_main_loop_quit(m->loop);
    return;
  }
  w->restart = g_timeout_source_new(w->backoff_ms);
  g_source_set_callback(w->restart, on_restart_due, w, NULL);
  g_source_attach(w->restart, m->context);
}

/* on_kill_timer - workers outlived their stop timeout: kill them */
static gboolean
on_kill_timer(gpointer user_data)
{
  Master *m = user_data;
  mm_warning("[workers] %u workers still running after the stop timeout: killing them",
             n_alive(m));
  forward(m, SIGKILL);
  g_source_unref(m->kill_timer);
  m->kill_timer = NULL;
  return G_SOURCE_REMOVE;
}

/* on_stop_signal - SIGTERM/SIGINT: stop the workers (again: they stop at once) */
static gboolean
on_stop_signal(gpointer user_data, int signum)
{
  Master *m = user_data;
  forward(m, signum);
  if (m->stopping)
    return G_SOURCE_CONTINUE;
  m->stopping = TRUE;
  mm_message("[workers] %s: stopping %u workers", signum == SIGINT ? "SIGINT" : "SIGTERM",
             n_alive(m));
  for (guint i = 0; i < m->options.n_workers; i++) {
    m->workers[i].due = FALSE;
    clear_source(&m->workers[i].restart);
  }
  m->kill_timer = g_timeout_source_new_seconds((guint)m->options.stop_timeout_seconds +
                                               MM_WORKERS_KILL_GRACE_SECONDS);
  g_source_set_callback(m->kill_timer, on_kill_timer, m, NULL);
  g_source_attach(m->kill_timer, m->context);
  if (n_alive(m) == 0)
    g_main_loop_quit(m->loop);
  return G_SOURCE_CONTINUE;
}

/* on_sigterm - graceful stop */
static gboolean
on_sigterm(gpointer user_data)
{
  return on_stop_signal(user_data, SIGTERM);
}

/* on_sigint - graceful stop, as SIGTERM */
static gboolean
on_sigint(gpointer user_data)
{
  return on_stop_signal(user_data, SIGINT);
}

/* on_sighup - workers reload; workers started later reload as they start */
static gboolean
on_sighup(gpointer user_data)
{
  Master *m = user_data;
  m->reloads++;
  mm_message("[workers] SIGHUP: the workers reload the configuration");
  forward(m, SIGHUP);
  return G_SOURCE_CONTINUE;
}

/* on_sigusr1 - reopen the log file here and in the workers */
static gboolean
on_sigusr1(gpointer user_data)
{
  Master *m = user_data;
  g_autoptr(GError) error = NULL;
  if (!mm_log_reopen(&error))
    mm_error("[workers] SIGUSR1: %s", error->message);
  forward(m, SIGUSR1);
  return G_SOURCE_CONTINUE;
}

static void replay_held(int signum);

/* add_signal - a signal source on the master's context */
static GSource *
add_signal(Master *m, int signum, GSourceFunc handler)
{
  GSource *source = g_unix_signal_source_new(signum);
  g_source_set_callback(source, handler, m, NULL);
  g_source_attach(source, m->context);
  replay_held(signum);
  return source;
}

/* become_worker - in the freshly forked worker */
static void
become_worker(Master *m)
{
  in_worker = TRUE;
  worker_stale_config = m->reloads > 0;
  /* Without its master nobody would restart it or remove the socket: stop with it. */
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  worker_orphaned = getppid() != m->pid;
}

/* master_free - the master's state, at its end (never in a worker) */
static void
master_free(Master *m)
{
  for (guint i = 0; i < m->options.n_workers; i++) {
    clear_source(&m->workers[i].watch);
    clear_source(&m->workers[i].restart);
  }
  for (guint i = 0; i < G_N_ELEMENTS(m->signals); i++)
    clear_source(&m->signals[i]);
  clear_source(&m->kill_timer);
  g_main_loop_unref(m->loop);
  g_main_context_unref(m->context);
  g_free(m->workers);
  g_free(m->socket_path);
  g_free(m);
}

/* remove_socket - the master's last act: the socket file, if still the one we started with */
static void
remove_socket(Master *m)
{
  struct stat status;
  if (!m->has_socket || stat(m->socket_path, &status) != 0)
    return;
  if (status.st_dev != m->socket_device || status.st_ino != m->socket_inode)
    return;
  if (unlink(m->socket_path) != 0)
    mm_warning("[workers] failed to remove %s: %s", m->socket_path, g_strerror(errno));
}

/* spawn_due - fork every worker that is due; TRUE in a new worker */
static gboolean
spawn_due(Master *m, GError **error)
{
  for (guint i = 0; i < m->options.n_workers; i++) {
    Worker *w = &m->workers[i];
    if (!w->due)
      continue;
    w->due = FALSE;
    g_autoptr(GError) fork_error = NULL;
    pid_t pid = mm_ruby_fork(&fork_error);
    if (pid == 0) {
      become_worker(m);
      return TRUE;
    }
    if (pid < 0) {
      if (n_alive(m) == 0 && i == 0 && m->reloads == 0 && w->started == 0) {
        g_set_error(error, MM_WORKERS_ERROR, MM_WORKERS_ERROR_FORK,
                    "failed to start worker processes: %s", fork_error->message);
        return FALSE;
      }
      w->backoff_ms = MIN(MAX(w->backoff_ms * 2, MM_WORKERS_BACKOFF_MIN_MS),
                          MM_WORKERS_BACKOFF_MAX_MS);
      mm_error("[workers] failed to start worker %u: %s; retrying in %u ms", i,
               fork_error->message, w->backoff_ms);
      w->restart = g_timeout_source_new(w->backoff_ms);
      g_source_set_callback(w->restart, on_restart_due, w, NULL);
      g_source_attach(w->restart, m->context);
      continue;
    }
    w->pid = pid;
    w->started = g_get_monotonic_time();
    w->watch = g_child_watch_source_new(pid);
    g_source_set_callback(w->watch, G_SOURCE_FUNC(on_worker_exited), w, NULL);
    g_source_attach(w->watch, m->context);
    mm_info("[workers] started worker %u: pid %ld", i, (long)pid);
  }
  return FALSE;
}

/* mm_workers_run - be the master until the workers stopped; returns in each worker too */
gboolean
mm_workers_run(const MmWorkersOptions *options, gboolean *is_worker, GError **error)
{
  g_return_val_if_fail(options != NULL && options->n_workers > 0, FALSE);
  Master *m = g_new0(Master, 1);
  the_master = m;
  m->options = *options;
  m->pid = getpid();
  /* The bound path, absolute as the daemon bound it, even after a chdir("/"). */
  struct sockaddr_un address;
  socklen_t length = sizeof(address);
  struct stat status;
  if (options->remove_socket_file &&
      getsockname(options->listen_fd, (struct sockaddr *)&address, &length) == 0 &&
      address.sun_family == AF_UNIX && length > offsetof(struct sockaddr_un, sun_path) &&
      address.sun_path[0] != '\0')
    m->socket_path = g_strndup(address.sun_path, length - offsetof(struct sockaddr_un, sun_path));
  if (m->socket_path != NULL && stat(m->socket_path, &status) == 0) {
    m->has_socket = TRUE;
    m->socket_device = status.st_dev;
    m->socket_inode = status.st_ino;
  }
  m->context = g_main_context_new();
  m->loop = g_main_loop_new(m->context, FALSE);
  m->workers = g_new0(Worker, options->n_workers);
  for (guint i = 0; i < options->n_workers; i++) {
    m->workers[i].index = i;
    m->workers[i].due = TRUE;
    m->workers[i].master = m;
  }
  m->signals[0] = add_signal(m, SIGTERM, on_sigterm);
  m->signals[1] = add_signal(m, SIGINT, on_sigint);
  m->signals[2] = add_signal(m, SIGHUP, on_sighup);
  m->signals[3] = add_signal(m, SIGUSR1, on_sigusr1);
  mm_message("[workers] master pid %ld: starting %u workers", (long)m->pid, options->n_workers);
  for (;;) {
    /* Forks happen here, outside any dispatch, so a worker leaves the master's loop behind. */
    g_autoptr(GError) spawn_error = NULL;
    if (spawn_due(m, &spawn_error)) {
      *is_worker = TRUE;
      return TRUE;
    }
    if (spawn_error != NULL) {
      g_propagate_error(error, g_steal_pointer(&spawn_error));
      the_master = NULL;
      master_free(m);
      return FALSE;
    }
    if (m->stopping && n_alive(m) == 0)
      break;
    g_main_loop_run(m->loop);
  }
  mm_message("[workers] all workers stopped");
  remove_socket(m);
  the_master = NULL;
  master_free(m);
  *is_worker = FALSE;
  return TRUE;
}

/* One self-pipe and one main-loop source serve every signal the process watches: GLib's signal
 * thread does not survive a fork into a worker, and one fd source costs the loop less on each
 * iteration than a GLib signal source per signal. */
typedef struct {
  GSourceFunc handler;
  gpointer user_data;
} SignalWatch;

static SignalWatch signal_watches[NSIG];
static int signal_pipe[2] = {-1, -1};
static pid_t signal_pipe_owner;           /* a forked worker makes a pipe of its own */
static volatile sig_atomic_t signal_write_fd = -1;
static guint signal_source;

/* Signals held since start-up (mm_workers_signal_hold) that arrived before their watch. */
static volatile sig_atomic_t held_signals[NSIG];

/* on_held_signal - the async-signal-safe handler of a held signal: note it */
static void
on_held_signal(int signum)
{
  held_signals[signum] = 1;
}

/* mm_workers_signal_hold - see workers.h */
void
mm_workers_signal_hold(int signum)
{
  g_return_if_fail(signum > 0 && signum < NSIG);
  struct sigaction action = {.sa_handler = on_held_signal, .sa_flags = SA_RESTART};
  sigemptyset(&action.sa_mask);
  sigaction(signum, &action, NULL);
}

/* replay_held - deliver SIGNUM to its new watch if it arrived while held */
static void
replay_held(int signum)
{
  if (held_signals[signum]) {
    held_signals[signum] = 0;
    raise(signum);
  }
}

/* on_signal - the async-signal-safe handler: the signal's number down the pipe */
static void
on_signal(int signum)
{
  int saved = errno;
  int fd = (int)signal_write_fd;
  if (fd >= 0) {
    unsigned char byte = (unsigned char)signum;
    ssize_t n = write(fd, &byte, 1);
    (void)n; /* a full pipe already holds pending wake-ups */
  }
  errno = saved;
}

/* on_signal_pipe - run the handler of each signal that arrived, once, in arrival order */
static gboolean
on_signal_pipe(int fd, GIOCondition condition, gpointer user_data)
{
  (void)condition, (void)user_data;
  unsigned char buffer[64];
  gboolean seen[NSIG] = {FALSE};
  unsigned char order[NSIG];
  guint n_order = 0;
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      if (buffer[i] < NSIG && !seen[buffer[i]]) {
        seen[buffer[i]] = TRUE;
        order[n_order++] = buffer[i];
      }
    }
  }
  for (guint i = 0; i < n_order; i++) {
    SignalWatch *watch = &signal_watches[order[i]];
    if (watch->handler != NULL && !watch->handler(watch->user_data)) {
      /* G_SOURCE_REMOVE: the next one of this signal gets the default disposition */
      watch->handler = NULL;
      signal(order[i], SIG_DFL);
    }
  }
  return G_SOURCE_CONTINUE;
}

/* open_signal_pipe - this process's pipe and its source, made once per process */
static gboolean
open_signal_pipe(void)
{
  if (signal_pipe[0] >= 0 && signal_pipe_owner == getpid())
    return TRUE;
  if (signal_pipe[0] >= 0) {
    /* Inherited from the master: its source belongs to the master's loop, not ours. */
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    signal_source = 0;
  }
  if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    mm_critical("[workers] cannot watch signals: pipe: %s", g_strerror(errno));
    signal_pipe[0] = signal_pipe[1] = -1;
    return FALSE;
  }
  signal_pipe_owner = getpid();
  signal_write_fd = signal_pipe[1];
  signal_source = g_unix_fd_add(signal_pipe[0], G_IO_IN, on_signal_pipe, NULL);
  return TRUE;
}

/* mm_workers_signal_add - run HANDLER on the main loop when SIGNUM arrives */
gboolean
mm_workers_signal_add(int signum, GSourceFunc handler, gpointer user_data)
{
  g_return_val_if_fail(signum > 0 && signum < NSIG, FALSE);
  if (!open_signal_pipe())
    return FALSE;
  signal_watches[signum].handler = handler;
  signal_watches[signum].user_data = user_data;
  struct sigaction action = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
  sigemptyset(&action.sa_mask);
  sigaction(signum, &action, NULL);
  replay_held(signum);
  if (in_worker &&
      ((signum == SIGHUP && worker_stale_config) || (signum == SIGTERM && worker_orphaned)))
    on_signal(signum);
  return TRUE;
}

/* mm_workers_signal_clear - stop watching every signal: default dispositions, pipe closed */
void
mm_workers_signal_clear(void)
{
  for (int signum = 1; signum < NSIG; signum++) {
    if (signal_watches[signum].handler != NULL)
      signal(signum, SIG_DFL);
    signal_watches[signum].handler = NULL;
  }
  if (signal_pipe[0] >= 0 && signal_pipe_owner == getpid()) {
    if (signal_source != 0)
      g_source_remove(signal_source);
    signal_write_fd = -1;
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    signal_pipe[0] = signal_pipe[1] = -1;
  }
  signal_source = 0;
}
