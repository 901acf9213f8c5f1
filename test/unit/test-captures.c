/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-captures.c: the codec against bytes recorded between real peers (test/data/captures
 * from Postfix, test/data/codec from libmilter): every packet frames, decodes, re-encodes. */
#include <string.h>

#include "command.h"
#include "option.h"
#include "packet.h"
#include "protocol.h"
#include "reply.h"

#ifndef MM_TOP_SRCDIR
#define MM_TOP_SRCDIR "."
#endif

/* The capture directories, relative to the source tree. */
static const char *const capture_dirs[] = {"test/data/captures", "test/data/codec"};

/* top_srcdir - the source tree: the harness's top_srcdir, else the configured one */
static const char *
top_srcdir(void)
{
  const char *dir = g_getenv("top_srcdir");
  return dir != NULL && dir[0] != '\0' ? dir : MM_TOP_SRCDIR;
}

/* A capture file being checked: where we are, and what the session negotiated. */
typedef struct {
  const char *path;
  guint line;
  gsize max_data_length;
  char last_command; /* the last command that was not MACRO, for reply legality */
} Capture;

/* fail - report a mismatch at the current line */
static void G_GNUC_PRINTF(2, 3) G_GNUC_NORETURN
fail(const Capture *capture, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  g_autofree char *message = g_strdup_vprintf(format, args);
  va_end(args);
  g_error("%s:%u: %s", capture->path, capture->line, message);
}

/* hex - bytes as lowercase hex */
static char *
hex(const guint8 *bytes, gsize length)
{
  GString *s = g_string_sized_new(length * 2);
  for (gsize i = 0; i < length; i++)
    g_string_append_printf(s, "%02x", bytes[i]);
  return g_string_free(s, FALSE);
}

/* unhex - a line's hex digits as bytes */
static GByteArray *
unhex(const Capture *capture, const char *text)
{
  gsize length = strlen(text);
  if (length % 2 != 0)
    fail(capture, "odd number of hex digits");
  GByteArray *bytes = g_byte_array_sized_new((guint)(length / 2));
  for (gsize i = 0; i < length; i += 2) {
    int high = g_ascii_xdigit_value(text[i]), low = g_ascii_xdigit_value(text[i + 1]);
    if (high < 0 || low < 0)
      fail(capture, "not hex: %s", text);
    guint8 byte = (guint8)(high << 4 | low);
    g_byte_array_append(bytes, &byte, 1);
  }
  return bytes;
}

/* check_packet - one recorded packet: frame, decode, re-encode, compare */
static void
check_packet(Capture *capture, gboolean from_mta, const char *text)
{
  g_autoptr(GByteArray) bytes = unhex(capture, text);
  char code;
  const guint8 *data;
  gsize length, consumed;
  g_autoptr(GError) error = NULL;
  MmPacketResult result = mm_packet_next(bytes->data, bytes->len, capture->max_data_length,
                                         &code, &data, &length, &consumed, &error);
  if (result != MM_PACKET_READY)
    fail(capture, "does not frame: %s", error != NULL ? error->message : "incomplete");
  if (consumed != bytes->len)
    fail(capture, "framing used %" G_GSIZE_FORMAT " of %u bytes", consumed, bytes->len);

  g_autoptr(GByteArray) again = g_byte_array_new();
  if (from_mta) {
    MmCommand command;
    if (!mm_command_decode(code, data, length, &command, &error))
      fail(capture, "%s", error->message);
    mm_command_encode(again, &command);
    if (code != MM_COMMAND_MACRO)
      capture->last_command = code;
  } else {
    MmReply reply;
    if (!mm_reply_decode(code, data, length, &reply, &error))
      fail(capture, "%s", error->message);
    if (!mm_reply_check_allowed(capture->last_command, code, &error))
      fail(capture, "%s", error->message);
    if (code == MM_REPLY_NEGOTIATE) {
      /* Through the parsed options, so that the macro request lists round-trip too. */
      MmOption option;
      mm_option_init(&option);
      if (!mm_option_from_reply(&reply, &option, &error))
        fail(capture, "%s", error->message);
      mm_reply_encode_negotiate(again, &option);
      capture->max_data_length = mm_option_max_data_length(option.steps);
      mm_option_clear(&option);
    } else {
      mm_reply_encode(again, &reply);
    }
  }
  g_autofree char *got = hex(again->data, again->len);
  if (strcmp(got, text) != 0)
    fail(capture, "re-encoded as %s", got);
}

/* test_capture_file - every packet of one capture file */
static void
test_capture_file(gconstpointer data)
{
  const char *path = data;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_assert_true(g_file_get_contents(path, &contents, NULL, &error));
  g_assert_no_error(error);
  Capture capture = {.path = path, .max_data_length = MM_DATA_SIZE_DEFAULT};
  g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
  guint packets = 0;
  for (guint i = 0; lines[i] != NULL; i++) {
    capture.line = i + 1;
    const char *line = g_strchomp(lines[i]);
    if (line[0] == '\0' || line[0] == '#')
      continue;
    if ((line[0] != '>' && line[0] != '<') || line[1] != ' ')
      fail(&capture, "neither a comment nor \"> HEX\" / \"< HEX\"");
    /* A new session starts with the MTA's negotiate: reset its data size. */
    if (line[0] == '>' && g_str_has_prefix(line + 2, "0000000d4f"))
      capture.max_data_length = MM_DATA_SIZE_DEFAULT;
    check_packet(&capture, line[0] == '>', line + 2);
    packets++;
  }
  g_assert_cmpuint(packets, >, 0);
}

/* test_no_captures - a directory without capture files yet */
static void
test_no_captures(gconstpointer data)
{
  g_autofree char *message = g_strdup_printf("no captures in %s", (const char *)data);
  g_test_skip(message);
}

/* add_directory - one test per *.txt file of DIR, or a skipped test when there is none */
static void
add_directory(const char *relative, GPtrArray *keep)
{
  g_autofree char *dir = g_build_filename(top_srcdir(), relative, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GDir) handle = g_dir_open(dir, 0, NULL);
  const char *name;
  while (handle != NULL && (name = g_dir_read_name(handle)) != NULL) {
    if (g_str_has_suffix(name, ".txt"))
      g_ptr_array_add(names, g_strdup(name));
  }
  g_autofree char *base = g_path_get_basename(relative);
  if (names->len == 0) {
    char *test_path = g_strdup_printf("/captures/%s/none", base);
    g_ptr_array_add(keep, test_path);
    g_test_add_data_func(test_path, relative, test_no_captures);
    return;
  }
  g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
  for (guint i = 0; i < names->len; i++) {
    const char *file = g_ptr_array_index(names, i);
    char *path = g_build_filename(dir, file, NULL);
    char *test_path = g_strdup_printf("/captures/%s/%s", base, file);
    g_ptr_array_add(keep, path);
    g_ptr_array_add(keep, test_path);
    g_test_add_data_func(test_path, path, test_capture_file);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(g_free);
  for (gsize i = 0; i < G_N_ELEMENTS(capture_dirs); i++)
    add_directory(capture_dirs[i], keep);
  return g_test_run();
}
