/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fake-child.c: a scripted child milter inside the test process: listens on a UNIX socket,
 * records what the proxy sends it and answers as the scenario's "on" rules say. */
#include "scenario.h"

#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "connection-spec.h"
#include "connection.h"
#include "listener.h"
#include "negotiation.h"
#include "option.h"
#include "packet.h"
#include "reply.h"

#define FAKE_CHILD_ERROR (g_quark_from_static_string("fake-child-error"))

typedef struct ChildConn ChildConn;

struct ScnFakeChild {
  const ScnChild *spec;
  GPtrArray *rules;        /* ScnRule*, borrowed */
  char *socket_spec;
  MmListener *listener;
  GPtrArray *conns;        /* ChildConn* */
  GPtrArray *received;     /* char* command names, every connection in turn */
  GHashTable *macros;      /* command code -> "name=value,..." that came with its last one */
  GHashTable *pending;     /* command code -> macros received, waiting for their command */
  GPtrArray *headers;      /* "Name:value" of the last message */
  GString *body;           /* body of the last message */
  GArray *chunks;          /* gsize sizes of its body chunks */
  gboolean message_open;
  guint counts[256];       /* commands received, by code, over all connections */
  char *offer;             /* the last negotiation offer, as "version=N actions=.. steps=.." */
};

struct ChildConn {
  ScnFakeChild *child;
  MmConnection *connection;
  guint32 steps;           /* what it negotiated */
  char **pending;          /* actions left after a sleep */
  guint timer;
};

static void run_actions(ChildConn *conn, char **actions);

/* conn_close - drop the connection (the record stays for the checks) */
static void
conn_close(ChildConn *conn)
{
  if (conn->timer)
    g_source_remove(conn->timer);
  conn->timer = 0;
  g_clear_pointer(&conn->pending, g_strfreev);
  mm_connection_free(conn->connection);
  conn->connection = NULL;
}

/* conn_free - one connection, closed */
static void
conn_free(gpointer data)
{
  ChildConn *conn = data;
  conn_close(conn);
  g_free(conn);
}

/* encode_options - the negotiate reply to OFFERED */
static void
encode_options(ChildConn *conn, const MmCommand *offered, GByteArray *out)
{
  const ScnChild *spec = conn->child->spec;
  MmOption option;
  mm_option_init(&option);
  option.version = spec->version ? spec->version : MIN(offered->u.negotiate.version, 6u);
  option.actions = spec->actions & offered->u.negotiate.actions;
  option.steps = spec->steps & offered->u.negotiate.steps;
  for (int i = 0; i < MM_MACRO_STAGE_COUNT; i++)
    mm_option_set_macro_requests(&option, (MmMacroStage)i, spec->macro_requests[i]);
  conn->steps = option.steps;
  mm_reply_encode_negotiate(out, &option);
  mm_option_clear(&option);
}

/* on_sleep_done - go on with the actions after a sleep */
static gboolean
on_sleep_done(gpointer user_data)
{
  ChildConn *conn = user_data;
  conn->timer = 0;
  char **actions = g_steal_pointer(&conn->pending);
  run_actions(conn, actions);
  g_strfreev(actions);
  /* Like libmilter, read the next command only once this one is answered. */
  if (conn->connection && conn->timer == 0)
    mm_connection_set_reading(conn->connection, TRUE);
  return G_SOURCE_REMOVE;
}

/* simple_reply - the reply byte for a verdict word, or 0 */
static char
simple_reply(const char *word)
{
  static const struct {
    const char *word;
    char code;
  } table[] = {
    {"continue", MM_REPLY_CONTINUE}, {"accept", MM_REPLY_ACCEPT},
    {"reject", MM_REPLY_REJECT},     {"temporary-failure", MM_REPLY_TEMPORARY_FAILURE},
    {"tempfail", MM_REPLY_TEMPORARY_FAILURE}, {"discard", MM_REPLY_DISCARD},
    {"skip", MM_REPLY_SKIP},         {"progress", MM_REPLY_PROGRESS},
    {"shutdown", MM_REPLY_SHUTDOWN}, {"connection-fail", MM_REPLY_CONNECTION_FAIL},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(table); i++) {
    if (g_str_equal(table[i].word, word))
      return table[i].code;
  }
  return 0;
}

/* word_at - the Nth word of WORDS or "" */
static const char *
word_at(char **words, guint n)
{
  for (guint i = 0; i < n; i++) {
    if (words[i] == NULL)
      return "";
  }
  return words[n] ? words[n] : "";
}

/* run_action - one action; FALSE stops the list (sleep, hang, close) */
static gboolean
run_action(ChildConn *conn, const char *action, char **rest)
{
  GByteArray *out = mm_connection_output(conn->connection);
  g_auto(GStrv) w = g_strsplit(action, " ", 4);
  const char *verb = w[0];
  char code = simple_reply(verb);
  if (code) {
    mm_reply_encode_simple(out, code);
  } else if (g_str_equal(verb, "reply-code")) {
    g_autofree char *text = g_strcompress(action + strlen("reply-code "));
    mm_reply_encode_reply_code(out, text);
  } else if (g_str_equal(verb, "add-header") || g_str_equal(verb, "delete-header")) {
    g_auto(GStrv) a = g_strsplit(action, " ", 3);
    g_autofree char *value = g_strcompress(word_at(a, 2));
    if (g_str_equal(verb, "add-header"))
      mm_reply_encode_add_header(out, word_at(a, 1), value);
    else
      mm_reply_encode_change_header(out, (guint32)atoi(word_at(a, 2)), word_at(a, 1), "");
  } else if (g_str_equal(verb, "insert-header")) {
    g_autofree char *value = g_strcompress(word_at(w, 3));
    mm_reply_encode_insert_header(out, (guint32)atoi(word_at(w, 1)), word_at(w, 2), value);
  } else if (g_str_equal(verb, "change-header")) {
    g_autofree char *value = g_strcompress(word_at(w, 3));
    mm_reply_encode_change_header(out, (guint32)atoi(word_at(w, 2)), word_at(w, 1), value);
  } else if (g_str_equal(verb, "change-from")) {
    mm_reply_encode_change_from(out, word_at(w, 1), w[1] && w[2] ? action + strlen(verb) +
                                                       strlen(w[1]) + 2 : NULL);
  } else if (g_str_equal(verb, "add-rcpt")) {
    mm_reply_encode_add_rcpt(out, word_at(w, 1), w[1] && w[2] ? action + strlen(verb) +
                                                    strlen(w[1]) + 2 : NULL);
  } else if (g_str_equal(verb, "delete-rcpt")) {
    mm_reply_encode_delete_rcpt(out, word_at(w, 1));
  } else if (g_str_equal(verb, "replace-body")) {
    g_autofree char *text = g_strcompress(action + MIN(strlen(action), strlen(verb) + 1));
    mm_reply_encode_replace_body(out, (const guint8 *)text, strlen(text));
  } else if (g_str_equal(verb, "replace-body-size")) {
    gsize size = (gsize)atol(word_at(w, 1));
    g_autofree guint8 *data = g_malloc(size ? size : 1);
    memset(data, 'r', size);
    mm_reply_encode_replace_body(out, data, size);
  } else if (g_str_equal(verb, "quarantine")) {
    mm_reply_encode_quarantine(out, action + MIN(strlen(action), strlen(verb) + 1));
  } else if (g_str_equal(verb, "no-reply")) {
    /* the step ends without an answer (the reply was already written, or none is due) */
  } else if (g_str_equal(verb, "garbage")) {
    mm_packet_append(out, 'Z', "junk", 4);
  } else if (g_str_equal(verb, "close")) {
    mm_connection_flush(conn->connection);
    conn_close(conn);
    return FALSE;
  } else if (g_str_equal(verb, "hang")) {
    mm_connection_flush(conn->connection);
    return FALSE;
  } else if (g_str_equal(verb, "sleep")) {
    mm_connection_flush(conn->connection);
    conn->pending = g_strdupv(rest);
    mm_connection_set_reading(conn->connection, FALSE);
    conn->timer = g_timeout_add((guint)atoi(word_at(w, 1)), on_sleep_done, conn);
    return FALSE;
  } else {
    g_warning("unknown child action \"%s\"", action);
  }
  return TRUE;
}

/* run_actions - a list of actions, NULL-terminated */
static void
run_actions(ChildConn *conn, char **actions)
{
  for (guint i = 0; actions[i] && conn->connection; i++) {
    if (!run_action(conn, actions[i], actions + i + 1))
      return;
  }
  if (conn->connection)
    mm_connection_flush(conn->connection);
}

/* is_terminal - whether ACTION ends a step (a verdict, or never answering) */
static gboolean
is_terminal(const char *action)
{
  static const char *const verbs[] = {"continue", "accept", "reject", "temporary-failure",
                                      "tempfail", "discard", "skip", "reply-code", "hang",
                                      "close", "garbage", "options", "shutdown",
                                      "connection-fail", "no-reply"};
  for (gsize i = 0; i < G_N_ELEMENTS(verbs); i++) {
    if (g_str_has_prefix(action, verbs[i]))
      return TRUE;
  }
  return FALSE;
}

/* actions_for - the rules' actions for the N-th COMMAND, with the default verdict added */
static char **
actions_for(ChildConn *conn, char code, guint n)
{
  ScnFakeChild *child = conn->child;
  GPtrArray *list = g_ptr_array_new();
  for (int pass = 0; pass < 2 && list->len == 0; pass++) {
    for (guint i = 0; i < child->rules->len; i++) {
      const ScnRule *rule = g_ptr_array_index(child->rules, i);
      if (g_str_equal(rule->child, child->spec->name) &&
          scn_command_from_name(rule->command) == code &&
          rule->occurrence == (pass == 0 ? n : 0))
        g_ptr_array_add(list, g_strdup(rule->action));
    }
  }
  gboolean terminal = FALSE;
  for (guint i = 0; i < list->len; i++)
    terminal = terminal || is_terminal(g_ptr_array_index(list, i));
  if (!terminal) {
    if (code == MM_COMMAND_NEGOTIATE)
      g_ptr_array_add(list, g_strdup("options"));
    else if (code != MM_COMMAND_ABORT && code != MM_COMMAND_QUIT &&
             code != MM_COMMAND_QUIT_NEW_CONNECTION &&
             mm_negotiation_child_replies(conn->steps, code))
      g_ptr_array_add(list, g_strdup("continue"));
  }
  g_ptr_array_add(list, NULL);
  return (char **)g_ptr_array_free(list, FALSE);
}

/* record_message - keep what the message looked like to this child */
static void
record_message(ScnFakeChild *child, const MmCommand *command)
{
  char code = command->code;
  if (code == MM_COMMAND_MAIL || code == MM_COMMAND_ABORT) {
    child->message_open = FALSE;
    return;
  }
  if (code != MM_COMMAND_HEADER && code != MM_COMMAND_END_OF_HEADER &&
      code != MM_COMMAND_BODY && code != MM_COMMAND_END_OF_MESSAGE)
    return;
  if (!child->message_open) {
    child->message_open = TRUE;
    g_ptr_array_set_size(child->headers, 0);
    g_string_truncate(child->body, 0);
    g_array_set_size(child->chunks, 0);
  }
  if (code == MM_COMMAND_HEADER) {
    g_ptr_array_add(child->headers, g_strdup_printf("%s:%s", command->u.header.name,
                                                    command->u.header.value));
  } else if ((code == MM_COMMAND_BODY || code == MM_COMMAND_END_OF_MESSAGE) &&
             command->u.body.length > 0) {
    g_string_append_len(child->body, (const char *)command->u.body.data,
                        (gssize)command->u.body.length);
    gsize size = command->u.body.length;
    g_array_append_val(child->chunks, size);
  }
  if (code == MM_COMMAND_END_OF_MESSAGE)
    child->message_open = FALSE;
}

/* record_macros - "name=value,..." of a MACRO command */
static void
record_macros(ScnFakeChild *child, const MmCommand *command)
{
  GString *text = g_string_new(NULL);
  MmStrings pairs = command->u.macro.pairs;
  const char *name, *value;
  while (mm_strings_next(&pairs, &name) && mm_strings_next(&pairs, &value))
    g_string_append_printf(text, "%s%s=%s", text->len ? "," : "", name, value);
  g_hash_table_replace(child->pending, GINT_TO_POINTER((int)command->u.macro.command),
                       g_string_free(text, FALSE));
}

/* on_packet - a command from the proxy */
static void
on_packet(gpointer user_data, char code, const guint8 *data, gsize length)
{
  ChildConn *conn = user_data;
  ScnFakeChild *child = conn->child;
  MmCommand command;
  g_autoptr(GError) error = NULL;
  if (!mm_command_decode(code, data, length, &command, &error)) {
    g_ptr_array_add(child->received, g_strdup_printf("undecodable(%c)", code));
    return;
  }
  if (code == MM_COMMAND_MACRO) {
    record_macros(child, &command);
    return;
  }
  g_ptr_array_add(child->received, g_strdup(scn_command_to_name(code)));
  gpointer key = GINT_TO_POINTER((int)code);
  char *macros = g_hash_table_lookup(child->pending, key);
  if (macros) {
    g_hash_table_steal(child->pending, key);
    g_hash_table_replace(child->macros, key, macros);
  } else {
    g_hash_table_remove(child->macros, key);
  }
  record_message(child, &command);
  guint n = ++child->counts[(guchar)code];
  g_auto(GStrv) actions = actions_for(conn, code, n);
  if (code == MM_COMMAND_NEGOTIATE) {
    g_autofree char *actions_text = mm_option_actions_to_string(command.u.negotiate.actions);
    g_autofree char *steps_text = mm_option_steps_to_string(command.u.negotiate.steps);
    g_free(child->offer);
    child->offer = g_strdup_printf("version=%u actions=%s steps=%s", command.u.negotiate.version,
                                   actions_text, steps_text);
    for (guint i = 0; actions[i]; i++) {
      if (g_str_equal(actions[i], "options")) {
        encode_options(conn, &command, mm_connection_output(conn->connection));
        g_free(actions[i]);
        actions[i] = g_strdup("no-reply");
      }
    }
  }
  run_actions(conn, actions);
}

/* on_closed - the proxy closed, or the connection broke */
static void
on_closed(gpointer user_data, const GError *error)
{
  (void)error;
  conn_close(user_data);
}

static const MmConnectionHandlers conn_handlers = {
  .packet = on_packet,
  .closed = on_closed,
};

/* on_accepted - the proxy connected */
static void
on_accepted(int fd, gpointer user_data)
{
  ScnFakeChild *child = user_data;
  ChildConn *conn = g_new0(ChildConn, 1);
  conn->child = child;
  conn->connection = mm_connection_new(fd, &conn_handlers, conn);
  mm_connection_set_max_data_length(conn->connection, MM_DATA_SIZE_1M);
  g_ptr_array_add(child->conns, conn);
}

/* scn_fake_child_new - listen and play */
ScnFakeChild *
scn_fake_child_new(const ScnChild *spec, GPtrArray *rules, const char *directory,
                   GError **error)
{
  ScnFakeChild *child = g_new0(ScnFakeChild, 1);
  child->spec = spec;
  child->rules = rules;
  child->socket_spec = g_strdup_printf("unix:%s/%s.sock", directory, spec->name);
  child->conns = g_ptr_array_new_with_free_func(conn_free);
  child->received = g_ptr_array_new_with_free_func(g_free);
  child->macros = g_hash_table_new_full(NULL, NULL, NULL, g_free);
  child->pending = g_hash_table_new_full(NULL, NULL, NULL, g_free);
  child->headers = g_ptr_array_new_with_free_func(g_free);
  child->body = g_string_new(NULL);
  child->chunks = g_array_new(FALSE, FALSE, sizeof(gsize));
  if (spec->listening) {
    g_autoptr(MmConnectionSpec) parsed = mm_connection_spec_parse(child->socket_spec, error);
    if (parsed)
      child->listener = mm_listener_new(parsed, NULL, error);
    if (child->listener == NULL) {
      scn_fake_child_free(child);
      return NULL;
    }
    mm_listener_start(child->listener, on_accepted, child);
  }
  return child;
}

/* scn_fake_child_free - NULL-safe */
void
scn_fake_child_free(ScnFakeChild *child)
{
  if (child == NULL)
    return;
  mm_listener_free(child->listener);
  g_ptr_array_unref(child->conns);
  g_ptr_array_unref(child->received);
  g_hash_table_unref(child->macros);
  g_hash_table_unref(child->pending);
  g_ptr_array_unref(child->headers);
  g_string_free(child->body, TRUE);
  g_array_unref(child->chunks);
  g_free(child->socket_spec);
  g_free(child->offer);
  g_free(child);
}

/* scn_fake_child_get_spec - where the proxy connects */
const char *
scn_fake_child_get_spec(const ScnFakeChild *child)
{
  return child->socket_spec;
}

/* scn_fake_child_get_name - its name */
const char *
scn_fake_child_get_name(const ScnFakeChild *child)
{
  return child->spec->name;
}

/* join_strings - ARRAY joined with SEPARATOR, "none" when empty */
static char *
join_strings(GPtrArray *array, const char *separator)
{
  if (array->len == 0)
    return g_strdup("none");
  GString *out = g_string_new(NULL);
  for (guint i = 0; i < array->len; i++)
    g_string_append_printf(out, "%s%s", i ? separator : "", (char *)g_ptr_array_index(array, i));
  return g_string_free(out, FALSE);
}

/* actual_value - what the child saw for WHAT (ARGS may name a command) */
static char *
actual_value(ScnFakeChild *child, const char *what, const char **args, GError **error)
{
  if (g_str_equal(what, "received"))
    return join_strings(child->received, ",");
  if (g_str_equal(what, "headers"))
    return join_strings(child->headers, "|");
  if (g_str_equal(what, "body"))
    return g_strdup(child->body->str);
  if (g_str_equal(what, "offer"))
    return g_strdup(child->offer ? child->offer : "none");
  if (g_str_equal(what, "connections"))
    return g_strdup_printf("%u", child->conns->len);
  if (g_str_equal(what, "chunks")) {
    GString *out = g_string_new(child->chunks->len ? NULL : "none");
    for (guint i = 0; i < child->chunks->len; i++)
      g_string_append_printf(out, "%s%" G_GSIZE_FORMAT, i ? "," : "",
                             g_array_index(child->chunks, gsize, i));
    return g_string_free(out, FALSE);
  }
  if (g_str_equal(what, "macros")) {
    const char *space = strchr(*args, ' ');
    g_autofree char *name = g_strndup(*args, space ? (gsize)(space - *args) : strlen(*args));
    char code = scn_command_from_name(name);
    *args = space ? space + 1 : "";
    const char *found = g_hash_table_lookup(child->macros, GINT_TO_POINTER((int)code));
    return g_strdup(found ? (*found ? found : "empty") : "none");
  }
  g_set_error(error, FAKE_CHILD_ERROR, 0, "unknown expect-child check \"%s\"", what);
  return NULL;
}

/* scn_fake_child_check - compare one aspect of what the child saw */
gboolean
scn_fake_child_check(ScnFakeChild *child, const char *what, const char *args, GError **error)
{
  g_autofree char *actual = actual_value(child, what, &args, error);
  if (actual == NULL)
    return FALSE;
  g_autofree char *expected = g_strcompress(args);
  if (g_str_equal(actual, expected))
    return TRUE;
  g_autofree char *shown = scn_escape(actual, -1);
  g_set_error(error, FAKE_CHILD_ERROR, 0, "child %s %s: expected \"%s\", got \"%s\"",
              child->spec->name, what, args, shown);
  return FALSE;
}
