/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-tools.c: unit tests of the tools' pure parts: mail file parsing, the --output-message
 * diff, 2.3's reply-code form, macro filtering, and milter-test-client's script parsing. */
#include "build-config.h"

#include <string.h>

#include "command.h"
#include "packet.h"
#include "protocol.h"
#include "reply.h"
#include "test-client-script.h"
#include "test-server-macros.h"
#include "test-server-message.h"
#include "test-server-result.h"

/* test_mail_file - headers (folded), addresses, mbox line, CRLF body */
static void
test_mail_file(void)
{
  GError *error = NULL;
  g_autoptr(TestServerMailFile) file = test_server_mail_file_parse(
    "From someone Mon Jan  1 00:00:00 2024\n"
    "From: Alice <alice@example.com>\n"
    "To: bob@example.org, Carol <carol@example.org>\n"
    "Subject: one\n"
    "\ttwo\n"
    "\n"
    "body 1\n"
    "body 2\n",
    &error);
  g_assert_no_error(error);
  g_assert_cmpstr(file->from, ==, "<alice@example.com>");
  g_assert_cmpuint(file->to->len, ==, 2);
  g_assert_cmpstr(file->to->pdata[0], ==, "<bob@example.org>");
  g_assert_cmpstr(file->to->pdata[1], ==, "<carol@example.org>");
  g_assert_cmpuint(mm_header_list_length(file->headers), ==, 3);
  g_assert_cmpstr(mm_header_list_nth(file->headers, 2)->value, ==, "one\n\ttwo");
  g_assert_cmpstr(file->body->str, ==, "body 1\r\nbody 2\r\n");
}

/* test_mail_file_bad - a line that is no header is an error quoting it */
static void
test_mail_file_bad(void)
{
  GError *error = NULL;
  TestServerMailFile *file = test_server_mail_file_parse("Subject: x\nnot a header\n\nb\n", &error);
  g_assert_null(file);
  g_assert_error(error, TEST_SERVER_MESSAGE_ERROR, TEST_SERVER_MESSAGE_ERROR_HEADER);
  g_assert_nonnull(strstr(error->message, "not a header"));
  g_clear_error(&error);
  file = test_server_mail_file_parse("From: <broken\n\n", &error);
  g_assert_null(file);
  g_assert_error(error, TEST_SERVER_MESSAGE_ERROR, TEST_SERVER_MESSAGE_ERROR_ADDRESS);
  g_clear_error(&error);
}

/* test_print - unchanged, changed, deleted, inserted and added headers in place */
static void
test_print(void)
{
  g_autoptr(MmHeaderList) headers = mm_header_list_new();
  g_assert_true(mm_header_list_append_original(headers, "A", "1", NULL));
  g_assert_true(mm_header_list_append_original(headers, "B", "2", NULL));
  g_assert_true(mm_header_list_append_original(headers, "C", "3", NULL));
  char *recipients[] = {"<r1@x>", "<r2@x>", NULL};
  g_autoptr(TestServerMessage) message =
    test_server_message_new("<f@x>", recipients, headers, "body", 4);
  g_assert_true(test_server_message_change_header(message, "B", 1, "two", NULL));
  g_assert_true(test_server_message_change_header(message, "A", 1, "", NULL));
  g_assert_true(test_server_message_insert_header(message, 0, "Top", "t", NULL));
  g_assert_true(test_server_message_add_header(message, "Z", "z", NULL));
  test_server_message_reject_recipient(message, "r2@x");
  g_assert_true(test_server_message_add_recipient(message, "<r3@x>", "N=1", NULL));
  test_server_message_change_from(message, "<g@x>", NULL);
  g_assert_true(test_server_message_replace_body(message, (const guint8 *)"new", 3, NULL));
  g_assert_cmpuint(test_server_message_count_recipients(message), ==, 2);
  g_autoptr(GString) out = g_string_new(NULL);
  test_server_message_print(message, out);
  g_assert_cmpstr(out->str, ==,
                  "Envelope:------------------------------\n"
                  "- MAIL FROM:<f@x>\n"
                  "+ MAIL FROM:<g@x>\n"
                  "  RCPT TO:<r1@x>\n"
                  "- RCPT TO:<r2@x>\n"
                  "+ RCPT TO:<r3@x> N=1\n"
                  "Header:--------------------------------\n"
                  "+ Top: t\n"
                  "- A: 1\n"
                  "- B: 2\n"
                  "+ B: two\n"
                  "  C: 3\n"
                  "+ Z: z\n"
                  "Body:----------------------------------\n"
                  "new\n");
}

/* test_format_reply - 2.3's [CODE]<EXTENDED>(TEXT) */
static void
test_format_reply(void)
{
  g_autofree char *full = test_server_format_reply("550 5.7.1 Go away");
  g_assert_cmpstr(full, ==, " [550]<5.7.1>(Go away)");
  g_autofree char *plain = test_server_format_reply("451 Later");
  g_assert_cmpstr(plain, ==, " [451]<(null)>(Later)");
  g_autofree char *none = test_server_format_reply(NULL);
  g_assert_cmpstr(none, ==, "");
  g_assert_cmpstr(test_server_status_name(MM_STATUS_CONTINUE), ==, "pass");
  g_assert_cmpstr(test_server_status_name(MM_STATUS_TEMPORARY_FAILURE), ==, "temporary-failure");
}

/* decode_macro - the one MACRO packet in OUT */
static void
decode_macro(GByteArray *out, MmCommand *command)
{
  char code;
  const guint8 *data;
  gsize length, consumed;
  g_assert_cmpint(mm_packet_next(out->data, out->len, MM_DATA_SIZE_DEFAULT, &code, &data, &length,
                                 &consumed, NULL),
                  ==, MM_PACKET_READY);
  g_assert_cmpuint(consumed, ==, out->len);
  g_assert_true(mm_command_decode(code, data, length, command, NULL));
}

/* test_macros - later names replace earlier ones; requests filter; nothing left, no packet */
static void
test_macros(void)
{
  g_autoptr(GPtrArray) configured = g_ptr_array_new();
  const char *pairs[] = {"j", "a", "{x}", "1", "j", "b"};
  for (gsize i = 0; i < G_N_ELEMENTS(pairs); i++)
    g_ptr_array_add(configured, (gpointer)pairs[i]);
  g_autoptr(GByteArray) out = g_byte_array_new();
  test_server_macros_encode(out, MM_COMMAND_RCPT, configured, "{rcpt_addr}", "<r@x>", NULL);
  MmCommand command;
  decode_macro(out, &command);
  g_assert_cmpuint(mm_strings_count(&command.u.macro.pairs), ==, 6);
  const char *name, *value;
  g_assert_true(mm_strings_next(&command.u.macro.pairs, &name));
  g_assert_true(mm_strings_next(&command.u.macro.pairs, &value));
  g_assert_cmpstr(name, ==, "j");
  g_assert_cmpstr(value, ==, "b");
  g_byte_array_set_size(out, 0);
  test_server_macros_encode(out, MM_COMMAND_RCPT, configured, NULL, NULL, "x");
  decode_macro(out, &command);
  g_assert_cmpuint(mm_strings_count(&command.u.macro.pairs), ==, 2);
  g_byte_array_set_size(out, 0);
  test_server_macros_encode(out, MM_COMMAND_RCPT, configured, NULL, NULL, "{nothing}");
  g_assert_cmpuint(out->len, ==, 0);
}

/* test_script_rules - STAGE[@N]=VALUE forms, the last match wins, errors name the cause */
static void
test_script_rules(void)
{
  g_autoptr(TestClientScript) script = test_client_script_new();
  GError *error = NULL;
  g_assert_true(test_client_script_add_rule(script, TEST_CLIENT_RULE_ACTION, "rcpt=reject", NULL));
  g_assert_true(
    test_client_script_add_rule(script, TEST_CLIENT_RULE_ACTION, "envelope-recipient@2=tempfail",
                                NULL));
  const TestClientRule *rule =
    test_client_script_find(script, TEST_CLIENT_RULE_ACTION, TEST_CLIENT_STAGE_RCPT, 1);
  g_assert_cmpint(rule->status, ==, MM_STATUS_REJECT);
  rule = test_client_script_find(script, TEST_CLIENT_RULE_ACTION, TEST_CLIENT_STAGE_RCPT, 2);
  g_assert_cmpint(rule->status, ==, MM_STATUS_TEMPORARY_FAILURE);
  g_assert_null(
    test_client_script_find(script, TEST_CLIENT_RULE_ACTION, TEST_CLIENT_STAGE_MAIL, 1));
  g_assert_false(test_client_script_add_rule(script, TEST_CLIENT_RULE_ACTION, "rcpt=maybe", &error));
  g_assert_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_NAME);
  g_clear_error(&error);
  g_assert_false(test_client_script_add_rule(script, TEST_CLIENT_RULE_CLOSE, "rcpt=x", &error));
  g_assert_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_SYNTAX);
  g_clear_error(&error);
  g_assert_false(
    test_client_script_add_rule(script, TEST_CLIENT_RULE_REPLY_CODE, "mail=250 ok", &error));
  g_assert_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_SYNTAX);
  g_clear_error(&error);
  g_assert_false(test_client_script_add_rule(script, TEST_CLIENT_RULE_DELAY, "mail=-1", &error));
  g_assert_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_RANGE);
  g_clear_error(&error);
  g_assert_false(
    test_client_script_add_edit(script, TEST_CLIENT_EDIT_CHANGE_HEADER, "Subject:x:v", &error));
  g_assert_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_RANGE);
  g_clear_error(&error);
}

/* test_script_negotiate - flag names, limited to the MTA's offer; symlists */
static void
test_script_negotiate(void)
{
  g_autoptr(TestClientScript) script = test_client_script_new();
  GError *error = NULL;
  g_assert_true(test_client_script_set_steps(script, "no-body|nr-header, skip", NULL));
  g_assert_true(test_client_script_set_actions(script, "add-headers|quarantine", NULL));
  g_assert_true(test_client_script_add_symlist(script, "connect:{daemon_name} j", NULL));
  g_assert_false(test_client_script_set_steps(script, "no-such-step", &error));
  g_assert_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_NAME);
  g_clear_error(&error);
  MmOption option;
  mm_option_init(&option);
  test_client_script_negotiate(script, 6, MM_ACTION_ALL, MM_STEP_NO_BODY | MM_STEP_SKIP, &option);
  g_assert_cmpuint(option.version, ==, 6);
  g_assert_cmphex(option.actions, ==, MM_ACTION_ADD_HEADERS | MM_ACTION_QUARANTINE);
  g_assert_cmphex(option.steps, ==, MM_STEP_NO_BODY | MM_STEP_SKIP);
  g_assert_cmpstr(option.macro_requests[MM_MACRO_STAGE_CONNECT], ==, "{daemon_name} j");
  g_assert_null(option.macro_requests[MM_MACRO_STAGE_HELO]);
  mm_option_clear(&option);
}

/* test_script_edits - the edit packets in order, progress last */
static void
test_script_edits(void)
{
  g_autoptr(TestClientScript) script = test_client_script_new();
  g_assert_true(test_client_script_add_edit(script, TEST_CLIENT_EDIT_ADD_RECIPIENT,
                                            "<a:b@x>:NOTIFY=NEVER", NULL));
  g_assert_true(test_client_script_add_edit(script, TEST_CLIENT_EDIT_DELETE_HEADER, "X:2", NULL));
  g_assert_true(test_client_script_set_progress(script, "1", NULL));
  g_autoptr(GByteArray) out = g_byte_array_new();
  test_client_script_encode_edits(script, out);
  const char expected[] = {MM_REPLY_ADD_RCPT_WITH_ARGS, MM_REPLY_CHANGE_HEADER, MM_REPLY_PROGRESS};
  gsize at = 0;
  for (gsize i = 0; i < G_N_ELEMENTS(expected); i++) {
    char code;
    const guint8 *data;
    gsize length, consumed;
    g_assert_cmpint(mm_packet_next(out->data + at, out->len - at, MM_DATA_SIZE_DEFAULT, &code,
                                   &data, &length, &consumed, NULL),
                    ==, MM_PACKET_READY);
    g_assert_cmpint(code, ==, expected[i]);
    MmReply reply;
    g_assert_true(mm_reply_decode(code, data, length, &reply, NULL));
    if (i == 0) {
      g_assert_cmpstr(reply.u.address.address, ==, "<a:b@x>");
      g_assert_cmpstr(reply.u.address.args, ==, "NOTIFY=NEVER");
    } else if (i == 1) {
      g_assert_cmpuint(reply.u.header.index, ==, 2);
      g_assert_cmpstr(reply.u.header.value, ==, "");
    }
    at += consumed;
  }
  g_assert_cmpuint(at, ==, out->len);
}

/* main - register the cases */
int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/test-server-message/mail-file/parse", test_mail_file);
  g_test_add_func("/test-server-message/mail-file/errors", test_mail_file_bad);
  g_test_add_func("/test-server-message/print/diff", test_print);
  g_test_add_func("/test-server-result/format-reply", test_format_reply);
  g_test_add_func("/test-server-macros/encode", test_macros);
  g_test_add_func("/test-client-script/rules", test_script_rules);
  g_test_add_func("/test-client-script/negotiate", test_script_negotiate);
  g_test_add_func("/test-client-script/edits", test_script_edits);
  return g_test_run();
}
