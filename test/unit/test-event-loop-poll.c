/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-event-loop-poll.c: unit tests for the default context's poll function (event-poll.h):
 * timeouts, GLib's fds in the epoll set, fds closed and their numbers reused, fork, EINTR. */
#include "event-loop.h"
#include "event-poll.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* A connection-like watch on a socketpair. */
typedef struct {
  MmEventWatch watch; /* first: the callback gets it back */
  int fd;
  int other;
  guint n_calls;
} Conn;

/* A g_unix_fd_add source on a pipe: the context's own (foreign) fd. */
typedef struct {
  int fds[2];
  guint source;
  guint n_calls;
  GIOCondition condition;
} Pipe;

static Conn anchor; /* keeps the event loop's epoll set among the context's fds */

/* on_conn - count and drain */
static void
on_conn(MmEventWatch *watch, guint32 events, gint64 now)
{
  Conn *c = (Conn *)watch;
  (void)now;
  c->n_calls++;
  if (events & EPOLLIN) {
    char buffer[256];
    while (read(c->fd, buffer, sizeof buffer) > 0)
      ;
  }
}

/* conn_init - a watch on a fresh non-blocking socketpair */
static void
conn_init(Conn *c)
{
  memset(c, 0, sizeof *c);
  int fds[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), ==, 0);
  c->fd = fds[0];
  c->other = fds[1];
  mm_event_watch_init(&c->watch, on_conn);
  g_assert_cmpint(mm_event_watch_add_fd(&c->watch, c->fd, FALSE), ==, 0);
}

/* conn_clear - drop the watch and close both ends */
static void
conn_clear(Conn *c)
{
  mm_event_watch_clear(&c->watch);
  mm_event_watch_close_fd(&c->watch, c->fd);
  close(c->other);
  c->fd = c->other = -1;
}

/* on_pipe - count and drain; a spurious wake-up finds nothing to read */
static gboolean
on_pipe(int fd, GIOCondition condition, gpointer user_data)
{
  Pipe *p = user_data;
  char buffer[256];
  p->n_calls++;
  p->condition |= condition;
  while (read(fd, buffer, sizeof buffer) > 0)
    ;
  return G_SOURCE_CONTINUE;
}

/* pipe_init - a non-blocking pipe whose read end the context watches */
static void
pipe_init(Pipe *p)
{
  memset(p, 0, sizeof *p);
  g_assert_cmpint(pipe2(p->fds, O_NONBLOCK | O_CLOEXEC), ==, 0);
  p->source = g_unix_fd_add(p->fds[0], G_IO_IN, on_pipe, p);
}

/* pipe_clear - remove the source and close both ends */
static void
pipe_clear(Pipe *p)
{
  if (p->source != 0)
    g_source_remove(p->source);
  p->source = 0;
  for (guint i = 0; i < 2; i++) {
    if (p->fds[i] >= 0)
      close(p->fds[i]);
    p->fds[i] = -1;
  }
}

/* stats - the poll function's counters now */
static MmEventPollStats
stats(void)
{
  MmEventPollStats s;
  mm_event_poll_get_stats(&s);
  return s;
}

/* drain - iterate until nothing is ready */
static void
drain(void)
{
  for (guint i = 0; i < 100 && g_main_context_iteration(NULL, FALSE); i++)
    ;
}

/* run_until - iterate, blocking, until *COUNTER reaches N or LIMIT_US passed; the time taken */
static gint64
run_until(const guint *counter, guint n, gint64 limit_us)
{
  gint64 start = g_get_monotonic_time();
  while (*counter < n && g_get_monotonic_time() - start < limit_us)
    g_main_context_iteration(NULL, TRUE);
  return g_get_monotonic_time() - start;
}

/* on_flag - set the flag */
static gboolean
on_flag(gpointer user_data)
{
  (*(guint *)user_data)++;
  return G_SOURCE_REMOVE;
}

static void
test_timeout_source(void)
{
  /* A timeout > 0: the wait lasts about that long, no less, and is epoll_wait, not poll. */
  drain();
  MmEventPollStats before = stats();
  guint fired = 0;
  g_timeout_add(60, on_flag, &fired);
  gint64 elapsed = run_until(&fired, 1, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint(fired, ==, 1);
  g_assert_cmpint(elapsed, >=, 55000);
  g_assert_cmpint(elapsed, <, 900000);
  MmEventPollStats after = stats();
  g_assert_cmpuint(after.n_waits, >, before.n_waits);
  g_assert_cmpuint(after.n_polls, ==, before.n_polls);
  /* A timeout of 0 with nothing ready returns at once. */
  gint64 start = g_get_monotonic_time();
  g_assert_false(g_main_context_iteration(NULL, FALSE));
  g_assert_cmpint(g_get_monotonic_time() - start, <, 200000);
}

static void
test_foreign_fd_steady(void)
{
  /* A pipe watched by GLib wakes the wait; connections' events reach their watches without
   * a second epoll_wait; an unchanged set of fds costs no epoll_ctl. */
  Pipe p;
  Conn c;
  pipe_init(&p);
  conn_init(&c);
  drain();
  g_assert_cmpuint(stats().n_foreign, >=, 2); /* GLib's wake-up fd and the pipe */
  guint64 gathers = mm_event_loop_get_n_gathers();
  MmEventPollStats before = stats();
  const guint rounds = 200;
  for (guint i = 0; i < rounds; i++) {
    g_assert_cmpint(write(p.fds[1], "x", 1), ==, 1);
    g_assert_cmpint(write(c.other, "y", 1), ==, 1);
    guint want = p.n_calls + 1;
    run_until(&p.n_calls, want, 2 * G_USEC_PER_SEC);
    g_assert_cmpuint(p.n_calls, ==, want);
    run_until(&c.n_calls, i + 1, 2 * G_USEC_PER_SEC);
    g_assert_cmpuint(c.n_calls, ==, i + 1);
  }
  MmEventPollStats after = stats();
  g_assert_true(p.condition == G_IO_IN);
  g_assert_cmpuint(mm_event_loop_get_n_gathers(), ==, gathers);
  g_assert_cmpuint(after.n_waits - before.n_waits, >=, rounds);
  /* At most one periodic check fell into the rounds: never one call per iteration. */
  g_assert_cmpuint(after.n_ctls - before.n_ctls, <=, after.n_foreign);
  g_assert_cmpuint(after.n_polls, ==, before.n_polls);
  /* A blocking wait ends when the pipe is written from elsewhere (here: a forked writer). */
  guint calls = p.n_calls;
  pid_t pid = fork();
  g_assert_cmpint(pid, >=, 0);
  if (pid == 0) {
    g_usleep(50000);
    _exit(write(p.fds[1], "z", 1) == 1 ? 0 : 1);
  }
  gint64 elapsed = run_until(&p.n_calls, calls + 1, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint(p.n_calls, ==, calls + 1);
  g_assert_cmpint(elapsed, <, 900000);
  g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
  pipe_clear(&p);
  conn_clear(&c);
  drain();
}

/* wake_later - add an idle source to the default context from another thread */
static gpointer
wake_later(gpointer user_data)
{
  g_usleep(50000);
  g_idle_add(on_flag, user_data);
  return NULL;
}

static void
test_wakeup_from_thread(void)
{
  /* GLib's own wake-up fd sits in the set: another thread's g_idle_add ends a wait of -1. */
  drain();
  guint fired = 0;
  GThread *thread = g_thread_new("waker", wake_later, &fired);
  gint64 elapsed = run_until(&fired, 1, 5 * G_USEC_PER_SEC);
  g_thread_join(thread);
  g_assert_cmpuint(fired, ==, 1);
  g_assert_cmpint(elapsed, <, 900000);
}

static void
test_many_ready(void)
{
  /* More ready connections than one wait returns: all are served, each once. */
  const guint n = MM_EVENT_LOOP_MAX_EVENTS * 2 + 17;
  Conn *conns = g_new0(Conn, n);
  for (guint i = 0; i < n; i++)
    conn_init(&conns[i]);
  drain();
  for (guint i = 0; i < n; i++)
    g_assert_cmpint(write(conns[i].other, "x", 1), ==, 1);
  guint64 gathers = mm_event_loop_get_n_gathers();
  drain();
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint(conns[i].n_calls, ==, 1);
  g_assert_cmpuint(mm_event_loop_get_n_gathers(), ==, gathers);
  for (guint i = 0; i < n; i++)
    conn_clear(&conns[i]);
  g_free(conns);
}

static void
test_number_reused_by_connection(void)
{
  /* GLib's fd N goes away and a connection gets number N: dropping N from the set must not
   * take the connection's registration with it. */
  Pipe p;
  pipe_init(&p);
  drain();
  int n = p.fds[0];
  g_source_remove(p.source);
  p.source = 0;
  Conn c;
  conn_init(&c);
  g_assert_cmpint(dup3(c.fd, n, O_CLOEXEC), ==, n); /* closes the pipe's end */
  mm_event_watch_clear(&c.watch);
  mm_event_watch_close_fd(&c.watch, c.fd);
  c.fd = n;
  p.fds[0] = -1;
  g_assert_cmpint(mm_event_watch_add_fd(&c.watch, c.fd, FALSE), ==, 0);
  MmEventPollStats before = stats();
  drain(); /* the array lost N: a sync, which must leave N alone */
  g_assert_cmpuint(stats().n_ctls, >, before.n_ctls);
  g_assert_cmpint(write(c.other, "x", 1), ==, 1);
  run_until(&c.n_calls, 1, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint(c.n_calls, ==, 1);
  conn_clear(&c);
  pipe_clear(&p);
  drain();
}

/* replace_read_end - close P's read end and open Q's read end on the same number, watched by
 * a new source: the context's array looks as before, the registration is gone or stale */
static void
replace_read_end(Pipe *p, Pipe *q)
{
  int n = p->fds[0];
  g_source_remove(p->source);
  p->source = 0;
  memset(q, 0, sizeof *q);
  g_assert_cmpint(pipe2(q->fds, O_NONBLOCK | O_CLOEXEC), ==, 0);
  g_assert_cmpint(dup3(q->fds[0], n, O_CLOEXEC), ==, n);
  close(q->fds[0]);
  q->fds[0] = n;
  p->fds[0] = -1;
  q->source = g_unix_fd_add(n, G_IO_IN, on_pipe, q);
}

static void
test_number_reused_unseen(void)
{
  /* GLib's fd N closed and a new file opened on N between two iterations: the new file's
   * wake-up comes late (by the periodic check), never never. */
  Pipe p, q;
  pipe_init(&p);
  drain();
  replace_read_end(&p, &q);
  g_assert_cmpint(write(q.fds[1], "x", 1), ==, 1);
  gint64 elapsed = run_until(&q.n_calls, 1, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint(q.n_calls, >=, 1);
  g_assert_cmpint(elapsed, <, MM_EVENT_POLL_VERIFY_INTERVAL_US + 500000);
  pipe_clear(&p);
  pipe_clear(&q);
  drain();
}

static void
test_number_reused_file_alive(void)
{
  /* The same, the old file kept open elsewhere (a dup here, a child in real life): epoll keeps
   * its registration, which cannot be deleted by number any more. Its events are recognised
   * once the number is registered anew, and a fresh set drops it. */
  Pipe p, q;
  pipe_init(&p);
  drain();
  int old = dup(p.fds[0]);
  g_assert_cmpint(old, >=, 0);
  replace_read_end(&p, &q);
  guint64 renewals = stats().n_renewals;
  g_assert_cmpint(write(p.fds[1], "old", 3), ==, 3); /* stays unread: level-triggered */
  g_assert_cmpint(write(q.fds[1], "x", 1), ==, 1);
  gint64 start = g_get_monotonic_time();
  while (stats().n_renewals == renewals && g_get_monotonic_time() - start < 5 * G_USEC_PER_SEC)
    g_main_context_iteration(NULL, TRUE);
  g_assert_cmpuint(stats().n_renewals, ==, renewals + 1);
  g_assert_cmpint(g_get_monotonic_time() - start, <, 2 * MM_EVENT_POLL_VERIFY_INTERVAL_US);
  drain();
  g_assert_cmpuint(q.n_calls, >=, 1);
  /* The old file is still readable, yet no longer wakes the loop. */
  guint calls = q.n_calls;
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration(NULL, FALSE);
  g_assert_cmpuint(q.n_calls, ==, calls);
  /* The new file still does, and connections survived the renewal. */
  Conn c;
  conn_init(&c);
  g_assert_cmpint(write(q.fds[1], "y", 1), ==, 1);
  g_assert_cmpint(write(c.other, "y", 1), ==, 1);
  run_until(&q.n_calls, calls + 1, 2 * G_USEC_PER_SEC);
  run_until(&c.n_calls, 1, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint(q.n_calls, ==, calls + 1);
  g_assert_cmpuint(c.n_calls, ==, 1);
  g_assert_cmpint(write(anchor.other, "a", 1), ==, 1);
  run_until(&anchor.n_calls, 1, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint(anchor.n_calls, ==, 1);
  anchor.n_calls = 0;
  conn_clear(&c);
  close(old);
  pipe_clear(&p);
  pipe_clear(&q);
  drain();
}

static void
test_regular_file(void)
{
  /* An fd epoll cannot hold (a regular file): poll's answer, then epoll again once it left. */
  g_autofree char *dir = g_dir_make_tmp("mm-event-poll-XXXXXX", NULL);
  g_assert_nonnull(dir);
  g_autofree char *path = g_build_filename(dir, "file", NULL);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  g_assert_cmpint(fd, >=, 0);
  Pipe p = {.fds = {-1, -1}};
  p.source = g_unix_fd_add(fd, G_IO_IN, on_pipe, &p);
  MmEventPollStats before = stats();
  run_until(&p.n_calls, 1, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint(p.n_calls, >=, 1);
  g_assert_cmpuint(stats().n_polls, >, before.n_polls);
  g_source_remove(p.source);
  close(fd);
  unlink(path);
  rmdir(dir);
  drain();
  before = stats();
  guint fired = 0;
  g_timeout_add(5, on_flag, &fired);
  run_until(&fired, 1, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint(stats().n_polls, ==, before.n_polls);
  g_assert_cmpuint(stats().n_waits, >, before.n_waits);
}

static void
test_direct_revents(void)
{
  /* Called as GLib would: revents as poll sets them, the set's own entry 0, connections'
   * events queued for the next pass. */
  int fds[2];
  g_assert_cmpint(pipe2(fds, O_NONBLOCK | O_CLOEXEC), ==, 0);
  Conn c;
  conn_init(&c);
  g_assert_cmpint(write(fds[1], "x", 1), ==, 1);
  g_assert_cmpint(write(c.other, "x", 1), ==, 1);
  int epoll_fd = mm_event_loop_get_epoll_fd();
  GPollFD array[] = {
    {.fd = epoll_fd, .events = G_IO_IN},
    {.fd = fds[0], .events = G_IO_IN},
    {.fd = fds[1], .events = G_IO_OUT},
    {.fd = fds[0], .events = G_IO_PRI}, /* listed twice, registered once */
  };
  g_assert_cmpint(mm_event_poll_func(array, G_N_ELEMENTS(array), 0), ==, 2);
  g_assert_cmpint(array[0].revents, ==, 0);
  g_assert_cmpint(array[1].revents, ==, G_IO_IN);
  g_assert_cmpint(array[2].revents, ==, G_IO_OUT);
  g_assert_cmpint(array[3].revents, ==, 0);
  guint64 gathers = mm_event_loop_get_n_gathers();
  drain();
  g_assert_cmpuint(c.n_calls, ==, 1);
  g_assert_cmpuint(mm_event_loop_get_n_gathers(), ==, gathers);
  /* A hang-up is reported whatever was asked for. */
  close(fds[1]);
  GPollFD hup[] = {{.fd = epoll_fd, .events = G_IO_IN}, {.fd = fds[0], .events = 0}};
  g_assert_cmpint(mm_event_poll_func(hup, G_N_ELEMENTS(hup), 100), ==, 1);
  g_assert_cmpint(hup[1].revents, ==, G_IO_HUP);
  /* Without the epoll set among the fds: plain poll. */
  MmEventPollStats before = stats();
  GPollFD plain[] = {{.fd = fds[0], .events = G_IO_IN}};
  g_assert_cmpint(mm_event_poll_func(plain, 1, 0), ==, 1);
  g_assert_cmpint(plain[0].revents, ==, G_IO_IN | G_IO_HUP);
  g_assert_cmpuint(stats().n_polls, ==, before.n_polls + 1);
  close(fds[0]);
  /* Timeouts: 0 returns at once, > 0 waits that long, in one epoll_wait. */
  GPollFD idle[] = {{.fd = epoll_fd, .events = G_IO_IN}};
  gint64 start = g_get_monotonic_time();
  g_assert_cmpint(mm_event_poll_func(idle, 1, 0), ==, 0);
  g_assert_cmpint(mm_event_poll_func(idle, 1, 80), ==, 0);
  g_assert_cmpint(g_get_monotonic_time() - start, >=, 75000);
  conn_clear(&c);
  drain();
}

/* on_alarm - only interrupts */
static void
on_alarm(int signum)
{
  (void)signum;
}

static void
test_eintr(void)
{
  /* A signal ends the wait with -1 and EINTR, as poll does, and the next call works. */
  struct sigaction action = {.sa_handler = on_alarm}, saved;
  sigemptyset(&action.sa_mask);
  g_assert_cmpint(sigaction(SIGALRM, &action, &saved), ==, 0);
  struct itimerval timer = {.it_value = {.tv_usec = 50000}};
  g_assert_cmpint(setitimer(ITIMER_REAL, &timer, NULL), ==, 0);
  GPollFD array[] = {{.fd = mm_event_loop_get_epoll_fd(), .events = G_IO_IN}};
  gint64 start = g_get_monotonic_time();
  errno = 0;
  g_assert_cmpint(mm_event_poll_func(array, 1, 5000), ==, -1);
  g_assert_cmpint(errno, ==, EINTR);
  g_assert_cmpint(g_get_monotonic_time() - start, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpint(sigaction(SIGALRM, &saved, NULL), ==, 0);
  g_assert_cmpint(mm_event_poll_func(array, 1, 0), ==, 0);
  drain();
}

static void
test_fork(void)
{
  /* A forked child's new epoll set gets the context's fds too. */
  Pipe p;
  Conn c;
  pipe_init(&p);
  conn_init(&c);
  drain();
  pid_t pid = fork();
  g_assert_cmpint(pid, >=, 0);
  if (pid == 0) {
    if (write(p.fds[1], "x", 1) != 1 || write(c.other, "x", 1) != 1)
      _exit(2);
    run_until(&p.n_calls, 1, 3 * G_USEC_PER_SEC);
    run_until(&c.n_calls, 1, 3 * G_USEC_PER_SEC);
    MmEventPollStats s = stats();
    _exit(p.n_calls == 1 && c.n_calls == 1 && s.n_foreign >= 2 ? 0 : 3);
  }
  int status = 0;
  g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
  g_assert_true(WIFEXITED(status));
  g_assert_cmpint(WEXITSTATUS(status), ==, 0);
  /* The parent's set is untouched by the child's. */
  drain(); /* what the child wrote was read by the child */
  g_assert_cmpint(write(p.fds[1], "y", 1), ==, 1);
  run_until(&p.n_calls, 1, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint(p.n_calls, ==, 1);
  pipe_clear(&p);
  conn_clear(&c);
  drain();
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  mm_event_poll_install();
  conn_init(&anchor);
  g_test_add_func("/event-poll/timeout-source", test_timeout_source);
  g_test_add_func("/event-poll/foreign-fd-steady", test_foreign_fd_steady);
  g_test_add_func("/event-poll/wakeup-from-thread", test_wakeup_from_thread);
  g_test_add_func("/event-poll/many-ready", test_many_ready);
  g_test_add_func("/event-poll/reuse/by-connection", test_number_reused_by_connection);
  g_test_add_func("/event-poll/reuse/unseen", test_number_reused_unseen);
  g_test_add_func("/event-poll/reuse/file-alive", test_number_reused_file_alive);
  g_test_add_func("/event-poll/regular-file", test_regular_file);
  g_test_add_func("/event-poll/direct-revents", test_direct_revents);
  g_test_add_func("/event-poll/eintr", test_eintr);
  g_test_add_func("/event-poll/fork", test_fork);
  int result = g_test_run();
  conn_clear(&anchor);
  return result;
}
