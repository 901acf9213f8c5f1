/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-performance-check-session.h: one SMTP session of the load client, non-blocking on
 * the GLib main loop: connect, EHLO, (XCLIENT), MAIL, RCPT..., DATA, QUIT, timed. */
#pragma once

#include <gio/gio.h>

#include "milter-performance-check-mail.h"

/* Longest SMTP response line accepted (RFC 5321 allows 512 octets). */
#define MM_PERFORMANCE_SESSION_MAX_LINE 4096
/* Most lines of one multi-line response. */
#define MM_PERFORMANCE_SESSION_MAX_LINES 100

typedef struct {
  const char *host;
  guint16 port;
  const char *helo_fqdn;
  const char *connect_host;    /* XCLIENT NAME=, or NULL */
  const char *connect_address; /* XCLIENT ADDR=, or NULL */
  guint reading_timeout;       /* seconds without a response before giving up */
} MmPerformanceSessionOptions;

typedef struct MmPerformanceSession MmPerformanceSession;

/* Called once when the session is over (delivered or not); may free the session. */
typedef void (*MmPerformanceSessionDone)(MmPerformanceSession *session, gpointer user_data);

/* mm_performance_session_start - connect and send MAIL (kept by reference until done) */
MmPerformanceSession *mm_performance_session_start(GSocketClient *client,
                                                   const MmPerformanceSessionOptions *options,
                                                   const MmPerformanceMail *mail,
                                                   MmPerformanceSessionDone done,
                                                   gpointer user_data);

/* mm_performance_session_free - only from the done callback or later (NULL-safe) */
void mm_performance_session_free(MmPerformanceSession *session);

/* mm_performance_session_succeeded - whether the server took the mail (250 after DATA) */
gboolean mm_performance_session_succeeded(const MmPerformanceSession *session);

/* mm_performance_session_get_elapsed - seconds from connect to the end of the session */
double mm_performance_session_get_elapsed(const MmPerformanceSession *session);

/* mm_performance_session_get_failure - "RCPT: 550 5.1.1 unknown user", "connect: ...",
 * or NULL when it succeeded */
const char *mm_performance_session_get_failure(const MmPerformanceSession *session);
