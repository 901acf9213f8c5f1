/* SPDX-License-Identifier: GPL-3.0-or-later */
/* codec-test.c: helpers shared by the codec unit tests (see codec-test.h). */
#include "codec-test.h"

#include "packet.h"

/* mm_test_hex - OUT's bytes as lowercase hex */
char *
mm_test_hex(const GByteArray *out)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < out->len; i++)
    g_string_append_printf(s, "%02x", out->data[i]);
  return g_string_free(s, FALSE);
}

/* mm_test_frame - OUT is one whole packet: its code and data */
void
mm_test_frame(const GByteArray *out, gsize max, char *code, const guint8 **data, gsize *length)
{
  gsize consumed = 0;
  g_autoptr(GError) error = NULL;
  g_assert_cmpint(mm_packet_next(out->data, out->len, max, code, data, length, &consumed, &error),
                  ==, MM_PACKET_READY);
  g_assert_no_error(error);
  g_assert_cmpuint(consumed, ==, out->len);
}
