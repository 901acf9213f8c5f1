/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-performance-check.c: an SMTP load client that measures a whole MTA with its
 * milters: N concurrent sessions, paced or flooding, then sessions/s and latency percentiles. */
#include "build-config.h"

#include <glib-unix.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "milter-performance-check-mail.h"
#include "milter-performance-check-session.h"

/* Latencies kept for the percentiles; past this, a uniform sample of them (reservoir). */
#define MAX_LATENCY_SAMPLES 1000000
/* Most concurrent connections (each holds a socket and a read buffer). */
#define MAX_CONCURRENT_CONNECTIONS 10000
/* Distinct failure responses remembered for --report-failure-responses. */
#define MAX_FAILURE_KINDS 1000

typedef struct {
  GMainLoop *loop;
  GSocketClient *client;
  MmPerformanceSessionOptions session_options;
  GPtrArray *mails;   /* MmPerformanceMail: generated or from files */
  GArray *order;      /* guint indexes into mails: the sending order */
  guint64 n_jobs;     /* mails to send, unless unlimited */
  gboolean unlimited; /* --flood: until its period ends or a signal */
  guint64 next_job;
  guint max_active;
  guint active;
  double interval;    /* seconds between session starts; 0 = as fast as possible */
  guint credits;      /* starts the pacing timer has allowed */
  gboolean stopping;
  guint flood_source; /* the end of --flood=PERIOD, while pending */
  gint64 started;
  /* results */
  guint64 n_finished, n_delivered, n_failed;
  GArray *latencies;  /* double seconds of delivered sessions (sampled past the limit) */
  guint64 n_latencies_seen;
  GHashTable *failures; /* text -> count */
  guint64 last_report_finished;
  gint64 last_report_time;
} Checker;

static void dispatch(Checker *checker);

/* parse_duration - "5", "0.5s", "10m", "0.5h" into seconds */
static gboolean
parse_duration(const char *text, double *seconds, GError **error)
{
  char *end = NULL;
  double value = g_ascii_strtod(text, &end);
  double unit = 1;
  if (end != text && g_ascii_strcasecmp(end, "m") == 0)
    unit = 60;
  else if (end != text && g_ascii_strcasecmp(end, "h") == 0)
    unit = 3600;
  else if (end == text || (*end != '\0' && g_ascii_strcasecmp(end, "s") != 0))
    value = -1;
  if (!(value >= 0) || !isfinite(value) || value * unit > 365.0 * 24 * 3600) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "bad duration \"%s\" (a number of seconds, or with s, m or h)", text);
    return FALSE;
  }
  *seconds = value * unit;
  return TRUE;
}

/* record_latency - keep ELAPSED for the percentiles (reservoir sampling past the limit) */
static void
record_latency(Checker *checker, double elapsed)
{
  checker->n_latencies_seen++;
  if (checker->latencies->len < MAX_LATENCY_SAMPLES) {
    g_array_append_val(checker->latencies, elapsed);
    return;
  }
  guint64 slot = (guint64)(g_random_double() * (double)checker->n_latencies_seen);
  if (slot < MAX_LATENCY_SAMPLES)
    g_array_index(checker->latencies, double, slot) = elapsed;
}

/* record_failure - count one failure by its text */
static void
record_failure(Checker *checker, const char *failure)
{
  gpointer count = g_hash_table_lookup(checker->failures, failure);
  if (count == NULL && g_hash_table_size(checker->failures) >= MAX_FAILURE_KINDS)
    failure = "(other failures)";
  count = g_hash_table_lookup(checker->failures, failure);
  g_hash_table_replace(checker->failures, g_strdup(failure),
                       GSIZE_TO_POINTER(GPOINTER_TO_SIZE(count) + 1));
}

/* on_session_done - one session is over: count it, start the next */
static void
on_session_done(MmPerformanceSession *session, gpointer data)
{
  Checker *checker = data;
  checker->active--;
  checker->n_finished++;
  if (mm_performance_session_succeeded(session)) {
    checker->n_delivered++;
    record_latency(checker, mm_performance_session_get_elapsed(session));
  } else {
    checker->n_failed++;
    const char *failure = mm_performance_session_get_failure(session);
    record_failure(checker, failure != NULL ? failure : "unknown failure");
  }
  mm_performance_session_free(session);
  dispatch(checker);
}

/* dispatch - start sessions while allowed; quit the loop when all is done */
static void
dispatch(Checker *checker)
{
  while (!checker->stopping && checker->active < checker->max_active &&
         (checker->unlimited || checker->next_job < checker->n_jobs) &&
         (checker->interval == 0 || checker->credits > 0)) {
    if (checker->interval > 0)
      checker->credits--;
    guint index = g_array_index(checker->order, guint, checker->next_job % checker->order->len);
    checker->next_job++;
    checker->active++;
    mm_performance_session_start(checker->client, &checker->session_options,
                                 g_ptr_array_index(checker->mails, index), on_session_done,
                                 checker);
  }
  gboolean no_more = checker->stopping ||
                     (!checker->unlimited && checker->next_job >= checker->n_jobs);
  if (no_more && checker->active == 0)
    g_main_loop_quit(checker->loop);
}

/* on_pace - the pacing timer allows one more session start */
static gboolean
on_pace(gpointer data)
{
  Checker *checker = data;
  checker->credits++;
  dispatch(checker);
  return G_SOURCE_CONTINUE;
}

/* on_flood_over - the flood period is over: let running sessions finish */
static gboolean
on_flood_over(gpointer data)
{
  Checker *checker = data;
  checker->flood_source = 0;
  checker->stopping = TRUE;
  dispatch(checker);
  return G_SOURCE_REMOVE;
}

/* on_signal - SIGINT/SIGTERM: stop starting sessions, report what was done */
static gboolean
on_signal(gpointer data)
{
  Checker *checker = data;
  checker->stopping = TRUE;
  dispatch(checker);
  return G_SOURCE_CONTINUE;
}

/* compare_doubles - qsort order */
static int
compare_doubles(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* percentile - nearest-rank P-th percentile of the sorted VALUES */
static double
percentile(const double *values, guint n, double p)
{
  guint rank = (guint)ceil(p / 100.0 * n);
  return values[rank > 0 ? rank - 1 : 0];
}

/* on_periodic_report - one progress line */
static gboolean
on_periodic_report(gpointer data)
{
  Checker *checker = data;
  gint64 now = g_get_monotonic_time();
  double span = (double)(now - checker->last_report_time) / G_USEC_PER_SEC;
  guint64 new_sessions = checker->n_finished - checker->last_report_finished;
  g_print("[%8.3fs] finished: %" G_GUINT64_FORMAT " (+%" G_GUINT64_FORMAT
          ") failed: %" G_GUINT64_FORMAT " active: %u rate: %.2f sessions/s\n",
          (double)(now - checker->started) / G_USEC_PER_SEC, checker->n_finished, new_sessions,
          checker->n_failed, checker->active, span > 0 ? (double)new_sessions / span : 0.0);
  checker->last_report_finished = checker->n_finished;
  checker->last_report_time = now;
  return G_SOURCE_CONTINUE;
}

/* report - the final summary */
static void
report(Checker *checker, gboolean failure_responses)
{
  double elapsed = (double)(g_get_monotonic_time() - checker->started) / G_USEC_PER_SEC;
  g_print("Finished sessions: %" G_GUINT64_FORMAT " (delivered: %" G_GUINT64_FORMAT
          ", failed: %" G_GUINT64_FORMAT ")\n",
          checker->n_finished, checker->n_delivered, checker->n_failed);
  g_print("Elapsed time: %.3f s\n", elapsed);
  g_print("Sessions per second: %.2f\n", elapsed > 0 ? (double)checker->n_finished / elapsed : 0.0);
  guint n = checker->latencies->len;
  if (n == 0) {
    g_print("Latency (s): no session delivered a mail\n");
  } else {
    double *values = (double *)(void *)checker->latencies->data;
    qsort(values, n, sizeof(double), compare_doubles);
    double sum = 0;
    for (guint i = 0; i < n; i++)
      sum += values[i];
    g_print("Latency (s): min %.4f  p50 %.4f  p90 %.4f  p99 %.4f  max %.4f  mean %.4f\n",
            values[0], percentile(values, n, 50), percentile(values, n, 90),
            percentile(values, n, 99), values[n - 1], sum / n);
  }
  if (failure_responses && g_hash_table_size(checker->failures) > 0) {
    g_print("Failures:\n");
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, checker->failures);
    while (g_hash_table_iter_next(&iter, &key, &value))
      g_print("  %6" G_GSIZE_FORMAT " %s\n", GPOINTER_TO_SIZE(value), (const char *)key);
  }
}

static double flood_period = -1;       /* -1: no flood; 0: until a signal */
static double report_interval = 0;     /* 0: no periodic report */

/* parse_flood - --flood[=PERIOD] */
static gboolean
parse_flood(const char *name, const char *value, gpointer data, GError **error)
{
  (void)name;
  (void)data;
  if (value == NULL) {
    flood_period = 0;
    return TRUE;
  }
  return parse_duration(value, &flood_period, error);
}

/* parse_report_periodically - --report-periodically[=INTERVAL] (default 1 s) */
static gboolean
parse_report_periodically(const char *name, const char *value, gpointer data, GError **error)
{
  (void)name;
  (void)data;
  if (value == NULL) {
    report_interval = 1;
    return TRUE;
  }
  if (!parse_duration(value, &report_interval, error))
    return FALSE;
  if (report_interval <= 0)
    report_interval = 1;
  return TRUE;
}

int
main(int argc, char **argv)
{
  g_autofree char *server = NULL, *helo = NULL, *from = NULL, *force_from = NULL;
  g_autofree char *connect_host = NULL, *connect_address = NULL;
  g_autofree char *period_text = NULL, *interval_text = NULL;
  g_auto(GStrv) recipients = NULL, force_recipients = NULL;
  gint port = 25, n_mails = 100, n_additional_lines = 0, n_concurrent = 10, reading_timeout = 60;
  gboolean shuffle = FALSE, no_shuffle = FALSE, failure_responses = FALSE;
  gboolean no_failure_responses = FALSE, version = FALSE;
  GOptionEntry entries[] = {
    {"smtp-server", 0, 0, G_OPTION_ARG_STRING, &server, "SMTP server to connect to (localhost)", "HOST"},
    {"smtp-port", 0, 0, G_OPTION_ARG_INT, &port, "SMTP port (25)", "PORT"},
    {"connect-host", 0, 0, G_OPTION_ARG_STRING, &connect_host,
     "Pretend the client is HOST (Postfix XCLIENT NAME=)", "HOST"},
    {"connect-address", 0, 0, G_OPTION_ARG_STRING, &connect_address,
     "Pretend the client is ADDRESS (Postfix XCLIENT ADDR=)", "ADDRESS"},
    {"helo-fqdn", 0, 0, G_OPTION_ARG_STRING, &helo, "Name sent with EHLO (localhost.localdomain)",
     "FQDN"},
    {"from", 0, 0, G_OPTION_ARG_STRING, &from, "MAIL FROM address (from@example.com)", "ADDRESS"},
    {"force-from", 0, 0, G_OPTION_ARG_STRING, &force_from,
     "MAIL FROM address even for mail files with a From: header", "ADDRESS"},
    {"recipient", 0, 0, G_OPTION_ARG_STRING_ARRAY, &recipients,
     "RCPT TO address; repeat for more (to@example.com)", "ADDRESS"},
    {"force-recipient", 0, 0, G_OPTION_ARG_STRING_ARRAY, &force_recipients,
     "RCPT TO address even for mail files with To:; repeat for more", "ADDRESS"},
    {"n-mails", 0, 0, G_OPTION_ARG_INT, &n_mails,
     "Send N mails (each mail file N times) (100)", "N"},
    {"n-additional-lines", 0, 0, G_OPTION_ARG_INT, &n_additional_lines,
     "Add N lines to each mail's body (0)", "N"},
    {"n-concurrent-connections", 0, 0, G_OPTION_ARG_INT, &n_concurrent,
     "Keep at most N SMTP sessions open at once (10)", "N"},
    {"period", 0, 0, G_OPTION_ARG_STRING, &period_text,
     "Spread the mails evenly over PERIOD (seconds, or with s, m, h)", "PERIOD"},
    {"interval", 0, 0, G_OPTION_ARG_STRING, &interval_text,
     "Start a session every INTERVAL (seconds, or with s, m, h)", "INTERVAL"},
    {"flood", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, parse_flood,
     "Send mails again and again for PERIOD (until interrupted without one)", "PERIOD"},
    {"shuffle", 0, 0, G_OPTION_ARG_NONE, &shuffle, "Send the mails in random order", NULL},
    {"no-shuffle", 0, 0, G_OPTION_ARG_NONE, &no_shuffle, "Send the mails in order (default)", NULL},
    {"report-failure-responses", 0, 0, G_OPTION_ARG_NONE, &failure_responses,
     "List the failure responses at the end", NULL},
    {"no-report-failure-responses", 0, 0, G_OPTION_ARG_NONE, &no_failure_responses,
     "Only count failures (default)", NULL},
    {"report-periodically", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
     parse_report_periodically, "Print progress every INTERVAL (1s)", "INTERVAL"},
    {"reading-timeout", 0, 0, G_OPTION_ARG_INT, &reading_timeout,
     "Give up on a server silent for SECONDS (60)", "SECONDS"},
    {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Show the version and exit", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
  };
  g_autoptr(GOptionContext) context = g_option_context_new("[MAIL_FILE_OR_DIRECTORY...]");
  g_option_context_set_summary(context, "Measure an MTA and its milters with SMTP load.");
  g_option_context_add_main_entries(context, entries, NULL);
  g_autoptr(GError) error = NULL;
  double period = 0, interval = 0;
  if (!g_option_context_parse(context, &argc, &argv, &error) ||
      (period_text != NULL && !parse_duration(period_text, &period, &error)) ||
      (interval_text != NULL && !parse_duration(interval_text, &interval, &error))) {
    g_printerr("milter-performance-check: %s\n", error->message);
    return 1;
  }
  if (version) {
    g_print("milter-performance-check %s\n", PACKAGE_VERSION);
    return 0;
  }
  if (port <= 0 || port > 65535 || n_mails < 0 || n_additional_lines < 0 || n_concurrent <= 0 ||
      n_concurrent > MAX_CONCURRENT_CONNECTIONS || reading_timeout <= 0) {
    g_printerr("milter-performance-check: out of range: the port is 1-65535, counts are "
               "not negative, connections 1-%d, the timeout positive\n",
               MAX_CONCURRENT_CONNECTIONS);
    return 1;
  }
  static const char *const default_recipients[] = {"to@example.com", NULL};
  MmPerformanceMailOptions mail_options = {
    .from = from != NULL ? from : "from@example.com",
    .force_from = force_from,
    .recipients = recipients != NULL ? (const char *const *)recipients : default_recipients,
    .force_recipients = (const char *const *)force_recipients,
    .n_additional_lines = (guint)n_additional_lines,
  };
  Checker checker = {
    .mails = g_ptr_array_new_with_free_func((GDestroyNotify)mm_performance_mail_free),
    .order = g_array_new(FALSE, FALSE, sizeof(guint)),
    .latencies = g_array_new(FALSE, FALSE, sizeof(double)),
    .failures = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
    .max_active = (guint)n_concurrent,
  };
  int status = 0;
  for (int i = 1; i < argc && status == 0; i++) {
    if (!mm_performance_mail_load(argv[i], &mail_options, checker.mails, &error)) {
      g_printerr("milter-performance-check: %s\n", error->message);
      status = 1;
    }
  }
  if (status == 0 && argc > 1 && checker.mails->len == 0) {
    g_printerr("milter-performance-check: no mail files found\n");
    status = 1;
  }
  if (status != 0) {
    g_ptr_array_unref(checker.mails);
    g_array_unref(checker.order);
    g_array_unref(checker.latencies);
    g_hash_table_unref(checker.failures);
    return status;
  }
  if (checker.mails->len == 0)
    g_ptr_array_add(checker.mails, mm_performance_mail_generate(&mail_options));
  /* each source n_mails times: file 1, file 2, ..., file 1, file 2, ... */
  for (int n = 0; n < MAX(n_mails, 1); n++) {
    for (guint i = 0; i < checker.mails->len; i++)
      g_array_append_val(checker.order, i);
  }
  if (shuffle && !no_shuffle) {
    for (guint i = checker.order->len; i > 1; i--) {
      guint j = (guint)g_random_int_range(0, (gint32)i);
      guint tmp = g_array_index(checker.order, guint, i - 1);
      g_array_index(checker.order, guint, i - 1) = g_array_index(checker.order, guint, j);
      g_array_index(checker.order, guint, j) = tmp;
    }
  }
  checker.unlimited = flood_period >= 0;
  checker.n_jobs = (guint64)n_mails * checker.mails->len;
  checker.interval = interval > 0 ? interval
                     : period > 0 && checker.n_jobs > 0 && !checker.unlimited
                       ? period / (double)checker.n_jobs
                                                        : 0;
  checker.session_options = (MmPerformanceSessionOptions){
    .host = server != NULL ? server : "localhost",
    .port = (guint16)port,
    .helo_fqdn = helo != NULL ? helo : "localhost.localdomain",
    .connect_host = connect_host,
    .connect_address = connect_address,
    .reading_timeout = (guint)reading_timeout,
  };
  checker.loop = g_main_loop_new(NULL, FALSE);
  checker.client = g_socket_client_new();
  g_socket_client_set_timeout(checker.client, (guint)reading_timeout);
  checker.started = checker.last_report_time = g_get_monotonic_time();
  guint sources[4] = {0};
  sources[0] = g_unix_signal_add(SIGINT, on_signal, &checker);
  sources[1] = g_unix_signal_add(SIGTERM, on_signal, &checker);
  if (checker.interval > 0) {
    checker.credits = 1; /* the first mail goes at once */
    sources[2] = g_timeout_add((guint)MAX(1, checker.interval * 1000), on_pace, &checker);
  }
  if (flood_period > 0)
    checker.flood_source = g_timeout_add((guint)(flood_period * 1000), on_flood_over, &checker);
  if (report_interval > 0)
    sources[3] = g_timeout_add((guint)(report_interval * 1000), on_periodic_report, &checker);
  if (checker.n_jobs != 0 || checker.unlimited) {
    dispatch(&checker);
    if (checker.active > 0)
      g_main_loop_run(checker.loop);
  }
  report(&checker, failure_responses && !no_failure_responses);
  for (guint i = 0; i < G_N_ELEMENTS(sources); i++) {
    if (sources[i] != 0)
      g_source_remove(sources[i]);
  }
  if (checker.flood_source != 0)
    g_source_remove(checker.flood_source);
  g_object_unref(checker.client);
  g_main_loop_unref(checker.loop);
  g_ptr_array_unref(checker.mails);
  g_array_unref(checker.order);
  g_array_unref(checker.latencies);
  g_hash_table_unref(checker.failures);
  return 0;
}
