/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-statistics.c: unit tests for the "[statistics]" log lines (statistics.h):
 * 2.3's exact formats, round trips through the parser, and log line splitting. */
#include "statistics.h"

#include <locale.h>
#include <stdlib.h>

#include "protocol.h"

static void
test_format_session_end(void)
{
  g_autofree char *line = mm_statistics_format_session_end(
    MM_STATISTICS_STATE_END_OF_MESSAGE, MM_STATISTICS_RESULT_PASS, 0.0125, 42);
  g_assert_cmpstr(line, ==, "[session][end][end-of-message][pass][0.0125](42)");
  g_autofree char *reject = mm_statistics_format_session_end(
    MM_STATISTICS_STATE_ENVELOPE_RECIPIENT, MM_STATISTICS_RESULT_TEMPORARY_FAILURE, 3.5, 7);
  g_assert_cmpstr(reject, ==, "[session][end][envelope-recipient][temporary-failure][3.5](7)");
  /* %g: six significant digits, exponent for tiny values, never NaN or negative */
  g_autofree char *tiny = mm_statistics_format_session_end(MM_STATISTICS_STATE_QUIT,
                                                           MM_STATISTICS_RESULT_ACCEPT, 1.5e-05, 1);
  g_assert_cmpstr(tiny, ==, "[session][end][quit][accept][1.5e-05](1)");
  g_autofree char *junk = mm_statistics_format_session_end(MM_STATISTICS_STATE_QUIT,
                                                           MM_STATISTICS_RESULT_ACCEPT, -2.0, 1);
  g_assert_cmpstr(junk, ==, "[session][end][quit][accept][0](1)");
}

static void
test_format_child_end(void)
{
  g_autofree char *line = mm_statistics_format_child_end(
    MM_STATISTICS_STATE_END_OF_MESSAGE, MM_STATISTICS_RESULT_REJECT, 0.25, 3, "clamav-milter");
  g_assert_cmpstr(line, ==, "[milter][end][end-of-message][reject][0.25](3): clamav-milter");
  g_autofree char *stop = mm_statistics_format_child_end(
    MM_STATISTICS_STATE_CONNECT, MM_STATISTICS_RESULT_STOP, 0.001, 4, "milter-greylist");
  g_assert_cmpstr(stop, ==, "[milter][end][connect][stop][0.001](4): milter-greylist");
}

static void
test_format_header_add(void)
{
  g_autofree char *line = mm_statistics_format_header_add(5, "X-Spam-Flag", "YES", "spamass");
  g_assert_cmpstr(line, ==, "[milter][header][add](5): <X-Spam-Flag>=<YES>: spamass");
  /* a folded value is unfolded; other control characters become spaces */
  g_autofree char *folded = mm_statistics_format_header_add(
    5, "Authentication-Results", "mx.example;\r\n\tspf=pass smtp.mailfrom=a@b\x01", "opendkim");
  g_assert_cmpstr(folded, ==,
                  "[milter][header][add](5): <Authentication-Results>=<mx.example; spf=pass "
                  "smtp.mailfrom=a@b >: opendkim");
  /* a huge value is cut at the limit */
  g_autofree char *big = g_strnfill(MM_STATISTICS_HEADER_VALUE_MAX * 3, 'x');
  g_autofree char *cut = mm_statistics_format_header_add(1, "X-Big", big, "m");
  g_assert_cmpuint(strlen(cut), <, MM_STATISTICS_HEADER_VALUE_MAX + 64);
  g_assert_true(g_str_has_suffix(cut, "x>: m"));
}

static void
test_format_cut_utf8(void)
{
  /* "é" is two bytes: the cut must not split it */
  GString *value = g_string_new("a");
  while (value->len < MM_STATISTICS_HEADER_VALUE_MAX + 10)
    g_string_append(value, "\xc3\xa9");
  g_autofree char *line = mm_statistics_format_header_add(1, "Subject", value->str, "m");
  g_assert_true(g_utf8_validate(line, -1, NULL));
  g_string_free(value, TRUE);
}

static void
test_format_others(void)
{
  g_autofree char *disconnected = mm_statistics_format_disconnected(1.75, 9);
  g_assert_cmpstr(disconnected, ==, "[session][disconnected][1.75](9)");
  g_autofree char *quarantine = mm_statistics_format_quarantine(9);
  g_assert_cmpstr(quarantine, ==, "[reply][end-of-message][quarantine](9)");
  g_autofree char *finished = mm_statistics_format_sessions_finished(29, 2, 3);
  g_assert_cmpstr(finished, ==, "[sessions][finished] 29(+2) 3");
}

static void
test_format_locale(void)
{
  /* A decimal comma locale must not leak into the log (analyzers parse "0.5"). */
  const char *old = setlocale(LC_NUMERIC, NULL);
  g_autofree char *saved = g_strdup(old);
  if (setlocale(LC_NUMERIC, "de_DE.UTF-8") == NULL && setlocale(LC_NUMERIC, "fr_FR.UTF-8") == NULL) {
    g_test_skip("no decimal comma locale installed");
    return;
  }
  g_autofree char *line = mm_statistics_format_disconnected(0.5, 1);
  setlocale(LC_NUMERIC, saved);
  g_assert_cmpstr(line, ==, "[session][disconnected][0.5](1)");
}

static void
test_names(void)
{
  g_assert_cmpstr(mm_statistics_state_to_string(MM_STATISTICS_STATE_ENVELOPE_FROM), ==,
                  "envelope-from");
  g_assert_cmpstr(mm_statistics_state_to_string((MmStatisticsState)99), ==, "invalid");
  g_assert_cmpint(mm_statistics_state_from_command(MM_COMMAND_RCPT), ==,
                  MM_STATISTICS_STATE_ENVELOPE_RECIPIENT);
  g_assert_cmpint(mm_statistics_state_from_command(MM_COMMAND_END_OF_HEADER), ==,
                  MM_STATISTICS_STATE_END_OF_HEADER);
  g_assert_cmpint(mm_statistics_state_from_command('z'), ==, MM_STATISTICS_STATE_START);
  g_assert_cmpint(mm_statistics_result_from_status(MM_STATUS_CONTINUE), ==,
                  MM_STATISTICS_RESULT_PASS);
  g_assert_cmpint(mm_statistics_result_from_status(MM_STATUS_NOT_CHANGED), ==,
                  MM_STATISTICS_RESULT_PASS);
  g_assert_cmpint(mm_statistics_result_from_status(MM_STATUS_DISCARD), ==,
                  MM_STATISTICS_RESULT_DISCARD);
  for (guint i = 0; i < MM_STATISTICS_N_RESULTS; i++) {
    MmStatisticsResult result = MM_STATISTICS_RESULT_PASS;
    g_assert_true(mm_statistics_result_from_string(mm_statistics_result_to_string(i), &result));
    g_assert_cmpint(result, ==, i);
  }
  MmStatisticsResult result = MM_STATISTICS_RESULT_STOP;
  g_assert_false(mm_statistics_result_from_string("bounce", &result));
  g_assert_cmpint(result, ==, MM_STATISTICS_RESULT_STOP);
}

static void
test_parse_round_trip(void)
{
  g_autofree char *line = mm_statistics_format_child_end(
    MM_STATISTICS_STATE_HELO, MM_STATISTICS_RESULT_TEMPORARY_FAILURE, 0.5, 12, "milter-greylist");
  MmStatisticsRecord record = {0};
  g_autoptr(GError) error = NULL;
  g_assert_true(mm_statistics_parse(line, &record, &error));
  g_assert_no_error(error);
  g_assert_cmpint(record.kind, ==, MM_STATISTICS_KIND_CHILD_END);
  g_assert_cmpstr(record.state, ==, "helo");
  g_assert_cmpint(record.result, ==, MM_STATISTICS_RESULT_TEMPORARY_FAILURE);
  g_assert_cmpfloat(record.elapsed, ==, 0.5);
  g_assert_cmpuint(record.tag, ==, 12);
  g_assert_cmpstr(record.child_name, ==, "milter-greylist");
  mm_statistics_record_clear(&record);

  g_autofree char *session = mm_statistics_format_session_end(
    MM_STATISTICS_STATE_END_OF_MESSAGE, MM_STATISTICS_RESULT_DISCARD, 2.25, 13);
  g_assert_true(mm_statistics_parse(session, &record, &error));
  g_assert_cmpint(record.kind, ==, MM_STATISTICS_KIND_SESSION_END);
  g_assert_cmpint(record.result, ==, MM_STATISTICS_RESULT_DISCARD);
  g_assert_cmpfloat(record.elapsed, ==, 2.25);
  mm_statistics_record_clear(&record);
  mm_statistics_record_clear(NULL);
}

static void
test_parse_header_add(void)
{
  MmStatisticsRecord record = {0};
  g_autoptr(GError) error = NULL;
  /* the value may hold ">: " itself: the child's name follows the last one */
  g_assert_true(mm_statistics_parse(
    "[milter][header][add](4): <X-Note>=<see <a>: b>: spamass-milter\n", &record, &error));
  g_assert_cmpint(record.kind, ==, MM_STATISTICS_KIND_HEADER_ADD);
  g_assert_cmpstr(record.header_name, ==, "X-Note");
  g_assert_cmpstr(record.header_value, ==, "see <a>: b");
  g_assert_cmpstr(record.child_name, ==, "spamass-milter");
  g_assert_cmpuint(record.tag, ==, 4);
  mm_statistics_record_clear(&record);
}

static void
test_parse_2_3_forms(void)
{
  static const struct {
    const char *message;
    MmStatisticsKind kind;
    MmStatisticsResult result;
  } cases[] = {
    /* without tags, as releases before 1.5 wrote them */
    {"[session][end][end-of-message][pass][0.07]", MM_STATISTICS_KIND_SESSION_END,
     MM_STATISTICS_RESULT_PASS},
    {"[session][end][0.07](3)", MM_STATISTICS_KIND_SESSION_END, MM_STATISTICS_RESULT_PASS},
    {"[milter][end][0.07](3): m", MM_STATISTICS_KIND_CHILD_END, MM_STATISTICS_RESULT_PASS},
    {"[session][disconnected][4.5](3)", MM_STATISTICS_KIND_DISCONNECTED, MM_STATISTICS_RESULT_PASS},
    {"[reply][end-of-message][quarantine](3)", MM_STATISTICS_KIND_QUARANTINE,
     MM_STATISTICS_RESULT_QUARANTINE},
    {"[reply][end-of-message][quarantine]", MM_STATISTICS_KIND_QUARANTINE,
     MM_STATISTICS_RESULT_QUARANTINE},
    {"[abort][body]", MM_STATISTICS_KIND_ABORT, MM_STATISTICS_RESULT_ABORT},
    {"[sessions][finished] 29(+2) 3", MM_STATISTICS_KIND_SESSIONS_FINISHED,
     MM_STATISTICS_RESULT_PASS},
    /* a status nick 2.3 writes only on trouble */
    {"[milter][end][body][no-reply][60](3): slow", MM_STATISTICS_KIND_CHILD_END,
     MM_STATISTICS_RESULT_ERROR},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    MmStatisticsRecord record = {0};
    g_autoptr(GError) error = NULL;
    g_assert_true(mm_statistics_parse(cases[i].message, &record, &error));
    g_assert_no_error(error);
    g_assert_cmpint(record.kind, ==, cases[i].kind);
    g_assert_cmpint(record.result, ==, cases[i].result);
    mm_statistics_record_clear(&record);
  }
}

static void
test_parse_errors(void)
{
  static const struct {
    const char *message;
    MmStatisticsError code;
  } cases[] = {
    {"connection from 127.0.0.1", MM_STATISTICS_ERROR_NOT_STATISTICS},
    {"[session][header][add] X", MM_STATISTICS_ERROR_NOT_STATISTICS},
    {"[reply][end-of-message][accept](1)", MM_STATISTICS_ERROR_NOT_STATISTICS},
    {"[session][end][quit][bounce][0.1](1)", MM_STATISTICS_ERROR_SYNTAX},
    {"[session][end][quit][pass][-1](1)", MM_STATISTICS_ERROR_SYNTAX},
    {"[session][end][quit][pass][abc](1)", MM_STATISTICS_ERROR_SYNTAX},
    {"[session][end][quit][pass](1)", MM_STATISTICS_ERROR_SYNTAX},
    {"[milter][end][quit][pass][0.1](1)", MM_STATISTICS_ERROR_SYNTAX},
    {"[milter][end][quit][pass][0.1](1): ", MM_STATISTICS_ERROR_SYNTAX},
    {"[milter][header][add](1): <X-A>=<b>", MM_STATISTICS_ERROR_SYNTAX},
    {"[session][end][quit][pass][0.1](99999999999)", MM_STATISTICS_ERROR_NOT_STATISTICS},
    {"[a][b][c][d][e][f]", MM_STATISTICS_ERROR_NOT_STATISTICS},
    {"[unterminated", MM_STATISTICS_ERROR_NOT_STATISTICS},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    MmStatisticsRecord record = {.tag = 77};
    g_autoptr(GError) error = NULL;
    g_assert_false(mm_statistics_parse(cases[i].message, &record, &error));
    g_assert_error(error, MM_STATISTICS_ERROR, (gint)cases[i].code);
    g_assert_cmpuint(record.tag, ==, 77); /* untouched on failure */
  }
}

/* 2026-11-21T19:40:01Z */
#define STAMP G_GINT64_CONSTANT(1795290001)

static void
test_split_log_line(void)
{
  gint64 time = 0;
  g_autofree char *program = NULL;
  const char *message = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true(mm_statistics_split_log_line(
    "Nov 21 19:40:01 mx1 milter-manager[123]: [statistics] [sessions][finished] 1(+1) 0",
    STAMP + 3600, &time, &program, &message, &error));
  g_assert_no_error(error);
  g_assert_cmpint(time, ==, STAMP);
  g_assert_cmpstr(program, ==, "milter-manager");
  g_assert_cmpstr(message, ==, "[sessions][finished] 1(+1) 0");
  g_clear_pointer(&program, g_free);

  /* a December line read in January belongs to the year before */
  g_assert_true(mm_statistics_split_log_line(
    "Dec 31 23:59:00 mx1 milter-manager[1]: [statistics] [abort][body]", STAMP + 41 * 86400,
    &time, &program, &message, &error));
  g_assert_cmpint(time, ==, G_GINT64_CONSTANT(1798761540));
  g_clear_pointer(&program, g_free);
  g_assert_true(mm_statistics_split_log_line(
    "Jan  2 00:00:00 mx1 milter-manager[1]: [statistics] [abort][body]", STAMP + 43 * 86400,
    &time, &program, &message, &error));
  g_assert_cmpint(time, ==, G_GINT64_CONSTANT(1798761540) + 24 * 3600 + 60);
  g_clear_pointer(&program, g_free);

  /* our own file log, and rsyslog's precise format */
  g_assert_true(mm_statistics_split_log_line(
    "2026-11-21T19:40:01.123Z milter-manager[77]: [statistics] [abort][body]", 0, &time,
    &program, &message, &error));
  g_assert_cmpint(time, ==, STAMP);
  g_assert_cmpstr(message, ==, "[abort][body]");
  g_clear_pointer(&program, g_free);
  g_assert_true(mm_statistics_split_log_line(
    "2026-11-21T20:40:01.123456+01:00 mx1 milter-manager[77]: [statistics] [abort][body]", 0,
    &time, &program, &message, &error));
  g_assert_cmpint(time, ==, STAMP);
  g_clear_pointer(&program, g_free);

  static const char *const others[] = {
    "Nov 21 19:40:01 mx1 postfix/smtpd[9]: connect from localhost[127.0.0.1]",
    "Nov 21 19:40:01 mx1 milter-manager[123]: [message] started",
    "Nov 41 19:40:01 mx1 milter-manager[123]: [statistics] [abort][body]",
    "Foo 21 19:40:01 mx1 milter-manager[123]: [statistics] [abort][body]",
    "2026-13-21T19:40:01Z milter-manager[1]: [statistics] [abort][body]",
    "2026-11-21T19:40:01Z milter-manager[x]: [statistics] [abort][body]",
    "",
    "Nov",
  };
  for (guint i = 0; i < G_N_ELEMENTS(others); i++) {
    g_autoptr(GError) other_error = NULL;
    g_assert_false(mm_statistics_split_log_line(others[i], STAMP, &time, &program, &message,
                                                &other_error));
    g_assert_error(other_error, MM_STATISTICS_ERROR, MM_STATISTICS_ERROR_NOT_STATISTICS);
    g_assert_null(program);
  }
}

int
main(int argc, char **argv)
{
  /* syslog stamps are local time: pin the zone so that expectations hold anywhere */
  g_setenv("TZ", "UTC", TRUE);
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/statistics/format/session-end", test_format_session_end);
  g_test_add_func("/statistics/format/child-end", test_format_child_end);
  g_test_add_func("/statistics/format/header-add", test_format_header_add);
  g_test_add_func("/statistics/format/cut-utf8", test_format_cut_utf8);
  g_test_add_func("/statistics/format/others", test_format_others);
  g_test_add_func("/statistics/format/locale", test_format_locale);
  g_test_add_func("/statistics/names", test_names);
  g_test_add_func("/statistics/parse/round-trip", test_parse_round_trip);
  g_test_add_func("/statistics/parse/header-add", test_parse_header_add);
  g_test_add_func("/statistics/parse/2.3-forms", test_parse_2_3_forms);
  g_test_add_func("/statistics/parse/errors", test_parse_errors);
  g_test_add_func("/statistics/split-log-line", test_split_log_line);
  return g_test_run();
}
