/* SPDX-License-Identifier: GPL-3.0-or-later */
/* scenario.h: one parsed scenario file (configuration, scripted children, the MTA's script
 * and its expectations) and the scripted child milters that play it, for run-scenarios.c. */
#pragma once

#include <glib.h>

#include "protocol.h"
#include "status.h"

/* A child milter as the scenario defines it ("child NAME key=value ..."). */
typedef struct {
  char *name;
  guint32 version;        /* 0: answer with the offered version */
  guint32 actions;        /* what it asks for; all offered when !actions_set */
  gboolean actions_set;
  guint32 steps;          /* what it asks for, masked by the offer */
  char *macro_requests[MM_MACRO_STAGE_COUNT];
  MmStatus fallback_status;
  gboolean evaluation_mode;
  double reading_timeout;
  double end_of_message_timeout;
  double connection_timeout;
  double writing_timeout;
  gboolean listening;     /* FALSE: nobody listens on its socket */
  gboolean enabled;
  gboolean has_spec;      /* FALSE: no connection_spec in the configuration */
} ScnChild;

/* "on CHILD COMMAND[:N] ACTION ...": what a child does on the N-th (0: every) COMMAND. */
typedef struct {
  guint line;
  char *child;
  char *command;          /* a command name as in scn_command_from_name */
  guint occurrence;
  char *action;           /* the rest of the line */
} ScnRule;

/* One line of the script (mta, expect, expect-child, expect-message, expect-log). */
typedef struct {
  guint line;
  char *text;
} ScnLine;

typedef struct {
  char *path;
  GPtrArray *settings;    /* char* "key value" for config lines */
  GPtrArray *children;    /* ScnChild* in configuration order */
  GPtrArray *rules;       /* ScnRule* in file order */
  GPtrArray *script;      /* ScnLine* in file order */
} Scenario;

/* scn_scenario_load - parse the file at PATH; the error names the line */
Scenario *scn_scenario_load(const char *path, GError **error);
void scn_scenario_free(Scenario *scenario);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Scenario, scn_scenario_free)

/* scn_command_from_name - the command code for "connect", "rcpt", "eom", ...; 0 if none */
char scn_command_from_name(const char *name);
/* scn_command_to_name - the scenario name of a command code ("eoh") */
const char *scn_command_to_name(char code);
/* scn_parse_flags - "a|b|c" (or "a,b", "all", "none") into action (ACTIONS) or step flags */
gboolean scn_parse_flags(const char *text, gboolean actions, guint32 *flags, GError **error);
/* scn_escape - TEXT made visible: backslash escapes for controls, a space at either end */
char *scn_escape(const char *text, gssize length);

/* ---- the MTA's message and its replies (mta-message.c) ---------------------------- */

typedef struct _MmReply MmReply;
typedef struct ScnMtaMessage ScnMtaMessage;

ScnMtaMessage *scn_mta_message_new(void);
void scn_mta_message_free(ScnMtaMessage *message);
/* scn_mta_message_reset - a new transaction from SENDER: no headers, body or recipients */
void scn_mta_message_reset(ScnMtaMessage *message, const char *sender);
/* scn_mta_message_add_header - a header at POSITION (past the end appends) */
void scn_mta_message_add_header(ScnMtaMessage *message, guint position, const char *name,
                                const char *value);
void scn_mta_message_append_body(ScnMtaMessage *message, const char *text,
                                 gboolean end_of_message);
void scn_mta_message_add_recipient(ScnMtaMessage *message, const char *address);
/* scn_mta_message_apply - an edit from the proxy, applied as Postfix does */
void scn_mta_message_apply(ScnMtaMessage *message, const MmReply *reply);
/* scn_mta_message_describe - headers, body, body-size, recipients, sender or quarantine
 * as expect-message writes them; NULL for an unknown WHAT */
char *scn_mta_message_describe(ScnMtaMessage *message, const char *what);
/* scn_reply_render - a reply as an expect line writes it */
char *scn_reply_render(const MmReply *reply);

/* ---- scripted child milters (fake-child.c) --------------------------------------- */

typedef struct ScnFakeChild ScnFakeChild;

/* scn_fake_child_new - listen on DIRECTORY/NAME.sock (unless SPEC says not to) and play
 * RULES; the returned spec string is what the proxy connects to */
ScnFakeChild *scn_fake_child_new(const ScnChild *spec, GPtrArray *rules,
                                 const char *directory, GError **error);
void scn_fake_child_free(ScnFakeChild *child);
const char *scn_fake_child_get_spec(const ScnFakeChild *child);
const char *scn_fake_child_get_name(const ScnFakeChild *child);
/* scn_fake_child_check - an expect-child line's WHAT and ARGS; FALSE with a message */
gboolean scn_fake_child_check(ScnFakeChild *child, const char *what, const char *args,
                              GError **error);
