/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client-session.h: one connection to one child milter, where we act as the MTA: connect,
 * negotiate, send commands with their macros, emulate skipped steps, time out, report replies. */
#pragma once

#include <glib.h>

#include "config.h"
#include "header-list.h"
#include "macros.h"
#include "option.h"
#include "reply.h"
#include "status.h"

#define MM_CLIENT_SESSION_ERROR (mm_client_session_error_quark())
GQuark mm_client_session_error_quark(void);

typedef enum {
  MM_CLIENT_SESSION_ERROR_SPEC,       /* the milter's connection_spec is unusable */
  MM_CLIENT_SESSION_ERROR_CONNECT,    /* connect failed or timed out */
  MM_CLIENT_SESSION_ERROR_TIMEOUT,    /* no reply (or no write progress) in time */
  MM_CLIENT_SESSION_ERROR_CLOSED,     /* the child closed the connection */
  MM_CLIENT_SESSION_ERROR_PROTOCOL,   /* undecodable packet, or a reply not allowed now */
  MM_CLIENT_SESSION_ERROR_NEGOTIATE,  /* the child's options do not fit our offer */
  MM_CLIENT_SESSION_ERROR_SHUTDOWN,   /* the child asked to shut the SMTP session down */
} MmClientSessionError;

typedef struct MmClientSession MmClientSession;

typedef struct {
  /* The child accepted our offer with OPTION (valid during the call). */
  void (*negotiated)(gpointer user_data, const MmOption *option);
  /* The child's verdict for the step in progress. REPLY_CODE is its "NNN x.y.z text" when it
   * sent one (already validated and matching STATUS), else NULL; valid during the call. */
  void (*replied)(gpointer user_data, MmStatus status, const char *reply_code);
  /* A modification at end of message (h i m e + 2 - b q); REPLY valid during the call. */
  void (*modified)(gpointer user_data, const MmReply *reply);
  /* The child is still working on the end of message. */
  void (*progressed)(gpointer user_data);
  /* The child is unusable from now on (ERROR says why). Called once; no other handler after. */
  void (*failed)(gpointer user_data, const GError *error);
} MmClientSessionHandlers;

/* What became of a command given to mm_client_session_send. */
typedef enum {
  MM_CLIENT_SEND_WAIT,     /* sent; handlers->replied will follow */
  MM_CLIENT_SEND_NO_REPLY, /* sent; the child negotiated not to reply (counts as continue) */
  MM_CLIENT_SEND_SKIPPED,  /* not sent: the child asked not to get it (counts as continue) */
  MM_CLIENT_SEND_DEAD,     /* the child has failed; nothing was sent */
} MmClientSend;

/* mm_client_session_new - a session with the child MILTER (borrowed: the caller keeps the
 * configuration alive); nothing happens until mm_client_session_negotiate */
MmClientSession *mm_client_session_new(const MmMilterConfig *milter,
                                       const MmClientSessionHandlers *handlers,
                                       gpointer user_data);
/* mm_client_session_free - close without a word; NULL-safe; safe inside its handlers */
void mm_client_session_free(MmClientSession *session);

/* mm_client_session_negotiate - connect and send OFFER; handlers->negotiated or ->failed
 * follow (never from inside this call) */
void mm_client_session_negotiate(MmClientSession *session, const MmOption *offer);

/* mm_client_session_send - send the command CODE with DATA (its packet data as the MTA sent
 * it), preceded by the macros of CODE from MACROS filtered to what the child asked for, plus
 * OVERRIDES (may be NULL). */
MmClientSend mm_client_session_send(MmClientSession *session, char code, const guint8 *data,
                                    gsize length, const MmMacros *macros,
                                    GHashTable *overrides);

/* mm_client_session_send_header - a header, translating the leading space when the MTA
 * sends it (MTA_LEADING_SPACE) and the child did not negotiate SMFIP_HDR_LEADSPC; otherwise
 * the header's own packet (mm_header_get_packet) goes out as it is */
MmClientSend mm_client_session_send_header(MmClientSession *session, const MmHeader *header,
                                           gboolean mta_leading_space, const MmMacros *macros);

/* mm_client_session_send_body - one body chunk of at most
 * mm_client_session_get_max_chunk() bytes; when OWNER (may be NULL) holds DATA, the chunk
 * is queued by reference instead of copied (mm_connection_output_add_bytes) */
MmClientSend mm_client_session_send_body(MmClientSession *session, GBytes *owner,
                                         const guint8 *data, gsize length,
                                         const MmMacros *macros);

/* mm_client_session_abort - end the child's transaction (no reply expected) */
void mm_client_session_abort(MmClientSession *session);

/* mm_client_session_quit - say goodbye and close */
void mm_client_session_quit(MmClientSession *session);

/* mm_client_session_get_option - what the child negotiated (NULL before) */
const MmOption *mm_client_session_get_option(const MmClientSession *session);

/* mm_client_session_get_reply_latency - microseconds the last awaited reply took */
gint64 mm_client_session_get_reply_latency(const MmClientSession *session);

/* mm_client_session_get_max_chunk - largest body chunk the child takes */
gsize mm_client_session_get_max_chunk(const MmClientSession *session, gsize chunk_size);

/* Privilege mode (see doc/privilege-mode.md): asks for MILTER's process to be started after a
 * failed connect; TRUE if the request went out, and the session then retries once. */
typedef gboolean (*MmClientSessionLaunchFunc)(gpointer user_data, const MmMilterConfig *milter);

/* mm_client_session_set_launcher - process-wide: from now on a child whose connect fails and
 * that has a milter.command calls FUNC, then retries the connect once RETRY_DELAY_MS later,
 * provided that this stays within its connection_timeout; FUNC NULL turns it off */
void mm_client_session_set_launcher(MmClientSessionLaunchFunc func, gpointer user_data,
                                    guint retry_delay_ms);
