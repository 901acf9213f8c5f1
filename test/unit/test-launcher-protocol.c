/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-launcher-protocol.c: the daemon <-> launcher messages: each encodes to the expected
 * bytes and decodes back; malformed, unknown and oversized messages are clear errors. */
#include <string.h>
#include <sys/wait.h>

#include "libmilter-manager/launcher-protocol.h"
#include "libmilter-manager/packet.h"

/* decode_one - frame OUT's only packet and decode it */
static gboolean
decode_one(GByteArray *out, MmLauncherMessage *message, GError **error)
{
  char code;
  const guint8 *data;
  gsize length, consumed;
  g_assert_cmpint(mm_packet_next(out->data, out->len, MM_LAUNCHER_PROTOCOL_MAX_DATA_LENGTH,
                                 &code, &data, &length, &consumed, NULL),
                  ==, MM_PACKET_READY);
  g_assert_cmpuint(consumed, ==, out->len);
  return mm_launcher_protocol_decode(code, data, length, message, error);
}

/* test_launch - a launch request's bytes and round trip */
static void
test_launch(void)
{
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_assert_true(mm_launcher_protocol_encode_launch(out, "clamav", NULL));
  static const guint8 expected[] = {0, 0, 0, 8, 'L', 'c', 'l', 'a', 'm', 'a', 'v', 0};
  g_assert_cmpmem(out->data, out->len, expected, sizeof expected);
  MmLauncherMessage message;
  g_assert_true(decode_one(out, &message, NULL));
  g_assert_cmpint(message.code, ==, MM_LAUNCHER_LAUNCH);
  g_assert_cmpstr(message.name, ==, "clamav");
  g_assert_true(mm_launcher_protocol_is_request(message.code));
}

/* test_launch_bad_name - empty and oversized names are refused before anything is sent */
static void
test_launch_bad_name(void)
{
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(GError) error = NULL;
  g_assert_false(mm_launcher_protocol_encode_launch(out, "", &error));
  g_assert_error(error, MM_LAUNCHER_PROTOCOL_ERROR, MM_LAUNCHER_PROTOCOL_ERROR_TOO_LONG);
  g_clear_error(&error);
  g_autofree char *long_name = g_strnfill(MM_LAUNCHER_PROTOCOL_MAX_NAME + 1, 'a');
  g_assert_false(mm_launcher_protocol_encode_launch(out, long_name, &error));
  g_assert_error(error, MM_LAUNCHER_PROTOCOL_ERROR, MM_LAUNCHER_PROTOCOL_ERROR_TOO_LONG);
  g_assert_cmpuint(out->len, ==, 0);
  long_name[MM_LAUNCHER_PROTOCOL_MAX_NAME] = '\0';
  g_assert_true(mm_launcher_protocol_encode_launch(out, long_name, NULL));
  g_assert_cmpuint(out->len, <=, MM_LAUNCHER_PROTOCOL_MAX_DATA_LENGTH + 5);
}

/* test_replies - every reply round-trips with its fields */
static void
test_replies(void)
{
  MmLauncherMessage message;
  g_autoptr(GByteArray) out = g_byte_array_new();
  mm_launcher_protocol_encode_launched(out, "spamass", 4242, "nobody");
  g_assert_true(decode_one(out, &message, NULL));
  g_assert_cmpint(message.code, ==, MM_LAUNCHER_LAUNCHED);
  g_assert_cmpstr(message.name, ==, "spamass");
  g_assert_cmpint(message.pid, ==, 4242);
  g_assert_cmpstr(message.text, ==, "nobody");
  g_assert_false(mm_launcher_protocol_is_request(message.code));

  g_byte_array_set_size(out, 0);
  mm_launcher_protocol_encode_refused(out, "spamass", "already running (pid 4242)");
  g_assert_true(decode_one(out, &message, NULL));
  g_assert_cmpint(message.code, ==, MM_LAUNCHER_REFUSED);
  g_assert_cmpstr(message.text, ==, "already running (pid 4242)");

  g_byte_array_set_size(out, 0);
  mm_launcher_protocol_encode_exited(out, "spamass", 4242, 3 << 8);
  g_assert_true(decode_one(out, &message, NULL));
  g_assert_cmpint(message.code, ==, MM_LAUNCHER_EXITED);
  g_assert_cmpint(message.pid, ==, 4242);
  g_assert_true(WIFEXITED(message.wait_status));
  g_assert_cmpint(WEXITSTATUS(message.wait_status), ==, 3);

  g_byte_array_set_size(out, 0);
  mm_launcher_protocol_encode_reloaded(out, 7, NULL);
  g_assert_true(decode_one(out, &message, NULL));
  g_assert_cmpint(message.code, ==, MM_LAUNCHER_RELOADED);
  g_assert_cmpuint(message.count, ==, 7);
  g_assert_cmpstr(message.text, ==, "");

  g_byte_array_set_size(out, 0);
  mm_launcher_protocol_encode_reload(out);
  g_assert_true(decode_one(out, &message, NULL));
  g_assert_cmpint(message.code, ==, MM_LAUNCHER_RELOAD);
  g_assert_true(mm_launcher_protocol_is_request(message.code));
}

/* test_long_reason - a long reason is cut at a character boundary and still decodes */
static void
test_long_reason(void)
{
  GString *reason = g_string_new(NULL);
  while (reason->len <= MM_LAUNCHER_PROTOCOL_MAX_TEXT + 10)
    g_string_append(reason, "\xc3\xa9"); /* two bytes each */
  g_string_prepend_c(reason, 'x');        /* so that the limit falls inside a character */
  g_autoptr(GByteArray) out = g_byte_array_new();
  mm_launcher_protocol_encode_refused(out, "m", reason->str);
  g_string_free(reason, TRUE);
  MmLauncherMessage message;
  g_autoptr(GError) error = NULL;
  g_assert_true(decode_one(out, &message, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(strlen(message.text), <=, MM_LAUNCHER_PROTOCOL_MAX_TEXT);
  g_assert_cmpuint(strlen(message.text), >=, MM_LAUNCHER_PROTOCOL_MAX_TEXT - 1);
}

/* test_malformed - each broken message is refused with the cause */
static void
test_malformed(void)
{
  static const struct {
    char code;
    const char *data;
    gsize length;
    gint expected;
  } cases[] = {
    {'L', "", 0, MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED},            /* no name */
    {'L', "abc", 3, MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED},         /* no NUL */
    {'L', "\0", 1, MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED},          /* empty name */
    {'L', "a\0b\0", 4, MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED},      /* two fields */
    {'L', "\xff\xfe\0", 3, MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED},  /* not UTF-8 */
    {'R', "x\0", 2, MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED},         /* data */
    {'l', "a\0-1\0u\0", 7, MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED},  /* negative pid */
    {'l', "a\0x\0u\0", 6, MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED},   /* not a number */
    {'l', "a\0" "0\0u\0", 6, MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED}, /* pid 0 */
    {'x', "a\0" "12\0", 5, MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED},  /* no status */
    {'c', "99999999999\0\0", 13, MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED}, /* count too big */
    {'Q', "", 0, MM_LAUNCHER_PROTOCOL_ERROR_UNKNOWN_CODE},
    {'\0', "", 0, MM_LAUNCHER_PROTOCOL_ERROR_UNKNOWN_CODE},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) error = NULL;
    MmLauncherMessage message = {.name = "untouched"};
    g_test_message("case %u", i);
    g_assert_false(mm_launcher_protocol_decode(cases[i].code, (const guint8 *)cases[i].data,
                                               cases[i].length, &message, &error));
    g_assert_error(error, MM_LAUNCHER_PROTOCOL_ERROR, cases[i].expected);
    g_assert_cmpstr(message.name, ==, "untouched");
  }
}

/* test_oversized_name - a name past the limit inside a well-formed packet */
static void
test_oversized_name(void)
{
  g_autofree char *data = g_strnfill(MM_LAUNCHER_PROTOCOL_MAX_NAME + 1, 'n');
  MmLauncherMessage message;
  g_autoptr(GError) error = NULL;
  g_assert_false(mm_launcher_protocol_decode('L', (const guint8 *)data,
                                             MM_LAUNCHER_PROTOCOL_MAX_NAME + 2, &message,
                                             &error));
  g_assert_error(error, MM_LAUNCHER_PROTOCOL_ERROR, MM_LAUNCHER_PROTOCOL_ERROR_TOO_LONG);
}

/* test_wait_status - exit statuses and signals in words */
static void
test_wait_status(void)
{
  g_autofree char *exited = mm_launcher_protocol_describe_wait_status(2 << 8);
  g_assert_cmpstr(exited, ==, "exited with status 2");
  g_autofree char *killed = mm_launcher_protocol_describe_wait_status(9);
  g_assert_true(g_str_has_prefix(killed, "killed by signal 9"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/launcher-protocol/launch", test_launch);
  g_test_add_func("/launcher-protocol/launch/bad-name", test_launch_bad_name);
  g_test_add_func("/launcher-protocol/replies", test_replies);
  g_test_add_func("/launcher-protocol/refused/long-reason", test_long_reason);
  g_test_add_func("/launcher-protocol/decode/malformed", test_malformed);
  g_test_add_func("/launcher-protocol/decode/oversized-name", test_oversized_name);
  g_test_add_func("/launcher-protocol/wait-status", test_wait_status);
  return g_test_run();
}
