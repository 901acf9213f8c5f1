/* SPDX-License-Identifier: GPL-3.0-or-later */
/* monitor.h: the live statistics of a running proxy: MTA sessions, and per child milter its
 * sessions, verdicts, step latency, errors and reachability; rendered for the control socket. */
#pragma once

#include <glib.h>

#include "config.h"
#include "status.h"

/* Child records kept (name + connection spec pairs seen since start). Past it, events go to
 * one shared record named MM_MONITOR_OVERFLOW_NAME, so memory stays bounded even when every
 * reload renames the children. */
#define MM_MONITOR_MAX_CHILDREN 1024
#define MM_MONITOR_OVERFLOW_NAME "(other children)"
/* Bytes of a child's last error message kept (cut at a character boundary). */
#define MM_MONITOR_ERROR_LENGTH 256
/* Latency histogram: values below 2^MM_MONITOR_LATENCY_SUB_BITS microseconds are exact; above,
 * each power of two is cut into 2^MM_MONITOR_LATENCY_SUB_BITS buckets (a percentile is off by
 * at most 1/16); values from 2^MM_MONITOR_LATENCY_MAX_EXPONENT us (about 13 days) share the
 * last bucket. */
#define MM_MONITOR_LATENCY_SUB_BITS 4
#define MM_MONITOR_LATENCY_MAX_EXPONENT 40

typedef struct MmMonitor MmMonitor;
/* One child milter (name + connection spec): a handle that stays valid as long as the
 * monitor, so a client session looks it up once and reports events through it. */
typedef struct MmMonitorChild MmMonitorChild;

/* Wall-clock time in microseconds since the epoch (g_get_real_time); tests set their own. */
typedef gint64 (*MmMonitorClockFunc)(void);

typedef enum {
  MM_MONITOR_FORMAT_TEXT, /* for people: one block per child */
  MM_MONITOR_FORMAT_KEYS, /* for scripts: key=value lines, children numbered from 1 */
} MmMonitorFormat;

typedef enum {
  MM_MONITOR_REACHABLE_UNKNOWN = 0, /* no connection attempt yet */
  MM_MONITOR_REACHABLE_YES,         /* the last attempt succeeded */
  MM_MONITOR_REACHABLE_NO,          /* the last attempt failed */
} MmMonitorReachable;

/* mm_monitor_new - an empty registry; uptime counts from now */
MmMonitor *mm_monitor_new(void);
/* mm_monitor_free - NULL-safe; handles from mm_monitor_get_child die with it */
void mm_monitor_free(MmMonitor *monitor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmMonitor, mm_monitor_free)

/* mm_monitor_get_default - the process-wide registry the proxy feeds (created on first use;
 * one process, one main loop: no locking) */
MmMonitor *mm_monitor_get_default(void);

/* mm_monitor_set_clock - use CLOCK (NULL: g_get_real_time) and restart the uptime */
void mm_monitor_set_clock(MmMonitor *monitor, MmMonitorClockFunc clock);

/* mm_monitor_set_config - register CONFIG's milters (so they are listed before their first
 * session) and mark them as the current ones; records of earlier configurations stay */
void mm_monitor_set_config(MmMonitor *monitor, const MmConfig *config);

/* MTA sessions. STATUS is the session's final merged verdict (NOT_CHANGED: none). */
void mm_monitor_session_started(MmMonitor *monitor);
void mm_monitor_session_ended(MmMonitor *monitor, MmStatus status);

/* mm_monitor_get_child - the record of the child NAME at CONNECTION_SPEC (NULL: none),
 * created on first use (the only allocation); NULL if MONITOR is NULL */
MmMonitorChild *mm_monitor_get_child(MmMonitor *monitor, const char *name,
                                     const char *connection_spec);

/* Child events: O(1), no allocation, NULL-safe on CHILD (no monitor: nothing recorded). */
void mm_monitor_child_session_started(MmMonitorChild *child);
void mm_monitor_child_session_ended(MmMonitorChild *child);
/* mm_monitor_child_connected - a connection attempt succeeded: reachable */
void mm_monitor_child_connected(MmMonitorChild *child);
/* mm_monitor_child_connect_failed - a connection attempt failed: unreachable, and an error */
void mm_monitor_child_connect_failed(MmMonitorChild *child, const char *message);
/* mm_monitor_child_replied - the child's verdict STATUS for the command COMMAND (an
 * MM_COMMAND_* code: the stage) after LATENCY_US microseconds (negative: not measured) */
void mm_monitor_child_replied(MmMonitorChild *child, char command, MmStatus status,
                              gint64 latency_us);
/* mm_monitor_child_error - the child failed (timeout, closed, protocol): MESSAGE, now */
void mm_monitor_child_error(MmMonitorChild *child, const char *message);

/* Readers (for the status text and tests). */
void mm_monitor_get_sessions(const MmMonitor *monitor, guint64 *in_progress, guint64 *done);
/* mm_monitor_get_uptime - seconds since the monitor started (or its clock was set) */
gint64 mm_monitor_get_uptime(const MmMonitor *monitor);
guint mm_monitor_get_n_children(const MmMonitor *monitor);
MmMonitorChild *mm_monitor_get_nth_child(const MmMonitor *monitor, guint index);

const char *mm_monitor_child_get_name(const MmMonitorChild *child);
const char *mm_monitor_child_get_connection_spec(const MmMonitorChild *child);
guint64 mm_monitor_child_get_n_sessions(const MmMonitorChild *child);
guint64 mm_monitor_child_get_n_verdicts(const MmMonitorChild *child, MmStatus status);
guint64 mm_monitor_child_get_n_errors(const MmMonitorChild *child);
MmMonitorReachable mm_monitor_child_get_reachable(const MmMonitorChild *child);
/* mm_monitor_child_get_last_error - the last error message (NULL: none) and, if TIME is not
 * NULL, when it happened (clock microseconds) */
const char *mm_monitor_child_get_last_error(const MmMonitorChild *child, gint64 *time);
/* mm_monitor_child_get_latency - mean and the QUANTILE-th (0..1) latency in microseconds;
 * FALSE (nothing set) before the first measured reply */
gboolean mm_monitor_child_get_latency(const MmMonitorChild *child, double quantile,
                                      gint64 *mean, gint64 *value);

/* mm_monitor_render - the whole status as text (newly allocated) */
char *mm_monitor_render(const MmMonitor *monitor, MmMonitorFormat format);
