/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-server-session.c: milter-test-server's MTA side of one milter connection: a cursor
 * over the steps of the session, skipping NO_* steps, not waiting after NR_* steps. */
#include "build-config.h"

#include <stdarg.h>
#include <string.h>

#include "command.h"
#include "connection.h"
#include "log.h"
#include "option.h"
#include "reply-code.h"
#include "reply.h"
#include "test-server-macros.h"
#include "test-server-session.h"

G_DEFINE_QUARK(test-server-session-error-quark, test_server_session_error)

/* How long QUIT may wait to be written before the session ends anyway. */
#define TEST_SERVER_QUIT_DRAIN_MS 100

typedef enum {
  STEP_NEGOTIATE,
  STEP_CONNECT,
  STEP_HELO,
  STEP_MAIL,
  STEP_RCPT,
  STEP_UNKNOWN,
  STEP_DATA,
  STEP_HEADER,
  STEP_END_OF_HEADER,
  STEP_BODY,
  STEP_END_OF_MESSAGE,
  STEP_QUIT,
  STEP_DONE,
} Step;

/* Per step: the command it sends, its NO_* and NR_* flags, its macro stage (-1: none). */
static const struct {
  char command;
  guint32 no_flag, nr_flag;
  int macro_stage;
} steps[] = {
  [STEP_NEGOTIATE] = {MM_COMMAND_NEGOTIATE, 0, 0, -1},
  [STEP_CONNECT] = {MM_COMMAND_CONNECT, MM_STEP_NO_CONNECT, MM_STEP_NR_CONNECT,
                    MM_MACRO_STAGE_CONNECT},
  [STEP_HELO] = {MM_COMMAND_HELO, MM_STEP_NO_HELO, MM_STEP_NR_HELO, MM_MACRO_STAGE_HELO},
  [STEP_MAIL] = {MM_COMMAND_MAIL, MM_STEP_NO_MAIL, MM_STEP_NR_MAIL, MM_MACRO_STAGE_MAIL},
  [STEP_RCPT] = {MM_COMMAND_RCPT, MM_STEP_NO_RCPT, MM_STEP_NR_RCPT, MM_MACRO_STAGE_RCPT},
  [STEP_UNKNOWN] = {MM_COMMAND_UNKNOWN, MM_STEP_NO_UNKNOWN, MM_STEP_NR_UNKNOWN, -1},
  [STEP_DATA] = {MM_COMMAND_DATA, MM_STEP_NO_DATA, MM_STEP_NR_DATA, MM_MACRO_STAGE_DATA},
  [STEP_HEADER] = {MM_COMMAND_HEADER, MM_STEP_NO_HEADERS, MM_STEP_NR_HEADER, -1},
  [STEP_END_OF_HEADER] = {MM_COMMAND_END_OF_HEADER, MM_STEP_NO_END_OF_HEADER,
                          MM_STEP_NR_END_OF_HEADER, MM_MACRO_STAGE_END_OF_HEADER},
  [STEP_BODY] = {MM_COMMAND_BODY, MM_STEP_NO_BODY, MM_STEP_NR_BODY, -1},
  [STEP_END_OF_MESSAGE] = {MM_COMMAND_END_OF_MESSAGE, 0, 0, MM_MACRO_STAGE_END_OF_MESSAGE},
  [STEP_QUIT] = {MM_COMMAND_QUIT, 0, 0, -1},
  [STEP_DONE] = {0, 0, 0, -1},
};
G_STATIC_ASSERT(G_N_ELEMENTS(steps) == STEP_DONE + 1);

struct TestServerSession {
  const TestServerConfig *config;
  TestServerSessionDoneFunc done;
  gpointer user_data;
  MmConnection *connection;
  GTimer *timer;
  GError *error;
  MmOption option;     /* what the milter negotiated */
  gboolean negotiated;
  Step step;           /* the step sent last */
  gboolean waiting;    /* for the reply to STEP */
  guint index;         /* recipient or header of STEP_RCPT / STEP_HEADER */
  guint chunk, offset; /* body chunk and position in it of the next BODY */
  guint n_started;     /* transactions started */
  gboolean finished;
  GPtrArray *transactions;
  TestServerTransaction *current;
};

static void finish(TestServerSession *session);

/* fail - end the session with an error (the first one wins) */
static void G_GNUC_PRINTF(3, 4)
fail(TestServerSession *session, TestServerSessionError code, const char *format, ...)
{
  if (session->error == NULL) {
    va_list args;
    va_start(args, format);
    g_autofree char *message = g_strdup_vprintf(format, args);
    va_end(args);
    session->error = g_error_new(TEST_SERVER_SESSION_ERROR, code, "%s: %s",
                                 session->config->spec->text, message);
  }
  finish(session);
}

/* finish - close and report, once */
static void
finish(TestServerSession *session)
{
  if (session->finished)
    return;
  session->finished = TRUE;
  session->step = STEP_DONE;
  g_timer_stop(session->timer);
  g_clear_pointer(&session->connection, mm_connection_free);
  session->done(session, session->user_data);
}

/* step_name - the command name of STEP for messages */
static const char *
step_name(Step step)
{
  return step == STEP_DONE ? "nothing" : mm_command_name(steps[step].command);
}

/* send_macros - the MACRO packet before STEP's command ({rcpt_addr} is the recipient) */
static void
send_macros(TestServerSession *session, Step step, GByteArray *out)
{
  int stage = steps[step].macro_stage;
  if (stage < 0)
    return;
  gboolean rcpt = step == STEP_RCPT;
  test_server_macros_encode(out, steps[step].command, session->config->macros[stage],
                            rcpt ? "{rcpt_addr}" : NULL,
                            rcpt ? session->config->recipients[session->index] : NULL,
                            session->option.macro_requests[stage]);
}

/* header_value_out - a header value as this milter wants it (HDR_LEADSPC adds the space) */
static char *
header_value_out(TestServerSession *session, const char *value)
{
  gboolean leading = (session->option.steps & MM_STEP_HEADER_LEADING_SPACE) != 0;
  return mm_header_list_translate_value(value, FALSE, leading);
}

/* header_value_in - a header value from this milter as the MTA keeps it */
static char *
header_value_in(TestServerSession *session, const char *value)
{
  gboolean leading = (session->option.steps & MM_STEP_HEADER_LEADING_SPACE) != 0;
  return mm_header_list_translate_value(value, leading, FALSE);
}

/* current_chunk - the body chunk the cursor is in, or NULL past the end */
static GBytes *
current_chunk(TestServerSession *session)
{
  const GPtrArray *chunks = session->config->body_chunks;
  while (session->chunk < chunks->len) {
    GBytes *chunk = chunks->pdata[session->chunk];
    if (session->offset < g_bytes_get_size(chunk))
      return chunk;
    session->chunk++;
    session->offset = 0;
  }
  return NULL;
}

/* encode_step - append STEP's command (after its macros) to OUT */
static void
encode_step(TestServerSession *session, Step step, GByteArray *out)
{
  const TestServerConfig *config = session->config;
  send_macros(session, step, out);
  switch (step) {
  case STEP_CONNECT:
    mm_command_encode_connect(out, config->connect_host, config->connect_family,
                              config->connect_port, config->connect_address);
    break;
  case STEP_HELO:
    mm_command_encode_helo(out, config->helo_fqdn);
    break;
  case STEP_MAIL:
    mm_command_encode_envelope(out, MM_COMMAND_MAIL, config->envelope_from, NULL);
    break;
  case STEP_RCPT:
    mm_command_encode_envelope(out, MM_COMMAND_RCPT, config->recipients[session->index], NULL);
    break;
  case STEP_UNKNOWN:
    mm_command_encode_unknown(out, config->unknown);
    break;
  case STEP_HEADER: {
    const MmHeader *header = mm_header_list_nth(config->headers, session->index);
    g_autofree char *value = header_value_out(session, header->value);
    mm_command_encode_header(out, header->name, value);
    break;
  }
  case STEP_BODY: {
    GBytes *chunk = current_chunk(session);
    gsize size = 0;
    const guint8 *data = g_bytes_get_data(chunk, &size);
    gsize length = MIN(size - session->offset, (gsize)MM_CHUNK_SIZE);
    mm_command_encode_body(out, MM_COMMAND_BODY, data + session->offset, length);
    session->offset += (guint)length;
    break;
  }
  case STEP_END_OF_MESSAGE:
    mm_command_encode_body(out, MM_COMMAND_END_OF_MESSAGE, NULL, 0);
    break;
  case STEP_DATA:
  case STEP_END_OF_HEADER:
  case STEP_QUIT:
    mm_command_encode_simple(out, steps[step].command);
    break;
  case STEP_NEGOTIATE:
  case STEP_DONE:
    g_assert_not_reached();
  }
}

/* start_transaction - a new message and its result record */
static void
start_transaction(TestServerSession *session)
{
  const TestServerConfig *config = session->config;
  session->n_started++;
  session->current = g_new0(TestServerTransaction, 1);
  session->current->status = MM_STATUS_NOT_CHANGED;
  session->current->notes = g_ptr_array_new_with_free_func(g_free);
  GString *body = g_string_new(NULL);
  for (guint i = 0; i < config->body_chunks->len; i++) {
    gsize size = 0;
    const char *data = g_bytes_get_data(config->body_chunks->pdata[i], &size);
    g_string_append_len(body, data, (gssize)size);
  }
  session->current->message = test_server_message_new(
    config->envelope_from, config->recipients, config->headers, body->str, body->len);
  g_string_free(body, TRUE);
  session->chunk = session->offset = 0;
}

/* next_step - move the cursor past STEP (index, chunk) to the step that follows it */
static void
next_step(TestServerSession *session)
{
  const TestServerConfig *config = session->config;
  switch (session->step) {
  case STEP_NEGOTIATE:
    session->step = STEP_CONNECT;
    break;
  case STEP_CONNECT:
    session->step = STEP_HELO;
    break;
  case STEP_HELO:
    start_transaction(session);
    session->step = STEP_MAIL;
    break;
  case STEP_MAIL:
    session->step = STEP_RCPT;
    session->index = 0;
    break;
  case STEP_RCPT:
    if (config->recipients[session->index + 1] != NULL)
      session->index++;
    else
      session->step = STEP_UNKNOWN;
    break;
  case STEP_UNKNOWN:
    session->step = STEP_DATA;
    break;
  case STEP_DATA:
    session->index = 0;
    session->step = mm_header_list_length(config->headers) > 0 ? STEP_HEADER : STEP_END_OF_HEADER;
    break;
  case STEP_HEADER:
    if (session->index + 1 < mm_header_list_length(config->headers))
      session->index++;
    else
      session->step = STEP_END_OF_HEADER;
    break;
  case STEP_END_OF_HEADER:
  case STEP_BODY:
    session->step = current_chunk(session) != NULL ? STEP_BODY : STEP_END_OF_MESSAGE;
    break;
  case STEP_END_OF_MESSAGE:
  case STEP_QUIT:
  case STEP_DONE:
    session->step = STEP_DONE;
    break;
  }
}

/* step_applies - whether STEP is sent at all to this milter */
static gboolean
step_applies(TestServerSession *session, Step step)
{
  if ((session->option.steps & steps[step].no_flag) != 0)
    return FALSE;
  if (step == STEP_UNKNOWN)
    return session->config->unknown != NULL && session->option.version >= 3;
  if (step == STEP_DATA)
    return session->option.version >= 4;
  return TRUE;
}

/* arm_reading - wait for the reply to the step just sent */
static void
arm_reading(TestServerSession *session)
{
  const TestServerConfig *config = session->config;
  guint timeout = session->step == STEP_END_OF_MESSAGE ? config->end_of_message_timeout_ms
                                                       : config->reading_timeout_ms;
  mm_connection_set_timeout(session->connection, timeout);
}

/* send_quit - QUIT, then end once it is written */
static void
send_quit(TestServerSession *session, GByteArray *out)
{
  mm_command_encode_simple(out, MM_COMMAND_QUIT);
  session->step = STEP_QUIT;
  session->waiting = FALSE;
  mm_connection_flush(session->connection);
  if (mm_connection_get_pending_output(session->connection) == 0)
    finish(session);
  else
    mm_connection_set_timeout(session->connection, TEST_SERVER_QUIT_DRAIN_MS);
}

/* run - send steps from the cursor on until one awaits a reply or the session ends; the
 * commands of one burst leave in one write */
static void
run(TestServerSession *session)
{
  GByteArray *out = mm_connection_output(session->connection);
  for (;;) {
    if (session->step >= STEP_DONE) {
      send_quit(session, out);
      return;
    }
    Step step = session->step;
    if (step == STEP_MAIL && session->current == NULL)
      start_transaction(session);
    if (step_applies(session, step)) {
      mm_debug("[send] %s", step_name(step));
      encode_step(session, step, out);
      if (step == STEP_END_OF_MESSAGE || (session->option.steps & steps[step].nr_flag) == 0) {
        session->waiting = TRUE;
        mm_connection_flush(session->connection);
        arm_reading(session);
        return;
      }
    }
    if (step == STEP_BODY && !step_applies(session, step))
      session->chunk = session->config->body_chunks->len; /* NO_BODY: no chunk at all */
    next_step(session);
  }
}

/* end_transaction - record STATUS for the current message; ABORT if it ended early (or
 * between messages when asked), then the next MAIL or QUIT */
static void
end_transaction(TestServerSession *session, MmStatus status, const char *reply_text,
                gboolean early)
{
  TestServerTransaction *transaction = session->current;
  transaction->status = status;
  g_free(transaction->reply_text);
  transaction->reply_text = g_strdup(reply_text);
  g_ptr_array_add(session->transactions, transaction);
  session->current = NULL;
  gboolean more = session->n_started < session->config->n_transactions;
  GByteArray *out = mm_connection_output(session->connection);
  if (early || (more && session->config->abort_between)) {
    mm_debug("[send] abort");
    mm_command_encode_simple(out, MM_COMMAND_ABORT);
  }
  session->step = more ? STEP_MAIL : STEP_DONE;
  run(session);
}

/* end_at_connection - a verdict at connect or helo ends the whole session */
static void
end_at_connection(TestServerSession *session, MmStatus status, const char *reply_text)
{
  TestServerTransaction *transaction = g_new0(TestServerTransaction, 1);
  transaction->status = status;
  transaction->reply_text = g_strdup(reply_text);
  transaction->notes = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(session->transactions, transaction);
  session->step = STEP_DONE;
  run(session);
}

/* note - a line printed under the transaction's status */
static void
note(TestServerSession *session, const char *what, MmStatus status, const char *reply_text)
{
  g_autofree char *reply = test_server_format_reply(reply_text);
  g_ptr_array_add(session->current->notes,
                  g_strdup_printf("%s: %s%s", what, mm_status_to_string(status), reply));
}

/* verdict - the milter's answer to the step we wait on */
static void
verdict(TestServerSession *session, MmStatus status, const char *reply_text)
{
  Step step = session->step;
  gboolean go_on = status == MM_STATUS_CONTINUE || status == MM_STATUS_SKIP;
  switch (step) {
  case STEP_CONNECT:
  case STEP_HELO:
    if (!go_on) {
      end_at_connection(session, status, reply_text);
      return;
    }
    break;
  case STEP_RCPT: {
    const char *address = session->config->recipients[session->index];
    if (status == MM_STATUS_REJECT || status == MM_STATUS_TEMPORARY_FAILURE) {
      g_autofree char *what = g_strdup_printf("rcpt %s", address);
      note(session, what, status, reply_text);
      test_server_message_reject_recipient(session->current->message, address);
      gboolean last = session->config->recipients[session->index + 1] == NULL;
      if (last && test_server_message_count_recipients(session->current->message) == 0) {
        end_transaction(session, status, reply_text, TRUE);
        return;
      }
    } else if (status == MM_STATUS_DISCARD || status == MM_STATUS_ACCEPT) {
      /* libmilter: accept at RCPT accepts the whole message without further filtering */
      end_transaction(session, status, reply_text, TRUE);
      return;
    }
    break;
  }
  case STEP_UNKNOWN:
    if (status == MM_STATUS_REJECT || status == MM_STATUS_TEMPORARY_FAILURE) {
      note(session, "unknown", status, reply_text);
    } else if (status == MM_STATUS_DISCARD) {
      end_transaction(session, status, reply_text, TRUE);
      return;
    }
    break;
  case STEP_BODY:
    if (status == MM_STATUS_SKIP)
      session->chunk = session->config->body_chunks->len;
    if (!go_on) {
      end_transaction(session, status, reply_text, TRUE);
      return;
    }
    break;
  case STEP_END_OF_MESSAGE:
    end_transaction(session, status, reply_text, FALSE);
    return;
  default:
    if (!go_on) {
      end_transaction(session, status, reply_text, TRUE);
      return;
    }
    break;
  }
  next_step(session);
  run(session);
}

/* negotiated - the milter's OPTNEG reply */
static void
negotiated(TestServerSession *session, const MmReply *reply)
{
  GError *error = NULL;
  MmOption option;
  mm_option_init(&option);
  if (!mm_option_from_reply(reply, &option, &error)) {
    fail(session, TEST_SERVER_SESSION_ERROR_PROTOCOL, "bad negotiate reply: %s", error->message);
    g_error_free(error);
    return;
  }
  if (option.version > session->config->version || option.version < MM_PROTOCOL_VERSION_MIN) {
    fail(session, TEST_SERVER_SESSION_ERROR_PROTOCOL,
         "the milter negotiated protocol version %u; we offered %u", option.version,
         session->config->version);
    mm_option_clear(&option);
    return;
  }
  mm_option_clear(&session->option);
  session->option = option;
  session->negotiated = TRUE;
  if (mm_log_is_enabled(MM_LOG_LEVEL_DEBUG)) {
    g_autofree char *actions = mm_option_actions_to_string(option.actions);
    g_autofree char *step_names = mm_option_steps_to_string(option.steps);
    mm_debug("[receive] negotiate: version=%u actions=%s steps=%s",
             option.version, actions, step_names);
  }
  next_step(session);
  run(session);
}

/* modify - an end-of-message edit */
static void
modify(TestServerSession *session, const MmReply *reply)
{
  TestServerMessage *message = session->current->message;
  GError *error = NULL;
  g_autofree char *value = NULL;
  switch (reply->code) {
  case MM_REPLY_ADD_HEADER:
    value = header_value_in(session, reply->u.header.value);
    test_server_message_add_header(message, reply->u.header.name, value, &error);
    break;
  case MM_REPLY_INSERT_HEADER:
    value = header_value_in(session, reply->u.header.value);
    test_server_message_insert_header(message, reply->u.header.index, reply->u.header.name,
                                      value, &error);
    break;
  case MM_REPLY_CHANGE_HEADER:
    value = header_value_in(session, reply->u.header.value);
    test_server_message_change_header(message, reply->u.header.name, reply->u.header.index,
                                      value, &error);
    break;
  case MM_REPLY_CHANGE_FROM:
    test_server_message_change_from(message, reply->u.address.address, reply->u.address.args);
    break;
  case MM_REPLY_ADD_RCPT:
  case MM_REPLY_ADD_RCPT_WITH_ARGS:
    test_server_message_add_recipient(message, reply->u.address.address, reply->u.address.args,
                                      &error);
    break;
  case MM_REPLY_DELETE_RCPT:
    test_server_message_delete_recipient(message, reply->u.address.address);
    break;
  case MM_REPLY_REPLACE_BODY:
    test_server_message_replace_body(message, reply->u.body.data, reply->u.body.length, &error);
    break;
  case MM_REPLY_QUARANTINE:
    test_server_message_quarantine(message, reply->u.quarantine.reason);
    break;
  default:
    break;
  }
  if (error != NULL) {
    fail(session, TEST_SERVER_SESSION_ERROR_PROTOCOL, "%s", error->message);
    g_error_free(error);
  }
}

/* on_packet - a reply from the milter */
static void
on_packet(gpointer user_data, char code, const guint8 *data, gsize length)
{
  TestServerSession *session = user_data;
  if (session->finished)
    return;
  if (!session->waiting) {
    const char *name = mm_reply_name(code);
    fail(session, TEST_SERVER_SESSION_ERROR_PROTOCOL, "unexpected %s reply (0x%02x) after %s",
         name != NULL ? name : "unknown", (guint8)code, step_name(session->step));
    return;
  }
  GError *error = NULL;
  MmReply reply;
  char command = steps[session->step].command;
  if (!mm_reply_decode(code, data, length, &reply, &error) ||
      !mm_reply_check_allowed(command, code, &error)) {
    fail(session, TEST_SERVER_SESSION_ERROR_PROTOCOL, "%s", error->message);
    g_error_free(error);
    return;
  }
  if (session->step == STEP_NEGOTIATE) {
    session->waiting = FALSE;
    mm_connection_set_timeout(session->connection, 0);
    negotiated(session, &reply);
    return;
  }
  mm_debug("[receive] %s", mm_reply_name(code));
  if (code == MM_REPLY_PROGRESS) {
    arm_reading(session);
    return;
  }
  MmStatus status;
  g_autofree char *reply_text = NULL;
  switch (code) {
  case MM_REPLY_CONTINUE: status = MM_STATUS_CONTINUE; break;
  case MM_REPLY_ACCEPT: status = MM_STATUS_ACCEPT; break;
  case MM_REPLY_REJECT: status = MM_STATUS_REJECT; break;
  case MM_REPLY_TEMPORARY_FAILURE: status = MM_STATUS_TEMPORARY_FAILURE; break;
  case MM_REPLY_DISCARD: status = MM_STATUS_DISCARD; break;
  case MM_REPLY_SKIP: status = MM_STATUS_SKIP; break;
  case MM_REPLY_REPLY_CODE: {
    MmReplyCode parsed;
    if (!mm_reply_code_parse(reply.u.reply_code.text, &parsed, &error)) {
      fail(session, TEST_SERVER_SESSION_ERROR_PROTOCOL, "bad reply code: %s", error->message);
      g_error_free(error);
      return;
    }
    status = parsed.status;
    reply_text = g_strdup(reply.u.reply_code.text);
    break;
  }
  case MM_REPLY_SHUTDOWN:
  case MM_REPLY_CONNECTION_FAIL:
    /* Postfix answers the SMTP client 421 and closes: the session is over. */
    status = MM_STATUS_TEMPORARY_FAILURE;
    reply_text = g_strdup_printf("421 4.7.0 %s", mm_reply_name(code));
    session->waiting = FALSE;
    mm_connection_set_timeout(session->connection, 0);
    if (session->current == NULL) {
      end_at_connection(session, status, reply_text);
      return;
    }
    session->current->status = status;
    session->current->reply_text = g_steal_pointer(&reply_text);
    g_ptr_array_add(session->transactions, session->current);
    session->current = NULL;
    session->step = STEP_DONE;
    run(session);
    return;
  default:
    modify(session, &reply);
    return;
  }
  session->waiting = FALSE;
  mm_connection_set_timeout(session->connection, 0);
  verdict(session, status, reply_text);
}

/* on_closed - the milter closed: fine once we quit, an error while it owes a reply */
static void
on_closed(gpointer user_data, const GError *error)
{
  TestServerSession *session = user_data;
  if (session->step == STEP_QUIT || session->step == STEP_DONE) {
    finish(session);
    return;
  }
  if (error != NULL && error->code == MM_CONNECTION_ERROR_WRITE_TIMEOUT)
    fail(session, TEST_SERVER_SESSION_ERROR_TIMEOUT, "writing timeout (%g seconds) at %s",
         session->config->writing_timeout_ms / 1000.0, step_name(session->step));
  else
    fail(session, TEST_SERVER_SESSION_ERROR_PROTOCOL,
         "the milter closed the connection while we waited for the reply to %s%s%s",
         step_name(session->step), error != NULL ? ": " : "",
         error != NULL ? error->message : "");
}

/* on_connected - negotiate once connected */
static void
on_connected(gpointer user_data, const GError *error)
{
  TestServerSession *session = user_data;
  if (error != NULL) {
    /* "connect to SPEC failed: TEXT" -> "Failed to connect to SPEC: TEXT", 2.3's words */
    g_autofree char *prefix =
      g_strdup_printf("connect to %s failed: ", session->config->spec->text);
    const char *cause = g_str_has_prefix(error->message, prefix)
                          ? error->message + strlen(prefix)
                          : error->message;
    if (session->error == NULL)
      session->error = g_error_new(TEST_SERVER_SESSION_ERROR, TEST_SERVER_SESSION_ERROR_CONNECT,
                                   "Failed to connect to %s: %s", session->config->spec->text,
                                   cause);
    finish(session);
    return;
  }
  g_timer_start(session->timer);
  GByteArray *out = mm_connection_output(session->connection);
  mm_command_encode_negotiate(out, session->config->version, MM_ACTION_ALL,
                              MM_STEP_NO_EVENT_MASK | MM_STEP_NO_REPLY_MASK |
                                MM_STEP_EXTENSION_MASK);
  session->step = STEP_NEGOTIATE;
  session->waiting = TRUE;
  mm_debug("[send] negotiate");
  mm_connection_flush(session->connection);
  mm_connection_set_timeout(session->connection, session->config->reading_timeout_ms);
}

/* on_timeout - the single timer: connecting, reading, end of message, or QUIT drain */
static void
on_timeout(gpointer user_data)
{
  TestServerSession *session = user_data;
  const TestServerConfig *config = session->config;
  if (session->step == STEP_QUIT || session->step == STEP_DONE) {
    finish(session);
  } else if (!session->waiting) {
    fail(session, TEST_SERVER_SESSION_ERROR_TIMEOUT, "connection timeout (%g seconds)",
         config->connection_timeout_ms / 1000.0);
  } else if (session->step == STEP_END_OF_MESSAGE) {
    fail(session, TEST_SERVER_SESSION_ERROR_TIMEOUT,
         "end-of-message timeout (%g seconds)", config->end_of_message_timeout_ms / 1000.0);
  } else {
    fail(session, TEST_SERVER_SESSION_ERROR_TIMEOUT,
         "reading timeout (%g seconds) waiting for the reply to %s",
         config->reading_timeout_ms / 1000.0, step_name(session->step));
  }
}

static const MmConnectionHandlers handlers = {
  .packet = on_packet,
  .closed = on_closed,
  .connected = on_connected,
  .timeout = on_timeout,
};

/* test_server_session_new - a session for CONFIG */
TestServerSession *
test_server_session_new(const TestServerConfig *config, TestServerSessionDoneFunc done,
                        gpointer user_data)
{
  TestServerSession *session = g_new0(TestServerSession, 1);
  session->config = config;
  session->done = done;
  session->user_data = user_data;
  session->timer = g_timer_new();
  g_timer_stop(session->timer);
  mm_option_init(&session->option);
  session->transactions = g_ptr_array_new_with_free_func(test_server_transaction_free);
  return session;
}

/* idle_fail - report a failure to start from the main loop, as promised */
static gboolean
idle_fail(gpointer user_data)
{
  finish(user_data);
  return G_SOURCE_REMOVE;
}

/* test_server_session_start - connect */
void
test_server_session_start(TestServerSession *session)
{
  GError *error = NULL;
  session->step = STEP_NEGOTIATE;
  session->connection = mm_connection_connect(session->config->spec, &handlers, session, &error);
  if (session->connection == NULL) {
    session->error = g_error_new(TEST_SERVER_SESSION_ERROR, TEST_SERVER_SESSION_ERROR_CONNECT,
                                 "Failed to connect to %s: %s", session->config->spec->text,
                                 error->message);
    g_error_free(error);
    g_idle_add(idle_fail, session);
    return;
  }
  mm_connection_set_write_timeout(session->connection, session->config->writing_timeout_ms);
  mm_connection_set_timeout(session->connection, session->config->connection_timeout_ms);
}

/* test_server_session_get_error - why the session failed */
const GError *
test_server_session_get_error(TestServerSession *session)
{
  return session->error;
}

/* test_server_session_get_transactions - the outcomes */
GPtrArray *
test_server_session_get_transactions(TestServerSession *session)
{
  return session->transactions;
}

/* test_server_session_get_elapsed - seconds */
double
test_server_session_get_elapsed(TestServerSession *session)
{
  return g_timer_elapsed(session->timer, NULL);
}

/* test_server_session_free - NULL-safe */
void
test_server_session_free(TestServerSession *session)
{
  if (session == NULL)
    return;
  mm_connection_free(session->connection);
  g_timer_destroy(session->timer);
  g_clear_error(&session->error);
  mm_option_clear(&session->option);
  if (session->current != NULL)
    test_server_transaction_free(session->current);
  g_ptr_array_unref(session->transactions);
  g_free(session);
}
