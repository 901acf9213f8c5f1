/* SPDX-License-Identifier: GPL-3.0-or-later */
/* log.h: the daemon's log: milter manager 2.3's levels (critical ... statistics, profile),
 * written to syslog (mail facility by default), a file, or standard output. */
#pragma once

#include <glib.h>

typedef enum {
  MM_LOG_LEVEL_CRITICAL = 1 << 0,
  MM_LOG_LEVEL_ERROR = 1 << 1,
  MM_LOG_LEVEL_WARNING = 1 << 2,
  MM_LOG_LEVEL_MESSAGE = 1 << 3,
  MM_LOG_LEVEL_INFO = 1 << 4,
  MM_LOG_LEVEL_DEBUG = 1 << 5,
  MM_LOG_LEVEL_STATISTICS = 1 << 6,
  MM_LOG_LEVEL_PROFILE = 1 << 7,
} MmLogLevel;

#define MM_LOG_LEVEL_NONE 0u
#define MM_LOG_LEVEL_DEFAULT                                                      \
  (MM_LOG_LEVEL_CRITICAL | MM_LOG_LEVEL_ERROR | MM_LOG_LEVEL_WARNING |           \
   MM_LOG_LEVEL_MESSAGE | MM_LOG_LEVEL_STATISTICS)
#define MM_LOG_LEVEL_ALL 0xffu

#define MM_LOG_ERROR (mm_log_error_quark())
GQuark mm_log_error_quark(void);

typedef enum {
  MM_LOG_ERROR_LEVEL,    /* unknown level name: the message quotes it */
  MM_LOG_ERROR_FACILITY, /* unknown syslog facility */
  MM_LOG_ERROR_FILE,     /* the log file could not be opened: path and errno text */
} MmLogError;

/* mm_log_level_parse - "all", "default", "none", or names joined with "|";
 * FALSE with an error naming the bad word. */
gboolean mm_log_level_parse(const char *text, guint *levels, GError **error);

/* mm_log_set_levels - which levels are written from now on */
void mm_log_set_levels(guint levels);
guint mm_log_get_levels(void);

/* mm_log_is_enabled - cheap test before building an expensive message */
gboolean mm_log_is_enabled(MmLogLevel level);

/* mm_log_open_syslog - write to syslog with FACILITY ("mail", "daemon", "local0", ...);
 * FALSE with an error for an unknown facility. */
gboolean mm_log_open_syslog(const char *ident, const char *facility, GError **error);

/* mm_log_open_file - append to PATH ("-" is standard output); remembered for reopen */
gboolean mm_log_open_file(const char *path, GError **error);

/* mm_log_reopen - reopen the log file (SIGUSR1, after logrotate) */
gboolean mm_log_reopen(GError **error);

/* mm_log_close - close syslog and the file; logging falls back to standard error */
void mm_log_close(void);

/* mm_log_level_to_string - the name of one level ("warning"), for log lines */
const char *mm_log_level_to_string(MmLogLevel level);

void mm_log(MmLogLevel level, const char *format, ...) G_GNUC_PRINTF(2, 3);

#define mm_critical(...) mm_log(MM_LOG_LEVEL_CRITICAL, __VA_ARGS__)
#define mm_error(...) mm_log(MM_LOG_LEVEL_ERROR, __VA_ARGS__)
#define mm_warning(...) mm_log(MM_LOG_LEVEL_WARNING, __VA_ARGS__)
#define mm_message(...) mm_log(MM_LOG_LEVEL_MESSAGE, __VA_ARGS__)
#define mm_info(...) mm_log(MM_LOG_LEVEL_INFO, __VA_ARGS__)
#define mm_statistics(...) mm_log(MM_LOG_LEVEL_STATISTICS, __VA_ARGS__)
/* Debug messages are costly to format: test the level first. */
#define mm_debug(...)                                  \
  do {                                                 \
    if (mm_log_is_enabled(MM_LOG_LEVEL_DEBUG))         \
      mm_log(MM_LOG_LEVEL_DEBUG, __VA_ARGS__);         \
  } while (0)
