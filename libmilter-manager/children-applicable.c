/* SPDX-License-Identifier: GPL-3.0-or-later */
/* children-applicable.c: the children's side of the applicable conditions (applicable.h): the
 * session as conditions see it, and asking the engine whether a child applies at a stage. */
#include "children-private.h"

#include <string.h>

#include "log.h"
#include "monitor.h"
#include "protocol.h"

/* An MmApplicableSession is the MmChildren itself, seen through this class. */
#define CHILDREN_OF(session) ((MmChildren *)(session))

/* find_child - the child named NAME, or NULL */
static MmChild *
find_child(MmChildren *children, const char *name)
{
  for (guint i = 0; i < children->all->len; i++) {
    MmChild *child = g_ptr_array_index(children->all, i);
    if (g_str_equal(child->milter->name, name))
      return child;
  }
  return NULL;
}

/* session_lookup_macro - a macro the MTA sent, latest definition first */
static const char *
session_lookup_macro(MmApplicableSession *session, const char *name)
{
  return mm_macros_lookup(CHILDREN_OF(session)->macros, 0, name);
}

/* session_set_macro - context["name"] = value: sent to that child only, from now on */
static void
session_set_macro(MmApplicableSession *session, const char *child_name, const char *name,
                  const char *value)
{
  MmChild *child = find_child(CHILDREN_OF(session), child_name);
  if (child == NULL || name == NULL || *name == '\0')
    return;
  if (child->macro_overrides == NULL)
    child->macro_overrides = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  /* MTAs send long macro names in braces; milters ask for them that way. */
  gsize length = strlen(name);
  char *key = length > 1 && name[0] != '{' ? g_strdup_printf("{%s}", name) : g_strdup(name);
  g_hash_table_replace(child->macro_overrides, key, g_strdup(value ? value : ""));
}

/* session_child_status - the last verdict CHILD gave in this session */
static MmStatus
session_child_status(MmApplicableSession *session, const char *child_name)
{
  MmChild *child = find_child(CHILDREN_OF(session), child_name);
  return child ? child->last_status : MM_STATUS_NOT_CHANGED;
}

/* session_child_quitted - CHILD is out of the session */
static gboolean
session_child_quitted(MmApplicableSession *session, const char *child_name)
{
  MmChild *child = find_child(CHILDREN_OF(session), child_name);
  return child == NULL || child->gone;
}

/* session_n_processing_sessions - MTA sessions in progress in this process */
static guint
session_n_processing_sessions(MmApplicableSession *session)
{
  guint64 in_progress = 0;
  mm_monitor_get_sessions(mm_monitor_get_default(), &in_progress, NULL);
  return (guint)in_progress;
}

static const MmApplicableSessionClass session_class = {
  .lookup_macro = session_lookup_macro,
  .set_macro = session_set_macro,
  .child_status = session_child_status,
  .child_quitted = session_child_quitted,
  .n_processing_sessions = session_n_processing_sessions,
};

/* mm_children_applicable_begin - per-session condition state, when any child has stoppers */
void
mm_children_applicable_begin(MmChildren *children)
{
  const MmApplicableEngine *engine = &children->config->applicable;
  if (engine->klass == NULL)
    return;
  guint32 any = 0;
  for (guint i = 0; i < children->all->len; i++) {
    MmChild *child = g_ptr_array_index(children->all, i);
    child->stopper_stages = engine->klass->stopper_stages(engine->engine, child->milter->name);
    any |= child->stopper_stages;
  }
  /* Ruby is entered only for sessions where some condition has a stopper. */
  if (any != 0)
    children->applicable_state = engine->klass->session_begin(
      engine->engine, (MmApplicableSession *)children, &session_class);
}

/* mm_children_applicable_transaction_end - the message is over: its shelf goes */
void
mm_children_applicable_transaction_end(MmChildren *children)
{
  const MmApplicableEngine *engine = &children->config->applicable;
  if (children->applicable_state && engine->klass->transaction_end)
    engine->klass->transaction_end(engine->engine, children->applicable_state);
}

/* mm_children_applicable_end - the session is over (a pending answer is cancelled) */
void
mm_children_applicable_end(MmChildren *children)
{
  const MmApplicableEngine *engine = &children->config->applicable;
  if (children->applicable_state == NULL)
    return;
  gpointer state = g_steal_pointer(&children->applicable_state);
  engine->klass->session_end(engine->engine, state);
}

/* mm_child_applies - ask the conditions of CHILD about STAGE. With DONE NULL the answer is
 * never PENDING (the engine decides at once); otherwise DONE(CHILD, stop) may follow. */
MmApplicableAnswer
mm_child_applies(MmChild *child, MmStopperStage stage, const MmStopperArgs *args,
                 MmApplicableDoneFunc done)
{
  MmChildren *children = child->children;
  if (children->applicable_state == NULL || !(child->stopper_stages & (1u << stage)))
    return MM_APPLICABLE_APPLY;
  const MmApplicableEngine *engine = &children->config->applicable;
  MmApplicableAnswer answer =
    engine->klass->stop(engine->engine, children->applicable_state, child->milter->name, stage,
                        args, done, done ? child : NULL);
  if (answer == MM_APPLICABLE_STOP)
    child->stopped = TRUE;
  return answer;
}

/* mm_stopper_args_from_command - the stopper arguments a parallel step's command carries */
void
mm_stopper_args_from_command(const MmCommand *command, MmStopperArgs *args,
                             MmStopperStage *stage)
{
  memset(args, 0, sizeof *args);
  switch (command->code) {
  case MM_COMMAND_CONNECT:
    *stage = MM_STOPPER_CONNECT;
    args->host = command->u.connect.host;
    args->family = command->u.connect.family;
    args->address = command->u.connect.address;
    args->port = command->u.connect.port;
    break;
  case MM_COMMAND_HELO:
    *stage = MM_STOPPER_HELO;
    args->fqdn = command->u.helo.fqdn;
    break;
  case MM_COMMAND_MAIL:
    *stage = MM_STOPPER_ENVELOPE_FROM;
    args->envelope = command->u.envelope.address;
    break;
  case MM_COMMAND_RCPT:
    *stage = MM_STOPPER_ENVELOPE_RECIPIENT;
    args->envelope = command->u.envelope.address;
    break;
  case MM_COMMAND_DATA:
    *stage = MM_STOPPER_DATA;
    break;
  default:
    *stage = MM_STOPPER_COUNT; /* UNKNOWN has no stopper */
    break;
  }
}
