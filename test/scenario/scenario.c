/* SPDX-License-Identifier: GPL-3.0-or-later */
/* scenario.c: the scenario file parser (format in test/scenario/README.md) and the small
 * helpers shared by the runner and the scripted children: command names, flags, escaping. */
#include "scenario.h"

#include <stdlib.h>
#include <string.h>

#include "option.h"

#define SCN_ERROR (g_quark_from_static_string("scenario-error"))

static const struct {
  char code;
  const char *name;
} command_names[] = {
  {MM_COMMAND_NEGOTIATE, "negotiate"}, {MM_COMMAND_CONNECT, "connect"},
  {MM_COMMAND_HELO, "helo"},           {MM_COMMAND_MAIL, "mail"},
  {MM_COMMAND_RCPT, "rcpt"},           {MM_COMMAND_DATA, "data"},
  {MM_COMMAND_HEADER, "header"},       {MM_COMMAND_END_OF_HEADER, "eoh"},
  {MM_COMMAND_BODY, "body"},           {MM_COMMAND_END_OF_MESSAGE, "eom"},
  {MM_COMMAND_ABORT, "abort"},         {MM_COMMAND_QUIT, "quit"},
  {MM_COMMAND_QUIT_NEW_CONNECTION, "quit-nc"}, {MM_COMMAND_UNKNOWN, "unknown"},
  {MM_COMMAND_MACRO, "macro"},
};

/* scn_command_from_name - the command code for a scenario name */
char
scn_command_from_name(const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS(command_names); i++) {
    if (g_str_equal(command_names[i].name, name))
      return command_names[i].code;
  }
  return 0;
}

/* scn_command_to_name - the scenario name of a command code */
const char *
scn_command_to_name(char code)
{
  for (gsize i = 0; i < G_N_ELEMENTS(command_names); i++) {
    if (command_names[i].code == code)
      return command_names[i].name;
  }
  return "?";
}

/* scn_parse_flags - names as option.c prints them, joined by '|' or ',' */
gboolean
scn_parse_flags(const char *text, gboolean actions, guint32 *flags, GError **error)
{
  guint32 result = 0;
  g_auto(GStrv) names = g_strsplit_set(text, "|,", -1);
  for (gsize i = 0; names[i]; i++) {
    if (*names[i] == '\0' || g_str_equal(names[i], "none"))
      continue;
    if (g_str_equal(names[i], "all")) {
      /* Every flag but the larger packet sizes, which an MTA offers only on purpose. */
      result |= actions ? MM_ACTION_ALL : (MM_STEP_ALL & ~MM_STEP_DATA_SIZE_MASK);
      continue;
    }
    gboolean found = FALSE;
    for (guint bit = 0; bit < 32 && !found; bit++) {
      guint32 flag = 1u << bit;
      g_autofree char *name = actions ? mm_option_actions_to_string(flag)
                                      : mm_option_steps_to_string(flag);
      if (g_str_equal(name, names[i])) {
        result |= flag;
        found = TRUE;
      }
    }
    if (!found) {
      g_set_error(error, SCN_ERROR, 0, "unknown %s flag \"%s\"", actions ? "action" : "step",
                  names[i]);
      return FALSE;
    }
  }
  *flags = result;
  return TRUE;
}

/* scn_escape - controls, backslashes and a space at either end as escapes */
char *
scn_escape(const char *text, gssize length)
{
  if (text == NULL)
    return g_strdup("(null)");
  gsize n = length < 0 ? strlen(text) : (gsize)length;
  GString *out = g_string_new(NULL);
  for (gsize i = 0; i < n; i++) {
    guchar c = (guchar)text[i];
    if (c == '\\')
      g_string_append(out, "\\\\");
    else if (c == '\n')
      g_string_append(out, "\\n");
    else if (c == '\r')
      g_string_append(out, "\\r");
    else if (c == '\t')
      g_string_append(out, "\\t");
    else if (c < 0x20 || c >= 0x7f || (c == ' ' && (i == 0 || i == n - 1)))
      g_string_append_printf(out, "\\%03o", c);
    else
      g_string_append_c(out, (char)c);
  }
  return g_string_free(out, FALSE);
}

/* child_free - one child definition */
static void
child_free(gpointer data)
{
  ScnChild *child = data;
  g_free(child->name);
  for (int i = 0; i < MM_MACRO_STAGE_COUNT; i++)
    g_free(child->macro_requests[i]);
  g_free(child);
}

/* rule_free - one rule */
static void
rule_free(gpointer data)
{
  ScnRule *rule = data;
  g_free(rule->child);
  g_free(rule->command);
  g_free(rule->action);
  g_free(rule);
}

/* line_free - one script line */
static void
line_free(gpointer data)
{
  ScnLine *line = data;
  g_free(line->text);
  g_free(line);
}

/* scn_scenario_free - NULL-safe */
void
scn_scenario_free(Scenario *scenario)
{
  if (scenario == NULL)
    return;
  g_free(scenario->path);
  g_ptr_array_unref(scenario->settings);
  g_ptr_array_unref(scenario->children);
  g_ptr_array_unref(scenario->rules);
  g_ptr_array_unref(scenario->script);
  g_free(scenario);
}

/* parse_yes_no - "yes"/"no"/"true"/"false" */
static gboolean
parse_yes_no(const char *value, gboolean *out)
{
  if (g_str_equal(value, "yes") || g_str_equal(value, "true")) {
    *out = TRUE;
    return TRUE;
  }
  if (g_str_equal(value, "no") || g_str_equal(value, "false")) {
    *out = FALSE;
    return TRUE;
  }
  return FALSE;
}

/* parse_child_option - one key=value of a child line */
static gboolean
parse_child_option(ScnChild *child, const char *key, const char *value, GError **error)
{
  char *end = NULL;
  if (g_str_equal(key, "version")) {
    child->version = (guint32)strtoul(value, &end, 10);
  } else if (g_str_equal(key, "actions")) {
    child->actions_set = TRUE;
    return scn_parse_flags(value, TRUE, &child->actions, error);
  } else if (g_str_equal(key, "steps")) {
    return scn_parse_flags(value, FALSE, &child->steps, error);
  } else if (g_str_equal(key, "fallback")) {
    if (!mm_status_from_string(value, &child->fallback_status))
      end = (char *)value;
  } else if (g_str_equal(key, "evaluation")) {
    if (!parse_yes_no(value, &child->evaluation_mode))
      end = (char *)value;
  } else if (g_str_equal(key, "listen")) {
    if (!parse_yes_no(value, &child->listening))
      end = (char *)value;
  } else if (g_str_equal(key, "enabled")) {
    if (!parse_yes_no(value, &child->enabled))
      end = (char *)value;
  } else if (g_str_equal(key, "spec")) {
    if (!parse_yes_no(value, &child->has_spec))
      end = (char *)value;
  } else if (g_str_equal(key, "reading-timeout")) {
    child->reading_timeout = g_ascii_strtod(value, &end);
  } else if (g_str_equal(key, "eom-timeout")) {
    child->end_of_message_timeout = g_ascii_strtod(value, &end);
  } else if (g_str_equal(key, "connection-timeout")) {
    child->connection_timeout = g_ascii_strtod(value, &end);
  } else if (g_str_equal(key, "writing-timeout")) {
    child->writing_timeout = g_ascii_strtod(value, &end);
  } else if (g_str_has_prefix(key, "macros.")) {
    for (guint stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++) {
      if (g_str_equal(key + 7, mm_option_stage_name(stage))) {
        g_free(child->macro_requests[stage]);
        child->macro_requests[stage] = g_strdelimit(g_strdup(value), ",", ' ');
        return TRUE;
      }
    }
    end = (char *)value;
  } else {
    g_set_error(error, SCN_ERROR, 0, "unknown child option \"%s\"", key);
    return FALSE;
  }
  if (end && *end != '\0') {
    g_set_error(error, SCN_ERROR, 0, "bad value \"%s\" for %s", value, key);
    return FALSE;
  }
  return TRUE;
}

/* parse_child - "child NAME key=value ..." */
static ScnChild *
parse_child(const char *rest, GError **error)
{
  g_auto(GStrv) words = g_strsplit_set(rest, " \t", -1);
  ScnChild *child = g_new0(ScnChild, 1);
  child->fallback_status = MM_STATUS_ACCEPT;
  child->reading_timeout = 2.0;
  child->end_of_message_timeout = 2.0;
  child->connection_timeout = 2.0;
  child->writing_timeout = 2.0;
  child->listening = TRUE;
  child->enabled = TRUE;
  child->has_spec = TRUE;
  for (gsize i = 0; words[i]; i++) {
    if (*words[i] == '\0')
      continue;
    if (child->name == NULL) {
      child->name = g_strdup(words[i]);
      continue;
    }
    char *equal = strchr(words[i], '=');
    if (equal == NULL) {
      g_set_error(error, SCN_ERROR, 0, "child option \"%s\" is not key=value", words[i]);
      child_free(child);
      return NULL;
    }
    *equal = '\0';
    if (!parse_child_option(child, words[i], equal + 1, error)) {
      child_free(child);
      return NULL;
    }
  }
  if (child->name == NULL) {
    g_set_error(error, SCN_ERROR, 0, "child without a name");
    child_free(child);
    return NULL;
  }
  return child;
}

/* parse_rule - "on CHILD COMMAND[:N] ACTION..." */
static ScnRule *
parse_rule(const char *rest, guint line, GError **error)
{
  g_auto(GStrv) words = g_strsplit(rest, " ", 3);
  if (g_strv_length(words) < 3) {
    g_set_error(error, SCN_ERROR, 0, "expected: on CHILD COMMAND ACTION");
    return NULL;
  }
  ScnRule *rule = g_new0(ScnRule, 1);
  rule->line = line;
  rule->child = g_strdup(words[0]);
  char *colon = strchr(words[1], ':');
  if (colon) {
    *colon = '\0';
    rule->occurrence = (guint)strtoul(colon + 1, NULL, 10);
  }
  rule->command = g_strdup(words[1]);
  rule->action = g_strdup(words[2]);
  if (scn_command_from_name(rule->command) == 0) {
    g_set_error(error, SCN_ERROR, 0, "unknown command \"%s\"", rule->command);
    rule_free(rule);
    return NULL;
  }
  return rule;
}

/* parse_line - one non-blank, non-comment line */
static gboolean
parse_line(Scenario *scenario, char *text, guint number, GError **error)
{
  char *space = strchr(text, ' ');
  const char *rest = space ? space + 1 : "";
  g_autofree char *keyword = g_strndup(text, space ? (gsize)(space - text) : strlen(text));
  if (g_str_equal(keyword, "config")) {
    g_ptr_array_add(scenario->settings, g_strdup(rest));
  } else if (g_str_equal(keyword, "child")) {
    ScnChild *child = parse_child(rest, error);
    if (child == NULL)
      return FALSE;
    g_ptr_array_add(scenario->children, child);
  } else if (g_str_equal(keyword, "on")) {
    ScnRule *rule = parse_rule(rest, number, error);
    if (rule == NULL)
      return FALSE;
    g_ptr_array_add(scenario->rules, rule);
  } else if (g_str_equal(keyword, "mta") || g_str_equal(keyword, "expect") ||
             g_str_equal(keyword, "expect-child") || g_str_equal(keyword, "expect-message") ||
             g_str_equal(keyword, "expect-log")) {
    ScnLine *line = g_new0(ScnLine, 1);
    line->line = number;
    line->text = g_strdup(text);
    g_ptr_array_add(scenario->script, line);
  } else {
    g_set_error(error, SCN_ERROR, 0, "unknown keyword \"%s\"", keyword);
    return FALSE;
  }
  return TRUE;
}

/* scn_scenario_load - read and parse a scenario file */
Scenario *
scn_scenario_load(const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  if (!g_file_get_contents(path, &contents, NULL, error))
    return NULL;
  Scenario *scenario = g_new0(Scenario, 1);
  scenario->path = g_strdup(path);
  scenario->settings = g_ptr_array_new_with_free_func(g_free);
  scenario->children = g_ptr_array_new_with_free_func(child_free);
  scenario->rules = g_ptr_array_new_with_free_func(rule_free);
  scenario->script = g_ptr_array_new_with_free_func(line_free);
  g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    char *text = g_strstrip(lines[i]);
    if (*text == '\0' || *text == '#')
      continue;
    g_autoptr(GError) local = NULL;
    if (!parse_line(scenario, text, i + 1, &local)) {
      g_set_error(error, SCN_ERROR, 0, "%s:%u: %s", path, i + 1, local->message);
      scn_scenario_free(scenario);
      return NULL;
    }
  }
  return scenario;
}
