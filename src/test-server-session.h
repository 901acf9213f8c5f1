/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-server-session.h: one milter-test-server session: acts as the MTA towards one milter
 * on the GLib main loop (negotiate, connect, helo, N transactions, quit) and keeps results. */
#pragma once

#include <glib.h>

#include "connection-spec.h"
#include "header-list.h"
#include "protocol.h"
#include "test-server-result.h"

#define TEST_SERVER_SESSION_ERROR (test_server_session_error_quark())
GQuark test_server_session_error_quark(void);

typedef enum {
  TEST_SERVER_SESSION_ERROR_CONNECT,  /* the milter could not be reached */
  TEST_SERVER_SESSION_ERROR_PROTOCOL, /* a reply we cannot accept, or the milter went away */
  TEST_SERVER_SESSION_ERROR_TIMEOUT,  /* connection, reading, writing or end-of-message */
} TestServerSessionError;

/* What the tool sends; shared read-only by every session of one run. */
typedef struct {
  MmConnectionSpec *spec;
  guint32 version;
  char *connect_host;
  char connect_family; /* MM_FAMILY_* */
  guint16 connect_port;
  char *connect_address;
  char *helo_fqdn;
  char *envelope_from;   /* "<a@b>" */
  char **recipients;     /* "<a@b>", NULL-terminated, at least one */
  MmHeaderList *headers; /* the MTA's headers */
  GPtrArray *body_chunks; /* GBytes */
  char *unknown;         /* an unknown SMTP command to send after RCPT, or NULL */
  /* macros per stage, name and value alternating; a later name replaces an earlier one */
  GPtrArray *macros[MM_MACRO_STAGE_COUNT];
  guint connection_timeout_ms, reading_timeout_ms, writing_timeout_ms, end_of_message_timeout_ms;
  guint n_transactions;
  gboolean abort_between; /* ABORT after an end of message that is followed by another MAIL */
} TestServerConfig;

typedef struct TestServerSession TestServerSession;

/* Called once when the session ended, successfully or not. */
typedef void (*TestServerSessionDoneFunc)(TestServerSession *session, gpointer user_data);

/* test_server_session_new - a session for CONFIG (which must outlive it) */
TestServerSession *test_server_session_new(const TestServerConfig *config,
                                           TestServerSessionDoneFunc done, gpointer user_data);

/* test_server_session_start - connect and run; DONE reports the end (never from inside
 * this call) */
void test_server_session_start(TestServerSession *session);

/* test_server_session_get_error - why the session failed, or NULL */
const GError *test_server_session_get_error(TestServerSession *session);

/* test_server_session_get_transactions - TestServerTransaction, in order */
GPtrArray *test_server_session_get_transactions(TestServerSession *session);

/* test_server_session_get_elapsed - seconds from connected to the end */
double test_server_session_get_elapsed(TestServerSession *session);

/* test_server_session_free - NULL-safe; closes the connection if still open */
void test_server_session_free(TestServerSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestServerSession, test_server_session_free)
