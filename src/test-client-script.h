/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-client-script.h: what milter-test-client is told to do: per-stage answers, reply
 * codes, delays, hangs and closes, end-of-message edits, and its negotiate reply. */
#pragma once

#include <glib.h>

#include "option.h"
#include "status.h"

#define TEST_CLIENT_SCRIPT_ERROR (test_client_script_error_quark())
GQuark test_client_script_error_quark(void);

typedef enum {
  TEST_CLIENT_SCRIPT_ERROR_SYNTAX, /* the option's value is not of its form */
  TEST_CLIENT_SCRIPT_ERROR_NAME,   /* an unknown stage, status or flag name */
  TEST_CLIENT_SCRIPT_ERROR_RANGE,  /* a number out of its bounds */
} TestClientScriptError;

/* Bounds on scripted values. */
#define TEST_CLIENT_MAX_DELAY_MS (3600u * 1000u)
#define TEST_CLIENT_MAX_PROGRESS 1000u

/* The commands a script can name. Counts of RCPT, HEADER and BODY restart with each MAIL;
 * the others count over the connection. */
typedef enum {
  TEST_CLIENT_STAGE_NEGOTIATE,
  TEST_CLIENT_STAGE_CONNECT,
  TEST_CLIENT_STAGE_HELO,
  TEST_CLIENT_STAGE_MAIL,
  TEST_CLIENT_STAGE_RCPT,
  TEST_CLIENT_STAGE_DATA,
  TEST_CLIENT_STAGE_HEADER,
  TEST_CLIENT_STAGE_END_OF_HEADER,
  TEST_CLIENT_STAGE_BODY,
  TEST_CLIENT_STAGE_END_OF_MESSAGE,
  TEST_CLIENT_STAGE_UNKNOWN,
  TEST_CLIENT_STAGE_COUNT,
} TestClientStage;

typedef enum {
  TEST_CLIENT_RULE_ACTION,     /* answer with STATUS */
  TEST_CLIENT_RULE_REPLY_CODE, /* answer with the SMTP reply TEXT */
  TEST_CLIENT_RULE_DELAY,      /* answer after DELAY_MS */
  TEST_CLIENT_RULE_CLOSE,      /* close the connection instead of answering */
  TEST_CLIENT_RULE_NO_REPLY,   /* never answer */
} TestClientRuleKind;

typedef struct {
  TestClientRuleKind kind;
  TestClientStage stage;
  guint nth; /* 1-based occurrence it applies to; 0 = every one */
  MmStatus status;
  char *text;
  guint delay_ms;
} TestClientRule;

typedef struct TestClientScript TestClientScript;

TestClientScript *test_client_script_new(void);
void test_client_script_free(TestClientScript *script);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestClientScript, test_client_script_free)

/* test_client_stage_parse - "connect", "mail" (or "envelope-from"), "rcpt"
 * ("envelope-recipient"), "eoh", "eom", ...; FALSE for an unknown name */
gboolean test_client_stage_parse(const char *name, TestClientStage *stage);

/* test_client_stage_name - the name used in output */
const char *test_client_stage_name(TestClientStage stage);

/* test_client_script_add_rule - one --action/--reply-code/--delay ("STAGE[@N]=VALUE") or
 * --close-at/--no-reply-at ("STAGE[@N]") */
gboolean test_client_script_add_rule(TestClientScript *script, TestClientRuleKind kind,
                                     const char *text, GError **error);

/* test_client_script_find - the last rule of KIND for the NTH occurrence of STAGE */
const TestClientRule *test_client_script_find(const TestClientScript *script,
                                              TestClientRuleKind kind, TestClientStage stage,
                                              guint nth);

/* The end-of-message edits, sent in the order given. */
typedef enum {
  TEST_CLIENT_EDIT_ADD_HEADER,       /* NAME:VALUE */
  TEST_CLIENT_EDIT_INSERT_HEADER,    /* INDEX:NAME:VALUE */
  TEST_CLIENT_EDIT_CHANGE_HEADER,    /* NAME:INDEX:VALUE */
  TEST_CLIENT_EDIT_DELETE_HEADER,    /* NAME:INDEX */
  TEST_CLIENT_EDIT_REPLACE_BODY,     /* TEXT */
  TEST_CLIENT_EDIT_ADD_RECIPIENT,    /* ADDRESS[:ARGS] */
  TEST_CLIENT_EDIT_DELETE_RECIPIENT, /* ADDRESS */
  TEST_CLIENT_EDIT_CHANGE_FROM,      /* ADDRESS[:ARGS] */
  TEST_CLIENT_EDIT_QUARANTINE,       /* REASON */
} TestClientEditKind;

/* test_client_script_add_edit - one edit option's value */
gboolean test_client_script_add_edit(TestClientScript *script, TestClientEditKind kind,
                                     const char *text, GError **error);

/* test_client_script_set_progress - send N progress packets before the end-of-message
 * answer */
gboolean test_client_script_set_progress(TestClientScript *script, const char *text,
                                         GError **error);

/* test_client_script_encode_edits - the edit packets and progress packets */
void test_client_script_encode_edits(const TestClientScript *script, GByteArray *out);

/* Negotiation. FLAGS are names joined by "|" or ",": "no-body|nr-header"; "none"; for
 * actions also "all". */
gboolean test_client_script_set_steps(TestClientScript *script, const char *flags,
                                      GError **error);
gboolean test_client_script_set_actions(TestClientScript *script, const char *flags,
                                        GError **error);
gboolean test_client_script_set_version(TestClientScript *script, int version, GError **error);

/* test_client_script_add_symlist - "STAGE:MACROS" with a macro stage name (connect, helo,
 * mail, rcpt, data, end-of-message, end-of-header) and space-separated names */
gboolean test_client_script_add_symlist(TestClientScript *script, const char *text,
                                        GError **error);

/* test_client_script_negotiate - our answer to the MTA's VERSION, ACTIONS and STEPS, in
 * OPTION (initialised by the caller); the steps asked for are limited to those offered */
void test_client_script_negotiate(const TestClientScript *script, guint32 version,
                                  guint32 actions, guint32 steps, MmOption *option);
