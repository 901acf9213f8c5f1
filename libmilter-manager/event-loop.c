/* SPDX-License-Identifier: GPL-3.0-or-later */
/* event-loop.c: one GSource for all connections of the process (see event-loop.h), so that
 * a main loop iteration costs the ready fds and due deadlines, not the open connections. */
#include "event-loop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

/* One watched fd. The generation goes into the epoll data with the index, so that an event
 * for an fd closed without EPOLL_CTL_DEL (its file still open in a forked child) or for a
 * reused slot is told apart and dropped. */
typedef struct {
  MmEventWatch *watch; /* NULL = free */
  int fd;
  guint32 generation;
  guint next_free; /* 1 + index of the next free slot, 0 = end */
} Slot;

typedef struct {
  GSource source;
} LoopSource;

static struct {
  GSource *source;
  gpointer epoll_tag;
  int epoll_fd;
  MmEventWatch queue; /* sentinel of the circular run queue */
  gboolean dispatching;
  Slot *slots;
  guint n_slots;
  guint slots_capacity;
  guint first_free; /* 1 + index, 0 = none */
  guint n_fds;
  MmEventWatch **heap;
  guint heap_length; /* entries, some of them cancelled (deadline 0) and not yet dropped */
  guint n_deadlines; /* entries armed */
  guint heap_capacity;
  int fresh_fd;
  guint64 n_gathers;
} loop = {.epoll_fd = -1, .fresh_fd = -1};

/* queue_is_empty - no watch waits for the next pass */
static gboolean
queue_is_empty(void)
{
  return loop.queue.next == &loop.queue;
}

/* queue_append - put WATCH at the end of the run queue ending at SENTINEL */
static void
queue_append(MmEventWatch *sentinel, MmEventWatch *watch)
{
  watch->prev = sentinel->prev;
  watch->next = sentinel;
  sentinel->prev->next = watch;
  sentinel->prev = watch;
}

/* queue_remove - take WATCH out of whichever queue holds it */
static void
queue_remove(MmEventWatch *watch)
{
  if (!watch->prev)
    return;
  watch->prev->next = watch->next;
  watch->next->prev = watch->prev;
  watch->prev = watch->next = NULL;
}

/* heap_place - store WATCH at heap index I */
static void
heap_place(guint i, MmEventWatch *watch)
{
  loop.heap[i] = watch;
  watch->heap_index = i + 1;
}

/* heap_sift_up - move the entry at I towards the root while earlier than its parent */
static void
heap_sift_up(guint i)
{
  MmEventWatch *watch = loop.heap[i];
  while (i > 0) {
    guint parent = (i - 1) / 2;
    if (loop.heap[parent]->key <= watch->key)
      break;
    heap_place(i, loop.heap[parent]);
    i = parent;
  }
  heap_place(i, watch);
}

/* heap_sift_down - move the entry at I towards the leaves while later than a child */
static void
heap_sift_down(guint i)
{
  MmEventWatch *watch = loop.heap[i];
  for (;;) {
    guint child = 2 * i + 1;
    if (child >= loop.heap_length)
      break;
    if (child + 1 < loop.heap_length && loop.heap[child + 1]->key < loop.heap[child]->key)
      child++;
    if (watch->key <= loop.heap[child]->key)
      break;
    heap_place(i, loop.heap[child]);
    i = child;
  }
  heap_place(i, watch);
}

/* heap_remove - take WATCH out of the deadline heap */
static void
heap_remove(MmEventWatch *watch)
{
  guint i = watch->heap_index - 1;
  watch->heap_index = 0;
  MmEventWatch *last = loop.heap[--loop.heap_length];
  if (last == watch)
    return;
  heap_place(i, last);
  if (i > 0 && loop.heap[(i - 1) / 2]->key > last->key)
    heap_sift_up(i);
  else
    heap_sift_down(i);
}

/* first_deadline - the earliest deadline, 0 = none; entries cancelled or re-armed later since
 * they were placed are dropped or moved here, once they reach the top */
static gint64
first_deadline(void)
{
  while (loop.heap_length > 0) {
    MmEventWatch *top = loop.heap[0];
    if (top->key == top->deadline)
      return top->deadline;
    if (top->deadline == 0) {
      heap_remove(top);
      top->key = 0;
      continue;
    }
    top->key = top->deadline;
    heap_sift_down(0);
  }
  return 0;
}

/* loop_prepare - ready at once with a queued watch; otherwise sleep until the first deadline */
static gboolean
loop_prepare(GSource *source, gint *timeout)
{
  *timeout = -1;
  if (loop.dispatching) /* a main loop nested in a handler: the outer pass owns the queue */
    return FALSE;
  if (!queue_is_empty()) {
    *timeout = 0;
    return TRUE;
  }
  gint64 deadline = first_deadline();
  if (deadline == 0)
    return FALSE;
  gint64 now = g_source_get_time(source);
  if (now >= deadline) {
    *timeout = 0;
    return TRUE;
  }
  *timeout = (gint)MIN((deadline - now + 999) / 1000, (gint64)G_MAXINT);
  return FALSE;
}

/* loop_check - after the poll: a queued watch, a ready epoll set or a passed deadline */
static gboolean
loop_check(GSource *source)
{
  if (loop.dispatching)
    return FALSE;
  if (!queue_is_empty() || (g_source_query_unix_fd(source, loop.epoll_tag) & G_IO_IN))
    return TRUE;
  gint64 deadline = first_deadline();
  return deadline != 0 && g_source_get_time(source) >= deadline;
}

/* queue_events - queue the watches of the connection events among EVENTS */
static void
queue_events(const struct epoll_event *events, int n_events)
{
  for (int i = 0; i < n_events; i++) {
    guint index = (guint)(events[i].data.u64 & G_MAXUINT32);
    guint32 generation = (guint32)(events[i].data.u64 >> 32);
    if ((index & MM_EVENT_LOOP_FOREIGN_TAG) || index >= loop.n_slots)
      continue;
    Slot *slot = &loop.slots[index];
    if (!slot->watch || slot->generation != generation)
      continue;
    slot->watch->events |= events[i].events;
    if (!slot->watch->prev)
      queue_append(&loop.queue, slot->watch);
  }
}

/* gather - queue the watches of the fds the epoll set reports, when the context's poll only
 * said that the set is ready */
static void
gather(void)
{
  struct epoll_event events[MM_EVENT_LOOP_MAX_EVENTS];
  int n;
  loop.n_gathers++;
  do
    n = epoll_wait(loop.epoll_fd, events, MM_EVENT_LOOP_MAX_EVENTS, 0);
  while (n < 0 && errno == EINTR);
  queue_events(events, n);
}

/* loop_dispatch - one pass: gather fd events and due deadlines, then run the watches queued
 * before the pass began; those queued during it run on the next pass */
static gboolean
loop_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
  if (loop.dispatching)
    return G_SOURCE_CONTINUE;
  loop.dispatching = TRUE;
  gint64 now = g_source_get_time(source);
  if (g_source_query_unix_fd(source, loop.epoll_tag) & G_IO_IN)
    gather();
  for (gint64 first = first_deadline(); first != 0 && first <= now; first = first_deadline()) {
    MmEventWatch *watch = loop.heap[0];
    heap_remove(watch);
    watch->deadline = watch->key = 0;
    loop.n_deadlines--;
    if (!watch->prev)
      queue_append(&loop.queue, watch);
  }
  MmEventWatch pass = {.prev = &pass, .next = &pass};
  if (!queue_is_empty()) {
    pass.next = loop.queue.next;
    pass.prev = loop.queue.prev;
    pass.next->prev = &pass;
    pass.prev->next = &pass;
    loop.queue.next = loop.queue.prev = &loop.queue;
  }
  /* A watch freed by a handler takes itself out of the pass (mm_event_watch_clear). */
  while (pass.next != &pass) {
    MmEventWatch *watch = pass.next;
    queue_remove(watch);
    guint32 events = watch->events;
    watch->events = 0;
    watch->func(watch, events, now);
  }
  loop.dispatching = FALSE;
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs loop_source_funcs = {
  .prepare = loop_prepare,
  .check = loop_check,
  .dispatch = loop_dispatch,
};

/* renew_set - a fresh epoll set on the same fd number, the connections re-added */
static gboolean
renew_set(void)
{
  if (loop.epoll_fd < 0)
    return FALSE;
  int fresh = epoll_create1(EPOLL_CLOEXEC);
  if (fresh < 0)
    return FALSE;
  gboolean moved = dup3(fresh, loop.epoll_fd, O_CLOEXEC) >= 0;
  close(fresh);
  if (!moved)
    return FALSE;
  for (guint i = 0; i < loop.n_slots; i++) {
    Slot *slot = &loop.slots[i];
    if (!slot->watch)
      continue;
    struct epoll_event event = {
      .events = slot->watch->interest,
      .data.u64 = ((guint64)slot->generation << 32) | i,
    };
    epoll_ctl(loop.epoll_fd, EPOLL_CTL_ADD, slot->fd, &event);
  }
  return TRUE;
}

/* after_fork - a forked child gets its own epoll set on the same fd number, so that its
 * registrations no longer change the parent's (event-poll.c re-adds its own registrations
 * on the child's next poll) */
static void
after_fork(void)
{
  renew_set();
}

/* loop_start - create the epoll set and attach the source, once per process */
static gboolean
loop_start(void)
{
  if (loop.source)
    return TRUE;
  loop.queue.prev = loop.queue.next = &loop.queue;
  loop.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (loop.epoll_fd < 0)
    return FALSE;
  loop.source = g_source_new(&loop_source_funcs, sizeof(LoopSource));
  g_source_set_name(loop.source, "mm-event-loop");
  /* A non-recursive source is "blocked" during its dispatch by removing its fd from the
   * context and adding it back, each a wake-up write: loop_dispatch refuses recursion itself. */
  g_source_set_can_recurse(loop.source, TRUE);
  loop.epoll_tag = g_source_add_unix_fd(loop.source, loop.epoll_fd, G_IO_IN);
  g_source_attach(loop.source, NULL);
  pthread_atfork(NULL, NULL, after_fork);
  return TRUE;
}

/* mm_event_watch_init - a watch with nothing watched yet */
void
mm_event_watch_init(MmEventWatch *watch, MmEventFunc func)
{
  *watch = (MmEventWatch){.func = func};
}

/* mm_event_watch_add_fd - watch FD edge-triggered */
int
mm_event_watch_add_fd(MmEventWatch *watch, int fd, gboolean output)
{
  g_return_val_if_fail(watch != NULL && watch->slot == 0 && fd >= 0, EINVAL);
  if (!loop_start())
    return errno;
  guint index;
  if (loop.first_free != 0) {
    index = loop.first_free - 1;
    loop.first_free = loop.slots[index].next_free;
  } else {
    if (loop.n_slots >= MM_EVENT_LOOP_FOREIGN_TAG) /* the index must stay below the tag */
      return EMFILE;
    if (loop.n_slots == loop.slots_capacity) {
      loop.slots_capacity = MAX(64, loop.slots_capacity * 2);
      loop.slots = g_renew(Slot, loop.slots, loop.slots_capacity);
    }
    index = loop.n_slots++;
    loop.slots[index] = (Slot){0};
  }
  Slot *slot = &loop.slots[index];
  guint32 interest = EPOLLIN | EPOLLRDHUP | EPOLLET | (output ? EPOLLOUT : 0);
  struct epoll_event event = {
    .events = interest,
    .data.u64 = ((guint64)slot->generation << 32) | index,
  };
  if (epoll_ctl(loop.epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
    int error = errno;
    slot->next_free = loop.first_free;
    loop.first_free = index + 1;
    return error;
  }
  slot->watch = watch;
  slot->fd = fd;
  slot->next_free = 0;
  watch->slot = index + 1;
  watch->interest = interest;
  loop.n_fds++;
  return 0;
}

/* mm_event_watch_set_output - watch for output space or stop */
int
mm_event_watch_set_output(MmEventWatch *watch, gboolean output)
{
  g_return_val_if_fail(watch != NULL, EINVAL);
  if (watch->slot == 0)
    return 0;
  guint32 interest = output ? watch->interest | EPOLLOUT : watch->interest & ~(guint32)EPOLLOUT;
  if (interest == watch->interest)
    return 0;
  Slot *slot = &loop.slots[watch->slot - 1];
  struct epoll_event event = {
    .events = interest,
    .data.u64 = ((guint64)slot->generation << 32) | (watch->slot - 1),
  };
  if (epoll_ctl(loop.epoll_fd, EPOLL_CTL_MOD, slot->fd, &event) < 0)
    return errno;
  watch->interest = interest;
  return 0;
}

/* release_slot - forget WATCH's fd; later events for it carry an old generation */
static void
release_slot(MmEventWatch *watch)
{
  guint index = watch->slot - 1;
  Slot *slot = &loop.slots[index];
  slot->watch = NULL;
  slot->fd = -1;
  slot->generation++;
  slot->next_free = loop.first_free;
  loop.first_free = index + 1;
  watch->slot = 0;
  watch->interest = 0;
  watch->events = 0;
  loop.n_fds--;
}

/* mm_event_watch_close_fd - stop watching FD and close it */
void
mm_event_watch_close_fd(MmEventWatch *watch, int fd)
{
  g_return_if_fail(watch != NULL);
  if (watch->slot != 0)
    release_slot(watch);
  if (fd >= 0)
    close(fd);
}

/* mm_event_watch_remove_fd - stop watching the fd and leave it open */
void
mm_event_watch_remove_fd(MmEventWatch *watch)
{
  g_return_if_fail(watch != NULL);
  if (watch->slot == 0)
    return;
  struct epoll_event unused = {0};
  epoll_ctl(loop.epoll_fd, EPOLL_CTL_DEL, loop.slots[watch->slot - 1].fd, &unused);
  release_slot(watch);
}

/* mm_event_watch_set_deadline - call FUNC once the time reaches DEADLINE: cancelling it or
 * moving it later, as re-arming a timeout on every protocol step does, leaves the heap alone
 * (O(1)); the entry is corrected when it reaches the top */
void
mm_event_watch_set_deadline(MmEventWatch *watch, gint64 deadline)
{
  g_return_if_fail(watch != NULL);
  if (deadline == watch->deadline)
    return;
  if (watch->deadline == 0)
    loop.n_deadlines++;
  else if (deadline == 0)
    loop.n_deadlines--;
  watch->deadline = deadline;
  if (deadline == 0)
    return;
  if (watch->heap_index) {
    if (deadline < watch->key) {
      watch->key = deadline;
      heap_sift_up(watch->heap_index - 1);
    }
    return;
  }
  if (!loop_start()) {
    watch->deadline = 0;
    loop.n_deadlines--;
    return;
  }
  if (loop.heap_length == loop.heap_capacity) {
    loop.heap_capacity = MAX(64, loop.heap_capacity * 2);
    loop.heap = g_renew(MmEventWatch *, loop.heap, loop.heap_capacity);
  }
  watch->key = deadline;
  loop.heap[loop.heap_length++] = watch;
  heap_sift_up(loop.heap_length - 1);
}

/* mm_event_watch_schedule - call FUNC on the next pass */
void
mm_event_watch_schedule(MmEventWatch *watch)
{
  g_return_if_fail(watch != NULL);
  if (!loop_start() || watch->prev)
    return;
  queue_append(&loop.queue, watch);
}

/* mm_event_watch_clear - drop the deadline and any queued call */
void
mm_event_watch_clear(MmEventWatch *watch)
{
  if (!watch)
    return;
  mm_event_watch_set_deadline(watch, 0);
  /* The heap must not keep a pointer to a watch its owner may free. */
  if (watch->heap_index)
    heap_remove(watch);
  watch->key = 0;
  queue_remove(watch);
  watch->events = 0;
}

/* mm_event_loop_set_fresh_fd - FD is being handed over with its flags already set */
void
mm_event_loop_set_fresh_fd(int fd)
{
  loop.fresh_fd = fd;
}

/* mm_event_loop_is_fresh_fd - whether FD is the one being handed over */
gboolean
mm_event_loop_is_fresh_fd(int fd)
{
  return fd >= 0 && fd == loop.fresh_fd;
}

/* mm_event_loop_get_n_fds - fds watched in this process */
guint
mm_event_loop_get_n_fds(void)
{
  return loop.n_fds;
}

/* mm_event_loop_get_n_deadlines - deadlines armed in this process */
guint
mm_event_loop_get_n_deadlines(void)
{
  return loop.n_deadlines;
}

/* mm_event_loop_get_n_gathers - epoll_wait calls the loop made itself */
guint64
mm_event_loop_get_n_gathers(void)
{
  return loop.n_gathers;
}

/* mm_event_loop_get_epoll_fd - the epoll set's fd, -1 before the first watch */
int
mm_event_loop_get_epoll_fd(void)
{
  return loop.epoll_fd;
}

/* mm_event_loop_owns_fd - whether FD is registered as a connection's */
gboolean
mm_event_loop_owns_fd(int fd)
{
  for (guint i = 0; i < loop.n_slots; i++) {
    if (loop.slots[i].watch && loop.slots[i].fd == fd)
      return TRUE;
  }
  return FALSE;
}

/* mm_event_loop_take_events - queue the watches of connection events fetched by another wait */
void
mm_event_loop_take_events(const struct epoll_event *events, int n_events)
{
  g_return_if_fail(n_events >= 0 && (events != NULL || n_events == 0));
  queue_events(events, n_events);
}

/* mm_event_loop_renew_set - a fresh epoll set with the connections' registrations only */
gboolean
mm_event_loop_renew_set(void)
{
  return renew_set();
}

/* mm_event_loop_defer - see event-loop.h */
guint
mm_event_loop_defer(GSourceFunc func, gpointer data)
{
  return g_idle_add_full(G_PRIORITY_DEFAULT, func, data, NULL);
}
