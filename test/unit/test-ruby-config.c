/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-ruby-config.c: unit tests for the embedded Ruby configuration (ruby-config.h):
 * 2.3 files, defaults, error reports, reload isolation, --show-config, signals, fork. */
#include "config.h"

#include "binding/ruby-config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Signals Ruby installs handlers for, with their dispositions before it started. */
static const int watched_signals[] = { SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGALRM,
                                       SIGUSR1 };
static struct sigaction watched_before[G_N_ELEMENTS(watched_signals)];
static gboolean usr2_handled = FALSE;

/* on_usr2 - the handler installed before Ruby starts, which must survive it */
static void
on_usr2(int signo)
{
  usr2_handled = TRUE;
}

/* data_dir - a directory of test/data/config, without "..": the loader names files so */
static char *
data_dir(const char *name)
{
  g_autofree char *path = g_build_filename(MM_TEST_DATA_DIR, name, NULL);
  return g_canonicalize_filename(path, NULL);
}

/* temp_config - a temporary configuration directory holding FILE = TEXT pairs */
static char *
temp_config(const char *first_file, ...)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp("test-ruby-config-XXXXXX", &error);
  g_assert_no_error(error);
  va_list args;
  va_start(args, first_file);
  for (const char *file = first_file; file != NULL; file = va_arg(args, const char *)) {
    const char *text = va_arg(args, const char *);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autofree char *parent = g_path_get_dirname(path);
    g_assert_cmpint(g_mkdir_with_parents(parent, 0700), ==, 0);
    g_file_set_contents(path, text, -1, &error);
    g_assert_no_error(error);
  }
  va_end(args);
  return dir;
}

/* remove_tree - delete a temporary directory made by temp_config */
static void
remove_tree(const char *path)
{
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
    GDir *dir = g_dir_open(path, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
      g_autofree char *child = g_build_filename(path, name, NULL);
      remove_tree(child);
    }
    if (dir != NULL)
      g_dir_close(dir);
    g_rmdir(path);
  } else {
    g_unlink(path);
  }
}

/* load_dir - load milter-manager.conf from DIR alone */
static MmConfig *
load_dir(const char *dir, GError **error)
{
  const char *dirs[] = { dir, NULL };
  return mm_ruby_config_load(dirs, error);
}

/* load_error - load DIR, which must fail; the error's message */
static char *
load_error(const char *dir, int code)
{
  GError *error = NULL;
  MmConfig *config = load_dir(dir, &error);
  g_assert_null(config);
  g_assert_error(error, MM_RUBY_ERROR, code);
  char *message = g_strdup(error->message);
  g_error_free(error);
  return message;
}

/* assert_contains - HAYSTACK has NEEDLE, with both shown when not */
static void
assert_contains(const char *haystack, const char *needle)
{
  if (strstr(haystack, needle) == NULL)
    g_error("expected to find\n  %s\nin\n  %s", needle, haystack);
}

static void
test_signals(void)
{
  struct sigaction now;
  for (guint i = 0; i < G_N_ELEMENTS(watched_signals); i++) {
    g_assert_cmpint(sigaction(watched_signals[i], NULL, &now), ==, 0);
    g_assert_true(now.sa_handler == watched_before[i].sa_handler);
  }
  g_assert_cmpint(sigaction(SIGHUP, NULL, &now), ==, 0);
  g_assert_true(now.sa_handler == SIG_DFL || now.sa_handler == SIG_IGN);
  /* SIGCHLD stays Ruby's: it reaps the children of `command` with it. */
  g_assert_cmpint(sigaction(SIGCHLD, NULL, &now), ==, 0);
  g_assert_true(now.sa_handler != SIG_DFL && now.sa_handler != SIG_IGN);
  g_assert_cmpint(sigaction(SIGUSR2, NULL, &now), ==, 0);
  g_assert_true(now.sa_handler == on_usr2);
  raise(SIGUSR2);
  g_assert_true(usr2_handled);
}

static void
test_typical(void)
{
  g_autofree char *dir = data_dir("typical");
  GError *error = NULL;
  g_autoptr(MmConfig) config = load_dir(dir, &error);
  g_assert_no_error(error);

  g_assert_true(config->privilege_mode);
  g_assert_cmpstr(config->effective_user, ==, "milter-manager");
  g_assert_cmpstr(config->effective_group, ==, "milter-manager");
  g_assert_cmpstr(config->log_level, ==, "info|debug");
  g_assert_false(config->log_use_syslog);
  g_assert_cmpstr(config->log_syslog_facility, ==, "mail");
  g_assert_cmpstr(config->connection_spec, ==,
                  "unix:/var/run/milter-manager/milter-manager.sock");
  g_assert_cmpuint(config->unix_socket_mode, ==, 0600);
  g_assert_cmpstr(config->unix_socket_group, ==, "postfix");
  g_assert_true(config->daemon);
  g_assert_cmpuint(config->max_connections, ==, 100);
  g_assert_cmpuint(config->max_file_descriptors, ==, 4096);
  g_assert_cmpint(config->fallback_status, ==, MM_STATUS_TEMPORARY_FAILURE);
  g_assert_cmpint(config->fallback_status_at_disconnect, ==, MM_STATUS_ACCEPT);
  g_assert_cmpstr(config->event_loop_backend, ==, "libev");
  g_assert_cmpuint(config->n_workers, ==, 4);
  g_assert_cmpuint(config->connection_check_interval, ==, 5);
  g_assert_cmpstr(config->controller_connection_spec, ==, "inet:10026@localhost");
  g_assert_cmpuint(config->controller_unix_socket_mode, ==, 0600);

  g_assert_cmpuint(config->milters->len, ==, 2);
  MmMilterConfig *clamav = g_ptr_array_index(config->milters, 0);
  g_assert_cmpstr(clamav->name, ==, "clamav-milter");
  g_assert_true(mm_config_find_milter(config, "clamav-milter") == clamav);
  g_assert_null(mm_config_find_milter(config, "spamass-milter"));
  g_assert_cmpstr(clamav->connection_spec, ==, "unix:/var/run/clamav/clamav-milter.ctl");
  g_assert_cmpstr(clamav->description, ==, "ClamAV");
  g_assert_true(clamav->enabled);
  g_assert_cmpint(clamav->fallback_status, ==, MM_STATUS_REJECT);
  g_assert_false(clamav->evaluation_mode);
  g_assert_cmpuint(clamav->applicable_conditions->len, ==, 1);
  g_assert_cmpstr(g_ptr_array_index(clamav->applicable_conditions, 0), ==, "Remote Network");
  g_assert_cmpstr(clamav->command, ==, "/etc/init.d/clamav-milter");
  g_assert_cmpstr(clamav->command_options, ==, "start --foreground");
  g_assert_cmpstr(clamav->user_name, ==, "clamav");
  g_assert_cmpfloat(clamav->connection_timeout, ==, 60.0);
  g_assert_cmpfloat(clamav->writing_timeout, ==, 15.0);
  g_assert_cmpfloat(clamav->reading_timeout, ==, 15.5);
  g_assert_cmpfloat(clamav->end_of_message_timeout, ==, 200.0);

  MmMilterConfig *greylist = g_ptr_array_index(config->milters, 1);
  g_assert_cmpstr(greylist->name, ==, "milter-greylist");
  g_assert_cmpstr(greylist->connection_spec, ==, "inet:11125@[127.0.0.1]");
  g_assert_null(greylist->description);
  g_assert_true(greylist->evaluation_mode);
  g_assert_cmpint(greylist->fallback_status, ==, MM_STATUS_TEMPORARY_FAILURE);
  g_assert_cmpuint(greylist->applicable_conditions->len, ==, 2);
  g_assert_cmpstr(g_ptr_array_index(greylist->applicable_conditions, 0), ==, "S25R");
  g_assert_cmpstr(g_ptr_array_index(greylist->applicable_conditions, 1), ==,
                  "Remote Network");
  g_assert_cmpfloat(greylist->writing_timeout, ==, 20.0);
  g_assert_cmpfloat(greylist->reading_timeout, ==, 7.0);
  g_assert_cmpfloat(greylist->connection_timeout, ==, 297.0);
}

/* assert_default_config - every field of CONFIG as mm_config_new() has it */
static void
assert_default_config(const MmConfig *config)
{
  g_autoptr(MmConfig) defaults = mm_config_new();
  g_assert_cmpstr(config->package_platform, ==, defaults->package_platform);
  g_assert_cmpstr(config->package_options, ==, defaults->package_options);
  g_assert_false(config->privilege_mode);
  g_assert_cmpstr(config->effective_user, ==, defaults->effective_user);
  g_assert_cmpstr(config->effective_group, ==, defaults->effective_group);
  g_assert_cmpstr(config->log_level, ==, "default");
  g_assert_null(config->log_path);
  g_assert_true(config->log_use_syslog);
  g_assert_cmpstr(config->log_syslog_facility, ==, "mail");
  g_assert_cmpstr(config->connection_spec, ==, defaults->connection_spec);
  g_assert_cmpuint(config->unix_socket_mode, ==, 0660);
  g_assert_cmpstr(config->unix_socket_group, ==, defaults->unix_socket_group);
  g_assert_true(config->remove_unix_socket_on_create);
  g_assert_true(config->remove_unix_socket_on_close);
  g_assert_false(config->daemon);
  g_assert_cmpstr(config->pid_file, ==, defaults->pid_file);
  g_assert_cmpuint(config->maintenance_interval, ==, 10);
  g_assert_cmpuint(config->suspend_time_on_unacceptable, ==, 5);
  g_assert_cmpuint(config->max_connections, ==, 0);
  g_assert_cmpuint(config->max_file_descriptors, ==, 0);
  g_assert_cmpuint(config->max_pending_finished_sessions, ==, 0);
  g_assert_null(config->custom_configuration_directory);
  g_assert_cmpint(config->fallback_status, ==, MM_STATUS_ACCEPT);
  g_assert_cmpint(config->fallback_status_at_disconnect, ==, MM_STATUS_TEMPORARY_FAILURE);
  g_assert_cmpstr(config->event_loop_backend, ==, "glib");
  g_assert_cmpuint(config->n_workers, ==, 0);
  g_assert_cmpuint(config->packet_buffer_size, ==, 0);
  g_assert_cmpuint(config->connection_check_interval, ==, 0);
  g_assert_cmpuint(config->chunk_size, ==, 65535);
  g_assert_cmpint(config->message_phase, ==, MM_MESSAGE_PHASE_SEQUENTIAL);
  g_assert_cmpuint(config->body_memory_limit, ==, 5 * 1024 * 1024);
  g_assert_true(config->defer_message_replies);
  g_assert_null(config->controller_connection_spec);
  g_assert_cmpuint(config->controller_unix_socket_mode, ==, 0660);
  g_assert_null(config->controller_unix_socket_group);
  g_assert_true(config->controller_remove_unix_socket_on_create);
  g_assert_true(config->controller_remove_unix_socket_on_close);
  g_assert_cmpuint(config->milters->len, ==, 0);
}

static void
test_defaults(void)
{
  g_autofree char *dir = data_dir("empty");
  GError *error = NULL;
  g_autoptr(MmConfig) config = load_dir(dir, &error);
  g_assert_no_error(error);
  assert_default_config(config);
  g_assert_cmpint(config->ref_count, ==, 1);
}

static void
test_milter_defaults(void)
{
  g_autofree char *dir = temp_config("milter-manager.conf",
                                     "define_milter(\"a\") do |milter|\n"
                                     "end\n"
                                     "define_milter(\"b\") do |milter|\n"
                                     "  milter.description = milter.fallback_status\n"
                                     "end\n"
                                     "# 2.3's manager.fallback_status getter returned nil\n"
                                     "if manager.fallback_status == \"accept\"\n"
                                     "  manager.max_connections = 11\n"
                                     "end\n"
                                     "manager.message_phase = \"parallel\"\n"
                                     "manager.body_memory_limit = 1024\n"
                                     "manager.defer_message_replies = false\n", NULL);
  GError *error = NULL;
  g_autoptr(MmConfig) config = load_dir(dir, &error);
  g_assert_no_error(error);
  g_assert_cmpint(config->message_phase, ==, MM_MESSAGE_PHASE_PARALLEL);
  g_assert_cmpuint(config->body_memory_limit, ==, 1024);
  g_assert_false(config->defer_message_replies);
  g_assert_cmpuint(config->max_connections, ==, 11);
  g_assert_cmpuint(config->milters->len, ==, 2);
  g_assert_cmpstr(((MmMilterConfig *)g_ptr_array_index(config->milters, 1))->description, ==,
                  "accept");
  MmMilterConfig *milter = g_ptr_array_index(config->milters, 0);
  g_assert_null(milter->connection_spec);
  g_assert_true(milter->enabled);
  g_assert_cmpint(milter->fallback_status, ==, MM_STATUS_ACCEPT);
  g_assert_false(milter->evaluation_mode);
  g_assert_cmpuint(milter->applicable_conditions->len, ==, 0);
  g_assert_cmpfloat(milter->connection_timeout, ==, 297.0);
  g_assert_cmpfloat(milter->writing_timeout, ==, 7.0);
  g_assert_cmpfloat(milter->reading_timeout, ==, 7.0);
  g_assert_cmpfloat(milter->end_of_message_timeout, ==, 297.0);
  remove_tree(dir);
}

/* A broken local.conf: the error must name its file and line and Ruby's message. */
typedef struct {
  const char *path;
  const char *local_text;
  int line;
  const char *message;
} BrokenCase;

static const BrokenCase broken_cases[] = {
  { "/ruby-config/error/syntax",
    "manager.daemon = true\ndefine_milter(\"a\") do |milter|\n  milter.enabled = (\nend\n",
    4, "syntax error" },
  { "/ruby-config/error/unknown-item",
    "manager.daemon = true\n\nmanager.conection_spec = \"inet:1@localhost\"\n",
    3, "unknown item manager.conection_spec=" },
  { "/ruby-config/error/unknown-milter-item",
    "define_milter(\"a\") do |milter|\n  milter.timeout = 3\nend\n",
    2, "unknown item milter.timeout=" },
  { "/ruby-config/error/unknown-function",
    "\ndefine_miltr(\"a\") do |milter|\nend\n",
    2, "unknown item define_miltr" },
  { "/ruby-config/error/bad-status",
    "define_milter(\"a\") do |milter|\n  milter.connection_spec = \"inet:1\"\n"
    "  milter.fallback_status = \"bounce\"\nend\n",
    3, "invalid milter.fallback_status \"bounce\": must be accept, reject, "
       "temporary-failure or discard" },
  { "/ruby-config/error/bad-manager-status",
    "manager.fallback_status = \"continue\"\n",
    1, "invalid manager.fallback_status \"continue\"" },
  { "/ruby-config/error/bad-spec-type",
    "define_milter(\"a\") do |milter|\n  milter.connection_spec = 10026\nend\n",
    2, "invalid milter.connection_spec 10026: must be unix:PATH" },
  { "/ruby-config/error/bad-spec",
    "manager.connection_spec = \"tcp:10025\"\n",
    1, "invalid manager.connection_spec \"tcp:10025\"" },
  { "/ruby-config/error/bad-port",
    "controller.connection_spec = \"inet:70000@localhost\"\n",
    1, "port must be from 0 to 65535" },
  { "/ruby-config/error/unknown-condition",
    "define_milter(\"a\") do |milter|\n  milter.applicable_conditions = [\"S25R\"]\nend\n",
    2, "invalid milter.applicable_condition \"S25R\": no applicable condition is defined" },
  { "/ruby-config/error/unknown-added-condition",
    "define_applicable_condition(\"Trust\") do |condition|\nend\n"
    "define_milter(\"a\") do |milter|\n  milter.add_applicable_condition(\"S25R\")\nend\n",
    4, "invalid milter.applicable_condition \"S25R\": must be \"Trust\"" },
  { "/ruby-config/error/missing-load",
    "\nload(\"nonexistent.conf\")\n",
    2, "nonexistent.conf doesn't exist" },
  { "/ruby-config/error/bad-timeout",
    "define_milter(\"a\") do |milter|\n  milter.writing_timeout = -1\nend\n",
    2, "invalid milter.writing_timeout -1: must be a positive number of seconds" },
  { "/ruby-config/error/bad-mode",
    "manager.unix_socket_mode = 0o17777\n",
    1, "invalid manager.unix_socket_mode 8191" },
  { "/ruby-config/error/bad-boolean",
    "manager.daemon = \"yes please\"\n",
    1, "invalid manager.daemon \"yes please\": must be true or false" },
  { "/ruby-config/error/bad-chunk-size",
    "manager.chunk_size = 65536\n",
    1, "invalid manager.chunk_size 65536: must be an integer from 1 to 65535" },
  { "/ruby-config/error/bad-workers",
    "manager.n_workers = 1001\n",
    1, "invalid manager.n_workers 1001" },
  { "/ruby-config/error/bad-log-level",
    "log.level = \"info|loud\"\n",
    1, "invalid log.level \"info|loud\"" },
  { "/ruby-config/error/ruby-raise",
    "\n\nraise \"custom failure\"\n",
    3, "custom failure (RuntimeError)" },
  { "/ruby-config/error/self-load",
    "load(\"milter-manager.local.conf\")\n",
    1, "load nesting deeper than" },
};

static void
test_broken(gconstpointer data)
{
  const BrokenCase *broken = data;
  g_autofree char *dir = temp_config("milter-manager.conf",
                                     "manager.daemon = false\n"
                                     "load_if_exist(\"milter-manager.local.conf\")\n",
                                     "milter-manager.local.conf", broken->local_text, NULL);
  g_autofree char *message = load_error(dir, MM_RUBY_ERROR_CONFIG);
  g_test_message("%s", message);
  g_autofree char *where = g_strdup_printf("%s/milter-manager.local.conf:%d: ", dir,
                                           broken->line);
  if (!g_str_has_prefix(message, where))
    g_error("expected the error to start with %s:\n%s", where, message);
  assert_contains(message, broken->message);
  /* The backtrace names the line of the main file that loaded the broken one. */
  g_autofree char *from = g_strdup_printf("from %s/milter-manager.conf:2", dir);
  assert_contains(message, from);
  remove_tree(dir);
}

static void
test_not_found(void)
{
  g_autofree char *dir = temp_config("other.conf", "\n", NULL);
  g_autofree char *message = load_error(dir, MM_RUBY_ERROR_NOT_FOUND);
  assert_contains(message, "no milter-manager.conf in ");
  assert_contains(message, dir);
  remove_tree(dir);
}

static void
test_reload_keeps_previous(void)
{
  g_autofree char *dir = temp_config("milter-manager.conf",
                                     "manager.max_connections = 7\n"
                                     "define_milter(\"a\") do |milter|\n"
                                     "  milter.connection_spec = \"inet:2929\"\n"
                                     "end\n", NULL);
  GError *error = NULL;
  g_autoptr(MmConfig) first = load_dir(dir, &error);
  g_assert_no_error(error);
  g_autofree char *first_dump = mm_ruby_config_dump(&error);
  g_assert_no_error(error);

  g_autofree char *path = g_build_filename(dir, "milter-manager.conf", NULL);
  g_file_set_contents(path,
                      "manager.max_connections = 9\n"
                      "define_milter(\"b\") do |milter|\n"
                      "  milter.connection_spec = \"inet:2930\"\n"
                      "end\n"
                      "manager.fallback_status = \"bounce\"\n", -1, &error);
  g_assert_no_error(error);
  g_autofree char *message = load_error(dir, MM_RUBY_ERROR_CONFIG);
  assert_contains(message, "milter-manager.conf:5: invalid manager.fallback_status");

  /* The earlier configuration is untouched, and --show-config still shows it. */
  g_assert_cmpint(first->ref_count, ==, 1);
  g_assert_cmpuint(first->max_connections, ==, 7);
  g_assert_cmpuint(first->milters->len, ==, 1);
  g_assert_cmpstr(((MmMilterConfig *)g_ptr_array_index(first->milters, 0))->name, ==, "a");
  g_autofree char *dump = mm_ruby_config_dump(&error);
  g_assert_no_error(error);
  g_assert_cmpstr(dump, ==, first_dump);

  /* A good reload starts clean: nothing of the first load remains. */
  g_file_set_contents(path, "manager.daemon = true\n", -1, &error);
  g_assert_no_error(error);
  g_autoptr(MmConfig) second = load_dir(dir, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(second->max_connections, ==, 0);
  g_assert_cmpuint(second->milters->len, ==, 0);
  g_assert_true(second->daemon);
  g_assert_cmpuint(first->max_connections, ==, 7);
  remove_tree(dir);
}

/* ruby_inspect - how Ruby's String#inspect writes a plain ASCII VALUE, or nil */
static char *
ruby_inspect(const char *value)
{
  if (value == NULL)
    return g_strdup("nil");
  GString *text = g_string_new("\"");
  for (const char *p = value; *p != '\0'; p++) {
    if (*p == '"' || *p == '\\' || *p == '#')
      g_string_append_c(text, '\\');
    g_string_append_c(text, *p);
  }
  g_string_append_c(text, '"');
  return g_string_free(text, FALSE);
}

static void
test_dump_exact(void)
{
  g_autofree char *dir = temp_config("milter-manager.conf",
                                     "security.effective_user = \"nobody\"\n"
                                     "define_applicable_condition(\"S25R\") do |condition|\n"
                                     "  condition.description = \"Selective SMTP Rejection\"\n"
                                     "end\n"
                                     "define_milter(\"milter1\") do |milter|\n"
                                     "  milter.connection_spec = \"unix:/tmp/xxx\"\n"
                                     "  milter.add_applicable_condition(\"S25R\")\n"
                                     "end\n"
                                     "manager.maintenance_interval = 0\n", NULL);
  GError *error = NULL;
  g_autoptr(MmConfig) config = load_dir(dir, &error);
  g_assert_no_error(error);
  g_autofree char *dump = mm_ruby_config_dump(&error);
  g_assert_no_error(error);

  g_autoptr(MmConfig) d = mm_config_new();
  g_autofree char *platform = ruby_inspect(d->package_platform);
  g_autofree char *options = ruby_inspect(d->package_options);
  g_autofree char *group = ruby_inspect(d->effective_group);
  g_autofree char *spec = ruby_inspect(d->connection_spec);
  g_autofree char *socket_group = ruby_inspect(d->unix_socket_group);
  g_autofree char *pid_file = ruby_inspect(d->pid_file);
  g_autofree char *file = g_build_filename(dir, "milter-manager.conf", NULL);
  g_autofree char *expected = g_strdup_printf(
    "# default\npackage.platform = %s\n"
    "# default\npackage.options = %s\n"
    "\n"
    "# default\nsecurity.privilege_mode = false\n"
    "# %s:1\nsecurity.effective_user = \"nobody\"\n"
    "# default\nsecurity.effective_group = %s\n"
    "\n"
    "# default\nlog.level = \"default\"\n"
    "# default\nlog.path = nil\n"
    "# default\nlog.use_syslog = true\n"
    "# default\nlog.syslog_facility = \"mail\"\n"
    "\n"
    "# default\nmanager.connection_spec = %s\n"
    "# default\nmanager.unix_socket_mode = 0660\n"
    "# default\nmanager.unix_socket_group = %s\n"
    "# default\nmanager.remove_unix_socket_on_create = true\n"
    "# default\nmanager.remove_unix_socket_on_close = true\n"
    "# default\nmanager.daemon = false\n"
    "# default\nmanager.pid_file = %s\n"
    "# %s:9\nmanager.maintenance_interval = nil\n"
    "# default\nmanager.suspend_time_on_unacceptable = 5\n"
    "# default\nmanager.max_connections = 0\n"
    "# default\nmanager.max_file_descriptors = 0\n"
    "# default\nmanager.max_pending_finished_sessions = 0\n"
    "# default\nmanager.custom_configuration_directory = nil\n"
    "# default\nmanager.fallback_status = \"accept\"\n"
    "# default\nmanager.fallback_status_at_disconnect = \"temporary-failure\"\n"
    "# default\nmanager.event_loop_backend = \"glib\"\n"
    "# default\nmanager.n_workers = 0\n"
    "# default\nmanager.packet_buffer_size = 0\n"
    "# default\nmanager.connection_check_interval = 0\n"
    "# default\nmanager.chunk_size = 65535\n"
    "# default\nmanager.message_phase = \"sequential\"\n"
    "# default\nmanager.body_memory_limit = 5242880\n"
    "# default\nmanager.defer_message_replies = true\n"
    "\n"
    "# default\ncontroller.connection_spec = nil\n"
    "# default\ncontroller.unix_socket_mode = 0660\n"
    "# default\ncontroller.unix_socket_group = nil\n"
    "# default\ncontroller.remove_unix_socket_on_create = true\n"
    "# default\ncontroller.remove_unix_socket_on_close = true\n"
    "\n"
    "# default\ndatabase.type = nil\n"
    "# default\ndatabase.name = nil\n"
    "# default\ndatabase.host = nil\n"
    "# default\ndatabase.port = nil\n"
    "# default\ndatabase.path = nil\n"
    "# default\ndatabase.user = nil\n"
    "# default\ndatabase.password = nil\n"
    "\n"
    "# %s:2\n"
    "define_applicable_condition(\"S25R\") do |condition|\n"
    "  # %s:3\n"
    "  condition.description = \"Selective SMTP Rejection\"\n"
    "end\n"
    "\n"
    "# %s:5\n"
    "define_milter(\"milter1\") do |milter|\n"
    "  # %s:6\n"
    "  milter.connection_spec = \"unix:/tmp/xxx\"\n"
    "  # default\n  milter.description = nil\n"
    "  # default\n  milter.enabled = true\n"
    "  # default\n  milter.fallback_status = \"accept\"\n"
    "  # default\n  milter.evaluation_mode = false\n"
    "  milter.applicable_conditions = [\n"
    "    # %s:7\n"
    "    \"S25R\",\n"
    "  ]\n"
    "  # default\n  milter.command = nil\n"
    "  # default\n  milter.command_options = nil\n"
    "  # default\n  milter.user_name = nil\n"
    "  # default\n  milter.connection_timeout = 297.0\n"
    "  # default\n  milter.writing_timeout = 7.0\n"
    "  # default\n  milter.reading_timeout = 7.0\n"
    "  # default\n  milter.end_of_message_timeout = 297.0\n"
    "end\n",
    platform, options, file, group, spec, socket_group, pid_file, file,
    file, file, file, file, file);
  g_assert_cmpstr(dump, ==, expected);
  remove_tree(dir);
}

/* strip_comments - TEXT without its "#" comment lines */
static char *
strip_comments(const char *text)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  GString *result = g_string_new(NULL);
  for (guint i = 0; lines[i] != NULL; i++) {
    const char *line = lines[i];
    while (*line == ' ')
      line++;
    if (*line != '#')
      g_string_append_printf(result, "%s\n", lines[i]);
  }
  return g_string_free(result, FALSE);
}

/* assert_comments_point_below - each comment in DUMP of FILE names the line below it */
static void
assert_comments_point_below(const char *dump, const char *file)
{
  g_auto(GStrv) lines = g_strsplit(dump, "\n", -1);
  g_autofree char *prefix = g_strdup_printf("# %s:", file);
  guint n_checked = 0;
  guint list_line = 0;
  for (guint i = 0; lines[i] != NULL; i++) {
    const char *line = lines[i];
    while (*line == ' ')
      line++;
    if (g_str_has_suffix(line, "applicable_conditions = ["))
      list_line = i + 1;
    if (!g_str_has_prefix(line, "#"))
      continue;
    /* Setting nil restores the default (as in 2.3), and so does an empty list. */
    if (g_str_equal(line, "# default") && lines[i + 1] != NULL &&
        (g_str_has_suffix(lines[i + 1], " = nil") ||
         g_str_has_suffix(lines[i + 1], "applicable_conditions = []")))
      continue;
    if (!g_str_has_prefix(line, prefix))
      g_error("line %u is not a location in %s: %s", i + 1, file, line);
    guint64 number = g_ascii_strtoull(line + strlen(prefix), NULL, 10);
    /* The names of a list were all set by the one assignment that opens it. */
    g_assert_cmpuint(number, ==, line - lines[i] == 4 ? list_line : i + 2);
    n_checked++;
  }
  g_assert_cmpuint(n_checked, >, 60);
}

/* A 2.3 configuration dumped, loaded back and dumped again says the same. */
static void
test_dump_round_trip(void)
{
  g_autofree char *typical = data_dir("typical");
  GError *error = NULL;
  g_autoptr(MmConfig) config = load_dir(typical, &error);
  g_assert_no_error(error);
  g_autofree char *dump = mm_ruby_config_dump(&error);
  g_assert_no_error(error);

  g_autofree char *dir = temp_config("milter-manager.conf", dump, NULL);
  g_autoptr(MmConfig) reloaded = load_dir(dir, &error);
  g_assert_no_error(error);
  g_autofree char *again = mm_ruby_config_dump(&error);
  g_assert_no_error(error);

  g_autofree char *dump_values = strip_comments(dump);
  g_autofree char *again_values = strip_comments(again);
  g_assert_cmpstr(again_values, ==, dump_values);
  g_autofree char *file = g_build_filename(dir, "milter-manager.conf", NULL);
  assert_comments_point_below(again, file);

  g_assert_cmpuint(reloaded->milters->len, ==, config->milters->len);
  g_assert_cmpint(reloaded->fallback_status, ==, config->fallback_status);
  g_assert_cmpuint(reloaded->unix_socket_mode, ==, config->unix_socket_mode);
  remove_tree(dir);
}

/* The location comments of the typical case point at the lines that set the items. */
static void
test_dump_locations(void)
{
  g_autofree char *dir = data_dir("typical");
  GError *error = NULL;
  g_autoptr(MmConfig) config = load_dir(dir, &error);
  g_assert_no_error(error);
  g_autofree char *dump = mm_ruby_config_dump(&error);
  g_assert_no_error(error);
  g_autofree char *local = g_build_filename(dir, "milter-manager.local.conf", NULL);
  g_autofree char *conditions = g_build_filename(dir, "applicable-conditions", "test.conf",
                                                 NULL);
  const struct {
    const char *file;
    int line;
    const char *item;
  } expected[] = {
    { local, 4, "security.privilege_mode = true" },
    { local, 17, "manager.fallback_status = \"temporary-failure\"" },
    { local, 21, "manager.connection_check_interval = 5" },
    { local, 63, "define_milter(\"clamav-milter\") do |milter|" },
    { local, 37, "  milter.fallback_status = \"reject\"" },
    { local, 39, "    \"Remote Network\"," },
    { local, 52, "    \"Remote Network\"," },
    { local, 54, "  milter.fallback_status = \"temporary-failure\"" },
    { local, 64, "  milter.writing_timeout = 20.0" },
    { conditions, 6, "define_applicable_condition(\"S25R\") do |condition|" },
    { conditions, 7, "  condition.description = \"Selective SMTP Rejection\"" },
  };
  for (guint i = 0; i < G_N_ELEMENTS(expected); i++) {
    const char *indent = expected[i].item[0] == ' ' ? (expected[i].item[2] == ' ' ? "    " : "  ")
                                                    : "";
    g_autofree char *block = g_strdup_printf("%s# %s:%d\n%s\n", indent, expected[i].file,
                                             expected[i].line, expected[i].item);
    assert_contains(dump, block);
  }
  assert_contains(dump, "  # default\n  milter.reading_timeout = 7.0\n");
}

/* load() takes globs, directories, and relative paths in every configuration directory;
 * an empty glob and a missing load_if_exist target are fine. */
static void
test_load_paths(void)
{
  g_autofree char *first = temp_config("milter-manager.conf",
                                       "load(\"nothing-here/*.conf\")\n"
                                       "load_if_exist(\"absent.conf\")\n"
                                       "load(\"milters\")\n"
                                       "load(\"extra.conf\")\n"
                                       "load_default\n",
                                       "milters/b.conf",
                                       "define_milter(\"b\") { |m| m.connection_spec = \"inet:2\" }\n",
                                       "milters/a.conf",
                                       "define_milter(\"a\") { |m| m.connection_spec = \"inet:1\" }\n",
                                       NULL);
  g_autofree char *second = temp_config("extra.conf", "manager.max_connections = 3\n", NULL);
  const char *dirs[] = { first, second, NULL };
  GError *error = NULL;
  g_autoptr(MmConfig) config = mm_ruby_config_load(dirs, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(config->max_connections, ==, 3);
  g_assert_cmpuint(config->milters->len, ==, 2);
  g_assert_cmpstr(((MmMilterConfig *)g_ptr_array_index(config->milters, 0))->name, ==, "a");
  g_assert_cmpstr(((MmMilterConfig *)g_ptr_array_index(config->milters, 1))->name, ==, "b");
  remove_tree(first);
  remove_tree(second);
}

/* The shipped milter-manager.conf loads, and so does each shipped defaults file. */
static void
test_shipped(void)
{
  g_autofree char *conf = g_build_filename(MM_TEST_DATA_DIR, "..", "..", "..", "conf", NULL);
  const char *shipped_dirs[] = { conf, NULL };
  GError *error = NULL;
  /* The shipped defaults detect the milters installed on this machine: look at an empty
   * root instead (doc/detection.md), so that the result does not depend on the machine. */
  g_autofree char *empty_root = g_dir_make_tmp("test-ruby-config-root-XXXXXX", NULL);
  g_assert_nonnull(empty_root);
  g_setenv("MILTER_MANAGER_DETECTION_ROOT", empty_root, TRUE);
  g_autoptr(MmConfig) shipped = mm_ruby_config_load(shipped_dirs, &error);
  g_assert_no_error(error);
  assert_default_config(shipped);

  const char *platforms[] = { "debian", "redhat", "freebsd", "pkgsrc", "unknown" };
  for (guint i = 0; i < G_N_ELEMENTS(platforms); i++) {
    g_autofree char *text = g_strdup_printf("package.platform = \"%s\"\nload_default\n",
                                            platforms[i]);
    g_autofree char *main_dir = temp_config("milter-manager.conf", text, NULL);
    const char *dirs[] = { main_dir, conf, NULL };
    g_autoptr(MmConfig) config = mm_ruby_config_load(dirs, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(config->package_platform, ==, platforms[i]);
    g_assert_cmpuint(config->milters->len, ==, 0);
    remove_tree(main_dir);
  }
  g_unsetenv("MILTER_MANAGER_DETECTION_ROOT");
  g_rmdir(empty_root);
}

static void
test_fork(void)
{
  GError *error = NULL;
  pid_t pid = mm_ruby_fork(&error);
  g_assert_no_error(error);
  g_assert_cmpint(pid, >=, 0);
  if (pid == 0)
    _exit(7);
  int status = 0;
  g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
  g_assert_true(WIFEXITED(status));
  g_assert_cmpint(WEXITSTATUS(status), ==, 7);
}

/* test_command_in_config - a configuration that runs a command loads: Ruby reaps the child
 * on SIGCHLD, so its handler must survive mm_ruby_init (it once did not, and this hung) */
static void
test_command_in_config(void)
{
  g_autofree char *dir = temp_config("milter-manager.conf",
                                     "manager.pid_file = `echo /tmp/from-command.pid`.strip\n",
                                     NULL);
  g_autoptr(GError) error = NULL;
  alarm(20); /* a hang fails the test instead of stalling the suite */
  g_autoptr(MmConfig) config = load_dir(dir, &error);
  alarm(0);
  g_assert_no_error(error);
  g_assert_cmpstr(config->pid_file, ==, "/tmp/from-command.pid");
  remove_tree(dir);
}

int
main(int argc, char **argv)
{
  int stack_start = 0;
  g_test_init(&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS(watched_signals); i++)
    sigaction(watched_signals[i], NULL, &watched_before[i]);
  struct sigaction usr2 = { 0 };
  usr2.sa_handler = on_usr2;
  sigemptyset(&usr2.sa_mask);
  sigaction(SIGUSR2, &usr2, NULL);

  GError *error = NULL;
  if (!mm_ruby_init(&stack_start, &error))
    g_error("mm_ruby_init: %s", error->message);

  g_test_add_func("/ruby-config/signals", test_signals);
  g_test_add_func("/ruby-config/command-in-config", test_command_in_config);
  g_test_add_func("/ruby-config/typical", test_typical);
  g_test_add_func("/ruby-config/defaults", test_defaults);
  g_test_add_func("/ruby-config/milter-defaults", test_milter_defaults);
  for (guint i = 0; i < G_N_ELEMENTS(broken_cases); i++)
    g_test_add_data_func(broken_cases[i].path, &broken_cases[i], test_broken);
  g_test_add_func("/ruby-config/error/not-found", test_not_found);
  g_test_add_func("/ruby-config/reload/keeps-previous", test_reload_keeps_previous);
  g_test_add_func("/ruby-config/dump/exact", test_dump_exact);
  g_test_add_func("/ruby-config/dump/round-trip", test_dump_round_trip);
  g_test_add_func("/ruby-config/dump/locations", test_dump_locations);
  g_test_add_func("/ruby-config/load/paths", test_load_paths);
  g_test_add_func("/ruby-config/load/shipped", test_shipped);
  g_test_add_func("/ruby-config/fork", test_fork);
  return g_test_run();
}
