/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-reply-code.c: unit tests for SMTP reply code validation (reply-code.h), from a
 * table of good and bad codes. */
#include "reply-code.h"

#include <string.h>

/* A code that must be accepted, and what it must give. */
typedef struct {
  const char *text;
  guint code;
  gboolean has_extended;
  guint extended[3];
  guint n_lines;
  MmStatus status;
} GoodCase;

static const GoodCase good_cases[] = {
  { "550 5.7.1 Rejected", 550, TRUE, { 5, 7, 1 }, 1, MM_STATUS_REJECT },
  { "451 4.7.1 Try again later", 451, TRUE, { 4, 7, 1 }, 1, MM_STATUS_TEMPORARY_FAILURE },
  { "554 Go away", 554, FALSE, { 0 }, 1, MM_STATUS_REJECT },
  { "421 ", 421, FALSE, { 0 }, 1, MM_STATUS_TEMPORARY_FAILURE },
  { "400 4.0.0", 400, TRUE, { 4, 0, 0 }, 1, MM_STATUS_TEMPORARY_FAILURE },
  { "599 5.999.999 edge", 599, TRUE, { 5, 999, 999 }, 1, MM_STATUS_REJECT },
  { "550-5.7.1 first\r\n550 5.7.1 last", 550, TRUE, { 5, 7, 1 }, 2, MM_STATUS_REJECT },
  { "550-first\r\n550-second\r\n550 third", 550, FALSE, { 0 }, 3, MM_STATUS_REJECT },
  { "452 4.3.1 tab\there % and 100%%", 452, TRUE, { 4, 3, 1 }, 1,
    MM_STATUS_TEMPORARY_FAILURE },
  { "550 spam score 5.5 too high", 550, FALSE, { 0 }, 1, MM_STATUS_REJECT },
};

/* test_good - every good code parses to what the table says */
static void
test_good(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(good_cases); i++) {
    const GoodCase *c = &good_cases[i];
    MmReplyCode code;
    g_autoptr(GError) error = NULL;
    g_test_message("%s", c->text);
    g_assert_true(mm_reply_code_parse(c->text, &code, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(code.code, ==, c->code);
    g_assert_cmpint(code.has_extended, ==, c->has_extended);
    g_assert_cmpuint(code.extended_class, ==, c->extended[0]);
    g_assert_cmpuint(code.extended_subject, ==, c->extended[1]);
    g_assert_cmpuint(code.extended_detail, ==, c->extended[2]);
    g_assert_cmpuint(code.n_lines, ==, c->n_lines);
    g_assert_cmpint(code.status, ==, c->status);
  }
}

/* A code that must be refused, the error and a word the message must contain. */
typedef struct {
  const char *text;
  MmReplyCodeError error;
  const char *says;
} BadCase;

static const BadCase bad_cases[] = {
  { "", MM_REPLY_CODE_ERROR_SYNTAX, "empty" },
  { "250 2.0.0 OK", MM_REPLY_CODE_ERROR_CODE, "4xx or 5xx" },
  { "399 nope", MM_REPLY_CODE_ERROR_CODE, "399" },
  { "600 nope", MM_REPLY_CODE_ERROR_CODE, "600" },
  { "55 short", MM_REPLY_CODE_ERROR_SYNTAX, "three-digit" },
  { "5x0 letters", MM_REPLY_CODE_ERROR_SYNTAX, "three-digit" },
  { "550", MM_REPLY_CODE_ERROR_SYNTAX, "followed by ' '" },
  { "550text", MM_REPLY_CODE_ERROR_SYNTAX, "followed by ' '" },
  { "550-last line continued", MM_REPLY_CODE_ERROR_SYNTAX, "followed by ' '" },
  { "550 first\r\n550 last", MM_REPLY_CODE_ERROR_SYNTAX, "NNN-" },
  { "550-first\r\n451 last", MM_REPLY_CODE_ERROR_CODE, "differs" },
  { "550 5.7.1 text\r\n", MM_REPLY_CODE_ERROR_SYNTAX, "CRLF after" },
  { "550 4.7.1 wrong class", MM_REPLY_CODE_ERROR_EXTENDED, "class 4" },
  { "451 5.7.1 wrong class", MM_REPLY_CODE_ERROR_EXTENDED, "class 5" },
  { "550 2.0.0 success class", MM_REPLY_CODE_ERROR_EXTENDED, "class 2" },
  { "550 5.1000.1 subject", MM_REPLY_CODE_ERROR_EXTENDED, "malformed" },
  { "550 5.1.1000 detail", MM_REPLY_CODE_ERROR_EXTENDED, "malformed" },
  { "550 5.7 short", MM_REPLY_CODE_ERROR_EXTENDED, "malformed" },
  { "550 5..1 empty", MM_REPLY_CODE_ERROR_EXTENDED, "malformed" },
  { "550 55.7.1 class", MM_REPLY_CODE_ERROR_EXTENDED, "malformed" },
  { "550 5.7.1text", MM_REPLY_CODE_ERROR_EXTENDED, "space" },
  { "550 10 reasons", MM_REPLY_CODE_ERROR_EXTENDED, "malformed" },
  { "550 bare\nLF", MM_REPLY_CODE_ERROR_TEXT, "bare LF" },
  { "550 bare\rCR", MM_REPLY_CODE_ERROR_TEXT, "bare CR" },
  { "550-a\r\n550 b\r", MM_REPLY_CODE_ERROR_TEXT, "line 2" },
  { "550-a\n550 b", MM_REPLY_CODE_ERROR_TEXT, "bare LF" },
};

/* test_bad - every bad code is an error saying what is wrong */
static void
test_bad(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
    const BadCase *c = &bad_cases[i];
    MmReplyCode code = { .code = 1 };
    g_autoptr(GError) error = NULL;
    g_test_message("%s", c->text);
    g_assert_false(mm_reply_code_parse(c->text, &code, &error));
    g_assert_error(error, MM_REPLY_CODE_ERROR, (gint)c->error);
    if (strstr(error->message, c->says) == NULL)
      g_error("\"%s\": message \"%s\" lacks \"%s\"", c->text, error->message, c->says);
    g_assert_cmpuint(code.code, ==, 1); /* untouched on failure */
  }
}

/* test_limits - NUL bytes, NULL text, too many and too long lines */
static void
test_limits(void)
{
  MmReplyCode code;
  g_autoptr(GError) error = NULL;
  static const char with_nul[] = "550 a\0b";
  g_assert_false(mm_reply_code_parse_length(with_nul, sizeof(with_nul) - 1, &code, &error));
  g_assert_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_TEXT);
  g_clear_error(&error);

  g_assert_false(mm_reply_code_parse(NULL, &code, &error));
  g_assert_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_SYNTAX);
  g_clear_error(&error);

  /* Not terminated: only LENGTH bytes are read. */
  g_assert_true(mm_reply_code_parse_length("550 okXXXX", 6, &code, &error));
  g_assert_no_error(error);

  GString *lines = g_string_new(NULL);
  for (guint i = 0; i < MM_REPLY_CODE_MAX_LINES - 1; i++)
    g_string_append(lines, "550-line\r\n");
  g_string_append(lines, "550 last");
  g_assert_true(mm_reply_code_parse(lines->str, &code, &error));
  g_assert_cmpuint(code.n_lines, ==, MM_REPLY_CODE_MAX_LINES);
  g_string_prepend(lines, "550-one more\r\n");
  g_assert_false(mm_reply_code_parse(lines->str, &code, &error));
  g_assert_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_TOO_LONG);
  g_clear_error(&error);
  g_string_free(lines, TRUE);

  g_autofree char *fill = g_strnfill(MM_REPLY_CODE_MAX_LINE_LENGTH - 4, 'x');
  g_autofree char *longest = g_strconcat("550 ", fill, NULL);
  g_assert_true(mm_reply_code_parse(longest, &code, &error));
  g_autofree char *too_long = g_strconcat(longest, "x", NULL);
  g_assert_false(mm_reply_code_parse(too_long, &code, &error));
  g_assert_error(error, MM_REPLY_CODE_ERROR, MM_REPLY_CODE_ERROR_TOO_LONG);
}

/* test_matches - the code's class against each merged status */
static void
test_matches(void)
{
  MmReplyCode reject, tempfail;
  g_assert_true(mm_reply_code_parse("550 5.7.1 no", &reject, NULL));
  g_assert_true(mm_reply_code_parse("451 4.7.1 later", &tempfail, NULL));
  static const MmStatus statuses[] = {
    MM_STATUS_NOT_CHANGED, MM_STATUS_ACCEPT, MM_STATUS_SKIP, MM_STATUS_CONTINUE,
    MM_STATUS_TEMPORARY_FAILURE, MM_STATUS_REJECT, MM_STATUS_DISCARD,
  };
  for (guint i = 0; i < G_N_ELEMENTS(statuses); i++) {
    g_assert_cmpint(mm_reply_code_matches(&reject, statuses[i]), ==,
                    statuses[i] == MM_STATUS_REJECT);
    g_assert_cmpint(mm_reply_code_matches(&tempfail, statuses[i]), ==,
                    statuses[i] == MM_STATUS_TEMPORARY_FAILURE);
  }
  g_assert_false(mm_reply_code_matches(NULL, MM_STATUS_REJECT));
  MmReplyCode unset = { 0 };
  g_assert_false(mm_reply_code_matches(&unset, MM_STATUS_NOT_CHANGED));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/reply-code/good", test_good);
  g_test_add_func("/reply-code/bad", test_bad);
  g_test_add_func("/reply-code/limits", test_limits);
  g_test_add_func("/reply-code/matches", test_matches);
  return g_test_run();
}
