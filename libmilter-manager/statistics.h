/* SPDX-License-Identifier: GPL-3.0-or-later */
/* statistics.h: milter manager 2.3's "[statistics]" log lines: formatting them for the
 * daemon and parsing them (and the log line around them) for milter-manager-log-analyzer. */
#pragma once

#include <glib.h>

#include "status.h"

/* The stage a session or a child was in when it ended, named as 2.3 names its
 * context states ("envelope-recipient", "end-of-message", ...). */
typedef enum {
  MM_STATISTICS_STATE_START,
  MM_STATISTICS_STATE_NEGOTIATE,
  MM_STATISTICS_STATE_CONNECT,
  MM_STATISTICS_STATE_HELO,
  MM_STATISTICS_STATE_ENVELOPE_FROM,
  MM_STATISTICS_STATE_ENVELOPE_RECIPIENT,
  MM_STATISTICS_STATE_DATA,
  MM_STATISTICS_STATE_UNKNOWN,
  MM_STATISTICS_STATE_HEADER,
  MM_STATISTICS_STATE_END_OF_HEADER,
  MM_STATISTICS_STATE_BODY,
  MM_STATISTICS_STATE_END_OF_MESSAGE,
  MM_STATISTICS_STATE_QUIT,
  MM_STATISTICS_STATE_ABORT,
} MmStatisticsState;

/* The verdict column of an end line. 2.3 writes "pass" for a session or child that
 * never said anything stronger than continue; the others are its status names. */
typedef enum {
  MM_STATISTICS_RESULT_PASS,
  MM_STATISTICS_RESULT_ACCEPT,
  MM_STATISTICS_RESULT_REJECT,
  MM_STATISTICS_RESULT_DISCARD,
  MM_STATISTICS_RESULT_TEMPORARY_FAILURE,
  MM_STATISTICS_RESULT_SKIP,
  MM_STATISTICS_RESULT_QUARANTINE,
  MM_STATISTICS_RESULT_ABORT,
  MM_STATISTICS_RESULT_STOP,  /* an applicable condition stopped the child */
  MM_STATISTICS_RESULT_ERROR, /* the child failed (timeout, protocol error) */
} MmStatisticsResult;

#define MM_STATISTICS_N_RESULTS (MM_STATISTICS_RESULT_ERROR + 1)

/* Longest header name and value copied into a header line; longer ones are cut, so
 * that one misbehaving child cannot flood the log. */
#define MM_STATISTICS_HEADER_NAME_MAX 256
#define MM_STATISTICS_HEADER_VALUE_MAX 2048

/* mm_statistics_state_to_string - 2.3's name of STATE ("envelope-from") */
const char *mm_statistics_state_to_string(MmStatisticsState state);

/* mm_statistics_state_from_command - the state of an MTA command (MM_COMMAND_*);
 * START for a byte that is no command */
MmStatisticsState mm_statistics_state_from_command(char command);

/* mm_statistics_result_to_string - 2.3's name of RESULT ("temporary-failure") */
const char *mm_statistics_result_to_string(MmStatisticsResult result);

/* mm_statistics_result_from_string - parse a result name; FALSE leaves *result alone */
gboolean mm_statistics_result_from_string(const char *name, MmStatisticsResult *result);

/* mm_statistics_result_from_status - NOT_CHANGED and CONTINUE are "pass" */
MmStatisticsResult mm_statistics_result_from_status(MmStatus status);

/* The formatters return the message without the "[statistics] " prefix, which
 * mm_statistics() (log.h) adds: mm_statistics("%s", line). Free with g_free. */

/* mm_statistics_format_session_end - "[session][end][STATE][RESULT][ELAPSED](TAG)" */
char *mm_statistics_format_session_end(MmStatisticsState last_state, MmStatisticsResult result,
                                       double elapsed, guint tag);

/* mm_statistics_format_child_end - "[milter][end][STATE][RESULT][ELAPSED](TAG): NAME" */
char *mm_statistics_format_child_end(MmStatisticsState last_state, MmStatisticsResult result,
                                     double elapsed, guint tag, const char *name);

/* mm_statistics_format_header_add - "[milter][header][add](TAG): <NAME>=<VALUE>: CHILD";
 * folded values are unfolded and other control characters become spaces */
char *mm_statistics_format_header_add(guint tag, const char *header_name,
                                      const char *header_value, const char *child_name);

/* mm_statistics_format_disconnected - "[session][disconnected][ELAPSED](TAG)" */
char *mm_statistics_format_disconnected(double elapsed, guint tag);

/* mm_statistics_format_quarantine - "[reply][end-of-message][quarantine](TAG)" */
char *mm_statistics_format_quarantine(guint tag);

/* mm_statistics_format_sessions_finished - "[sessions][finished] TOTAL(+NEW) PROCESSING" */
char *mm_statistics_format_sessions_finished(guint64 n_total, guint n_new, guint n_processing);

/* ------------------------------------------------------------------------------------ */
/* Parsing, for the log analyzer. */

#define MM_STATISTICS_ERROR (mm_statistics_error_quark())
GQuark mm_statistics_error_quark(void);

typedef enum {
  MM_STATISTICS_ERROR_NOT_STATISTICS, /* a log line of another kind: skip it quietly */
  MM_STATISTICS_ERROR_SYNTAX,         /* looks like ours but is malformed: the message says where */
} MmStatisticsError;

typedef enum {
  MM_STATISTICS_KIND_SESSION_END,
  MM_STATISTICS_KIND_CHILD_END,
  MM_STATISTICS_KIND_HEADER_ADD,
  MM_STATISTICS_KIND_DISCONNECTED,
  MM_STATISTICS_KIND_QUARANTINE,
  MM_STATISTICS_KIND_ABORT,
  MM_STATISTICS_KIND_SESSIONS_FINISHED,
} MmStatisticsKind;

/* One parsed statistics message. Strings are owned; fields a kind lacks stay NULL/0.
 * state is kept as text: 2.3 logs states this enum does not list ("invalid"). */
typedef struct {
  MmStatisticsKind kind;
  char *state;
  MmStatisticsResult result;
  double elapsed;
  guint tag;
  char *child_name;   /* CHILD_END, HEADER_ADD */
  char *header_name;  /* HEADER_ADD */
  char *header_value; /* HEADER_ADD */
} MmStatisticsRecord;

/* mm_statistics_record_clear - free the strings of RECORD and zero it (NULL-safe) */
void mm_statistics_record_clear(MmStatisticsRecord *record);

/* mm_statistics_parse - parse MESSAGE (the text after "[statistics] "). Accepts
 * 2.3's forms with and without "(TAG)". *record is filled only on success. */
gboolean mm_statistics_parse(const char *message, MmStatisticsRecord *record, GError **error);

/* mm_statistics_split_log_line - find time stamp, program and message of a log line:
 * "Nov 21 19:40:01 host milter-manager[123]: [statistics] ..." (syslog; the year is
 * the one that puts the stamp at most a day after NOW), RFC 3339 stamps with a host
 * (rsyslog's precise format), or "2026-11-21T19:40:01.123Z milter-manager[123]: ..."
 * (our file log). On success *time is seconds since the epoch, *program points to a
 * new string, *message into LINE after "[statistics] "; FALSE with
 * MM_STATISTICS_ERROR_NOT_STATISTICS for any other line. */
gboolean mm_statistics_split_log_line(const char *line, gint64 now, gint64 *time,
                                      char **program, const char **message, GError **error);
