/* SPDX-License-Identifier: GPL-3.0-or-later */
/* children.h: the child milters of one MTA session: fan each step out to the children that
 * take part, merge their replies into one answer, and run the message through them in order. */
#pragma once

#include <glib.h>

#include "body-spool.h"
#include "command.h"
#include "config.h"
#include "macros.h"
#include "option.h"
#include "status.h"

typedef struct MmChildren MmChildren;

/* What the children did to the message, for the MTA at end of message. */
typedef struct {
  GPtrArray *header_operations;   /* MmHeaderOperation*, in the order to send; may be empty */
  guint n_original_headers;       /* headers the MTA sent, before the operations */
  MmBodySpool *body;              /* the new body, or NULL when no child replaced it */
  const char *change_from;        /* new envelope sender, or NULL */
  const char *change_from_args;   /* its ESMTP arguments, or NULL */
  const char *quarantine_reason;  /* or NULL */
} MmMessageEdits;

typedef struct {
  /* The merged answer to the MTA's negotiation. */
  void (*negotiated)(gpointer user_data, const MmOption *reply);
  /* The merged answer to the step in progress (every step but negotiate and end of message). */
  void (*replied)(gpointer user_data, MmStatus status, const char *reply_code);
  /* A child added or deleted a recipient (passed on at once, during end of message). */
  void (*recipient_added)(gpointer user_data, const char *address, const char *args);
  void (*recipient_deleted)(gpointer user_data, const char *address);
  /* A child is still busy with the end of message. */
  void (*progressed)(gpointer user_data);
  /* The end of message is done: send EDITS (meaningful for continue/accept), then STATUS. */
  void (*message_ended)(gpointer user_data, const MmMessageEdits *edits, MmStatus status,
                        const char *reply_code);
} MmChildrenHandlers;

/* mm_children_new - the children of one MTA session, from CONFIG's enabled milters. MACROS is
 * the session's macro store (borrowed, outlives the children); TAG numbers the session in
 * log lines. */
MmChildren *mm_children_new(MmConfig *config, const MmMacros *macros, guint64 tag,
                            const MmChildrenHandlers *handlers, gpointer user_data);
/* mm_children_free - close every child without a word; NULL-safe */
void mm_children_free(MmChildren *children);

/* mm_children_negotiate - connect to every child at once and offer them the MTA's options */
void mm_children_negotiate(MmChildren *children, const MmOption *mta_offer);

/* mm_children_set_mta_option - what was finally agreed with the MTA (leading space, skip) */
void mm_children_set_mta_option(MmChildren *children, const MmOption *agreed);

/* mm_children_step - CONNECT, HELO, MAIL, RCPT, DATA or UNKNOWN: sent to the children that
 * take part, in parallel; DATA/LENGTH is the packet data as the MTA sent it */
void mm_children_step(MmChildren *children, const MmCommand *command, const guint8 *data,
                      gsize length);

/* The message phase: each child gets the message in turn (see message-phase.c). */
void mm_children_header(MmChildren *children, const char *name, const char *value);
void mm_children_end_of_header(MmChildren *children);
/* mm_children_body - a body chunk; DATA NULL with LENGTH > 0: the chunk whose bytes
 * mm_children_body_ahead took when they arrived */
void mm_children_body(MmChildren *children, const guint8 *data, gsize length);
/* mm_children_body_ahead - keep the bytes of a BODY that arrived while an earlier BODY is
 * still with the children, so that they are not copied twice; no child sees them before their
 * mm_children_body(children, NULL, LENGTH). FALSE: not kept (no message, a verdict, or past
 * the spool's memory): the caller keeps them and passes them as usual. */
gboolean mm_children_body_ahead(MmChildren *children, const guint8 *data, gsize length);
void mm_children_end_of_message(MmChildren *children, const guint8 *data, gsize length);

/* mm_children_abort - the MTA ended the transaction: children in it get ABORT */
void mm_children_abort(MmChildren *children);

/* mm_children_quit - the MTA session ends: every child gets QUIT */
void mm_children_quit(MmChildren *children);

