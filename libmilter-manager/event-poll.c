/* SPDX-License-Identifier: GPL-3.0-or-later */
/* event-poll.c: the default context's poll function (see event-poll.h): GLib's own fds join
 * the event loop's epoll set, so one epoll_wait replaces poll plus the loop's epoll_wait. */
#include "event-poll.h"

#include "event-loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

/* An fd of the context registered in the set. The epoll data carries the fd with
 * MM_EVENT_LOOP_FOREIGN_TAG and the serial of the registration: an event of a registration
 * given up since (its fd closed while the file lives on elsewhere, so EPOLL_CTL_DEL could not
 * reach it) carries an old serial and is recognised. */
typedef struct {
  int fd;
  guint32 interest; /* epoll events */
  guint32 serial;
} Foreign;

static struct {
  GPollFD *seen; /* the array of the last sync (revents not compared) */
  guint n_seen;
  guint set_index; /* where the event loop's epoll fd is in the array */
  Foreign *regs; /* sorted by fd */
  guint n_regs;
  guint32 next_serial;
  gint64 next_verify; /* monotonic; the next sync even if the array stays the same */
  gint64 next_renewal;
  gboolean degraded; /* the set cannot hold an fd of the array: g_poll until the next sync */
  gboolean installed;
  MmEventPollStats stats;
} state;

/* to_epoll - the epoll events for poll events */
static guint32
to_epoll(gushort events)
{
  return ((events & G_IO_IN) ? EPOLLIN : 0) | ((events & G_IO_PRI) ? EPOLLPRI : 0) |
         ((events & G_IO_OUT) ? EPOLLOUT : 0);
}

/* from_epoll - the poll events for epoll events */
static gushort
from_epoll(guint32 events)
{
  return ((events & EPOLLIN) ? G_IO_IN : 0) | ((events & EPOLLPRI) ? G_IO_PRI : 0) |
         ((events & EPOLLOUT) ? G_IO_OUT : 0) | ((events & EPOLLERR) ? G_IO_ERR : 0) |
         ((events & EPOLLHUP) ? G_IO_HUP : 0);
}

/* compare_foreign - qsort order by fd */
static int
compare_foreign(const void *a, const void *b)
{
  int x = ((const Foreign *)a)->fd, y = ((const Foreign *)b)->fd;
  return (x > y) - (x < y);
}

/* find_registration - the registration of FD, or NULL */
static Foreign *
find_registration(int fd)
{
  Foreign key = {.fd = fd};
  return bsearch(&key, state.regs, state.n_regs, sizeof *state.regs, compare_foreign);
}

/* ctl - one epoll_ctl on a foreign registration: 0 or the errno */
static int
ctl(int epoll_fd, int op, int fd, guint32 interest, guint32 serial)
{
  struct epoll_event event = {
    .events = interest,
    .data.u64 = ((guint64)serial << 32) | MM_EVENT_LOOP_FOREIGN_TAG | (guint32)fd,
  };
  state.stats.n_ctls++;
  return epoll_ctl(epoll_fd, op, fd, &event) == 0 ? 0 : errno;
}

/* unregister - take FD out of the set, unless the number now is a connection's: GLib closed
 * it without a word and the event loop got it back from accept or socket. ENOENT and EBADF
 * (closed: epoll dropped it already) are the expected failures. */
static void
unregister(int epoll_fd, int fd)
{
  if (!mm_event_loop_owns_fd(fd))
    ctl(epoll_fd, EPOLL_CTL_DEL, fd, 0, 0);
}

/* register_fd - register or re-check WANT (OLD: its registration so far, or NULL); sets its
 * serial. MOD answers ENOENT when the number now names another file (closed and reused
 * unseen): the new file is added. FALSE when the set cannot hold it (a regular file, a closed
 * fd, or a number a connection owns: one registration per file and number). */
static gboolean
register_fd(int epoll_fd, Foreign *want, const Foreign *old)
{
  if (mm_event_loop_owns_fd(want->fd))
    return FALSE;
  if (old != NULL) {
    int error = ctl(epoll_fd, EPOLL_CTL_MOD, want->fd, want->interest, old->serial);
    if (error == 0) {
      want->serial = old->serial;
      return TRUE;
    }
    if (error != ENOENT)
      return FALSE;
  }
  want->serial = ++state.next_serial;
  int error = ctl(epoll_fd, EPOLL_CTL_ADD, want->fd, want->interest, want->serial);
  if (error == EEXIST)
    error = ctl(epoll_fd, EPOLL_CTL_MOD, want->fd, want->interest, want->serial);
  return error == 0;
}

/* forget - drop every registration (UNREGISTER: with EPOLL_CTL_DEL; not when the set is new) */
static void
forget(int epoll_fd, gboolean unregister_them)
{
  for (guint i = 0; unregister_them && i < state.n_regs; i++)
    unregister(epoll_fd, state.regs[i].fd);
  g_clear_pointer(&state.regs, g_free);
  state.n_regs = 0;
  state.stats.n_foreign = 0;
}

/* sync_registrations - make the registrations those of the array's fds other than the set's own, checking
 * the ones kept with EPOLL_CTL_MOD; FALSE (and none kept) when one cannot be registered */
static gboolean
sync_registrations(int epoll_fd, const GPollFD *fds, guint n_fds)
{
  Foreign *want = g_new(Foreign, MAX(n_fds, 1));
  guint n_want = 0;
  for (guint i = 0; i < n_fds; i++) {
    if (fds[i].fd >= 0 && fds[i].fd != epoll_fd)
      want[n_want++] = (Foreign){.fd = fds[i].fd, .interest = to_epoll(fds[i].events)};
  }
  qsort(want, n_want, sizeof *want, compare_foreign);
  guint n_merged = 0; /* an fd listed twice is registered once, for both interests */
  for (guint i = 0; i < n_want; i++) {
    if (n_merged > 0 && want[n_merged - 1].fd == want[i].fd)
      want[n_merged - 1].interest |= want[i].interest;
    else
      want[n_merged++] = want[i];
  }
  gboolean ok = TRUE;
  guint j = 0;
  for (guint i = 0; i < n_merged; i++) {
    while (j < state.n_regs && state.regs[j].fd < want[i].fd)
      unregister(epoll_fd, state.regs[j++].fd);
    const Foreign *old = j < state.n_regs && state.regs[j].fd == want[i].fd ? &state.regs[j++] : NULL;
    if (ok && !register_fd(epoll_fd, &want[i], old))
      ok = FALSE;
  }
  while (j < state.n_regs)
    unregister(epoll_fd, state.regs[j++].fd);
  g_free(state.regs);
  state.regs = want;
  state.n_regs = n_merged;
  state.stats.n_foreign = n_merged;
  if (!ok)
    forget(epoll_fd, TRUE);
  return ok;
}

/* same_as_seen - whether FDS lists the fds and events of the last sync */
static gboolean
same_as_seen(const GPollFD *fds, guint n_fds)
{
  if (n_fds != state.n_seen || state.seen == NULL)
    return FALSE;
  for (guint i = 0; i < n_fds; i++) {
    if (fds[i].fd != state.seen[i].fd || fds[i].events != state.seen[i].events)
      return FALSE;
  }
  return TRUE;
}

/* remember - FDS is the array of this sync */
static void
remember(const GPollFD *fds, guint n_fds)
{
  g_free(state.seen);
  state.seen = g_memdup2(fds, MAX(n_fds, 1) * sizeof *fds);
  state.n_seen = n_fds;
}

/* renew - an event came from a registration given up earlier, of an fd closed while its file
 * lives on (shared with a child, dup'ed): only a fresh set drops it. At most once per verify
 * interval, so an fd closed and reopened on every iteration costs a busy interval, not a
 * renewal per iteration. */
static void
renew(gint64 now)
{
  if (now < state.next_renewal || !mm_event_loop_renew_set())
    return;
  state.stats.n_renewals++;
  state.next_renewal = now + MM_EVENT_POLL_VERIFY_INTERVAL_US;
  forget(-1, FALSE);
  g_clear_pointer(&state.seen, g_free); /* the next call registers the fds in the new set */
}

/* after_fork - the child's event loop made a new set (event-loop.c): none of ours is in it */
static void
after_fork(void)
{
  forget(-1, FALSE);
  g_clear_pointer(&state.seen, g_free);
}

/* deliver - the revents of the foreign fds and the connections' events for the event loop,
 * from the N_EVENTS of one wait; the number of fds with revents, *STALE set when an event
 * came from a registration given up */
static gint
deliver(GPollFD *fds, guint n_fds, struct epoll_event *events, int n_events, gboolean *stale)
{
  gint n_ready = 0;
  int n_connection = 0;
  for (int i = 0; i < n_events; i++) {
    guint32 low = (guint32)(events[i].data.u64 & G_MAXUINT32);
    if (!(low & MM_EVENT_LOOP_FOREIGN_TAG)) {
      if (n_connection != i) /* only once a foreign event sits in between */
        events[n_connection] = events[i];
      n_connection++;
      continue;
    }
    int fd = (int)(low & ~MM_EVENT_LOOP_FOREIGN_TAG);
    Foreign *reg = find_registration(fd);
    if (reg == NULL || reg->serial != (guint32)(events[i].data.u64 >> 32)) {
      *stale = TRUE;
      continue;
    }
    gushort condition = from_epoll(events[i].events);
    for (guint j = 0; j < n_fds; j++) {
      if (fds[j].fd != fd)
        continue;
      gushort was = fds[j].revents;
      fds[j].revents |= condition & (fds[j].events | G_IO_ERR | G_IO_HUP | G_IO_NVAL);
      n_ready += was == 0 && fds[j].revents != 0;
    }
  }
  mm_event_loop_take_events(events, n_connection);
  return n_ready;
}

/* coarse_now - monotonic microseconds, to the kernel's tick: enough for the verify interval,
 * and cheaper on every iteration than g_get_monotonic_time */
static gint64
coarse_now(void)
{
  struct timespec now;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &now) != 0)
    return g_get_monotonic_time();
  return (gint64)now.tv_sec * G_USEC_PER_SEC + now.tv_nsec / 1000;
}

/* mm_event_poll_func - one epoll_wait for the context and the event loop */
gint
mm_event_poll_func(GPollFD *fds, guint n_fds, gint timeout)
{
  int epoll_fd = mm_event_loop_get_epoll_fd();
  gboolean same = epoll_fd >= 0 && same_as_seen(fds, n_fds) && fds[state.set_index].fd == epoll_fd;
  if (!same) {
    guint i = 0;
    while (epoll_fd >= 0 && i < n_fds && fds[i].fd != epoll_fd)
      i++;
    if (epoll_fd < 0 || i == n_fds) {
      state.stats.n_polls++;
      return g_poll(fds, n_fds, timeout);
    }
    state.set_index = i; /* remembered with the array below */
  }
  gint64 now = coarse_now();
  if (!same || now >= state.next_verify) {
    remember(fds, n_fds);
    state.degraded = !sync_registrations(epoll_fd, fds, n_fds);
    state.next_verify = now + MM_EVENT_POLL_VERIFY_INTERVAL_US;
  }
  if (state.degraded) { /* the event loop's own epoll_wait (gather) runs as without us */
    state.stats.n_polls++;
    return g_poll(fds, n_fds, timeout);
  }
  gint wait = timeout;
  if (state.n_regs > 0) {
    gint64 left = MAX((state.next_verify - now + 999) / 1000, 0);
    if (wait < 0 || wait > left)
      wait = (gint)left;
  }
  struct epoll_event events[MM_EVENT_LOOP_MAX_EVENTS];
  state.stats.n_waits++;
  int n_events = epoll_wait(epoll_fd, events, MM_EVENT_LOOP_MAX_EVENTS, wait);
  if (n_events < 0)
    return -1;
  for (guint i = 0; i < n_fds; i++)
    fds[i].revents = 0;
  /* The set's own entry stays 0: its events are in the event loop's queue already. */
  gboolean stale = FALSE;
  gint n_ready = deliver(fds, n_fds, events, n_events, &stale);
  if (stale)
    renew(now);
  return n_ready;
}

/* mm_event_poll_install - make the default main context wait with mm_event_poll_func */
void
mm_event_poll_install(void)
{
  if (!state.installed) {
    state.installed = TRUE;
    pthread_atfork(NULL, NULL, after_fork);
  }
  g_main_context_set_poll_func(g_main_context_default(), mm_event_poll_func);
}

/* mm_event_poll_get_stats - the counters of this process */
void
mm_event_poll_get_stats(MmEventPollStats *stats)
{
  g_return_if_fail(stats != NULL);
  *stats = state.stats;
}
