/* SPDX-License-Identifier: GPL-3.0-or-later */
/* monitor.c: the live statistics registry: fixed-size counters and a log-linear latency
 * histogram per child, so that every event costs O(1) and no allocation. */
#include "monitor.h"

#include <string.h>

#include "protocol.h"

#define N_STATUSES (MM_STATUS_DISCARD + 1)
#define SUB_BUCKETS (1u << MM_MONITOR_LATENCY_SUB_BITS)
#define N_BUCKETS \
  (SUB_BUCKETS + (MM_MONITOR_LATENCY_MAX_EXPONENT - MM_MONITOR_LATENCY_SUB_BITS) * SUB_BUCKETS)
#define USEC_PER_SEC G_GINT64_CONSTANT(1000000)

/* The stages a verdict is counted at, in protocol order; the last one takes any other code. */
static const struct {
  char command;
  const char *name;
} stages[] = {
  {MM_COMMAND_CONNECT, "connect"},
  {MM_COMMAND_HELO, "helo"},
  {MM_COMMAND_MAIL, "mail"},
  {MM_COMMAND_RCPT, "rcpt"},
  {MM_COMMAND_DATA, "data"},
  {MM_COMMAND_UNKNOWN, "unknown"},
  {MM_COMMAND_HEADER, "header"},
  {MM_COMMAND_END_OF_HEADER, "end-of-header"},
  {MM_COMMAND_BODY, "body"},
  {MM_COMMAND_END_OF_MESSAGE, "end-of-message"},
  {0, "other"},
};
#define N_STAGES G_N_ELEMENTS(stages)

struct MmMonitorChild {
  MmMonitor *monitor;              /* for its clock */
  char *name;
  char *connection_spec;
  MmMonitorChild *next_same_name;  /* same name, another spec */
  gboolean configured;             /* in the configuration set last */
  guint64 sessions_started;
  guint64 sessions_ended;
  guint64 verdicts[N_STAGES][N_STATUSES];
  guint64 n_errors;
  gint64 last_error_time;
  char last_error[MM_MONITOR_ERROR_LENGTH]; /* "" until the first error */
  MmMonitorReachable reachable;
  gint64 last_attempt_time;
  guint64 n_latencies;
  guint64 latency_sum;
  guint64 latency_max;
  guint64 histogram[N_BUCKETS];
};

struct MmMonitor {
  MmMonitorClockFunc clock;
  gint64 started;
  guint64 sessions_started;
  guint64 sessions_ended;
  guint64 ended_by_status[N_STATUSES];
  GPtrArray *children;   /* MmMonitorChild*, first seen first */
  GHashTable *by_name;   /* name (owned by its record) -> first record of that name */
  MmMonitorChild *overflow;
};

static MmMonitor *default_monitor;

/* now - the monitor's clock */
static gint64
now(const MmMonitor *monitor)
{
  return monitor->clock != NULL ? monitor->clock() : g_get_real_time();
}

/* child_free - one record */
static void
child_free(gpointer data)
{
  MmMonitorChild *child = data;
  if (child == NULL)
    return;
  g_free(child->name);
  g_free(child->connection_spec);
  g_free(child);
}

/* mm_monitor_new - an empty registry */
MmMonitor *
mm_monitor_new(void)
{
  MmMonitor *monitor = g_new0(MmMonitor, 1);
  monitor->children = g_ptr_array_new_with_free_func(child_free);
  monitor->by_name = g_hash_table_new(g_str_hash, g_str_equal);
  monitor->started = now(monitor);
  return monitor;
}

/* mm_monitor_free - NULL-safe */
void
mm_monitor_free(MmMonitor *monitor)
{
  if (monitor == NULL)
    return;
  g_hash_table_destroy(monitor->by_name);
  g_ptr_array_free(monitor->children, TRUE);
  child_free(monitor->overflow);
  g_free(monitor);
}

/* mm_monitor_get_default - the process-wide registry */
MmMonitor *
mm_monitor_get_default(void)
{
  if (default_monitor == NULL)
    default_monitor = mm_monitor_new();
  return default_monitor;
}

/* mm_monitor_set_clock - another clock; the uptime restarts */
void
mm_monitor_set_clock(MmMonitor *monitor, MmMonitorClockFunc clock)
{
  monitor->clock = clock;
  monitor->started = now(monitor);
}

/* child_new - a record with no events yet */
static MmMonitorChild *
child_new(MmMonitor *monitor, const char *name, const char *connection_spec)
{
  MmMonitorChild *child = g_new0(MmMonitorChild, 1);
  child->monitor = monitor;
  child->name = g_strdup(name);
  child->connection_spec = g_strdup(connection_spec != NULL ? connection_spec : "");
  return child;
}

/* mm_monitor_get_child - the record of NAME at CONNECTION_SPEC, created on first use */
MmMonitorChild *
mm_monitor_get_child(MmMonitor *monitor, const char *name, const char *connection_spec)
{
  if (monitor == NULL)
    return NULL;
  if (name == NULL)
    name = "";
  if (connection_spec == NULL)
    connection_spec = "";
  MmMonitorChild *first = g_hash_table_lookup(monitor->by_name, name);
  for (MmMonitorChild *child = first; child != NULL; child = child->next_same_name) {
    if (g_str_equal(child->connection_spec, connection_spec))
      return child;
  }
  if (monitor->children->len >= MM_MONITOR_MAX_CHILDREN) {
    if (monitor->overflow == NULL)
      monitor->overflow = child_new(monitor, MM_MONITOR_OVERFLOW_NAME, "");
    return monitor->overflow;
  }
  MmMonitorChild *child = child_new(monitor, name, connection_spec);
  g_ptr_array_add(monitor->children, child);
  if (first == NULL) {
    g_hash_table_insert(monitor->by_name, child->name, child);
  } else {
    while (first->next_same_name != NULL)
      first = first->next_same_name;
    first->next_same_name = child;
  }
  return child;
}

/* mm_monitor_set_config - register CONFIG's milters and mark them current */
void
mm_monitor_set_config(MmMonitor *monitor, const MmConfig *config)
{
  for (guint i = 0; i < monitor->children->len; i++)
    ((MmMonitorChild *)g_ptr_array_index(monitor->children, i))->configured = FALSE;
  if (config == NULL || config->milters == NULL)
    return;
  for (guint i = 0; i < config->milters->len; i++) {
    const MmMilterConfig *milter = g_ptr_array_index(config->milters, i);
    if (!milter->enabled)
      continue;
    MmMonitorChild *child = mm_monitor_get_child(monitor, milter->name,
                                                 milter->connection_spec);
    if (child != monitor->overflow)
      child->configured = TRUE;
  }
}

/* status_index - STATUS as an array index (anything out of range counts as not-changed) */
static guint
status_index(MmStatus status)
{
  return (guint)status < N_STATUSES ? (guint)status : MM_STATUS_NOT_CHANGED;
}

/* mm_monitor_session_started - an MTA session began */
void
mm_monitor_session_started(MmMonitor *monitor)
{
  if (monitor != NULL)
    monitor->sessions_started++;
}

/* mm_monitor_session_ended - an MTA session ended with STATUS */
void
mm_monitor_session_ended(MmMonitor *monitor, MmStatus status)
{
  if (monitor == NULL)
    return;
  monitor->sessions_ended++;
  monitor->ended_by_status[status_index(status)]++;
}

/* mm_monitor_child_session_started - a client session to CHILD began */
void
mm_monitor_child_session_started(MmMonitorChild *child)
{
  if (child != NULL)
    child->sessions_started++;
}

/* mm_monitor_child_session_ended - a client session to CHILD ended */
void
mm_monitor_child_session_ended(MmMonitorChild *child)
{
  if (child != NULL)
    child->sessions_ended++;
}

/* mm_monitor_child_connected - reachable as of now */
void
mm_monitor_child_connected(MmMonitorChild *child)
{
  if (child == NULL)
    return;
  child->reachable = MM_MONITOR_REACHABLE_YES;
  child->last_attempt_time = now(child->monitor);
}

/* record_error - keep MESSAGE in the fixed buffer: one line, cut at a character boundary */
static void
record_error(MmMonitorChild *child, const char *message, gint64 time)
{
  child->n_errors++;
  child->last_error_time = time;
  g_strlcpy(child->last_error, message != NULL && *message != '\0' ? message : "(no message)",
            sizeof child->last_error);
  const char *end = NULL;
  if (!g_utf8_validate(child->last_error, -1, &end))
    child->last_error[end - child->last_error] = '\0';
  /* The key=value format is line based: a multi-line message becomes one line. */
  for (char *p = child->last_error; *p != '\0'; p++) {
    if ((guchar)*p < 0x20 || *p == 0x7f)
      *p = ' ';
  }
}

/* mm_monitor_child_connect_failed - unreachable as of now, and an error */
void
mm_monitor_child_connect_failed(MmMonitorChild *child, const char *message)
{
  if (child == NULL)
    return;
  gint64 time = now(child->monitor);
  child->reachable = MM_MONITOR_REACHABLE_NO;
  child->last_attempt_time = time;
  record_error(child, message, time);
}

/* mm_monitor_child_error - the child failed after connecting */
void
mm_monitor_child_error(MmMonitorChild *child, const char *message)
{
  if (child != NULL)
    record_error(child, message, now(child->monitor));
}

/* stage_index - the stage of COMMAND (the last one: any other code) */
static guint
stage_index(char command)
{
  for (guint i = 0; i < N_STAGES - 1; i++) {
    if (stages[i].command == command)
      return i;
  }
  return N_STAGES - 1;
}

/* latency_bucket - the histogram bucket of VALUE microseconds */
static guint
latency_bucket(guint64 value)
{
  if (value < SUB_BUCKETS)
    return (guint)value;
  guint exponent = g_bit_storage(value) - 1;
  if (exponent >= MM_MONITOR_LATENCY_MAX_EXPONENT)
    return N_BUCKETS - 1;
  guint shift = exponent - MM_MONITOR_LATENCY_SUB_BITS;
  guint sub = (guint)(value >> shift) & (SUB_BUCKETS - 1);
  return SUB_BUCKETS + shift * SUB_BUCKETS + sub;
}

/* latency_bucket_upper - the largest value bucket INDEX holds */
static guint64
latency_bucket_upper(guint index)
{
  if (index < SUB_BUCKETS)
    return index;
  guint shift = (index - SUB_BUCKETS) / SUB_BUCKETS;
  guint sub = (index - SUB_BUCKETS) % SUB_BUCKETS;
  guint64 lower = (guint64)(SUB_BUCKETS + sub) << shift;
  return lower + ((guint64)1 << shift) - 1;
}

/* mm_monitor_child_replied - a verdict at a stage, and how long it took */
void
mm_monitor_child_replied(MmMonitorChild *child, char command, MmStatus status,
                         gint64 latency_us)
{
  if (child == NULL)
    return;
  child->verdicts[stage_index(command)][status_index(status)]++;
  if (latency_us < 0)
    return;
  guint64 value = (guint64)latency_us;
  child->n_latencies++;
  child->latency_sum += value;
  if (value > child->latency_max)
    child->latency_max = value;
  child->histogram[latency_bucket(value)]++;
}

/* mm_monitor_get_sessions - MTA sessions in progress and done */
void
mm_monitor_get_sessions(const MmMonitor *monitor, guint64 *in_progress, guint64 *done)
{
  /* An unbalanced caller must not show an absurd count. */
  guint64 started = MAX(monitor->sessions_started, monitor->sessions_ended);
  if (in_progress != NULL)
    *in_progress = started - monitor->sessions_ended;
  if (done != NULL)
    *done = monitor->sessions_ended;
}

/* mm_monitor_get_uptime - seconds since start */
gint64
mm_monitor_get_uptime(const MmMonitor *monitor)
{
  return MAX(now(monitor) - monitor->started, 0) / USEC_PER_SEC;
}

/* mm_monitor_get_n_children - records, not counting the overflow record */
guint
mm_monitor_get_n_children(const MmMonitor *monitor)
{
  return monitor->children->len;
}

/* mm_monitor_get_nth_child - the INDEX-th record, first seen first; NULL past the end */
MmMonitorChild *
mm_monitor_get_nth_child(const MmMonitor *monitor, guint index)
{
  return index < monitor->children->len ? g_ptr_array_index(monitor->children, index) : NULL;
}

/* mm_monitor_child_get_name - the milter's name */
const char *
mm_monitor_child_get_name(const MmMonitorChild *child)
{
  return child->name;
}

/* mm_monitor_child_get_connection_spec - the spec the records are kept for */
const char *
mm_monitor_child_get_connection_spec(const MmMonitorChild *child)
{
  return child->connection_spec;
}

/* mm_monitor_child_get_n_sessions - client sessions started */
guint64
mm_monitor_child_get_n_sessions(const MmMonitorChild *child)
{
  return child->sessions_started;
}

/* mm_monitor_child_get_n_verdicts - verdicts STATUS at every stage */
guint64
mm_monitor_child_get_n_verdicts(const MmMonitorChild *child, MmStatus status)
{
  guint64 total = 0;
  for (guint stage = 0; stage < N_STAGES; stage++)
    total += child->verdicts[stage][status_index(status)];
  return total;
}

/* mm_monitor_child_get_n_errors - errors, connection failures included */
guint64
mm_monitor_child_get_n_errors(const MmMonitorChild *child)
{
  return child->n_errors;
}

/* mm_monitor_child_get_reachable - the outcome of the last connection attempt */
MmMonitorReachable
mm_monitor_child_get_reachable(const MmMonitorChild *child)
{
  return child->reachable;
}

/* mm_monitor_child_get_last_error - the last error and its time */
const char *
mm_monitor_child_get_last_error(const MmMonitorChild *child, gint64 *time)
{
  if (child->n_errors == 0)
    return NULL;
  if (time != NULL)
    *time = child->last_error_time;
  return child->last_error;
}

/* mm_monitor_child_get_latency - mean and a quantile from the histogram */
gboolean
mm_monitor_child_get_latency(const MmMonitorChild *child, double quantile, gint64 *mean,
                             gint64 *value)
{
  if (child->n_latencies == 0)
    return FALSE;
  quantile = CLAMP(quantile, 0.0, 1.0);
  guint64 rank = (guint64)(quantile * (double)child->n_latencies + 0.999999);
  rank = CLAMP(rank, 1, child->n_latencies);
  guint64 seen = 0;
  guint64 found = child->latency_max;
  for (guint i = 0; i < N_BUCKETS; i++) {
    seen += child->histogram[i];
    if (seen >= rank) {
      /* The last bucket is open-ended: only the maximum bounds it. */
      if (i < N_BUCKETS - 1)
        found = MIN(latency_bucket_upper(i), child->latency_max);
      break;
    }
  }
  if (mean != NULL)
    *mean = (gint64)(child->latency_sum / child->n_latencies);
  if (value != NULL)
    *value = (gint64)found;
  return TRUE;
}

/* format_time - TIME (clock microseconds) as UTC ISO 8601 */
static void
format_time(GString *out, gint64 time)
{
  g_autoptr(GDateTime) date = g_date_time_new_from_unix_utc(time / USEC_PER_SEC);
  g_autofree char *text = date != NULL ? g_date_time_format(date, "%Y-%m-%dT%H:%M:%SZ") : NULL;
  g_string_append(out, text != NULL ? text : "?");
}

/* format_duration - US microseconds for people: "850 us", "12.3 ms", "2.50 s" */
static void
format_duration(GString *out, gint64 us)
{
  if (us < 1000)
    g_string_append_printf(out, "%" G_GINT64_FORMAT " us", us);
  else if (us < USEC_PER_SEC)
    g_string_append_printf(out, "%.1f ms", (double)us / 1000.0);
  else
    g_string_append_printf(out, "%.2f s", (double)us / (double)USEC_PER_SEC);
}

/* reachable_name - "yes", "no" or "unknown" */
static const char *
reachable_name(MmMonitorReachable reachable)
{
  switch (reachable) {
  case MM_MONITOR_REACHABLE_YES:
    return "yes";
  case MM_MONITOR_REACHABLE_NO:
    return "no";
  default:
    return "unknown";
  }
}

/* render_counts - "accept 3, reject 1" for the statuses with a count; "none" if none */
static void
render_counts(GString *out, const guint64 *counts)
{
  gboolean any = FALSE;
  for (guint status = 0; status < N_STATUSES; status++) {
    if (counts[status] == 0)
      continue;
    g_string_append_printf(out, "%s%s %" G_GUINT64_FORMAT, any ? ", " : "",
                           mm_status_to_string((MmStatus)status), counts[status]);
    any = TRUE;
  }
  if (!any)
    g_string_append(out, "none");
}

/* render_child_text - one child's block */
static void
render_child_text(GString *out, const MmMonitorChild *child)
{
  g_string_append_printf(out, "  %s (%s)%s\n", child->name,
                         *child->connection_spec != '\0' ? child->connection_spec : "no spec",
                         child->configured ? "" : " [not in the current configuration]");
  g_string_append_printf(out, "    reachable: %s", reachable_name(child->reachable));
  if (child->reachable != MM_MONITOR_REACHABLE_UNKNOWN) {
    g_string_append(out, " (last connection attempt ");
    format_time(out, child->last_attempt_time);
    g_string_append(out, ")");
  }
  g_string_append_printf(out, "\n    sessions: %" G_GUINT64_FORMAT " in progress, %"
                         G_GUINT64_FORMAT " done\n",
                         MAX(child->sessions_started, child->sessions_ended) -
                             child->sessions_ended,
                         child->sessions_ended);
  guint64 totals[N_STATUSES];
  for (guint status = 0; status < N_STATUSES; status++)
    totals[status] = mm_monitor_child_get_n_verdicts(child, (MmStatus)status);
  g_string_append(out, "    verdicts: ");
  render_counts(out, totals);
  g_string_append(out, "\n    latency: ");
  gint64 mean, p99;
  if (mm_monitor_child_get_latency(child, 0.99, &mean, &p99)) {
    g_string_append(out, "mean ");
    format_duration(out, mean);
    g_string_append(out, ", p99 ");
    format_duration(out, p99);
    g_string_append(out, ", max ");
    format_duration(out, (gint64)child->latency_max);
    g_string_append_printf(out, " (%" G_GUINT64_FORMAT " replies)\n", child->n_latencies);
  } else {
    g_string_append(out, "no replies yet\n");
  }
  g_string_append_printf(out, "    errors: %" G_GUINT64_FORMAT, child->n_errors);
  if (child->n_errors > 0) {
    g_string_append(out, ", last at ");
    format_time(out, child->last_error_time);
    g_string_append_printf(out, ": %s", child->last_error);
  }
  g_string_append(out, "\n");
}

/* render_text - the status for people */
static void
render_text(GString *out, const MmMonitor *monitor)
{
  gint64 uptime = mm_monitor_get_uptime(monitor);
  g_string_append_printf(out, "uptime: %" G_GINT64_FORMAT "d %02d:%02d:%02d (since ",
                         uptime / 86400, (int)(uptime % 86400 / 3600), (int)(uptime % 3600 / 60),
                         (int)(uptime % 60));
  format_time(out, monitor->started);
  guint64 in_progress, done;
  mm_monitor_get_sessions(monitor, &in_progress, &done);
  g_string_append_printf(out, ")\nsessions: %" G_GUINT64_FORMAT " in progress, %"
                         G_GUINT64_FORMAT " done (", in_progress, done);
  render_counts(out, monitor->ended_by_status);
  g_string_append_printf(out, ")\nchildren: %u\n", monitor->children->len);
  for (guint i = 0; i < monitor->children->len; i++)
    render_child_text(out, g_ptr_array_index(monitor->children, i));
  if (monitor->overflow != NULL)
    render_child_text(out, monitor->overflow);
}

/* render_child_keys - one child's key=value lines, prefixed "child.N." */
static void
render_child_keys(GString *out, const MmMonitorChild *child, guint number)
{
  g_autofree char *prefix = g_strdup_printf("child.%u.", number);
  g_string_append_printf(out, "%sname=%s\n", prefix, child->name);
  g_string_append_printf(out, "%sconnection_spec=%s\n", prefix, child->connection_spec);
  g_string_append_printf(out, "%sconfigured=%s\n", prefix, child->configured ? "yes" : "no");
  g_string_append_printf(out, "%sreachable=%s\n", prefix, reachable_name(child->reachable));
  g_string_append_printf(out, "%ssessions=%" G_GUINT64_FORMAT "\n", prefix,
                         child->sessions_started);
  g_string_append_printf(out, "%ssessions_in_progress=%" G_GUINT64_FORMAT "\n", prefix,
                         MAX(child->sessions_started, child->sessions_ended) -
                             child->sessions_ended);
  for (guint status = 0; status < N_STATUSES; status++) {
    g_string_append_printf(out, "%sverdict.%s=%" G_GUINT64_FORMAT "\n", prefix,
                           mm_status_to_string((MmStatus)status),
                           mm_monitor_child_get_n_verdicts(child, (MmStatus)status));
  }
  for (guint stage = 0; stage < N_STAGES; stage++) {
    for (guint status = 0; status < N_STATUSES; status++) {
      if (child->verdicts[stage][status] > 0)
        g_string_append_printf(out, "%sverdict.%s.%s=%" G_GUINT64_FORMAT "\n", prefix,
                               stages[stage].name, mm_status_to_string((MmStatus)status),
                               child->verdicts[stage][status]);
    }
  }
  g_string_append_printf(out, "%sreplies=%" G_GUINT64_FORMAT "\n", prefix, child->n_latencies);
  gint64 mean, p99;
  if (mm_monitor_child_get_latency(child, 0.99, &mean, &p99)) {
    g_string_append_printf(out, "%slatency_mean_us=%" G_GINT64_FORMAT "\n", prefix, mean);
    g_string_append_printf(out, "%slatency_p99_us=%" G_GINT64_FORMAT "\n", prefix, p99);
    g_string_append_printf(out, "%slatency_max_us=%" G_GUINT64_FORMAT "\n", prefix,
                           child->latency_max);
  }
  g_string_append_printf(out, "%serrors=%" G_GUINT64_FORMAT "\n", prefix, child->n_errors);
  if (child->n_errors > 0) {
    g_string_append_printf(out, "%slast_error=%s\n", prefix, child->last_error);
    g_string_append_printf(out, "%slast_error_time=", prefix);
    format_time(out, child->last_error_time);
    g_string_append_printf(out, "\n%slast_error_time_unix=%" G_GINT64_FORMAT "\n", prefix,
                           child->last_error_time / USEC_PER_SEC);
  }
}

/* render_keys - the status for scripts */
static void
render_keys(GString *out, const MmMonitor *monitor)
{
  g_string_append_printf(out, "uptime_seconds=%" G_GINT64_FORMAT "\n",
                         mm_monitor_get_uptime(monitor));
  g_string_append(out, "started_at=");
  format_time(out, monitor->started);
  guint64 in_progress, done;
  mm_monitor_get_sessions(monitor, &in_progress, &done);
  g_string_append_printf(out, "\nsessions_in_progress=%" G_GUINT64_FORMAT
                         "\nsessions_done=%" G_GUINT64_FORMAT "\n", in_progress, done);
  for (guint status = 0; status < N_STATUSES; status++)
    g_string_append_printf(out, "sessions_done.%s=%" G_GUINT64_FORMAT "\n",
                           mm_status_to_string((MmStatus)status),
                           monitor->ended_by_status[status]);
  guint n = monitor->children->len + (monitor->overflow != NULL ? 1 : 0);
  g_string_append_printf(out, "children=%u\n", n);
  for (guint i = 0; i < monitor->children->len; i++)
    render_child_keys(out, g_ptr_array_index(monitor->children, i), i + 1);
  if (monitor->overflow != NULL)
    render_child_keys(out, monitor->overflow, n);
}

/* mm_monitor_render - the whole status */
char *
mm_monitor_render(const MmMonitor *monitor, MmMonitorFormat format)
{
  GString *out = g_string_new(NULL);
  if (format == MM_MONITOR_FORMAT_KEYS)
    render_keys(out, monitor);
  else
    render_text(out, monitor);
  return g_string_free(out, FALSE);
}
