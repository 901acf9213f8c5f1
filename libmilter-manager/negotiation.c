/* SPDX-License-Identifier: GPL-3.0-or-later */
/* negotiation.c: the merge of the children's negotiate replies, and the per-event table
 * (NO_ flag, NR_ flag, first version) that decides what each child receives. */
#include "negotiation.h"

#include <string.h>

G_DEFINE_QUARK(mm-negotiation-error-quark, mm_negotiation_error)

/* One SMTP event a milter may decline (NO_) or not answer (NR_). */
typedef struct {
  char command;
  guint32 no_flag;
  guint32 nr_flag;
  guint32 min_version;
} Event;

static const Event events[] = {
  { MM_COMMAND_CONNECT, MM_STEP_NO_CONNECT, MM_STEP_NR_CONNECT, MM_PROTOCOL_VERSION_MIN },
  { MM_COMMAND_HELO, MM_STEP_NO_HELO, MM_STEP_NR_HELO, MM_PROTOCOL_VERSION_MIN },
  { MM_COMMAND_MAIL, MM_STEP_NO_MAIL, MM_STEP_NR_MAIL, MM_PROTOCOL_VERSION_MIN },
  { MM_COMMAND_RCPT, MM_STEP_NO_RCPT, MM_STEP_NR_RCPT, MM_PROTOCOL_VERSION_MIN },
  { MM_COMMAND_DATA, MM_STEP_NO_DATA, MM_STEP_NR_DATA, MM_NEGOTIATION_VERSION_DATA },
  { MM_COMMAND_HEADER, MM_STEP_NO_HEADERS, MM_STEP_NR_HEADER, MM_PROTOCOL_VERSION_MIN },
  { MM_COMMAND_END_OF_HEADER, MM_STEP_NO_END_OF_HEADER, MM_STEP_NR_END_OF_HEADER,
    MM_PROTOCOL_VERSION_MIN },
  { MM_COMMAND_BODY, MM_STEP_NO_BODY, MM_STEP_NR_BODY, MM_PROTOCOL_VERSION_MIN },
  { MM_COMMAND_UNKNOWN, MM_STEP_NO_UNKNOWN, MM_STEP_NR_UNKNOWN, MM_NEGOTIATION_VERSION_UNKNOWN },
};

/* find_event - the table entry for COMMAND, or NULL (asked for every command sent to every
 * child: a switch, not a search) */
static const Event *
find_event(char command)
{
  switch (command) {
  case MM_COMMAND_CONNECT: return &events[0];
  case MM_COMMAND_HELO: return &events[1];
  case MM_COMMAND_MAIL: return &events[2];
  case MM_COMMAND_RCPT: return &events[3];
  case MM_COMMAND_DATA: return &events[4];
  case MM_COMMAND_HEADER: return &events[5];
  case MM_COMMAND_END_OF_HEADER: return &events[6];
  case MM_COMMAND_BODY: return &events[7];
  case MM_COMMAND_UNKNOWN: return &events[8];
  default: return NULL;
  }
}

/* Flag names for error messages, bit by bit. */
static const char *const action_names[] = {
  "add-headers", "change-body", "add-rcpt", "delete-rcpt", "change-headers",
  "quarantine", "change-from", "add-rcpt-with-args", "set-symlist",
};

static const char *const step_names[32] = {
  "no-connect", "no-helo", "no-mail", "no-rcpt", "no-body", "no-headers",
  "no-end-of-header", "nr-header", "no-unknown", "no-data", "skip", "rcpt-rejected",
  "nr-connect", "nr-helo", "nr-mail", "nr-rcpt", "nr-data", "nr-unknown",
  "nr-end-of-header", "nr-body", "header-leading-space",
  [28] = "mds-256k", [29] = "mds-1m",
};

/* format_flags - "0x402 (no-helo skip)" */
static char *
format_flags(guint32 flags, const char *const *names, guint n_names)
{
  GString *out = g_string_new(NULL);
  g_string_append_printf(out, "0x%x (", flags);
  gboolean first = TRUE;
  for (guint bit = 0; bit < 32; bit++) {
    if (!(flags & (1u << bit)))
      continue;
    const char *name = bit < n_names && names[bit] != NULL ? names[bit] : "unknown";
    g_string_append_printf(out, "%s%s", first ? "" : " ", name);
    first = FALSE;
  }
  g_string_append_c(out, ')');
  return g_string_free(out, FALSE);
}

/* mm_negotiation_offer_for_children - the MTA's offer, version capped */
void
mm_negotiation_offer_for_children(const MmOption *mta_offer, MmOption *offer)
{
  MmOption result = { 0 };
  result.version = MIN(mta_offer->version, MM_PROTOCOL_VERSION_MAX);
  result.actions = mta_offer->actions;
  result.steps = mta_offer->steps;
  *offer = result;
}

/* mm_negotiation_check_child - a child may not ask for more than it was offered */
gboolean
mm_negotiation_check_child(const MmOption *offer, const MmOption *child_reply, GError **error)
{
  if (child_reply->version > offer->version) {
    g_set_error(error, MM_NEGOTIATION_ERROR, MM_NEGOTIATION_ERROR_VERSION,
                "child speaks protocol version %" G_GUINT32_FORMAT
                ", newer than the offered %" G_GUINT32_FORMAT,
                child_reply->version, offer->version);
    return FALSE;
  }
  if (child_reply->version < MM_PROTOCOL_VERSION_MIN) {
    g_set_error(error, MM_NEGOTIATION_ERROR, MM_NEGOTIATION_ERROR_VERSION,
                "child speaks protocol version %" G_GUINT32_FORMAT
                ", older than the oldest there is (%d)",
                child_reply->version, MM_PROTOCOL_VERSION_MIN);
    return FALSE;
  }
  guint32 extra_actions = child_reply->actions & ~offer->actions;
  if (extra_actions != 0) {
    g_autofree char *names = format_flags(extra_actions, action_names,
                                          G_N_ELEMENTS(action_names));
    g_set_error(error, MM_NEGOTIATION_ERROR, MM_NEGOTIATION_ERROR_ACTIONS,
                "child asks for actions the MTA did not offer: %s", names);
    return FALSE;
  }
  guint32 extra_steps = child_reply->steps & ~offer->steps;
  if (extra_steps != 0) {
    g_autofree char *names = format_flags(extra_steps, step_names, G_N_ELEMENTS(step_names));
    g_set_error(error, MM_NEGOTIATION_ERROR, MM_NEGOTIATION_ERROR_STEPS,
                "child asks for steps the MTA did not offer: %s", names);
    return FALSE;
  }
  return TRUE;
}

/* events_done_without - NO_ flags of the events CHILD never receives */
static guint32
events_done_without(const MmOption *child)
{
  guint32 flags = 0;
  for (guint i = 0; i < G_N_ELEMENTS(events); i++) {
    if (child->version < events[i].min_version || (child->steps & events[i].no_flag))
      flags |= events[i].no_flag;
  }
  return flags;
}

/* events_unanswered - NR_ flags of the events CHILD never answers */
static guint32
events_unanswered(const MmOption *child)
{
  guint32 no_events = events_done_without(child);
  guint32 flags = child->steps & MM_STEP_NO_REPLY_MASK;
  for (guint i = 0; i < G_N_ELEMENTS(events); i++) {
    if (no_events & events[i].no_flag)
      flags |= events[i].nr_flag;
  }
  return flags;
}

/* Longest list is_plain_list looks at: its duplicate check is quadratic. */
#define PLAIN_LIST_MAX_LENGTH 256

/* is_plain_list - LIST is non-empty names split by single spaces, each name once: what the
 * merge would make of it alone (a long list is not looked at: FALSE) */
static gboolean
is_plain_list(const char *list)
{
  gsize length = strlen(list);
  if (length == 0 || length > PLAIN_LIST_MAX_LENGTH || list[0] == ' ' ||
      list[length - 1] == ' ' || strchr(list, '\t') != NULL || strstr(list, "  ") != NULL)
    return FALSE;
  for (const char *name = list; name != NULL;) {
    const char *end = strchr(name, ' ');
    gsize n = end ? (gsize)(end - name) : strlen(name);
    for (const char *other = end ? end + 1 : NULL; other != NULL;) {
      const char *other_end = strchr(other, ' ');
      gsize m = other_end ? (gsize)(other_end - other) : strlen(other);
      if (m == n && memcmp(name, other, n) == 0)
        return FALSE;
      other = other_end ? other_end + 1 : NULL;
    }
    name = end ? end + 1 : NULL;
  }
  return TRUE;
}

/* merge_macros - the union of the children's lists for STAGE, or NULL */
static char *
merge_macros(const MmOption *const *children, guint n_children, guint stage)
{
  /* Most children ask for no macros: nothing to merge, nothing to allocate. */
  guint n_lists = 0;
  const char *only = NULL;
  for (guint i = 0; i < n_children; i++) {
    if (children[i]->macro_requests[stage] != NULL) {
      n_lists++;
      only = children[i]->macro_requests[stage];
    }
  }
  if (n_lists == 0)
    return NULL;
  if (n_lists == 1 && is_plain_list(only))
    return g_strdup(only);
  g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new();
  for (guint i = 0; i < n_children; i++) {
    const char *list = children[i]->macro_requests[stage];
    if (list == NULL)
      continue;
    g_auto(GStrv) tokens = g_strsplit_set(list, " \t", -1);
    for (guint t = 0; tokens[t] != NULL; t++) {
      if (tokens[t][0] == '\0' || g_hash_table_contains(seen, tokens[t]))
        continue;
      char *name = g_strdup(tokens[t]);
      g_hash_table_add(seen, name);
      g_ptr_array_add(names, name);
    }
  }
  if (names->len == 0)
    return NULL;
  g_ptr_array_add(names, NULL);
  return g_strjoinv(" ", (char **)names->pdata);
}

/* mm_negotiation_merge - the reply to the MTA */
void
mm_negotiation_merge(const MmOption *mta_offer, const MmOption *const *children,
                     guint n_children, guint32 required_events, MmOption *reply)
{
  MmOption result = { 0 };
  result.version = MIN(mta_offer->version, MM_PROTOCOL_VERSION_MAX);
  if (n_children == 0) {
    result.actions = mta_offer->actions;
    result.steps = mta_offer->steps & MM_STEP_ALL &
                   ~(MM_STEP_NO_EVENT_MASK | MM_STEP_NO_REPLY_MASK);
    *reply = result;
    return;
  }

  guint32 actions = 0;
  guint32 no_events = MM_STEP_NO_EVENT_MASK;
  guint32 no_replies = MM_STEP_NO_REPLY_MASK;
  guint32 asked = 0;
  for (guint i = 0; i < n_children; i++) {
    const MmOption *child = children[i];
    actions |= child->actions;
    no_events &= child->steps | events_done_without(child);
    no_replies &= events_unanswered(child);
    asked |= child->steps & (MM_STEP_EXTENSION_MASK | MM_STEP_DATA_SIZE_MASK);
  }
  result.actions = actions & mta_offer->actions;
  result.steps = ((no_events & ~required_events) | no_replies | asked) & mta_offer->steps;
  for (guint stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++)
    result.macro_requests[stage] = merge_macros(children, n_children, stage);
  *reply = result;
}

/* mm_negotiation_child_receives - whether COMMAND is sent to the child */
gboolean
mm_negotiation_child_receives(guint32 child_version, guint32 child_steps, char command)
{
  const Event *event = find_event(command);
  if (event != NULL)
    return child_version >= event->min_version && !(child_steps & event->no_flag);
  switch (command) {
  case MM_COMMAND_ABORT:
  case MM_COMMAND_MACRO:
  case MM_COMMAND_END_OF_MESSAGE:
  case MM_COMMAND_NEGOTIATE:
  case MM_COMMAND_QUIT:
    return TRUE;
  case MM_COMMAND_QUIT_NEW_CONNECTION:
    return child_version >= MM_NEGOTIATION_VERSION_QUIT_NEW_CONNECTION;
  default:
    return FALSE;
  }
}

/* mm_negotiation_child_replies - whether the child answers COMMAND */
gboolean
mm_negotiation_child_replies(guint32 child_steps, char command)
{
  const Event *event = find_event(command);
  if (event != NULL)
    return !(child_steps & event->nr_flag);
  return command == MM_COMMAND_END_OF_MESSAGE || command == MM_COMMAND_NEGOTIATE;
}
