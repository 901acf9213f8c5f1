/* SPDX-License-Identifier: GPL-3.0-or-later */
/* statistics.c: milter manager 2.3's "[statistics]" log lines: the formatters the proxy
 * logs with, and the parsers milter-manager-log-analyzer reads them back with. */
#include "statistics.h"

#include <stdio.h>
#include <string.h>

#include "protocol.h"

G_DEFINE_QUARK(mm-statistics-error-quark, mm_statistics_error)

static const char *const state_names[] = {
  [MM_STATISTICS_STATE_START] = "start",
  [MM_STATISTICS_STATE_NEGOTIATE] = "negotiate",
  [MM_STATISTICS_STATE_CONNECT] = "connect",
  [MM_STATISTICS_STATE_HELO] = "helo",
  [MM_STATISTICS_STATE_ENVELOPE_FROM] = "envelope-from",
  [MM_STATISTICS_STATE_ENVELOPE_RECIPIENT] = "envelope-recipient",
  [MM_STATISTICS_STATE_DATA] = "data",
  [MM_STATISTICS_STATE_UNKNOWN] = "unknown",
  [MM_STATISTICS_STATE_HEADER] = "header",
  [MM_STATISTICS_STATE_END_OF_HEADER] = "end-of-header",
  [MM_STATISTICS_STATE_BODY] = "body",
  [MM_STATISTICS_STATE_END_OF_MESSAGE] = "end-of-message",
  [MM_STATISTICS_STATE_QUIT] = "quit",
  [MM_STATISTICS_STATE_ABORT] = "abort",
};

static const char *const result_names[] = {
  [MM_STATISTICS_RESULT_PASS] = "pass",
  [MM_STATISTICS_RESULT_ACCEPT] = "accept",
  [MM_STATISTICS_RESULT_REJECT] = "reject",
  [MM_STATISTICS_RESULT_DISCARD] = "discard",
  [MM_STATISTICS_RESULT_TEMPORARY_FAILURE] = "temporary-failure",
  [MM_STATISTICS_RESULT_SKIP] = "skip",
  [MM_STATISTICS_RESULT_QUARANTINE] = "quarantine",
  [MM_STATISTICS_RESULT_ABORT] = "abort",
  [MM_STATISTICS_RESULT_STOP] = "stop",
  [MM_STATISTICS_RESULT_ERROR] = "error",
};

/* mm_statistics_state_to_string - 2.3's state name */
const char *
mm_statistics_state_to_string(MmStatisticsState state)
{
  if ((guint)state >= G_N_ELEMENTS(state_names))
    return "invalid";
  return state_names[state];
}

/* mm_statistics_state_from_command - the state an MTA command puts a session in */
MmStatisticsState
mm_statistics_state_from_command(char command)
{
  switch (command) {
  case MM_COMMAND_NEGOTIATE: return MM_STATISTICS_STATE_NEGOTIATE;
  case MM_COMMAND_CONNECT: return MM_STATISTICS_STATE_CONNECT;
  case MM_COMMAND_HELO: return MM_STATISTICS_STATE_HELO;
  case MM_COMMAND_MAIL: return MM_STATISTICS_STATE_ENVELOPE_FROM;
  case MM_COMMAND_RCPT: return MM_STATISTICS_STATE_ENVELOPE_RECIPIENT;
  case MM_COMMAND_DATA: return MM_STATISTICS_STATE_DATA;
  case MM_COMMAND_UNKNOWN: return MM_STATISTICS_STATE_UNKNOWN;
  case MM_COMMAND_HEADER: return MM_STATISTICS_STATE_HEADER;
  case MM_COMMAND_END_OF_HEADER: return MM_STATISTICS_STATE_END_OF_HEADER;
  case MM_COMMAND_BODY: return MM_STATISTICS_STATE_BODY;
  case MM_COMMAND_END_OF_MESSAGE: return MM_STATISTICS_STATE_END_OF_MESSAGE;
  case MM_COMMAND_QUIT:
  case MM_COMMAND_QUIT_NEW_CONNECTION: return MM_STATISTICS_STATE_QUIT;
  case MM_COMMAND_ABORT: return MM_STATISTICS_STATE_ABORT;
  default: return MM_STATISTICS_STATE_START;
  }
}

/* mm_statistics_result_to_string - 2.3's verdict name */
const char *
mm_statistics_result_to_string(MmStatisticsResult result)
{
  if ((guint)result >= G_N_ELEMENTS(result_names))
    return "error";
  return result_names[result];
}

/* mm_statistics_result_from_string - parse a verdict name */
gboolean
mm_statistics_result_from_string(const char *name, MmStatisticsResult *result)
{
  if (name == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS(result_names); i++) {
    if (strcmp(name, result_names[i]) == 0) {
      *result = (MmStatisticsResult)i;
      return TRUE;
    }
  }
  /* 2.3 writes other status nicks (no-reply, progress, ...) only when something
   * went wrong; they count as errors rather than being dropped. */
  if (strcmp(name, "no-reply") == 0 || strcmp(name, "progress") == 0 ||
      strcmp(name, "all-options") == 0 || strcmp(name, "not-change") == 0 ||
      strcmp(name, "default") == 0 || strcmp(name, "continue") == 0) {
    *result = strcmp(name, "no-reply") == 0 || strcmp(name, "progress") == 0
                ? MM_STATISTICS_RESULT_ERROR
                : MM_STATISTICS_RESULT_PASS;
    return TRUE;
  }
  return FALSE;
}

/* mm_statistics_result_from_status - a status as an end line's verdict */
MmStatisticsResult
mm_statistics_result_from_status(MmStatus status)
{
  switch (status) {
  case MM_STATUS_ACCEPT: return MM_STATISTICS_RESULT_ACCEPT;
  case MM_STATUS_SKIP: return MM_STATISTICS_RESULT_SKIP;
  case MM_STATUS_TEMPORARY_FAILURE: return MM_STATISTICS_RESULT_TEMPORARY_FAILURE;
  case MM_STATUS_REJECT: return MM_STATISTICS_RESULT_REJECT;
  case MM_STATUS_DISCARD: return MM_STATISTICS_RESULT_DISCARD;
  case MM_STATUS_NOT_CHANGED:
  case MM_STATUS_CONTINUE:
  default: return MM_STATISTICS_RESULT_PASS;
  }
}

/* append_elapsed - ELAPSED as C's "%g" in any locale; junk (NaN, negative) is 0 */
static void
append_elapsed(GString *out, double elapsed)
{
  if (!(elapsed >= 0.0) || elapsed > 1e12)
    elapsed = 0.0;
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append(out, g_ascii_formatd(buffer, sizeof(buffer), "%g", elapsed));
}

/* mm_statistics_format_session_end - the line at the end of one MTA session */
char *
mm_statistics_format_session_end(MmStatisticsState last_state, MmStatisticsResult result,
                                 double elapsed, guint tag)
{
  GString *out = g_string_new("[session][end][");
  g_string_append_printf(out, "%s][%s][", mm_statistics_state_to_string(last_state),
                         mm_statistics_result_to_string(result));
  append_elapsed(out, elapsed);
  g_string_append_printf(out, "](%u)", tag);
  return g_string_free(out, FALSE);
}

/* append_clean - TEXT without line breaks or control characters, cut at LIMIT bytes
 * (on a character boundary), so that one statistics message stays one log line */
static void
append_clean(GString *out, const char *text, gsize limit)
{
  gsize start = out->len;
  gboolean cut = FALSE;
  for (const char *p = text != NULL ? text : ""; *p != '\0'; p++) {
    if (out->len - start >= limit) {
      cut = TRUE;
      break;
    }
    if (*p == '\r' || *p == '\n') {
      /* A fold (line break, then white space) is unfolded to that white space. */
      if (p[1] == ' ' || p[1] == '\t' || p[1] == '\r' || p[1] == '\n')
        continue;
      g_string_append_c(out, ' ');
    } else if ((guchar)*p < 0x20 || *p == 0x7f) {
      g_string_append_c(out, ' ');
    } else {
      g_string_append_c(out, *p);
    }
  }
  /* Do not leave half a UTF-8 sequence behind when the text was cut. */
  const char *end = NULL;
  if (cut && !g_utf8_validate(out->str + start, (gssize)(out->len - start), &end)) {
    gsize valid = (gsize)(end - out->str);
    if (out->len - valid < 4)
      g_string_truncate(out, valid);
  }
}

/* mm_statistics_format_child_end - the line at the end of one child's part */
char *
mm_statistics_format_child_end(MmStatisticsState last_state, MmStatisticsResult result,
                               double elapsed, guint tag, const char *name)
{
  GString *out = g_string_new("[milter][end][");
  g_string_append_printf(out, "%s][%s][", mm_statistics_state_to_string(last_state),
                         mm_statistics_result_to_string(result));
  append_elapsed(out, elapsed);
  g_string_append_printf(out, "](%u): ", tag);
  append_clean(out, name, MM_STATISTICS_HEADER_NAME_MAX);
  return g_string_free(out, FALSE);
}

/* mm_statistics_format_header_add - the line for one header a child added */
char *
mm_statistics_format_header_add(guint tag, const char *header_name, const char *header_value,
                                const char *child_name)
{
  GString *out = g_string_new(NULL);
  g_string_append_printf(out, "[milter][header][add](%u): <", tag);
  append_clean(out, header_name, MM_STATISTICS_HEADER_NAME_MAX);
  g_string_append(out, ">=<");
  append_clean(out, header_value, MM_STATISTICS_HEADER_VALUE_MAX);
  g_string_append(out, ">: ");
  append_clean(out, child_name, MM_STATISTICS_HEADER_NAME_MAX);
  return g_string_free(out, FALSE);
}

/* mm_statistics_format_disconnected - the line when the SMTP client went away early */
char *
mm_statistics_format_disconnected(double elapsed, guint tag)
{
  GString *out = g_string_new("[session][disconnected][");
  append_elapsed(out, elapsed);
  g_string_append_printf(out, "](%u)", tag);
  return g_string_free(out, FALSE);
}

/* mm_statistics_format_quarantine - the line when the merged reply quarantines */
char *
mm_statistics_format_quarantine(guint tag)
{
  return g_strdup_printf("[reply][end-of-message][quarantine](%u)", tag);
}

/* mm_statistics_format_sessions_finished - the periodic session counter line */
char *
mm_statistics_format_sessions_finished(guint64 n_total, guint n_new, guint n_processing)
{
  return g_strdup_printf("[sessions][finished] %" G_GUINT64_FORMAT "(+%u) %u", n_total, n_new,
                         n_processing);
}

/* ------------------------------------------------------------------------------------ */
/* Parsing */

/* mm_statistics_record_clear - free the strings of a record */
void
mm_statistics_record_clear(MmStatisticsRecord *record)
{
  if (record == NULL)
    return;
  g_free(record->state);
  g_free(record->child_name);
  g_free(record->header_name);
  g_free(record->header_value);
  memset(record, 0, sizeof(*record));
}

#define MAX_FIELDS 5 /* [milter][end][STATE][RESULT][ELAPSED] */

/* Cursor over "[a][b][c](tag)rest". Fields point into the message; lengths apart. */
typedef struct {
  const char *field[MAX_FIELDS];
  gsize length[MAX_FIELDS];
  guint n_fields;
  gboolean has_tag;
  guint tag;
  const char *rest; /* what follows the fields and the tag */
} Fields;

/* split_fields - the leading "[...]" fields, then an optional "(digits)" tag */
static gboolean
split_fields(const char *message, Fields *fields)
{
  memset(fields, 0, sizeof(*fields));
  const char *p = message;
  while (*p == '[') {
    const char *close = strchr(p + 1, ']');
    if (close == NULL || fields->n_fields == MAX_FIELDS)
      return FALSE;
    fields->field[fields->n_fields] = p + 1;
    fields->length[fields->n_fields] = (gsize)(close - p - 1);
    fields->n_fields++;
    p = close + 1;
  }
  if (*p == '(') {
    char *end = NULL;
    guint64 tag = g_ascii_strtoull(p + 1, &end, 10);
    if (end == p + 1 || *end != ')' || tag > G_MAXUINT)
      return FALSE;
    fields->has_tag = TRUE;
    fields->tag = (guint)tag;
    p = end + 1;
  }
  fields->rest = p;
  return fields->n_fields > 0;
}

/* field_is - whether field I is exactly WORD */
static gboolean
field_is(const Fields *fields, guint i, const char *word)
{
  return i < fields->n_fields && fields->length[i] == strlen(word) &&
         strncmp(fields->field[i], word, fields->length[i]) == 0;
}

/* syntax_error - a MM_STATISTICS_ERROR_SYNTAX naming what was expected */
static gboolean
syntax_error(GError **error, const char *message, const char *expected)
{
  g_set_error(error, MM_STATISTICS_ERROR, MM_STATISTICS_ERROR_SYNTAX,
              "malformed statistics message (%s expected): %.80s", expected, message);
  return FALSE;
}

/* parse_elapsed - field I as a non-negative number of seconds */
static gboolean
parse_elapsed(const Fields *fields, guint i, double *elapsed)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  if (fields->length[i] == 0 || fields->length[i] >= sizeof(buffer))
    return FALSE;
  memcpy(buffer, fields->field[i], fields->length[i]);
  buffer[fields->length[i]] = '\0';
  char *end = NULL;
  double value = g_ascii_strtod(buffer, &end);
  if (*end != '\0' || !(value >= 0.0))
    return FALSE;
  *elapsed = value;
  return TRUE;
}

/* parse_end - "[STATE][RESULT][ELAPSED]" from field FIRST on, or 2.3's older "[ELAPSED]" */
static gboolean
parse_end(const Fields *fields, guint first, MmStatisticsRecord *record)
{
  if (fields->n_fields == first + 1) {
    record->result = MM_STATISTICS_RESULT_PASS;
    return parse_elapsed(fields, first, &record->elapsed);
  }
  if (fields->n_fields != first + 3)
    return FALSE;
  g_autofree char *result = g_strndup(fields->field[first + 1], fields->length[first + 1]);
  if (!mm_statistics_result_from_string(result, &record->result))
    return FALSE;
  if (!parse_elapsed(fields, first + 2, &record->elapsed))
    return FALSE;
  record->state = g_strndup(fields->field[first], fields->length[first]);
  return TRUE;
}

/* trimmed_rest - the rest of the message without trailing white space */
static char *
trimmed_rest(const char *rest)
{
  return g_strchomp(g_strdup(rest));
}

/* parse_header_add - ": <NAME>=<VALUE>: CHILD" after "[milter][header][add](TAG)" */
static gboolean
parse_header_add(const char *rest, MmStatisticsRecord *record)
{
  if (!g_str_has_prefix(rest, ": <"))
    return FALSE;
  g_autofree char *text = trimmed_rest(rest + 3);
  char *equal = strstr(text, ">=<");
  if (equal == NULL)
    return FALSE;
  /* The child's name follows the last ">: ": a header value may itself hold ">: ". */
  char *separator = NULL;
  for (char *p = strstr(equal + 3, ">: "); p != NULL; p = strstr(p + 1, ">: "))
    separator = p;
  if (separator == NULL || separator[3] == '\0')
    return FALSE;
  record->header_name = g_strndup(text, (gsize)(equal - text));
  record->header_value = g_strndup(equal + 3, (gsize)(separator - equal - 3));
  record->child_name = g_strdup(separator + 3);
  return TRUE;
}

/* mm_statistics_parse - one statistics message into a record */
gboolean
mm_statistics_parse(const char *message, MmStatisticsRecord *record, GError **error)
{
  Fields fields;
  MmStatisticsRecord parsed = {0};
  if (message == NULL || !split_fields(message, &fields)) {
    g_set_error(error, MM_STATISTICS_ERROR, MM_STATISTICS_ERROR_NOT_STATISTICS,
                "not a statistics message");
    return FALSE;
  }
  parsed.tag = fields.tag;
  if (field_is(&fields, 0, "session") && field_is(&fields, 1, "end")) {
    parsed.kind = MM_STATISTICS_KIND_SESSION_END;
    if (!parse_end(&fields, 2, &parsed)) {
      mm_statistics_record_clear(&parsed);
      return syntax_error(error, message, "[STATE][RESULT][ELAPSED]");
    }
  } else if (field_is(&fields, 0, "milter") && field_is(&fields, 1, "end")) {
    parsed.kind = MM_STATISTICS_KIND_CHILD_END;
    g_autofree char *name = g_str_has_prefix(fields.rest, ": ") ? trimmed_rest(fields.rest + 2)
                                                                 : NULL;
    if (!parse_end(&fields, 2, &parsed) || name == NULL || *name == '\0') {
      mm_statistics_record_clear(&parsed);
      return syntax_error(error, message, "[STATE][RESULT][ELAPSED](TAG): NAME");
    }
    parsed.child_name = g_steal_pointer(&name);
  } else if (field_is(&fields, 0, "milter") && field_is(&fields, 1, "header") &&
             field_is(&fields, 2, "add") && fields.n_fields == 3) {
    parsed.kind = MM_STATISTICS_KIND_HEADER_ADD;
    if (!parse_header_add(fields.rest, &parsed)) {
      mm_statistics_record_clear(&parsed);
      return syntax_error(error, message, "(TAG): <NAME>=<VALUE>: CHILD");
    }
  } else if (field_is(&fields, 0, "session") && field_is(&fields, 1, "disconnected")) {
    parsed.kind = MM_STATISTICS_KIND_DISCONNECTED;
    if (fields.n_fields != 3 || !parse_elapsed(&fields, 2, &parsed.elapsed))
      return syntax_error(error, message, "[ELAPSED]");
  } else if (field_is(&fields, 0, "reply") && field_is(&fields, 2, "quarantine") &&
             fields.n_fields == 3) {
    parsed.kind = MM_STATISTICS_KIND_QUARANTINE;
    parsed.result = MM_STATISTICS_RESULT_QUARANTINE;
    parsed.state = g_strndup(fields.field[1], fields.length[1]);
  } else if (field_is(&fields, 0, "abort") && fields.n_fields == 2) {
    parsed.kind = MM_STATISTICS_KIND_ABORT;
    parsed.result = MM_STATISTICS_RESULT_ABORT;
    parsed.state = g_strndup(fields.field[1], fields.length[1]);
  } else if (field_is(&fields, 0, "sessions") && field_is(&fields, 1, "finished") &&
             fields.n_fields == 2) {
    parsed.kind = MM_STATISTICS_KIND_SESSIONS_FINISHED;
  } else {
    g_set_error(error, MM_STATISTICS_ERROR, MM_STATISTICS_ERROR_NOT_STATISTICS,
                "not a statistics message the analyzer counts: %.80s", message);
    return FALSE;
  }
  *record = parsed;
  return TRUE;
}

static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* parse_syslog_stamp - "Nov 21 19:40:01" in local time, its year inferred from NOW */
static gboolean
parse_syslog_stamp(const char *line, gint64 now, gint64 *time, const char **after)
{
  int month = 0;
  for (guint i = 0; i < G_N_ELEMENTS(month_names); i++) {
    if (strncmp(line, month_names[i], 3) == 0 && line[3] == ' ')
      month = (int)i + 1;
  }
  if (month == 0)
    return FALSE;
  int day = 0, hour = 0, minute = 0, second = 0, used = 0;
  if (sscanf(line + 4, "%2d %2d:%2d:%2d%n", &day, &hour, &minute, &second, &used) != 4 ||
      line[4 + used] != ' ')
    return FALSE;
  g_autoptr(GDateTime) reference = g_date_time_new_from_unix_local(now);
  if (reference == NULL)
    return FALSE;
  int year = g_date_time_get_year(reference);
  g_autoptr(GDateTime) stamp = g_date_time_new_local(year, month, day, hour, minute, second);
  if (stamp != NULL && g_date_time_to_unix(stamp) > now + 24 * 60 * 60) {
    /* December's log read in January. */
    g_date_time_unref(stamp);
    stamp = g_date_time_new_local(year - 1, month, day, hour, minute, second);
  }
  if (stamp == NULL)
    return FALSE;
  *time = g_date_time_to_unix(stamp);
  *after = line + 4 + used + 1;
  return TRUE;
}

/* parse_iso_stamp - "2026-11-21T19:40:01.123Z" or with an offset, up to the next space */
static gboolean
parse_iso_stamp(const char *line, gint64 *time, const char **after)
{
  const char *space = strchr(line, ' ');
  if (space == NULL || space - line > 40 || !g_ascii_isdigit(line[0]))
    return FALSE;
  g_autofree char *token = g_strndup(line, (gsize)(space - line));
  g_autoptr(GDateTime) stamp = g_date_time_new_from_iso8601(token, NULL);
  if (stamp == NULL)
    return FALSE;
  *time = g_date_time_to_unix(stamp);
  *after = space + 1;
  return TRUE;
}

/* parse_program - "name[pid]: " or "name: " at TEXT; *after is the message */
static char *
parse_program(const char *text, const char **after)
{
  const char *space = strchr(text, ' ');
  if (space == NULL || space == text || space[-1] != ':')
    return NULL;
  const char *end = space - 1;
  const char *bracket = memchr(text, '[', (gsize)(end - text));
  if (bracket != NULL) {
    if (end[-1] != ']')
      return NULL;
    for (const char *p = bracket + 1; p < end - 1; p++) {
      if (!g_ascii_isdigit(*p))
        return NULL;
    }
    end = bracket;
  }
  if (end == text)
    return NULL;
  *after = space + 1;
  return g_strndup(text, (gsize)(end - text));
}

/* mm_statistics_split_log_line - time stamp, program and statistics message of LINE */
gboolean
mm_statistics_split_log_line(const char *line, gint64 now, gint64 *time, char **program,
                             const char **message, GError **error)
{
  static const char prefix[] = "[statistics] ";
  gint64 stamp = 0;
  const char *p = NULL;
  if (line != NULL && (parse_syslog_stamp(line, now, &stamp, &p) ||
                       parse_iso_stamp(line, &stamp, &p))) {
    const char *text = NULL;
    char *name = parse_program(p, &text);
    if (name == NULL) {
      /* syslog lines carry a host name before the program */
      const char *space = strchr(p, ' ');
      if (space != NULL)
        name = parse_program(space + 1, &text);
    }
    if (name != NULL && g_str_has_prefix(text, prefix)) {
      *time = stamp;
      *program = name;
      *message = text + strlen(prefix);
      return TRUE;
    }
    g_free(name);
  }
  g_set_error(error, MM_STATISTICS_ERROR, MM_STATISTICS_ERROR_NOT_STATISTICS,
              "not a statistics log line");
  return FALSE;
}
