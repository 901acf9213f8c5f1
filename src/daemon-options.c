/* SPDX-License-Identifier: GPL-3.0-or-later */
/* daemon-options.c: parsing milter manager 2.3's command line and MILTER_* environment
 * variables; options for features this daemon does not have are accepted and noted. */
#include "build-config.h"

#include "src/daemon-options.h"

#include <stdlib.h>
#include <string.h>

#include "libmilter-manager/log.h"

G_DEFINE_QUARK(mm-daemon-options-error-quark, mm_daemon_options_error)

/* set_string - replace *FIELD with a copy of VALUE */
static void
set_string(char **field, const char *value)
{
  g_free(*field);
  *field = g_strdup(value);
}

/* parse_config_dir - -c DIR: repeatable, kept in order */
static gboolean
parse_config_dir(const char *name, const char *value, gpointer data, GError **error)
{
  MmDaemonOptions *options = data;
  guint n = options->config_dirs != NULL ? g_strv_length(options->config_dirs) : 0;
  options->config_dirs = g_renew(char *, options->config_dirs, n + 2);
  options->config_dirs[n] = g_strdup(value);
  options->config_dirs[n + 1] = NULL;
  return TRUE;
}

/* parse_log_level - --log-level: 2.3's names joined with "|" */
static gboolean
parse_log_level(const char *name, const char *value, gpointer data, GError **error)
{
  MmDaemonOptions *options = data;
  guint levels;
  if (!mm_log_level_parse(value, &levels, error))
    return FALSE;
  set_string(&options->log_level, value);
  return TRUE;
}

/* parse_verbose - -v is every level, -q none */
static gboolean
parse_verbose(const char *name, const char *value, gpointer data, GError **error)
{
  MmDaemonOptions *options = data;
  gboolean quiet = g_str_equal(name, "-q") || g_str_equal(name, "--quiet");
  set_string(&options->log_level, quiet ? "none" : "all");
  return TRUE;
}

/* parse_flag - --syslog, --daemon, --no-daemon */
static gboolean
parse_flag(const char *name, const char *value, gpointer data, GError **error)
{
  MmDaemonOptions *options = data;
  if (g_str_equal(name, "--syslog"))
    options->use_syslog = TRUE;
  else if (g_str_equal(name, "--daemon"))
    options->daemon = 1;
  else
    options->daemon = 0;
  return TRUE;
}

/* parse_number - a decimal number in [0, MAX] */
static gboolean
parse_number(const char *name, const char *value, guint64 max, guint64 *number,
             GError **error)
{
  if (!g_ascii_string_to_unsigned(value, 10, 0, max, number, NULL)) {
    g_set_error(error, MM_DAEMON_OPTIONS_ERROR, MM_DAEMON_OPTIONS_ERROR_PARSE,
                "%s: \"%s\" is not a number from 0 to %" G_GUINT64_FORMAT, name, value, max);
    return FALSE;
  }
  return TRUE;
}

/* parse_identity - -u/--user/--user-name/--user-id and the group equivalents */
static gboolean
parse_identity(const char *name, const char *value, gpointer data, GError **error)
{
  MmDaemonOptions *options = data;
  gboolean group = g_str_equal(name, "-g") || g_str_has_prefix(name, "--group");
  if (g_str_has_suffix(name, "-id")) {
    guint64 id;
    if (!parse_number(name, value, G_MAXUINT32 - 1, &id, error))
      return FALSE;
  }
  set_string(group ? &options->group : &options->user, value);
  return TRUE;
}

/* parse_unix_socket_group - --unix-socket-group and 2.3's deprecated --socket-group-name */
static gboolean
parse_unix_socket_group(const char *name, const char *value, gpointer data, GError **error)
{
  MmDaemonOptions *options = data;
  if (g_str_equal(name, "--socket-group-name"))
    g_ptr_array_add(options->notes,
                    g_strdup("--socket-group-name is deprecated: use --unix-socket-group"));
  set_string(&options->unix_socket_group, value);
  return TRUE;
}

/* parse_unix_socket_mode - an octal mode such as 0660 */
static gboolean
parse_unix_socket_mode(const char *name, const char *value, gpointer data, GError **error)
{
  MmDaemonOptions *options = data;
  guint64 mode;
  if (!g_ascii_string_to_unsigned(value, 8, 1, 07777, &mode, NULL)) {
    g_set_error(error, MM_DAEMON_OPTIONS_ERROR, MM_DAEMON_OPTIONS_ERROR_PARSE,
                "%s: \"%s\" is not an octal file mode such as 0660", name, value);
    return FALSE;
  }
  options->unix_socket_mode = (guint)mode;
  return TRUE;
}

/* parse_compat_number - --n-workers, --packet-buffer-size, --max-pending-finished-sessions */
static gboolean
parse_compat_number(const char *name, const char *value, gpointer data, GError **error)
{
  MmDaemonOptions *options = data;
  guint64 number;
  if (g_str_equal(name, "--n-workers")) {
    if (!parse_number(name, value, MM_DAEMON_OPTIONS_MAX_WORKERS, &number, error))
      return FALSE;
    options->n_workers = (int)number;
  } else if (g_str_equal(name, "--packet-buffer-size")) {
    if (!parse_number(name, value, G_MAXINT, &number, error))
      return FALSE;
    options->packet_buffer_size = (int)number;
  } else {
    if (!parse_number(name, value, G_MAXINT, &number, error))
      return FALSE;
    options->max_pending_finished_sessions = (int)number;
  }
  return TRUE;
}

/* parse_event_loop_backend - glib, or libev which this daemon serves with glib */
static gboolean
parse_event_loop_backend(const char *name, const char *value, gpointer data, GError **error)
{
  MmDaemonOptions *options = data;
  if (g_ascii_strcasecmp(value, "glib") != 0 && g_ascii_strcasecmp(value, "libev") != 0) {
    g_set_error(error, MM_DAEMON_OPTIONS_ERROR, MM_DAEMON_OPTIONS_ERROR_PARSE,
                "%s: \"%s\" is not glib or libev", name, value);
    return FALSE;
  }
  set_string(&options->event_loop_backend, value);
  return TRUE;
}

#define OPTION_CALLBACK(function) G_OPTION_ARG_CALLBACK, (gpointer)(function)
#define NO_ARG G_OPTION_FLAG_NO_ARG

/* The entries call back into the options given to the group, so GOption never owns them. */
static const GOptionEntry entries[] = {
  {"config-dir", 'c', 0, OPTION_CALLBACK(parse_config_dir),
   "Look for milter-manager.conf in DIR first (repeatable)", "DIR"},
  {"show-config", 0, 0, G_OPTION_ARG_NONE, NULL,
   "Print the loaded configuration and exit", NULL},
  {"version", 0, 0, G_OPTION_ARG_NONE, NULL, "Print the version and exit", NULL},
  {"connection-spec", 's', 0, G_OPTION_ARG_STRING, NULL,
   "Listen for the MTA on SPEC (unix:PATH, inet:PORT@HOST, inet6:PORT@HOST)", "SPEC"},
  {"log-level", 0, 0, OPTION_CALLBACK(parse_log_level),
   "Log LEVEL: all, default, none, or critical|error|warning|message|info|debug|statistics|"
   "profile",
   "LEVEL"},
  {"log-path", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Log to PATH (- is standard output)",
   "PATH"},
  {"verbose", 'v', NO_ARG, OPTION_CALLBACK(parse_verbose), "Log everything (--log-level=all)",
   NULL},
  {"quiet", 'q', NO_ARG, OPTION_CALLBACK(parse_verbose), "Log nothing (--log-level=none)",
   NULL},
  {"syslog", 0, NO_ARG, OPTION_CALLBACK(parse_flag), "Log to syslog", NULL},
  {"syslog-facility", 0, 0, G_OPTION_ARG_STRING, NULL,
   "Syslog FACILITY (mail, daemon, local0 ... local7, ...)", "FACILITY"},
  {"daemon", 0, NO_ARG, OPTION_CALLBACK(parse_flag), "Detach and run in the background",
   NULL},
  {"no-daemon", 0, NO_ARG, OPTION_CALLBACK(parse_flag), "Stay in the foreground", NULL},
  {"user", 0, 0, OPTION_CALLBACK(parse_identity), "Run as USER (name or number) when root",
   "USER"},
  {"user-name", 'u', 0, OPTION_CALLBACK(parse_identity), "Run as user NAME when root", "NAME"},
  {"user-id", 0, 0, OPTION_CALLBACK(parse_identity), "Run as user ID when root", "ID"},
  {"group", 0, 0, OPTION_CALLBACK(parse_identity), "Run as GROUP (name or number) when root",
   "GROUP"},
  {"group-name", 'g', 0, OPTION_CALLBACK(parse_identity), "Run as group NAME when root",
   "NAME"},
  {"group-id", 0, 0, OPTION_CALLBACK(parse_identity), "Run as group ID when root", "ID"},
  {"unix-socket-group", 0, 0, OPTION_CALLBACK(parse_unix_socket_group),
   "Group of the listening UNIX socket", "GROUP"},
  {"socket-group-name", 0, G_OPTION_FLAG_HIDDEN, OPTION_CALLBACK(parse_unix_socket_group),
   "Deprecated: --unix-socket-group", "GROUP"},
  {"unix-socket-mode", 0, 0, OPTION_CALLBACK(parse_unix_socket_mode),
   "Mode of the listening UNIX socket (default 0660)", "MODE"},
  {"n-workers", 0, 0, OPTION_CALLBACK(parse_compat_number),
   "Accepted for 2.3 compatibility; one process serves all sessions", "N"},
  {"event-loop-backend", 0, 0, OPTION_CALLBACK(parse_event_loop_backend),
   "glib or libev (accepted; GLib's main loop serves both)", "BACKEND"},
  {"packet-buffer-size", 0, 0, OPTION_CALLBACK(parse_compat_number),
   "manager.packet_buffer_size (accepted for 2.3 compatibility)", "SIZE"},
  {"pid-file", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Write the process id to FILE", "FILE"},
  {"max-pending-finished-sessions", 0, 0, OPTION_CALLBACK(parse_compat_number),
   "manager.max_pending_finished_sessions (accepted for 2.3 compatibility)", "N"},
  {NULL, 0, 0, 0, NULL, NULL, NULL},
};

/* build_context - the option context writing into OPTIONS */
static GOptionContext *
build_context(MmDaemonOptions *options)
{
  GOptionEntry *copy = g_memdup2(entries, sizeof(entries));
  for (GOptionEntry *entry = copy; entry->long_name != NULL; entry++) {
    if (g_str_equal(entry->long_name, "show-config"))
      entry->arg_data = &options->show_config;
    else if (g_str_equal(entry->long_name, "version"))
      entry->arg_data = &options->show_version;
    else if (g_str_equal(entry->long_name, "connection-spec"))
      entry->arg_data = &options->connection_spec;
    else if (g_str_equal(entry->long_name, "log-path"))
      entry->arg_data = &options->log_path;
    else if (g_str_equal(entry->long_name, "syslog-facility"))
      entry->arg_data = &options->syslog_facility;
    else if (g_str_equal(entry->long_name, "pid-file"))
      entry->arg_data = &options->pid_file;
  }
  GOptionContext *context = g_option_context_new(NULL);
  g_option_context_set_summary(context, "milter-manager: a milter proxy between the MTA and "
                                        "child milters.");
  g_option_context_set_description(context,
                                   "Configuration: milter-manager.conf in the first directory "
                                   "of -c, $MILTER_MANAGER_CONFIG_DIR, " MM_CONFIG_DIR ".");
  GOptionGroup *group = g_option_group_new("milter-manager", "milter-manager options",
                                           "milter-manager options", options, NULL);
  g_option_group_add_entries(group, copy);
  g_free(copy); /* the group keeps its own copy of the entries */
  g_option_context_set_main_group(context, group);
  return context;
}

/* read_environment - MILTER_* variables of 2.3: defaults the command line overrides */
static gboolean
read_environment(MmDaemonOptions *options, GError **error)
{
  const char *level = g_getenv("MILTER_LOG_LEVEL");
  if (level != NULL && *level != '\0' && options->log_level == NULL) {
    guint levels;
    if (!mm_log_level_parse(level, &levels, error)) {
      g_prefix_error(error, "MILTER_LOG_LEVEL: ");
      return FALSE;
    }
    options->log_level = g_strdup(level);
  }
  const char *path = g_getenv("MILTER_LOG_PATH");
  if (path != NULL && *path != '\0' && options->log_path == NULL)
    options->log_path = g_strdup(path);
  const char *facility = g_getenv("MILTER_LOG_SYSLOG_FACILITY");
  if (facility != NULL && *facility != '\0' && options->syslog_facility == NULL)
    options->syslog_facility = g_strdup(facility);
  static const char *const ignored[] = {
    "MILTER_LOG_ITEM", "MILTER_LOG_COLORIZE", "MILTER_LOG_SYSLOG_LEVEL",
    "MILTER_USE_ACCEPT_LOOP", "MILTER_MANAGER_CONFIGURATION_MODULE_DIR", "MILTER_DEBUG",
  };
  for (guint i = 0; i < G_N_ELEMENTS(ignored); i++) {
    if (g_getenv(ignored[i]) != NULL)
      g_ptr_array_add(options->notes, g_strdup_printf("%s is set but not used by this "
                                                      "daemon", ignored[i]));
  }
  return TRUE;
}

/* mm_daemon_options_parse - parse ARGV and the MILTER_* environment */
MmDaemonOptions *
mm_daemon_options_parse(int *argc, char ***argv, GError **error)
{
  g_autoptr(MmDaemonOptions) options = g_new0(MmDaemonOptions, 1);
  options->daemon = -1;
  options->n_workers = -1;
  options->packet_buffer_size = -1;
  options->max_pending_finished_sessions = -1;
  options->notes = g_ptr_array_new_with_free_func(g_free);
  GOptionContext *context = build_context(options);
  options->help = g_option_context_get_help(context, TRUE, NULL);
  gboolean parsed = g_option_context_parse(context, argc, argv, error);
  g_option_context_free(context);
  if (!parsed)
    return NULL;
  if (*argc > 1) {
    g_set_error(error, MM_DAEMON_OPTIONS_ERROR, MM_DAEMON_OPTIONS_ERROR_PARSE,
                "unexpected argument \"%s\"", (*argv)[1]);
    return NULL;
  }
  if (!read_environment(options, error))
    return NULL;
  if (options->event_loop_backend != NULL &&
      g_ascii_strcasecmp(options->event_loop_backend, "libev") == 0)
    g_ptr_array_add(options->notes, g_strdup("--event-loop-backend=libev: the GLib main "
                                             "loop is used"));
  if (options->packet_buffer_size >= 0)
    g_ptr_array_add(options->notes, g_strdup("--packet-buffer-size: accepted for 2.3 "
                                             "compatibility; replies are batched per burst"));
  if (options->max_pending_finished_sessions >= 0)
    g_ptr_array_add(options->notes, g_strdup("--max-pending-finished-sessions: accepted for "
                                             "2.3 compatibility; sessions are freed at once"));
  return g_steal_pointer(&options);
}

/* mm_daemon_options_config_dirs - -c directories, $MILTER_MANAGER_CONFIG_DIR, DEFAULT_DIR */
char **
mm_daemon_options_config_dirs(const MmDaemonOptions *options, const char *default_dir)
{
  GPtrArray *dirs = g_ptr_array_new();
  for (guint i = 0; options->config_dirs != NULL && options->config_dirs[i] != NULL; i++)
    g_ptr_array_add(dirs, g_strdup(options->config_dirs[i]));
  const char *env_dir = g_getenv("MILTER_MANAGER_CONFIG_DIR");
  if (env_dir != NULL && *env_dir != '\0')
    g_ptr_array_add(dirs, g_strdup(env_dir));
  g_ptr_array_add(dirs, g_strdup(default_dir));
  g_ptr_array_add(dirs, NULL);
  return (char **)g_ptr_array_free(dirs, FALSE);
}

/* mm_daemon_options_apply - overwrite CONFIG's items with those set on the command line */
void
mm_daemon_options_apply(const MmDaemonOptions *options, MmConfig *config)
{
  if (options->connection_spec != NULL)
    set_string(&config->connection_spec, options->connection_spec);
  if (options->log_level != NULL)
    set_string(&config->log_level, options->log_level);
  if (options->log_path != NULL)
    set_string(&config->log_path, options->log_path);
  if (options->use_syslog)
    config->log_use_syslog = TRUE;
  if (options->syslog_facility != NULL)
    set_string(&config->log_syslog_facility, options->syslog_facility);
  if (options->daemon >= 0)
    config->daemon = options->daemon != 0;
  if (options->user != NULL)
    set_string(&config->effective_user, options->user);
  if (options->group != NULL)
    set_string(&config->effective_group, options->group);
  if (options->unix_socket_group != NULL)
    set_string(&config->unix_socket_group, options->unix_socket_group);
  if (options->unix_socket_mode != 0)
    config->unix_socket_mode = options->unix_socket_mode;
  if (options->n_workers >= 0)
    config->n_workers = (guint)options->n_workers;
  if (options->event_loop_backend != NULL)
    set_string(&config->event_loop_backend, options->event_loop_backend);
  if (options->packet_buffer_size >= 0)
    config->packet_buffer_size = (guint)options->packet_buffer_size;
  if (options->pid_file != NULL)
    set_string(&config->pid_file, options->pid_file);
  if (options->max_pending_finished_sessions >= 0)
    config->max_pending_finished_sessions = (guint)options->max_pending_finished_sessions;
}

/* mm_daemon_options_free - NULL-safe */
void
mm_daemon_options_free(MmDaemonOptions *options)
{
  if (options == NULL)
    return;
  g_strfreev(options->config_dirs);
  g_free(options->connection_spec);
  g_free(options->log_level);
  g_free(options->log_path);
  g_free(options->syslog_facility);
  g_free(options->user);
  g_free(options->group);
  g_free(options->unix_socket_group);
  g_free(options->event_loop_backend);
  g_free(options->pid_file);
  if (options->notes != NULL)
    g_ptr_array_unref(options->notes);
  g_free(options->help);
  g_free(options);
}
