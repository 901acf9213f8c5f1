/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-client-script.c: milter-test-client's script: option values parsed into rules per
 * stage, end-of-message edits encoded as replies, and the negotiate answer. */
#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "reply.h"
#include "test-client-script.h"

G_DEFINE_QUARK(test-client-script-error-quark, test_client_script_error)

typedef struct {
  TestClientEditKind kind;
  char *name;  /* header name, address or reason; body text */
  char *value; /* header value or ESMTP arguments */
  guint32 index;
} Edit;

struct TestClientScript {
  GPtrArray *rules; /* TestClientRule */
  GPtrArray *edits; /* Edit */
  guint n_progress;
  guint32 version; /* 0: the MTA's, at most 6 */
  gboolean has_actions;
  guint32 actions;
  guint32 steps;
  char *symlists[MM_MACRO_STAGE_COUNT];
};

static const struct {
  const char *name;
  TestClientStage stage;
} stage_names[] = {
  {"negotiate", TEST_CLIENT_STAGE_NEGOTIATE},
  {"connect", TEST_CLIENT_STAGE_CONNECT},
  {"helo", TEST_CLIENT_STAGE_HELO},
  {"mail", TEST_CLIENT_STAGE_MAIL},
  {"envelope-from", TEST_CLIENT_STAGE_MAIL},
  {"rcpt", TEST_CLIENT_STAGE_RCPT},
  {"envelope-recipient", TEST_CLIENT_STAGE_RCPT},
  {"data", TEST_CLIENT_STAGE_DATA},
  {"header", TEST_CLIENT_STAGE_HEADER},
  {"end-of-header", TEST_CLIENT_STAGE_END_OF_HEADER},
  {"eoh", TEST_CLIENT_STAGE_END_OF_HEADER},
  {"body", TEST_CLIENT_STAGE_BODY},
  {"end-of-message", TEST_CLIENT_STAGE_END_OF_MESSAGE},
  {"eom", TEST_CLIENT_STAGE_END_OF_MESSAGE},
  {"unknown", TEST_CLIENT_STAGE_UNKNOWN},
};

/* rule_free - one TestClientRule */
static void
rule_free(gpointer data)
{
  TestClientRule *rule = data;
  g_free(rule->text);
  g_free(rule);
}

/* edit_free - one Edit */
static void
edit_free(gpointer data)
{
  Edit *edit = data;
  g_free(edit->name);
  g_free(edit->value);
  g_free(edit);
}

/* test_client_script_new - an empty script: continue everywhere */
TestClientScript *
test_client_script_new(void)
{
  TestClientScript *script = g_new0(TestClientScript, 1);
  script->rules = g_ptr_array_new_with_free_func(rule_free);
  script->edits = g_ptr_array_new_with_free_func(edit_free);
  return script;
}

/* test_client_script_free - NULL-safe */
void
test_client_script_free(TestClientScript *script)
{
  if (script == NULL)
    return;
  g_ptr_array_unref(script->rules);
  g_ptr_array_unref(script->edits);
  for (int i = 0; i < MM_MACRO_STAGE_COUNT; i++)
    g_free(script->symlists[i]);
  g_free(script);
}

/* test_client_stage_parse - a stage by name */
gboolean
test_client_stage_parse(const char *name, TestClientStage *stage)
{
  g_autofree char *normal = g_ascii_strdown(name, -1);
  g_strdelimit(normal, "_", '-');
  for (gsize i = 0; i < G_N_ELEMENTS(stage_names); i++) {
    if (strcmp(normal, stage_names[i].name) == 0) {
      *stage = stage_names[i].stage;
      return TRUE;
    }
  }
  return FALSE;
}

/* test_client_stage_name - the first (output) name of STAGE */
const char *
test_client_stage_name(TestClientStage stage)
{
  for (gsize i = 0; i < G_N_ELEMENTS(stage_names); i++) {
    if (stage_names[i].stage == stage)
      return stage_names[i].name;
  }
  return "unknown";
}

/* parse_uint - a decimal number up to MAX */
static gboolean
parse_uint(const char *what, const char *text, guint max, guint *value, GError **error)
{
  guint64 number = 0;
  if (!g_ascii_string_to_unsigned(text, 10, 0, max, &number, NULL)) {
    g_set_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_RANGE,
                "%s must be a number from 0 to %u: <%s>", what, max, text);
    return FALSE;
  }
  *value = (guint)number;
  return TRUE;
}

/* parse_status - a status the client may answer with */
static gboolean
parse_status(const char *text, MmStatus *status, GError **error)
{
  if (g_ascii_strcasecmp(text, "tempfail") == 0) {
    *status = MM_STATUS_TEMPORARY_FAILURE;
    return TRUE;
  }
  if (mm_status_from_string(text, status) && *status != MM_STATUS_NOT_CHANGED)
    return TRUE;
  g_set_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_NAME,
              "unknown status <%s>: continue, accept, reject, temporary-failure, discard or "
              "skip",
              text);
  return FALSE;
}

/* test_client_script_add_rule - "STAGE[@N][=VALUE]" */
gboolean
test_client_script_add_rule(TestClientScript *script, TestClientRuleKind kind, const char *text,
                            GError **error)
{
  gboolean needs_value = kind == TEST_CLIENT_RULE_ACTION || kind == TEST_CLIENT_RULE_REPLY_CODE ||
                         kind == TEST_CLIENT_RULE_DELAY;
  const char *equal = strchr(text, '=');
  if (needs_value != (equal != NULL)) {
    g_set_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_SYNTAX,
                needs_value ? "expected STAGE[@N]=VALUE: <%s>" : "expected STAGE[@N]: <%s>",
                text);
    return FALSE;
  }
  g_autofree char *target = equal != NULL ? g_strndup(text, (gsize)(equal - text)) : g_strdup(text);
  g_autoptr(GError) cause = NULL;
  TestClientRule rule = {.kind = kind};
  char *at = strchr(target, '@');
  if (at != NULL) {
    *at = '\0';
    if (!parse_uint("the occurrence after @", at + 1, G_MAXUINT, &rule.nth, error))
      return FALSE;
  }
  if (!test_client_stage_parse(target, &rule.stage)) {
    g_set_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_NAME,
                "unknown stage <%s>", target);
    return FALSE;
  }
  const char *value = equal != NULL ? equal + 1 : NULL;
  switch (kind) {
  case TEST_CLIENT_RULE_ACTION:
    if (!parse_status(value, &rule.status, error))
      return FALSE;
    break;
  case TEST_CLIENT_RULE_REPLY_CODE:
    if (!g_ascii_isdigit(value[0]) || (value[0] != '4' && value[0] != '5')) {
      g_set_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_SYNTAX,
                  "expected STAGE=CODE TEXT with a 4xx or 5xx code: <%s>", text);
      return FALSE;
    }
    rule.status = value[0] == '4' ? MM_STATUS_TEMPORARY_FAILURE : MM_STATUS_REJECT;
    break;
  case TEST_CLIENT_RULE_DELAY:
    if (!parse_uint("a delay in milliseconds", value, TEST_CLIENT_MAX_DELAY_MS, &rule.delay_ms,
                    error))
      return FALSE;
    break;
  case TEST_CLIENT_RULE_CLOSE:
  case TEST_CLIENT_RULE_NO_REPLY:
    break;
  }
  TestClientRule *stored = g_memdup2(&rule, sizeof rule);
  stored->text = g_strdup(value);
  g_ptr_array_add(script->rules, stored);
  return TRUE;
}

/* test_client_script_find - the last matching rule */
const TestClientRule *
test_client_script_find(const TestClientScript *script, TestClientRuleKind kind,
                        TestClientStage stage, guint nth)
{
  for (guint i = script->rules->len; i > 0; i--) {
    const TestClientRule *rule = script->rules->pdata[i - 1];
    if (rule->kind == kind && rule->stage == stage && (rule->nth == 0 || rule->nth == nth))
      return rule;
  }
  return NULL;
}

/* split_address - "ADDRESS[:ARGS]"; a colon inside <...> belongs to the address */
static void
split_address(const char *text, char **address, char **args)
{
  const char *from = text;
  if (text[0] == '<') {
    const char *close = strchr(text, '>');
    if (close != NULL)
      from = close;
  }
  const char *colon = strchr(from, ':');
  if (colon == NULL) {
    *address = g_strdup(text);
    *args = NULL;
  } else {
    *address = g_strndup(text, (gsize)(colon - text));
    *args = g_strdup(colon + 1);
  }
}

/* test_client_script_add_edit - parse one edit */
gboolean
test_client_script_add_edit(TestClientScript *script, TestClientEditKind kind, const char *text,
                            GError **error)
{
  Edit edit = {.kind = kind};
  g_auto(GStrv) parts = NULL;
  switch (kind) {
  case TEST_CLIENT_EDIT_ADD_HEADER:
    parts = g_strsplit(text, ":", 2);
    if (g_strv_length(parts) != 2 || parts[0][0] == '\0')
      goto syntax;
    edit.name = g_strdup(parts[0]);
    edit.value = g_strdup(parts[1]);
    break;
  case TEST_CLIENT_EDIT_INSERT_HEADER:
    parts = g_strsplit(text, ":", 3);
    if (g_strv_length(parts) != 3 || parts[1][0] == '\0')
      goto syntax;
    if (!parse_uint("a header index", parts[0], G_MAXUINT32, &edit.index, error))
      return FALSE;
    edit.name = g_strdup(parts[1]);
    edit.value = g_strdup(parts[2]);
    break;
  case TEST_CLIENT_EDIT_CHANGE_HEADER:
  case TEST_CLIENT_EDIT_DELETE_HEADER:
    parts = g_strsplit(text, ":", kind == TEST_CLIENT_EDIT_CHANGE_HEADER ? 3 : 2);
    if (g_strv_length(parts) != (kind == TEST_CLIENT_EDIT_CHANGE_HEADER ? 3u : 2u) ||
        parts[0][0] == '\0')
      goto syntax;
    if (!parse_uint("a header index", parts[1], G_MAXUINT32, &edit.index, error))
      return FALSE;
    edit.name = g_strdup(parts[0]);
    edit.value = g_strdup(kind == TEST_CLIENT_EDIT_CHANGE_HEADER ? parts[2] : "");
    break;
  case TEST_CLIENT_EDIT_ADD_RECIPIENT:
  case TEST_CLIENT_EDIT_CHANGE_FROM:
    split_address(text, &edit.name, &edit.value);
    break;
  case TEST_CLIENT_EDIT_REPLACE_BODY:
  case TEST_CLIENT_EDIT_DELETE_RECIPIENT:
  case TEST_CLIENT_EDIT_QUARANTINE:
    edit.name = g_strdup(text);
    break;
  }
  g_ptr_array_add(script->edits, g_memdup2(&edit, sizeof edit));
  return TRUE;
syntax:
  g_set_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_SYNTAX,
              "malformed edit: <%s>", text);
  return FALSE;
}

/* test_client_script_set_progress - N progress packets */
gboolean
test_client_script_set_progress(TestClientScript *script, const char *text, GError **error)
{
  return parse_uint("--progress", text, TEST_CLIENT_MAX_PROGRESS, &script->n_progress, error);
}

/* test_client_script_encode_edits - edits, then progress */
void
test_client_script_encode_edits(const TestClientScript *script, GByteArray *out)
{
  for (guint i = 0; i < script->edits->len; i++) {
    const Edit *edit = script->edits->pdata[i];
    switch (edit->kind) {
    case TEST_CLIENT_EDIT_ADD_HEADER:
      mm_reply_encode_add_header(out, edit->name, edit->value);
      break;
    case TEST_CLIENT_EDIT_INSERT_HEADER:
      mm_reply_encode_insert_header(out, edit->index, edit->name, edit->value);
      break;
    case TEST_CLIENT_EDIT_CHANGE_HEADER:
    case TEST_CLIENT_EDIT_DELETE_HEADER:
      mm_reply_encode_change_header(out, edit->index, edit->name, edit->value);
      break;
    case TEST_CLIENT_EDIT_REPLACE_BODY: {
      gsize length = strlen(edit->name), at = 0;
      do { /* an empty body is one empty chunk */
        gsize chunk = MIN(length - at, (gsize)MM_CHUNK_SIZE);
        mm_reply_encode_replace_body(out, (const guint8 *)edit->name + at, chunk);
        at += chunk;
      } while (at < length);
      break;
    }
    case TEST_CLIENT_EDIT_ADD_RECIPIENT:
      mm_reply_encode_add_rcpt(out, edit->name, edit->value);
      break;
    case TEST_CLIENT_EDIT_DELETE_RECIPIENT:
      mm_reply_encode_delete_rcpt(out, edit->name);
      break;
    case TEST_CLIENT_EDIT_CHANGE_FROM:
      mm_reply_encode_change_from(out, edit->name, edit->value);
      break;
    case TEST_CLIENT_EDIT_QUARANTINE:
      mm_reply_encode_quarantine(out, edit->name);
      break;
    }
  }
  for (guint i = 0; i < script->n_progress; i++)
    mm_reply_encode_simple(out, MM_REPLY_PROGRESS);
}

/* parse_flags - names joined by "|" or ","; NAMER gives the name of one bit */
static gboolean
parse_flags(const char *what, const char *text, char *(*namer)(guint32), guint32 *flags,
            GError **error)
{
  guint32 result = 0;
  g_auto(GStrv) words = g_strsplit_set(text, "|,", -1);
  for (gsize i = 0; words[i] != NULL; i++) {
    g_strstrip(words[i]);
    if (words[i][0] == '\0' || strcmp(words[i], "none") == 0)
      continue;
    g_strdelimit(words[i], "_", '-');
    gboolean found = FALSE;
    for (guint bit = 0; bit < 32 && !found; bit++) {
      g_autofree char *name = namer(1u << bit);
      if (g_ascii_strcasecmp(name, words[i]) == 0) {
        result |= 1u << bit;
        found = TRUE;
      }
    }
    if (!found) {
      g_set_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_NAME,
                  "unknown %s flag <%s>", what, words[i]);
      return FALSE;
    }
  }
  *flags = result;
  return TRUE;
}

/* test_client_script_set_steps - the steps to ask for */
gboolean
test_client_script_set_steps(TestClientScript *script, const char *flags, GError **error)
{
  return parse_flags("step", flags, mm_option_steps_to_string, &script->steps, error);
}

/* test_client_script_set_actions - the actions to ask for ("all" for every one) */
gboolean
test_client_script_set_actions(TestClientScript *script, const char *flags, GError **error)
{
  if (g_ascii_strcasecmp(flags, "all") == 0) {
    script->actions = MM_ACTION_ALL;
  } else if (!parse_flags("action", flags, mm_option_actions_to_string, &script->actions,
                          error)) {
    return FALSE;
  }
  script->has_actions = TRUE;
  return TRUE;
}

/* test_client_script_set_version - the version to answer with */
gboolean
test_client_script_set_version(TestClientScript *script, int version, GError **error)
{
  if (version < MM_PROTOCOL_VERSION_MIN || version > MM_PROTOCOL_VERSION_MAX) {
    g_set_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_RANGE,
                "--negotiate-version must be between %d and %d", MM_PROTOCOL_VERSION_MIN,
                MM_PROTOCOL_VERSION_MAX);
    return FALSE;
  }
  script->version = (guint32)version;
  return TRUE;
}

/* test_client_script_add_symlist - "STAGE:MACROS" */
gboolean
test_client_script_add_symlist(TestClientScript *script, const char *text, GError **error)
{
  const char *colon = strchr(text, ':');
  if (colon == NULL) {
    g_set_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_SYNTAX,
                "expected STAGE:MACROS: <%s>", text);
    return FALSE;
  }
  g_autofree char *name = g_strndup(text, (gsize)(colon - text));
  for (guint stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++) {
    if (g_ascii_strcasecmp(name, mm_option_stage_name(stage)) == 0) {
      g_free(script->symlists[stage]);
      script->symlists[stage] = g_strdup(colon + 1);
      return TRUE;
    }
  }
  g_set_error(error, TEST_CLIENT_SCRIPT_ERROR, TEST_CLIENT_SCRIPT_ERROR_NAME,
              "unknown macro stage <%s>: connect, helo, mail, rcpt, data, end-of-message or "
              "end-of-header",
              name);
  return FALSE;
}

/* test_client_script_negotiate - our negotiate answer */
void
test_client_script_negotiate(const TestClientScript *script, guint32 version, guint32 actions,
                             guint32 steps, MmOption *option)
{
  /* An explicit version is sent as is, so that a test can offer one the MTA lacks. */
  option->version = script->version != 0 ? script->version : MIN(version, MM_PROTOCOL_VERSION_MAX);
  option->actions = script->has_actions ? script->actions & actions : actions;
  option->steps = script->steps & steps;
  for (guint stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++)
    mm_option_set_macro_requests(option, stage, script->symlists[stage]);
}
