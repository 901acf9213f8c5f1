/* SPDX-License-Identifier: GPL-3.0-or-later */
/* log.c: the daemon's log: level mask, syslog with a facility, and an append-only file
 * (or standard output) written one whole line per write() so that lines never interleave. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* A log file is readable by the administrators' group, not by everybody: it names
 * senders and recipients. */
#define MM_LOG_FILE_MODE 0640

typedef struct {
  const char *name;
  guint level;
  int priority;
} LevelInfo;

/* Statistics lines feed log analyzers that read the mail log: keep them above debug. */
static const LevelInfo levels_info[] = {
  {"critical", MM_LOG_LEVEL_CRITICAL, LOG_CRIT},
  {"error", MM_LOG_LEVEL_ERROR, LOG_ERR},
  {"warning", MM_LOG_LEVEL_WARNING, LOG_WARNING},
  {"message", MM_LOG_LEVEL_MESSAGE, LOG_NOTICE},
  {"info", MM_LOG_LEVEL_INFO, LOG_INFO},
  {"debug", MM_LOG_LEVEL_DEBUG, LOG_DEBUG},
  {"statistics", MM_LOG_LEVEL_STATISTICS, LOG_INFO},
  {"profile", MM_LOG_LEVEL_PROFILE, LOG_DEBUG},
};

typedef struct {
  const char *name;
  int facility;
} FacilityInfo;

static const FacilityInfo facilities[] = {
  {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
  {"daemon", LOG_DAEMON}, {"ftp", LOG_FTP},           {"kern", LOG_KERN},
  {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2},
  {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},     {"local5", LOG_LOCAL5},
  {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},     {"lpr", LOG_LPR},
  {"mail", LOG_MAIL},     {"news", LOG_NEWS},         {"syslog", LOG_SYSLOG},
  {"user", LOG_USER},     {"uucp", LOG_UUCP},
};

/* One process-wide log: sessions may run in worker threads of tools, so guard it. */
G_LOCK_DEFINE_STATIC(log_lock);
static guint log_levels = MM_LOG_LEVEL_DEFAULT;
static gboolean log_syslog_open = FALSE;
static char *log_syslog_ident = NULL;
static int log_fd = -1;           /* -1: no file target */
static char *log_path = NULL;     /* "-" for standard output */

G_DEFINE_QUARK(mm-log-error-quark, mm_log_error)

/* mm_log_level_parse - "all", "default", "none", or names joined with "|" */
gboolean
mm_log_level_parse(const char *text, guint *levels, GError **error)
{
  guint result = MM_LOG_LEVEL_NONE;
  g_auto(GStrv) words = g_strsplit(text != NULL ? text : "", "|", -1);
  for (guint i = 0; words[i] != NULL; i++) {
    g_autofree char *word = g_ascii_strdown(g_strstrip(words[i]), -1);
    gboolean found = FALSE;
    if (g_str_equal(word, "all")) {
      result |= MM_LOG_LEVEL_ALL;
      found = TRUE;
    } else if (g_str_equal(word, "default")) {
      result |= MM_LOG_LEVEL_DEFAULT;
      found = TRUE;
    } else if (g_str_equal(word, "none")) {
      found = TRUE;
    }
    for (guint j = 0; !found && j < G_N_ELEMENTS(levels_info); j++) {
      if (g_str_equal(word, levels_info[j].name)) {
        result |= levels_info[j].level;
        found = TRUE;
      }
    }
    if (!found) {
      g_set_error(error, MM_LOG_ERROR, MM_LOG_ERROR_LEVEL,
                  "unknown log level \"%s\" in \"%s\" (expected all, default, none, critical, "
                  "error, warning, message, info, debug, statistics or profile, joined by |)",
                  words[i], text != NULL ? text : "");
      return FALSE;
    }
  }
  *levels = result;
  return TRUE;
}

/* mm_log_level_to_string - the name of one level */
const char *
mm_log_level_to_string(MmLogLevel level)
{
  for (guint i = 0; i < G_N_ELEMENTS(levels_info); i++) {
    if (levels_info[i].level == (guint)level)
      return levels_info[i].name;
  }
  return "unknown";
}

/* mm_log_set_levels - which levels are written from now on */
void
mm_log_set_levels(guint levels)
{
  g_atomic_int_set(&log_levels, levels & MM_LOG_LEVEL_ALL);
}

/* mm_log_get_levels - the levels written now */
guint
mm_log_get_levels(void)
{
  return (guint)g_atomic_int_get(&log_levels);
}

/* mm_log_is_enabled - cheap test before building an expensive message */
gboolean
mm_log_is_enabled(MmLogLevel level)
{
  return (mm_log_get_levels() & (guint)level) != 0;
}

/* mm_log_open_syslog - write to syslog with FACILITY */
gboolean
mm_log_open_syslog(const char *ident, const char *facility, GError **error)
{
  const char *name = facility != NULL ? facility : "mail";
  int code = -1;
  for (guint i = 0; i < G_N_ELEMENTS(facilities); i++) {
    if (g_ascii_strcasecmp(name, facilities[i].name) == 0)
      code = facilities[i].facility;
  }
  if (code < 0) {
    g_set_error(error, MM_LOG_ERROR, MM_LOG_ERROR_FACILITY,
                "unknown syslog facility \"%s\" (expected auth, authpriv, cron, daemon, ftp, "
                "kern, local0 ... local7, lpr, mail, news, syslog, user or uucp)", name);
    return FALSE;
  }
  G_LOCK(log_lock);
  if (log_syslog_open)
    closelog();
  /* openlog keeps the pointer: the ident must outlive the connection. */
  g_free(log_syslog_ident);
  log_syslog_ident = g_strdup(ident != NULL ? ident : g_get_prgname());
  openlog(log_syslog_ident, LOG_PID | LOG_NDELAY, code);
  log_syslog_open = TRUE;
  G_UNLOCK(log_lock);
  return TRUE;
}

/* open_file - an append-only descriptor for PATH; "-" duplicates standard output */
static int
open_file(const char *path, GError **error)
{
  int fd;
  if (g_str_equal(path, "-"))
    fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
  else
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, MM_LOG_FILE_MODE);
  if (fd < 0) {
    int saved = errno;
    g_set_error(error, MM_LOG_ERROR, MM_LOG_ERROR_FILE, "failed to open log file %s: %s",
                g_str_equal(path, "-") ? "(standard output)" : path, g_strerror(saved));
  }
  return fd;
}

/* mm_log_open_file - append to PATH ("-" is standard output); remembered for reopen */
gboolean
mm_log_open_file(const char *path, GError **error)
{
  int fd = open_file(path, error);
  if (fd < 0)
    return FALSE;
  G_LOCK(log_lock);
  if (log_fd >= 0)
    close(log_fd);
  log_fd = fd;
  g_free(log_path);
  log_path = g_strdup(path);
  G_UNLOCK(log_lock);
  return TRUE;
}

/* mm_log_reopen - reopen the log file; the old one stays in use if that fails */
gboolean
mm_log_reopen(GError **error)
{
  G_LOCK(log_lock);
  g_autofree char *path = g_strdup(log_path);
  G_UNLOCK(log_lock);
  if (path == NULL || g_str_equal(path, "-"))
    return TRUE;
  int fd = open_file(path, error);
  if (fd < 0)
    return FALSE;
  G_LOCK(log_lock);
  if (log_fd >= 0)
    close(log_fd);
  log_fd = fd;
  G_UNLOCK(log_lock);
  return TRUE;
}

/* mm_log_close - close syslog and the file; logging falls back to standard error */
void
mm_log_close(void)
{
  G_LOCK(log_lock);
  if (log_syslog_open)
    closelog();
  log_syslog_open = FALSE;
  g_clear_pointer(&log_syslog_ident, g_free);
  if (log_fd >= 0)
    close(log_fd);
  log_fd = -1;
  g_clear_pointer(&log_path, g_free);
  G_UNLOCK(log_lock);
}

/* write_all - write LENGTH bytes of DATA, retrying after interruptions */
static void
write_all(int fd, const char *data, gsize length)
{
  while (length > 0) {
    ssize_t written = write(fd, data, length);
    if (written < 0 && errno == EINTR)
      continue;
    if (written <= 0)
      return; /* nowhere left to report a failing log */
    data += written;
    length -= (gsize)written;
  }
}

/* format_line - "2026-11-21T19:40:01.123Z milter-manager[PID]: [level] message\n" */
static GString *
format_line(const char *name, const char *message)
{
  gint64 now = g_get_real_time();
  time_t seconds = (time_t)(now / G_USEC_PER_SEC);
  struct tm tm;
  gmtime_r(&seconds, &tm);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  GString *line = g_string_sized_new(64 + strlen(message));
  g_string_append_printf(line, "%s.%03dZ %s[%ld]: [%s] %s\n", stamp,
                         (int)((now % G_USEC_PER_SEC) / 1000),
                         g_get_prgname() != NULL ? g_get_prgname() : "milter-manager",
                         (long)getpid(), name, message);
  return line;
}

/* mm_log - write MESSAGE at LEVEL to every open target (standard error when none is) */
void
mm_log(MmLogLevel level, const char *format, ...)
{
  if (!mm_log_is_enabled(level))
    return;
  const LevelInfo *info = NULL;
  for (guint i = 0; i < G_N_ELEMENTS(levels_info); i++) {
    if (levels_info[i].level == (guint)level)
      info = &levels_info[i];
  }
  if (info == NULL)
    return;

  va_list args;
  va_start(args, format);
  g_autofree char *message = g_strdup_vprintf(format, args);
  va_end(args);

  G_LOCK(log_lock);
  if (log_syslog_open)
    syslog(info->priority, "[%s] %s", info->name, message);
  if (log_fd >= 0 || !log_syslog_open) {
    g_autoptr(GString) line = format_line(info->name, message);
    write_all(log_fd >= 0 ? log_fd : STDERR_FILENO, line->str, line->len);
  }
  G_UNLOCK(log_lock);
}
