/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-client-session.h: one milter-test-client connection: prints and records each command
 * from the MTA and answers as the script says. */
#pragma once

#include <glib.h>

#include "test-client-script.h"

/* What every session of one milter-test-client process shares. */
typedef struct {
  const TestClientScript *script;
  gboolean quiet;     /* nothing on standard output */
  int record_fd;      /* --record file (O_APPEND), or -1 */
  GHashTable *sessions; /* TestClientSession set, owning them */
  guint next_id;
} TestClientContext;

typedef struct TestClientSession TestClientSession;

/* test_client_session_start - serve the accepted FD; the session adds itself to
 * CONTEXT->sessions and removes (frees) itself when the connection ends */
void test_client_session_start(TestClientContext *context, int fd);

/* test_client_session_free - close and free (the sessions table's destroy function) */
void test_client_session_free(gpointer session);
