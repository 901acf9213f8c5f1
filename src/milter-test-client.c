/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-test-client.c: a milter that prints (and records) every command it receives and
 * answers as its command line scripts it; serves many sessions at once until SIGTERM. */
#include "build-config.h"

#include <fcntl.h>
#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "listener.h"
#include "test-client-session.h"

#define PROGRAM_NAME "milter-test-client"
#define DEFAULT_CONNECTION_SPEC "inet:10025@[127.0.0.1]"

static TestClientScript *script;
static struct {
  char *spec, *record, *steps, *actions;
  int negotiate_version;
  gboolean quiet, verbose, version;
} options;

/* Options that add to the script, by name. */
static const struct {
  const char *option;
  gboolean is_rule;
  int kind; /* TestClientRuleKind or TestClientEditKind */
} script_options[] = {
  {"--action", TRUE, TEST_CLIENT_RULE_ACTION},
  {"--reply-code", TRUE, TEST_CLIENT_RULE_REPLY_CODE},
  {"--delay", TRUE, TEST_CLIENT_RULE_DELAY},
  {"--close-at", TRUE, TEST_CLIENT_RULE_CLOSE},
  {"--no-reply-at", TRUE, TEST_CLIENT_RULE_NO_REPLY},
  {"--add-header", FALSE, TEST_CLIENT_EDIT_ADD_HEADER},
  {"--insert-header", FALSE, TEST_CLIENT_EDIT_INSERT_HEADER},
  {"--change-header", FALSE, TEST_CLIENT_EDIT_CHANGE_HEADER},
  {"--delete-header", FALSE, TEST_CLIENT_EDIT_DELETE_HEADER},
  {"--replace-body", FALSE, TEST_CLIENT_EDIT_REPLACE_BODY},
  {"--add-recipient", FALSE, TEST_CLIENT_EDIT_ADD_RECIPIENT},
  {"--delete-recipient", FALSE, TEST_CLIENT_EDIT_DELETE_RECIPIENT},
  {"--change-from", FALSE, TEST_CLIENT_EDIT_CHANGE_FROM},
  {"--quarantine", FALSE, TEST_CLIENT_EDIT_QUARANTINE},
};

/* parse_script_option - any option of script_options, in command-line order */
static gboolean
parse_script_option(const char *option, const char *value, gpointer data, GError **error)
{
  (void)data;
  for (gsize i = 0; i < G_N_ELEMENTS(script_options); i++) {
    if (strcmp(option, script_options[i].option) != 0)
      continue;
    gboolean ok = script_options[i].is_rule
                    ? test_client_script_add_rule(script, script_options[i].kind, value, error)
                    : test_client_script_add_edit(script, script_options[i].kind, value, error);
    if (!ok)
      g_prefix_error(error, "%s: ", option);
    return ok;
  }
  g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "unknown option %s", option);
  return FALSE;
}

/* parse_progress - --progress N */
static gboolean
parse_progress(const char *option, const char *value, gpointer data, GError **error)
{
  (void)option, (void)data;
  return test_client_script_set_progress(script, value, error);
}

/* parse_symlist - --symlist STAGE:MACROS */
static gboolean
parse_symlist(const char *option, const char *value, gpointer data, GError **error)
{
  (void)option, (void)data;
  return test_client_script_add_symlist(script, value, error);
}

#define SCRIPT(name, description, arg) \
  {name, 0, 0, G_OPTION_ARG_CALLBACK, parse_script_option, description, arg}

static const GOptionEntry entries[] = {
  {"connection-spec", 's', 0, G_OPTION_ARG_STRING, &options.spec,
   "Listen on SPEC (unix:PATH|inet:PORT[@HOST]|inet6:PORT[@HOST]; default "
   DEFAULT_CONNECTION_SPEC ")", "SPEC"},
  {"quiet", 'q', 0, G_OPTION_ARG_NONE, &options.quiet, "Print nothing on standard output", NULL},
  {"record", 0, 0, G_OPTION_ARG_FILENAME, &options.record,
   "Append one line per command received to FILE", "FILE"},
  SCRIPT("action", "Answer STAGE[@N] with STATUS (continue, accept, reject, temporary-failure, "
                   "discard, skip)", "STAGE[@N]=STATUS"),
  SCRIPT("reply-code", "Answer STAGE[@N] with an SMTP reply", "STAGE[@N]=CODE TEXT"),
  SCRIPT("delay", "Answer STAGE[@N] after MS milliseconds", "STAGE[@N]=MS"),
  SCRIPT("close-at", "Close the connection instead of answering STAGE[@N]", "STAGE[@N]"),
  SCRIPT("no-reply-at", "Never answer STAGE[@N]", "STAGE[@N]"),
  SCRIPT("add-header", "At end of message: add a header", "NAME:VALUE"),
  SCRIPT("insert-header", "At end of message: insert a header at INDEX (0 = first)",
         "INDEX:NAME:VALUE"),
  SCRIPT("change-header", "At end of message: change the INDEX-th (1 = first) NAME header",
         "NAME:INDEX:VALUE"),
  SCRIPT("delete-header", "At end of message: delete the INDEX-th NAME header", "NAME:INDEX"),
  SCRIPT("replace-body", "At end of message: replace the body", "TEXT"),
  SCRIPT("add-recipient", "At end of message: add a recipient", "ADDRESS[:ARGS]"),
  SCRIPT("delete-recipient", "At end of message: delete a recipient", "ADDRESS"),
  SCRIPT("change-from", "At end of message: change the envelope sender", "ADDRESS[:ARGS]"),
  SCRIPT("quarantine", "At end of message: quarantine the message", "REASON"),
  {"progress", 0, 0, G_OPTION_ARG_CALLBACK, parse_progress,
   "At end of message: send N progress packets first", "N"},
  {"negotiate-version", 0, 0, G_OPTION_ARG_INT, &options.negotiate_version,
   "Answer negotiate with VERSION (default: the MTA's, at most 6)", "VERSION"},
  {"steps", 0, 0, G_OPTION_ARG_STRING, &options.steps,
   "Ask for these protocol steps (e.g. no-body|nr-header)", "FLAGS"},
  {"actions", 0, 0, G_OPTION_ARG_STRING, &options.actions,
   "Ask for these actions (e.g. add-headers|quarantine; default: all offered)", "FLAGS"},
  {"symlist", 0, 0, G_OPTION_ARG_CALLBACK, parse_symlist,
   "Ask for these macros at STAGE (e.g. connect:{daemon_name} j)", "STAGE:MACROS"},
  {"verbose", 'v', 0, G_OPTION_ARG_NONE, &options.verbose, "Accepted; output is complete", NULL},
  {"version", 0, 0, G_OPTION_ARG_NONE, &options.version, "Show the version", NULL},
  {NULL, 0, 0, 0, NULL, NULL, NULL},
};

/* stop - SIGTERM or SIGINT: leave the main loop */
static gboolean
stop(gpointer user_data)
{
  g_main_loop_quit(user_data);
  return G_SOURCE_CONTINUE;
}

/* accepted - a new MTA connection */
static void
accepted(int fd, gpointer user_data)
{
  test_client_session_start(user_data, fd);
}

/* apply_negotiation_options - --negotiate-version, --steps, --actions into the script */
static gboolean
apply_negotiation_options(GError **error)
{
  if (options.negotiate_version != 0 &&
      !test_client_script_set_version(script, options.negotiate_version, error))
    return FALSE;
  if (options.steps != NULL && !test_client_script_set_steps(script, options.steps, error))
    return FALSE;
  if (options.actions != NULL && !test_client_script_set_actions(script, options.actions, error))
    return FALSE;
  return TRUE;
}

/* run - listen and serve until a signal */
static int
run(void)
{
  GError *error = NULL;
  g_autoptr(MmConnectionSpec) spec =
    mm_connection_spec_parse(options.spec != NULL ? options.spec : DEFAULT_CONNECTION_SPEC,
                             &error);
  if (spec == NULL) {
    fprintf(stderr, "%s: %s\n", PROGRAM_NAME, error->message);
    g_error_free(error);
    return 1;
  }
  TestClientContext context = {
    .script = script,
    .quiet = options.quiet,
    .record_fd = -1,
    .sessions = g_hash_table_new_full(g_direct_hash, g_direct_equal, test_client_session_free,
                                      NULL),
  };
  int status = 1;
  MmListener *listener = NULL;
  if (options.record != NULL) {
    context.record_fd = open(options.record, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (context.record_fd < 0) {
      fprintf(stderr, "%s: cannot open %s: %s\n", PROGRAM_NAME, options.record,
              g_strerror(errno));
      goto out;
    }
  }
  listener = mm_listener_new(spec, NULL, &error);
  if (listener == NULL) {
    fprintf(stderr, "%s: %s\n", PROGRAM_NAME, error->message);
    g_error_free(error);
    goto out;
  }
  GMainLoop *loop = g_main_loop_new(NULL, FALSE);
  guint term = g_unix_signal_add(SIGTERM, stop, loop);
  guint interrupt = g_unix_signal_add(SIGINT, stop, loop);
  mm_listener_start(listener, accepted, &context);
  /* On standard error even with -q: scripts wait for this line before connecting. */
  fprintf(stderr, "%s: listening on %s\n", PROGRAM_NAME, spec->text);
  g_main_loop_run(loop);
  g_source_remove(term);
  g_source_remove(interrupt);
  g_main_loop_unref(loop);
  status = 0;
out:
  mm_listener_free(listener);
  g_hash_table_destroy(context.sessions);
  if (context.record_fd >= 0)
    close(context.record_fd);
  return status;
}

/* main - parse the script, serve */
int
main(int argc, char **argv)
{
  setlocale(LC_ALL, "");
  g_set_prgname(PROGRAM_NAME);
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  script = test_client_script_new();
  GError *error = NULL;
  GOptionContext *context = g_option_context_new("- a milter that prints what it receives");
  g_option_context_add_main_entries(context, entries, NULL);
  gboolean parsed = g_option_context_parse(context, &argc, &argv, &error) &&
                    apply_negotiation_options(&error);
  g_option_context_free(context);
  int status;
  if (!parsed) {
    fprintf(stderr, "%s: %s\n", PROGRAM_NAME, error->message);
    g_error_free(error);
    status = 1;
  } else if (options.version) {
    printf("%s %s\n", PROGRAM_NAME, PACKAGE_VERSION);
    status = 0;
  } else {
    status = run();
  }
  test_client_script_free(script);
  g_free(options.spec);
  g_free(options.record);
  g_free(options.steps);
  g_free(options.actions);
  return status;
}
