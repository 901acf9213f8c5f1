/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-manager-log-analyzer-graph.c: PNG graphs of the analyzer's RRD files for the last
 * day, week, month and year (rrd_graph_v), and the index.html that shows them. */
#include "milter-manager-log-analyzer-graph.h"

#include <rrd.h>
#include <string.h>
#include <unistd.h>

#include "milter-manager-log-analyzer-report.h"
#include "milter-manager-log-analyzer-rrd.h"

G_DEFINE_QUARK(mm-log-analyzer-graph-error-quark, mm_log_analyzer_graph_error)

typedef struct {
  const char *tag;
  const char *label;
  gint64 seconds;
  gint64 resolution; /* seconds per row of the archive the range reads (see the RRAs) */
} Range;

/* One pixel per stored row: rrdtool resamples rows to the graph's width otherwise, and its
 * TOTAL over resampled rows miscounts (7 sessions shown as 10.5). */
static const Range ranges[] = {
  {"day", "Last Day", 24 * 3600, 60},
  {"week", "Last Week", 7 * 24 * 3600, 600},
  {"month", "Last Month", 31 * 24 * 3600, 3600},
  {"year", "Last Year", 365 * 24 * 3600, 43200},
};

/* Colours of the child milters in the overview graph, reused in turn. */
static const char *const palette[] = {
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000080", "#808000",
};

/* One graph being built: rrd_graph_v's arguments, and what index.html says of it. */
typedef struct {
  GPtrArray *args;
  char *png; /* base name */
  char *title;
  guint label_width;
} Graph;

/* graph_free - release a graph */
static void
graph_free(Graph *graph)
{
  if (graph == NULL)
    return;
  if (graph->args != NULL)
    g_ptr_array_unref(graph->args);
  g_free(graph->png);
  g_free(graph->title);
  g_free(graph);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Graph, graph_free)

/* escape - TEXT with rrdtool's ':' separators escaped */
static char *
escape(const char *text)
{
  GString *out = g_string_new(NULL);
  for (const char *p = text; *p != '\0'; p++) {
    if (*p == ':' || *p == '\\')
      g_string_append_c(out, '\\');
    g_string_append_c(out, *p);
  }
  return g_string_free(out, FALSE);
}

/* arg - append one printf-formatted argument */
G_GNUC_PRINTF(2, 3)
static void
arg(Graph *graph, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  g_ptr_array_add(graph->args, g_strdup_vprintf(format, args));
  va_end(args);
}

/* graph_new - a graph of RANGE into DIRECTORY/STEM.TAG.png */
static Graph *
graph_new(const char *directory, const char *stem, const char *title, const char *unit,
          const Range *range, gint64 now, guint label_width)
{
  Graph *graph = g_new0(Graph, 1);
  graph->args = g_ptr_array_new_with_free_func(g_free);
  graph->png = g_strdup_printf("%s.%s.png", stem, range->tag);
  graph->title = g_strdup(title);
  graph->label_width = label_width;
  g_autofree char *g_range_label = g_ascii_strdown(range->label, -1);
  arg(graph, "graph");
  arg(graph, "%s/%s", directory, graph->png);
  arg(graph, "--imgformat=PNG");
  arg(graph, "--title=%s (%s)", title, g_range_label);
  arg(graph, "--vertical-label=%s per minute", unit);
  arg(graph, "--start=%" G_GINT64_FORMAT, now - range->seconds);
  arg(graph, "--end=%" G_GINT64_FORMAT, now);
  arg(graph, "--step=%" G_GINT64_FORMAT, range->resolution);
  arg(graph, "--width=%" G_GINT64_FORMAT,
      MAX((gint64)MM_LOG_ANALYZER_GRAPH_WIDTH, range->seconds / range->resolution));
  arg(graph, "--height=%d", MM_LOG_ANALYZER_GRAPH_HEIGHT);
  arg(graph, "--lower-limit=0");
  arg(graph, "--alt-y-grid");
  arg(graph, "--units-exponent=0");
  return graph;
}

/* define_derived - totals, averages and peaks of series VNAME (and VNAME_max) */
static void
define_derived(Graph *graph, const char *vname)
{
  arg(graph, "CDEF:%s_zero=%s,UN,0,%s,IF", vname, vname, vname);
  /* stored per minute: per second before integrating, so that TOTAL counts events */
  arg(graph, "CDEF:%s_second=%s_zero,%d,/", vname, vname, MM_LOG_ANALYZER_RRD_STEP);
  arg(graph, "VDEF:%s_total=%s_second,TOTAL", vname, vname);
  /* unknown minutes (before the first log line) count as none, never as "nan" */
  arg(graph, "CDEF:%s_max_zero=%s_max,UN,0,%s_max,IF", vname, vname, vname);
  arg(graph, "VDEF:%s_average=%s_zero,AVERAGE", vname, vname);
  arg(graph, "VDEF:%s_peak=%s_max_zero,MAXIMUM", vname, vname);
}

/* define_source - series VNAME from data source DS of PATH */
static void
define_source(Graph *graph, const char *vname, const char *path, const char *ds)
{
  g_autofree char *escaped = escape(path);
  arg(graph, "DEF:%s=%s:%s:AVERAGE", vname, escaped, ds);
  arg(graph, "DEF:%s_max=%s:%s:MAX", vname, escaped, ds);
  define_derived(graph, vname);
}

/* draw - plot series VNAME with its legend line: label, total, average, peak */
static void
draw(Graph *graph, const char *type, const char *vname, const char *color, const char *label,
     const char *unit)
{
  g_autofree char *escaped = escape(label);
  guint pad = graph->label_width > strlen(label) ? graph->label_width - (guint)strlen(label) : 0;
  if (strcmp(type, "STACK") == 0)
    arg(graph, "AREA:%s%s:%s%*s:STACK", vname, color, escaped, (int)pad, "");
  else
    arg(graph, "%s:%s%s:%s%*s", type, vname, color, escaped, (int)pad, "");
  arg(graph, "GPRINT:%s_total:total\\: %%8.0lf %s", vname, unit);
  arg(graph, "GPRINT:%s_average:average\\: %%7.2lf/min", vname);
  arg(graph, "GPRINT:%s_peak:peak\\: %%5.0lf/min\\l", vname);
}

/* label_width - the longest label of N sources */
static guint
label_width(const MmLogAnalyzerSource *sources, guint n)
{
  guint width = 0;
  for (guint i = 0; i < n; i++)
    width = MAX(width, (guint)strlen(sources[i].label));
  return width;
}

/* render - run rrd_graph_v and keep the graph for index.html */
static gboolean
render(Graph *graph, GPtrArray *rendered, GError **error)
{
  rrd_clear_error();
  rrd_info_t *info = rrd_graph_v((int)graph->args->len, (char **)graph->args->pdata);
  if (info == NULL) {
    const char *text = rrd_get_error();
    g_set_error(error, MM_LOG_ANALYZER_GRAPH_ERROR, MM_LOG_ANALYZER_GRAPH_ERROR_LIBRRD,
                "cannot draw %s: %s", graph->png, text != NULL ? text : "unknown librrd error");
    rrd_clear_error();
    return FALSE;
  }
  rrd_info_free(info);
  g_ptr_array_add(rendered, graph);
  return TRUE;
}

/* file_in - DIRECTORY/NAME when it exists */
static char *
file_in(const char *directory, const char *name)
{
  char *path = g_build_filename(directory, name, NULL);
  if (access(path, R_OK) != 0)
    g_clear_pointer(&path, g_free);
  return path;
}

/* add_stack - a stacked area per status of PATH, first N sources */
static void
add_statuses(Graph *graph, const char *path, guint n)
{
  for (guint i = 0; i < n; i++) {
    const MmLogAnalyzerSource *source = &mm_log_analyzer_status_sources[i];
    define_source(graph, source->name, path, source->name);
    draw(graph, i == 0 ? "AREA" : "STACK", source->name, source->color, source->label,
         "sessions");
  }
}

/* add_reports - a line per report source of PATH */
static void
add_reports(Graph *graph, const char *path)
{
  for (guint i = 0; i < MM_LOG_ANALYZER_REPORT_N; i++) {
    const MmLogAnalyzerSource *source = &mm_log_analyzer_report_sources[i];
    define_source(graph, source->name, path, source->name);
    draw(graph, i == 0 ? "AREA" : "LINE2", source->name, source->color, source->label, "mails");
  }
}

/* render_manager - sessions, the merged verdicts and the header findings */
static gboolean
render_manager(const char *directory, const Range *range, gint64 now, GPtrArray *rendered,
               GError **error)
{
  g_autofree char *session = file_in(directory, "session.rrd");
  g_autofree char *status = file_in(directory, "milter-manager.status.rrd");
  g_autofree char *report = file_in(directory, "milter-manager.report.rrd");
  if (session != NULL) {
    g_autoptr(Graph) graph = graph_new(directory, "session", "milter manager: sessions",
                                       "sessions", range, now,
                                       label_width(mm_log_analyzer_session_sources,
                                                   MM_LOG_ANALYZER_SESSION_N));
    for (guint i = 0; i < MM_LOG_ANALYZER_SESSION_N; i++) {
      const MmLogAnalyzerSource *source = &mm_log_analyzer_session_sources[i];
      define_source(graph, source->name, session, source->name);
      draw(graph, i == 0 ? "AREA" : "LINE2", source->name, source->color, source->label,
           "sessions");
    }
    if (!render(graph, rendered, error))
      return FALSE;
    graph = NULL;
  }
  if (status != NULL) {
    g_autoptr(Graph) graph = graph_new(
      directory, "milter-manager.status", "milter manager: status", "sessions", range, now,
      MAX(label_width(mm_log_analyzer_status_sources, MM_LOG_ANALYZER_STATUS_N_MANAGER),
          strlen("SMTP sessions")));
    add_statuses(graph, status, MM_LOG_ANALYZER_STATUS_N_MANAGER);
    if (session != NULL) {
      define_source(graph, "smtp", session, "smtp");
      draw(graph, "LINE2", "smtp", "#000000", "SMTP sessions", "sessions");
    }
    if (!render(graph, rendered, error))
      return FALSE;
    graph = NULL;
  }
  if (report != NULL) {
    g_autoptr(Graph) graph = graph_new(
      directory, "milter-manager.report", "milter manager: report", "mails", range, now,
      label_width(mm_log_analyzer_report_sources, MM_LOG_ANALYZER_REPORT_N));
    add_reports(graph, report);
    if (!render(graph, rendered, error))
      return FALSE;
    graph = NULL;
  }
  return TRUE;
}

/* render_overview - one line per child milter: the sessions it ended */
static gboolean
render_overview(const char *directory, GPtrArray *keys, const Range *range, gint64 now,
                GPtrArray *rendered, GError **error)
{
  guint width = 0;
  for (guint i = 0; i < keys->len; i++)
    width = MAX(width, (guint)strlen(g_ptr_array_index(keys, i)));
  g_autoptr(Graph) graph = graph_new(directory, "milters", "child milters: sessions",
                                     "sessions", range, now, width);
  guint drawn = 0;
  for (guint i = 0; i < keys->len; i++) {
    const char *key = g_ptr_array_index(keys, i);
    g_autofree char *name = g_strdup_printf("milter.status.%s.rrd", key);
    g_autofree char *path = file_in(directory, name);
    if (path == NULL)
      continue;
    g_autofree char *escaped = escape(path);
    GString *sum = g_string_new(NULL);
    GString *sum_max = g_string_new(NULL);
    for (guint j = 0; j < MM_LOG_ANALYZER_STATUS_N; j++) {
      const char *ds = mm_log_analyzer_status_names[j];
      arg(graph, "DEF:m%u_%u=%s:%s:AVERAGE", i, j, escaped, ds);
      arg(graph, "DEF:m%u_%u_max=%s:%s:MAX", i, j, escaped, ds);
      g_string_append_printf(sum, j == 0 ? "m%u_%u" : ",m%u_%u,ADDNAN", i, j);
      g_string_append_printf(sum_max, j == 0 ? "m%u_%u_max" : ",m%u_%u_max,ADDNAN", i, j);
    }
    g_autofree char *vname = g_strdup_printf("m%u", i);
    arg(graph, "CDEF:%s=%s", vname, sum->str);
    arg(graph, "CDEF:%s_max=%s", vname, sum_max->str);
    g_string_free(sum, TRUE);
    g_string_free(sum_max, TRUE);
    define_derived(graph, vname);
    draw(graph, "LINE2", vname, palette[drawn % G_N_ELEMENTS(palette)], key, "sessions");
    drawn++;
  }
  if (drawn == 0)
    return TRUE;
  if (!render(graph, rendered, error))
    return FALSE;
  graph = NULL;
  return TRUE;
}

/* render_child - verdicts and header findings of one child milter */
static gboolean
render_child(const char *directory, const char *key, const Range *range, gint64 now,
             GPtrArray *rendered, GError **error)
{
  g_autofree char *status_name = g_strdup_printf("milter.status.%s.rrd", key);
  g_autofree char *report_name = g_strdup_printf("milter.report.%s.rrd", key);
  g_autofree char *status = file_in(directory, status_name);
  g_autofree char *report = file_in(directory, report_name);
  if (status != NULL) {
    g_autofree char *stem = g_strdup_printf("milter.status.%s", key);
    g_autofree char *title = g_strdup_printf("milter: status: %s", key);
    g_autoptr(Graph) graph = graph_new(
      directory, stem, title, "sessions", range, now,
      label_width(mm_log_analyzer_status_sources, MM_LOG_ANALYZER_STATUS_N));
    add_statuses(graph, status, MM_LOG_ANALYZER_STATUS_N);
    if (!render(graph, rendered, error))
      return FALSE;
    graph = NULL;
  }
  if (report != NULL) {
    g_autofree char *stem = g_strdup_printf("milter.report.%s", key);
    g_autofree char *title = g_strdup_printf("milter: report: %s", key);
    g_autoptr(Graph) graph = graph_new(
      directory, stem, title, "mails", range, now,
      label_width(mm_log_analyzer_report_sources, MM_LOG_ANALYZER_REPORT_N));
    add_reports(graph, report);
    if (!render(graph, rendered, error))
      return FALSE;
    graph = NULL;
  }
  return TRUE;
}

/* write_html - index.html: a table of contents, then each range's graphs */
static gboolean
write_html(const char *directory, GPtrArray **per_range, gint64 now, GError **error)
{
  GString *html = g_string_new(NULL);
  g_autoptr(GDateTime) stamp = g_date_time_new_from_unix_local(now);
  g_autofree char *updated = g_date_time_format(stamp, "%Y-%m-%d %H:%M:%S %Z");
  g_string_append(html,
                  "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta http-equiv=\"refresh\" content=\"300\">\n"
                  "<title>milter manager statistics</title>\n"
                  "<style>body{font-family:sans-serif} img{display:block;margin:0 0 1em}"
                  " nav li{display:inline-block;margin-right:1.5em;vertical-align:top}</style>\n"
                  "</head>\n<body>\n<h1>milter manager statistics</h1>\n");
  g_string_append_printf(html, "<p>Updated %s.</p>\n<nav><ul>\n", updated);
  for (guint r = 0; r < G_N_ELEMENTS(ranges); r++) {
    g_string_append_printf(html, "<li><a href=\"#%s\">%s</a></li>\n", ranges[r].tag,
                           ranges[r].label);
  }
  g_string_append(html, "</ul></nav>\n");
  for (guint r = 0; r < G_N_ELEMENTS(ranges); r++) {
    g_string_append_printf(html, "<h2 id=\"%s\">%s</h2>\n", ranges[r].tag, ranges[r].label);
    if (per_range[r]->len == 0)
      g_string_append(html, "<p>No data yet.</p>\n");
    for (guint i = 0; i < per_range[r]->len; i++) {
      const Graph *graph = g_ptr_array_index(per_range[r], i);
      g_autofree char *title = g_markup_escape_text(graph->title, -1);
      g_autofree char *src = g_uri_escape_string(graph->png, NULL, FALSE);
      g_string_append_printf(html, "<h3>%s</h3>\n<img src=\"%s\" alt=\"%s\">\n", title, src,
                             title);
    }
  }
  g_string_append(html, "</body>\n</html>\n");
  g_autofree char *path = g_build_filename(directory, "index.html", NULL);
  g_autoptr(GError) local = NULL;
  gboolean ok = g_file_set_contents(path, html->str, (gssize)html->len, &local);
  g_string_free(html, TRUE);
  if (!ok) {
    g_set_error(error, MM_LOG_ANALYZER_GRAPH_ERROR, MM_LOG_ANALYZER_GRAPH_ERROR_HTML, "%s",
                local->message);
  }
  return ok;
}

/* mm_log_analyzer_graph_render_all - every graph for every range, then index.html */
gboolean
mm_log_analyzer_graph_render_all(const char *directory, GPtrArray *keys, gint64 now,
                                 GError **error)
{
  GPtrArray *per_range[G_N_ELEMENTS(ranges)];
  for (guint r = 0; r < G_N_ELEMENTS(ranges); r++)
    per_range[r] = g_ptr_array_new_with_free_func((GDestroyNotify)graph_free);
  gboolean ok = TRUE;
  for (guint r = 0; r < G_N_ELEMENTS(ranges) && ok; r++) {
    ok = render_manager(directory, &ranges[r], now, per_range[r], error) &&
         render_overview(directory, keys, &ranges[r], now, per_range[r], error);
    for (guint i = 0; i < keys->len && ok; i++) {
      ok = render_child(directory, g_ptr_array_index(keys, i), &ranges[r], now, per_range[r],
                        error);
    }
  }
  if (ok)
    ok = write_html(directory, per_range, now, error);
  for (guint r = 0; r < G_N_ELEMENTS(ranges); r++)
    g_ptr_array_unref(per_range[r]);
  return ok;
}
