/* SPDX-License-Identifier: GPL-3.0-or-later */
/* server-session.h: one MTA connection, where we act as the milter: decodes the MTA's commands,
 * checks their order, hands them to the children, and sends the MTA one merged reply per step. */
#pragma once

#include <glib.h>

#include "config.h"
#include "status.h"

/* Idle time allowed between two MTA commands, as milter manager 2.3 (7210 s). */
#define MM_SERVER_SESSION_IDLE_TIMEOUT_MS (7210u * 1000u)
/* Commands queued while the children work (an MTA that does not wait, NR_* steps). */
#define MM_SERVER_SESSION_MAX_QUEUED_BYTES (1024u * 1024u)

typedef struct MmServerSession MmServerSession;

/* Called from the main loop once the session is over; the callee frees SESSION. */
typedef void (*MmServerSessionEndedFunc)(MmServerSession *session, gpointer user_data);

/* mm_server_session_new - serve the MTA connected on FD with CONFIG (a reference is kept) */
MmServerSession *mm_server_session_new(int fd, MmConfig *config, guint64 id,
                                       MmServerSessionEndedFunc ended, gpointer user_data);

/* mm_server_session_free - NULL-safe; only from the ended callback or at shutdown */
void mm_server_session_free(MmServerSession *session);

/* mm_server_session_stop - end the session now: an MTA waiting for an answer gets
 * manager.fallback_status, children get QUIT; the ended callback follows */
void mm_server_session_stop(MmServerSession *session);

/* mm_server_session_get_final_status - the last answer the MTA got (NOT_CHANGED: none) */
MmStatus mm_server_session_get_final_status(const MmServerSession *session);

