/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-server-result.c: milter-test-server's per-transaction results and 2.3's way of
 * naming a status and a reply code. */
#include "build-config.h"

#include <string.h>

#include "test-server-result.h"

/* test_server_transaction_free - NULL-safe */
void
test_server_transaction_free(gpointer data)
{
  TestServerTransaction *transaction = data;
  if (transaction == NULL)
    return;
  g_free(transaction->reply_text);
  g_ptr_array_unref(transaction->notes);
  test_server_message_free(transaction->message);
  g_free(transaction);
}

/* test_server_status_name - 2.3's status nick */
const char *
test_server_status_name(MmStatus status)
{
  if (status == MM_STATUS_CONTINUE || status == MM_STATUS_NOT_CHANGED)
    return "pass";
  return mm_status_to_string(status);
}

/* test_server_format_reply - " [CODE]<EXTENDED>(TEXT)" */
char *
test_server_format_reply(const char *reply_text)
{
  if (reply_text == NULL)
    return g_strdup("");
  const char *p = reply_text;
  guint code = 0;
  while (g_ascii_isdigit(*p) && p - reply_text < 3)
    code = code * 10 + (guint)(*p++ - '0');
  if (*p == ' ' || *p == '-')
    p++;
  gsize extended_length = strspn(p, "0123456789.");
  g_autofree char *extended = NULL;
  if (extended_length > 0 && memchr(p, '.', extended_length) != NULL) {
    extended = g_strndup(p, extended_length);
    p += extended_length;
    if (*p == ' ')
      p++;
  }
  return g_strdup_printf(" [%u]<%s>(%s)", code, extended != NULL ? extended : "(null)", p);
}

