/* SPDX-License-Identifier: GPL-3.0-or-later */
/* message-phase.c: headers, end of header, body and end of message: the message is recorded
 * as the MTA sends it and each child reads it from the record with its own cursor; in sequence
 * (each child as the previous ones left it) or in parallel (all at once, edits merged at the end). */
#include "children-private.h"

#include <string.h>

#include "log.h"
#include "protocol.h"
#include "statistics.h"

struct MmMessage {
  MmHeaderList *original;       /* as the MTA sent them */
  MmHeaderList *current;        /* with the finished children's edits; NULL: unchanged */
  MmBodySpool *body;            /* as the MTA sent it */
  MmBodySpool *current_body;    /* the last finished child's replacement; NULL: unchanged */
  gboolean headers_done;
  gboolean end_of_header_recorded;
  gboolean end_of_message_recorded;
  GPtrArray *queue;             /* MmChild* in configuration order (borrowed) */
  guint head;
  char mta_waiting;             /* the MTA's item awaiting our answer: L N B E, or 0 */
  MmStatus verdict;             /* a final answer for the message, once given */
  char *verdict_code;
  gboolean everyone_accepted;   /* every child that finished accepted */
  char *change_from;
  char *change_from_args;
  char *quarantine;
  guint8 *read_buffer;          /* body chunks read back from a spilled spool */
  /* Bytes of BODY the processed items brought: children see no further. The rest of the
   * spool arrived ahead of its item (mm_children_body_ahead). */
  guint64 body_visible;
};

typedef enum {
  SENT_WAITING,  /* the child is working on what it got */
  SENT_DONE,     /* it got an item and needs no reply, or had nothing to do with it */
  SENT_CAUGHT_UP /* it has everything the MTA sent so far */
} Sent;

/* mm_message_child_reset - forget a child's place in the message and its staged edits */
void
mm_message_child_reset(MmChild *child)
{
  child->header_cursor = 0;
  child->end_of_header_sent = FALSE;
  child->body_cursor = 0;
  child->body_skipped = FALSE;
  child->end_of_message_sent = FALSE;
  g_clear_pointer(&child->staged_headers, mm_header_list_free);
  g_clear_pointer(&child->staged_body, mm_body_spool_free);
  g_clear_pointer(&child->staged_change_from, g_free);
  g_clear_pointer(&child->staged_change_from_args, g_free);
  g_clear_pointer(&child->staged_quarantine, g_free);
  g_clear_pointer(&child->staged_header_edits, g_ptr_array_unref);
  child->edits_kept = FALSE;
}

/* is_parallel - whether the children read the message all at once */
static gboolean
is_parallel(const MmChildren *children)
{
  return children->config->message_phase == MM_MESSAGE_PHASE_PARALLEL;
}

/* mm_message_free - NULL-safe */
void
mm_message_free(MmMessage *message)
{
  if (message == NULL)
    return;
  mm_header_list_free(message->original);
  mm_header_list_free(message->current);
  mm_body_spool_free(message->body);
  mm_body_spool_free(message->current_body);
  g_ptr_array_unref(message->queue);
  g_free(message->verdict_code);
  g_free(message->change_from);
  g_free(message->change_from_args);
  g_free(message->quarantine);
  g_free(message->read_buffer);
  g_free(message);
}

/* ensure_message - the message being recorded, started at its first item */
static MmMessage *
ensure_message(MmChildren *children)
{
  if (children->message)
    return children->message;
  MmMessage *message = g_new0(MmMessage, 1);
  message->original = mm_header_list_new();
  /* Postfix counts its own Received: header, which it never shows milters, in insert
   * positions (cleanup_milter.c): stand it in at the top so that ours count the same. */
  const char *mta = mm_macros_lookup(children->macros, 0, "v");
  if (mta != NULL && strstr(mta, "Postfix") != NULL)
    mm_header_list_append_hidden(message->original, NULL);
  message->body = mm_body_spool_new(children->config->body_memory_limit, NULL);
  message->queue = g_ptr_array_new();
  message->everyone_accepted = TRUE;
  for (guint i = 0; i < children->all->len; i++) {
    MmChild *child = g_ptr_array_index(children->all, i);
    if (!children->transaction_started && child->negotiated && !child->gone) {
      /* The MTA sent no MAIL (every child asked not to get it): all take part. */
      child->in_transaction = TRUE;
      child->has_accepted_rcpt = TRUE;
    }
    mm_message_child_reset(child);
    if (child->in_transaction && child->has_accepted_rcpt && !child->gone)
      g_ptr_array_add(message->queue, child);
  }
  children->message = message;
  return message;
}

/* current_head - the child whose turn it is, or NULL when none is left */
static MmChild *
current_head(MmMessage *message)
{
  while (message->head < message->queue->len) {
    MmChild *child = g_ptr_array_index(message->queue, message->head);
    if (child->in_transaction && !child->gone)
      return child;
    message->head++;
  }
  return NULL;
}

/* is_last - no child after CHILD still needs the message */
static gboolean
is_last(MmMessage *message, const MmChild *child)
{
  for (guint i = message->head + 1; i < message->queue->len; i++) {
    const MmChild *next = g_ptr_array_index(message->queue, i);
    if (next != child && next->in_transaction && !next->gone)
      return FALSE;
  }
  return TRUE;
}

/* commit_edits - a child finished well: its edits become the message */
static void
commit_edits(MmMessage *message, MmChild *child)
{
  if (child->staged_headers) {
    mm_header_list_free(message->current);
    message->current = g_steal_pointer(&child->staged_headers);
  }
  if (child->staged_body) {
    mm_body_spool_free(message->current_body);
    message->current_body = g_steal_pointer(&child->staged_body);
  }
  if (child->staged_change_from) {
    g_free(message->change_from);
    g_free(message->change_from_args);
    message->change_from = g_steal_pointer(&child->staged_change_from);
    message->change_from_args = g_steal_pointer(&child->staged_change_from_args);
  }
  if (child->staged_quarantine) {
    g_free(message->quarantine);
    message->quarantine = g_steal_pointer(&child->staged_quarantine);
  }
}

/* finish_child - CHILD is done with the message (STATUS continue or accept). In parallel its
 * edits wait for the others: they are merged in configuration order, not in finishing order. */
static void
finish_child(MmMessage *message, MmChild *child, MmStatus status, gboolean keep_edits)
{
  if (status != MM_STATUS_ACCEPT)
    message->everyone_accepted = FALSE;
  child->in_transaction = FALSE;
  child->waiting = FALSE;
  if (keep_edits && is_parallel(child->children)) {
    child->edits_kept = TRUE;
    return;
  }
  if (keep_edits)
    commit_edits(message, child);
  mm_message_child_reset(child);
}

/* merge_parallel_edits - the kept edits of every child, in configuration order, onto the
 * message as the MTA sent it: header edits replayed, the last body, sender and reason win */
static void
merge_parallel_edits(MmMessage *message)
{
  for (guint i = 0; i < message->queue->len; i++) {
    MmChild *child = g_ptr_array_index(message->queue, i);
    if (!child->edits_kept)
      continue;
    if (child->staged_header_edits && child->staged_header_edits->len > 0) {
      if (message->current == NULL)
        message->current = mm_header_list_copy(message->original);
      mm_message_parallel_replay_header_edits(child, message->current);
    }
    commit_edits(message, child);
    mm_message_child_reset(child);
  }
}

/* set_verdict - a final answer for the message: nobody else needs to see it */
static void
set_verdict(MmChildren *children, MmStatus status, const char *reply_code)
{
  MmMessage *message = children->message;
  if (message->verdict != MM_STATUS_NOT_CHANGED)
    return;
  message->verdict = status;
  message->verdict_code = g_strdup(reply_code);
  mm_children_abort_transaction(children);
}

/* answer_mta - give the MTA the answer for the item it waits on. A FINAL answer (the end of
 * message, or a verdict) ends the message: it is detached before the handler runs, since the
 * handler may start the next one, and freed after. */
static void
answer_mta(MmChildren *children, MmStatus status, const char *reply_code, gboolean final)
{
  MmMessage *message = children->message;
  char item = message->mta_waiting;
  message->mta_waiting = 0;
  if (!final) {
    children->handlers->replied(children->user_data, status, reply_code);
    return;
  }
  children->message = NULL;
  mm_children_applicable_transaction_end(children);
  if (message->verdict != MM_STATUS_NOT_CHANGED)
    children->transaction_verdict = message->verdict;
  else
    children->transaction_started = FALSE;
  g_autofree char *code = g_strdup(reply_code);
  if (item != MM_COMMAND_END_OF_MESSAGE) {
    mm_message_free(message);
    children->handlers->replied(children->user_data, status, code);
    return;
  }
  MmMessageEdits edits = {0};
  g_autoptr(GPtrArray) operations = NULL;
  gboolean keeps_edits = status == MM_STATUS_CONTINUE || status == MM_STATUS_ACCEPT;
  if (keeps_edits && is_parallel(children))
    merge_parallel_edits(message);
  if (keeps_edits && message->current) {
    g_autoptr(GError) error = NULL;
    if (!mm_header_list_diff(message->original, message->current, &operations, &error))
      mm_error("[message][headers] cannot compute the header changes: %s", error->message);
  }
  if (operations == NULL)
    operations = g_ptr_array_new();
  edits.header_operations = operations;
  edits.n_original_headers = mm_header_list_length(message->original);
  if (keeps_edits) {
    edits.body = message->current_body;
    edits.change_from = message->change_from;
    edits.change_from_args = message->change_from_args;
    edits.quarantine_reason = message->quarantine;
  }
  children->handlers->message_ended(children->user_data, &edits, status, code);
  mm_message_free(message);
}

/* stopped_here - an applicable condition stops CHILD before COMMAND of the message: it
 * counts as accepting, gets ABORT, and the message moves on to the next child */
static gboolean
stopped_here(MmMessage *message, MmChild *child, MmStopperStage stage,
             const MmStopperArgs *args, char command)
{
  if (mm_child_applies(child, stage, args, NULL) != MM_APPLICABLE_STOP)
    return FALSE;
  child->last_command = command;
  mm_client_session_abort(child->session);
  finish_child(message, child, MM_STATUS_ACCEPT, FALSE);
  return TRUE;
}

/* send_next - give CHILD the next item of the record it has not had yet */
static Sent
send_next(MmChildren *children, MmMessage *message, MmChild *child)
{
  gboolean mta_leading_space =
    (children->mta_option.steps & MM_STEP_HEADER_LEADING_SPACE) != 0;
  const MmHeaderList *headers = message->current ? message->current : message->original;
  MmClientSend sent;
  while (child->header_cursor < mm_header_list_length(headers) &&
         mm_header_is_hidden(mm_header_list_nth(headers, child->header_cursor)))
    child->header_cursor++; /* the MTA never showed it: neither do we */
  if (child->header_cursor < mm_header_list_length(headers)) {
    const MmHeader *header = mm_header_list_nth(headers, child->header_cursor++);
    MmStopperArgs args = {.header_name = header->name, .header_value = header->value};
    if (stopped_here(message, child, MM_STOPPER_HEADER, &args, MM_COMMAND_HEADER))
      return SENT_DONE;
    child->message_item = MM_COMMAND_HEADER;
    sent = mm_client_session_send_header(child->session, header, mta_leading_space,
                                         children->macros);
  } else if (!message->headers_done) {
    return SENT_CAUGHT_UP;
  } else if (message->end_of_header_recorded && !child->end_of_header_sent) {
    child->end_of_header_sent = TRUE;
    MmStopperArgs args = {0};
    if (stopped_here(message, child, MM_STOPPER_END_OF_HEADER, &args,
                     MM_COMMAND_END_OF_HEADER))
      return SENT_DONE;
    child->message_item = MM_COMMAND_END_OF_HEADER;
    sent = mm_client_session_send(child->session, MM_COMMAND_END_OF_HEADER, NULL, 0,
                                  children->macros, child->macro_overrides);
  } else {
    MmBodySpool *body = message->current_body ? message->current_body : message->body;
    guint64 size = body == message->body ? message->body_visible : mm_body_spool_get_size(body);
    if (!child->body_skipped && child->body_cursor < size) {
      gsize max = mm_client_session_get_max_chunk(child->session, children->config->chunk_size);
      max = (gsize)MIN((guint64)max, size - child->body_cursor);
      /* A spool in memory lends its bytes: the buffer is for one spilled to a file. */
      if (message->read_buffer == NULL && mm_body_spool_is_on_disk(body))
        message->read_buffer = g_malloc(MM_DATA_SIZE_1M);
      const guint8 *chunk = NULL;
      gsize length = 0;
      g_autoptr(GError) error = NULL;
      if (!mm_body_spool_read(body, child->body_cursor, message->read_buffer,
                              MIN(max, (gsize)MM_DATA_SIZE_1M), &chunk, &length, &error)) {
        mm_error("[message][body] %s: answering %s", error->message,
                 mm_status_to_string(children->config->fallback_status));
        set_verdict(children, children->config->fallback_status, NULL);
        return SENT_DONE;
      }
      child->body_cursor += length;
      MmStopperArgs args = {.chunk = chunk, .chunk_length = length};
      if (stopped_here(message, child, MM_STOPPER_BODY, &args, MM_COMMAND_BODY))
        return SENT_DONE;
      child->message_item = MM_COMMAND_BODY;
      /* In memory, the chunk goes out by reference to the spool's bytes, which stay as they
       * are however the body grows or ends (body-spool.h). */
      sent = mm_client_session_send_body(child->session, mm_body_spool_get_bytes(body), chunk,
                                         length, children->macros);
    } else if (message->end_of_message_recorded && !child->end_of_message_sent) {
      child->end_of_message_sent = TRUE;
      MmStopperArgs args = {0};
      if (stopped_here(message, child, MM_STOPPER_END_OF_MESSAGE, &args,
                       MM_COMMAND_END_OF_MESSAGE))
        return SENT_DONE;
      child->message_item = MM_COMMAND_END_OF_MESSAGE;
      sent = mm_client_session_send(child->session, MM_COMMAND_END_OF_MESSAGE, NULL, 0,
                                    children->macros, child->macro_overrides);
      if (sent != MM_CLIENT_SEND_WAIT && sent != MM_CLIENT_SEND_DEAD) {
        finish_child(message, child, MM_STATUS_CONTINUE, TRUE);
        return SENT_DONE;
      }
    } else {
      return SENT_CAUGHT_UP;
    }
  }
  return sent == MM_CLIENT_SEND_WAIT ? SENT_WAITING : SENT_DONE;
}

/* feed - give CHILD what it has not had yet, until it waits for a reply, has all the MTA
 * sent so far, or leaves the message */
static void
feed(MmChildren *children, MmMessage *message, MmChild *child)
{
  while (child->in_transaction && !child->gone && !child->waiting &&
         message->verdict == MM_STATUS_NOT_CHANGED) {
    Sent sent = send_next(children, message, child);
    if (sent == SENT_WAITING)
      child->waiting = TRUE;
    else if (sent == SENT_CAUGHT_UP)
      return;
  }
}

/* pump_parallel - every child reads the MTA's message at once; the MTA's item is answered
 * when all of them are done with it (or at once by a final verdict from any of them) */
static void
pump_parallel(MmChildren *children)
{
  MmMessage *message = children->message;
  gboolean anyone = FALSE;
  gboolean busy = FALSE;
  gboolean all_skipped = TRUE;
  for (guint i = 0; i < message->queue->len && message->verdict == MM_STATUS_NOT_CHANGED; i++) {
    MmChild *child = g_ptr_array_index(message->queue, i);
    feed(children, message, child);
    if (!child->in_transaction || child->gone)
      continue;
    anyone = TRUE;
    busy = busy || child->waiting;
    all_skipped = all_skipped && child->body_skipped;
  }
  if (message->verdict != MM_STATUS_NOT_CHANGED) {
    if (message->mta_waiting)
      answer_mta(children, message->verdict, message->verdict_code, TRUE);
    return;
  }
  if (!anyone) {
    /* Nobody needs more of the message: the end of message, or every child accepted. */
    if (message->mta_waiting == MM_COMMAND_END_OF_MESSAGE)
      answer_mta(children, message->everyone_accepted ? MM_STATUS_ACCEPT : MM_STATUS_CONTINUE,
                 NULL, TRUE);
    else if (message->mta_waiting)
      answer_mta(children, MM_STATUS_ACCEPT, NULL, FALSE);
    return;
  }
  if (busy || !message->mta_waiting || message->mta_waiting == MM_COMMAND_END_OF_MESSAGE)
    return;
  /* Skip only when no child wants more body: the MTA would not send it to anyone. */
  gboolean skip = message->mta_waiting == MM_COMMAND_BODY && all_skipped &&
                  (children->mta_option.steps & MM_STEP_SKIP);
  answer_mta(children, skip ? MM_STATUS_SKIP : MM_STATUS_CONTINUE, NULL, FALSE);
}

/* pump - move the message through the children as far as it goes now */
static void
pump(MmChildren *children)
{
  MmMessage *message = children->message;
  if (is_parallel(children)) {
    pump_parallel(children);
    return;
  }
  for (;;) {
    if (message->verdict != MM_STATUS_NOT_CHANGED) {
      if (message->mta_waiting)
        answer_mta(children, message->verdict, message->verdict_code, TRUE);
      return;
    }
    MmChild *head = current_head(message);
    if (head == NULL) {
      /* Nobody needs more of the message: the end of message, or every child accepted. */
      if (message->mta_waiting == MM_COMMAND_END_OF_MESSAGE)
        answer_mta(children, message->everyone_accepted ? MM_STATUS_ACCEPT : MM_STATUS_CONTINUE,
                   NULL, TRUE);
      else if (message->mta_waiting)
        answer_mta(children, MM_STATUS_ACCEPT, NULL, FALSE);
      return;
    }
    if (head->waiting)
      return;
    Sent sent = send_next(children, message, head);
    if (sent == SENT_WAITING) {
      head->waiting = TRUE;
      return;
    }
    if (sent == SENT_DONE)
      continue;
    /* The head has all the MTA sent so far: answer the item the MTA waits on. */
    if (message->mta_waiting && message->mta_waiting != MM_COMMAND_END_OF_MESSAGE) {
      gboolean skip = message->mta_waiting == MM_COMMAND_BODY && head->body_skipped &&
                      is_last(message, head) &&
                      (children->mta_option.steps & MM_STEP_SKIP);
      answer_mta(children, skip ? MM_STATUS_SKIP : MM_STATUS_CONTINUE, NULL, FALSE);
    }
    return;
  }
}

/* mm_message_child_replied - the child whose turn it is answered an item */
void
mm_message_child_replied(MmChildren *children, MmChild *child, MmStatus status,
                         const char *reply_code)
{
  MmMessage *message = children->message;
  if (!child->waiting)
    return;
  child->waiting = FALSE;
  mm_child_note_reply(child, child->message_item, status);
  MmStatus counted = mm_child_evaluated_status(child, status);
  if (counted >= MM_STATUS_TEMPORARY_FAILURE) {
    set_verdict(children, counted, reply_code);
  } else if (status >= MM_STATUS_TEMPORARY_FAILURE) {
    /* An evaluation-mode child said no: only it leaves; the others still see the message. */
    finish_child(message, child, MM_STATUS_ACCEPT, FALSE);
  } else if (status == MM_STATUS_SKIP) {
    child->body_skipped = TRUE;
  } else if (status == MM_STATUS_ACCEPT) {
    finish_child(message, child, MM_STATUS_ACCEPT, TRUE);
  } else if (child->end_of_message_sent) {
    finish_child(message, child, MM_STATUS_CONTINUE, TRUE);
  }
  pump(children);
}

/* staged_headers - the child's own copy of the headers, made at its first header edit */
static MmHeaderList *
staged_headers(MmMessage *message, MmChild *child)
{
  if (child->staged_headers == NULL)
    child->staged_headers = mm_header_list_copy(message->current ? message->current
                                                                 : message->original);
  return child->staged_headers;
}

/* mm_message_child_modified - an edit at end of message, kept until the child finishes */
void
mm_message_child_modified(MmChildren *children, MmChild *child, const MmReply *reply)
{
  MmMessage *message = children->message;
  if (reply->code == MM_REPLY_ADD_HEADER && mm_log_is_enabled(MM_LOG_LEVEL_STATISTICS)) {
    /* Logged even for an evaluation-mode child: the graphs count what it found. */
    g_autofree char *line = mm_statistics_format_header_add(
      (guint)children->tag, reply->u.header.name, reply->u.header.value, child->milter->name);
    mm_statistics("%s", line);
  }
  if (child->milter->evaluation_mode) {
    mm_debug("[evaluation] %s: modification '%c' ignored", child->milter->name, reply->code);
    return;
  }
  gboolean mta_leading_space = (children->mta_option.steps & MM_STEP_HEADER_LEADING_SPACE) != 0;
  const MmOption *option = mm_client_session_get_option(child->session);
  gboolean child_leading_space = option && (option->steps & MM_STEP_HEADER_LEADING_SPACE);
  g_autoptr(GError) error = NULL;
  g_autofree char *value = NULL;
  switch (reply->code) {
  case MM_REPLY_ADD_HEADER:
  case MM_REPLY_INSERT_HEADER:
  case MM_REPLY_CHANGE_HEADER: {
    value = mm_header_list_translate_value(reply->u.header.value, child_leading_space,
                                           mta_leading_space);
    if (is_parallel(children)) {
      mm_message_parallel_record_header_edit(child, reply->code, reply->u.header.name,
                                             reply->u.header.index, value);
      break;
    }
    MmHeaderList *headers = staged_headers(message, child);
    gboolean done =
      reply->code == MM_REPLY_ADD_HEADER
        ? mm_header_list_add(headers, reply->u.header.name, value, &error)
      : reply->code == MM_REPLY_INSERT_HEADER
        ? mm_header_list_insert(headers, reply->u.header.index, reply->u.header.name, value,
                                &error)
        : mm_header_list_change(headers, reply->u.header.name, reply->u.header.index, value,
                                &error);
    if (!done)
      mm_warning("[child][header] %s (%s): header edit ignored: %s", child->milter->name,
                 child->milter->connection_spec, error->message);
    break;
  }
  case MM_REPLY_REPLACE_BODY:
    if (child->staged_body == NULL)
      child->staged_body = mm_body_spool_new(children->config->body_memory_limit, NULL);
    if (!mm_body_spool_append(child->staged_body, reply->u.body.data, reply->u.body.length,
                              &error)) {
      mm_error("[child][body] %s: %s: its new body is dropped", child->milter->name,
               error->message);
      g_clear_pointer(&child->staged_body, mm_body_spool_free);
    }
    break;
  case MM_REPLY_CHANGE_FROM:
    g_free(child->staged_change_from);
    g_free(child->staged_change_from_args);
    child->staged_change_from = g_strdup(reply->u.address.address);
    child->staged_change_from_args = g_strdup(reply->u.address.args);
    break;
  case MM_REPLY_QUARANTINE:
    g_free(child->staged_quarantine);
    child->staged_quarantine = g_strdup(reply->u.quarantine.reason);
    break;
  case MM_REPLY_ADD_RCPT:
  case MM_REPLY_ADD_RCPT_WITH_ARGS:
    children->handlers->recipient_added(children->user_data, reply->u.address.address,
                                        reply->u.address.args);
    break;
  case MM_REPLY_DELETE_RCPT:
    children->handlers->recipient_deleted(children->user_data, reply->u.address.address);
    break;
  default:
    break;
  }
}

/* mm_message_child_progressed - pass a child's progress on while the MTA waits for the end */
void
mm_message_child_progressed(MmChildren *children, MmChild *child)
{
  if (children->message->mta_waiting == MM_COMMAND_END_OF_MESSAGE)
    children->handlers->progressed(children->user_data);
}

/* mm_message_child_failed - a child of the message failed: its fallback stands for it */
void
mm_message_child_failed(MmChildren *children, MmChild *child)
{
  MmMessage *message = children->message;
  MmStatus fallback = mm_child_evaluated_status(child, child->milter->fallback_status);
  if (fallback > MM_STATUS_ACCEPT)
    set_verdict(children, fallback, NULL);
  else
    finish_child(message, child, MM_STATUS_ACCEPT, FALSE);
  pump(children);
}

/* item_arrived - the MTA sent an item of the message and waits for its answer */
static void
item_arrived(MmChildren *children, char item)
{
  MmMessage *message = children->message;
  message->mta_waiting = item;
  pump(children);
}

/* answer_after_verdict - an item for a message that already has its answer */
static gboolean
answer_after_verdict(MmChildren *children, char item)
{
  if (children->transaction_verdict == MM_STATUS_NOT_CHANGED || children->message)
    return FALSE;
  if (item == MM_COMMAND_END_OF_MESSAGE) {
    /* The transaction is over: what follows (the next MAIL, or RCPT from an MTA that sends
     * no MAIL) starts a new one. */
    MmStatus verdict = children->transaction_verdict;
    children->transaction_verdict = MM_STATUS_NOT_CHANGED;
    children->transaction_started = FALSE;
    g_autoptr(GPtrArray) none = g_ptr_array_new();
    MmMessageEdits edits = {.header_operations = none};
    children->handlers->message_ended(children->user_data, &edits, verdict, NULL);
  } else {
    children->handlers->replied(children->user_data, children->transaction_verdict, NULL);
  }
  return TRUE;
}

/* fail_message - the message cannot be recorded (a limit): the configured fallback answers */
static void
fail_message(MmChildren *children, const GError *error, char item)
{
  mm_error("[message][error] %s: answering %s", error->message,
           mm_status_to_string(children->config->fallback_status));
  set_verdict(children, children->config->fallback_status, NULL);
  item_arrived(children, item);
}

/* mm_children_header - a header of the message */
void
mm_children_header(MmChildren *children, const char *name, const char *value)
{
  if (answer_after_verdict(children, MM_COMMAND_HEADER))
    return;
  MmMessage *message = ensure_message(children);
  g_autoptr(GError) error = NULL;
  if (!mm_header_list_append_original(message->original, name, value, &error)) {
    fail_message(children, error, MM_COMMAND_HEADER);
    return;
  }
  item_arrived(children, MM_COMMAND_HEADER);
}

/* mm_children_end_of_header - the headers are complete */
void
mm_children_end_of_header(MmChildren *children)
{
  if (answer_after_verdict(children, MM_COMMAND_END_OF_HEADER))
    return;
  MmMessage *message = ensure_message(children);
  message->headers_done = TRUE;
  message->end_of_header_recorded = TRUE;
  item_arrived(children, MM_COMMAND_END_OF_HEADER);
}

/* record_body - append body bytes to the record (DATA NULL: they are there already) */
static gboolean
record_body(MmChildren *children, const guint8 *data, gsize length, char item)
{
  MmMessage *message = children->message;
  message->headers_done = TRUE;
  g_autoptr(GError) error = NULL;
  if (data != NULL && !mm_body_spool_append(message->body, data, length, &error)) {
    fail_message(children, error, item);
    return FALSE;
  }
  message->body_visible += length;
  return TRUE;
}

/* mm_children_body_ahead - keep body bytes that arrived before their BODY item's turn */
gboolean
mm_children_body_ahead(MmChildren *children, const guint8 *data, gsize length)
{
  MmMessage *message = children->message;
  /* Only in memory, where appending cannot fail half-way: a failed append is the item's to
   * report, when its turn comes. */
  if (message == NULL || message->verdict != MM_STATUS_NOT_CHANGED)
    return FALSE;
  return mm_body_spool_append_in_memory(message->body, data, length);
}

/* mm_children_body - a body chunk */
void
mm_children_body(MmChildren *children, const guint8 *data, gsize length)
{
  if (answer_after_verdict(children, MM_COMMAND_BODY))
    return;
  g_return_if_fail(data != NULL || length == 0 || children->message != NULL);
  ensure_message(children);
  if (record_body(children, data, length, MM_COMMAND_BODY))
    item_arrived(children, MM_COMMAND_BODY);
}

/* mm_children_end_of_message - the end of the message, with an optional last chunk */
void
mm_children_end_of_message(MmChildren *children, const guint8 *data, gsize length)
{
  if (answer_after_verdict(children, MM_COMMAND_END_OF_MESSAGE))
    return;
  MmMessage *message = ensure_message(children);
  if (!record_body(children, data, length, MM_COMMAND_END_OF_MESSAGE))
    return;
  message->end_of_message_recorded = TRUE;
  item_arrived(children, MM_COMMAND_END_OF_MESSAGE);
}
