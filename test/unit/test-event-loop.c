/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-event-loop.c: unit tests for the shared epoll source (event-loop.h): deadline order
 * and re-arming, many fds with only the ready ones dispatched, removal while queued, fork.
 * Built twice: test-event-loop-epoll runs them with event-poll.c's poll function installed. */
#include "event-loop.h"
#include "event-poll.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* One watch and what happened to it. */
typedef struct {
  MmEventWatch watch; /* first: the callback gets it back */
  int fd;             /* our end of a socketpair, -1 for a timer-only watch */
  int other;
  guint id;
  guint n_calls;
  guint32 events;
  GArray *order;       /* shared: ids in call order */
  gpointer victim;     /* a Watcher to drop when called */
  gboolean reschedule; /* schedule itself again once */
} Watcher;

/* on_watch - record the call; drain input so the next edge is a new one */
static void
on_watch(MmEventWatch *watch, guint32 events, gint64 now)
{
  Watcher *w = (Watcher *)watch;
  g_assert_cmpint(now, >, 0);
  w->n_calls++;
  w->events |= events;
  if (w->order)
    g_array_append_val(w->order, w->id);
  if (w->fd >= 0 && (events & EPOLLIN)) {
    char buffer[256];
    while (read(w->fd, buffer, sizeof buffer) > 0)
      ;
  }
  if (w->victim) {
    Watcher *victim = w->victim;
    mm_event_watch_clear(&victim->watch);
    mm_event_watch_close_fd(&victim->watch, victim->fd);
    victim->fd = -1;
    w->victim = NULL;
  }
  if (w->reschedule) {
    w->reschedule = FALSE;
    mm_event_watch_schedule(watch);
  }
}

/* watcher_init - a watch on a fresh non-blocking socketpair (or none when PAIRED is FALSE) */
static void
watcher_init(Watcher *w, guint id, gboolean paired)
{
  memset(w, 0, sizeof *w);
  w->id = id;
  w->fd = w->other = -1;
  mm_event_watch_init(&w->watch, on_watch);
  if (!paired)
    return;
  int fds[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), ==, 0);
  w->fd = fds[0];
  w->other = fds[1];
  g_assert_cmpint(mm_event_watch_add_fd(&w->watch, w->fd, FALSE), ==, 0);
}

/* watcher_clear - drop the watch and close both ends */
static void
watcher_clear(Watcher *w)
{
  mm_event_watch_clear(&w->watch);
  mm_event_watch_close_fd(&w->watch, w->fd);
  w->fd = -1;
  if (w->other >= 0)
    close(w->other);
  w->other = -1;
}

/* drain - iterate until the loop has nothing ready */
static void
drain(void)
{
  for (guint i = 0; i < 100 && g_main_context_iteration(NULL, FALSE); i++)
    ;
}

/* run_until - iterate, blocking, until *COUNTER reaches N */
static void
run_until(const guint *counter, guint n)
{
  while (*counter < n)
    g_main_context_iteration(NULL, TRUE);
}

static void
test_deadline_order(void)
{
  /* Armed out of order, re-armed both earlier and later: they fire by deadline. */
  const guint n = 8;
  Watcher watchers[8];
  g_autoptr(GArray) order = g_array_new(FALSE, FALSE, sizeof(guint));
  gint64 base = g_get_monotonic_time() + 5000;
  const guint slots[] = {5, 2, 7, 0, 3, 6, 1, 4};
  for (guint i = 0; i < n; i++) {
    watcher_init(&watchers[i], i, FALSE);
    watchers[i].order = order;
    mm_event_watch_set_deadline(&watchers[i].watch, base + (gint64)slots[i] * 1000);
  }
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, n);
  /* watcher 0 (slot 5) moves first, watcher 3 (slot 0) moves last. */
  mm_event_watch_set_deadline(&watchers[0].watch, base - 500);
  mm_event_watch_set_deadline(&watchers[3].watch, base + 9000);
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, n);
  guint total = 0;
  while (total < n) {
    g_main_context_iteration(NULL, TRUE);
    total = order->len;
  }
  const guint expected[] = {0, 6, 1, 4, 7, 5, 2, 3};
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint(g_array_index(order, guint, i), ==, expected[i]);
  for (guint i = 0; i < n; i++) {
    g_assert_cmpuint(watchers[i].n_calls, ==, 1); /* a deadline fires once */
    g_assert_cmpint(watchers[i].watch.deadline, ==, 0);
  }
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, 0);
  drain();
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint(watchers[i].n_calls, ==, 1);
}

static void
test_deadline_rearm_cancel(void)
{
  Watcher a, b;
  watcher_init(&a, 1, FALSE);
  watcher_init(&b, 2, FALSE);
  gint64 now = g_get_monotonic_time();
  mm_event_watch_set_deadline(&a.watch, now + 60 * G_USEC_PER_SEC);
  mm_event_watch_set_deadline(&b.watch, now + 60 * G_USEC_PER_SEC);
  /* Re-arming many times keeps one heap entry per watch. */
  for (guint i = 0; i < 1000; i++)
    mm_event_watch_set_deadline(&a.watch, now + (gint64)(i % 7 + 1) * G_USEC_PER_SEC);
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, 2);
  mm_event_watch_set_deadline(&a.watch, 0);
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, 1);
  mm_event_watch_set_deadline(&b.watch, now + 1000);
  run_until(&b.n_calls, 1);
  drain();
  g_assert_cmpuint(a.n_calls, ==, 0);
  g_assert_cmpuint(b.n_calls, ==, 1);
  /* A cleared watch neither fires nor stays in the heap. */
  mm_event_watch_set_deadline(&a.watch, g_get_monotonic_time());
  mm_event_watch_clear(&a.watch);
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, 0);
  drain();
  g_assert_cmpuint(a.n_calls, ==, 0);
}

static void
test_many_fds_only_ready(void)
{
  /* 500 watched fds, 7 ready: exactly those 7 are called, once per edge. */
  const guint n = 500;
  Watcher *watchers = g_new0(Watcher, n);
  guint before = mm_event_loop_get_n_fds();
  for (guint i = 0; i < n; i++)
    watcher_init(&watchers[i], i, TRUE);
  g_assert_cmpuint(mm_event_loop_get_n_fds(), ==, before + n);
  drain();
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint(watchers[i].n_calls, ==, 0);
  const guint ready[] = {0, 3, 77, 250, 251, 498, 499};
  for (guint i = 0; i < G_N_ELEMENTS(ready); i++)
    g_assert_cmpint(write(watchers[ready[i]].other, "x", 1), ==, 1);
  drain();
  guint called = 0;
  for (guint i = 0; i < n; i++)
    called += watchers[i].n_calls;
  g_assert_cmpuint(called, ==, G_N_ELEMENTS(ready));
  for (guint i = 0; i < G_N_ELEMENTS(ready); i++) {
    g_assert_cmpuint(watchers[ready[i]].n_calls, ==, 1);
    g_assert_true(watchers[ready[i]].events & EPOLLIN);
  }
  /* A hang-up is an event too. */
  close(watchers[42].other);
  watchers[42].other = -1;
  drain();
  g_assert_cmpuint(watchers[42].n_calls, ==, 1);
  g_assert_true(watchers[42].events & EPOLLRDHUP);
  for (guint i = 0; i < n; i++)
    watcher_clear(&watchers[i]);
  g_assert_cmpuint(mm_event_loop_get_n_fds(), ==, before);
  g_free(watchers);
#ifdef MM_TEST_EVENT_POLL
  /* The poll function's wait was the only one: the loop never waited again itself. */
  g_assert_cmpuint(mm_event_loop_get_n_gathers(), ==, 0);
#else
  g_assert_cmpuint(mm_event_loop_get_n_gathers(), >, 0);
#endif
}

static void
test_remove_while_ready(void)
{
  /* Both ready in the same pass; whichever runs first drops the other. */
  Watcher a, b;
  watcher_init(&a, 1, TRUE);
  watcher_init(&b, 2, TRUE);
  a.victim = &b;
  b.victim = &a;
  g_assert_cmpint(write(a.other, "x", 1), ==, 1);
  g_assert_cmpint(write(b.other, "x", 1), ==, 1);
  /* The same for a queued call and a due deadline. */
  Watcher c, d;
  watcher_init(&c, 3, FALSE);
  watcher_init(&d, 4, FALSE);
  c.victim = &d;
  d.victim = &c;
  mm_event_watch_schedule(&c.watch);
  mm_event_watch_set_deadline(&d.watch, g_get_monotonic_time());
  drain();
  g_assert_cmpuint(a.n_calls + b.n_calls, ==, 1);
  g_assert_cmpuint(c.n_calls + d.n_calls, ==, 1);
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, 0);
  watcher_clear(&a);
  watcher_clear(&b);
  watcher_clear(&c);
  watcher_clear(&d);
}

static void
test_schedule_next_pass(void)
{
  /* A call scheduled from inside a call runs on the next pass, not in a loop in this one. */
  Watcher a;
  watcher_init(&a, 1, FALSE);
  a.reschedule = TRUE;
  mm_event_watch_schedule(&a.watch);
  mm_event_watch_schedule(&a.watch); /* queued once */
  g_assert_true(g_main_context_iteration(NULL, FALSE));
  g_assert_cmpuint(a.n_calls, ==, 1);
  g_assert_true(g_main_context_iteration(NULL, FALSE));
  g_assert_cmpuint(a.n_calls, ==, 2);
  g_assert_false(g_main_context_iteration(NULL, FALSE));
  g_assert_cmpuint(a.n_calls, ==, 2);
}

static void
test_closed_fd_event_dropped(void)
{
  /* An fd closed while its file lives on elsewhere (a dup here, a forked child in real
   * life): its events must not reach the watch that now uses the slot. */
  Watcher a, b;
  watcher_init(&a, 1, TRUE);
  int copy = dup(a.fd);
  g_assert_cmpint(copy, >=, 0);
  mm_event_watch_close_fd(&a.watch, a.fd);
  a.fd = -1;
  watcher_init(&b, 2, TRUE); /* takes the freed slot */
  g_assert_cmpint(write(a.other, "x", 1), ==, 1);
  drain();
  g_assert_cmpuint(a.n_calls, ==, 0);
  g_assert_cmpuint(b.n_calls, ==, 0);
  g_assert_cmpint(write(b.other, "y", 1), ==, 1);
  drain();
  g_assert_cmpuint(b.n_calls, ==, 1);
  close(copy);
  watcher_clear(&a);
  watcher_clear(&b);
}

static void
test_fork_separate_set(void)
{
  /* A forked child that stops watching an fd must not take it out of the parent's set. */
  Watcher a;
  watcher_init(&a, 1, TRUE);
  drain();
  pid_t pid = fork();
  g_assert_cmpint(pid, >=, 0);
  if (pid == 0) {
    mm_event_watch_clear(&a.watch);
    mm_event_watch_close_fd(&a.watch, a.fd);
    /* The child's own set still works. */
    Watcher c;
    watcher_init(&c, 9, TRUE);
    if (write(c.other, "x", 1) != 1)
      _exit(2);
    drain();
    _exit(c.n_calls == 1 ? 0 : 3);
  }
  int status = 0;
  g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
  g_assert_true(WIFEXITED(status));
  g_assert_cmpint(WEXITSTATUS(status), ==, 0);
  g_assert_cmpint(write(a.other, "x", 1), ==, 1);
  run_until(&a.n_calls, 1);
  watcher_clear(&a);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#ifdef MM_TEST_EVENT_POLL
  mm_event_poll_install();
#endif
  g_test_add_func("/event-loop/deadline/order", test_deadline_order);
  g_test_add_func("/event-loop/deadline/rearm-cancel", test_deadline_rearm_cancel);
  g_test_add_func("/event-loop/fd/many-only-ready", test_many_fds_only_ready);
  g_test_add_func("/event-loop/remove-while-ready", test_remove_while_ready);
  g_test_add_func("/event-loop/schedule-next-pass", test_schedule_next_pass);
  g_test_add_func("/event-loop/fd/closed-event-dropped", test_closed_fd_event_dropped);
  g_test_add_func("/event-loop/fork", test_fork_separate_set);
  return g_test_run();
}
