/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-client-session.c: milter-test-client's side of one MTA connection on MmConnection:
 * decode, print, record, and answer (or delay, hang, close) as scripted. */
#include "build-config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "connection.h"
#include "protocol.h"
#include "reply.h"
#include "test-client-session.h"

struct TestClientSession {
  TestClientContext *context;
  guint id;
  MmConnection *connection;
  MmOption option; /* what we negotiated */
  guint counts[TEST_CLIENT_STAGE_COUNT];
  guint delay_source;
  GByteArray *delayed; /* an answer waiting for its delay */
};

/* Command code -> stage and the NR_* flag that says not to answer it. */
static const struct {
  char command;
  TestClientStage stage;
  guint32 nr_flag;
} answered[] = {
  {MM_COMMAND_CONNECT, TEST_CLIENT_STAGE_CONNECT, MM_STEP_NR_CONNECT},
  {MM_COMMAND_HELO, TEST_CLIENT_STAGE_HELO, MM_STEP_NR_HELO},
  {MM_COMMAND_MAIL, TEST_CLIENT_STAGE_MAIL, MM_STEP_NR_MAIL},
  {MM_COMMAND_RCPT, TEST_CLIENT_STAGE_RCPT, MM_STEP_NR_RCPT},
  {MM_COMMAND_DATA, TEST_CLIENT_STAGE_DATA, MM_STEP_NR_DATA},
  {MM_COMMAND_HEADER, TEST_CLIENT_STAGE_HEADER, MM_STEP_NR_HEADER},
  {MM_COMMAND_END_OF_HEADER, TEST_CLIENT_STAGE_END_OF_HEADER, MM_STEP_NR_END_OF_HEADER},
  {MM_COMMAND_BODY, TEST_CLIENT_STAGE_BODY, MM_STEP_NR_BODY},
  {MM_COMMAND_END_OF_MESSAGE, TEST_CLIENT_STAGE_END_OF_MESSAGE, 0},
  {MM_COMMAND_UNKNOWN, TEST_CLIENT_STAGE_UNKNOWN, MM_STEP_NR_UNKNOWN},
};

/* record_line - one line to the record file, if any */
static void
record_line(TestClientSession *session, const char *line)
{
  int fd = session->context->record_fd;
  if (fd < 0)
    return;
  g_autofree char *with_newline = g_strconcat(line, "\n", NULL);
  gsize length = strlen(with_newline);
  /* O_APPEND and one write per line keep concurrent sessions' lines whole. */
  ssize_t written;
  do
    written = write(fd, with_newline, length);
  while (written < 0 && errno == EINTR);
}

/* print_line - one line to standard output, unless quiet */
static void
print_line(TestClientSession *session, const char *line)
{
  if (!session->context->quiet)
    puts(line);
}

/* emit - one line printed and, when RECORD, recorded */
static void
emit(TestClientSession *session, const char *line, gboolean record)
{
  print_line(session, line);
  if (record)
    record_line(session, line);
}

/* escaped - DATA as one printable line */
static char *
escaped(const guint8 *data, gsize length)
{
  g_autofree char *text = g_strndup((const char *)data, length);
  return g_strescape(text, NULL);
}

/* address_spec - a connect address as a connection spec */
static char *
address_spec(const MmCommand *command)
{
  switch (command->u.connect.family) {
  case MM_FAMILY_UNIX:
    return g_strdup_printf("unix:%s", command->u.connect.address);
  case MM_FAMILY_INET:
    return g_strdup_printf("inet:%u@[%s]", command->u.connect.port, command->u.connect.address);
  case MM_FAMILY_INET6:
    return g_strdup_printf("inet6:%u@[%s]", command->u.connect.port, command->u.connect.address);
  default:
    return g_strdup("unknown");
  }
}

/* describe - the printed line for a command other than MACRO */
static char *
describe(const MmCommand *command)
{
  const char *name = mm_command_name(command->code);
  switch (command->code) {
  case MM_COMMAND_NEGOTIATE: {
    g_autofree char *actions = mm_option_actions_to_string(command->u.negotiate.actions);
    g_autofree char *steps = mm_option_steps_to_string(command->u.negotiate.steps);
    return g_strdup_printf("[%s] version=%u actions=%s steps=%s", name,
                           command->u.negotiate.version, actions, steps);
  }
  case MM_COMMAND_CONNECT: {
    g_autofree char *spec = address_spec(command);
    return g_strdup_printf("[%s] host=%s address=%s", name, command->u.connect.host, spec);
  }
  case MM_COMMAND_HELO:
    return g_strdup_printf("[%s] fqdn=%s", name, command->u.helo.fqdn);
  case MM_COMMAND_MAIL:
  case MM_COMMAND_RCPT: {
    GString *line = g_string_new(NULL);
    g_string_printf(line, "[%s] %s=%s", name, command->code == MM_COMMAND_MAIL ? "from" : "to",
                    command->u.envelope.address);
    MmStrings args = command->u.envelope.args;
    const char *arg;
    while (mm_strings_next(&args, &arg))
      g_string_append_printf(line, " %s", arg);
    return g_string_free(line, FALSE);
  }
  case MM_COMMAND_HEADER: {
    g_autofree char *value = g_strescape(command->u.header.value, NULL);
    return g_strdup_printf("[%s] %s:%s", name, command->u.header.name, value);
  }
  case MM_COMMAND_BODY:
  case MM_COMMAND_END_OF_MESSAGE: {
    if (command->code == MM_COMMAND_END_OF_MESSAGE && command->u.body.length == 0)
      return g_strdup_printf("[%s]", name);
    g_autofree char *body = escaped(command->u.body.data, command->u.body.length);
    return g_strdup_printf("[%s] %s", name, body);
  }
  case MM_COMMAND_UNKNOWN:
    return g_strdup_printf("[%s] %s", name, command->u.unknown.line);
  default:
    return g_strdup_printf("[%s]", name != NULL ? name : "?");
  }
}

/* print_macros - one line per macro on standard output, one line per packet recorded */
static void
print_macros(TestClientSession *session, const MmCommand *command)
{
  const char *stage = mm_command_name(command->u.macro.command);
  GString *record = g_string_new(NULL);
  g_string_printf(record, "[macro] %s", stage != NULL ? stage : "?");
  MmStrings pairs = command->u.macro.pairs;
  const char *name, *value;
  while (mm_strings_next(&pairs, &name) && mm_strings_next(&pairs, &value)) {
    g_autofree char *line = g_strdup_printf("[macro] %s=%s", name, value);
    print_line(session, line);
    g_string_append_printf(record, " %s=%s", name, value);
  }
  record_line(session, record->str);
  g_string_free(record, TRUE);
}

/* end - the session is over: drop it from the table, which frees it */
static void
end(TestClientSession *session)
{
  g_hash_table_remove(session->context->sessions, session);
}

/* send_delayed - the delay ran out: send the answer held back */
static gboolean
send_delayed(gpointer user_data)
{
  TestClientSession *session = user_data;
  session->delay_source = 0;
  GByteArray *out = mm_connection_output(session->connection);
  g_byte_array_append(out, session->delayed->data, session->delayed->len);
  g_byte_array_set_size(session->delayed, 0);
  mm_connection_flush(session->connection);
  return G_SOURCE_REMOVE;
}

/* answer - the scripted answer to a command of STAGE */
static void
answer(TestClientSession *session, char code, TestClientStage stage, guint32 nr_flag)
{
  const TestClientScript *script = session->context->script;
  if (stage == TEST_CLIENT_STAGE_MAIL) {
    session->counts[TEST_CLIENT_STAGE_RCPT] = 0;
    session->counts[TEST_CLIENT_STAGE_HEADER] = 0;
    session->counts[TEST_CLIENT_STAGE_BODY] = 0;
  }
  guint nth = ++session->counts[stage];
  if (test_client_script_find(script, TEST_CLIENT_RULE_CLOSE, stage, nth) != NULL) {
    emit(session, "[close]", FALSE);
    end(session);
    return;
  }
  if (test_client_script_find(script, TEST_CLIENT_RULE_NO_REPLY, stage, nth) != NULL) {
    emit(session, "[no-reply]", FALSE);
    return;
  }
  if ((session->option.steps & nr_flag) != 0)
    return; /* we said we would not answer */
  g_autoptr(GByteArray) reply = g_byte_array_new();
  if (code == MM_COMMAND_END_OF_MESSAGE)
    test_client_script_encode_edits(script, reply);
  const TestClientRule *rule =
    test_client_script_find(script, TEST_CLIENT_RULE_REPLY_CODE, stage, nth);
  if (rule != NULL) {
    mm_reply_encode_reply_code(reply, rule->text);
  } else {
    rule = test_client_script_find(script, TEST_CLIENT_RULE_ACTION, stage, nth);
    MmStatus status = rule != NULL ? rule->status : MM_STATUS_CONTINUE;
    mm_reply_encode_simple(reply, mm_status_to_reply_code(status));
  }
  rule = test_client_script_find(script, TEST_CLIENT_RULE_DELAY, stage, nth);
  if (rule != NULL && rule->delay_ms > 0) {
    g_byte_array_append(session->delayed, reply->data, reply->len);
    if (session->delay_source == 0)
      session->delay_source = g_timeout_add(rule->delay_ms, send_delayed, session);
    return;
  }
  GByteArray *out = mm_connection_output(session->connection);
  g_byte_array_append(out, reply->data, reply->len);
  mm_connection_flush(session->connection);
}

/* negotiate - print the MTA's offer and answer it */
static void
negotiate(TestClientSession *session, const MmCommand *command)
{
  const TestClientScript *script = session->context->script;
  guint nth = ++session->counts[TEST_CLIENT_STAGE_NEGOTIATE];
  if (test_client_script_find(script, TEST_CLIENT_RULE_CLOSE, TEST_CLIENT_STAGE_NEGOTIATE, nth)) {
    emit(session, "[close]", FALSE);
    end(session);
    return;
  }
  mm_option_clear(&session->option);
  test_client_script_negotiate(script, command->u.negotiate.version,
                               command->u.negotiate.actions, command->u.negotiate.steps,
                               &session->option);
  mm_connection_set_max_data_length(session->connection,
                                    mm_option_max_data_length(session->option.steps));
  if (test_client_script_find(script, TEST_CLIENT_RULE_NO_REPLY, TEST_CLIENT_STAGE_NEGOTIATE,
                              nth)) {
    emit(session, "[no-reply]", FALSE);
    return;
  }
  GByteArray *out = mm_connection_output(session->connection);
  mm_reply_encode_negotiate(out, &session->option);
  mm_connection_flush(session->connection);
}

/* on_packet - one command from the MTA */
static void
on_packet(gpointer user_data, char code, const guint8 *data, gsize length)
{
  TestClientSession *session = user_data;
  GError *error = NULL;
  MmCommand command;
  if (!mm_command_decode(code, data, length, &command, &error)) {
    g_autofree char *line = g_strdup_printf("[error] %s", error->message);
    emit(session, line, TRUE);
    g_error_free(error);
    end(session);
    return;
  }
  if (code == MM_COMMAND_MACRO) {
    print_macros(session, &command);
    return;
  }
  g_autofree char *line = describe(&command);
  emit(session, line, TRUE);
  switch (code) {
  case MM_COMMAND_NEGOTIATE:
    negotiate(session, &command);
    return;
  case MM_COMMAND_ABORT:
    session->counts[TEST_CLIENT_STAGE_RCPT] = 0;
    session->counts[TEST_CLIENT_STAGE_HEADER] = 0;
    session->counts[TEST_CLIENT_STAGE_BODY] = 0;
    return;
  case MM_COMMAND_QUIT:
    end(session);
    return;
  case MM_COMMAND_QUIT_NEW_CONNECTION:
    memset(session->counts, 0, sizeof session->counts);
    return;
  default:
    break;
  }
  for (gsize i = 0; i < G_N_ELEMENTS(answered); i++) {
    if (answered[i].command == code) {
      answer(session, code, answered[i].stage, answered[i].nr_flag);
      return;
    }
  }
}

/* on_closed - the MTA went away */
static void
on_closed(gpointer user_data, const GError *error)
{
  TestClientSession *session = user_data;
  if (error != NULL) {
    g_autofree char *line = g_strdup_printf("[error] %s", error->message);
    emit(session, line, TRUE);
  }
  emit(session, "[closed]", FALSE);
  end(session);
}

static const MmConnectionHandlers handlers = {
  .packet = on_packet,
  .closed = on_closed,
};

/* test_client_session_start - serve FD */
void
test_client_session_start(TestClientContext *context, int fd)
{
  TestClientSession *session = g_new0(TestClientSession, 1);
  session->context = context;
  session->id = ++context->next_id;
  mm_option_init(&session->option);
  session->delayed = g_byte_array_new();
  session->connection = mm_connection_new(fd, &handlers, session);
  g_hash_table_add(context->sessions, session);
}

/* test_client_session_free - close and free */
void
test_client_session_free(gpointer data)
{
  TestClientSession *session = data;
  if (session == NULL)
    return;
  if (session->delay_source != 0)
    g_source_remove(session->delay_source);
  mm_connection_free(session->connection);
  mm_option_clear(&session->option);
  g_byte_array_unref(session->delayed);
  g_free(session);
}
