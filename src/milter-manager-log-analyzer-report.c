/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-manager-log-analyzer-report.c: the analyzer's data sources and how a header a
 * child added counts as spam, virus, URIBL, greylisting, SPF, Sender ID, DKIM or DMARC. */
#include "milter-manager-log-analyzer-report.h"

#include <string.h>

const MmLogAnalyzerSource mm_log_analyzer_session_sources[] = {
  {"smtp", "SMTP sessions", "#0000ff"},
  {"child", "child milter sessions", "#00cc00"},
};
const char *const mm_log_analyzer_session_names[] = {"smtp", "child"};

const MmLogAnalyzerSource mm_log_analyzer_status_sources[] = {
  {"pass", "Pass", "#0000ff"},
  {"accept", "Accept", "#00cc00"},
  {"reject", "Reject", "#ff0000"},
  {"discard", "Discard", "#ffd400"},
  {"temporary_failure", "Temp-Fail", "#888888"},
  {"quarantine", "Quarantine", "#a52a2a"},
  {"abort", "Abort", "#ff9999"},
  {"error", "Error", "#ff00ff"},
  {"stop", "Stop", "#99ffff"},
};
const char *const mm_log_analyzer_status_names[] = {
  "pass", "accept", "reject", "discard", "temporary_failure", "quarantine", "abort", "error",
  "stop",
};

const MmLogAnalyzerSource mm_log_analyzer_report_sources[] = {
  {"spam", "Spam", "#ff0000"},
  {"virus", "Virus", "#ddbb00"},
  {"uribl", "URIBL", "#dd00bb"},
  {"greylisting_pass", "Greylisting (pass)", "#777777"},
  {"spf_pass", "SPF (pass)", "#33cc33"},
  {"spf_fail", "SPF (fail)", "#cc3333"},
  {"sender_id_pass", "Sender ID (pass)", "#33cccc"},
  {"sender_id_fail", "Sender ID (fail)", "#cccc33"},
  {"dkim_pass", "DKIM (pass)", "#3366cc"},
  {"dkim_fail", "DKIM (fail)", "#cc6633"},
  {"dkim_adsp_pass", "DKIM ADSP (pass)", "#3399cc"},
  {"dkim_adsp_fail", "DKIM ADSP (fail)", "#cc9933"},
  {"dmarc_pass", "DMARC (pass)", "#006600"},
  {"dmarc_fail", "DMARC (fail)", "#660000"},
};
const char *const mm_log_analyzer_report_names[] = {
  "spam",           "virus",          "uribl",     "greylisting_pass", "spf_pass",
  "spf_fail",       "sender_id_pass", "sender_id_fail", "dkim_pass",  "dkim_fail",
  "dkim_adsp_pass", "dkim_adsp_fail", "dmarc_pass", "dmarc_fail",
};

G_STATIC_ASSERT(G_N_ELEMENTS(mm_log_analyzer_status_names) == MM_LOG_ANALYZER_STATUS_N);
G_STATIC_ASSERT(G_N_ELEMENTS(mm_log_analyzer_report_names) == MM_LOG_ANALYZER_REPORT_N);

/* mm_log_analyzer_status_from_result - verdict to status data source */
guint
mm_log_analyzer_status_from_result(MmStatisticsResult result)
{
  switch (result) {
  case MM_STATISTICS_RESULT_ACCEPT: return MM_LOG_ANALYZER_STATUS_ACCEPT;
  case MM_STATISTICS_RESULT_REJECT: return MM_LOG_ANALYZER_STATUS_REJECT;
  case MM_STATISTICS_RESULT_DISCARD: return MM_LOG_ANALYZER_STATUS_DISCARD;
  case MM_STATISTICS_RESULT_TEMPORARY_FAILURE: return MM_LOG_ANALYZER_STATUS_TEMPORARY_FAILURE;
  case MM_STATISTICS_RESULT_QUARANTINE: return MM_LOG_ANALYZER_STATUS_QUARANTINE;
  case MM_STATISTICS_RESULT_ABORT: return MM_LOG_ANALYZER_STATUS_ABORT;
  case MM_STATISTICS_RESULT_ERROR: return MM_LOG_ANALYZER_STATUS_ERROR;
  case MM_STATISTICS_RESULT_STOP: return MM_LOG_ANALYZER_STATUS_STOP;
  case MM_STATISTICS_RESULT_PASS:
  case MM_STATISTICS_RESULT_SKIP:
  default: return MM_LOG_ANALYZER_STATUS_PASS;
  }
}

/* mark - set one finding once */
static guint
mark(gboolean found[MM_LOG_ANALYZER_REPORT_N], guint source)
{
  if (found[source])
    return 0;
  found[source] = TRUE;
  return 1;
}

/* classify_spam_status - SpamAssassin's "X-Spam-Status: No, score=.. tests=A,B,URIBL_X ..."
 * counts URIBL once when any URIBL_ rule hit */
static guint
classify_spam_status(const char *value, gboolean found[MM_LOG_ANALYZER_REPORT_N])
{
  const char *tests = strstr(value, "tests=");
  if (tests == NULL)
    return 0;
  tests += strlen("tests=");
  g_autofree char *list = g_strndup(tests, strcspn(tests, " \t"));
  g_auto(GStrv) rules = g_strsplit(list, ",", -1);
  for (guint i = 0; rules[i] != NULL; i++) {
    if (g_ascii_strncasecmp(g_strstrip(rules[i]), "URIBL_", 6) == 0)
      return mark(found, MM_LOG_ANALYZER_REPORT_URIBL);
  }
  return 0;
}

/* classify_authentication_results - "host; spf=pass ...; dkim=fail ..." (RFC 8601):
 * each method's pass or fail */
static guint
classify_authentication_results(const char *value, gboolean found[MM_LOG_ANALYZER_REPORT_N])
{
  static const struct {
    const char *method;
    guint pass, fail;
  } methods[] = {
    {"spf", MM_LOG_ANALYZER_REPORT_SPF_PASS, MM_LOG_ANALYZER_REPORT_SPF_FAIL},
    {"sender-id", MM_LOG_ANALYZER_REPORT_SENDER_ID_PASS, MM_LOG_ANALYZER_REPORT_SENDER_ID_FAIL},
    {"dkim", MM_LOG_ANALYZER_REPORT_DKIM_PASS, MM_LOG_ANALYZER_REPORT_DKIM_FAIL},
    {"dkim-adsp", MM_LOG_ANALYZER_REPORT_DKIM_ADSP_PASS, MM_LOG_ANALYZER_REPORT_DKIM_ADSP_FAIL},
    {"dmarc", MM_LOG_ANALYZER_REPORT_DMARC_PASS, MM_LOG_ANALYZER_REPORT_DMARC_FAIL},
  };
  guint n = 0;
  g_auto(GStrv) results = g_strsplit(value, ";", -1);
  /* the first element is the authserv-id */
  for (guint i = 1; results[i] != NULL; i++) {
    const char *result = g_strstrip(results[i]);
    const char *equal = strchr(result, '=');
    if (equal == NULL)
      continue;
    g_autofree char *method = g_ascii_strdown(result, equal - result);
    g_autofree char *verdict = g_ascii_strdown(equal + 1, (gssize)strcspn(equal + 1, " \t("));
    for (guint j = 0; j < G_N_ELEMENTS(methods); j++) {
      if (strcmp(method, methods[j].method) != 0)
        continue;
      if (strcmp(verdict, "pass") == 0)
        n += mark(found, methods[j].pass);
      else if (strcmp(verdict, "fail") == 0)
        n += mark(found, methods[j].fail);
    }
  }
  return n;
}

/* mm_log_analyzer_report_classify - findings in one added header */
guint
mm_log_analyzer_report_classify(const char *name, const char *value,
                                gboolean found[MM_LOG_ANALYZER_REPORT_N])
{
  if (name == NULL || value == NULL)
    return 0;
  g_autofree char *trimmed = g_strstrip(g_strdup(value));
  if (g_ascii_strcasecmp(name, "X-Spam-Flag") == 0) {
    if (g_ascii_strcasecmp(trimmed, "yes") == 0)
      return mark(found, MM_LOG_ANALYZER_REPORT_SPAM);
  } else if (g_ascii_strcasecmp(name, "X-Spam-Status") == 0) {
    return classify_spam_status(trimmed, found);
  } else if (g_ascii_strcasecmp(name, "X-Virus-Status") == 0) {
    /* clamav-milter: "Clean" or "Infected (Eicar-Signature)" */
    if (g_ascii_strncasecmp(trimmed, "infected", 8) == 0)
      return mark(found, MM_LOG_ANALYZER_REPORT_VIRUS);
  } else if (g_ascii_strcasecmp(name, "X-Greylist") == 0) {
    /* milter-greylist: "Delayed for 00:05:00 by milter-greylist-4.6" */
    if (g_ascii_strncasecmp(trimmed, "delayed for", 11) == 0)
      return mark(found, MM_LOG_ANALYZER_REPORT_GREYLISTING_PASS);
  } else if (g_ascii_strcasecmp(name, "Authentication-Results") == 0) {
    return classify_authentication_results(trimmed, found);
  }
  return 0;
}
