/* SPDX-License-Identifier: GPL-3.0-or-later */
/* event-loop.h: the I/O modules' one GSource on the default main context: an epoll set for
 * every watched fd, one deadline heap, and a queue of watches to run on the next pass. */
#pragma once

#include <glib.h>
#include <sys/epoll.h>

/* One pass runs at a time: a main loop nested inside a handler dispatches no watch until the
 * handler returns (no code of the project nests loops). Single-threaded: the default main
 * context is iterated by the thread that uses these functions. */

/* Events fetched from the epoll set per pass; more wait for the next pass. */
#define MM_EVENT_LOOP_MAX_EVENTS 256

/* The epoll data of a connection's registration holds its slot index in the low 32 bits, always
 * below this bit, and the slot's generation in the high 32 bits. Registrations made by other
 * modules in the same set (event-poll.c) set this bit, so their events are never taken for a
 * connection's. */
#define MM_EVENT_LOOP_FOREIGN_TAG 0x80000000u

typedef struct MmEventWatch MmEventWatch;

/* Called from the loop's dispatch with the epoll events gathered since the last call (0 when
 * only scheduled or due) and the iteration's monotonic time. Never called from inside a call
 * into this module. */
typedef void (*MmEventFunc)(MmEventWatch *watch, guint32 events, gint64 now);

/* Embedded in its owner (use G_STRUCT_MEMBER/container arithmetic to get back); the fields
 * belong to event-loop.c. */
struct MmEventWatch {
  MmEventFunc func;
  guint32 events;     /* gathered, not yet dispatched */
  guint slot;         /* 1 + index in the fd table, 0 = no fd watched */
  guint32 interest;   /* the epoll events registered */
  guint heap_index;   /* 1 + index in the deadline heap, 0 = no deadline */
  gint64 deadline;    /* monotonic microseconds, 0 = none */
  gint64 key;         /* its place in the heap: earlier than deadline after a lazy re-arm */
  MmEventWatch *prev; /* the run queue; NULL when not queued */
  MmEventWatch *next;
};

/* mm_event_watch_init - a watch with nothing watched yet */
void mm_event_watch_init(MmEventWatch *watch, MmEventFunc func);

/* mm_event_watch_add_fd - watch FD edge-triggered for input and hang-up, and for output space
 * if OUTPUT: FUNC is told when data arrives or space appears; the owner reads or writes until
 * EAGAIN before it waits for the next edge. 0, or the errno of epoll_ctl. */
int mm_event_watch_add_fd(MmEventWatch *watch, int fd, gboolean output);

/* mm_event_watch_set_output - watch for output space or stop (one epoll_ctl if it changes):
 * only while output waits, since a UNIX socket signals space each time its peer reads.
 * 0, or the errno of epoll_ctl. */
int mm_event_watch_set_output(MmEventWatch *watch, gboolean output);

/* mm_event_watch_close_fd - stop watching and close the fd: no epoll_ctl, a late event for
 * the closed fd (its file shared with another process) is recognised and dropped */
void mm_event_watch_close_fd(MmEventWatch *watch, int fd);

/* mm_event_watch_remove_fd - stop watching the fd and leave it open (one epoll_ctl): for an
 * fd other processes keep using, such as a shared listening socket */
void mm_event_watch_remove_fd(MmEventWatch *watch);

/* mm_event_watch_set_deadline - call FUNC once the monotonic time reaches DEADLINE (0 =
 * none); O(1) to cancel or move later, O(log n) to move earlier; dropped when it fires */
void mm_event_watch_set_deadline(MmEventWatch *watch, gint64 deadline);

/* mm_event_watch_schedule - call FUNC on the next pass even without an event */
void mm_event_watch_schedule(MmEventWatch *watch);

/* mm_event_watch_clear - drop the deadline and any queued call (the fd: close_fd); required
 * before the owner frees the watch */
void mm_event_watch_clear(MmEventWatch *watch);

/* mm_event_loop_set_fresh_fd - FD (or -1) was just made by accept4/socket with
 * SOCK_NONBLOCK | SOCK_CLOEXEC and is being handed over: mm_connection_new skips fcntl */
void mm_event_loop_set_fresh_fd(int fd);

/* mm_event_loop_is_fresh_fd - whether FD is the one being handed over */
gboolean mm_event_loop_is_fresh_fd(int fd);

/* mm_event_loop_get_n_fds - fds watched in this process (for tests and statistics) */
guint mm_event_loop_get_n_fds(void);

/* mm_event_loop_get_n_deadlines - deadlines armed in this process */
guint mm_event_loop_get_n_deadlines(void);

/* mm_event_loop_get_n_gathers - epoll_wait calls the loop made itself after the context's
 * poll (none while event-poll.c's poll function hands it the events) */
guint64 mm_event_loop_get_n_gathers(void);

/* The functions below are for event-poll.c, which waits on the loop's epoll set itself. */

/* mm_event_loop_get_epoll_fd - the epoll set's fd, -1 before the first watch */
int mm_event_loop_get_epoll_fd(void);

/* mm_event_loop_owns_fd - whether FD is registered in the set as a connection's (a linear
 * scan: for the rare moments the foreign registrations change) */
gboolean mm_event_loop_owns_fd(int fd);

/* mm_event_loop_take_events - queue the watches of the connection events among EVENTS, as
 * fetched by an epoll_wait on the set: the next pass runs them without a wait of its own.
 * Events with MM_EVENT_LOOP_FOREIGN_TAG, or of a slot freed since, are skipped. */
void mm_event_loop_take_events(const struct epoll_event *events, int n_events);

/* mm_event_loop_renew_set - replace the epoll set by a fresh one on the same fd number holding
 * the connections' registrations only (as after a fork): the only way to drop a registration
 * of an fd closed while its file lives on elsewhere. FALSE if no fresh set could be made. */
gboolean mm_event_loop_renew_set(void);

/* mm_event_loop_defer - call FUNC(DATA) once from the main loop, at the priority of the I/O
 * events; returns the source id for g_source_remove. Not g_idle_add: an idle source waits for a
 * pass with nothing else to dispatch, which sustained traffic never leaves (ended sessions piled
 * up unfreed under load, and answers waited for a quiet moment). */
guint mm_event_loop_defer(GSourceFunc func, gpointer data);
