/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-option.c: unit tests for negotiated options (option.h): macro request lists from a
 * negotiate reply, their errors, copying, data sizes from the MDS flags, flag names. */
#include "option.h"

#include <string.h>

#include "reply.h"

/* negotiate_reply - a negotiate reply whose macro request lists are LISTS[0..LENGTH) */
static MmReply
negotiate_reply(const void *lists, gsize length)
{
  MmReply reply = {.code = MM_REPLY_NEGOTIATE};
  reply.u.negotiate.version = 6;
  reply.u.negotiate.actions = MM_ACTION_ADD_HEADERS;
  reply.u.negotiate.steps = MM_STEP_NO_CONNECT | MM_STEP_SKIP;
  reply.u.negotiate.macro_requests = lists;
  reply.u.negotiate.macro_requests_length = length;
  return reply;
}

#define D(s) s, sizeof s - 1

/* test_from_reply - options and lists parsed; absent stages stay NULL, empty lists "" */
static void
test_from_reply(void)
{
  MmReply reply = negotiate_reply(D("\0\0\0\5{msg_id}\0\0\0\0\0j {client_addr}\0\0\0\0\6\0"));
  MmOption option;
  mm_option_init(&option);
  mm_option_set_macro_requests(&option, MM_MACRO_STAGE_HELO, "stale");
  g_autoptr(GError) error = NULL;
  g_assert_true(mm_option_from_reply(&reply, &option, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(option.version, ==, 6);
  g_assert_cmpuint(option.actions, ==, MM_ACTION_ADD_HEADERS);
  g_assert_cmpuint(option.steps, ==, MM_STEP_NO_CONNECT | MM_STEP_SKIP);
  g_assert_cmpstr(option.macro_requests[MM_MACRO_STAGE_CONNECT], ==, "j {client_addr}");
  g_assert_null(option.macro_requests[MM_MACRO_STAGE_HELO]);
  g_assert_cmpstr(option.macro_requests[MM_MACRO_STAGE_END_OF_MESSAGE], ==, "{msg_id}");
  g_assert_cmpstr(option.macro_requests[MM_MACRO_STAGE_END_OF_HEADER], ==, "");

  /* Encoding lists them in stage order, as libmilter does. */
  g_autoptr(GByteArray) out = g_byte_array_new();
  mm_reply_encode_negotiate(out, &option);
  static const char expected[] = "\0\0\0\0j {client_addr}\0\0\0\0\5{msg_id}\0\0\0\0\6\0";
  g_assert_cmpuint(out->len, ==, 4 + 1 + 12 + sizeof expected - 1);
  g_assert_cmpmem(out->data + 17, out->len - 17, expected, sizeof expected - 1);

  MmOption copy;
  mm_option_init(&copy);
  mm_option_copy(&copy, &option);
  mm_option_clear(&option);
  g_assert_null(option.macro_requests[MM_MACRO_STAGE_CONNECT]);
  g_assert_cmpstr(copy.macro_requests[MM_MACRO_STAGE_CONNECT], ==, "j {client_addr}");
  g_assert_cmpuint(copy.steps, ==, MM_STEP_NO_CONNECT | MM_STEP_SKIP);
  mm_option_clear(&copy);
  mm_option_clear(NULL);
}

typedef struct {
  const char *path;
  const char *lists;
  gsize length;
  int error_code;
  const char *message;
} ErrorCase;

static const ErrorCase error_cases[] = {
  {"/option/error/stage-7", D("\0\0\0\7j\0"), MM_OPTION_ERROR_BAD_VALUE, "unknown stage 7"},
  {"/option/error/stage-huge", D("\xff\xff\xff\xffj\0"), MM_OPTION_ERROR_BAD_VALUE,
   "unknown stage 4294967295"},
  {"/option/error/missing-nul", D("\0\0\0\1j"), MM_OPTION_ERROR_MISSING_NUL, "NUL"},
  {"/option/error/truncated-stage", D("\0\0"), MM_OPTION_ERROR_TRUNCATED, "stage"},
  {"/option/error/truncated-list", D("\0\0\0\1"), MM_OPTION_ERROR_TRUNCATED, "list"},
  {"/option/error/twice", D("\0\0\0\1a\0\0\0\0\1b\0"), MM_OPTION_ERROR_BAD_VALUE,
   "helo stage given twice"},
};

/* test_error - a bad list is the expected error and leaves the option unchanged */
static void
test_error(gconstpointer data)
{
  const ErrorCase *c = data;
  g_autofree guint8 *copy = g_memdup2(c->lists, c->length);
  MmReply reply = negotiate_reply(copy, c->length);
  MmOption option;
  mm_option_init(&option);
  option.version = 2;
  mm_option_set_macro_requests(&option, MM_MACRO_STAGE_RCPT, "{rcpt_addr}");
  g_autoptr(GError) error = NULL;
  g_assert_false(mm_option_from_reply(&reply, &option, &error));
  g_assert_error(error, MM_OPTION_ERROR, c->error_code);
  if (strstr(error->message, c->message) == NULL)
    g_error("message \"%s\" lacks \"%s\"", error->message, c->message);
  g_assert_cmpuint(option.version, ==, 2);
  g_assert_cmpstr(option.macro_requests[MM_MACRO_STAGE_RCPT], ==, "{rcpt_addr}");
  mm_option_clear(&option);
}

/* test_not_negotiate - any other reply is refused */
static void
test_not_negotiate(void)
{
  MmReply reply = {.code = MM_REPLY_CONTINUE};
  MmOption option;
  mm_option_init(&option);
  g_autoptr(GError) error = NULL;
  g_assert_false(mm_option_from_reply(&reply, &option, &error));
  g_assert_error(error, MM_OPTION_ERROR, MM_OPTION_ERROR_UNKNOWN);
}

/* test_max_data_length - the MDS flags pick the limit; 1M wins over 256K */
static void
test_max_data_length(void)
{
  g_assert_cmpuint(mm_option_max_data_length(0), ==, 65535);
  g_assert_cmpuint(mm_option_max_data_length(MM_STEP_ALL & ~MM_STEP_DATA_SIZE_MASK), ==, 65535);
  g_assert_cmpuint(mm_option_max_data_length(MM_STEP_MDS_256K), ==, 262143);
  g_assert_cmpuint(mm_option_max_data_length(MM_STEP_MDS_1M), ==, 1048575);
  g_assert_cmpuint(mm_option_max_data_length(MM_STEP_MDS_1M | MM_STEP_MDS_256K), ==, 1048575);
}

/* test_names - flag names for logs */
static void
test_names(void)
{
  static const struct {
    guint32 steps;
    const char *expected;
  } steps[] = {
    {0, "none"},
    {MM_STEP_NO_CONNECT | MM_STEP_NR_HEADER | MM_STEP_SKIP, "no-connect|nr-header|skip"},
    {MM_STEP_RCPT_REJECTED | MM_STEP_HEADER_LEADING_SPACE, "rcpt-rejected|header-leading-space"},
    {MM_STEP_NR_CONNECT | MM_STEP_NR_HELO | MM_STEP_NR_MAIL | MM_STEP_NR_RCPT | MM_STEP_NR_DATA |
         MM_STEP_NR_UNKNOWN | MM_STEP_NR_END_OF_HEADER | MM_STEP_NR_BODY,
     "nr-connect|nr-helo|nr-mail|nr-rcpt|nr-data|nr-unknown|nr-end-of-header|nr-body"},
    {MM_STEP_NO_HELO | MM_STEP_NO_MAIL | MM_STEP_NO_RCPT | MM_STEP_NO_BODY | MM_STEP_NO_HEADERS |
         MM_STEP_NO_END_OF_HEADER | MM_STEP_NO_UNKNOWN | MM_STEP_NO_DATA,
     "no-helo|no-mail|no-rcpt|no-body|no-headers|no-end-of-header|no-unknown|no-data"},
    {MM_STEP_MDS_256K | MM_STEP_MDS_1M, "mds-256k|mds-1m"},
    {MM_STEP_SKIP | 0x40000000u, "skip|0x40000000"},
    {0x00200000u, "0x200000"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(steps); i++) {
    g_autofree char *s = mm_option_steps_to_string(steps[i].steps);
    g_assert_cmpstr(s, ==, steps[i].expected);
  }
  g_autofree char *all = mm_option_actions_to_string(MM_ACTION_ALL);
  g_assert_cmpstr(all, ==,
                  "add-headers|change-body|add-rcpt|delete-rcpt|change-headers|quarantine|"
                  "change-from|add-rcpt-with-args|set-symlist");
  g_autofree char *none = mm_option_actions_to_string(0);
  g_assert_cmpstr(none, ==, "none");
  g_assert_cmpstr(mm_option_stage_name(MM_MACRO_STAGE_END_OF_HEADER), ==, "end-of-header");
  g_assert_null(mm_option_stage_name(MM_MACRO_STAGE_COUNT));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/option/from-reply", test_from_reply);
  for (gsize i = 0; i < G_N_ELEMENTS(error_cases); i++)
    g_test_add_data_func(error_cases[i].path, &error_cases[i], test_error);
  g_test_add_func("/option/not-negotiate", test_not_negotiate);
  g_test_add_func("/option/max-data-length", test_max_data_length);
  g_test_add_func("/option/names", test_names);
  return g_test_run();
}
