/* SPDX-License-Identifier: GPL-3.0-or-later */
/* children-private.h: the state shared by children.c (negotiation and parallel steps) and
 * message-phase.c (the sequential message pipeline); not installed. */
#pragma once

#include "children.h"
#include "client-session.h"
#include "header-list.h"

typedef struct MmMessage MmMessage;

/* One child milter in one MTA session. */
typedef struct {
  MmChildren *children;
  const MmMilterConfig *milter;
  MmClientSession *session;
  guint index;                 /* configuration order */
  gboolean negotiated;
  gboolean gone;               /* quit, failed, or out for the rest of the SMTP session */
  gboolean in_transaction;     /* takes part in the current message */
  gboolean has_accepted_rcpt;  /* accepted at least one recipient of the message */
  gboolean waiting;            /* a reply to the current step is due */
  MmStatus step_status;        /* its (evaluation-mapped) answer to the current step */
  char *step_reply_code;

  /* Message phase: how far the child got through the recorded message. */
  guint header_cursor;
  gboolean end_of_header_sent;
  guint64 body_cursor;
  gboolean body_skipped;
  gboolean end_of_message_sent;
  /* Its end-of-message edits, applied when it finishes well, dropped otherwise. */
  MmHeaderList *staged_headers;
  MmBodySpool *staged_body;
  char *staged_change_from;
  char *staged_change_from_args;
  char *staged_quarantine;
} MmChild;

struct MmChildren {
  MmConfig *config;
  const MmMacros *macros;
  const MmChildrenHandlers *handlers;
  gpointer user_data;
  GPtrArray *all;              /* MmChild*, configuration order */
  MmOption mta_offer;
  MmOption mta_option;         /* agreed with the MTA */
  guint n_negotiating;
  gboolean negotiation_done;
  MmStatus session_status;     /* a negotiate-time fallback that answers everything */
  gboolean discard_session;    /* a child failed before any message with fallback discard */
  guint idle_source;          /* negotiation answered from the main loop */
  guint n_failed;

  /* The parallel step in progress. */
  char step;                   /* command code, 0 when idle */
  guint n_waiting;
  gboolean dispatching;        /* inside the send loop: replies are counted, not finished */
  gboolean rcpt_rejected;      /* RCPT of a recipient the MTA already rejected (RCPT_REJ) */

  MmMessage *message;          /* the message phase, or NULL */
  gboolean transaction_started; /* MAIL was seen for the current transaction */
  MmStatus transaction_verdict; /* the message already got this final answer */
};

/* children.c, used by message-phase.c */
MmStatus mm_child_evaluated_status(const MmChild *child, MmStatus status);
void mm_child_log_failure(const MmChild *child, const GError *error, MmStatus fallback);
void mm_children_abort_transaction(MmChildren *children);

/* message-phase.c, used by children.c */
void mm_message_free(MmMessage *message);
void mm_message_child_replied(MmChildren *children, MmChild *child, MmStatus status,
                              const char *reply_code);
void mm_message_child_modified(MmChildren *children, MmChild *child, const MmReply *reply);
void mm_message_child_progressed(MmChildren *children, MmChild *child);
void mm_message_child_failed(MmChildren *children, MmChild *child);
void mm_message_child_reset(MmChild *child);
