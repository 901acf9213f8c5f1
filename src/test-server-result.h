/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-server-result.h: milter-test-server's per-transaction results and 2.3's way of
 * naming a status and a reply code. */
#pragma once

#include <glib.h>

#include "status.h"
#include "test-server-message.h"

/* One transaction's outcome; MESSAGE is NULL when the milter answered at connect or helo. */
typedef struct {
  MmStatus status;     /* CONTINUE or NOT_CHANGED is printed as "pass", as 2.3 did */
  char *reply_text;    /* "550 5.7.1 text" from a reply code, or NULL */
  GPtrArray *notes;    /* char *: rejected recipients, a rejected unknown command */
  TestServerMessage *message;
} TestServerTransaction;

/* test_server_transaction_free - NULL-safe (a GDestroyNotify) */
void test_server_transaction_free(gpointer transaction);

/* test_server_status_name - "pass" for continue and not-changed, else the status name */
const char *test_server_status_name(MmStatus status);

/* test_server_format_reply - 2.3's " [550]<5.7.1>(text)" suffix for REPLY_TEXT */
char *test_server_format_reply(const char *reply_text);
