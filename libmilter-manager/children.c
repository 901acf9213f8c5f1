/* SPDX-License-Identifier: GPL-3.0-or-later */
/* children.c: the children of one MTA session: negotiation with every child at once, and the
 * parallel steps (CONNECT, HELO, MAIL, RCPT, DATA, UNKNOWN) with their merge rules. */
#include "children-private.h"

#include "event-loop.h"
#include "log.h"
#include "negotiation.h"
#include "protocol.h"
#include "statistics.h"

static void on_negotiated(gpointer user_data, const MmOption *option);
static void on_replied(gpointer user_data, MmStatus status, const char *reply_code);
static void on_modified(gpointer user_data, const MmReply *reply);
static void on_progressed(gpointer user_data);
static void on_failed(gpointer user_data, const GError *error);

static const MmClientSessionHandlers child_handlers = {
  .negotiated = on_negotiated,
  .replied = on_replied,
  .modified = on_modified,
  .progressed = on_progressed,
  .failed = on_failed,
};

/* elapsed_seconds - since the children of the session started */
static double
elapsed_seconds(const MmChildren *children)
{
  return (double)(g_get_monotonic_time() - children->started_at) / G_USEC_PER_SEC;
}

/* log_child_end - the [statistics] line of a child's part in the session, as 2.3 writes it */
static void
log_child_end(const MmChild *child)
{
  if (!mm_log_is_enabled(MM_LOG_LEVEL_STATISTICS))
    return;
  MmStatisticsResult result = child->failed    ? MM_STATISTICS_RESULT_ERROR
                              : child->stopped ? MM_STATISTICS_RESULT_STOP
                                               : mm_statistics_result_from_status(child->last_status);
  MmStatisticsState state = child->last_command
                              ? mm_statistics_state_from_command(child->last_command)
                              : MM_STATISTICS_STATE_NEGOTIATE;
  g_autofree char *line =
    mm_statistics_format_child_end(state, result, elapsed_seconds(child->children),
                                   (guint)child->children->tag, child->milter->name);
  mm_statistics("%s", line);
}

/* child_free - release one child, logging its part in the session */
static void
child_free(gpointer data)
{
  MmChild *child = data;
  log_child_end(child);
  mm_monitor_child_session_ended(child->monitor);
  mm_client_session_free(child->session);
  mm_message_child_reset(child);
  g_free(child->step_reply_code);
  if (child->macro_overrides)
    g_hash_table_unref(child->macro_overrides);
  g_free(child);
}

/* mm_child_note_reply - remember a child's verdict (for conditions and statistics) */
void
mm_child_note_reply(MmChild *child, char command, MmStatus status)
{
  child->last_status = status;
  child->last_command = command;
  mm_monitor_child_replied(child->monitor, command, status,
                           mm_client_session_get_reply_latency(child->session));
}

/* mm_children_new - one child per enabled milter of CONFIG */
MmChildren *
mm_children_new(MmConfig *config, const MmMacros *macros, guint64 tag,
                const MmChildrenHandlers *handlers, gpointer user_data)
{
  MmChildren *children = g_new0(MmChildren, 1);
  children->config = mm_config_ref(config);
  children->tag = tag;
  children->started_at = g_get_monotonic_time();
  children->macros = macros;
  children->handlers = handlers;
  children->user_data = user_data;
  children->all = g_ptr_array_new_full(config->milters->len, child_free);
  mm_option_init(&children->mta_offer);
  mm_option_init(&children->mta_option);
  for (guint i = 0; i < config->milters->len; i++) {
    const MmMilterConfig *milter = g_ptr_array_index(config->milters, i);
    if (!milter->enabled)
      continue;
    if (milter->connection_spec == NULL) {
      mm_error("[children][error] %s: no connection_spec is defined: not used", milter->name);
      continue;
    }
    MmChild *child = g_new0(MmChild, 1);
    child->children = children;
    child->milter = milter;
    child->index = children->all->len;
    child->session = mm_client_session_new(milter, &child_handlers, child);
    child->monitor = mm_monitor_get_child(mm_monitor_get_default(), milter->name,
                                          milter->connection_spec);
    mm_monitor_child_session_started(child->monitor);
    g_ptr_array_add(children->all, child);
  }
  mm_children_applicable_begin(children);
  return children;
}

/* mm_children_free - close every child without a word */
void
mm_children_free(MmChildren *children)
{
  if (children == NULL)
    return;
  if (children->deferred_source)
    g_source_remove(children->deferred_source);
  /* Conditions first: a pending answer is cancelled before its child goes. */
  mm_children_applicable_end(children);
  mm_message_free(children->message);
  g_ptr_array_unref(children->all);
  if (children->step_packet)
    g_byte_array_unref(children->step_packet);
  mm_option_clear(&children->mta_offer);
  mm_option_clear(&children->mta_option);
  mm_config_unref(children->config);
  g_free(children);
}

/* mm_child_evaluated_status - what a verdict counts as: an evaluation-mode child's reject,
 * temporary failure or discard never reaches the MTA */
MmStatus
mm_child_evaluated_status(const MmChild *child, MmStatus status)
{
  if (child->milter->evaluation_mode && status >= MM_STATUS_TEMPORARY_FAILURE) {
    mm_info("[evaluation] %s (%s): would have answered %s", child->milter->name,
            child->milter->connection_spec, mm_status_to_string(status));
    return MM_STATUS_ACCEPT;
  }
  return status;
}

/* log_failure - the one log line for a failed child: name, spec, stage, cause */
static void
log_failure(const MmChild *child, const GError *error, MmStatus fallback)
{
  mm_error("[child][error] %s (%s): %s; fallback status: %s", child->milter->name,
           child->milter->connection_spec, error->message, mm_status_to_string(fallback));
}

/* ---- negotiation ------------------------------------------------------------------- */

static gboolean finish_negotiation_deferred(gpointer user_data);

/* mm_children_negotiate - offer the MTA's options to every child at once */
void
mm_children_negotiate(MmChildren *children, const MmOption *mta_offer)
{
  mm_option_clear(&children->mta_offer);
  mm_option_copy(&children->mta_offer, mta_offer);
  MmOption offer;
  mm_option_init(&offer);
  mm_negotiation_offer_for_children(mta_offer, &offer);
  children->step = MM_COMMAND_NEGOTIATE;
  children->n_negotiating = children->all->len;
  for (guint i = 0; i < children->all->len; i++) {
    MmChild *child = g_ptr_array_index(children->all, i);
    mm_client_session_negotiate(child->session, &offer);
  }
  mm_option_clear(&offer);
  /* With no child to ask, answer from the main loop like any other negotiation. */
  if (children->n_negotiating == 0)
    children->deferred_source = mm_event_loop_defer(finish_negotiation_deferred, children);
}

/* finish_negotiation - every child answered or failed: answer the MTA */
static void
finish_negotiation(MmChildren *children)
{
  children->negotiation_done = TRUE;
  children->step = 0;
  MmStatus strongest_fallback = MM_STATUS_NOT_CHANGED;
  GPtrArray *options = g_ptr_array_new();
  for (guint i = 0; i < children->all->len; i++) {
    MmChild *child = g_ptr_array_index(children->all, i);
    if (child->negotiated && !child->gone)
      g_ptr_array_add(options, (gpointer)mm_client_session_get_option(child->session));
    else
      strongest_fallback = mm_status_merge(
        strongest_fallback, mm_child_evaluated_status(child, child->milter->fallback_status));
  }
  /* A child that cannot negotiate and whose fallback is not accept decides the session. */
  if (strongest_fallback > MM_STATUS_ACCEPT) {
    children->session_status = strongest_fallback;
    mm_warning("[children][negotiate] a child failed to negotiate: every step of this session "
               "is answered %s", mm_status_to_string(strongest_fallback));
    for (guint i = 0; i < children->all->len; i++) {
      MmChild *child = g_ptr_array_index(children->all, i);
      mm_client_session_quit(child->session);
      child->gone = TRUE;
    }
    g_ptr_array_set_size(options, 0);
  }
  MmOption reply;
  mm_option_init(&reply);
  if (options->len == 0 && children->session_status == MM_STATUS_NOT_CHANGED) {
    /* Nobody to ask: answer everything at once by asking the MTA for no events at all. */
    MmStatus fallback = children->all->len > 0 ? children->config->fallback_status
                                               : MM_STATUS_ACCEPT;
    if (fallback == MM_STATUS_ACCEPT) {
      mm_option_copy(&reply, &children->mta_offer);
      reply.version = MIN(reply.version, MM_PROTOCOL_VERSION_MAX);
      reply.actions = 0;
      reply.steps = children->mta_offer.steps & MM_STEP_NO_EVENT_MASK;
    } else {
      children->session_status = fallback;
    }
  }
  if (reply.version == 0)
    mm_negotiation_merge(&children->mta_offer, (const MmOption *const *)options->pdata,
                         options->len, 0, &reply);
  g_ptr_array_unref(options);
  children->handlers->negotiated(children->user_data, &reply);
  mm_option_clear(&reply);
}

/* finish_negotiation_deferred - the negotiation of a session without children */
static gboolean
finish_negotiation_deferred(gpointer user_data)
{
  MmChildren *children = user_data;
  children->deferred_source = 0;
  finish_negotiation(children);
  return G_SOURCE_REMOVE;
}

/* on_negotiated - one child accepted our offer */
static void
on_negotiated(gpointer user_data, const MmOption *option)
{
  MmChild *child = user_data;
  MmChildren *children = child->children;
  child->negotiated = TRUE;
  mm_monitor_child_connected(child->monitor);
  mm_debug("[child][negotiate] %s: version %u", child->milter->name, option->version);
  if (--children->n_negotiating == 0)
    finish_negotiation(children);
}

/* mm_children_set_mta_option - what was agreed with the MTA */
void
mm_children_set_mta_option(MmChildren *children, const MmOption *agreed)
{
  mm_option_clear(&children->mta_option);
  mm_option_copy(&children->mta_option, agreed);
}

/* ---- parallel steps ---------------------------------------------------------------- */

/* child_takes_part - whether CHILD gets the step in progress */
static gboolean
child_takes_part(const MmChildren *children, const MmChild *child)
{
  if (child->gone || !child->negotiated)
    return FALSE;
  switch (children->step) {
  case MM_COMMAND_CONNECT:
  case MM_COMMAND_HELO:
  case MM_COMMAND_MAIL:
  case MM_COMMAND_UNKNOWN:
    return TRUE;
  case MM_COMMAND_RCPT: {
    if (!child->in_transaction)
      return FALSE;
    const MmOption *option = mm_client_session_get_option(child->session);
    return !children->rcpt_rejected || (option->steps & MM_STEP_RCPT_REJECTED);
  }
  case MM_COMMAND_DATA:
    return child->in_transaction && child->has_accepted_rcpt;
  default:
    return FALSE;
  }
}

/* apply_child_effect - what a child's own verdict does to its part in the session */
static void
apply_child_effect(MmChildren *children, MmChild *child, MmStatus real)
{
  switch (children->step) {
  case MM_COMMAND_CONNECT:
  case MM_COMMAND_HELO:
    /* Anything but continue ends the child's part in this SMTP session. */
    if (real != MM_STATUS_CONTINUE) {
      mm_client_session_quit(child->session);
      child->gone = TRUE;
    }
    break;
  case MM_COMMAND_MAIL:
  case MM_COMMAND_DATA:
    if (real != MM_STATUS_CONTINUE)
      child->in_transaction = FALSE;
    break;
  case MM_COMMAND_RCPT:
    if (real == MM_STATUS_CONTINUE)
      child->has_accepted_rcpt = TRUE;
    else if (real == MM_STATUS_ACCEPT)
      child->in_transaction = FALSE; /* accepted the whole message, as Postfix reads it */
    break;
  default:
    break;
  }
}

/* record_step_reply - one child's answer to the parallel step */
static void
record_step_reply(MmChildren *children, MmChild *child, MmStatus real, const char *reply_code)
{
  if ((children->step == MM_COMMAND_CONNECT || children->step == MM_COMMAND_HELO) &&
      real == MM_STATUS_DISCARD) {
    /* Discard means nothing before a message exists; MTAs ignore it there. */
    mm_warning("[child][discard] %s: discard at %s is not allowed: the child is dropped",
               child->milter->name, mm_command_name(children->step));
    real = MM_STATUS_ACCEPT;
  }
  mm_child_note_reply(child, children->step, real);
  child->step_status = mm_child_evaluated_status(child, real);
  g_free(child->step_reply_code);
  child->step_reply_code = child->step_status == real ? g_strdup(reply_code) : NULL;
  apply_child_effect(children, child, real);
}

/* merged_reply_code - the code of the first child (configuration order) that gave STATUS */
static const char *
merged_reply_code(const MmChildren *children, MmStatus status)
{
  for (guint i = 0; i < children->all->len; i++) {
    const MmChild *child = g_ptr_array_index(children->all, i);
    if (child->step_status == status && child->step_reply_code)
      return child->step_reply_code;
  }
  return NULL;
}

/* answer_without_children - the answer when no child takes part in a step */
static MmStatus
answer_without_children(const MmChildren *children)
{
  for (guint i = 0; i < children->all->len; i++) {
    const MmChild *child = g_ptr_array_index(children->all, i);
    if (!child->gone)
      return MM_STATUS_ACCEPT; /* alive children are simply done with this part */
  }
  return children->n_failed > 0 ? children->config->fallback_status : MM_STATUS_ACCEPT;
}

static MmStatus session_answer(const MmChildren *children, char step);

/* finish_step - every child answered: send the merged answer */
static void
finish_step(MmChildren *children)
{
  MmStatus merged = MM_STATUS_NOT_CHANGED;
  for (guint i = 0; i < children->all->len; i++) {
    const MmChild *child = g_ptr_array_index(children->all, i);
    merged = mm_status_merge(merged, child->step_status);
  }
  char step = children->step;
  if (children->discard_session) {
    /* As for a child failing at negotiation: the session's messages will be discarded. */
    children->session_status = MM_STATUS_DISCARD;
    for (guint i = 0; i < children->all->len; i++) {
      MmChild *child = g_ptr_array_index(children->all, i);
      mm_client_session_quit(child->session);
      child->gone = TRUE;
    }
    if (merged == MM_STATUS_NOT_CHANGED)
      merged = session_answer(children, step);
  }
  if (merged == MM_STATUS_NOT_CHANGED)
    merged = answer_without_children(children);
  const char *reply_code = merged_reply_code(children, merged);
  children->step = 0;
  gboolean ends_transaction =
    merged == MM_STATUS_DISCARD ||
    ((merged == MM_STATUS_REJECT || merged == MM_STATUS_TEMPORARY_FAILURE) &&
     (step == MM_COMMAND_MAIL || step == MM_COMMAND_DATA));
  if (ends_transaction)
    mm_children_abort_transaction(children);
  children->handlers->replied(children->user_data, merged, reply_code);
}

/* step_reply_arrived - count one answer; finish when it was the last */
static void
step_reply_arrived(MmChildren *children)
{
  children->n_waiting--;
  if (children->n_waiting == 0 && !children->dispatching)
    finish_step(children);
}

/* session_answer - the answer of a session decided at negotiation, for STEP */
static MmStatus
session_answer(const MmChildren *children, char step)
{
  /* Discard is only meaningful for a message; before it, let the session go on. */
  if (children->session_status == MM_STATUS_DISCARD &&
      (step == MM_COMMAND_CONNECT || step == MM_COMMAND_HELO || step == MM_COMMAND_UNKNOWN))
    return MM_STATUS_CONTINUE;
  return children->session_status;
}

/* start_transaction_without_mail - the MTA agreed not to send MAIL (every child asked for
 * no MAIL): its first RCPT or DATA starts the transaction, with every child still here */
static void
start_transaction_without_mail(MmChildren *children, gboolean mta_sends_rcpt)
{
  mm_message_free(children->message);
  children->message = NULL;
  children->transaction_started = TRUE;
  children->transaction_verdict = MM_STATUS_NOT_CHANGED;
  for (guint i = 0; i < children->all->len; i++) {
    MmChild *child = g_ptr_array_index(children->all, i);
    if (child->negotiated && !child->gone) {
      child->in_transaction = TRUE;
      child->has_accepted_rcpt = !mta_sends_rcpt;
    }
  }
}

/* stop_child_in_step - an applicable condition stopped CHILD at the parallel step: out for
 * the session at CONNECT/HELO, out of the message at MAIL and DATA (the child counts as
 * accepting there), this recipient skipped at RCPT; a neutral answer otherwise */
static void
stop_child_in_step(MmChildren *children, MmChild *child)
{
  child->last_command = children->step;
  switch (children->step) {
  case MM_COMMAND_CONNECT:
  case MM_COMMAND_HELO:
    child->step_status = MM_STATUS_ACCEPT;
    mm_client_session_quit(child->session);
    child->gone = TRUE;
    break;
  case MM_COMMAND_MAIL:
    child->in_transaction = FALSE;
    break;
  case MM_COMMAND_DATA:
    child->step_status = MM_STATUS_ACCEPT;
    mm_client_session_abort(child->session);
    child->in_transaction = FALSE;
    break;
  default:
    break;
  }
}

/* send_step - give CHILD the step's command; TRUE when its reply is due */
static gboolean
send_step(MmChildren *children, MmChild *child, const guint8 *data, gsize length)
{
  if (children->step == MM_COMMAND_MAIL) {
    child->in_transaction = TRUE;
    /* Without RCPT events from the MTA, every recipient counts as accepted. */
    child->has_accepted_rcpt = (children->mta_option.steps & MM_STEP_NO_RCPT) != 0;
  }
  MmClientSend sent = mm_client_session_send(child->session, children->step, data, length,
                                             children->macros, child->macro_overrides);
  if (sent == MM_CLIENT_SEND_WAIT)
    return TRUE;
  if (sent != MM_CLIENT_SEND_DEAD)
    record_step_reply(children, child, MM_STATUS_CONTINUE, NULL);
  return FALSE;
}

/* on_stop_decided - the conditions of a child answered late (they waited for DNS) */
static void
on_stop_decided(gpointer user_data, gboolean stop)
{
  MmChild *child = user_data;
  MmChildren *children = child->children;
  child->pending_stop = FALSE;
  if (!child->waiting || child->gone)
    return;
  if (stop) {
    stop_child_in_step(children, child);
  } else if (send_step(children, child, children->step_packet->data,
                       children->step_packet->len)) {
    return; /* still waiting, now for the child's own reply */
  }
  child->waiting = FALSE;
  step_reply_arrived(children);
}

/* mm_children_step - a parallel step */
void
mm_children_step(MmChildren *children, const MmCommand *command, const guint8 *data,
                 gsize length)
{
  char step = command->code;
  if (children->session_status != MM_STATUS_NOT_CHANGED) {
    children->handlers->replied(children->user_data, session_answer(children, step), NULL);
    return;
  }
  gboolean mta_sends_rcpt = (children->mta_option.steps & MM_STEP_NO_RCPT) == 0;
  if (step == MM_COMMAND_MAIL && children->transaction_started)
    mm_children_applicable_transaction_end(children);
  if ((step == MM_COMMAND_RCPT || step == MM_COMMAND_DATA) && !children->transaction_started &&
      (children->mta_option.steps & MM_STEP_NO_MAIL))
    start_transaction_without_mail(children, mta_sends_rcpt);
  if (step == MM_COMMAND_MAIL) {
    mm_message_free(children->message);
    children->message = NULL;
    children->transaction_started = TRUE;
    children->transaction_verdict = MM_STATUS_NOT_CHANGED;
  }
  children->step = step;
  children->rcpt_rejected = FALSE;
  if (step == MM_COMMAND_RCPT) {
    const char *mailer = mm_macros_lookup(children->macros, MM_COMMAND_RCPT, "rcpt_mailer");
    children->rcpt_rejected = mailer && g_str_equal(mailer, "error");
  }
  MmStopperArgs stopper_args;
  MmStopperStage stopper_stage;
  mm_stopper_args_from_command(command, &stopper_args, &stopper_stage);
  if (children->applicable_state) {
    /* A child whose conditions answer later gets the command then: keep a copy. */
    if (children->step_packet == NULL)
      children->step_packet = g_byte_array_new();
    g_byte_array_set_size(children->step_packet, 0);
    if (length > 0)
      g_byte_array_append(children->step_packet, data, (guint)length);
  }
  children->dispatching = TRUE;
  for (guint i = 0; i < children->all->len; i++) {
    MmChild *child = g_ptr_array_index(children->all, i);
    child->step_status = MM_STATUS_NOT_CHANGED;
    g_clear_pointer(&child->step_reply_code, g_free);
    if (step == MM_COMMAND_DATA && child->in_transaction && !child->has_accepted_rcpt) {
      /* It refused every recipient: the message is none of its business. */
      mm_client_session_abort(child->session);
      child->in_transaction = FALSE;
    }
    if (!child_takes_part(children, child))
      continue;
    MmApplicableAnswer answer = MM_APPLICABLE_APPLY;
    if (stopper_stage != MM_STOPPER_COUNT)
      answer = mm_child_applies(child, stopper_stage, &stopper_args, on_stop_decided);
    if (answer == MM_APPLICABLE_STOP) {
      stop_child_in_step(children, child);
    } else if (answer == MM_APPLICABLE_PENDING) {
      child->pending_stop = TRUE;
      child->waiting = TRUE;
      children->n_waiting++;
    } else if (send_step(children, child, data, length)) {
      child->waiting = TRUE;
      children->n_waiting++;
    }
  }
  children->dispatching = FALSE;
  if (children->n_waiting == 0 && children->step == step)
    finish_step(children);
}

/* ---- child events ------------------------------------------------------------------ */

/* on_replied - a child answered */
static void
on_replied(gpointer user_data, MmStatus status, const char *reply_code)
{
  MmChild *child = user_data;
  MmChildren *children = child->children;
  if (children->message) {
    mm_message_child_replied(children, child, status, reply_code);
    return;
  }
  if (!child->waiting)
    return;
  child->waiting = FALSE;
  record_step_reply(children, child, status, reply_code);
  step_reply_arrived(children);
}

/* on_modified - a modification at end of message */
static void
on_modified(gpointer user_data, const MmReply *reply)
{
  MmChild *child = user_data;
  if (child->children->message)
    mm_message_child_modified(child->children, child, reply);
}

/* on_progressed - a child is still working on the end of message */
static void
on_progressed(gpointer user_data)
{
  MmChild *child = user_data;
  if (child->children->message)
    mm_message_child_progressed(child->children, child);
}

/* on_failed - a child is unusable: its fallback status stands for its answer */
static void
on_failed(gpointer user_data, const GError *error)
{
  MmChild *child = user_data;
  MmChildren *children = child->children;
  MmStatus fallback = child->milter->fallback_status;
  log_failure(child, error, fallback);
  if (g_error_matches(error, MM_CLIENT_SESSION_ERROR, MM_CLIENT_SESSION_ERROR_CONNECT) ||
      g_error_matches(error, MM_CLIENT_SESSION_ERROR, MM_CLIENT_SESSION_ERROR_SPEC))
    mm_monitor_child_connect_failed(child->monitor, error->message);
  else
    mm_monitor_child_error(child->monitor, error->message);
  child->failed = TRUE;
  child->last_command = children->step ? children->step : child->last_command;
  gboolean was_gone = child->gone;
  child->gone = TRUE;
  if (!was_gone)
    children->n_failed++;
  if (!child->negotiated && !children->negotiation_done) {
    if (--children->n_negotiating == 0)
      finish_negotiation(children);
    return;
  }
  if (children->message) {
    if (child->in_transaction)
      mm_message_child_failed(children, child);
    return;
  }
  if (child->waiting && child->pending_stop) {
    /* Its conditions had not answered yet: it simply drops out of the step. */
    child->waiting = FALSE;
    step_reply_arrived(children);
    return;
  }
  if (child->waiting) {
    child->waiting = FALSE;
    /* The fallback is the child's answer: in evaluation mode it never reaches the MTA. */
    fallback = mm_child_evaluated_status(child, fallback);
    child->step_status = fallback;
    if (fallback == MM_STATUS_DISCARD &&
        (children->step == MM_COMMAND_CONNECT || children->step == MM_COMMAND_HELO ||
         children->step == MM_COMMAND_UNKNOWN) && !children->transaction_started) {
      /* Discard means nothing before a message (MTAs refuse it there): it applies to the
       * session's messages instead, as when a child fails at negotiation. */
      child->step_status = MM_STATUS_NOT_CHANGED;
      children->discard_session = TRUE;
    }
    step_reply_arrived(children);
  }
}

/* ---- transaction and session ends -------------------------------------------------- */

/* mm_children_abort_transaction - every child in the transaction gets ABORT */
void
mm_children_abort_transaction(MmChildren *children)
{
  for (guint i = 0; i < children->all->len; i++) {
    MmChild *child = g_ptr_array_index(children->all, i);
    if (child->in_transaction && !child->gone)
      mm_client_session_abort(child->session);
    child->in_transaction = FALSE;
    child->waiting = FALSE;
    mm_message_child_reset(child);
  }
}

/* mm_children_abort - the MTA ended the transaction */
void
mm_children_abort(MmChildren *children)
{
  mm_children_abort_transaction(children);
  if (children->transaction_started)
    mm_children_applicable_transaction_end(children);
  mm_message_free(children->message);
  children->message = NULL;
  children->transaction_started = FALSE;
  children->transaction_verdict = MM_STATUS_NOT_CHANGED;
  children->step = 0;
  children->n_waiting = 0;
}

/* mm_children_quit - every child gets QUIT */
void
mm_children_quit(MmChildren *children)
{
  for (guint i = 0; i < children->all->len; i++) {
    MmChild *child = g_ptr_array_index(children->all, i);
    mm_client_session_quit(child->session);
    child->gone = TRUE;
  }
  mm_message_free(children->message);
  children->message = NULL;
  children->step = 0;
  children->n_waiting = 0;
}

