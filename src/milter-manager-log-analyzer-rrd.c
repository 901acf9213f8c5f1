/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-manager-log-analyzer-rrd.c: one RRD file fed minute by minute with event counts,
 * through librrd's reentrant calls (rrd_create_r, rrd_update_r, rrd_lastupdate_r). */
#include "milter-manager-log-analyzer-rrd.h"

#include <errno.h>
#include <rrd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(mm-log-analyzer-rrd-error-quark, mm_log_analyzer_rrd_error)

/* Most data sources one file holds (a status file has nine). */
#define MAX_DS 16
/* Minutes queued before they are written in one rrd_update_r call. */
#define UPDATE_BATCH 720
/* Minute heartbeat: a gap of three minutes without an update is unknown, as in 2.3. */
#define HEARTBEAT (3 * MM_LOG_ANALYZER_RRD_STEP)

/* Archives: one per graph range, each as AVERAGE (the graph) and MAX (the peaks).
 * {steps per row, rows}: 1 min for 2 days, 10 min for 8 days, 1 h for 32 days,
 * 12 h for 370 days. */
static const struct {
  guint steps;
  guint rows;
} archives[] = {{1, 2880}, {10, 1152}, {60, 768}, {720, 740}};

struct MmLogAnalyzerRrd {
  char *path;
  const char *const *ds_names;
  guint n_ds;
  gboolean exists;
  gint64 last_update;  /* the file's last update; 0 when it does not exist yet */
  gint64 last_queued;  /* end of the last minute queued */
  double counts[MAX_DS];
  GPtrArray *pending;  /* "TIME:V:V..." */
  char *template;      /* "ds1:ds2:..." */
};

/* librrd_error - a GError from librrd's last error text */
static gboolean
librrd_error(GError **error, const char *what, const char *path)
{
  const char *text = rrd_get_error();
  g_set_error(error, MM_LOG_ANALYZER_RRD_ERROR, MM_LOG_ANALYZER_RRD_ERROR_LIBRRD, "%s %s: %s",
              what, path, text != NULL && *text != '\0' ? text : "unknown librrd error");
  rrd_clear_error();
  return FALSE;
}

/* load - last update time and data source check of an existing file */
static gboolean
load(MmLogAnalyzerRrd *rrd, GError **error)
{
  time_t last = 0;
  unsigned long n = 0;
  char **names = NULL;
  char **values = NULL;
  rrd_clear_error();
  if (rrd_lastupdate_r(rrd->path, &last, &n, &names, &values) != 0)
    return librrd_error(error, "cannot read", rrd->path);
  const char *missing = NULL;
  for (guint i = 0; i < rrd->n_ds && missing == NULL; i++) {
    gboolean found = FALSE;
    for (unsigned long j = 0; j < n; j++)
      found = found || strcmp(names[j], rrd->ds_names[i]) == 0;
    if (!found)
      missing = rrd->ds_names[i];
  }
  if (missing != NULL) {
    g_set_error(error, MM_LOG_ANALYZER_RRD_ERROR, MM_LOG_ANALYZER_RRD_ERROR_SCHEMA,
                "%s has no data source \"%s\" (made by an older analyzer?); move it away "
                "and run again",
                rrd->path, missing);
  }
  for (unsigned long j = 0; j < n; j++) {
    free(names[j]);
    free(values[j]);
  }
  free(names);
  free(values);
  if (missing != NULL)
    return FALSE;
  rrd->exists = TRUE;
  rrd->last_update = (gint64)last;
  rrd->last_queued = rrd->last_update;
  return TRUE;
}

/* mm_log_analyzer_rrd_open - an RRD file to feed */
MmLogAnalyzerRrd *
mm_log_analyzer_rrd_open(const char *path, const char *const *ds_names, guint n_ds,
                         GError **error)
{
  g_return_val_if_fail(n_ds > 0 && n_ds <= MAX_DS, NULL);
  g_autoptr(MmLogAnalyzerRrd) rrd = g_new0(MmLogAnalyzerRrd, 1);
  rrd->path = g_strdup(path);
  rrd->ds_names = ds_names;
  rrd->n_ds = n_ds;
  rrd->pending = g_ptr_array_new_with_free_func(g_free);
  GString *template = g_string_new(NULL);
  for (guint i = 0; i < n_ds; i++)
    g_string_append_printf(template, "%s%s", i > 0 ? ":" : "", ds_names[i]);
  rrd->template = g_string_free(template, FALSE);
  if (access(path, F_OK) == 0 && !load(rrd, error))
    return NULL;
  return g_steal_pointer(&rrd);
}

/* mm_log_analyzer_rrd_free - release RRD */
void
mm_log_analyzer_rrd_free(MmLogAnalyzerRrd *rrd)
{
  if (rrd == NULL)
    return;
  g_free(rrd->path);
  g_free(rrd->template);
  if (rrd->pending != NULL)
    g_ptr_array_unref(rrd->pending);
  g_free(rrd);
}

/* mm_log_analyzer_rrd_get_path - the file name */
const char *
mm_log_analyzer_rrd_get_path(const MmLogAnalyzerRrd *rrd)
{
  return rrd->path;
}

/* mm_log_analyzer_rrd_is_stored - a minute's value is stored at its end */
gboolean
mm_log_analyzer_rrd_is_stored(const MmLogAnalyzerRrd *rrd, gint64 minute)
{
  return rrd->last_queued != 0 && minute + MM_LOG_ANALYZER_RRD_STEP <= rrd->last_queued;
}

/* mm_log_analyzer_rrd_count - one more event in the open minute */
gboolean
mm_log_analyzer_rrd_count(MmLogAnalyzerRrd *rrd, gint64 minute, guint ds)
{
  g_return_val_if_fail(ds < rrd->n_ds, FALSE);
  if (mm_log_analyzer_rrd_is_stored(rrd, minute))
    return FALSE;
  rrd->counts[ds] += 1;
  return TRUE;
}

/* create - the file, its first update being at FIRST_UPDATE */
static gboolean
create(MmLogAnalyzerRrd *rrd, gint64 first_update, GError **error)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < rrd->n_ds; i++) {
    g_ptr_array_add(args, g_strdup_printf("DS:%s:GAUGE:%d:0:U", rrd->ds_names[i], HEARTBEAT));
  }
  for (guint i = 0; i < G_N_ELEMENTS(archives); i++) {
    g_ptr_array_add(args, g_strdup_printf("RRA:AVERAGE:0.5:%u:%u", archives[i].steps,
                                          archives[i].rows));
    g_ptr_array_add(args,
                    g_strdup_printf("RRA:MAX:0.5:%u:%u", archives[i].steps, archives[i].rows));
  }
  rrd_clear_error();
  /* Start one step before the first update, so that its whole minute is known. */
  if (rrd_create_r(rrd->path, MM_LOG_ANALYZER_RRD_STEP,
                   (time_t)(first_update - MM_LOG_ANALYZER_RRD_STEP),
                   (int)args->len, (const char **)args->pdata) != 0)
    return librrd_error(error, "cannot create", rrd->path);
  rrd->exists = TRUE;
  return TRUE;
}

/* mm_log_analyzer_rrd_close_minute - queue one minute's counts, stored at its end */
gboolean
mm_log_analyzer_rrd_close_minute(MmLogAnalyzerRrd *rrd, gint64 minute, GError **error)
{
  gint64 end = minute + MM_LOG_ANALYZER_RRD_STEP;
  if (mm_log_analyzer_rrd_is_stored(rrd, minute)) {
    memset(rrd->counts, 0, sizeof(rrd->counts));
    return TRUE;
  }
  if (!rrd->exists && !create(rrd, end, error))
    return FALSE;
  GString *line = g_string_new(NULL);
  g_string_printf(line, "%" G_GINT64_FORMAT, end);
  for (guint i = 0; i < rrd->n_ds; i++)
    g_string_append_printf(line, ":%.0f", rrd->counts[i]);
  g_ptr_array_add(rrd->pending, g_string_free(line, FALSE));
  memset(rrd->counts, 0, sizeof(rrd->counts));
  rrd->last_queued = end;
  if (rrd->pending->len >= UPDATE_BATCH)
    return mm_log_analyzer_rrd_flush(rrd, error);
  return TRUE;
}

/* mm_log_analyzer_rrd_flush - write what is queued in one librrd call */
gboolean
mm_log_analyzer_rrd_flush(MmLogAnalyzerRrd *rrd, GError **error)
{
  if (rrd->pending->len == 0)
    return TRUE;
  rrd_clear_error();
  int status = rrd_update_r(rrd->path, rrd->template, (int)rrd->pending->len,
                            (const char **)rrd->pending->pdata);
  g_ptr_array_set_size(rrd->pending, 0);
  if (status != 0)
    return librrd_error(error, "cannot update", rrd->path);
  rrd->last_update = rrd->last_queued;
  return TRUE;
}
