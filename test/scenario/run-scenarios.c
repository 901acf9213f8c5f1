/* SPDX-License-Identifier: GPL-3.0-or-later */
/* run-scenarios.c: one gtest per scenario file (test/scenario/NAME.scn): the proxy, scripted
 * children and a fake MTA run in this process on one main loop over UNIX sockets. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <glib/gstdio.h>

#include "command.h"
#include "config.h"
#include "connection.h"
#include "log.h"
#include "proxy.h"
#include "reply.h"
#include "scenario.h"

/* How long the MTA waits for an answer, for the proxy to close, and for silence after a
 * command that expects no answer. Timeouts in scenarios stay well below the first. */
#define WAIT_REPLY_MS 5000
#define WAIT_CLOSE_MS 2000
#define SETTLE_MS 20

typedef struct {
  const Scenario *scenario;
  char *directory;
  char *log_path;
  MmConfig *config;
  MmProxy *proxy;
  GPtrArray *fakes;          /* ScnFakeChild* */
  MmConnection *mta;         /* our end of the MTA connection, or NULL */
  gboolean mta_closed;       /* the proxy closed it */
  GPtrArray *replies;        /* rendered replies to the last command */
  guint consumed;            /* how many of them expect lines matched */
  guint n_finals;             /* final replies among them */
  guint n_due;               /* final replies the commands sent so far call for */
  gboolean pipelining;       /* "mta send" lines sent commands without waiting */
  guint32 agreed_steps;
  ScnMtaMessage *message;    /* the message as the MTA ends up with it */
  GString *failure;          /* first failure, or empty */
} Runner;

/* fail - record the first failure with its line */
static void
fail(Runner *runner, guint line, const char *format, ...) G_GNUC_PRINTF(3, 4);
static void
fail(Runner *runner, guint line, const char *format, ...)
{
  if (runner->failure->len > 0)
    return;
  va_list args;
  va_start(args, format);
  g_autofree char *text = g_strdup_vprintf(format, args);
  va_end(args);
  g_string_printf(runner->failure, "%s:%u: %s", runner->scenario->path, line, text);
}

/* is_final - a reply that ends the MTA's wait */
static gboolean
is_final(char code)
{
  return strchr("Ocartdsy", code) != NULL;
}

/* on_mta_packet - a reply from the proxy */
static void
on_mta_packet(gpointer user_data, char code, const guint8 *data, gsize length)
{
  Runner *runner = user_data;
  MmReply reply;
  g_autoptr(GError) error = NULL;
  if (!mm_reply_decode(code, data, length, &reply, &error)) {
    g_ptr_array_add(runner->replies, g_strdup_printf("undecodable %c: %s", code, error->message));
    return;
  }
  if (code == MM_REPLY_NEGOTIATE)
    runner->agreed_steps = reply.u.negotiate.steps;
  scn_mta_message_apply(runner->message, &reply);
  g_ptr_array_add(runner->replies, scn_reply_render(&reply));
  if (is_final(code))
    runner->n_finals++;
}

/* on_mta_closed - the proxy closed the MTA connection */
static void
on_mta_closed(gpointer user_data, const GError *error)
{
  Runner *runner = user_data;
  (void)error;
  runner->mta_closed = TRUE;
  mm_connection_free(runner->mta);
  runner->mta = NULL;
}

static const MmConnectionHandlers mta_handlers = {
  .packet = on_mta_packet,
  .closed = on_mta_closed,
};

/* on_wait_timeout - a wait ran out */
static gboolean
on_wait_timeout(gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Condition)(Runner *runner);

/* wait_for - run the main loop until CONDITION holds (NULL: never) or MS pass */
static gboolean
wait_for(Runner *runner, Condition condition, guint ms)
{
  gboolean expired = FALSE;
  guint source = g_timeout_add(ms, on_wait_timeout, &expired);
  while (!expired && !(condition && condition(runner)))
    g_main_context_iteration(NULL, TRUE);
  if (!expired)
    g_source_remove(source);
  return !expired;
}

/* answered - the MTA got its answer, or lost the connection */
static gboolean
answered(Runner *runner)
{
  return runner->n_finals >= runner->n_due || runner->mta == NULL;
}

/* disconnected - the MTA connection is gone */
static gboolean
disconnected(Runner *runner)
{
  return runner->mta == NULL;
}

/* no_sessions - the proxy has finished every session */
static gboolean
no_sessions(Runner *runner)
{
  return mm_proxy_get_n_sessions(runner->proxy) == 0;
}

/* ---- the MTA's commands ----------------------------------------------------------- */

/* open_mta - a new MTA connection to the proxy */
static gboolean
open_mta(Runner *runner, guint line)
{
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    fail(runner, line, "socketpair: %s", g_strerror(errno));
    return FALSE;
  }
  mm_proxy_accept(runner->proxy, fds[0]);
  runner->mta = mm_connection_new(fds[1], &mta_handlers, runner);
  mm_connection_set_max_data_length(runner->mta, MM_DATA_SIZE_1M);
  runner->mta_closed = FALSE;
  return TRUE;
}

/* no_reply_flag - the step flag saying the MTA expects no reply to CODE */
static guint32
no_reply_flag(char code)
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

/* parse_negotiate - "version=N actions=... steps=..." of mta negotiate */
static gboolean
encode_negotiate(Runner *runner, guint line, char **words, GByteArray *out)
{
  guint32 version = 6, actions = MM_ACTION_ALL;
  guint32 steps = MM_STEP_ALL & ~MM_STEP_DATA_SIZE_MASK;
  for (guint i = 1; words[i]; i++) {
    g_autoptr(GError) error = NULL;
    if (g_str_has_prefix(words[i], "version=")) {
      version = (guint32)atoi(words[i] + 8);
    } else if (g_str_has_prefix(words[i], "actions=")) {
      if (!scn_parse_flags(words[i] + 8, TRUE, &actions, &error))
        fail(runner, line, "%s", error->message);
    } else if (g_str_has_prefix(words[i], "steps=")) {
      if (!scn_parse_flags(words[i] + 6, FALSE, &steps, &error))
        fail(runner, line, "%s", error->message);
    } else {
      fail(runner, line, "unknown negotiate option \"%s\"", words[i]);
    }
  }
  mm_command_encode_negotiate(out, version, actions, steps);
  return runner->failure->len == 0;
}

/* encode_macro - "macro COMMAND name value ..." (shell-style quoting) */
static gboolean
encode_macro(Runner *runner, guint line, const char *rest, GByteArray *out)
{
  g_auto(GStrv) argv = NULL;
  g_autoptr(GError) error = NULL;
  if (!g_shell_parse_argv(rest, NULL, &argv, &error)) {
    fail(runner, line, "macro: %s", error->message);
    return FALSE;
  }
  char code = scn_command_from_name(argv[0]);
  guint n = g_strv_length(argv) - 1;
  if (code == 0 || n % 2 != 0) {
    fail(runner, line, "macro: expected a command name and name/value pairs");
    return FALSE;
  }
  g_autofree const char **names = g_new0(const char *, n / 2 + 1);
  g_autofree const char **values = g_new0(const char *, n / 2 + 1);
  for (guint i = 0; i < n / 2; i++) {
    names[i] = argv[1 + 2 * i];
    values[i] = argv[2 + 2 * i];
  }
  mm_command_encode_macro(out, code, names, values, n / 2);
  return TRUE;
}

/* family_code - "inet" etc. as the CONNECT family byte */
static char
family_code(const char *name)
{
  if (g_str_equal(name, "inet6"))
    return MM_FAMILY_INET6;
  if (g_str_equal(name, "unix"))
    return MM_FAMILY_UNIX;
  if (g_str_equal(name, "unknown"))
    return MM_FAMILY_UNKNOWN;
  return MM_FAMILY_INET;
}

/* encode_command - the packet for one mta line; its command code in *CODE */
static gboolean
encode_command(Runner *runner, guint line, const char *verb, const char *rest, char **words,
               GByteArray *out, char *code)
{
  *code = scn_command_from_name(verb);
  if (g_str_equal(verb, "negotiate"))
    return encode_negotiate(runner, line, words, out);
  if (g_str_equal(verb, "macro")) {
    *code = MM_COMMAND_MACRO;
    return encode_macro(runner, line, rest, out);
  }
  if (g_str_equal(verb, "connect")) {
    const char *host = words[1] ? words[1] : "mx.example.net";
    char family = words[1] && words[2] ? family_code(words[2]) : MM_FAMILY_INET;
    guint16 port = words[1] && words[2] && words[3] ? (guint16)atoi(words[3]) : 25;
    const char *address = words[1] && words[2] && words[3] && words[4] ? words[4] : "192.0.2.1";
    mm_command_encode_connect(out, host, family, port, address);
  } else if (g_str_equal(verb, "helo")) {
    mm_command_encode_helo(out, words[1] ? words[1] : "client.example.net");
  } else if (g_str_equal(verb, "mail") || g_str_equal(verb, "rcpt")) {
    if (words[1] == NULL) {
      fail(runner, line, "%s needs an address", verb);
      return FALSE;
    }
    if (*code == MM_COMMAND_MAIL)
      scn_mta_message_reset(runner->message, words[1]);
    mm_command_encode_envelope(out, *code, words[1], (const char *const *)words + 2);
  } else if (g_str_equal(verb, "header")) {
    g_auto(GStrv) parts = g_strsplit(rest, " ", 2);
    g_autofree char *value = g_strcompress(parts[1] ? parts[1] : "");
    scn_mta_message_add_header(runner->message, G_MAXUINT, parts[0], value);
    mm_command_encode_header(out, parts[0], value);
  } else if (g_str_equal(verb, "body") || g_str_equal(verb, "eom") ||
             g_str_equal(verb, "body-size")) {
    g_autofree char *text = NULL;
    if (g_str_equal(verb, "body-size")) {
      *code = MM_COMMAND_BODY;
      gsize size = (gsize)atol(rest);
      text = g_malloc(size + 1);
      for (gsize i = 0; i < size; i++)
        text[i] = (char)('a' + i % 26);
      text[size] = '\0';
    } else {
      text = g_strcompress(rest);
    }
    scn_mta_message_append_body(runner->message, text, *code == MM_COMMAND_END_OF_MESSAGE);
    mm_command_encode_body(out, *code, (const guint8 *)text, strlen(text));
  } else if (g_str_equal(verb, "unknown")) {
    mm_command_encode_unknown(out, rest);
  } else if (*code == MM_COMMAND_DATA || *code == MM_COMMAND_END_OF_HEADER ||
             *code == MM_COMMAND_ABORT || *code == MM_COMMAND_QUIT ||
             *code == MM_COMMAND_QUIT_NEW_CONNECTION) {
    mm_command_encode_simple(out, *code);
  } else {
    fail(runner, line, "unknown mta command \"%s\"", verb);
    return FALSE;
  }
  return TRUE;
}

/* check_consumed - every reply to the previous command was expected */
static void
check_consumed(Runner *runner, guint line)
{
  if (runner->consumed >= runner->replies->len)
    return;
  GString *extra = g_string_new(NULL);
  for (guint i = runner->consumed; i < runner->replies->len; i++)
    g_string_append_printf(extra, "\n    %s", (char *)g_ptr_array_index(runner->replies, i));
  fail(runner, line, "replies nobody expected:%s", extra->str);
  g_string_free(extra, TRUE);
}

/* run_mta - one mta line: send, then wait for the answer if one is due */
static void
run_mta(Runner *runner, const ScnLine *line, const char *rest)
{
  gboolean send_only = g_str_has_prefix(rest, "send ");
  if (send_only)
    rest += strlen("send ");
  if (!runner->pipelining) {
    check_consumed(runner, line->line);
    if (runner->failure->len)
      return;
    g_ptr_array_set_size(runner->replies, 0);
    runner->consumed = 0;
    runner->n_finals = 0;
    runner->n_due = 0;
  }
  gboolean was_pipelining = runner->pipelining;
  runner->pipelining = send_only;
  g_auto(GStrv) words = g_strsplit(rest, " ", -1);
  const char *verb = words[0];
  const char *args = strchr(rest, ' ') ? strchr(rest, ' ') + 1 : "";
  if (g_str_equal(verb, "close")) {
    runner->pipelining = FALSE;
    g_clear_pointer(&runner->mta, mm_connection_free);
    wait_for(runner, NULL, SETTLE_MS);
    return;
  }
  if (runner->mta == NULL && !open_mta(runner, line->line))
    return;
  char code = 0;
  GByteArray *out = mm_connection_output(runner->mta);
  if (!encode_command(runner, line->line, verb, args, words, out, &code))
    return;
  mm_connection_flush(runner->mta);
  if (code == MM_COMMAND_MACRO) {
    /* Macros call for no answer and do not end a pipeline. */
    runner->pipelining = was_pipelining || send_only;
    return;
  }
  if (code == MM_COMMAND_QUIT && !send_only) {
    if (!wait_for(runner, disconnected, WAIT_CLOSE_MS))
      fail(runner, line->line, "the proxy did not close after QUIT");
    runner->mta_closed = FALSE;
    return;
  }
  gboolean reply_due = code != MM_COMMAND_ABORT && code != MM_COMMAND_QUIT_NEW_CONNECTION &&
                       !(runner->agreed_steps & no_reply_flag(code));
  if (reply_due)
    runner->n_due++;
  if (send_only)
    return;
  if (!reply_due && runner->n_finals >= runner->n_due) {
    wait_for(runner, NULL, SETTLE_MS);
    return;
  }
  if (!wait_for(runner, answered, WAIT_REPLY_MS))
    fail(runner, line->line, "no answer to %s within %u ms", verb, WAIT_REPLY_MS);
  if (code == MM_COMMAND_RCPT && runner->replies->len > 0) {
    const char *last = g_ptr_array_index(runner->replies, runner->replies->len - 1);
    if (g_str_equal(last, "continue") || g_str_equal(last, "accept"))
      scn_mta_message_add_recipient(runner->message, words[1]);
  }
}

/* ---- expectations ----------------------------------------------------------------- */

/* run_expect - "expect REPLY", "expect none", "expect closed" */
static void
run_expect(Runner *runner, const ScnLine *line, const char *expected)
{
  if (g_str_equal(expected, "none")) {
    if (runner->replies->len > 0)
      check_consumed(runner, line->line);
    return;
  }
  if (g_str_equal(expected, "closed")) {
    if (!runner->mta_closed)
      fail(runner, line->line, "the proxy did not close the MTA connection");
    return;
  }
  if (runner->consumed >= runner->replies->len) {
    fail(runner, line->line, "expected \"%s\", but the MTA got no more replies%s", expected,
         runner->mta_closed ? " (connection closed)" : "");
    return;
  }
  const char *got = g_ptr_array_index(runner->replies, runner->consumed++);
  if (!g_str_equal(got, expected)) {
    GString *all = g_string_new(NULL);
    for (guint i = 0; i < runner->replies->len; i++)
      g_string_append_printf(all, "\n    %s", (char *)g_ptr_array_index(runner->replies, i));
    fail(runner, line->line, "expected \"%s\", got \"%s\"; all replies:%s", expected, got,
         all->str);
    g_string_free(all, TRUE);
  }
}

/* run_expect_message - "expect-message WHAT VALUE" */
static void
run_expect_message(Runner *runner, const ScnLine *line, const char *rest)
{
  const char *space = strchr(rest, ' ');
  g_autofree char *what = g_strndup(rest, space ? (gsize)(space - rest) : strlen(rest));
  g_autofree char *expected = g_strcompress(space ? space + 1 : "");
  g_autofree char *actual = scn_mta_message_describe(runner->message, what);
  if (actual == NULL) {
    fail(runner, line->line, "unknown expect-message check \"%s\"", what);
  } else if (!g_str_equal(actual, expected)) {
    g_autofree char *shown = scn_escape(actual, -1);
    fail(runner, line->line, "message %s: expected \"%s\", got \"%s\"", what,
         space ? space + 1 : "", shown);
  }
}

/* run_expect_child - "expect-child NAME WHAT ARGS" */
static void
run_expect_child(Runner *runner, const ScnLine *line, const char *rest)
{
  g_auto(GStrv) words = g_strsplit(rest, " ", 3);
  if (g_strv_length(words) < 2) {
    fail(runner, line->line, "expected: expect-child NAME WHAT ARGS");
    return;
  }
  for (guint i = 0; i < runner->fakes->len; i++) {
    ScnFakeChild *fake = g_ptr_array_index(runner->fakes, i);
    if (g_str_equal(scn_fake_child_get_name(fake), words[0])) {
      g_autoptr(GError) error = NULL;
      if (!scn_fake_child_check(fake, words[1], words[2] ? words[2] : "", &error))
        fail(runner, line->line, "%s", error->message);
      return;
    }
  }
  fail(runner, line->line, "no child named %s", words[0]);
}

/* run_expect_log - "expect-log TEXT": some log line contains TEXT */
static void
run_expect_log(Runner *runner, const ScnLine *line, const char *text)
{
  g_autofree char *contents = NULL;
  if (!g_file_get_contents(runner->log_path, &contents, NULL, NULL) ||
      strstr(contents, text) == NULL)
    fail(runner, line->line, "no log line contains \"%s\"", text);
}

/* ---- set-up and the test ---------------------------------------------------------- */

/* ---- a scripted applicable condition ("config stop CHILD STAGE") --------------------- */

/* The stops: "CHILD STAGE" strings; a child is stopped at every call of a listed stage. */
typedef struct {
  GPtrArray *stops;
} ScnEngine;

/* scn_engine_stopper_stages - the stages listed for MILTER_NAME */
static guint32
scn_engine_stopper_stages(gpointer engine, const char *milter_name)
{
  ScnEngine *self = engine;
  guint32 stages = 0;
  for (guint i = 0; i < self->stops->len; i++) {
    g_auto(GStrv) words = g_strsplit(g_ptr_array_index(self->stops, i), " ", 2);
    for (MmStopperStage stage = 0; stage < MM_STOPPER_COUNT; stage++)
      if (g_str_equal(words[0], milter_name) && g_str_equal(words[1], mm_stopper_stage_name(stage)))
        stages |= 1u << stage;
  }
  return stages;
}

/* scn_engine_session_begin - no per-session state; non-NULL means "conditions run" */
static gpointer
scn_engine_session_begin(gpointer engine, MmApplicableSession *session,
                         const MmApplicableSessionClass *klass)
{
  (void)session;
  (void)klass;
  return engine;
}

/* scn_engine_nothing - transaction and session ends keep nothing */
static void
scn_engine_nothing(gpointer engine, gpointer session_state)
{
  (void)engine;
  (void)session_state;
}

/* scn_engine_stop - stop MILTER_NAME at STAGE when it is listed */
static MmApplicableAnswer
scn_engine_stop(gpointer engine, gpointer session_state, const char *milter_name,
                MmStopperStage stage, const MmStopperArgs *args, MmApplicableDoneFunc done,
                gpointer done_data)
{
  (void)session_state;
  (void)args;
  (void)done;
  (void)done_data;
  return (scn_engine_stopper_stages(engine, milter_name) & (1u << stage)) ? MM_APPLICABLE_STOP
                                                                          : MM_APPLICABLE_APPLY;
}

/* scn_engine_free - with the configuration */
static void
scn_engine_free(gpointer engine)
{
  ScnEngine *self = engine;
  g_ptr_array_unref(self->stops);
  g_free(self);
}

static const MmApplicableEngineClass scn_engine_class = {
  .stopper_stages = scn_engine_stopper_stages,
  .session_begin = scn_engine_session_begin,
  .transaction_end = scn_engine_nothing,
  .session_end = scn_engine_nothing,
  .stop = scn_engine_stop,
  .free = scn_engine_free,
};

/* add_stop - "stop CHILD STAGE": the configuration gets the scripted engine at the first */
static gboolean
add_stop(MmConfig *config, const char *stop)
{
  g_auto(GStrv) words = g_strsplit(stop, " ", 0);
  if (g_strv_length(words) != 2)
    return FALSE;
  gboolean known = FALSE;
  for (MmStopperStage stage = 0; stage < MM_STOPPER_COUNT; stage++)
    known = known || g_str_equal(words[1], mm_stopper_stage_name(stage));
  if (!known)
    return FALSE;
  if (config->applicable.klass == NULL) {
    ScnEngine *engine = g_new0(ScnEngine, 1);
    engine->stops = g_ptr_array_new_with_free_func(g_free);
    config->applicable.klass = &scn_engine_class;
    config->applicable.engine = engine;
  }
  g_ptr_array_add(((ScnEngine *)config->applicable.engine)->stops, g_strdup(stop));
  return TRUE;
}

/* apply_setting - one "config KEY VALUE" line */
static gboolean
apply_setting(MmConfig *config, const char *setting)
{
  g_auto(GStrv) kv = g_strsplit(setting, " ", 2);
  if (kv[0] == NULL || kv[1] == NULL)
    return FALSE;
  if (g_str_equal(kv[0], "fallback_status"))
    return mm_status_from_string(kv[1], &config->fallback_status);
  if (g_str_equal(kv[0], "fallback_status_at_disconnect"))
    return mm_status_from_string(kv[1], &config->fallback_status_at_disconnect);
  if (g_str_equal(kv[0], "chunk_size")) {
    config->chunk_size = (guint)atoi(kv[1]);
    return TRUE;
  }
  if (g_str_equal(kv[0], "body_memory_limit")) {
    config->body_memory_limit = (gsize)atol(kv[1]);
    return TRUE;
  }
  if (g_str_equal(kv[0], "stop"))
    return add_stop(config, kv[1]);
  if (g_str_equal(kv[0], "defer_message_replies")) {
    if (g_str_equal(kv[1], "yes") || g_str_equal(kv[1], "no")) {
      config->defer_message_replies = g_str_equal(kv[1], "yes");
      return TRUE;
    }
    return FALSE;
  }
  if (g_str_equal(kv[0], "message_phase")) {
    if (g_str_equal(kv[1], "parallel") || g_str_equal(kv[1], "sequential")) {
      config->message_phase = g_str_equal(kv[1], "parallel") ? MM_MESSAGE_PHASE_PARALLEL
                                                              : MM_MESSAGE_PHASE_SEQUENTIAL;
      return TRUE;
    }
    return FALSE;
  }
  return FALSE;
}

/* setup - configuration, children and the proxy */
static gboolean
setup(Runner *runner)
{
  g_autoptr(GError) error = NULL;
  runner->directory = g_dir_make_tmp("scenario-XXXXXX", &error);
  if (runner->directory == NULL) {
    fail(runner, 0, "%s", error->message);
    return FALSE;
  }
  runner->log_path = g_build_filename(runner->directory, "log", NULL);
  if (!mm_log_open_file(runner->log_path, &error)) {
    fail(runner, 0, "%s", error->message);
    return FALSE;
  }
  mm_log_set_levels(MM_LOG_LEVEL_ALL);
  runner->config = mm_config_new();
  /* Scenarios show the answer to every step, which deferred replies would hide behind the
   * end of message: they defer only when they say so. */
  runner->config->defer_message_replies = FALSE;
  for (guint i = 0; i < runner->scenario->settings->len; i++) {
    const char *setting = g_ptr_array_index(runner->scenario->settings, i);
    if (!apply_setting(runner->config, setting)) {
      fail(runner, 0, "bad config line \"%s\"", setting);
      return FALSE;
    }
  }
  for (guint i = 0; i < runner->scenario->children->len; i++) {
    const ScnChild *spec = g_ptr_array_index(runner->scenario->children, i);
    ScnFakeChild *fake =
      scn_fake_child_new(spec, runner->scenario->rules, runner->directory, &error);
    if (fake == NULL) {
      fail(runner, 0, "child %s: %s", spec->name, error->message);
      return FALSE;
    }
    g_ptr_array_add(runner->fakes, fake);
    MmMilterConfig *milter = mm_milter_config_new(spec->name);
    milter->connection_spec = spec->has_spec ? g_strdup(scn_fake_child_get_spec(fake)) : NULL;
    milter->enabled = spec->enabled;
    milter->fallback_status = spec->fallback_status;
    milter->evaluation_mode = spec->evaluation_mode;
    milter->reading_timeout = spec->reading_timeout;
    milter->writing_timeout = spec->writing_timeout;
    milter->connection_timeout = spec->connection_timeout;
    milter->end_of_message_timeout = spec->end_of_message_timeout;
    g_ptr_array_add(runner->config->milters, milter);
  }
  runner->proxy = mm_proxy_new(runner->config);
  return TRUE;
}

/* run_script - every script line in turn, until the first failure */
static void
run_script(Runner *runner)
{
  for (guint i = 0; i < runner->scenario->script->len && runner->failure->len == 0; i++) {
    const ScnLine *line = g_ptr_array_index(runner->scenario->script, i);
    const char *space = strchr(line->text, ' ');
    const char *rest = space ? space + 1 : "";
    if (g_str_has_prefix(line->text, "mta "))
      run_mta(runner, line, rest);
    else if (g_str_has_prefix(line->text, "expect "))
      run_expect(runner, line, rest);
    else if (g_str_has_prefix(line->text, "expect-child "))
      run_expect_child(runner, line, rest);
    else if (g_str_has_prefix(line->text, "expect-message "))
      run_expect_message(runner, line, rest);
    else if (g_str_has_prefix(line->text, "expect-log "))
      run_expect_log(runner, line, rest);
  }
  if (runner->failure->len == 0) {
    /* Nothing more may arrive for the last command. */
    wait_for(runner, NULL, SETTLE_MS);
    check_consumed(runner, 0);
  }
}

/* teardown - the MTA hangs up; every session must end; everything is released */
static void
teardown(Runner *runner)
{
  g_clear_pointer(&runner->mta, mm_connection_free);
  if (runner->proxy && !wait_for(runner, no_sessions, WAIT_CLOSE_MS))
    fail(runner, 0, "the proxy session did not end after the MTA closed");
  mm_proxy_free(runner->proxy);
  g_clear_pointer(&runner->fakes, g_ptr_array_unref);
  /* Let closed connections finish their deferred frees. */
  while (g_main_context_iteration(NULL, FALSE))
    ;
  mm_config_unref(runner->config);
}

/* test_scenario - one scenario file */
static void
test_scenario(gconstpointer data)
{
  const char *path = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(Scenario) scenario = scn_scenario_load(path, &error);
  g_assert_no_error(error);
  Runner runner = {
    .scenario = scenario,
    .fakes = g_ptr_array_new_with_free_func((GDestroyNotify)scn_fake_child_free),
    .replies = g_ptr_array_new_with_free_func(g_free),
    .message = scn_mta_message_new(),
    .failure = g_string_new(NULL),
  };
  if (setup(&runner))
    run_script(&runner);
  teardown(&runner);
  mm_log_close();
  mm_log_set_levels(MM_LOG_LEVEL_NONE);
  if (runner.failure->len > 0) {
    g_autofree char *log = NULL;
    if (runner.log_path && g_file_get_contents(runner.log_path, &log, NULL, NULL)) {
      g_auto(GStrv) lines = g_strsplit(log, "\n", -1);
      for (guint i = 0; lines[i]; i++)
        if (*lines[i])
          g_test_message("log: %s", lines[i]);
    }
    g_test_fail_printf("%s", runner.failure->str);
  }
  if (runner.log_path)
    g_unlink(runner.log_path);
  if (runner.directory)
    g_rmdir(runner.directory);
  g_free(runner.log_path);
  g_free(runner.directory);
  g_ptr_array_unref(runner.replies);
  scn_mta_message_free(runner.message);
  g_string_free(runner.failure, TRUE);
}

/* compare_names - for sorting file names */
static gint
compare_names(gconstpointer a, gconstpointer b)
{
  return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

/* main - one test per scenario file, named after it */
int
main(int argc, char **argv)
{
  signal(SIGPIPE, SIG_IGN);
  /* One failing scenario must not hide the others: keep going, as if -k was given. */
  g_autofree char **args = g_new0(char *, argc + 2);
  for (int i = 0; i < argc; i++)
    args[i] = argv[i];
  args[argc] = (char *)"--keep-going";
  int n_args = argc + 1;
  char **args_view = args;
  g_test_init(&n_args, &args_view, NULL);
  const char *top_srcdir = g_getenv("top_srcdir");
  g_autofree char *directory =
    g_build_filename(top_srcdir ? top_srcdir : ".", "test", "scenario", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open(directory, 0, &error);
  g_assert_no_error(error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(dir)) != NULL) {
    if (g_str_has_suffix(name, ".scn"))
      g_ptr_array_add(names, g_strdup(name));
  }
  g_ptr_array_sort(names, compare_names);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < names->len; i++) {
    const char *file = g_ptr_array_index(names, i);
    g_autofree char *base = g_strndup(file, strlen(file) - 4);
    g_autofree char *test_path = g_strdup_printf("/scenario/%s", base);
    char *path = g_build_filename(directory, file, NULL);
    g_ptr_array_add(paths, path);
    g_test_add_data_func(test_path, path, test_scenario);
  }
  return g_test_run();
}
