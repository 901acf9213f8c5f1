/* SPDX-License-Identifier: GPL-3.0-or-later */
/* reply-code.c: line-by-line validation of SMTP reply text from a child, strict enough
 * that Postfix and Sendmail accept whatever passes it. */
#include "reply-code.h"

#include <string.h>

G_DEFINE_QUARK(mm-reply-code-error-quark, mm_reply_code_error)

/* One parsed line. */
typedef struct {
  guint code;
  gboolean has_extended;
  guint extended[3];
} Line;

/* parse_number - 1 to MAX_DIGITS digits at *P; advances *P */
static gboolean
parse_number(const char **p, const char *end, guint max_digits, guint *value)
{
  guint digits = 0;
  guint result = 0;
  while (*p < end && g_ascii_isdigit(**p)) {
    if (++digits > max_digits)
      return FALSE;
    result = result * 10 + (guint)(**p - '0');
    (*p)++;
  }
  if (digits == 0)
    return FALSE;
  *value = result;
  return TRUE;
}

/* parse_extended - "class.subject.detail" at P, ending at END or a space. Postfix takes
 * any digit after the code's separator as the start of one, so a text starting with a
 * digit must be a well-formed extended code. */
static gboolean
parse_extended(const char *p, const char *end, guint number, Line *line, GError **error)
{
  static const guint digits[3] = { 1, 3, 3 };
  for (guint i = 0; i < 3; i++) {
    if (!parse_number(&p, end, digits[i], &line->extended[i]) ||
        (i < 2 && (p == end || *p++ != '.'))) {
      g_set_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_EXTENDED,
                  "line %u: malformed extended status code (want class.subject.detail, "
                  "1 to 3 digits each)", number);
      return FALSE;
    }
  }
  if (p < end && *p != ' ') {
    g_set_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_EXTENDED,
                "line %u: extended status code not followed by a space", number);
    return FALSE;
  }
  if (line->extended[0] != line->code / 100) {
    g_set_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_EXTENDED,
                "line %u: extended status class %u does not match reply code %u", number,
                line->extended[0], line->code);
    return FALSE;
  }
  line->has_extended = TRUE;
  return TRUE;
}

/* parse_line - one line [P, END); LAST says whether it must end the reply */
static gboolean
parse_line(const char *p, const char *end, guint number, gboolean last, Line *line,
           GError **error)
{
  if ((gsize)(end - p) > MM_REPLY_CODE_MAX_LINE_LENGTH) {
    g_set_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_TOO_LONG,
                "line %u: longer than %u characters", number, MM_REPLY_CODE_MAX_LINE_LENGTH);
    return FALSE;
  }
  for (const char *c = p; c < end; c++) {
    if (*c == '\0' || *c == '\r' || *c == '\n') {
      g_set_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_TEXT,
                  "line %u: %s in the text", number,
                  *c == '\0' ? "NUL byte" : *c == '\r' ? "bare CR" : "bare LF");
      return FALSE;
    }
  }
  if (end - p < 3 || !g_ascii_isdigit(p[0]) || !g_ascii_isdigit(p[1]) ||
      !g_ascii_isdigit(p[2])) {
    g_set_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_SYNTAX,
                "line %u: does not start with a three-digit reply code", number);
    return FALSE;
  }
  memset(line, 0, sizeof(*line));
  line->code = (guint)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0'));
  if (line->code < 400 || line->code > 599) {
    g_set_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_CODE,
                "line %u: reply code %03u is not a 4xx or 5xx code", number, line->code);
    return FALSE;
  }
  char separator = last ? ' ' : '-';
  if (end - p < 4 || p[3] != separator) {
    g_set_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_SYNTAX,
                "line %u: reply code not followed by '%c'%s", number, separator,
                last ? "" : " (continued lines use \"NNN-\")");
    return FALSE;
  }
  p += 4;
  if (p < end && g_ascii_isdigit(*p))
    return parse_extended(p, end, number, line, error);
  return TRUE;
}

/* mm_reply_code_parse_length - validate LENGTH bytes of reply text */
gboolean
mm_reply_code_parse_length(const char *data, gsize length, MmReplyCode *out, GError **error)
{
  if (data == NULL || length == 0) {
    g_set_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_SYNTAX, "reply code is empty");
    return FALSE;
  }
  const char *end = data + length;
  const char *p = data;
  MmReplyCode result = { 0 };
  for (guint number = 1;; number++) {
    if (number > MM_REPLY_CODE_MAX_LINES) {
      g_set_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_TOO_LONG,
                  "more than %u lines", MM_REPLY_CODE_MAX_LINES);
      return FALSE;
    }
    const char *line_end = p;
    while (line_end < end && !(line_end + 1 < end && line_end[0] == '\r' && line_end[1] == '\n'))
      line_end++;
    gboolean last = line_end == end;
    if (!last && line_end + 2 == end) {
      g_set_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_SYNTAX,
                  "line %u: CRLF after the last line", number);
      return FALSE;
    }
    Line line;
    if (!parse_line(p, line_end, number, last, &line, error))
      return FALSE;
    if (number == 1) {
      result.code = line.code;
      result.has_extended = line.has_extended;
      result.extended_class = line.extended[0];
      result.extended_subject = line.extended[1];
      result.extended_detail = line.extended[2];
    } else if (line.code != result.code) {
      g_set_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_CODE,
                  "line %u: reply code %u differs from %u on line 1", number, line.code,
                  result.code);
      return FALSE;
    }
    result.n_lines = number;
    if (last)
      break;
    p = line_end + 2;
  }
  result.status = result.code < 500 ? MM_STATUS_TEMPORARY_FAILURE : MM_STATUS_REJECT;
  *out = result;
  return TRUE;
}

/* mm_reply_code_parse - validate a terminated reply text */
gboolean
mm_reply_code_parse(const char *text, MmReplyCode *out, GError **error)
{
  return mm_reply_code_parse_length(text, text == NULL ? 0 : strlen(text), out, error);
}

/* mm_reply_code_matches - whether CODE's class fits the merged STATUS */
gboolean
mm_reply_code_matches(const MmReplyCode *code, MmStatus status)
{
  return code != NULL && code->n_lines > 0 &&
         (status == MM_STATUS_TEMPORARY_FAILURE || status == MM_STATUS_REJECT) &&
         code->status == status;
}
