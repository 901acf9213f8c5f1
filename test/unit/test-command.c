/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-command.c: unit tests for the MTA command codec (command.h): every command encoded
 * to known bytes, decoded back field by field, re-encoded identically, and each error. */
#include "command.h"

#include <string.h>

#include "packet.h"
#include "test/lib/codec-test.h"
#include "protocol.h"

/* decode_packet - frame OUT as one packet and decode it as a command */
static void
decode_packet(const GByteArray *out, MmCommand *command)
{
  char code;
  const guint8 *data;
  gsize length;
  g_autoptr(GError) error = NULL;
  mm_test_frame(out, MM_DATA_SIZE_1M, &code, &data, &length);
  g_assert_true(mm_command_decode(code, data, length, command, &error));
  g_assert_no_error(error);
}

/* check_round_trip - OUT re-encodes from its decoded form to the same bytes */
static void
check_round_trip(const GByteArray *out, MmCommand *command)
{
  decode_packet(out, command);
  g_autoptr(GByteArray) again = g_byte_array_new();
  mm_command_encode(again, command);
  g_autofree char *want = mm_test_hex(out);
  g_autofree char *got = mm_test_hex(again);
  g_assert_cmpstr(got, ==, want);
}

/* assert_strings - a run of strings holds exactly the NULL-terminated EXPECTED */
static void
assert_strings(const MmStrings *strings, const char *const *expected)
{
  MmStrings copy = *strings;
  const char *s;
  gsize i = 0;
  while (mm_strings_next(&copy, &s)) {
    g_assert_nonnull(expected[i]);
    g_assert_cmpstr(s, ==, expected[i]);
    i++;
  }
  g_assert_null(expected[i]);
  g_assert_cmpuint(mm_strings_count(strings), ==, i);
}

typedef struct {
  const char *path;
  void (*encode)(GByteArray *out);
  const char *hex;
} EncodeCase;

/* enc_* - the encoder calls of the table below, one per command shape */
static void
enc_negotiate(GByteArray *out)
{
  mm_command_encode_negotiate(out, 6, MM_ACTION_ALL, MM_STEP_ALL);
}
static void
enc_macro(GByteArray *out)
{
  const char *names[] = {"j", "{daemon_name}"};
  const char *values[] = {"mx", "smtpd"};
  mm_command_encode_macro(out, MM_COMMAND_CONNECT, names, values, 2);
}
static void
enc_macro_empty(GByteArray *out)
{
  mm_command_encode_macro(out, MM_COMMAND_END_OF_MESSAGE, NULL, NULL, 0);
}
static void
enc_connect_inet(GByteArray *out)
{
  mm_command_encode_connect(out, "mx.example", MM_FAMILY_INET, 25, "192.0.2.1");
}
static void
enc_connect_inet6(GByteArray *out)
{
  mm_command_encode_connect(out, "h", MM_FAMILY_INET6, 0xabcd, "::1");
}
static void
enc_connect_unix(GByteArray *out)
{
  mm_command_encode_connect(out, "localhost", MM_FAMILY_UNIX, 0, "/s");
}
static void
enc_connect_unknown(GByteArray *out)
{
  mm_command_encode_connect(out, "unknown", MM_FAMILY_UNKNOWN, 0, NULL);
}
static void
enc_helo(GByteArray *out)
{
  mm_command_encode_helo(out, "client.example");
}
static void
enc_mail(GByteArray *out)
{
  const char *args[] = {"SIZE=100", "BODY=8BITMIME", NULL};
  mm_command_encode_envelope(out, MM_COMMAND_MAIL, "<a@b>", args);
}
static void
enc_rcpt(GByteArray *out)
{
  mm_command_encode_envelope(out, MM_COMMAND_RCPT, "<c@d>", NULL);
}
static void
enc_header(GByteArray *out)
{
  mm_command_encode_header(out, "From", " a@b");
}
static void
enc_body(GByteArray *out)
{
  mm_command_encode_body(out, MM_COMMAND_BODY, (const guint8 *)"hi\r\n\0x", 6);
}
static void
enc_end_of_message(GByteArray *out)
{
  mm_command_encode_body(out, MM_COMMAND_END_OF_MESSAGE, NULL, 0);
}
static void
enc_unknown(GByteArray *out)
{
  mm_command_encode_unknown(out, "XYZZY");
}
static void
enc_abort(GByteArray *out)
{
  mm_command_encode_simple(out, MM_COMMAND_ABORT);
}
static void
enc_eoh(GByteArray *out)
{
  mm_command_encode_simple(out, MM_COMMAND_END_OF_HEADER);
}
static void
enc_data(GByteArray *out)
{
  mm_command_encode_simple(out, MM_COMMAND_DATA);
}
static void
enc_quit(GByteArray *out)
{
  mm_command_encode_simple(out, MM_COMMAND_QUIT);
}
static void
enc_quit_nc(GByteArray *out)
{
  mm_command_encode_simple(out, MM_COMMAND_QUIT_NEW_CONNECTION);
}

static const EncodeCase encode_cases[] = {
  {"/command/encode/negotiate", enc_negotiate, "0000000d4f00000006000001ff301fffff"},
  {"/command/encode/macro", enc_macro, "0000001b44436a006d78007b6461656d6f6e5f6e616d65"
                                       "7d00736d74706400"},
  {"/command/encode/macro-empty", enc_macro_empty, "000000024445"},
  {"/command/encode/connect-inet", enc_connect_inet, "00000019436d782e6578616d706c6500340019"
                                                     "3139322e302e322e3100"},
  {"/command/encode/connect-inet6", enc_connect_inet6, "0000000a43680036abcd3a3a3100"},
  {"/command/encode/connect-unix", enc_connect_unix, "00000011436c6f63616c686f7374004c00002f7300"},
  {"/command/encode/connect-unknown", enc_connect_unknown, "0000000a43756e6b6e6f776e0055"},
  {"/command/encode/helo", enc_helo, "0000001048636c69656e742e6578616d706c6500"},
  {"/command/encode/mail", enc_mail, "0000001e4d3c6140623e0053495a453d31303000424f44593d38"
                                     "4249544d494d4500"},
  {"/command/encode/rcpt", enc_rcpt, "00000007523c6340643e00"},
  {"/command/encode/header", enc_header, "0000000b4c46726f6d0020614062" "00"},
  {"/command/encode/body", enc_body, "000000074268690d0a0078"},
  {"/command/encode/end-of-message", enc_end_of_message, "0000000145"},
  {"/command/encode/unknown", enc_unknown, "0000000755" "58595a5a5900"},
  {"/command/encode/abort", enc_abort, "0000000141"},
  {"/command/encode/end-of-header", enc_eoh, "000000014e"},
  {"/command/encode/data", enc_data, "0000000154"},
  {"/command/encode/quit", enc_quit, "0000000151"},
  {"/command/encode/quit-new-connection", enc_quit_nc, "000000014b"},
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
  MmCommand command;
  check_round_trip(out, &command);
}

/* test_fields - decoded fields hold what was encoded */
static void
test_fields(void)
{
  g_autoptr(GByteArray) out = g_byte_array_new();
  MmCommand command;

  enc_negotiate(out);
  decode_packet(out, &command);
  g_assert_cmpint(command.code, ==, MM_COMMAND_NEGOTIATE);
  g_assert_cmpuint(command.u.negotiate.version, ==, 6);
  g_assert_cmpuint(command.u.negotiate.actions, ==, MM_ACTION_ALL);
  g_assert_cmpuint(command.u.negotiate.steps, ==, MM_STEP_ALL);

  g_byte_array_set_size(out, 0);
  enc_macro(out);
  decode_packet(out, &command);
  g_assert_cmpint(command.u.macro.command, ==, MM_COMMAND_CONNECT);
  assert_strings(&command.u.macro.pairs,
                 (const char *const[]){"j", "mx", "{daemon_name}", "smtpd", NULL});

  g_byte_array_set_size(out, 0);
  enc_macro_empty(out);
  decode_packet(out, &command);
  g_assert_cmpint(command.u.macro.command, ==, MM_COMMAND_END_OF_MESSAGE);
  assert_strings(&command.u.macro.pairs, (const char *const[]){NULL});

  g_byte_array_set_size(out, 0);
  enc_connect_inet(out);
  decode_packet(out, &command);
  g_assert_cmpstr(command.u.connect.host, ==, "mx.example");
  g_assert_cmpint(command.u.connect.family, ==, MM_FAMILY_INET);
  g_assert_cmpuint(command.u.connect.port, ==, 25);
  g_assert_cmpstr(command.u.connect.address, ==, "192.0.2.1");

  g_byte_array_set_size(out, 0);
  enc_connect_unknown(out);
  decode_packet(out, &command);
  g_assert_cmpstr(command.u.connect.host, ==, "unknown");
  g_assert_cmpint(command.u.connect.family, ==, MM_FAMILY_UNKNOWN);
  g_assert_cmpuint(command.u.connect.port, ==, 0);
  g_assert_cmpstr(command.u.connect.address, ==, "");

  g_byte_array_set_size(out, 0);
  enc_helo(out);
  decode_packet(out, &command);
  g_assert_cmpstr(command.u.helo.fqdn, ==, "client.example");

  g_byte_array_set_size(out, 0);
  enc_mail(out);
  decode_packet(out, &command);
  g_assert_cmpint(command.code, ==, MM_COMMAND_MAIL);
  g_assert_cmpstr(command.u.envelope.address, ==, "<a@b>");
  assert_strings(&command.u.envelope.args,
                 (const char *const[]){"SIZE=100", "BODY=8BITMIME", NULL});

  g_byte_array_set_size(out, 0);
  enc_rcpt(out);
  decode_packet(out, &command);
  g_assert_cmpint(command.code, ==, MM_COMMAND_RCPT);
  g_assert_cmpstr(command.u.envelope.address, ==, "<c@d>");
  assert_strings(&command.u.envelope.args, (const char *const[]){NULL});

  g_byte_array_set_size(out, 0);
  enc_header(out);
  decode_packet(out, &command);
  g_assert_cmpstr(command.u.header.name, ==, "From");
  g_assert_cmpstr(command.u.header.value, ==, " a@b");

  g_byte_array_set_size(out, 0);
  enc_body(out);
  decode_packet(out, &command);
  g_assert_cmpuint(command.u.body.length, ==, 6);
  g_assert_cmpmem(command.u.body.data, 6, "hi\r\n\0x", 6);

  g_byte_array_set_size(out, 0);
  enc_unknown(out);
  decode_packet(out, &command);
  g_assert_cmpstr(command.u.unknown.line, ==, "XYZZY");
}

/* test_macro_pairs - the MmStrings form of the macro encoder equals the array form */
static void
test_macro_pairs(void)
{
  static const guint8 pairs[] = "i\0ABC123\0{auth_type}\0\0";
  MmStrings strings = {pairs, sizeof pairs - 1};
  g_autoptr(GByteArray) a = g_byte_array_new();
  g_autoptr(GByteArray) b = g_byte_array_new();
  mm_command_encode_macro_pairs(a, MM_COMMAND_MAIL, &strings);
  const char *names[] = {"i", "{auth_type}"};
  const char *values[] = {"ABC123", NULL};
  mm_command_encode_macro(b, MM_COMMAND_MAIL, names, values, 2);
  g_assert_cmpmem(a->data, a->len, b->data, b->len);
}

/* test_strings_unterminated - the iterator stops at a hand-built run without its NUL */
static void
test_strings_unterminated(void)
{
  MmStrings strings = {(const guint8 *)"ab\0cd", 5};
  const char *s;
  g_assert_true(mm_strings_next(&strings, &s));
  g_assert_cmpstr(s, ==, "ab");
  g_assert_false(mm_strings_next(&strings, &s));
  g_assert_cmpuint(strings.length, ==, 2);
}

typedef struct {
  const char *path;
  char code;
  const char *data;
  gsize length;
  int error_code;
  const char *message; /* a substring of the message */
} ErrorCase;

#define D(s) s, sizeof s - 1
static const ErrorCase error_cases[] = {
  {"/command/error/unknown-code", 'Z', D(""), MM_COMMAND_ERROR_UNKNOWN, "unknown command code 0x5a"},
  {"/command/error/negotiate-short", 'O', D("\0\0\0\6\0\0\0\1"), MM_COMMAND_ERROR_BAD_VALUE,
   "negotiate command: 8 bytes"},
  {"/command/error/negotiate-long", 'O', D("\0\0\0\6\0\0\0\1\0\0\0\0\0"),
   MM_COMMAND_ERROR_BAD_VALUE, "negotiate command: 13 bytes"},
  {"/command/error/macro-empty", 'D', D(""), MM_COMMAND_ERROR_TRUNCATED, "macro command"},
  {"/command/error/macro-stage", 'D', D("Zj\0x\0"), MM_COMMAND_ERROR_BAD_VALUE,
   "unknown command code 0x5a"},
  {"/command/error/macro-odd", 'D', D("Cj\0x\0k\0"), MM_COMMAND_ERROR_BAD_VALUE,
   "macro k has no value"},
  {"/command/error/macro-missing-nul", 'D', D("Cj\0x"), MM_COMMAND_ERROR_MISSING_NUL,
   "macro command"},
  {"/command/error/connect-empty", 'C', D(""), MM_COMMAND_ERROR_TRUNCATED,
   "connect command: truncated before the host name"},
  {"/command/error/connect-host-nul", 'C', D("host"), MM_COMMAND_ERROR_MISSING_NUL,
   "connect command: the host name"},
  {"/command/error/connect-no-family", 'C', D("host\0"), MM_COMMAND_ERROR_TRUNCATED,
   "the address family"},
  {"/command/error/connect-family", 'C', D("host\0X\0\0a\0"), MM_COMMAND_ERROR_BAD_VALUE,
   "unknown address family 0x58"},
  {"/command/error/connect-no-port", 'C', D("host\0" "4\0"), MM_COMMAND_ERROR_TRUNCATED,
   "the port"},
  {"/command/error/connect-no-address", 'C', D("host\0" "4\0\31"), MM_COMMAND_ERROR_TRUNCATED,
   "the address"},
  {"/command/error/connect-address-nul", 'C', D("host\0" "4\0\31" "1.2.3.4"),
   MM_COMMAND_ERROR_MISSING_NUL, "the address"},
  {"/command/error/connect-trailing", 'C', D("host\0U\0"), MM_COMMAND_ERROR_BAD_VALUE,
   "1 unexpected bytes"},
  {"/command/error/helo-empty", 'H', D(""), MM_COMMAND_ERROR_TRUNCATED, "helo command"},
  {"/command/error/helo-nul", 'H', D("x"), MM_COMMAND_ERROR_MISSING_NUL, "HELO name"},
  {"/command/error/helo-trailing", 'H', D("x\0y\0"), MM_COMMAND_ERROR_BAD_VALUE, "helo command"},
  {"/command/error/mail-empty", 'M', D(""), MM_COMMAND_ERROR_TRUNCATED, "mail command"},
  {"/command/error/mail-arg-nul", 'M', D("<a>\0SIZE=1"), MM_COMMAND_ERROR_MISSING_NUL,
   "ESMTP argument"},
  {"/command/error/rcpt-nul", 'R', D("<a>"), MM_COMMAND_ERROR_MISSING_NUL, "rcpt command"},
  {"/command/error/header-no-value", 'L', D("From\0"), MM_COMMAND_ERROR_TRUNCATED,
   "header value"},
  {"/command/error/header-value-nul", 'L', D("From\0x"), MM_COMMAND_ERROR_MISSING_NUL,
   "header value"},
  {"/command/error/header-trailing", 'L', D("From\0x\0y"), MM_COMMAND_ERROR_BAD_VALUE,
   "header command"},
  {"/command/error/unknown-nul", 'U', D("XYZZY"), MM_COMMAND_ERROR_MISSING_NUL,
   "unknown command"},
  {"/command/error/abort-data", 'A', D("x"), MM_COMMAND_ERROR_BAD_VALUE, "abort command"},
  {"/command/error/data-data", 'T', D("xy"), MM_COMMAND_ERROR_BAD_VALUE, "data command: 2"},
  {"/command/error/eoh-data", 'N', D("x"), MM_COMMAND_ERROR_BAD_VALUE, "end-of-header"},
  {"/command/error/quit-data", 'Q', D("x"), MM_COMMAND_ERROR_BAD_VALUE, "quit command"},
  {"/command/error/quit-nc-data", 'K', D("x"), MM_COMMAND_ERROR_BAD_VALUE,
   "quit-new-connection"},
};

/* test_error - bad data is the expected error and leaves the output untouched */
static void
test_error(gconstpointer data)
{
  const ErrorCase *c = data;
  /* A copy on the heap so that AddressSanitizer catches any read past the data. */
  g_autofree guint8 *copy = g_memdup2(c->data, c->length);
  MmCommand command = {.code = '?'};
  g_autoptr(GError) error = NULL;
  g_assert_false(mm_command_decode(c->code, copy, c->length, &command, &error));
  g_assert_error(error, MM_COMMAND_ERROR, c->error_code);
  if (strstr(error->message, c->message) == NULL)
    g_error("message \"%s\" lacks \"%s\"", error->message, c->message);
  g_assert_cmpint(command.code, ==, '?');
}

/* test_names - every command has a name, other codes none */
static void
test_names(void)
{
  const char *codes = "ODCHMRTLNBEAQUK";
  for (const char *p = codes; *p != '\0'; p++)
    g_assert_nonnull(mm_command_name(*p));
  g_assert_cmpstr(mm_command_name(MM_COMMAND_END_OF_MESSAGE), ==, "end-of-message");
  g_assert_null(mm_command_name('c'));
  g_assert_null(mm_command_name('\0'));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS(encode_cases); i++)
    g_test_add_data_func(encode_cases[i].path, &encode_cases[i], test_encode);
  for (gsize i = 0; i < G_N_ELEMENTS(error_cases); i++)
    g_test_add_data_func(error_cases[i].path, &error_cases[i], test_error);
  g_test_add_func("/command/decode/fields", test_fields);
  g_test_add_func("/command/encode/macro-pairs", test_macro_pairs);
  g_test_add_func("/command/strings/unterminated", test_strings_unterminated);
  g_test_add_func("/command/names", test_names);
  return g_test_run();
}
