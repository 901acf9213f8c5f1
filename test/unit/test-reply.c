/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-reply.c: unit tests for the milter reply codec (reply.h): every reply encoded to
 * known bytes and round-tripped, decoded fields, each error, and the legality table. */
#include "reply.h"

#include <string.h>

#include "command.h"
#include "packet.h"
#include "test/lib/codec-test.h"
#include "protocol.h"

/* decode_packet - frame OUT as one packet and decode it as a reply */
static void
decode_packet(const GByteArray *out, MmReply *reply)
{
  char code;
  const guint8 *data;
  gsize length;
  g_autoptr(GError) error = NULL;
  mm_test_frame(out, MM_DATA_SIZE_DEFAULT, &code, &data, &length);
  g_assert_true(mm_reply_decode(code, data, length, reply, &error));
  g_assert_no_error(error);
}

/* make_option - version 6, all flags, three macro request lists */
static void
make_option(MmOption *option)
{
  mm_option_init(option);
  option->version = 6;
  option->actions = MM_ACTION_ALL;
  option->steps = 0x1fffff;
  mm_option_set_macro_requests(option, MM_MACRO_STAGE_END_OF_HEADER, "");
  mm_option_set_macro_requests(option, MM_MACRO_STAGE_CONNECT, "{client_addr} j");
  mm_option_set_macro_requests(option, MM_MACRO_STAGE_MAIL, "{auth_type}");
}

typedef struct {
  const char *path;
  void (*encode)(GByteArray *out);
  const char *hex;
} EncodeCase;

/* enc_* - the encoder calls of the table below, one per reply shape */
static void
enc_negotiate(GByteArray *out)
{
  MmOption option;
  make_option(&option);
  mm_reply_encode_negotiate(out, &option);
  mm_option_clear(&option);
}
static void
enc_negotiate_plain(GByteArray *out)
{
  MmOption option;
  mm_option_init(&option);
  option.version = 2;
  option.actions = MM_ACTION_ADD_HEADERS | MM_ACTION_CHANGE_BODY;
  mm_reply_encode_negotiate(out, &option);
}
#define SIMPLE(name, code)                                                                   \
  static void enc_##name(GByteArray *out) { mm_reply_encode_simple(out, code); }
SIMPLE(continue, MM_REPLY_CONTINUE)
SIMPLE(accept, MM_REPLY_ACCEPT)
SIMPLE(reject, MM_REPLY_REJECT)
SIMPLE(tempfail, MM_REPLY_TEMPORARY_FAILURE)
SIMPLE(discard, MM_REPLY_DISCARD)
SIMPLE(skip, MM_REPLY_SKIP)
SIMPLE(progress, MM_REPLY_PROGRESS)
SIMPLE(connection_fail, MM_REPLY_CONNECTION_FAIL)
SIMPLE(shutdown, MM_REPLY_SHUTDOWN)
static void
enc_reply_code(GByteArray *out)
{
  mm_reply_encode_reply_code(out, "550 5.7.1 No");
}
static void
enc_add_header(GByteArray *out)
{
  mm_reply_encode_add_header(out, "X-A", " v");
}
static void
enc_insert_header(GByteArray *out)
{
  mm_reply_encode_insert_header(out, 0, "X-B", "w");
}
static void
enc_change_header(GByteArray *out)
{
  mm_reply_encode_change_header(out, 2, "Subject", "");
}
static void
enc_change_from(GByteArray *out)
{
  mm_reply_encode_change_from(out, "<s@x>", NULL);
}
static void
enc_change_from_args(GByteArray *out)
{
  mm_reply_encode_change_from(out, "<s@x>", "SIZE=1");
}
static void
enc_add_rcpt(GByteArray *out)
{
  mm_reply_encode_add_rcpt(out, "<r@x>", "");
}
static void
enc_add_rcpt_args(GByteArray *out)
{
  mm_reply_encode_add_rcpt(out, "<r@x>", "NOTIFY=NEVER");
}
static void
enc_delete_rcpt(GByteArray *out)
{
  mm_reply_encode_delete_rcpt(out, "<r@x>");
}
static void
enc_replace_body(GByteArray *out)
{
  mm_reply_encode_replace_body(out, (const guint8 *)"new\r\n", 5);
}
static void
enc_quarantine(GByteArray *out)
{
  mm_reply_encode_quarantine(out, "held");
}
static void
enc_symlist(GByteArray *out)
{
  MmReply reply = {.code = MM_REPLY_SET_SYMLIST};
  reply.u.symlist.stage = MM_MACRO_STAGE_HELO;
  reply.u.symlist.macros = "{tls_version}";
  mm_reply_encode(out, &reply);
}

static const EncodeCase encode_cases[] = {
  {"/reply/encode/negotiate", enc_negotiate,
   "000000364f00000006000001ff001fffff000000007b636c69656e745f616464727d206a00000000027b61"
   "7574685f747970657d000000000600"},
  {"/reply/encode/negotiate-plain", enc_negotiate_plain, "0000000d4f000000020000000300000000"},
  {"/reply/encode/continue", enc_continue, "0000000163"},
  {"/reply/encode/accept", enc_accept, "0000000161"},
  {"/reply/encode/reject", enc_reject, "0000000172"},
  {"/reply/encode/temporary-failure", enc_tempfail, "0000000174"},
  {"/reply/encode/discard", enc_discard, "0000000164"},
  {"/reply/encode/skip", enc_skip, "0000000173"},
  {"/reply/encode/progress", enc_progress, "0000000170"},
  {"/reply/encode/connection-fail", enc_connection_fail, "0000000166"},
  {"/reply/encode/shutdown", enc_shutdown, "0000000134"},
  {"/reply/encode/reply-code", enc_reply_code, "0000000e7935353020352e372e31204e6f00"},
  {"/reply/encode/add-header", enc_add_header, "0000000868582d4100207600"},
  {"/reply/encode/insert-header", enc_insert_header, "0000000b6900000000582d42007700"},
  {"/reply/encode/change-header", enc_change_header, "0000000e6d000000025375626a6563740000"},
  {"/reply/encode/change-from", enc_change_from, "00000007653c7340783e00"},
  {"/reply/encode/change-from-args", enc_change_from_args,
   "0000000e653c7340783e0053495a453d3100"},
  {"/reply/encode/add-rcpt", enc_add_rcpt, "000000072b3c7240783e00"},
  {"/reply/encode/add-rcpt-args", enc_add_rcpt_args,
   "00000014323c7240783e004e4f544946593d4e4556455200"},
  {"/reply/encode/delete-rcpt", enc_delete_rcpt, "000000072d3c7240783e00"},
  {"/reply/encode/replace-body", enc_replace_body, "00000006626e65770d0a"},
  {"/reply/encode/quarantine", enc_quarantine, "000000067168656c6400"},
  {"/reply/encode/set-symlist", enc_symlist, "000000136c000000017b746c735f76657273696f6e7d00"},
};

/* test_encode - one encoder gives the expected bytes and they round-trip */
static void
test_encode(gconstpointer data)
{
  const EncodeCase *c = data;
  g_autoptr(GByteArray) out = g_byte_array_new();
  c->encode(out);
  g_autofree char *got = mm_test_hex(out);
  g_assert_cmpstr(got, ==, c->hex);
  MmReply reply;
  decode_packet(out, &reply);
  g_autoptr(GByteArray) again = g_byte_array_new();
  mm_reply_encode(again, &reply);
  g_autofree char *again_hex = mm_test_hex(again);
  g_assert_cmpstr(again_hex, ==, c->hex);
}

/* test_fields - decoded fields hold what was encoded */
static void
test_fields(void)
{
  g_autoptr(GByteArray) out = g_byte_array_new();
  MmReply reply;

  enc_negotiate(out);
  decode_packet(out, &reply);
  g_assert_cmpuint(reply.u.negotiate.version, ==, 6);
  g_assert_cmpuint(reply.u.negotiate.actions, ==, MM_ACTION_ALL);
  g_assert_cmpuint(reply.u.negotiate.steps, ==, 0x1fffff);
  g_assert_cmpuint(reply.u.negotiate.macro_requests_length, ==, 0x36 - 1 - 12);

  g_byte_array_set_size(out, 0);
  enc_negotiate_plain(out);
  decode_packet(out, &reply);
  g_assert_cmpuint(reply.u.negotiate.macro_requests_length, ==, 0);

  g_byte_array_set_size(out, 0);
  enc_reply_code(out);
  decode_packet(out, &reply);
  g_assert_cmpstr(reply.u.reply_code.text, ==, "550 5.7.1 No");

  g_byte_array_set_size(out, 0);
  enc_add_header(out);
  decode_packet(out, &reply);
  g_assert_cmpuint(reply.u.header.index, ==, 0);
  g_assert_cmpstr(reply.u.header.name, ==, "X-A");
  g_assert_cmpstr(reply.u.header.value, ==, " v");

  g_byte_array_set_size(out, 0);
  enc_change_header(out);
  decode_packet(out, &reply);
  g_assert_cmpint(reply.code, ==, MM_REPLY_CHANGE_HEADER);
  g_assert_cmpuint(reply.u.header.index, ==, 2);
  g_assert_cmpstr(reply.u.header.name, ==, "Subject");
  g_assert_cmpstr(reply.u.header.value, ==, "");

  g_byte_array_set_size(out, 0);
  enc_change_from(out);
  decode_packet(out, &reply);
  g_assert_cmpstr(reply.u.address.address, ==, "<s@x>");
  g_assert_null(reply.u.address.args);

  g_byte_array_set_size(out, 0);
  enc_add_rcpt_args(out);
  decode_packet(out, &reply);
  g_assert_cmpint(reply.code, ==, MM_REPLY_ADD_RCPT_WITH_ARGS);
  g_assert_cmpstr(reply.u.address.address, ==, "<r@x>");
  g_assert_cmpstr(reply.u.address.args, ==, "NOTIFY=NEVER");

  g_byte_array_set_size(out, 0);
  enc_add_rcpt(out);
  decode_packet(out, &reply);
  g_assert_cmpint(reply.code, ==, MM_REPLY_ADD_RCPT);
  g_assert_null(reply.u.address.args);

  g_byte_array_set_size(out, 0);
  enc_replace_body(out);
  decode_packet(out, &reply);
  g_assert_cmpmem(reply.u.body.data, reply.u.body.length, "new\r\n", 5);

  g_byte_array_set_size(out, 0);
  enc_quarantine(out);
  decode_packet(out, &reply);
  g_assert_cmpstr(reply.u.quarantine.reason, ==, "held");

  g_byte_array_set_size(out, 0);
  enc_symlist(out);
  decode_packet(out, &reply);
  g_assert_cmpuint(reply.u.symlist.stage, ==, MM_MACRO_STAGE_HELO);
  g_assert_cmpstr(reply.u.symlist.macros, ==, "{tls_version}");
}

/* test_add_rcpt_with_args_without_args - '2' carrying only an address decodes and
 * re-encodes as it came */
static void
test_add_rcpt_with_args_without_args(void)
{
  static const guint8 data[] = "<r@x>";
  MmReply reply;
  g_autoptr(GError) error = NULL;
  g_assert_true(mm_reply_decode('2', data, sizeof data, &reply, &error));
  g_assert_null(reply.u.address.args);
  g_autoptr(GByteArray) out = g_byte_array_new();
  mm_reply_encode(out, &reply);
  g_autofree char *got = mm_test_hex(out);
  g_assert_cmpstr(got, ==, "00000007323c7240783e00");
}

typedef struct {
  const char *path;
  char code;
  const char *data;
  gsize length;
  int error_code;
  const char *message;
} ErrorCase;

#define D(s) s, sizeof s - 1
static const ErrorCase error_cases[] = {
  {"/reply/error/unknown-code", 'Z', D(""), MM_REPLY_ERROR_UNKNOWN, "unknown reply code 0x5a"},
  {"/reply/error/unknown-code-nul", '\0', D(""), MM_REPLY_ERROR_UNKNOWN, "0x00"},
  {"/reply/error/negotiate-short", 'O', D("\0\0\0\6\0\0\0\1\0\0\0"), MM_REPLY_ERROR_BAD_VALUE,
   "negotiate reply: 11 bytes of data, expected at least 12"},
  {"/reply/error/negotiate-stage-truncated", 'O', D("\0\0\0\6\0\0\0\1\0\0\0\0\0\0"),
   MM_REPLY_ERROR_TRUNCATED, "macro request stage"},
  {"/reply/error/negotiate-list-truncated", 'O', D("\0\0\0\6\0\0\0\1\0\0\0\0\0\0\0\1"),
   MM_REPLY_ERROR_TRUNCATED, "macro request list"},
  {"/reply/error/negotiate-list-nul", 'O', D("\0\0\0\6\0\0\0\1\0\0\0\0\0\0\0\1{x}"),
   MM_REPLY_ERROR_MISSING_NUL, "macro request list is missing its NUL"},
  {"/reply/error/continue-data", 'c', D("x"), MM_REPLY_ERROR_BAD_VALUE,
   "continue reply: 1 unexpected bytes"},
  {"/reply/error/shutdown-data", '4', D("xx"), MM_REPLY_ERROR_BAD_VALUE, "shutdown reply"},
  {"/reply/error/reply-code-empty", 'y', D(""), MM_REPLY_ERROR_TRUNCATED, "reply text"},
  {"/reply/error/reply-code-nul", 'y', D("550 no"), MM_REPLY_ERROR_MISSING_NUL,
   "reply-code reply: the reply text"},
  {"/reply/error/add-header-value", 'h', D("X\0v"), MM_REPLY_ERROR_MISSING_NUL, "header value"},
  {"/reply/error/add-header-trailing", 'h', D("X\0v\0w\0"), MM_REPLY_ERROR_BAD_VALUE,
   "add-header reply"},
  {"/reply/error/insert-header-index", 'i', D("\0\0\0"), MM_REPLY_ERROR_TRUNCATED,
   "header index"},
  {"/reply/error/change-header-name", 'm', D("\0\0\0\1"), MM_REPLY_ERROR_TRUNCATED,
   "header name"},
  {"/reply/error/add-rcpt-nul", '+', D("<r@x>"), MM_REPLY_ERROR_MISSING_NUL, "add-rcpt reply"},
  {"/reply/error/add-rcpt-trailing", '+', D("<r@x>\0A=B\0"), MM_REPLY_ERROR_BAD_VALUE,
   "add-rcpt reply"},
  {"/reply/error/add-rcpt-args-nul", '2', D("<r@x>\0A=B"), MM_REPLY_ERROR_MISSING_NUL,
   "ESMTP arguments"},
  {"/reply/error/change-from-trailing", 'e', D("<s>\0A\0B\0"), MM_REPLY_ERROR_BAD_VALUE,
   "change-from reply"},
  {"/reply/error/delete-rcpt-empty", '-', D(""), MM_REPLY_ERROR_TRUNCATED, "delete-rcpt reply"},
  {"/reply/error/quarantine-nul", 'q', D("why"), MM_REPLY_ERROR_MISSING_NUL, "the reason"},
  {"/reply/error/symlist-stage", 'l', D("\0\0\0\7j\0"), MM_REPLY_ERROR_BAD_VALUE,
   "unknown stage 7"},
  {"/reply/error/symlist-short", 'l', D("\0\0"), MM_REPLY_ERROR_TRUNCATED, "the stage"},
};

/* test_error - bad data is the expected error and leaves the output untouched */
static void
test_error(gconstpointer data)
{
  const ErrorCase *c = data;
  g_autofree guint8 *copy = g_memdup2(c->data, c->length);
  MmReply reply = {.code = '?'};
  g_autoptr(GError) error = NULL;
  g_assert_false(mm_reply_decode(c->code, copy, c->length, &reply, &error));
  g_assert_error(error, MM_REPLY_ERROR, c->error_code);
  if (strstr(error->message, c->message) == NULL)
    g_error("message \"%s\" lacks \"%s\"", error->message, c->message);
  g_assert_cmpint(reply.code, ==, '?');
}

/* The expected legality, written out in full: command, then every reply it allows. */
static const struct {
  char command;
  const char *replies;
} legal[] = {
  {'O', "O"},           {'C', "cartdy4f"},   {'H', "cartdy4f"},
  {'M', "cartdy4f"},    {'R', "cartdy4f"},   {'T', "cartdy4f"},
  {'L', "cartdy4f"},    {'N', "cartdy4f"},   {'U', "cartdy4f"},
  {'B', "cartdy4fs"},   {'E', "cartdy4fhime+2-bpq"},
  {'A', ""},            {'D', ""},           {'Q', ""},
  {'K', ""},
};

/* test_allowed - every command/reply pair against the table above */
static void
test_allowed(void)
{
  const char *all_replies = "Ocytradeimh+2-bpqsf4l";
  for (gsize i = 0; i < G_N_ELEMENTS(legal); i++) {
    for (const char *r = all_replies; *r != '\0'; r++) {
      gboolean expected = strchr(legal[i].replies, *r) != NULL;
      if (mm_reply_is_allowed(legal[i].command, *r) != expected)
        g_error("command %c reply %c: expected %d", legal[i].command, *r, expected);
    }
    g_assert_false(mm_reply_is_allowed(legal[i].command, '\0'));
    g_assert_cmpint(mm_reply_is_expected(legal[i].command), ==, legal[i].replies[0] != '\0');
  }
  g_assert_false(mm_reply_is_expected('Z'));
  g_assert_false(mm_reply_is_allowed('Z', 'c'));
  g_autoptr(GError) error = NULL;
  g_assert_true(mm_reply_check_allowed('E', 'h', &error));
  g_assert_false(mm_reply_check_allowed('R', 'h', &error));
  g_assert_error(error, MM_REPLY_ERROR, MM_REPLY_ERROR_NOT_ALLOWED);
  g_assert_cmpstr(error->message, ==,
                  "add-header reply (0x68) is not allowed after the rcpt command");
  g_clear_error(&error);
  g_assert_false(mm_reply_check_allowed('\0', 'c', &error));
  g_assert_cmpstr(error->message, ==,
                  "continue reply (0x63) is not allowed after command code 0x00");
}

/* test_names - every reply code has a name */
static void
test_names(void)
{
  for (const char *r = "Ocytradeimh+2-bpqsf4l"; *r != '\0'; r++)
    g_assert_nonnull(mm_reply_name(*r));
  g_assert_cmpstr(mm_reply_name('t'), ==, "temporary-failure");
  g_assert_null(mm_reply_name('Z'));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS(encode_cases); i++)
    g_test_add_data_func(encode_cases[i].path, &encode_cases[i], test_encode);
  for (gsize i = 0; i < G_N_ELEMENTS(error_cases); i++)
    g_test_add_data_func(error_cases[i].path, &error_cases[i], test_error);
  g_test_add_func("/reply/decode/fields", test_fields);
  g_test_add_func("/reply/decode/add-rcpt-with-args-without-args",
                  test_add_rcpt_with_args_without_args);
  g_test_add_func("/reply/allowed", test_allowed);
  g_test_add_func("/reply/names", test_names);
  return g_test_run();
}
