/* SPDX-License-Identifier: GPL-3.0-or-later */
/* event-poll.h: a poll function for the default main context that waits once per iteration,
 * on the event loop's epoll set, with the context's other fds registered in that set. */
#pragma once

#include <glib.h>

/* How often the registrations of the context's other fds are checked against the fds
 * (microseconds), and the longest one wait lasts while there are any. GLib does not tell when
 * one of its fds is closed and the number reused; until the next check the new file's events
 * are not seen: this is the longest such a wake-up can be late. */
#define MM_EVENT_POLL_VERIFY_INTERVAL_US G_USEC_PER_SEC

/* Counters of this process (tests and statistics). */
typedef struct {
  guint64 n_waits;    /* epoll_wait calls made in place of poll */
  guint64 n_polls;    /* iterations left to g_poll: no epoll set among the fds, or an fd the
                         set cannot hold (a regular file, a closed fd, a connection's fd) */
  guint64 n_ctls;     /* epoll_ctl calls on the other fds' registrations */
  guint64 n_renewals; /* epoll sets replaced to drop a registration of a closed fd */
  guint n_foreign;    /* other fds registered now */
} MmEventPollStats;

/* mm_event_poll_install - make the default main context wait with mm_event_poll_func */
void mm_event_poll_install(void);

/* mm_event_poll_func - a GPollFunc: when FDS holds the event loop's epoll set, one epoll_wait
 * on it sets the revents of the other fds and hands the connections' events to the event loop,
 * which then needs no wait of its own; otherwise g_poll. -1 with errno (EINTR) like poll. */
gint mm_event_poll_func(GPollFD *fds, guint n_fds, gint timeout);

/* mm_event_poll_get_stats - the counters of this process */
void mm_event_poll_get_stats(MmEventPollStats *stats);
