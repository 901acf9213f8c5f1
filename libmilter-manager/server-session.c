/* SPDX-License-Identifier: GPL-3.0-or-later */
/* server-session.c: the MTA-facing side of the proxy (see server-session.h): the legal order of
 * commands is a table, commands wait in a queue while the children work, replies are encoded
 * here, honouring the no-reply steps and actions agreed with the MTA; a verdict on a message
 * item the MTA expects no reply to waits for the next command it does expect one to. */
#include "server-session.h"

#include <string.h>

#include "children.h"
#include "command.h"
#include "connection.h"
#include "event-loop.h"
#include "header-list.h"
#include "log.h"
#include "macros.h"
#include "option.h"
#include "protocol.h"
#include "reply.h"
#include "statistics.h"

/* How long output to the MTA may make no progress before the session is dropped: an MTA
 * that stops reading must not hold the session, and what it is sent, for ever. Postfix's
 * milter_content_timeout. */
#define MM_SERVER_SESSION_WRITE_TIMEOUT_MS (300u * 1000u)

/* The first protocol version whose MTAs may be asked not to reply to message items (Postfix
 * takes the NR_ steps from version 6 on). */
#define MM_SERVER_SESSION_VERSION_NO_REPLY 6u

/* The message items whose replies manager.defer_message_replies asks the MTA not to wait for,
 * each with the NO_ step that would make it moot. */
static const struct {
  guint32 nr_step;
  guint32 no_step;
} deferrable_steps[] = {
  { MM_STEP_NR_HEADER, MM_STEP_NO_HEADERS },
  { MM_STEP_NR_END_OF_HEADER, MM_STEP_NO_END_OF_HEADER },
  { MM_STEP_NR_BODY, MM_STEP_NO_BODY },
};

typedef enum {
  STATE_START,      /* nothing yet: only NEGOTIATE */
  STATE_NEGOTIATED, /* options agreed */
  STATE_CONNECTED,  /* after CONNECT or HELO */
  STATE_MAIL,       /* in a transaction, before its message */
  STATE_MESSAGE,    /* headers, body, end of message */
  STATE_COUNT
} ServerState;

/* Commands each state accepts; the rest are out of order. MACRO, ABORT, QUIT, QUIT_NC and
 * UNKNOWN may come at any point after negotiation. */
static const char *const accepted_commands[STATE_COUNT] = {
  [STATE_START] = "O",
  [STATE_NEGOTIATED] = "CHMDAQKU",
  [STATE_CONNECTED] = "HMDAQKU",
  [STATE_MAIL] = "MRTLNBEDAQKU",
  [STATE_MESSAGE] = "LNBEDAQKM",
};

typedef struct {
  char code;
  gboolean recorded;   /* a BODY whose bytes are in the message already: no data here */
  /* A BODY behind it may be recorded ahead: it and every item before it, the one in
   * progress included, are HEADER, END_OF_HEADER or BODY of the message in progress, and
   * every BODY among them is recorded (so that the body's bytes keep their order). */
  gboolean ahead_after;
  gsize length;
  guint8 data[];
} QueuedPacket;

struct MmServerSession {
  guint64 id;
  MmConfig *config;
  MmConnection *connection;
  MmMacros *macros;
  MmChildren *children;
  ServerState state;
  MmOption mta_offer;
  MmOption agreed;
  char awaiting;              /* the command we owe an answer to, or 0 */
  gboolean renegotiating;     /* new children after QUIT_NC: no answer to the MTA */
  QueuedPacket *held;         /* a message item waiting for emulated DATA */
  GQueue queue;               /* QueuedPacket* received while busy */
  gsize queued_bytes;
  gboolean processing;
  gboolean ended;
  guint ended_source;
  MmServerSessionEndedFunc ended_func;
  gpointer ended_data;
  gint64 started_at;          /* monotonic microseconds, for the statistics line */
  MmStatus last_status;       /* the last answer the MTA got, and to which command */
  char last_command;
  /* A verdict on a message item the MTA expects no reply to: the answer to the next command
   * it does expect one to (NOT_CHANGED: none). The rest of the message goes to no child. */
  MmStatus pending_status;
  char *pending_reply_code;
  char pending_command;       /* the item it was given to, for the statistics line */
  gboolean body_skipped;      /* the children want no more body: the MTA was not told */
};

static void process(MmServerSession *session, char code, const guint8 *data, gsize length);
static void drain(MmServerSession *session);
static void end_session(MmServerSession *session, const char *reason);

/* ---- replies to the MTA ------------------------------------------------------------ */

/* no_reply_step - the step flag saying the MTA expects no reply to CODE */
static guint32
no_reply_step(char code)
{
  switch (code) {
  case MM_COMMAND_CONNECT: return MM_STEP_NR_CONNECT;
  case MM_COMMAND_HELO: return MM_STEP_NR_HELO;
  case MM_COMMAND_MAIL: return MM_STEP_NR_MAIL;
  case MM_COMMAND_RCPT: return MM_STEP_NR_RCPT;
  case MM_COMMAND_DATA: return MM_STEP_NR_DATA;
  case MM_COMMAND_UNKNOWN: return MM_STEP_NR_UNKNOWN;
  case MM_COMMAND_HEADER: return MM_STEP_NR_HEADER;
  case MM_COMMAND_END_OF_HEADER: return MM_STEP_NR_END_OF_HEADER;
  case MM_COMMAND_BODY: return MM_STEP_NR_BODY;
  default: return 0;
  }
}

/* unanswered - whether the MTA agreed to read no reply to CODE */
static gboolean
unanswered(const MmServerSession *session, char code)
{
  guint32 no_reply = no_reply_step(code);
  return no_reply != 0 && (session->agreed.steps & no_reply) != 0;
}

/* clear_pending - the transaction ended: no verdict waits any more */
static void
clear_pending(MmServerSession *session)
{
  session->pending_status = MM_STATUS_NOT_CHANGED;
  g_clear_pointer(&session->pending_reply_code, g_free);
  session->pending_command = 0;
  session->body_skipped = FALSE;
}

/* keep_unanswered - STATUS for a message item the MTA reads no reply to: a verdict it must
 * hear waits for the next answer; a skip stops the body here instead of at the MTA */
static void
keep_unanswered(MmServerSession *session, char command, MmStatus status,
                const char *reply_code)
{
  if (session->state != STATE_MESSAGE || session->pending_status != MM_STATUS_NOT_CHANGED)
    return;
  if (status == MM_STATUS_SKIP) {
    session->body_skipped = command == MM_COMMAND_BODY;
    return;
  }
  if (status == MM_STATUS_CONTINUE && reply_code == NULL)
    return;
  session->pending_status = status;
  session->pending_reply_code = g_strdup(reply_code);
  session->pending_command = command;
  mm_debug("[session][%" G_GUINT64_FORMAT "] %s: %s kept for the next answer", session->id,
           mm_command_name(command), mm_status_to_string(status));
}

/* send_status - the answer to the command we owe one to */
static void
send_status(MmServerSession *session, MmStatus status, const char *reply_code)
{
  char command = session->awaiting;
  session->awaiting = 0;
  gboolean no_answer = unanswered(session, command);
  char counted = command;
  if (no_answer) {
    keep_unanswered(session, command, status, reply_code);
  } else if (session->pending_status != MM_STATUS_NOT_CHANGED) {
    /* The children's answer to what followed a verdict is that verdict, without its text. */
    status = session->pending_status;
    reply_code = session->pending_reply_code;
    counted = session->pending_command;
  }
  if (command != 0 && command != MM_COMMAND_NEGOTIATE) {
    session->last_status = status;
    session->last_command = counted;
  }
  if (!session->ended && !no_answer) {
    GByteArray *out = mm_connection_output(session->connection);
    if (reply_code) {
      mm_reply_encode_reply_code(out, reply_code);
    } else {
      /* Skip is an answer to a body chunk only. */
      if (status == MM_STATUS_SKIP && command != MM_COMMAND_BODY)
        status = MM_STATUS_CONTINUE;
      mm_reply_encode_simple(out, mm_status_to_reply_code(status));
    }
    mm_connection_flush(session->connection);
  }
  mm_debug("[session][%" G_GUINT64_FORMAT "] %s: %s", session->id,
           command ? mm_command_name(command) : "-", mm_status_to_string(status));
  drain(session);
}

/* allowed - the MTA allowed ACTION; otherwise the edit is dropped with a warning */
static gboolean
allowed(MmServerSession *session, guint32 action, const char *what)
{
  if (session->agreed.actions & action)
    return TRUE;
  mm_warning("[session][%" G_GUINT64_FORMAT "] dropping %s: the MTA did not allow it",
             session->id, what);
  return FALSE;
}

/* send_body - the replaced body, in chunks the MTA takes */
static void
send_body(MmServerSession *session, MmBodySpool *body, GByteArray *out)
{
  gsize chunk = MIN((gsize)session->config->chunk_size, (gsize)MM_CHUNK_SIZE);
  g_autofree guint8 *buffer = g_malloc(chunk);
  guint64 offset = 0;
  for (;;) {
    const guint8 *view = NULL;
    gsize length = 0;
    g_autoptr(GError) error = NULL;
    if (!mm_body_spool_read(body, offset, buffer, chunk, &view, &length, &error)) {
      mm_error("[session][%" G_GUINT64_FORMAT "] replaced body lost: %s", session->id,
               error->message);
      return;
    }
    if (length == 0)
      return;
    mm_reply_encode_replace_body(out, view, length);
    offset += length;
  }
}

/* send_header_operations - the header diff; appends at the end become add-header */
static void
send_header_operations(MmServerSession *session, GPtrArray *operations, guint n_headers,
                       GByteArray *out)
{
  guint length = n_headers;
  for (guint i = 0; i < operations->len; i++) {
    const MmHeaderOperation *operation = g_ptr_array_index(operations, i);
    switch (operation->type) {
    case MM_HEADER_OPERATION_INSERT:
      if (!allowed(session, MM_ACTION_ADD_HEADERS, "a header insertion"))
        break;
      if (operation->index >= length)
        mm_reply_encode_add_header(out, operation->name, operation->value);
      else
        mm_reply_encode_insert_header(out, operation->index, operation->name,
                                      operation->value);
      length++;
      break;
    case MM_HEADER_OPERATION_CHANGE:
      if (allowed(session, MM_ACTION_CHANGE_HEADERS, "a header change"))
        mm_reply_encode_change_header(out, operation->index, operation->name, operation->value);
      break;
    case MM_HEADER_OPERATION_DELETE:
      if (allowed(session, MM_ACTION_CHANGE_HEADERS, "a header deletion")) {
        mm_reply_encode_change_header(out, operation->index, operation->name, "");
        length--;
      }
      break;
    }
  }
}

/* ---- children's answers ------------------------------------------------------------ */

/* deferred_steps - the NR_ steps for message items the MTA offered: the proxy answers the
 * children itself and owes the MTA nothing until the end of message (2.3 asked for them only
 * when every child did) */
static guint32
deferred_steps(const MmServerSession *session, const MmOption *reply)
{
  if (reply->version < MM_SERVER_SESSION_VERSION_NO_REPLY)
    return 0;
  guint32 steps = 0;
  for (guint i = 0; i < G_N_ELEMENTS(deferrable_steps); i++) {
    if ((session->mta_offer.steps & deferrable_steps[i].nr_step) &&
        !(reply->steps & deferrable_steps[i].no_step))
      steps |= deferrable_steps[i].nr_step;
  }
  return steps;
}

/* on_negotiated - the merged options: our answer to the MTA's NEGOTIATE */
static void
on_negotiated(gpointer user_data, const MmOption *reply)
{
  MmServerSession *session = user_data;
  if (session->renegotiating) {
    session->renegotiating = FALSE;
    mm_children_set_mta_option(session->children, &session->agreed);
    session->awaiting = 0;
    drain(session);
    return;
  }
  mm_option_clear(&session->agreed);
  mm_option_copy(&session->agreed, reply);
  if (session->config->defer_message_replies)
    session->agreed.steps |= deferred_steps(session, reply);
  mm_children_set_mta_option(session->children, &session->agreed);
  mm_connection_set_max_data_length(session->connection,
                                    mm_option_max_data_length(session->agreed.steps));
  session->state = STATE_NEGOTIATED;
  session->awaiting = 0;
  if (mm_log_is_enabled(MM_LOG_LEVEL_DEBUG)) {
    g_autofree char *steps = mm_option_steps_to_string(session->agreed.steps);
    mm_debug("[session][%" G_GUINT64_FORMAT "] agreed with the MTA: version %u, steps %s",
             session->id, session->agreed.version, steps);
  }
  mm_reply_encode_negotiate(mm_connection_output(session->connection), &session->agreed);
  mm_connection_flush(session->connection);
  drain(session);
}

/* on_replied - the merged answer to a step */
static void
on_replied(gpointer user_data, MmStatus status, const char *reply_code)
{
  MmServerSession *session = user_data;
  if (session->held && session->awaiting == MM_COMMAND_DATA) {
    /* The DATA we made up for an old MTA: go on with the message, or give its answer. */
    QueuedPacket *held = g_steal_pointer(&session->held);
    session->awaiting = 0;
    if (status == MM_STATUS_CONTINUE || status == MM_STATUS_ACCEPT) {
      process(session, held->code, held->data, held->length);
    } else {
      session->awaiting = held->code;
      send_status(session, status, reply_code);
    }
    g_free(held);
    drain(session);
    return;
  }
  send_status(session, status, reply_code);
}

/* on_recipient_added - passed on at once */
static void
on_recipient_added(gpointer user_data, const char *address, const char *args)
{
  MmServerSession *session = user_data;
  GByteArray *out = mm_connection_output(session->connection);
  if (args && *args) {
    if (allowed(session, MM_ACTION_ADD_RCPT_WITH_ARGS, "a recipient with ESMTP arguments")) {
      mm_reply_encode_add_rcpt(out, address, args);
      mm_connection_flush(session->connection);
      return;
    }
    /* Without arguments is better than not at all. */
  }
  if (allowed(session, MM_ACTION_ADD_RCPT, "an added recipient")) {
    mm_reply_encode_add_rcpt(out, address, NULL);
    mm_connection_flush(session->connection);
  }
}

/* on_recipient_deleted - passed on at once */
static void
on_recipient_deleted(gpointer user_data, const char *address)
{
  MmServerSession *session = user_data;
  if (allowed(session, MM_ACTION_DELETE_RCPT, "a deleted recipient")) {
    mm_reply_encode_delete_rcpt(mm_connection_output(session->connection), address);
    mm_connection_flush(session->connection);
  }
}

/* on_progressed - keep the MTA waiting patiently */
static void
on_progressed(gpointer user_data)
{
  MmServerSession *session = user_data;
  /* Output the MTA has not read yet already tells it to wait: a child flooding progress
   * must not make the queue for a slow MTA grow without end. */
  if (mm_connection_get_pending_output(session->connection) > 0)
    return;
  mm_reply_encode_simple(mm_connection_output(session->connection), MM_REPLY_PROGRESS);
  mm_connection_flush(session->connection);
}

/* on_message_ended - the edits, then the answer to the end of message */
static void
on_message_ended(gpointer user_data, const MmMessageEdits *edits, MmStatus status,
                 const char *reply_code)
{
  MmServerSession *session = user_data;
  GByteArray *out = mm_connection_output(session->connection);
  if (edits->body && allowed(session, MM_ACTION_CHANGE_BODY, "a replaced body"))
    send_body(session, edits->body, out);
  if (edits->header_operations->len > 0)
    send_header_operations(session, edits->header_operations, edits->n_original_headers, out);
  if (edits->change_from && allowed(session, MM_ACTION_CHANGE_FROM, "a changed sender"))
    mm_reply_encode_change_from(out, edits->change_from, edits->change_from_args);
  if (edits->quarantine_reason && allowed(session, MM_ACTION_QUARANTINE, "a quarantine")) {
    mm_reply_encode_quarantine(out, edits->quarantine_reason);
    g_autofree char *line = mm_statistics_format_quarantine((guint)session->id);
    mm_statistics("%s", line);
  }
  session->state = STATE_CONNECTED;
  mm_macros_clear_transaction(session->macros);
  send_status(session, status, reply_code);
  clear_pending(session);
}

static const MmChildrenHandlers children_handlers = {
  .negotiated = on_negotiated,
  .replied = on_replied,
  .recipient_added = on_recipient_added,
  .recipient_deleted = on_recipient_deleted,
  .progressed = on_progressed,
  .message_ended = on_message_ended,
};

/* ---- the MTA's commands ------------------------------------------------------------ */

/* queue_packet - a copy of a packet to process later */
static QueuedPacket *
queue_packet(char code, const guint8 *data, gsize length)
{
  QueuedPacket *packet = g_malloc(sizeof(QueuedPacket) + length);
  packet->code = code;
  packet->recorded = FALSE;
  packet->ahead_after = FALSE;
  packet->length = length;
  if (length > 0)
    memcpy(packet->data, data, length);
  return packet;
}

/* start_children - children for a new SMTP session; RENEGOTIATE keeps the MTA out of it */
static void
start_children(MmServerSession *session, gboolean renegotiate)
{
  mm_children_free(session->children);
  session->children =
    mm_children_new(session->config, session->macros, session->id, &children_handlers, session);
  session->renegotiating = renegotiate;
  session->awaiting = MM_COMMAND_NEGOTIATE;
  mm_children_negotiate(session->children, &session->mta_offer);
}

/* out_of_order - a command the state does not accept: log it, answer with the fallback */
static void
out_of_order(MmServerSession *session, char code)
{
  const char *name = mm_command_name(code);
  if (session->state == STATE_START || code == MM_COMMAND_NEGOTIATE) {
    mm_error("[session][%" G_GUINT64_FORMAT "] the MTA sent %s %s: closing", session->id,
             name ? name : "an unknown command",
             session->state == STATE_START ? "before negotiating" : "twice");
    end_session(session, "protocol violation");
    return;
  }
  mm_warning("[session][%" G_GUINT64_FORMAT "] the MTA sent %s out of order: answering %s",
             session->id, name ? name : "an unknown command",
             mm_status_to_string(session->config->fallback_status));
  session->awaiting = code;
  send_status(session, session->config->fallback_status, NULL);
}

/* dropped - a message item no child needs and the MTA wants no reply to: after a verdict
 * that waits for the end of message, or body after every child said skip */
static gboolean
dropped(MmServerSession *session, char code)
{
  if (!unanswered(session, code))
    return FALSE;
  return session->pending_status != MM_STATUS_NOT_CHANGED ||
         (code == MM_COMMAND_BODY && session->body_skipped);
}

/* is_message_item - HEADER, END_OF_HEADER or BODY: what may come between the message's start
 * and its end without ending it */
static gboolean
is_message_item(char code)
{
  return code == MM_COMMAND_HEADER || code == MM_COMMAND_END_OF_HEADER || code == MM_COMMAND_BODY;
}

/* enqueue - keep a packet that arrived while an earlier one is in progress. A BODY behind
 * nothing but message items goes straight into the message (mm_children_body_ahead): one
 * copy instead of two for a body the MTA streams without waiting for replies. */
static void
enqueue(MmServerSession *session, char code, const guint8 *data, gsize length)
{
  const QueuedPacket *tail = g_queue_peek_tail(&session->queue);
  gboolean ahead =
    is_message_item(code) &&
    (tail != NULL ? tail->ahead_after
                  : session->state == STATE_MESSAGE && is_message_item(session->awaiting));
  QueuedPacket *packet;
  if (ahead && code == MM_COMMAND_BODY && length > 0 && !dropped(session, code) &&
      mm_children_body_ahead(session->children, data, length)) {
    packet = g_new(QueuedPacket, 1);
    packet->code = code;
    packet->recorded = TRUE;
    packet->length = length;
  } else {
    packet = queue_packet(code, data, length);
    /* A BODY kept here: the ones after it must wait for it. */
    if (code == MM_COMMAND_BODY && length > 0)
      ahead = FALSE;
  }
  packet->ahead_after = ahead;
  g_queue_push_tail(&session->queue, packet);
}

/* process - one command from the MTA, when nothing else is in progress; DATA NULL with
 * LENGTH > 0: a BODY that enqueue put in the message */
static void
process(MmServerSession *session, char code, const guint8 *data, gsize length)
{
  g_autoptr(GError) error = NULL;
  MmCommand command;
  if (!mm_command_decode(code, data, length, &command, &error)) {
    mm_error("[session][%" G_GUINT64_FORMAT "] undecodable packet from the MTA: %s",
             session->id, error->message);
    end_session(session, "undecodable packet");
    return;
  }
  /* An MTA that agreed not to send MAIL starts the transaction with what follows it. */
  if ((session->state == STATE_NEGOTIATED || session->state == STATE_CONNECTED) &&
      (session->agreed.steps & MM_STEP_NO_MAIL) && strchr("RTLNBE", code) != NULL)
    session->state = STATE_MAIL;
  if (strchr(accepted_commands[session->state], code) == NULL) {
    out_of_order(session, code);
    return;
  }
  /* The idle timer stays armed while the children work (see on_timeout): drain re-arms it
   * once we are idle again, one call per command instead of two. */
  /* An MTA below version 4 sends no DATA: the children that expect it get one first. */
  if (session->state == STATE_MAIL && session->agreed.version < 4 &&
      (code == MM_COMMAND_HEADER || code == MM_COMMAND_END_OF_HEADER ||
       code == MM_COMMAND_BODY || code == MM_COMMAND_END_OF_MESSAGE)) {
    session->state = STATE_MESSAGE;
    session->held = queue_packet(code, data, length);
    session->awaiting = MM_COMMAND_DATA;
    MmCommand data_command = {.code = MM_COMMAND_DATA};
    mm_children_step(session->children, &data_command, NULL, 0);
    return;
  }
  switch (code) {
  case MM_COMMAND_NEGOTIATE:
    mm_option_init(&session->mta_offer);
    session->mta_offer.version = command.u.negotiate.version;
    session->mta_offer.actions = command.u.negotiate.actions;
    session->mta_offer.steps = command.u.negotiate.steps;
    start_children(session, FALSE);
    return;
  case MM_COMMAND_MACRO:
    if (!mm_macros_set(session->macros, command.u.macro.command, &command.u.macro.pairs,
                       &error))
      mm_warning("[session][%" G_GUINT64_FORMAT "] macros ignored: %s", session->id,
                 error->message);
    return;
  case MM_COMMAND_MAIL:
    if (session->state >= STATE_MAIL)
      mm_children_abort(session->children);
    clear_pending(session);
    session->state = STATE_MAIL;
    break;
  case MM_COMMAND_CONNECT:
  case MM_COMMAND_HELO:
    session->state = STATE_CONNECTED;
    break;
  case MM_COMMAND_ABORT:
    mm_children_abort(session->children);
    mm_macros_clear_transaction(session->macros);
    clear_pending(session);
    if (session->state >= STATE_MAIL)
      session->state = STATE_CONNECTED;
    return;
  case MM_COMMAND_QUIT:
    end_session(session, "quit");
    return;
  case MM_COMMAND_QUIT_NEW_CONNECTION:
    /* The MTA reuses this connection for a new SMTP session: new children, same options. */
    mm_children_quit(session->children);
    mm_macros_clear(session->macros);
    clear_pending(session);
    session->state = STATE_NEGOTIATED;
    start_children(session, TRUE);
    return;
  case MM_COMMAND_HEADER:
  case MM_COMMAND_END_OF_HEADER:
  case MM_COMMAND_BODY:
  case MM_COMMAND_END_OF_MESSAGE:
    session->state = STATE_MESSAGE;
    if (dropped(session, code))
      return;
    session->awaiting = code;
    if (code == MM_COMMAND_HEADER)
      mm_children_header(session->children, command.u.header.name, command.u.header.value);
    else if (code == MM_COMMAND_END_OF_HEADER)
      mm_children_end_of_header(session->children);
    else if (code == MM_COMMAND_BODY)
      mm_children_body(session->children, command.u.body.data, command.u.body.length);
    else
      mm_children_end_of_message(session->children, command.u.body.data,
                                 command.u.body.length);
    return;
  default:
    break;
  }
  session->awaiting = code;
  mm_children_step(session->children, &command, data, length);
}

/* drain - process queued commands while nothing is in progress */
static void
drain(MmServerSession *session)
{
  if (session->processing || session->ended)
    return;
  session->processing = TRUE;
  while (!session->ended && session->awaiting == 0 && !g_queue_is_empty(&session->queue)) {
    QueuedPacket *packet = g_queue_pop_head(&session->queue);
    session->queued_bytes -= packet->length;
    process(session, packet->code, packet->recorded ? NULL : packet->data, packet->length);
    g_free(packet);
  }
  session->processing = FALSE;
  if (session->ended)
    return;
  if (session->queued_bytes < MM_SERVER_SESSION_MAX_QUEUED_BYTES / 2)
    mm_connection_set_reading(session->connection, TRUE);
  if (session->awaiting == 0 && g_queue_is_empty(&session->queue))
    mm_connection_set_timeout(session->connection, MM_SERVER_SESSION_IDLE_TIMEOUT_MS);
}

/* on_packet - a command from the MTA */
static void
on_packet(gpointer user_data, char code, const guint8 *data, gsize length)
{
  MmServerSession *session = user_data;
  if (session->ended)
    return;
  if (session->awaiting == 0 && !session->processing && g_queue_is_empty(&session->queue)) {
    /* The common case: straight from the read buffer, no copy. */
    session->processing = TRUE;
    process(session, code, data, length);
    session->processing = FALSE;
    drain(session);
    return;
  }
  enqueue(session, code, data, length);
  session->queued_bytes += length;
  if (session->queued_bytes > MM_SERVER_SESSION_MAX_QUEUED_BYTES)
    mm_connection_set_reading(session->connection, FALSE);
}

/* on_closed - the MTA went away */
static void
on_closed(gpointer user_data, const GError *error)
{
  MmServerSession *session = user_data;
  if (error)
    mm_warning("[session][%" G_GUINT64_FORMAT "] connection to the MTA lost: %s", session->id,
               error->message);
  end_session(session, error ? "connection lost" : "MTA closed the connection");
}

/* on_timeout - the MTA said nothing for too long */
static void
on_timeout(gpointer user_data)
{
  MmServerSession *session = user_data;
  if (session->awaiting != 0 || !g_queue_is_empty(&session->queue))
    return; /* armed when we were last idle; we are not now */
  mm_warning("[session][%" G_GUINT64_FORMAT "] the MTA was idle for %u seconds: closing",
             session->id, MM_SERVER_SESSION_IDLE_TIMEOUT_MS / 1000);
  end_session(session, "idle timeout");
}

static const MmConnectionHandlers connection_handlers = {
  .packet = on_packet,
  .closed = on_closed,
  .timeout = on_timeout,
};

/* ---- life cycle -------------------------------------------------------------------- */

/* report_ended - tell the owner from the main loop, so no caller frame outlives the session */
static gboolean
report_ended(gpointer user_data)
{
  MmServerSession *session = user_data;
  session->ended_source = 0;
  session->ended_func(session, session->ended_data);
  return G_SOURCE_REMOVE;
}

/* end_session - stop talking to the MTA and the children; REASON is for the log */
static void
end_session(MmServerSession *session, const char *reason)
{
  if (session->ended)
    return;
  session->ended = TRUE;
  mm_debug("[session][%" G_GUINT64_FORMAT "] end: %s", session->id, reason);
  if (mm_log_is_enabled(MM_LOG_LEVEL_STATISTICS)) {
    MmStatisticsState state = session->last_command
                                ? mm_statistics_state_from_command(session->last_command)
                                : MM_STATISTICS_STATE_NEGOTIATE;
    double elapsed = (double)(g_get_monotonic_time() - session->started_at) / G_USEC_PER_SEC;
    g_autofree char *line = mm_statistics_format_session_end(
      state, mm_statistics_result_from_status(session->last_status), elapsed,
      (guint)session->id);
    mm_statistics("%s", line);
  }
  if (session->children)
    mm_children_quit(session->children);
  mm_connection_free(session->connection);
  session->connection = NULL;
  session->ended_source = mm_event_loop_defer(report_ended, session);
}

/* mm_server_session_new - serve one MTA connection */
MmServerSession *
mm_server_session_new(int fd, MmConfig *config, guint64 id, MmServerSessionEndedFunc ended,
                      gpointer user_data)
{
  MmServerSession *session = g_new0(MmServerSession, 1);
  session->id = id;
  session->config = mm_config_ref(config);
  session->macros = mm_macros_new();
  session->ended_func = ended;
  session->ended_data = user_data;
  session->started_at = g_get_monotonic_time();
  mm_option_init(&session->mta_offer);
  mm_option_init(&session->agreed);
  g_queue_init(&session->queue);
  session->connection = mm_connection_new(fd, &connection_handlers, session);
  mm_connection_set_write_timeout(session->connection, MM_SERVER_SESSION_WRITE_TIMEOUT_MS);
  mm_connection_set_timeout(session->connection, MM_SERVER_SESSION_IDLE_TIMEOUT_MS);
  return session;
}

/* mm_server_session_free - NULL-safe */
void
mm_server_session_free(MmServerSession *session)
{
  if (session == NULL)
    return;
  if (session->ended_source)
    g_source_remove(session->ended_source);
  mm_connection_free(session->connection);
  mm_children_free(session->children);
  mm_macros_free(session->macros);
  g_queue_clear_full(&session->queue, g_free);
  g_free(session->held);
  g_free(session->pending_reply_code);
  mm_option_clear(&session->mta_offer);
  mm_option_clear(&session->agreed);
  mm_config_unref(session->config);
  g_free(session);
}

/* mm_server_session_stop - end now; an MTA waiting for an answer gets the fallback */
void
mm_server_session_stop(MmServerSession *session)
{
  if (session->ended)
    return;
  /* No more commands from the queue: the answer below is the last one. */
  session->processing = TRUE;
  if (session->awaiting && session->awaiting != MM_COMMAND_NEGOTIATE)
    send_status(session, session->config->fallback_status, NULL);
  end_session(session, "stopped");
}

/* mm_server_session_get_final_status - the last answer the MTA got (NOT_CHANGED: none) */
MmStatus
mm_server_session_get_final_status(const MmServerSession *session)
{
  return session->last_status;
}

