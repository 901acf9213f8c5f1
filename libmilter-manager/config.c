/* SPDX-License-Identifier: GPL-3.0-or-later */
/* config.c: the configuration model's life cycle: documented defaults (including the
 * packagers' build-time ones from configure), reference counting, milter lookup. */
#include "config.h"

/* The packagers' defaults (MM_DEFAULT_*): configure's header of the same name, which the
 * angle form finds on the include path rather than beside this file. */
#include "build-config.h"

/* Defaults of milter manager 2.3 (reference 4.3, 4.4) and ours (message phase, body). */
#define MM_CONFIG_DEFAULT_UNIX_SOCKET_MODE 0660
#define MM_CONFIG_DEFAULT_MAINTENANCE_INTERVAL 10
#define MM_CONFIG_DEFAULT_SUSPEND_TIME 5
#define MM_CONFIG_DEFAULT_CHUNK_SIZE 65535
#define MM_CONFIG_DEFAULT_BODY_MEMORY_LIMIT (5 * 1024 * 1024)
#define MM_MILTER_DEFAULT_CONNECTION_TIMEOUT 297.0
#define MM_MILTER_DEFAULT_WRITING_TIMEOUT 7.0
#define MM_MILTER_DEFAULT_READING_TIMEOUT 7.0
#define MM_MILTER_DEFAULT_END_OF_MESSAGE_TIMEOUT 297.0

/* build_default - configure's value, where an empty string means "not set" */
static char *
build_default(const char *value)
{
  return (value == NULL || value[0] == '\0') ? NULL : g_strdup(value);
}

/* mm_config_new - a configuration holding every documented default */
MmConfig *
mm_config_new(void)
{
  MmConfig *config = g_new0(MmConfig, 1);
  config->ref_count = 1;

  config->package_platform = build_default(MM_DEFAULT_PACKAGE_PLATFORM);
  config->package_options = build_default(MM_DEFAULT_PACKAGE_OPTIONS);

  config->privilege_mode = FALSE;
  config->effective_user = build_default(MM_DEFAULT_EFFECTIVE_USER);
  config->effective_group = build_default(MM_DEFAULT_EFFECTIVE_GROUP);

  config->log_level = g_strdup("default");
  config->log_path = NULL;
  config->log_use_syslog = TRUE;
  config->log_syslog_facility = g_strdup("mail");

  config->connection_spec = build_default(MM_DEFAULT_CONNECTION_SPEC);
  config->unix_socket_mode = MM_CONFIG_DEFAULT_UNIX_SOCKET_MODE;
  config->unix_socket_group = build_default(MM_DEFAULT_SOCKET_GROUP);
  config->remove_unix_socket_on_create = TRUE;
  config->remove_unix_socket_on_close = TRUE;
  config->daemon = FALSE;
  config->pid_file = build_default(MM_DEFAULT_PID_FILE);
  config->maintenance_interval = MM_CONFIG_DEFAULT_MAINTENANCE_INTERVAL;
  config->suspend_time_on_unacceptable = MM_CONFIG_DEFAULT_SUSPEND_TIME;
  config->max_connections = 0;
  config->max_file_descriptors = 0;
  config->max_pending_finished_sessions = 0;
  config->custom_configuration_directory = NULL;
  config->fallback_status = MM_STATUS_ACCEPT;
  config->fallback_status_at_disconnect = MM_STATUS_TEMPORARY_FAILURE;
  config->event_loop_backend = g_strdup("glib");
  config->n_workers = 0;
  config->packet_buffer_size = 0;
  config->connection_check_interval = 0;
  config->chunk_size = MM_CONFIG_DEFAULT_CHUNK_SIZE;
  config->message_phase = MM_MESSAGE_PHASE_SEQUENTIAL;
  config->body_memory_limit = MM_CONFIG_DEFAULT_BODY_MEMORY_LIMIT;
  config->defer_message_replies = TRUE;

  config->controller_connection_spec = NULL;
  config->controller_unix_socket_mode = MM_CONFIG_DEFAULT_UNIX_SOCKET_MODE;
  config->controller_unix_socket_group = NULL;
  config->controller_remove_unix_socket_on_create = TRUE;
  config->controller_remove_unix_socket_on_close = TRUE;

  config->milters = g_ptr_array_new_with_free_func((GDestroyNotify)mm_milter_config_free);
  return config;
}

/* mm_config_ref - one more holder of CONFIG */
MmConfig *
mm_config_ref(MmConfig *config)
{
  g_return_val_if_fail(config != NULL, NULL);
  g_atomic_int_inc(&config->ref_count);
  return config;
}

/* mm_config_unref - drop one holder; the last one frees everything */
void
mm_config_unref(MmConfig *config)
{
  if (config == NULL || !g_atomic_int_dec_and_test(&config->ref_count))
    return;
  g_free(config->package_platform);
  g_free(config->package_options);
  g_free(config->effective_user);
  g_free(config->effective_group);
  g_free(config->log_level);
  g_free(config->log_path);
  g_free(config->log_syslog_facility);
  g_free(config->connection_spec);
  g_free(config->unix_socket_group);
  g_free(config->pid_file);
  g_free(config->custom_configuration_directory);
  g_free(config->event_loop_backend);
  g_free(config->controller_connection_spec);
  g_free(config->controller_unix_socket_group);
  g_ptr_array_unref(config->milters);
  if (config->applicable.klass && config->applicable.klass->free)
    config->applicable.klass->free(config->applicable.engine);
  g_free(config);
}

/* mm_milter_config_new - a milter definition with the documented defaults */
MmMilterConfig *
mm_milter_config_new(const char *name)
{
  MmMilterConfig *milter = g_new0(MmMilterConfig, 1);
  milter->name = g_strdup(name);
  milter->enabled = TRUE;
  milter->fallback_status = MM_STATUS_ACCEPT;
  milter->evaluation_mode = FALSE;
  milter->applicable_conditions = g_ptr_array_new_with_free_func(g_free);
  milter->connection_timeout = MM_MILTER_DEFAULT_CONNECTION_TIMEOUT;
  milter->writing_timeout = MM_MILTER_DEFAULT_WRITING_TIMEOUT;
  milter->reading_timeout = MM_MILTER_DEFAULT_READING_TIMEOUT;
  milter->end_of_message_timeout = MM_MILTER_DEFAULT_END_OF_MESSAGE_TIMEOUT;
  return milter;
}

/* mm_milter_config_free - free a milter definition; NULL is fine */
void
mm_milter_config_free(MmMilterConfig *milter)
{
  if (milter == NULL)
    return;
  g_free(milter->name);
  g_free(milter->connection_spec);
  g_free(milter->description);
  g_ptr_array_unref(milter->applicable_conditions);
  g_free(milter->command);
  g_free(milter->command_options);
  g_free(milter->user_name);
  g_free(milter->detected_from);
  mm_connection_spec_free(milter->spec);
  g_free(milter);
}

/* mm_milter_config_get_spec - connection_spec parsed once */
const MmConnectionSpec *
mm_milter_config_get_spec(const MmMilterConfig *const_milter, GError **error)
{
  /* A cache: the configuration does not change, its parsed form is filled on first use. */
  MmMilterConfig *milter = (MmMilterConfig *)const_milter;
  if (milter->spec == NULL) {
    if (milter->connection_spec == NULL) {
      g_set_error_literal(error, MM_CONNECTION_SPEC_ERROR, MM_CONNECTION_SPEC_ERROR_INVALID,
                          "no connection_spec is defined");
      return NULL;
    }
    milter->spec = mm_connection_spec_parse(milter->connection_spec, error);
  }
  return milter->spec;
}

/* mm_config_find_milter - the milter named NAME, or NULL */
MmMilterConfig *
mm_config_find_milter(const MmConfig *config, const char *name)
{
  g_return_val_if_fail(config != NULL, NULL);
  if (name == NULL)
    return NULL;
  for (guint i = 0; i < config->milters->len; i++) {
    MmMilterConfig *milter = g_ptr_array_index(config->milters, i);
    if (g_str_equal(milter->name, name))
      return milter;
  }
  return NULL;
}
