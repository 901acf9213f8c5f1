/* SPDX-License-Identifier: GPL-3.0-or-later */
/* config.h: the configuration model: every package/security/log/manager/controller
 * setting and each child milter's definition, as loaded from milter-manager.conf. */
#pragma once

#include <glib.h>

#include "applicable.h"
#include "connection-spec.h"
#include "status.h"

/* One define_milter("name") block. */
typedef struct {
  char *name;
  char *connection_spec;          /* required for the milter to be used */
  char *description;
  gboolean enabled;               /* default TRUE */
  MmStatus fallback_status;       /* default accept */
  gboolean evaluation_mode;       /* default FALSE */
  GPtrArray *applicable_conditions; /* char* names, in order */
  char *command;                  /* auto-start command (privilege mode) */
  char *command_options;
  char *user_name;
  double connection_timeout;      /* seconds; default 297 */
  double writing_timeout;         /* default 7 */
  double reading_timeout;         /* default 7 */
  double end_of_message_timeout;  /* default 297 */
  char *detected_from;            /* file the detector found it in, or NULL */
  MmConnectionSpec *spec;         /* cache: connection_spec parsed (mm_milter_config_get_spec) */
} MmMilterConfig;

typedef enum {
  MM_MESSAGE_PHASE_SEQUENTIAL = 0, /* each child sees the previous children's edits */
  MM_MESSAGE_PHASE_PARALLEL,       /* all children see the message as the MTA sent it */
} MmMessagePhase;

/* The whole configuration. Immutable once loaded: a reload builds a new one, and each
 * session keeps a reference to the one it started with. */
typedef struct {
  gint ref_count;

  /* package.* */
  char *package_platform;
  char *package_options;

  /* security.* */
  gboolean privilege_mode;
  char *effective_user;
  char *effective_group;

  /* log.* */
  char *log_level;                /* "default", "all", "info|debug", ... */
  char *log_path;                 /* NULL: standard output */
  gboolean log_use_syslog;        /* default TRUE */
  char *log_syslog_facility;      /* default "mail" */

  /* manager.* */
  char *connection_spec;
  guint unix_socket_mode;         /* default 0660 */
  char *unix_socket_group;
  gboolean remove_unix_socket_on_create; /* default TRUE */
  gboolean remove_unix_socket_on_close;  /* default TRUE */
  gboolean daemon;
  char *pid_file;
  guint maintenance_interval;     /* default 10 */
  guint suspend_time_on_unacceptable; /* default 5 */
  guint max_connections;          /* 0: unlimited */
  guint max_file_descriptors;     /* 0: keep the limit */
  guint max_pending_finished_sessions;
  char *custom_configuration_directory;
  MmStatus fallback_status;       /* default accept */
  MmStatus fallback_status_at_disconnect; /* default temporary-failure */
  char *event_loop_backend;       /* "glib" (libev accepted, means glib) */
  guint n_workers;                /* 0..1000 */
  guint packet_buffer_size;
  guint connection_check_interval;
  guint chunk_size;               /* <= 65535; default 65535 */
  MmMessagePhase message_phase;   /* default sequential */
  gsize body_memory_limit;        /* bytes of body kept in memory before spilling; 5 MiB */
  gboolean defer_message_replies; /* ask the MTA for no replies to headers, end of header and
                                   * body; a verdict waits for end of message; default TRUE */

  /* controller.* */
  char *controller_connection_spec;
  guint controller_unix_socket_mode; /* default 0660 */
  char *controller_unix_socket_group;
  gboolean controller_remove_unix_socket_on_create;
  gboolean controller_remove_unix_socket_on_close;

  GPtrArray *milters;             /* MmMilterConfig*, in definition order */

  /* The applicable conditions loaded with this configuration (klass NULL: none); released
   * with the configuration. */
  MmApplicableEngine applicable;
} MmConfig;

/* mm_config_new - a configuration holding the documented defaults and the build-time
 * defaults from configure (connection spec, user, group, socket group, pid file). */
MmConfig *mm_config_new(void);
MmConfig *mm_config_ref(MmConfig *config);
void mm_config_unref(MmConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmConfig, mm_config_unref)

/* mm_milter_config_new - a milter definition with the documented defaults */
MmMilterConfig *mm_milter_config_new(const char *name);
void mm_milter_config_free(MmMilterConfig *milter);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmMilterConfig, mm_milter_config_free)

/* mm_milter_config_get_spec - connection_spec parsed once for the configuration's life,
 * rather than for every session (NULL with an error when it is missing or wrong) */
const MmConnectionSpec *mm_milter_config_get_spec(const MmMilterConfig *milter, GError **error);

/* mm_config_find_milter - the milter named NAME, or NULL */
MmMilterConfig *mm_config_find_milter(const MmConfig *config, const char *name);
