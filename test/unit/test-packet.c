/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-packet.c: unit tests for packet framing (packet.h): whole, partial, back-to-back,
 * empty and oversized packets, the limits of the MDS flags, and the encoder. */
#include "packet.h"

#include "option.h"
#include "protocol.h"

/* next - mm_packet_next over a heap copy, so AddressSanitizer sees any overread */
static MmPacketResult
next(const void *bytes, gsize available, gsize max, char *code, gsize *data_offset,
     gsize *data_length, gsize *consumed, GError **error)
{
  g_autofree guint8 *copy = g_memdup2(bytes, available);
  const guint8 *data = NULL;
  MmPacketResult result =
    mm_packet_next(copy, available, max, code, &data, data_length, consumed, error);
  if (result == MM_PACKET_READY)
    *data_offset = (gsize)(data - copy);
  return result;
}

/* test_whole - a packet, then the next one in the same buffer */
static void
test_whole(void)
{
  static const guint8 bytes[] = {0, 0, 0, 3, 'H', 'x', 0, 0, 0, 0, 1, 'N'};
  char code = 0;
  gsize offset = 0, length = 0, consumed = 0;
  g_autoptr(GError) error = NULL;
  g_assert_cmpint(next(bytes, sizeof bytes, 65535, &code, &offset, &length, &consumed, &error),
                  ==, MM_PACKET_READY);
  g_assert_cmpint(code, ==, 'H');
  g_assert_cmpuint(offset, ==, 5);
  g_assert_cmpuint(length, ==, 2);
  g_assert_cmpuint(consumed, ==, 7);
  g_assert_cmpint(next(bytes + 7, sizeof bytes - 7, 65535, &code, &offset, &length, &consumed,
                       &error),
                  ==, MM_PACKET_READY);
  g_assert_cmpint(code, ==, 'N');
  g_assert_cmpuint(length, ==, 0);
  g_assert_cmpuint(consumed, ==, 5);
}

/* test_partial - every proper prefix of a packet is incomplete */
static void
test_partial(void)
{
  static const guint8 bytes[] = {0, 0, 0, 4, 'U', 'a', 'b', 0};
  for (gsize n = 0; n < sizeof bytes; n++) {
    char code = 0;
    gsize offset = 0, length = 0, consumed = 0;
    g_autoptr(GError) error = NULL;
    g_assert_cmpint(next(bytes, n, 65535, &code, &offset, &length, &consumed, &error), ==,
                    MM_PACKET_INCOMPLETE);
    g_assert_no_error(error);
  }
}

/* test_empty - a zero length has no code byte */
static void
test_empty(void)
{
  static const guint8 bytes[] = {0, 0, 0, 0, 'c'};
  char code;
  gsize offset, length, consumed;
  g_autoptr(GError) error = NULL;
  g_assert_cmpint(next(bytes, sizeof bytes, 65535, &code, &offset, &length, &consumed, &error),
                  ==, MM_PACKET_INVALID);
  g_assert_error(error, MM_PACKET_ERROR, MM_PACKET_ERROR_EMPTY);
}

/* test_limits - each data size is accepted at its limit and refused one above, as soon as
 * the length prefix is in */
static void
test_limits(void)
{
  static const guint32 steps[] = {0, MM_STEP_MDS_256K, MM_STEP_MDS_1M};
  for (gsize i = 0; i < G_N_ELEMENTS(steps); i++) {
    gsize max = mm_option_max_data_length(steps[i]);
    guint32 at_limit = (guint32)max + 1, above = (guint32)max + 2;
    const guint8 ok[] = {at_limit >> 24, at_limit >> 16, at_limit >> 8, at_limit, 'B'};
    const guint8 bad[] = {above >> 24, above >> 16, above >> 8, above};
    char code;
    gsize offset, length, consumed;
    g_autoptr(GError) error = NULL;
    g_assert_cmpint(next(ok, sizeof ok, max, &code, &offset, &length, &consumed, &error), ==,
                    MM_PACKET_INCOMPLETE);
    g_assert_cmpint(next(bad, sizeof bad, max, &code, &offset, &length, &consumed, &error), ==,
                    MM_PACKET_INVALID);
    g_assert_error(error, MM_PACKET_ERROR, MM_PACKET_ERROR_TOO_LARGE);
  }
  /* A hostile length like the one that crashed other proxies. */
  static const guint8 huge[] = {0x2a, 0x31, 0x2e, 0x09, 'B'};
  char code;
  gsize offset, length, consumed;
  g_autoptr(GError) error = NULL;
  g_assert_cmpint(next(huge, sizeof huge, MM_DATA_SIZE_1M, &code, &offset, &length, &consumed,
                       &error),
                  ==, MM_PACKET_INVALID);
  g_assert_error(error, MM_PACKET_ERROR, MM_PACKET_ERROR_TOO_LARGE);
}

/* test_encode - begin/end patch the length; append writes a whole packet */
static void
test_encode(void)
{
  g_autoptr(GByteArray) out = g_byte_array_new();
  mm_packet_append(out, 'c', NULL, 0);
  gsize start = mm_packet_begin(out, 'b');
  g_byte_array_append(out, (const guint8 *)"abc", 3);
  mm_packet_end(out, start);
  static const guint8 expected[] = {0, 0, 0, 1, 'c', 0, 0, 0, 4, 'b', 'a', 'b', 'c'};
  g_assert_cmpmem(out->data, out->len, expected, sizeof expected);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/packet/whole", test_whole);
  g_test_add_func("/packet/partial", test_partial);
  g_test_add_func("/packet/empty", test_empty);
  g_test_add_func("/packet/limits", test_limits);
  g_test_add_func("/packet/encode", test_encode);
  return g_test_run();
}
