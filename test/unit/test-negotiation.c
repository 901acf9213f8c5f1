/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-negotiation.c: unit tests for the negotiate merge (negotiation.h): each flag's
 * rule, zero, one and many children, version caps, and who receives and answers what. */
#include "negotiation.h"

#include <string.h>

/* What Postfix 3.x offers: version 6, all nine actions, every v6 step but MDS. */
#define POSTFIX_ACTIONS MM_ACTION_ALL
#define POSTFIX_STEPS 0x001fffffu

/* test_offer - the offer to the children copies the MTA's, version capped */
static void
test_offer(void)
{
  static const struct {
    guint32 mta_version, expected;
  } versions[] = { { 6, 6 }, { 2, 2 }, { 4, 4 }, { 7, 6 }, { G_MAXUINT32, 6 } };
  for (guint i = 0; i < G_N_ELEMENTS(versions); i++) {
    MmOption mta = { versions[i].mta_version, POSTFIX_ACTIONS, POSTFIX_STEPS, { NULL } };
    MmOption offer;
    memset(&offer, 0xa5, sizeof(offer));
    mm_negotiation_offer_for_children(&mta, &offer);
    g_assert_cmpuint(offer.version, ==, versions[i].expected);
    g_assert_cmphex(offer.actions, ==, POSTFIX_ACTIONS);
    g_assert_cmphex(offer.steps, ==, POSTFIX_STEPS);
    for (guint stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++)
      g_assert_null(offer.macro_requests[stage]);
  }
}

/* A child's reply checked against the offer. */
typedef struct {
  guint32 version, actions, steps;
  gint error; /* -1: accepted */
  const char *says;
} CheckCase;

static const CheckCase check_cases[] = {
  { 6, MM_ACTION_ADD_HEADERS, MM_STEP_NO_CONNECT | MM_STEP_NR_HELO, -1, NULL },
  { 2, 0, 0, -1, NULL },
  { 6, MM_ACTION_ALL & ~MM_ACTION_QUARANTINE, 0, -1, NULL },
  { 7, 0, 0, MM_NEGOTIATION_ERROR_VERSION, "newer" },
  { 1, 0, 0, MM_NEGOTIATION_ERROR_VERSION, "oldest" },
  { 0, 0, 0, MM_NEGOTIATION_ERROR_VERSION, "version 0" },
  { 6, MM_ACTION_QUARANTINE, 0, MM_NEGOTIATION_ERROR_ACTIONS, "0x20 (quarantine)" },
  { 6, MM_ACTION_QUARANTINE | MM_ACTION_ADD_HEADERS | 0x1000u, 0, MM_NEGOTIATION_ERROR_ACTIONS,
    "0x1020 (quarantine unknown)" },
  { 6, 0, MM_STEP_SKIP, MM_NEGOTIATION_ERROR_STEPS, "0x400 (skip)" },
  { 6, 0, MM_STEP_MDS_1M | MM_STEP_NO_HELO, MM_NEGOTIATION_ERROR_STEPS, "mds-1m" },
  { 6, 0, 0x00400000u, MM_NEGOTIATION_ERROR_STEPS, "unknown" },
};

/* test_check_child - versions, actions and steps beyond the offer are refused */
static void
test_check_child(void)
{
  /* The offer lacks QUARANTINE, SKIP and the MDS flags. */
  const MmOption offer = { 6, MM_ACTION_ALL & ~MM_ACTION_QUARANTINE,
                           POSTFIX_STEPS & ~MM_STEP_SKIP, { NULL } };
  for (guint i = 0; i < G_N_ELEMENTS(check_cases); i++) {
    const CheckCase *c = &check_cases[i];
    const MmOption child = { c->version, c->actions, c->steps, { NULL } };
    g_autoptr(GError) error = NULL;
    gboolean ok = mm_negotiation_check_child(&offer, &child, &error);
    if (c->error < 0) {
      g_assert_no_error(error);
      g_assert_true(ok);
      continue;
    }
    g_assert_false(ok);
    g_assert_error(error, MM_NEGOTIATION_ERROR, c->error);
    if (strstr(error->message, c->says) == NULL)
      g_error("case %u: message \"%s\" lacks \"%s\"", i, error->message, c->says);
  }
}

#define CHILDREN_MAX 3

/* An MTA offer, the children's replies, and the expected reply to the MTA. */
typedef struct {
  const char *path;
  MmOption mta;
  guint n_children;
  MmOption children[CHILDREN_MAX];
  guint32 required;
  guint32 version, actions, steps;
} MergeCase;

static const MergeCase merge_cases[] = {
  { "/negotiation/merge/no-children", { 6, POSTFIX_ACTIONS, POSTFIX_STEPS }, 0, { { 0 } }, 0,
    6, POSTFIX_ACTIONS, MM_STEP_SKIP | MM_STEP_RCPT_REJECTED | MM_STEP_HEADER_LEADING_SPACE },
  { "/negotiation/merge/no-children-version-cap",
    { 9, MM_ACTION_ADD_HEADERS, MM_STEP_NO_CONNECT | MM_STEP_NR_BODY | MM_STEP_SKIP | 0x00400000u },
    0, { { 0 } }, 0, 6, MM_ACTION_ADD_HEADERS, MM_STEP_SKIP },
  { "/negotiation/merge/one-child", { 6, POSTFIX_ACTIONS, POSTFIX_STEPS }, 1,
    { { 6, MM_ACTION_ADD_HEADERS, MM_STEP_NO_CONNECT | MM_STEP_NO_HELO | MM_STEP_NR_HEADER } },
    0, 6, MM_ACTION_ADD_HEADERS,
    MM_STEP_NO_CONNECT | MM_STEP_NO_HELO | MM_STEP_NR_CONNECT | MM_STEP_NR_HELO |
      MM_STEP_NR_HEADER },
  { "/negotiation/merge/required-event-kept", { 6, POSTFIX_ACTIONS, POSTFIX_STEPS }, 1,
    { { 6, 0, MM_STEP_NO_CONNECT | MM_STEP_NO_HELO } }, MM_STEP_NO_HELO, 6, 0,
    MM_STEP_NO_CONNECT | MM_STEP_NR_CONNECT | MM_STEP_NR_HELO },
  { "/negotiation/merge/no-event-needs-every-child", { 6, POSTFIX_ACTIONS, POSTFIX_STEPS }, 2,
    { { 6, 0, MM_STEP_NO_CONNECT | MM_STEP_NO_BODY }, { 6, 0, MM_STEP_NO_BODY } }, 0, 6, 0,
    MM_STEP_NO_BODY | MM_STEP_NR_BODY },
  { "/negotiation/merge/no-reply-needs-every-child", { 6, POSTFIX_ACTIONS, POSTFIX_STEPS }, 3,
    { { 6, 0, MM_STEP_NR_RCPT | MM_STEP_NR_MAIL }, { 6, 0, MM_STEP_NR_RCPT },
      { 6, 0, MM_STEP_NR_RCPT | MM_STEP_NR_UNKNOWN } },
    0, 6, 0, MM_STEP_NR_RCPT },
  { "/negotiation/merge/no-reply-not-offered", { 6, POSTFIX_ACTIONS, MM_STEP_NO_EVENT_MASK }, 1,
    { { 6, 0, MM_STEP_NO_HELO | MM_STEP_NR_RCPT } }, 0, 6, 0, MM_STEP_NO_HELO },
  { "/negotiation/merge/old-child-lacks-data-unknown", { 6, POSTFIX_ACTIONS, POSTFIX_STEPS }, 1,
    { { 2, MM_ACTION_ADD_HEADERS, 0 } }, 0, 6, MM_ACTION_ADD_HEADERS,
    MM_STEP_NO_DATA | MM_STEP_NO_UNKNOWN | MM_STEP_NR_DATA | MM_STEP_NR_UNKNOWN },
  { "/negotiation/merge/v3-child-lacks-data", { 6, POSTFIX_ACTIONS, POSTFIX_STEPS }, 1,
    { { 3, 0, 0 } }, MM_STEP_NO_DATA, 6, 0, MM_STEP_NR_DATA },
  { "/negotiation/merge/old-and-new-child", { 6, POSTFIX_ACTIONS, POSTFIX_STEPS }, 2,
    { { 2, 0, 0 }, { 6, 0, MM_STEP_NO_UNKNOWN } }, 0, 6, 0,
    MM_STEP_NO_UNKNOWN | MM_STEP_NR_UNKNOWN },
  { "/negotiation/merge/old-mta", { 2, MM_ACTION_ADD_HEADERS | MM_ACTION_CHANGE_BODY, 0x7fu }, 1,
    { { 2, MM_ACTION_ADD_HEADERS, MM_STEP_NO_HELO } }, 0, 2, MM_ACTION_ADD_HEADERS,
    MM_STEP_NO_HELO },
  { "/negotiation/merge/actions-union-within-offer",
    { 6, MM_ACTION_ADD_HEADERS | MM_ACTION_CHANGE_BODY, POSTFIX_STEPS }, 2,
    { { 6, MM_ACTION_ADD_HEADERS, 0 }, { 6, MM_ACTION_CHANGE_BODY | MM_ACTION_QUARANTINE, 0 } },
    0, 6, MM_ACTION_ADD_HEADERS | MM_ACTION_CHANGE_BODY, 0 },
  { "/negotiation/merge/extensions-if-some-child", { 6, POSTFIX_ACTIONS, POSTFIX_STEPS }, 3,
    { { 6, 0, MM_STEP_SKIP }, { 6, 0, MM_STEP_HEADER_LEADING_SPACE },
      { 6, 0, MM_STEP_RCPT_REJECTED } },
    0, 6, 0, MM_STEP_SKIP | MM_STEP_HEADER_LEADING_SPACE | MM_STEP_RCPT_REJECTED },
  { "/negotiation/merge/extensions-need-offer",
    { 6, POSTFIX_ACTIONS, POSTFIX_STEPS & ~(MM_STEP_SKIP | MM_STEP_HEADER_LEADING_SPACE) }, 1,
    { { 6, 0, MM_STEP_SKIP | MM_STEP_HEADER_LEADING_SPACE | MM_STEP_RCPT_REJECTED } }, 0, 6, 0,
    MM_STEP_RCPT_REJECTED },
  { "/negotiation/merge/data-size", { 6, 0, POSTFIX_STEPS | MM_STEP_MDS_256K | MM_STEP_MDS_1M },
    2, { { 6, 0, MM_STEP_MDS_1M }, { 6, 0, 0 } }, 0, 6, 0, MM_STEP_MDS_1M },
  { "/negotiation/merge/data-size-need-offer", { 6, 0, POSTFIX_STEPS }, 1,
    { { 6, 0, MM_STEP_MDS_256K } }, 0, 6, 0, 0 },
  { "/negotiation/merge/unknown-steps-dropped", { 6, 0, 0xffffffffu }, 1,
    { { 6, 0, 0x00400000u | MM_STEP_SKIP } }, 0, 6, 0, MM_STEP_SKIP },
  { "/negotiation/merge/all-events-declined", { 6, POSTFIX_ACTIONS, POSTFIX_STEPS }, 2,
    { { 6, 0, MM_STEP_NO_EVENT_MASK }, { 6, 0, MM_STEP_NO_EVENT_MASK | MM_STEP_NR_HELO } },
    MM_STEP_NO_CONNECT, 6, 0,
    (MM_STEP_NO_EVENT_MASK & ~MM_STEP_NO_CONNECT) | MM_STEP_NO_REPLY_MASK },
};

/* clear_macros - free the merged macro request lists */
static void
clear_macros(MmOption *option)
{
  for (guint stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++)
    g_clear_pointer(&option->macro_requests[stage], g_free);
}

/* test_merge - one merge case */
static void
test_merge(gconstpointer data)
{
  const MergeCase *c = data;
  const MmOption *children[CHILDREN_MAX];
  for (guint i = 0; i < c->n_children; i++)
    children[i] = &c->children[i];
  MmOption reply;
  memset(&reply, 0xa5, sizeof(reply));
  mm_negotiation_merge(&c->mta, children, c->n_children, c->required, &reply);
  g_assert_cmpuint(reply.version, ==, c->version);
  g_assert_cmphex(reply.actions, ==, c->actions);
  g_assert_cmphex(reply.steps, ==, c->steps);
  for (guint stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++)
    g_assert_null(reply.macro_requests[stage]);
}

/* test_merge_macros_one_list - one child's list alone comes out as the merge makes it:
 * names split by single spaces, each once (the shortcut for a plain list agrees) */
static void
test_merge_macros_one_list(void)
{
  static const struct {
    const char *list;
    const char *merged;
  } cases[] = {
    { "j {daemon_name}", "j {daemon_name}" },
    { "i", "i" },
    { "a b a", "a b" },
    { "a  b", "a b" },
    { " a", "a" },
    { "a ", "a" },
    { "a\tb", "a b" },
    { "", NULL },
    { "  ", NULL },
  };
  const MmOption mta = { 6, POSTFIX_ACTIONS, POSTFIX_STEPS, { NULL } };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    MmOption a = { 6, 0, 0, { NULL } };
    MmOption b = { 6, 0, 0, { NULL } };
    a.macro_requests[MM_MACRO_STAGE_HELO] = (char *)cases[i].list;
    const MmOption *children[] = { &b, &a };
    MmOption reply;
    mm_negotiation_merge(&mta, children, G_N_ELEMENTS(children), 0, &reply);
    g_assert_cmpstr(reply.macro_requests[MM_MACRO_STAGE_HELO], ==, cases[i].merged);
    clear_macros(&reply);
  }
}

/* test_merge_macros - macro requests unioned per stage, duplicates removed */
static void
test_merge_macros(void)
{
  MmOption a = { 6, 0, 0, { NULL } };
  MmOption b = { 6, 0, 0, { NULL } };
  MmOption c = { 6, 0, 0, { NULL } };
  a.macro_requests[MM_MACRO_STAGE_CONNECT] = (char *)"j {daemon_name}";
  a.macro_requests[MM_MACRO_STAGE_MAIL] = (char *)"{mail_addr}";
  b.macro_requests[MM_MACRO_STAGE_CONNECT] = (char *)"{daemon_name}  v j";
  b.macro_requests[MM_MACRO_STAGE_END_OF_HEADER] = (char *)"i";
  c.macro_requests[MM_MACRO_STAGE_RCPT] = (char *)"";
  const MmOption *children[] = { &a, &b, &c };
  const MmOption mta = { 6, POSTFIX_ACTIONS, POSTFIX_STEPS, { NULL } };
  MmOption reply;
  mm_negotiation_merge(&mta, children, G_N_ELEMENTS(children), 0, &reply);
  g_assert_cmpstr(reply.macro_requests[MM_MACRO_STAGE_CONNECT], ==, "j {daemon_name} v");
  g_assert_cmpstr(reply.macro_requests[MM_MACRO_STAGE_HELO], ==, NULL);
  g_assert_cmpstr(reply.macro_requests[MM_MACRO_STAGE_MAIL], ==, "{mail_addr}");
  g_assert_cmpstr(reply.macro_requests[MM_MACRO_STAGE_RCPT], ==, NULL);
  g_assert_cmpstr(reply.macro_requests[MM_MACRO_STAGE_END_OF_HEADER], ==, "i");
  clear_macros(&reply);

  mm_negotiation_merge(&mta, children, 0, 0, &reply);
  for (guint stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++)
    g_assert_null(reply.macro_requests[stage]);
}

/* Whether a command reaches a child. */
typedef struct {
  guint32 version, steps;
  char command;
  gboolean receives;
} ReceiveCase;

static const ReceiveCase receive_cases[] = {
  { 6, 0, MM_COMMAND_CONNECT, TRUE },
  { 6, MM_STEP_NO_CONNECT, MM_COMMAND_CONNECT, FALSE },
  { 6, MM_STEP_NO_HELO, MM_COMMAND_HELO, FALSE },
  { 6, MM_STEP_NO_HELO, MM_COMMAND_MAIL, TRUE },
  { 6, MM_STEP_NO_MAIL, MM_COMMAND_MAIL, FALSE },
  { 6, MM_STEP_NO_RCPT, MM_COMMAND_RCPT, FALSE },
  { 6, 0, MM_COMMAND_DATA, TRUE },
  { 4, 0, MM_COMMAND_DATA, TRUE },
  { 3, 0, MM_COMMAND_DATA, FALSE },
  { 2, 0, MM_COMMAND_DATA, FALSE },
  { 6, MM_STEP_NO_DATA, MM_COMMAND_DATA, FALSE },
  { 3, 0, MM_COMMAND_UNKNOWN, TRUE },
  { 2, 0, MM_COMMAND_UNKNOWN, FALSE },
  { 6, MM_STEP_NO_UNKNOWN, MM_COMMAND_UNKNOWN, FALSE },
  { 6, MM_STEP_NO_HEADERS, MM_COMMAND_HEADER, FALSE },
  { 2, 0, MM_COMMAND_HEADER, TRUE },
  { 6, MM_STEP_NO_END_OF_HEADER, MM_COMMAND_END_OF_HEADER, FALSE },
  { 6, MM_STEP_NO_BODY, MM_COMMAND_BODY, FALSE },
  { 6, MM_STEP_NO_BODY, MM_COMMAND_END_OF_MESSAGE, TRUE },
  { 6, MM_STEP_NO_EVENT_MASK, MM_COMMAND_ABORT, TRUE },
  { 6, MM_STEP_NO_EVENT_MASK, MM_COMMAND_MACRO, TRUE },
  { 6, MM_STEP_NO_EVENT_MASK, MM_COMMAND_QUIT, TRUE },
  { 2, 0, MM_COMMAND_NEGOTIATE, TRUE },
  { 6, 0, MM_COMMAND_QUIT_NEW_CONNECTION, TRUE },
  { 4, 0, MM_COMMAND_QUIT_NEW_CONNECTION, FALSE },
  { 6, MM_STEP_NR_CONNECT, MM_COMMAND_CONNECT, TRUE },
  { 6, 0, 'Z', FALSE },
};

/* test_child_receives - the table of who receives what */
static void
test_child_receives(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(receive_cases); i++) {
    const ReceiveCase *c = &receive_cases[i];
    if (mm_negotiation_child_receives(c->version, c->steps, c->command) != c->receives)
      g_error("case %u: v%u steps 0x%x '%c' should %sbe received", i, c->version, c->steps,
              c->command, c->receives ? "" : "not ");
  }
}

/* Whether a child answers a command. */
typedef struct {
  guint32 steps;
  char command;
  gboolean replies;
} ReplyCase;

static const ReplyCase reply_cases[] = {
  { 0, MM_COMMAND_CONNECT, TRUE },
  { MM_STEP_NR_CONNECT, MM_COMMAND_CONNECT, FALSE },
  { MM_STEP_NR_HELO, MM_COMMAND_HELO, FALSE },
  { MM_STEP_NR_HELO, MM_COMMAND_MAIL, TRUE },
  { MM_STEP_NR_MAIL, MM_COMMAND_MAIL, FALSE },
  { MM_STEP_NR_RCPT, MM_COMMAND_RCPT, FALSE },
  { MM_STEP_NR_DATA, MM_COMMAND_DATA, FALSE },
  { MM_STEP_NR_HEADER, MM_COMMAND_HEADER, FALSE },
  { MM_STEP_NR_END_OF_HEADER, MM_COMMAND_END_OF_HEADER, FALSE },
  { MM_STEP_NR_BODY, MM_COMMAND_BODY, FALSE },
  { MM_STEP_NR_UNKNOWN, MM_COMMAND_UNKNOWN, FALSE },
  { MM_STEP_NO_REPLY_MASK, MM_COMMAND_END_OF_MESSAGE, TRUE },
  { MM_STEP_NO_REPLY_MASK, MM_COMMAND_NEGOTIATE, TRUE },
  { MM_STEP_NO_CONNECT, MM_COMMAND_CONNECT, TRUE },
  { 0, MM_COMMAND_ABORT, FALSE },
  { 0, MM_COMMAND_MACRO, FALSE },
  { 0, MM_COMMAND_QUIT, FALSE },
  { 0, MM_COMMAND_QUIT_NEW_CONNECTION, FALSE },
  { 0, 'Z', FALSE },
};

/* test_child_replies - the table of what is answered */
static void
test_child_replies(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(reply_cases); i++) {
    const ReplyCase *c = &reply_cases[i];
    if (mm_negotiation_child_replies(c->steps, c->command) != c->replies)
      g_error("case %u: steps 0x%x '%c' should %sbe answered", i, c->steps, c->command,
              c->replies ? "" : "not ");
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/negotiation/offer", test_offer);
  g_test_add_func("/negotiation/check-child", test_check_child);
  for (guint i = 0; i < G_N_ELEMENTS(merge_cases); i++)
    g_test_add_data_func(merge_cases[i].path, &merge_cases[i], test_merge);
  g_test_add_func("/negotiation/merge/macros", test_merge_macros);
  g_test_add_func("/negotiation/merge/macros-one-list", test_merge_macros_one_list);
  g_test_add_func("/negotiation/child-receives", test_child_receives);
  g_test_add_func("/negotiation/child-replies", test_child_replies);
  return g_test_run();
}
