/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-daemon-options.c: unit tests for the daemon's command line (2.3's options applied
 * over the configuration), the pid file and the effective user and group look-up. */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "src/daemon-options.h"
#include "src/pid-file.h"
#include "src/privilege.h"

/* parse - parse a NULL-terminated command line (without the program name) */
static MmDaemonOptions *
parse(GError **error, ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new();
  g_ptr_array_add(args, "milter-manager");
  va_list list;
  va_start(list, error);
  const char *arg;
  while ((arg = va_arg(list, const char *)) != NULL)
    g_ptr_array_add(args, (gpointer)arg);
  va_end(list);
  g_ptr_array_add(args, NULL);
  int argc = (int)args->len - 1;
  char **argv = (char **)args->pdata;
  return mm_daemon_options_parse(&argc, &argv, error);
}

/* clear_config - free the strings the tests' configurations hold */
static void
clear_config(MmConfig *config)
{
  g_free(config->connection_spec);
  g_free(config->log_level);
  g_free(config->log_path);
  g_free(config->log_syslog_facility);
  g_free(config->effective_user);
  g_free(config->effective_group);
  g_free(config->unix_socket_group);
  g_free(config->event_loop_backend);
  g_free(config->pid_file);
}

static void
test_apply(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MmDaemonOptions) options =
      parse(&error, "-c", "/a", "--config-dir=/b", "-s", "inet:12345@127.0.0.1",
            "--log-level=info|debug", "--log-path", "/tmp/x.log", "--syslog",
            "--syslog-facility=local4", "--daemon", "-u", "mailuser", "-g", "mailgroup",
            "--unix-socket-group=mail", "--unix-socket-mode=0600", "--pid-file=/tmp/p.pid",
            "--n-workers=3", "--event-loop-backend=libev", "--packet-buffer-size=8192",
            "--max-pending-finished-sessions=7", NULL);
  g_assert_no_error(error);
  g_assert_nonnull(options);
  MmConfig config = {.log_use_syslog = FALSE, .unix_socket_mode = 0660};
  config.connection_spec = g_strdup("unix:/old.sock");
  config.pid_file = g_strdup("/old.pid");
  mm_daemon_options_apply(options, &config);
  g_assert_cmpstr(config.connection_spec, ==, "inet:12345@127.0.0.1");
  g_assert_cmpstr(config.log_level, ==, "info|debug");
  g_assert_cmpstr(config.log_path, ==, "/tmp/x.log");
  g_assert_true(config.log_use_syslog);
  g_assert_cmpstr(config.log_syslog_facility, ==, "local4");
  g_assert_true(config.daemon);
  g_assert_cmpstr(config.effective_user, ==, "mailuser");
  g_assert_cmpstr(config.effective_group, ==, "mailgroup");
  g_assert_cmpstr(config.unix_socket_group, ==, "mail");
  g_assert_cmpuint(config.unix_socket_mode, ==, 0600);
  g_assert_cmpstr(config.pid_file, ==, "/tmp/p.pid");
  g_assert_cmpuint(config.n_workers, ==, 3);
  g_assert_cmpstr(config.event_loop_backend, ==, "libev");
  g_assert_cmpuint(config.packet_buffer_size, ==, 8192);
  g_assert_cmpuint(config.max_pending_finished_sessions, ==, 7);
  /* Features this daemon lacks (libev, packet buffering, pending finished sessions) are
   * noted for an info line each; --n-workers is a real feature now. */
  g_assert_cmpuint(options->notes->len, ==, 3);
  clear_config(&config);
}

static void
test_apply_nothing(void)
{
  g_autoptr(MmDaemonOptions) options = parse(NULL, NULL);
  g_assert_nonnull(options);
  MmConfig config = {.log_use_syslog = TRUE, .unix_socket_mode = 0660, .daemon = TRUE};
  config.connection_spec = g_strdup("unix:/kept.sock");
  mm_daemon_options_apply(options, &config);
  g_assert_cmpstr(config.connection_spec, ==, "unix:/kept.sock");
  g_assert_null(config.log_level);
  g_assert_true(config.log_use_syslog);
  g_assert_true(config.daemon);
  g_assert_cmpuint(config.unix_socket_mode, ==, 0660);
  clear_config(&config);
}

static void
test_verbose_and_no_daemon(void)
{
  g_autoptr(MmDaemonOptions) verbose = parse(NULL, "--log-level=error", "-v", "--daemon",
                                             "--no-daemon", NULL);
  g_assert_nonnull(verbose);
  g_assert_cmpstr(verbose->log_level, ==, "all");
  g_assert_cmpint(verbose->daemon, ==, 0);
  g_autoptr(MmDaemonOptions) quiet = parse(NULL, "-q", NULL);
  g_assert_cmpstr(quiet->log_level, ==, "none");
  g_autoptr(MmDaemonOptions) ids = parse(NULL, "--user-id=8", "--group-id", "12", NULL);
  g_assert_cmpstr(ids->user, ==, "8");
  g_assert_cmpstr(ids->group, ==, "12");
  g_autoptr(MmDaemonOptions) old = parse(NULL, "--socket-group-name=postfix", NULL);
  g_assert_cmpstr(old->unix_socket_group, ==, "postfix");
  g_assert_cmpuint(old->notes->len, ==, 1);
}

static void
test_errors(void)
{
  const char *bad[][2] = {
    {"--no-such-option", "--no-such-option"},
    {"--log-level=loud", "loud"},
    {"--unix-socket-mode=0999", "0999"},
    {"--unix-socket-mode=rw", "rw"},
    {"--n-workers=1001", "1001"},
    {"--event-loop-backend=epoll", "epoll"},
    {"--user-id=root", "root"},
    {"extra-argument", "extra-argument"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(MmDaemonOptions) options = parse(&error, bad[i][0], NULL);
    g_assert_null(options);
    g_assert_nonnull(error);
    if (strstr(error->message, bad[i][1]) == NULL)
      g_error("error for %s does not name it: %s", bad[i][0], error->message);
  }
}

static void
test_environment(void)
{
  g_setenv("MILTER_LOG_LEVEL", "warning|info", TRUE);
  g_setenv("MILTER_LOG_PATH", "/tmp/env.log", TRUE);
  g_setenv("MILTER_MANAGER_CONFIG_DIR", "/env/dir", TRUE);
  g_setenv("MILTER_LOG_COLORIZE", "yes", TRUE);
  g_autoptr(MmDaemonOptions) env_only = parse(NULL, "-c", "/cli", NULL);
  g_assert_cmpstr(env_only->log_level, ==, "warning|info");
  g_assert_cmpstr(env_only->log_path, ==, "/tmp/env.log");
  g_assert_cmpuint(env_only->notes->len, ==, 1);
  g_auto(GStrv) dirs = mm_daemon_options_config_dirs(env_only, "/etc/milter-manager");
  g_assert_cmpuint(g_strv_length(dirs), ==, 3);
  g_assert_cmpstr(dirs[0], ==, "/cli");
  g_assert_cmpstr(dirs[1], ==, "/env/dir");
  g_assert_cmpstr(dirs[2], ==, "/etc/milter-manager");
  /* The command line wins over the environment. */
  g_autoptr(MmDaemonOptions) both = parse(NULL, "--log-level=error", NULL);
  g_assert_cmpstr(both->log_level, ==, "error");
  g_setenv("MILTER_LOG_LEVEL", "chatty", TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(MmDaemonOptions) broken = parse(&error, NULL);
  g_assert_null(broken);
  g_assert_nonnull(strstr(error->message, "MILTER_LOG_LEVEL"));
  g_unsetenv("MILTER_LOG_LEVEL");
  g_unsetenv("MILTER_LOG_PATH");
  g_unsetenv("MILTER_MANAGER_CONFIG_DIR");
  g_unsetenv("MILTER_LOG_COLORIZE");
}

static void
test_pid_file(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp("test-pid-file-XXXXXX", &error);
  g_autofree char *path = g_build_filename(dir, "milter-manager.pid", NULL);
  g_assert_true(mm_pid_file_write(path, &error));
  g_assert_no_error(error);
  g_autofree char *content = NULL;
  g_assert_true(g_file_get_contents(path, &content, NULL, NULL));
  g_autofree char *expected = g_strdup_printf("%ld\n", (long)getpid());
  g_assert_cmpstr(content, ==, expected);
  g_assert_true(mm_pid_file_remove(path, &error));
  g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
  /* Another instance's pid file stays. */
  g_assert_true(g_file_set_contents(path, "1\n", -1, NULL));
  g_assert_true(mm_pid_file_remove(path, &error));
  g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
  g_unlink(path);
  g_autofree char *missing = g_build_filename(dir, "no", "such.pid", NULL);
  g_assert_false(mm_pid_file_write(missing, &error));
  g_assert_error(error, MM_PID_FILE_ERROR, MM_PID_FILE_ERROR_WRITE);
  g_assert_nonnull(strstr(error->message, missing));
  g_rmdir(dir);
}

static void
test_privilege_resolve(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MmPrivilege) nobody = mm_privilege_resolve(NULL, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(nobody->user_name, ==, "nobody");
  g_autoptr(MmPrivilege) root = mm_privilege_resolve("0", "0", &error);
  g_assert_no_error(error);
  g_assert_cmpstr(root->user_name, ==, "root");
  g_assert_cmpuint(root->uid, ==, 0);
  g_assert_cmpuint(root->gid, ==, 0);
  g_assert_null(mm_privilege_resolve("no-such-user-mm", NULL, &error));
  g_assert_error(error, MM_PRIVILEGE_ERROR, MM_PRIVILEGE_ERROR_UNKNOWN_USER);
  g_assert_nonnull(strstr(error->message, "no-such-user-mm"));
  g_clear_error(&error);
  g_assert_null(mm_privilege_resolve("root", "no-such-group-mm", &error));
  g_assert_error(error, MM_PRIVILEGE_ERROR, MM_PRIVILEGE_ERROR_UNKNOWN_GROUP);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/daemon-options/apply", test_apply);
  g_test_add_func("/daemon-options/apply-nothing", test_apply_nothing);
  g_test_add_func("/daemon-options/verbose-and-no-daemon", test_verbose_and_no_daemon);
  g_test_add_func("/daemon-options/errors", test_errors);
  g_test_add_func("/daemon-options/environment", test_environment);
  g_test_add_func("/pid-file/write-remove", test_pid_file);
  g_test_add_func("/privilege/resolve", test_privilege_resolve);
  return g_test_run();
}
