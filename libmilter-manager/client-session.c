/* SPDX-License-Identifier: GPL-3.0-or-later */
/* client-session.c: the child-facing side of the proxy (see client-session.h): a small state
 * machine (connecting, negotiating, ready, gone) over one MmConnection. */
#include "client-session.h"

#include <string.h>

#include "command.h"
#include "connection.h"
#include "event-loop.h"
#include "log.h"
#include "negotiation.h"
#include "packet.h"
#include "protocol.h"
#include "reply-code.h"

G_DEFINE_QUARK(mm-client-session-error-quark, mm_client_session_error)

typedef enum {
  STATE_NEW,
  STATE_CONNECTING,
  STATE_NEGOTIATING,
  STATE_READY,
  STATE_GONE, /* failed or quit */
} ClientState;

struct MmClientSession {
  const MmMilterConfig *milter;
  const MmClientSessionHandlers *handlers;
  gpointer user_data;
  MmConnection *connection;
  ClientState state;
  MmOption offer;
  MmOption option;
  char awaiting; /* the command whose reply we wait for, or 0 */
  /* ABORT went out while a reply was due: the child answers that command before it reads
   * the ABORT (libmilter does), so its next verdict and edits belong to the old command. */
  gboolean stale_reply;
  char *deferred_failure; /* a failure found inside mm_client_session_negotiate */
  guint deferred_source;
  gint64 sent_at;       /* when the command now awaited was sent (monotonic us) */
  gint64 reply_latency; /* how long the last reply took */
  /* Privilege mode: the connect is retried once after asking the launcher (see below). */
  gint64 connect_started_at;
  gboolean launch_asked;
  guint retry_source;
};

static void on_packet(gpointer user_data, char code, const guint8 *data, gsize length);
static void on_closed(gpointer user_data, const GError *error);
static void on_connected(gpointer user_data, const GError *error);
static void on_timeout(gpointer user_data);
static gboolean retry_after_launch(MmClientSession *session, const GError *error);

static const MmConnectionHandlers connection_handlers = {
  .packet = on_packet,
  .closed = on_closed,
  .connected = on_connected,
  .timeout = on_timeout,
};

/* seconds_to_ms - a configured timeout in milliseconds, at least 1 */
static guint
seconds_to_ms(double seconds)
{
  if (seconds <= 0)
    return 0;
  double ms = seconds * 1000.0;
  return ms > (double)G_MAXUINT ? G_MAXUINT : MAX(1u, (guint)ms);
}

/* mm_client_session_new - a session with one child, not yet connected */
MmClientSession *
mm_client_session_new(const MmMilterConfig *milter, const MmClientSessionHandlers *handlers,
                      gpointer user_data)
{
  MmClientSession *session = g_new0(MmClientSession, 1);
  session->milter = milter;
  session->handlers = handlers;
  session->user_data = user_data;
  mm_option_init(&session->offer);
  mm_option_init(&session->option);
  return session;
}

/* mm_client_session_free - close without a word */
void
mm_client_session_free(MmClientSession *session)
{
  if (session == NULL)
    return;
  mm_connection_free(session->connection);
  if (session->deferred_source)
    g_source_remove(session->deferred_source);
  if (session->retry_source)
    g_source_remove(session->retry_source);
  g_free(session->deferred_failure);
  mm_option_clear(&session->offer);
  mm_option_clear(&session->option);
  g_free(session);
}

/* fail - report the child unusable, once; SESSION may be freed by the handler */
static void
fail(MmClientSession *session, MmClientSessionError code, const char *format, ...)
  G_GNUC_PRINTF(3, 4);
static void
fail(MmClientSession *session, MmClientSessionError code, const char *format, ...)
{
  if (session->state == STATE_GONE)
    return;
  session->state = STATE_GONE;
  session->awaiting = 0;
  mm_connection_free(session->connection);
  session->connection = NULL;
  va_list args;
  va_start(args, format);
  g_autoptr(GError) error = g_error_new_valist(MM_CLIENT_SESSION_ERROR, code, format, args);
  va_end(args);
  session->handlers->failed(session->user_data, error);
}

/* stage_name - the awaited command's name for messages */
static const char *
stage_name(char code)
{
  const char *name = code ? mm_command_name(code) : NULL;
  return name ? name : "none";
}

/* report_deferred_failure - report, from the main loop, a failure found while starting */
static gboolean
report_deferred_failure(gpointer user_data)
{
  MmClientSession *session = user_data;
  session->deferred_source = 0;
  fail(session, MM_CLIENT_SESSION_ERROR_SPEC, "%s", session->deferred_failure);
  return G_SOURCE_REMOVE;
}

/* mm_client_session_negotiate - connect and send the offer */
void
mm_client_session_negotiate(MmClientSession *session, const MmOption *offer)
{
  g_return_if_fail(session->state == STATE_NEW);
  mm_option_copy(&session->offer, offer);
  session->state = STATE_CONNECTING;
  session->awaiting = MM_COMMAND_NEGOTIATE;
  session->connect_started_at = mm_connection_get_time();

  g_autoptr(GError) error = NULL;
  const MmConnectionSpec *spec = mm_milter_config_get_spec(session->milter, &error);
  if (spec)
    session->connection = mm_connection_connect(spec, &connection_handlers, session, &error);
  if (session->connection == NULL) {
    /* Report it from the main loop, as promised: the caller is still setting up. */
    session->deferred_failure = g_strdup(error->message);
    session->deferred_source = mm_event_loop_defer(report_deferred_failure, session);
    return;
  }
  mm_connection_set_timeout(session->connection,
                            seconds_to_ms(session->milter->connection_timeout));
  mm_connection_set_write_timeout(session->connection,
                                  seconds_to_ms(session->milter->writing_timeout));
  mm_connection_set_max_data_length(session->connection, mm_option_max_data_length(offer->steps));
}

/* on_connected - the connect finished: send our offer */
static void
on_connected(gpointer user_data, const GError *error)
{
  MmClientSession *session = user_data;
  if (error && retry_after_launch(session, error))
    return;
  if (error) {
    fail(session, MM_CLIENT_SESSION_ERROR_CONNECT, "%s%s", error->message,
         session->launch_asked ? " (after asking the launcher to start it)" : "");
    return;
  }
  session->state = STATE_NEGOTIATING;
  GByteArray *out = mm_connection_output(session->connection);
  mm_command_encode_negotiate(out, session->offer.version, session->offer.actions,
                              session->offer.steps);
  mm_connection_flush(session->connection);
  mm_connection_set_timeout(session->connection,
                            seconds_to_ms(session->milter->reading_timeout));
}

/* on_timeout - the connect, a reply, or the end of message took too long */
static void
on_timeout(gpointer user_data)
{
  MmClientSession *session = user_data;
  /* The timer is left armed when the reply comes (the next command re-arms it, one call
   * per command instead of two): expiring with nothing due is no timeout. */
  if (session->state == STATE_READY && session->awaiting == 0)
    return;
  if (session->state == STATE_CONNECTING) {
    fail(session, MM_CLIENT_SESSION_ERROR_CONNECT, "connect timed out after %g seconds",
         session->milter->connection_timeout);
    return;
  }
  double seconds = session->awaiting == MM_COMMAND_END_OF_MESSAGE
                     ? session->milter->end_of_message_timeout
                     : session->milter->reading_timeout;
  fail(session, MM_CLIENT_SESSION_ERROR_TIMEOUT, "no reply to %s within %g seconds",
       stage_name(session->awaiting), seconds);
}

/* on_closed - the child went away or the connection broke */
static void
on_closed(gpointer user_data, const GError *error)
{
  MmClientSession *session = user_data;
  if (error) {
    fail(session, MM_CLIENT_SESSION_ERROR_CLOSED, "%s while waiting for %s", error->message,
         stage_name(session->awaiting));
  } else {
    fail(session, MM_CLIENT_SESSION_ERROR_CLOSED, "closed the connection%s%s",
         session->awaiting ? " without replying to " : "",
         session->awaiting ? stage_name(session->awaiting) : "");
  }
}

/* handle_negotiate_reply - check the child's options against our offer */
static void
handle_negotiate_reply(MmClientSession *session, const MmReply *reply)
{
  g_autoptr(GError) error = NULL;
  MmOption option;
  mm_option_init(&option);
  if (!mm_option_from_reply(reply, &option, &error) ||
      !mm_negotiation_check_child(&session->offer, &option, &error)) {
    mm_option_clear(&option);
    fail(session, MM_CLIENT_SESSION_ERROR_NEGOTIATE, "%s", error->message);
    return;
  }
  mm_option_clear(&session->option);
  session->option = option;
  session->state = STATE_READY;
  session->awaiting = 0; /* the timer stays: see on_timeout */
  mm_connection_set_max_data_length(session->connection,
                                    mm_option_max_data_length(session->option.steps));
  session->handlers->negotiated(session->user_data, &session->option);
}

/* status_of_reply - the verdict a simple reply code stands for */
static MmStatus
status_of_reply(char code)
{
  switch (code) {
  case MM_REPLY_ACCEPT: return MM_STATUS_ACCEPT;
  case MM_REPLY_CONTINUE: return MM_STATUS_CONTINUE;
  case MM_REPLY_REJECT: return MM_STATUS_REJECT;
  case MM_REPLY_TEMPORARY_FAILURE: return MM_STATUS_TEMPORARY_FAILURE;
  case MM_REPLY_DISCARD: return MM_STATUS_DISCARD;
  case MM_REPLY_SKIP: return MM_STATUS_SKIP;
  default: return MM_STATUS_NOT_CHANGED;
  }
}

/* finish_step - the awaited reply arrived: report it (the timer stays: see on_timeout) */
static void
finish_step(MmClientSession *session, MmStatus status, const char *reply_code)
{
  session->awaiting = 0;
  session->reply_latency = mm_connection_get_time() - session->sent_at;
  session->handlers->replied(session->user_data, status, reply_code);
}

/* handle_reply_code - a 'y' reply: validated, it is a reject or a temporary failure */
static void
handle_reply_code(MmClientSession *session, const char *text)
{
  MmReplyCode parsed;
  g_autoptr(GError) error = NULL;
  if (mm_reply_code_parse(text, &parsed, &error)) {
    finish_step(session, parsed.status, text);
    return;
  }
  /* A bad code still says no: keep the class its first digit gives, drop the text. */
  mm_warning("[client][reply-code] %s (%s): invalid reply code \"%s\": %s; "
             "answering without it", session->milter->name, session->milter->connection_spec,
             text, error->message);
  finish_step(session, text[0] == '4' ? MM_STATUS_TEMPORARY_FAILURE : MM_STATUS_REJECT, NULL);
}

/* on_packet - one reply from the child */
static void
on_packet(gpointer user_data, char code, const guint8 *data, gsize length)
{
  MmClientSession *session = user_data;
  if (session->state == STATE_GONE)
    return;
  g_autoptr(GError) error = NULL;
  MmReply reply;
  if (!mm_reply_decode(code, data, length, &reply, &error)) {
    fail(session, MM_CLIENT_SESSION_ERROR_PROTOCOL, "sent an undecodable reply: %s",
         error->message);
    return;
  }
  if (session->stale_reply && code != MM_REPLY_NEGOTIATE) {
    /* The late answer to an aborted command: dropped, edits and progress included. */
    if (status_of_reply(code) != MM_STATUS_NOT_CHANGED || code == MM_REPLY_REPLY_CODE ||
        code == MM_REPLY_CONNECTION_FAIL || code == MM_REPLY_SHUTDOWN)
      session->stale_reply = FALSE;
    return;
  }
  if (session->awaiting == 0) {
    fail(session, MM_CLIENT_SESSION_ERROR_PROTOCOL, "sent '%c' (%s) when no reply was due", code,
         mm_reply_name(code) ? mm_reply_name(code) : "unknown");
    return;
  }
  if (!mm_reply_check_allowed(session->awaiting, code, &error)) {
    fail(session, MM_CLIENT_SESSION_ERROR_PROTOCOL, "%s", error->message);
    return;
  }
  switch (code) {
  case MM_REPLY_NEGOTIATE:
    handle_negotiate_reply(session, &reply);
    return;
  case MM_REPLY_REPLY_CODE:
    handle_reply_code(session, reply.u.reply_code.text);
    return;
  case MM_REPLY_PROGRESS:
    mm_connection_set_timeout(session->connection,
                              seconds_to_ms(session->milter->end_of_message_timeout));
    session->handlers->progressed(session->user_data);
    return;
  case MM_REPLY_SHUTDOWN:
    fail(session, MM_CLIENT_SESSION_ERROR_SHUTDOWN, "asked to shut the SMTP session down (421)");
    return;
  case MM_REPLY_CONNECTION_FAIL:
    fail(session, MM_CLIENT_SESSION_ERROR_PROTOCOL, "reported a connection failure");
    return;
  default:
    break;
  }
  MmStatus status = status_of_reply(code);
  if (status != MM_STATUS_NOT_CHANGED) {
    finish_step(session, status, NULL);
    return;
  }
  session->handlers->modified(session->user_data, &reply);
}

/* macro_stage_requests - the child's requested macro list for the stage of COMMAND, or NULL */
static const char *
macro_stage_requests(const MmClientSession *session, char command)
{
  int stage;
  switch (command) {
  case MM_COMMAND_CONNECT: stage = MM_MACRO_STAGE_CONNECT; break;
  case MM_COMMAND_HELO: stage = MM_MACRO_STAGE_HELO; break;
  case MM_COMMAND_MAIL: stage = MM_MACRO_STAGE_MAIL; break;
  case MM_COMMAND_RCPT: stage = MM_MACRO_STAGE_RCPT; break;
  case MM_COMMAND_DATA: stage = MM_MACRO_STAGE_DATA; break;
  case MM_COMMAND_END_OF_MESSAGE: stage = MM_MACRO_STAGE_END_OF_MESSAGE; break;
  case MM_COMMAND_END_OF_HEADER: stage = MM_MACRO_STAGE_END_OF_HEADER; break;
  default: return NULL;
  }
  return session->option.macro_requests[stage];
}

/* begin_send - decide whether CODE goes to the child; on WAIT/NO_REPLY its macros are queued */
static MmClientSend
begin_send(MmClientSession *session, char code, const MmMacros *macros, GHashTable *overrides)
{
  if (session->state != STATE_READY)
    return MM_CLIENT_SEND_DEAD;
  /* A command answered locally (skipped, no reply) took no time. */
  session->reply_latency = 0;
  if (!mm_negotiation_child_receives(session->option.version, session->option.steps, code))
    return MM_CLIENT_SEND_SKIPPED;
  if (macros)
    mm_macros_encode_for_child(macros, code, macro_stage_requests(session, code), overrides,
                               mm_connection_output(session->connection));
  return mm_negotiation_child_replies(session->option.steps, code) ? MM_CLIENT_SEND_WAIT
                                                                  : MM_CLIENT_SEND_NO_REPLY;
}

/* end_send - flush and, when a reply is due, start waiting for it */
static MmClientSend
end_send(MmClientSession *session, char code, MmClientSend result)
{
  mm_connection_flush(session->connection);
  if (result == MM_CLIENT_SEND_WAIT) {
    session->awaiting = code;
    session->sent_at = mm_connection_get_time();
    double seconds = code == MM_COMMAND_END_OF_MESSAGE ? session->milter->end_of_message_timeout
                                                       : session->milter->reading_timeout;
    mm_connection_set_timeout(session->connection, seconds_to_ms(seconds));
  }
  return result;
}

/* mm_client_session_send - forward one command as the MTA encoded it */
MmClientSend
mm_client_session_send(MmClientSession *session, char code, const guint8 *data, gsize length,
                       const MmMacros *macros, GHashTable *overrides)
{
  MmClientSend result = begin_send(session, code, macros, overrides);
  if (result == MM_CLIENT_SEND_DEAD || result == MM_CLIENT_SEND_SKIPPED)
    return result;
  mm_packet_append(mm_connection_output(session->connection), code, data, length);
  return end_send(session, code, result);
}

/* mm_client_session_send_header - one header, leading space translated for this child */
MmClientSend
mm_client_session_send_header(MmClientSession *session, const MmHeader *header,
                              gboolean mta_leading_space, const MmMacros *macros)
{
  MmClientSend result = begin_send(session, MM_COMMAND_HEADER, macros, NULL);
  if (result == MM_CLIENT_SEND_DEAD || result == MM_CLIENT_SEND_SKIPPED)
    return result;
  GByteArray *out = mm_connection_output(session->connection);
  gboolean child_leading_space = (session->option.steps & MM_STEP_HEADER_LEADING_SPACE) != 0;
  if (mta_leading_space && !child_leading_space && header->value[0] == ' ') {
    mm_command_encode_header(out, header->name, header->value + 1);
  } else {
    gsize length;
    const guint8 *packet = mm_header_get_packet(header, &length);
    g_byte_array_append(out, packet, (guint)length);
  }
  return end_send(session, MM_COMMAND_HEADER, result);
}

/* mm_client_session_send_body - one body chunk */
MmClientSend
mm_client_session_send_body(MmClientSession *session, GBytes *owner, const guint8 *data,
                            gsize length, const MmMacros *macros)
{
  MmClientSend result = begin_send(session, MM_COMMAND_BODY, macros, NULL);
  if (result == MM_CLIENT_SEND_DEAD || result == MM_CLIENT_SEND_SKIPPED)
    return result;
  GByteArray *out = mm_connection_output(session->connection);
  if (owner == NULL) {
    mm_command_encode_body(out, MM_COMMAND_BODY, data, length);
  } else {
    /* The packet's header here, its data by reference: the body is not copied per child. */
    mm_packet_end_followed(out, mm_packet_begin(out, MM_COMMAND_BODY), length);
    mm_connection_output_add_bytes(session->connection, owner,
                                   (gsize)(data - (const guint8 *)g_bytes_get_data(owner, NULL)),
                                   length);
  }
  return end_send(session, MM_COMMAND_BODY, result);
}

/* mm_client_session_abort - end the child's transaction */
void
mm_client_session_abort(MmClientSession *session)
{
  if (session->state != STATE_READY)
    return;
  if (session->awaiting)
    session->stale_reply = TRUE;
  session->awaiting = 0; /* the timer stays: see on_timeout */
  mm_command_encode_simple(mm_connection_output(session->connection), MM_COMMAND_ABORT);
  mm_connection_flush(session->connection);
}

/* mm_client_session_quit - say goodbye and close */
void
mm_client_session_quit(MmClientSession *session)
{
  if (session->state == STATE_READY) {
    mm_command_encode_simple(mm_connection_output(session->connection), MM_COMMAND_QUIT);
    mm_connection_flush(session->connection);
  }
  session->state = STATE_GONE;
  session->awaiting = 0;
  mm_connection_free(session->connection);
  session->connection = NULL;
}

/* mm_client_session_get_option - what the child negotiated */
const MmOption *
mm_client_session_get_option(const MmClientSession *session)
{
  return session->state == STATE_READY ? &session->option : NULL;
}

/* mm_client_session_get_reply_latency - microseconds from sending the last command that
 * wanted a reply to its reply (0 for a command answered locally) */
gint64
mm_client_session_get_reply_latency(const MmClientSession *session)
{
  return session->reply_latency;
}

/* mm_client_session_get_max_chunk - largest body chunk the child takes */
gsize
mm_client_session_get_max_chunk(const MmClientSession *session, gsize chunk_size)
{
  gsize max = mm_option_max_data_length(session->option.steps);
  return MIN(max, chunk_size);
}

/* Privilege mode: auto-starting a child milter whose socket is down. A failed connect asks
 * the launcher (through a hook the daemon sets) to start the milter, then connects once more
 * after a delay; the whole stays within the milter's connection_timeout. */

static MmClientSessionLaunchFunc launch_func;
static gpointer launch_user_data;
static guint launch_retry_delay_ms;

/* mm_client_session_set_launcher - the process-wide launch hook */
void
mm_client_session_set_launcher(MmClientSessionLaunchFunc func, gpointer user_data,
                               guint retry_delay_ms)
{
  launch_func = func;
  launch_user_data = user_data;
  launch_retry_delay_ms = retry_delay_ms;
}

/* remaining_connect_ms - what is left of connection_timeout (G_MAXUINT: no limit) */
static guint
remaining_connect_ms(const MmClientSession *session)
{
  /* Beyond what a timer can hold, as seconds_to_ms: no limit. */
  if (session->milter->connection_timeout <= 0 ||
      session->milter->connection_timeout >= G_MAXUINT / 1000.0)
    return G_MAXUINT;
  gint64 left_us = (gint64)(session->milter->connection_timeout * G_USEC_PER_SEC) -
                   (mm_connection_get_time() - session->connect_started_at);
  if (left_us <= 0)
    return 0;
  return left_us / 1000 > G_MAXUINT - 1 ? G_MAXUINT - 1 : (guint)(left_us / 1000);
}

/* connect_again - the retry: the same connect as the first one, with the time left */
static gboolean
connect_again(gpointer user_data)
{
  MmClientSession *session = user_data;
  session->retry_source = 0;
  if (session->state != STATE_CONNECTING)
    return G_SOURCE_REMOVE;
  guint left_ms = remaining_connect_ms(session);
  g_autoptr(GError) error = NULL;
  const MmConnectionSpec *spec = mm_milter_config_get_spec(session->milter, &error);
  if (spec)
    session->connection = mm_connection_connect(spec, &connection_handlers, session, &error);
  if (session->connection == NULL) {
    fail(session, MM_CLIENT_SESSION_ERROR_CONNECT, "%s (retry after asking the launcher)",
         error->message);
    return G_SOURCE_REMOVE;
  }
  mm_connection_set_timeout(session->connection, left_ms == G_MAXUINT ? 0 : MAX(1u, left_ms));
  mm_connection_set_write_timeout(session->connection,
                                  seconds_to_ms(session->milter->writing_timeout));
  mm_connection_set_max_data_length(session->connection,
                                    mm_option_max_data_length(session->offer.steps));
  return G_SOURCE_REMOVE;
}

/* retry_after_launch - on a failed connect: ask the launcher and schedule one more connect;
 * FALSE when that does not apply (no hook, no command, already retried, no time left) */
static gboolean
retry_after_launch(MmClientSession *session, const GError *error)
{
  const MmMilterConfig *milter = session->milter;
  if (launch_func == NULL || session->launch_asked || session->state != STATE_CONNECTING ||
      milter->command == NULL || *milter->command == '\0')
    return FALSE;
  if (remaining_connect_ms(session) <= launch_retry_delay_ms) {
    mm_info("[client][launch] %s (%s): %s; not asking the launcher: the retry %u ms later "
            "would exceed connection_timeout (%g s)", milter->name, milter->connection_spec,
            error->message, launch_retry_delay_ms, milter->connection_timeout);
    return FALSE;
  }
  if (!launch_func(launch_user_data, milter))
    return FALSE;
  session->launch_asked = TRUE;
  mm_info("[client][launch] %s (%s): %s; asked the launcher to start it, connecting again in "
          "%u ms", milter->name, milter->connection_spec, error->message,
          launch_retry_delay_ms);
  /* The failed connection is done: connected() is its last call. */
  mm_connection_free(session->connection);
  session->connection = NULL;
  session->retry_source = g_timeout_add(launch_retry_delay_ms, connect_again, session);
  return TRUE;
}
