/* SPDX-License-Identifier: GPL-3.0-or-later */
/* daemon-options.h: the daemon's command line (milter manager 2.3's options, same names)
 * and the environment variables it honours, kept apart so they re-apply after each reload. */
#pragma once

#include <glib.h>

#include "config.h"

#define MM_DAEMON_OPTIONS_ERROR (mm_daemon_options_error_quark())
GQuark mm_daemon_options_error_quark(void);

typedef enum {
  MM_DAEMON_OPTIONS_ERROR_PARSE, /* unknown option or bad value: message names it */
} MmDaemonOptionsError;

/* The most n_workers 2.3 accepted. */
#define MM_DAEMON_OPTIONS_MAX_WORKERS 1000

/* What the command line (and the environment) set; unset fields leave the configuration. */
typedef struct {
  char **config_dirs;          /* -c, in the order given; prepended to the search path */
  gboolean show_config;
  gboolean show_version;
  char *connection_spec;
  char *log_level;             /* validated; "all" for -v, "none" for -q */
  char *log_path;
  gboolean use_syslog;         /* --syslog given */
  char *syslog_facility;
  int daemon;                  /* -1 unset, 0 --no-daemon, 1 --daemon */
  char *user;                  /* name or number */
  char *group;
  char *unix_socket_group;
  guint unix_socket_mode;      /* 0: unset */
  int n_workers;               /* -1 unset */
  char *event_loop_backend;
  int packet_buffer_size;      /* -1 unset */
  char *pid_file;
  int max_pending_finished_sessions; /* -1 unset */
  GPtrArray *notes;            /* char*: accepted-but-ignored items, logged once started */
  char *help;                  /* --help text, for errors */
} MmDaemonOptions;

/* mm_daemon_options_parse - parse ARGV (consumed) and the MILTER_* environment; --help
 * prints and exits 0 as GOption does. */
MmDaemonOptions *mm_daemon_options_parse(int *argc, char ***argv, GError **error);

/* mm_daemon_options_config_dirs - -c directories, $MILTER_MANAGER_CONFIG_DIR, then
 * DEFAULT_DIR (NULL-terminated; free with g_strfreev) */
char **mm_daemon_options_config_dirs(const MmDaemonOptions *options, const char *default_dir);

/* mm_daemon_options_apply - overwrite CONFIG's items with those set on the command line */
void mm_daemon_options_apply(const MmDaemonOptions *options, MmConfig *config);

void mm_daemon_options_free(MmDaemonOptions *options);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmDaemonOptions, mm_daemon_options_free)
