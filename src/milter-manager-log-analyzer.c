/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-manager-log-analyzer.c: reads milter manager's "[statistics]" lines from a mail
 * log, counts them per minute into RRD files and draws graphs plus an index.html. */
#include "build-config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "milter-manager-log-analyzer-graph.h"
#include "milter-manager-log-analyzer-report.h"
#include "milter-manager-log-analyzer-rrd.h"
#include "statistics.h"

#define STEP MM_LOG_ANALYZER_RRD_STEP
/* Longest log line read; longer ones are skipped (and counted). */
#define MAX_LINE_LENGTH (64 * 1024)
/* Most child milters given their own files; more are counted only in the totals. */
#define MAX_CHILDREN 256
/* A gap in the log longer than this is left unknown instead of filled with zeros. */
#define MAX_FILL_MINUTES (3 * 24 * 60)
/* The program whose lines are read (its syslog identity and file log name). */
#define PROGRAM "milter-manager"

typedef struct {
  MmLogAnalyzerRrd *status;
  MmLogAnalyzerRrd *report;
} Child;

typedef struct {
  const char *directory;
  gint64 now;
  MmLogAnalyzerRrd *session;
  MmLogAnalyzerRrd *status;
  MmLogAnalyzerRrd *report;
  GHashTable *children; /* file key -> Child */
  gint64 first_minute;  /* -1 before the first counted line */
  gint64 current_minute;
  /* what happened to the lines read */
  guint64 n_lines, n_counted, n_stored, n_deferred, n_malformed, n_too_long, n_dropped_children;
} Analyzer;

/* child_free - release one child's files */
static void
child_free(Child *child)
{
  mm_log_analyzer_rrd_free(child->status);
  mm_log_analyzer_rrd_free(child->report);
  g_free(child);
}

/* for_each_rrd - call FUNC on every open file until it fails */
static gboolean
for_each_rrd(Analyzer *analyzer, gboolean (*func)(MmLogAnalyzerRrd *, gint64, GError **),
             gint64 minute, GError **error)
{
  if (!func(analyzer->session, minute, error) || !func(analyzer->status, minute, error) ||
      !func(analyzer->report, minute, error))
    return FALSE;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init(&iter, analyzer->children);
  while (g_hash_table_iter_next(&iter, NULL, &value)) {
    Child *child = value;
    if (!func(child->status, minute, error) || !func(child->report, minute, error))
      return FALSE;
  }
  return TRUE;
}

/* flush_one - the for_each_rrd shape of mm_log_analyzer_rrd_flush */
static gboolean
flush_one(MmLogAnalyzerRrd *rrd, gint64 minute, GError **error)
{
  (void)minute;
  return mm_log_analyzer_rrd_flush(rrd, error);
}

/* advance - close every minute from the current one up to (not including) MINUTE */
static gboolean
advance(Analyzer *analyzer, gint64 minute, GError **error)
{
  if (analyzer->current_minute < 0) {
    analyzer->first_minute = analyzer->current_minute = minute;
    return TRUE;
  }
  if (minute <= analyzer->current_minute)
    return TRUE; /* a late line counts in the open minute */
  gint64 last = MIN(minute, analyzer->current_minute + (gint64)MAX_FILL_MINUTES * STEP);
  for (gint64 m = analyzer->current_minute; m < last; m += STEP) {
    if (!for_each_rrd(analyzer, mm_log_analyzer_rrd_close_minute, m, error))
      return FALSE;
  }
  analyzer->current_minute = minute;
  return TRUE;
}

/* child_key - NAME as it appears in file names: anything odd becomes '_' */
static char *
child_key(const char *name)
{
  char *key = g_strdup(name);
  for (char *p = key; *p != '\0'; p++) {
    if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
      *p = '_';
  }
  if (key[0] == '.')
    key[0] = '_';
  return key;
}

/* open_pair - DIRECTORY/milter.status.KEY.rrd and milter.report.KEY.rrd */
static Child *
open_child(Analyzer *analyzer, const char *key, GError **error)
{
  g_autofree char *status_name = g_strdup_printf("milter.status.%s.rrd", key);
  g_autofree char *report_name = g_strdup_printf("milter.report.%s.rrd", key);
  g_autofree char *status_path = g_build_filename(analyzer->directory, status_name, NULL);
  g_autofree char *report_path = g_build_filename(analyzer->directory, report_name, NULL);
  Child *child = g_new0(Child, 1);
  child->status = mm_log_analyzer_rrd_open(status_path, mm_log_analyzer_status_names,
                                           MM_LOG_ANALYZER_STATUS_N, error);
  if (child->status != NULL) {
    child->report = mm_log_analyzer_rrd_open(report_path, mm_log_analyzer_report_names,
                                             MM_LOG_ANALYZER_REPORT_N, error);
  }
  if (child->report == NULL) {
    child_free(child);
    return NULL;
  }
  /* A child first seen now: its earlier minutes in this log had no sessions. */
  gint64 from = MAX(analyzer->first_minute,
                    analyzer->current_minute - (gint64)MAX_FILL_MINUTES * STEP);
  for (gint64 m = from; m < analyzer->current_minute; m += STEP) {
    if (!mm_log_analyzer_rrd_close_minute(child->status, m, error) ||
        !mm_log_analyzer_rrd_close_minute(child->report, m, error)) {
      child_free(child);
      return NULL;
    }
  }
  return child;
}

/* lookup_child - the files of child milter NAME, opened on first sight; NULL past
 * MAX_CHILDREN (with *error unset) or on error */
static Child *
lookup_child(Analyzer *analyzer, const char *name, GError **error)
{
  g_autofree char *key = child_key(name);
  Child *child = g_hash_table_lookup(analyzer->children, key);
  if (child != NULL)
    return child;
  if (g_hash_table_size(analyzer->children) >= MAX_CHILDREN) {
    analyzer->n_dropped_children++;
    return NULL;
  }
  child = open_child(analyzer, key, error);
  if (child != NULL)
    g_hash_table_insert(analyzer->children, g_steal_pointer(&key), child);
  return child;
}

/* count - one event of MINUTE, counted in the open minute (a late line's minute may
 * be closed already) unless MINUTE is stored; *any is set when it was not stored */
static void
count(MmLogAnalyzerRrd *rrd, gint64 minute, guint ds, gboolean *any, gboolean *tried)
{
  *tried = TRUE;
  if (mm_log_analyzer_rrd_count(rrd, minute, ds))
    *any = TRUE;
}

/* feed - count one statistics record at MINUTE */
static gboolean
feed(Analyzer *analyzer, const MmStatisticsRecord *record, gint64 minute, GError **error)
{
  gboolean any = FALSE, tried = FALSE;
  guint status = mm_log_analyzer_status_from_result(record->result);
  Child *child = NULL;
  switch (record->kind) {
  case MM_STATISTICS_KIND_SESSION_END:
    count(analyzer->session, minute, MM_LOG_ANALYZER_SESSION_SMTP, &any, &tried);
    if (status >= MM_LOG_ANALYZER_STATUS_N_MANAGER)
      status = MM_LOG_ANALYZER_STATUS_PASS;
    count(analyzer->status, minute, status, &any, &tried);
    break;
  case MM_STATISTICS_KIND_CHILD_END:
    count(analyzer->session, minute, MM_LOG_ANALYZER_SESSION_CHILD, &any, &tried);
    child = lookup_child(analyzer, record->child_name, error);
    if (child == NULL && error != NULL && *error != NULL)
      return FALSE;
    if (child != NULL)
      count(child->status, minute, status, &any, &tried);
    break;
  case MM_STATISTICS_KIND_HEADER_ADD: {
    gboolean found[MM_LOG_ANALYZER_REPORT_N] = {FALSE};
    if (mm_log_analyzer_report_classify(record->header_name, record->header_value, found) == 0)
      return TRUE;
    child = lookup_child(analyzer, record->child_name, error);
    if (child == NULL && error != NULL && *error != NULL)
      return FALSE;
    for (guint i = 0; i < MM_LOG_ANALYZER_REPORT_N; i++) {
      if (!found[i])
        continue;
      count(analyzer->report, minute, i, &any, &tried);
      if (child != NULL)
        count(child->report, minute, i, &any, &tried);
    }
    break;
  }
  case MM_STATISTICS_KIND_QUARANTINE:
  case MM_STATISTICS_KIND_ABORT:
    count(analyzer->status, minute, status, &any, &tried);
    break;
  case MM_STATISTICS_KIND_DISCONNECTED:
  case MM_STATISTICS_KIND_SESSIONS_FINISHED:
  default:
    return TRUE; /* logged for people, not graphed (as in 2.3) */
  }
  if (tried) {
    if (any)
      analyzer->n_counted++;
    else
      analyzer->n_stored++;
  }
  return TRUE;
}

/* process_line - one log line */
static gboolean
process_line(Analyzer *analyzer, const char *line, GError **error)
{
  gint64 time = 0;
  g_autofree char *program = NULL;
  const char *message = NULL;
  if (!mm_statistics_split_log_line(line, analyzer->now, &time, &program, &message, NULL))
    return TRUE;
  if (strcmp(program, PROGRAM) != 0)
    return TRUE;
  MmStatisticsRecord record = {0};
  g_autoptr(GError) parse_error = NULL;
  if (!mm_statistics_parse(message, &record, &parse_error)) {
    if (g_error_matches(parse_error, MM_STATISTICS_ERROR, MM_STATISTICS_ERROR_SYNTAX))
      analyzer->n_malformed++;
    return TRUE;
  }
  gint64 minute = time - (time % STEP + STEP) % STEP;
  gboolean ok = TRUE;
  if (minute + STEP > analyzer->now) {
    /* that minute is not over: the next run counts it whole */
    analyzer->n_deferred++;
  } else {
    ok = advance(analyzer, minute, error) &&
         feed(analyzer, &record, minute, error);
  }
  mm_statistics_record_clear(&record);
  return ok;
}

/* read_log - every line of INPUT; over-long lines are skipped whole */
static gboolean
read_log(Analyzer *analyzer, FILE *input, const char *name, GError **error)
{
  g_autofree char *buffer = g_malloc(MAX_LINE_LENGTH + 2);
  gboolean skipping = FALSE;
  while (fgets(buffer, MAX_LINE_LENGTH + 2, input) != NULL) {
    gsize length = strlen(buffer);
    gboolean complete = length > 0 && buffer[length - 1] == '\n';
    if (skipping) {
      skipping = !complete;
      continue;
    }
    if (!complete && length > MAX_LINE_LENGTH) {
      analyzer->n_too_long++;
      skipping = TRUE;
      continue;
    }
    analyzer->n_lines++;
    g_strchomp(buffer);
    if (!process_line(analyzer, buffer, error))
      return FALSE;
  }
  if (ferror(input)) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot read %s: %s", name,
                g_strerror(errno));
    return FALSE;
  }
  return TRUE;
}

/* open_manager_files - session.rrd, milter-manager.status.rrd, milter-manager.report.rrd */
static gboolean
open_manager_files(Analyzer *analyzer, GError **error)
{
  g_autofree char *session = g_build_filename(analyzer->directory, "session.rrd", NULL);
  g_autofree char *status = g_build_filename(analyzer->directory, "milter-manager.status.rrd", NULL);
  g_autofree char *report = g_build_filename(analyzer->directory, "milter-manager.report.rrd", NULL);
  analyzer->session = mm_log_analyzer_rrd_open(session, mm_log_analyzer_session_names,
                                               MM_LOG_ANALYZER_SESSION_N, error);
  if (analyzer->session == NULL)
    return FALSE;
  analyzer->status = mm_log_analyzer_rrd_open(status, mm_log_analyzer_status_names,
                                              MM_LOG_ANALYZER_STATUS_N_MANAGER, error);
  if (analyzer->status == NULL)
    return FALSE;
  analyzer->report = mm_log_analyzer_rrd_open(report, mm_log_analyzer_report_names,
                                              MM_LOG_ANALYZER_REPORT_N, error);
  return analyzer->report != NULL;
}

/* update - read the log into the RRD files */
static gboolean
update(Analyzer *analyzer, const char *log, GError **error)
{
  if (!open_manager_files(analyzer, error))
    return FALSE;
  FILE *input = stdin;
  if (log != NULL && strcmp(log, "-") != 0) {
    input = fopen(log, "r");
    if (input == NULL) {
      g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot open %s: %s",
                  log, g_strerror(errno));
      return FALSE;
    }
  }
  gboolean ok = read_log(analyzer, input, log != NULL ? log : "standard input", error);
  if (input != stdin)
    fclose(input);
  if (!ok)
    return FALSE;
  if (analyzer->current_minute >= 0 &&
      !for_each_rrd(analyzer, mm_log_analyzer_rrd_close_minute, analyzer->current_minute,
                    error))
    return FALSE;
  return for_each_rrd(analyzer, flush_one, 0, error);
}

/* compare_strings - g_ptr_array_sort's order for char * elements */
static gint
compare_strings(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* list_children - file keys of DIRECTORY/milter.status.KEY.rrd, sorted */
static GPtrArray *
list_children(const char *directory, GError **error)
{
  g_autoptr(GDir) dir = g_dir_open(directory, 0, error);
  if (dir == NULL)
    return NULL;
  GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(dir)) != NULL && keys->len < MAX_CHILDREN) {
    if (g_str_has_prefix(name, "milter.status.") && g_str_has_suffix(name, ".rrd") &&
        strlen(name) > strlen("milter.status..rrd")) {
      g_ptr_array_add(keys, g_strndup(name + strlen("milter.status."),
                                      strlen(name) - strlen("milter.status..rrd")));
    }
  }
  g_ptr_array_sort(keys, compare_strings);
  return keys;
}

int
main(int argc, char **argv)
{
  g_autofree char *log = NULL;
  g_autofree char *directory = NULL;
  gboolean no_update_db = FALSE, update_db = FALSE, verbose = FALSE, version = FALSE;
  gint64 now = 0;
  GOptionEntry entries[] = {
    {"log", 0, 0, G_OPTION_ARG_FILENAME, &log, "Read the mail log from FILE (standard input)",
     "FILE"},
    {"output-directory", 0, 0, G_OPTION_ARG_FILENAME, &directory,
     "Write RRD files, graphs and index.html into DIRECTORY (.)", "DIRECTORY"},
    {"update-db", 0, 0, G_OPTION_ARG_NONE, &update_db, "Update the RRD files from the log (default)",
     NULL},
    {"no-update-db", 0, 0, G_OPTION_ARG_NONE, &no_update_db,
     "Only redraw graphs from the RRD files", NULL},
    {"now", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &now,
     "Pretend the time is SECONDS since the epoch (replaying logs, tests)", "SECONDS"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Report what happened to the lines read",
     NULL},
    {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Show the version and exit", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
  };
  g_autoptr(GOptionContext) context = g_option_context_new(NULL);
  g_option_context_set_summary(context,
                               "Graph milter manager's [statistics] log lines with RRDtool.");
  g_option_context_add_main_entries(context, entries, NULL);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    g_printerr("milter-manager-log-analyzer: %s\n", error->message);
    return 2;
  }
  if (version) {
    g_print("milter-manager-log-analyzer %s\n", PACKAGE_VERSION);
    return 0;
  }
  if (argc > 1) {
    g_printerr("milter-manager-log-analyzer: unexpected argument: %s\n", argv[1]);
    return 2;
  }
  Analyzer analyzer = {
    .directory = directory != NULL ? directory : ".",
    .now = now > 0 ? now : g_get_real_time() / G_USEC_PER_SEC,
    .children = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify)child_free),
    .first_minute = -1,
    .current_minute = -1,
  };
  gboolean ok = TRUE;
  if (g_mkdir_with_parents(analyzer.directory, 0755) != 0) {
    g_set_error(&error, G_FILE_ERROR, g_file_error_from_errno(errno), "cannot create %s: %s",
                analyzer.directory, g_strerror(errno));
    ok = FALSE;
  }
  if (ok && !no_update_db)
    ok = update(&analyzer, log, &error);
  if (ok && verbose) {
    g_print("lines read: %" G_GUINT64_FORMAT "\n"
            "statistics counted: %" G_GUINT64_FORMAT "\n"
            "already stored: %" G_GUINT64_FORMAT "\n"
            "deferred (minute not over): %" G_GUINT64_FORMAT "\n"
            "malformed: %" G_GUINT64_FORMAT "\n"
            "too long: %" G_GUINT64_FORMAT "\n"
            "children over the limit: %" G_GUINT64_FORMAT "\n",
            analyzer.n_lines, analyzer.n_counted, analyzer.n_stored, analyzer.n_deferred,
            analyzer.n_malformed, analyzer.n_too_long, analyzer.n_dropped_children);
  }
  g_autoptr(GPtrArray) keys = ok ? list_children(analyzer.directory, &error) : NULL;
  if (ok && keys == NULL)
    ok = FALSE;
  if (ok)
    ok = mm_log_analyzer_graph_render_all(analyzer.directory, keys, analyzer.now, &error);
  mm_log_analyzer_rrd_free(analyzer.session);
  mm_log_analyzer_rrd_free(analyzer.status);
  mm_log_analyzer_rrd_free(analyzer.report);
  g_hash_table_unref(analyzer.children);
  if (!ok) {
    g_printerr("milter-manager-log-analyzer: %s\n", error->message);
    return 1;
  }
  return 0;
}
