/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-manager-log-analyzer-rrd.h: one RRD file fed minute by minute with event counts;
 * updates at or before the file's last update are refused, which makes reruns idempotent. */
#pragma once

#include <glib.h>

/* One minute per primary data point, as 2.3 did. */
#define MM_LOG_ANALYZER_RRD_STEP 60

#define MM_LOG_ANALYZER_RRD_ERROR (mm_log_analyzer_rrd_error_quark())
GQuark mm_log_analyzer_rrd_error_quark(void);

typedef enum {
  MM_LOG_ANALYZER_RRD_ERROR_LIBRRD, /* librrd failed: the message carries its text */
  MM_LOG_ANALYZER_RRD_ERROR_SCHEMA, /* the file lacks a data source we write */
} MmLogAnalyzerRrdError;

typedef struct MmLogAnalyzerRrd MmLogAnalyzerRrd;

/* mm_log_analyzer_rrd_open - PATH with data sources DS_NAMES (N_DS of them, kept by
 * reference: static tables). An existing file is checked and its last update read;
 * a missing one is created at the first minute written. */
MmLogAnalyzerRrd *mm_log_analyzer_rrd_open(const char *path, const char *const *ds_names,
                                           guint n_ds, GError **error);

/* mm_log_analyzer_rrd_free - flush nothing, free everything (NULL-safe) */
void mm_log_analyzer_rrd_free(MmLogAnalyzerRrd *rrd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmLogAnalyzerRrd, mm_log_analyzer_rrd_free)

const char *mm_log_analyzer_rrd_get_path(const MmLogAnalyzerRrd *rrd);

/* mm_log_analyzer_rrd_is_stored - whether the minute starting at MINUTE is already in the file */
gboolean mm_log_analyzer_rrd_is_stored(const MmLogAnalyzerRrd *rrd, gint64 minute);

/* mm_log_analyzer_rrd_count - one event of MINUTE for data source DS, counted in the
 * open minute (MINUTE is earlier for a late line); FALSE (nothing counted) when
 * MINUTE is already stored */
gboolean mm_log_analyzer_rrd_count(MmLogAnalyzerRrd *rrd, gint64 minute, guint ds);

/* mm_log_analyzer_rrd_close_minute - queue the counts of the minute starting at MINUTE
 * (zeros when nothing happened) and start a new one; no-op for stored minutes */
gboolean mm_log_analyzer_rrd_close_minute(MmLogAnalyzerRrd *rrd, gint64 minute, GError **error);

/* mm_log_analyzer_rrd_flush - write the queued minutes */
gboolean mm_log_analyzer_rrd_flush(MmLogAnalyzerRrd *rrd, GError **error);
