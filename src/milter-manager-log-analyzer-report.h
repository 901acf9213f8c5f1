/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-manager-log-analyzer-report.h: what the analyzer counts: the data sources of its
 * RRD files, with legend labels and colours, and the classification of added headers. */
#pragma once

#include <glib.h>

#include "statistics.h"

/* One data source: its RRD name (no '-': RRDtool 1.5+ refuses it), legend, colour. */
typedef struct {
  const char *name;
  const char *label;
  const char *color;
} MmLogAnalyzerSource;

/* session.rrd: sessions of the MTA, and of child milters, ended per minute */
enum { MM_LOG_ANALYZER_SESSION_SMTP, MM_LOG_ANALYZER_SESSION_CHILD, MM_LOG_ANALYZER_SESSION_N };
extern const MmLogAnalyzerSource mm_log_analyzer_session_sources[MM_LOG_ANALYZER_SESSION_N];
extern const char *const mm_log_analyzer_session_names[MM_LOG_ANALYZER_SESSION_N];

/* milter-manager.status.rrd and milter.status.NAME.rrd: verdicts per minute. The
 * manager's file has the first MM_LOG_ANALYZER_STATUS_N_MANAGER; a child's adds "stop". */
enum {
  MM_LOG_ANALYZER_STATUS_PASS,
  MM_LOG_ANALYZER_STATUS_ACCEPT,
  MM_LOG_ANALYZER_STATUS_REJECT,
  MM_LOG_ANALYZER_STATUS_DISCARD,
  MM_LOG_ANALYZER_STATUS_TEMPORARY_FAILURE,
  MM_LOG_ANALYZER_STATUS_QUARANTINE,
  MM_LOG_ANALYZER_STATUS_ABORT,
  MM_LOG_ANALYZER_STATUS_ERROR,
  MM_LOG_ANALYZER_STATUS_STOP,
  MM_LOG_ANALYZER_STATUS_N,
};
#define MM_LOG_ANALYZER_STATUS_N_MANAGER MM_LOG_ANALYZER_STATUS_STOP
extern const MmLogAnalyzerSource mm_log_analyzer_status_sources[MM_LOG_ANALYZER_STATUS_N];
extern const char *const mm_log_analyzer_status_names[MM_LOG_ANALYZER_STATUS_N];

/* milter-manager.report.rrd and milter.report.NAME.rrd: findings in added headers */
enum {
  MM_LOG_ANALYZER_REPORT_SPAM,
  MM_LOG_ANALYZER_REPORT_VIRUS,
  MM_LOG_ANALYZER_REPORT_URIBL,
  MM_LOG_ANALYZER_REPORT_GREYLISTING_PASS,
  MM_LOG_ANALYZER_REPORT_SPF_PASS,
  MM_LOG_ANALYZER_REPORT_SPF_FAIL,
  MM_LOG_ANALYZER_REPORT_SENDER_ID_PASS,
  MM_LOG_ANALYZER_REPORT_SENDER_ID_FAIL,
  MM_LOG_ANALYZER_REPORT_DKIM_PASS,
  MM_LOG_ANALYZER_REPORT_DKIM_FAIL,
  MM_LOG_ANALYZER_REPORT_DKIM_ADSP_PASS,
  MM_LOG_ANALYZER_REPORT_DKIM_ADSP_FAIL,
  MM_LOG_ANALYZER_REPORT_DMARC_PASS,
  MM_LOG_ANALYZER_REPORT_DMARC_FAIL,
  MM_LOG_ANALYZER_REPORT_N,
};
extern const MmLogAnalyzerSource mm_log_analyzer_report_sources[MM_LOG_ANALYZER_REPORT_N];
extern const char *const mm_log_analyzer_report_names[MM_LOG_ANALYZER_REPORT_N];

/* mm_log_analyzer_status_from_result - the status data source of an end line's verdict
 * (skip counts as pass: the child let the message through) */
guint mm_log_analyzer_status_from_result(MmStatisticsResult result);

/* mm_log_analyzer_report_classify - the report data sources an added header counts
 * for (X-Spam-Flag, X-Spam-Status, X-Virus-Status, X-Greylist, Authentication-Results);
 * sets found[i] for each; returns how many */
guint mm_log_analyzer_report_classify(const char *name, const char *value,
                                      gboolean found[MM_LOG_ANALYZER_REPORT_N]);
