/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-monitor.c: unit tests for the live statistics registry (monitor.h): counts, latency
 * percentiles, errors, reachability, bounded records and the rendered status. */
#include "monitor.h"

#include <string.h>

#include "protocol.h"

/* A clock the tests move by hand: 2026-11-21T12:00:00Z to start with. */
static gint64 fake_now = G_GINT64_CONSTANT(1795262400) * G_USEC_PER_SEC;

/* fake_clock - the tests' clock */
static gint64
fake_clock(void)
{
  return fake_now;
}

/* new_monitor - a monitor on the fake clock */
static MmMonitor *
new_monitor(void)
{
  MmMonitor *monitor = mm_monitor_new();
  mm_monitor_set_clock(monitor, fake_clock);
  return monitor;
}

static void
test_sessions(void)
{
  g_autoptr(MmMonitor) monitor = new_monitor();
  guint64 in_progress = 99, done = 99;
  mm_monitor_get_sessions(monitor, &in_progress, &done);
  g_assert_cmpuint(in_progress, ==, 0);
  g_assert_cmpuint(done, ==, 0);
  for (int i = 0; i < 3; i++)
    mm_monitor_session_started(monitor);
  mm_monitor_session_ended(monitor, MM_STATUS_ACCEPT);
  mm_monitor_session_ended(monitor, MM_STATUS_REJECT);
  mm_monitor_get_sessions(monitor, &in_progress, &done);
  g_assert_cmpuint(in_progress, ==, 1);
  g_assert_cmpuint(done, ==, 2);
  /* More ends than starts (a wiring bug) must not wrap around. */
  mm_monitor_session_ended(monitor, MM_STATUS_ACCEPT);
  mm_monitor_session_ended(monitor, (MmStatus)77);
  mm_monitor_get_sessions(monitor, &in_progress, &done);
  g_assert_cmpuint(in_progress, ==, 0);
  g_assert_cmpuint(done, ==, 4);
}

static void
test_uptime(void)
{
  g_autoptr(MmMonitor) monitor = new_monitor();
  g_assert_cmpint(mm_monitor_get_uptime(monitor), ==, 0);
  fake_now += G_GINT64_CONSTANT(90061) * G_USEC_PER_SEC;
  g_assert_cmpint(mm_monitor_get_uptime(monitor), ==, 90061);
  g_autofree char *text = mm_monitor_render(monitor, MM_MONITOR_FORMAT_TEXT);
  g_assert_nonnull(strstr(text, "uptime: 1d 01:01:01 (since 2026-11-21T12:00:00Z)"));
  g_autofree char *keys = mm_monitor_render(monitor, MM_MONITOR_FORMAT_KEYS);
  g_assert_nonnull(strstr(keys, "uptime_seconds=90061\n"));
  fake_now -= G_GINT64_CONSTANT(90061) * G_USEC_PER_SEC;
}

static void
test_child_lookup(void)
{
  g_autoptr(MmMonitor) monitor = new_monitor();
  MmMonitorChild *a = mm_monitor_get_child(monitor, "clamav", "unix:/a.sock");
  MmMonitorChild *b = mm_monitor_get_child(monitor, "clamav", "unix:/b.sock");
  MmMonitorChild *c = mm_monitor_get_child(monitor, "spamass", "inet:1234");
  g_assert_nonnull(a);
  g_assert_true(a != b);
  g_assert_true(a == mm_monitor_get_child(monitor, "clamav", "unix:/a.sock"));
  g_assert_true(b == mm_monitor_get_child(monitor, "clamav", "unix:/b.sock"));
  g_assert_true(c == mm_monitor_get_child(monitor, "spamass", "inet:1234"));
  g_assert_cmpuint(mm_monitor_get_n_children(monitor), ==, 3);
  g_assert_true(mm_monitor_get_nth_child(monitor, 1) == b);
  g_assert_null(mm_monitor_get_nth_child(monitor, 3));
  g_assert_cmpstr(mm_monitor_child_get_name(c), ==, "spamass");
  g_assert_cmpstr(mm_monitor_child_get_connection_spec(b), ==, "unix:/b.sock");
  g_assert_null(mm_monitor_get_child(NULL, "x", "y"));
}

static void
test_child_bounded(void)
{
  g_autoptr(MmMonitor) monitor = new_monitor();
  for (guint i = 0; i < MM_MONITOR_MAX_CHILDREN; i++) {
    g_autofree char *name = g_strdup_printf("m%u", i);
    g_assert_nonnull(mm_monitor_get_child(monitor, name, "unix:/x"));
  }
  MmMonitorChild *over1 = mm_monitor_get_child(monitor, "one-too-many", "unix:/x");
  MmMonitorChild *over2 = mm_monitor_get_child(monitor, "two-too-many", "unix:/y");
  g_assert_true(over1 == over2);
  g_assert_cmpstr(mm_monitor_child_get_name(over1), ==, MM_MONITOR_OVERFLOW_NAME);
  g_assert_cmpuint(mm_monitor_get_n_children(monitor), ==, MM_MONITOR_MAX_CHILDREN);
  mm_monitor_child_session_started(over1);
  g_assert_cmpuint(mm_monitor_child_get_n_sessions(over2), ==, 1);
  g_autofree char *keys = mm_monitor_render(monitor, MM_MONITOR_FORMAT_KEYS);
  g_autofree char *line = g_strdup_printf("children=%u\n", MM_MONITOR_MAX_CHILDREN + 1);
  g_assert_nonnull(strstr(keys, line));
}

static void
test_child_null_safe(void)
{
  /* The proxy reports through a NULL handle when it runs without a monitor. */
  mm_monitor_child_session_started(NULL);
  mm_monitor_child_session_ended(NULL);
  mm_monitor_child_connected(NULL);
  mm_monitor_child_connect_failed(NULL, "x");
  mm_monitor_child_replied(NULL, MM_COMMAND_RCPT, MM_STATUS_REJECT, 5);
  mm_monitor_child_error(NULL, "x");
  mm_monitor_session_started(NULL);
  mm_monitor_session_ended(NULL, MM_STATUS_ACCEPT);
  mm_monitor_free(NULL);
}

static void
test_verdicts(void)
{
  g_autoptr(MmMonitor) monitor = new_monitor();
  MmMonitorChild *child = mm_monitor_get_child(monitor, "m", "unix:/m");
  mm_monitor_child_session_started(child);
  mm_monitor_child_replied(child, MM_COMMAND_CONNECT, MM_STATUS_CONTINUE, 10);
  mm_monitor_child_replied(child, MM_COMMAND_HELO, MM_STATUS_CONTINUE, -1);
  mm_monitor_child_replied(child, MM_COMMAND_RCPT, MM_STATUS_REJECT, 20);
  mm_monitor_child_replied(child, MM_COMMAND_RCPT, MM_STATUS_REJECT, 20);
  mm_monitor_child_replied(child, 'Z', MM_STATUS_ACCEPT, 20);
  g_assert_cmpuint(mm_monitor_child_get_n_verdicts(child, MM_STATUS_CONTINUE), ==, 2);
  g_assert_cmpuint(mm_monitor_child_get_n_verdicts(child, MM_STATUS_REJECT), ==, 2);
  g_assert_cmpuint(mm_monitor_child_get_n_verdicts(child, MM_STATUS_ACCEPT), ==, 1);
  g_assert_cmpuint(mm_monitor_child_get_n_verdicts(child, MM_STATUS_DISCARD), ==, 0);
  g_autofree char *keys = mm_monitor_render(monitor, MM_MONITOR_FORMAT_KEYS);
  g_assert_nonnull(strstr(keys, "child.1.verdict.reject=2\n"));
  g_assert_nonnull(strstr(keys, "child.1.verdict.rcpt.reject=2\n"));
  g_assert_nonnull(strstr(keys, "child.1.verdict.other.accept=1\n"));
  g_assert_nonnull(strstr(keys, "child.1.replies=4\n"));
  g_assert_nonnull(strstr(keys, "child.1.sessions_in_progress=1\n"));
  g_assert_null(strstr(keys, "child.1.verdict.mail."));
  g_autofree char *text = mm_monitor_render(monitor, MM_MONITOR_FORMAT_TEXT);
  g_assert_nonnull(strstr(text, "verdicts: accept 1, continue 2, reject 2\n"));
  g_assert_nonnull(strstr(text, "sessions: 1 in progress, 0 done\n"));
  mm_monitor_child_session_ended(child);
  g_free(text);
  text = mm_monitor_render(monitor, MM_MONITOR_FORMAT_TEXT);
  g_assert_nonnull(strstr(text, "sessions: 0 in progress, 1 done\n"));
}

static void
test_latency_small(void)
{
  g_autoptr(MmMonitor) monitor = new_monitor();
  MmMonitorChild *child = mm_monitor_get_child(monitor, "m", "unix:/m");
  gint64 mean = -1, p = -1;
  g_assert_false(mm_monitor_child_get_latency(child, 0.99, &mean, &p));
  g_assert_cmpint(mean, ==, -1);
  /* Values below 16 us are exact. */
  for (gint64 v = 1; v <= 10; v++)
    mm_monitor_child_replied(child, MM_COMMAND_MAIL, MM_STATUS_CONTINUE, v);
  g_assert_true(mm_monitor_child_get_latency(child, 0.5, &mean, &p));
  g_assert_cmpint(mean, ==, 5);
  g_assert_cmpint(p, ==, 5);
  g_assert_true(mm_monitor_child_get_latency(child, 0.99, NULL, &p));
  g_assert_cmpint(p, ==, 10);
  g_assert_true(mm_monitor_child_get_latency(child, 0.0, NULL, &p));
  g_assert_cmpint(p, ==, 1);
  g_assert_true(mm_monitor_child_get_latency(child, 1.0, NULL, &p));
  g_assert_cmpint(p, ==, 10);
}

static void
test_latency_p99(void)
{
  g_autoptr(MmMonitor) monitor = new_monitor();
  MmMonitorChild *child = mm_monitor_get_child(monitor, "m", "unix:/m");
  /* 990 fast replies (1 ms) and 10 slow ones (200 ms): p99 is still fast, p99.5 is slow. */
  for (int i = 0; i < 990; i++)
    mm_monitor_child_replied(child, MM_COMMAND_RCPT, MM_STATUS_CONTINUE, 1000);
  for (int i = 0; i < 10; i++)
    mm_monitor_child_replied(child, MM_COMMAND_RCPT, MM_STATUS_CONTINUE, 200000);
  gint64 mean, p;
  g_assert_true(mm_monitor_child_get_latency(child, 0.99, &mean, &p));
  g_assert_cmpint(mean, ==, (990 * 1000 + 10 * 200000) / 1000);
  g_assert_cmpint(p, >=, 1000);
  g_assert_cmpint(p, <=, 1000 + 1000 / 16);
  g_assert_true(mm_monitor_child_get_latency(child, 0.995, NULL, &p));
  g_assert_cmpint(p, <=, 200000);
  g_assert_cmpint(p, >=, 200000 - 200000 / 16);
}

static void
test_latency_error_bound(void)
{
  /* A single value anywhere in range comes back within 1/16 above it, never below. */
  g_autoptr(MmMonitor) monitor = new_monitor();
  guint64 value = 17;
  for (int i = 0; value < (G_GUINT64_CONSTANT(1) << 45); i++) {
    g_autofree char *name = g_strdup_printf("m%d", i);
    MmMonitorChild *child = mm_monitor_get_child(monitor, name, "");
    mm_monitor_child_replied(child, MM_COMMAND_BODY, MM_STATUS_CONTINUE, (gint64)value);
    mm_monitor_child_replied(child, MM_COMMAND_BODY, MM_STATUS_CONTINUE, 0);
    gint64 p;
    g_assert_true(mm_monitor_child_get_latency(child, 1.0, NULL, &p));
    g_assert_cmpint(p, ==, (gint64)value); /* the maximum caps the bucket's upper bound */
    g_assert_true(mm_monitor_child_get_latency(child, 0.5, NULL, &p));
    g_assert_cmpint(p, ==, 0);
    value = value * 3 + 1;
  }
  /* With many values in one bucket the answer is the bucket's upper bound. */
  MmMonitorChild *child = mm_monitor_get_child(monitor, "many", "");
  for (guint64 v = 100000; v < 100000 + 3000; v += 3)
    mm_monitor_child_replied(child, MM_COMMAND_BODY, MM_STATUS_CONTINUE, (gint64)v);
  gint64 p;
  g_assert_true(mm_monitor_child_get_latency(child, 0.5, NULL, &p));
  g_assert_cmpint(p, >=, 101500);
  g_assert_cmpint(p, <=, 101500 + 101500 / 16);
}

static void
test_errors(void)
{
  g_autoptr(MmMonitor) monitor = new_monitor();
  MmMonitorChild *child = mm_monitor_get_child(monitor, "m", "unix:/missing.sock");
  g_assert_cmpint(mm_monitor_child_get_reachable(child), ==, MM_MONITOR_REACHABLE_UNKNOWN);
  g_assert_null(mm_monitor_child_get_last_error(child, NULL));
  mm_monitor_child_connect_failed(child, "connect to unix:/missing.sock failed: No such file");
  g_assert_cmpint(mm_monitor_child_get_reachable(child), ==, MM_MONITOR_REACHABLE_NO);
  gint64 time = 0;
  g_assert_cmpstr(mm_monitor_child_get_last_error(child, &time), ==,
                  "connect to unix:/missing.sock failed: No such file");
  g_assert_cmpint(time, ==, fake_now);
  g_autofree char *text = mm_monitor_render(monitor, MM_MONITOR_FORMAT_TEXT);
  g_assert_nonnull(strstr(text, "reachable: no (last connection attempt 2026-11-21T12:00:00Z)"));
  g_assert_nonnull(strstr(text, "errors: 1, last at 2026-11-21T12:00:00Z: connect to "));

  fake_now += 5 * G_USEC_PER_SEC;
  mm_monitor_child_connected(child);
  g_assert_cmpint(mm_monitor_child_get_reachable(child), ==, MM_MONITOR_REACHABLE_YES);
  /* A message over the limit is cut on a character boundary; lines become one. */
  GString *long_message = g_string_new("timeout\nat RCPT: ");
  while (long_message->len < 2 * MM_MONITOR_ERROR_LENGTH)
    g_string_append(long_message, "\xc3\xa9");
  mm_monitor_child_error(child, long_message->str);
  g_string_free(long_message, TRUE);
  const char *last = mm_monitor_child_get_last_error(child, &time);
  g_assert_cmpint(time, ==, fake_now);
  g_assert_true(g_str_has_prefix(last, "timeout at RCPT: "));
  g_assert_cmpuint(strlen(last), <, MM_MONITOR_ERROR_LENGTH);
  g_assert_true(g_utf8_validate(last, -1, NULL));
  g_assert_cmpuint(mm_monitor_child_get_n_errors(child), ==, 2);
  g_assert_cmpint(mm_monitor_child_get_reachable(child), ==, MM_MONITOR_REACHABLE_YES);
  mm_monitor_child_error(child, NULL);
  g_assert_cmpstr(mm_monitor_child_get_last_error(child, NULL), ==, "(no message)");

  g_autofree char *keys = mm_monitor_render(monitor, MM_MONITOR_FORMAT_KEYS);
  g_assert_nonnull(strstr(keys, "child.1.errors=3\n"));
  g_assert_nonnull(strstr(keys, "child.1.reachable=yes\n"));
  g_assert_nonnull(strstr(keys, "child.1.last_error=(no message)\n"));
  g_assert_nonnull(strstr(keys, "child.1.last_error_time=2026-11-21T12:00:05Z\n"));
  fake_now -= 5 * G_USEC_PER_SEC;
}

static void
test_config(void)
{
  g_autoptr(MmMonitor) monitor = new_monitor();
  g_autoptr(MmConfig) config = mm_config_new();
  MmMilterConfig *a = mm_milter_config_new("a");
  a->connection_spec = g_strdup("unix:/a");
  MmMilterConfig *off = mm_milter_config_new("off");
  off->enabled = FALSE;
  g_ptr_array_add(config->milters, a);
  g_ptr_array_add(config->milters, off);
  mm_monitor_set_config(monitor, config);
  g_assert_cmpuint(mm_monitor_get_n_children(monitor), ==, 1);
  g_autofree char *keys = mm_monitor_render(monitor, MM_MONITOR_FORMAT_KEYS);
  g_assert_nonnull(strstr(keys, "child.1.name=a\nchild.1.connection_spec=unix:/a\n"
                                "child.1.configured=yes\nchild.1.reachable=unknown\n"));
  /* A reload that moves the child keeps the old record, no longer current. */
  g_free(a->connection_spec);
  a->connection_spec = g_strdup("unix:/a2");
  mm_monitor_set_config(monitor, config);
  g_assert_cmpuint(mm_monitor_get_n_children(monitor), ==, 2);
  g_autofree char *text = mm_monitor_render(monitor, MM_MONITOR_FORMAT_TEXT);
  g_assert_nonnull(strstr(text, "  a (unix:/a) [not in the current configuration]\n"));
  g_assert_nonnull(strstr(text, "  a (unix:/a2)\n"));
  g_assert_nonnull(strstr(text, "children: 2\n"));
  g_assert_nonnull(strstr(text, "latency: no replies yet\n"));
}

static void
test_render_empty(void)
{
  g_autoptr(MmMonitor) monitor = new_monitor();
  g_autofree char *text = mm_monitor_render(monitor, MM_MONITOR_FORMAT_TEXT);
  g_assert_cmpstr(text, ==,
                  "uptime: 0d 00:00:00 (since 2026-11-21T12:00:00Z)\n"
                  "sessions: 0 in progress, 0 done (none)\n"
                  "children: 0\n");
  g_autofree char *keys = mm_monitor_render(monitor, MM_MONITOR_FORMAT_KEYS);
  g_assert_true(g_str_has_prefix(keys, "uptime_seconds=0\nstarted_at=2026-11-21T12:00:00Z\n"
                                       "sessions_in_progress=0\nsessions_done=0\n"));
  g_assert_true(g_str_has_suffix(keys, "children=0\n"));
}

static void
test_default(void)
{
  MmMonitor *monitor = mm_monitor_get_default();
  g_assert_nonnull(monitor);
  g_assert_true(monitor == mm_monitor_get_default());
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/monitor/sessions", test_sessions);
  g_test_add_func("/monitor/uptime", test_uptime);
  g_test_add_func("/monitor/child/lookup", test_child_lookup);
  g_test_add_func("/monitor/child/bounded", test_child_bounded);
  g_test_add_func("/monitor/child/null-safe", test_child_null_safe);
  g_test_add_func("/monitor/verdicts", test_verdicts);
  g_test_add_func("/monitor/latency/small", test_latency_small);
  g_test_add_func("/monitor/latency/p99", test_latency_p99);
  g_test_add_func("/monitor/latency/error-bound", test_latency_error_bound);
  g_test_add_func("/monitor/errors", test_errors);
  g_test_add_func("/monitor/config", test_config);
  g_test_add_func("/monitor/render/empty", test_render_empty);
  g_test_add_func("/monitor/default", test_default);
  return g_test_run();
}
