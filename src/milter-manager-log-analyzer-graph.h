/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-manager-log-analyzer-graph.h: PNG graphs of the analyzer's RRD files for the last
 * day, week, month and year (rrd_graph_v), and the index.html that shows them. */
#pragma once

#include <glib.h>

/* Graph size in pixels (the plot area; rrdtool adds axes and legend). */
#define MM_LOG_ANALYZER_GRAPH_WIDTH 600
#define MM_LOG_ANALYZER_GRAPH_HEIGHT 200

#define MM_LOG_ANALYZER_GRAPH_ERROR (mm_log_analyzer_graph_error_quark())
GQuark mm_log_analyzer_graph_error_quark(void);

typedef enum {
  MM_LOG_ANALYZER_GRAPH_ERROR_LIBRRD, /* rrd_graph_v failed: its text and the PNG's name */
  MM_LOG_ANALYZER_GRAPH_ERROR_HTML,   /* index.html could not be written */
} MmLogAnalyzerGraphError;

/* mm_log_analyzer_graph_render_all - render every graph whose RRD files exist in
 * DIRECTORY, for child milters KEYS (file name keys, sorted), ending at NOW; then write
 * DIRECTORY/index.html listing them. */
gboolean mm_log_analyzer_graph_render_all(const char *directory, GPtrArray *keys, gint64 now,
                                          GError **error);
