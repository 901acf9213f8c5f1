/* SPDX-License-Identifier: GPL-3.0-or-later */
/* option.c: negotiated options (see option.h): parsing the macro request lists of a
 * negotiate reply, the data size the MDS flags allow, and flag names for logs. */
#include "option.h"

#include "reply.h"
#include "wire.h"

G_DEFINE_QUARK(mm-option-error-quark, mm_option_error)

typedef struct {
  guint32 flag;
  const char *name;
} FlagName;

static const FlagName step_names[] = {
  {MM_STEP_NO_CONNECT, "no-connect"},
  {MM_STEP_NO_HELO, "no-helo"},
  {MM_STEP_NO_MAIL, "no-mail"},
  {MM_STEP_NO_RCPT, "no-rcpt"},
  {MM_STEP_NO_BODY, "no-body"},
  {MM_STEP_NO_HEADERS, "no-headers"},
  {MM_STEP_NO_END_OF_HEADER, "no-end-of-header"},
  {MM_STEP_NR_HEADER, "nr-header"},
  {MM_STEP_NO_UNKNOWN, "no-unknown"},
  {MM_STEP_NO_DATA, "no-data"},
  {MM_STEP_SKIP, "skip"},
  {MM_STEP_RCPT_REJECTED, "rcpt-rejected"},
  {MM_STEP_NR_CONNECT, "nr-connect"},
  {MM_STEP_NR_HELO, "nr-helo"},
  {MM_STEP_NR_MAIL, "nr-mail"},
  {MM_STEP_NR_RCPT, "nr-rcpt"},
  {MM_STEP_NR_DATA, "nr-data"},
  {MM_STEP_NR_UNKNOWN, "nr-unknown"},
  {MM_STEP_NR_END_OF_HEADER, "nr-end-of-header"},
  {MM_STEP_NR_BODY, "nr-body"},
  {MM_STEP_HEADER_LEADING_SPACE, "header-leading-space"},
  {MM_STEP_MDS_256K, "mds-256k"},
  {MM_STEP_MDS_1M, "mds-1m"},
};

static const FlagName action_names[] = {
  {MM_ACTION_ADD_HEADERS, "add-headers"},
  {MM_ACTION_CHANGE_BODY, "change-body"},
  {MM_ACTION_ADD_RCPT, "add-rcpt"},
  {MM_ACTION_DELETE_RCPT, "delete-rcpt"},
  {MM_ACTION_CHANGE_HEADERS, "change-headers"},
  {MM_ACTION_QUARANTINE, "quarantine"},
  {MM_ACTION_CHANGE_FROM, "change-from"},
  {MM_ACTION_ADD_RCPT_WITH_ARGS, "add-rcpt-with-args"},
  {MM_ACTION_SET_SYMLIST, "set-symlist"},
};

static const char *const stage_names[MM_MACRO_STAGE_COUNT] = {
  "connect", "helo", "mail", "rcpt", "data", "end-of-message", "end-of-header",
};

/* mm_option_init - all zero, no macro requests */
void
mm_option_init(MmOption *option)
{
  *option = (MmOption){0};
}

/* mm_option_clear - free the macro request lists and re-initialise */
void
mm_option_clear(MmOption *option)
{
  if (option == NULL)
    return;
  for (gsize i = 0; i < MM_MACRO_STAGE_COUNT; i++)
    g_free(option->macro_requests[i]);
  mm_option_init(option);
}

/* mm_option_copy - deep copy */
void
mm_option_copy(MmOption *dest, const MmOption *src)
{
  if (dest == src)
    return;
  mm_option_clear(dest);
  dest->version = src->version;
  dest->actions = src->actions;
  dest->steps = src->steps;
  for (gsize i = 0; i < MM_MACRO_STAGE_COUNT; i++)
    dest->macro_requests[i] = g_strdup(src->macro_requests[i]);
}

/* mm_option_set_macro_requests - replace one stage's list */
void
mm_option_set_macro_requests(MmOption *option, MmMacroStage stage, const char *macros)
{
  g_return_if_fail((guint)stage < MM_MACRO_STAGE_COUNT);
  char *copy = g_strdup(macros);
  g_free(option->macro_requests[stage]);
  option->macro_requests[stage] = copy;
}

/* fail_wire - report a malformed macro request list */
static gboolean
fail_wire(GError **error, MmWireStatus status, const char *field)
{
  if (status == MM_WIRE_MISSING_NUL)
    g_set_error(error, MM_OPTION_ERROR, MM_OPTION_ERROR_MISSING_NUL,
                "negotiate reply: %s is missing its NUL terminator", field);
  else
    g_set_error(error, MM_OPTION_ERROR, MM_OPTION_ERROR_TRUNCATED,
                "negotiate reply: truncated before %s", field);
  return FALSE;
}

/* mm_option_from_reply - the options of a decoded negotiate reply */
gboolean
mm_option_from_reply(const MmReply *reply, MmOption *option, GError **error)
{
  if (reply->code != MM_REPLY_NEGOTIATE) {
    g_set_error(error, MM_OPTION_ERROR, MM_OPTION_ERROR_UNKNOWN,
                "expected a negotiate reply, got reply code 0x%02x", (guint8)reply->code);
    return FALSE;
  }
  MmOption parsed;
  mm_option_init(&parsed);
  parsed.version = reply->u.negotiate.version;
  parsed.actions = reply->u.negotiate.actions;
  parsed.steps = reply->u.negotiate.steps;
  MmWireReader reader;
  mm_wire_reader_init(&reader, reply->u.negotiate.macro_requests,
                      reply->u.negotiate.macro_requests_length);
  while (mm_wire_remaining(&reader) > 0) {
    guint32 stage;
    const char *macros;
    MmWireStatus status = mm_wire_read_u32(&reader, &stage);
    if (status != MM_WIRE_OK) {
      fail_wire(error, status, "a macro request stage");
      goto failed;
    }
    status = mm_wire_read_string(&reader, &macros);
    if (status != MM_WIRE_OK) {
      fail_wire(error, status, "a macro request list");
      goto failed;
    }
    if (stage >= MM_MACRO_STAGE_COUNT) {
      g_set_error(error, MM_OPTION_ERROR, MM_OPTION_ERROR_BAD_VALUE,
                  "negotiate reply: macro requests for unknown stage %u", stage);
      goto failed;
    }
    if (parsed.macro_requests[stage] != NULL) {
      g_set_error(error, MM_OPTION_ERROR, MM_OPTION_ERROR_BAD_VALUE,
                  "negotiate reply: macro requests for the %s stage given twice",
                  stage_names[stage]);
      goto failed;
    }
    parsed.macro_requests[stage] = g_strdup(macros);
  }
  mm_option_clear(option);
  *option = parsed;
  return TRUE;

failed:
  mm_option_clear(&parsed);
  return FALSE;
}

/* mm_option_max_data_length - the largest packet data STEPS allow */
gsize
mm_option_max_data_length(guint32 steps)
{
  if (steps & MM_STEP_MDS_1M)
    return MM_DATA_SIZE_1M;
  if (steps & MM_STEP_MDS_256K)
    return MM_DATA_SIZE_256K;
  return MM_DATA_SIZE_DEFAULT;
}

/* flags_to_string - FLAGS as "name|name|0x..." using NAMES */
static char *
flags_to_string(guint32 flags, const FlagName *names, gsize n_names)
{
  if (flags == 0)
    return g_strdup("none");
  GString *string = g_string_new(NULL);
  guint32 left = flags;
  for (gsize i = 0; i < n_names; i++) {
    if ((flags & names[i].flag) == 0)
      continue;
    if (string->len > 0)
      g_string_append_c(string, '|');
    g_string_append(string, names[i].name);
    left &= ~names[i].flag;
  }
  if (left != 0)
    g_string_append_printf(string, "%s0x%x", string->len > 0 ? "|" : "", left);
  return g_string_free(string, FALSE);
}

/* mm_option_steps_to_string - step flags as names */
char *
mm_option_steps_to_string(guint32 steps)
{
  return flags_to_string(steps, step_names, G_N_ELEMENTS(step_names));
}

/* mm_option_actions_to_string - action flags as names */
char *
mm_option_actions_to_string(guint32 actions)
{
  return flags_to_string(actions, action_names, G_N_ELEMENTS(action_names));
}

/* mm_option_stage_name - a macro stage's name */
const char *
mm_option_stage_name(guint32 stage)
{
  return stage < MM_MACRO_STAGE_COUNT ? stage_names[stage] : NULL;
}
