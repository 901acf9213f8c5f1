/* SPDX-License-Identifier: GPL-3.0-or-later */
/* children-private.h: the state shared by children.c (negotiation and parallel steps) and
 * message-phase.c (the message pipeline, sequential or parallel); not installed. */
#pragma once

#include "applicable.h"
#include "children.h"
#include "client-session.h"
#include "header-list.h"
#include "monitor.h"

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
  MmStatus last_status;        /* its last real verdict in this session (conditions ask) */
  char last_command;           /* the step of that verdict, for the statistics line */
  gboolean failed;             /* it failed (timeout, protocol error, connection) */
  gboolean stopped;            /* an applicable condition stopped it */
  gboolean pending_stop;       /* its conditions answer later (DNS) */
  guint32 stopper_stages;      /* 1 << MmStopperStage where its conditions have stoppers */
  GHashTable *macro_overrides; /* macros its conditions set for it: "{name}" -> value */
  MmMonitorChild *monitor;     /* its live statistics */

  /* Message phase: how far the child got through the recorded message. */
  guint header_cursor;
  gboolean end_of_header_sent;
  guint64 body_cursor;
  gboolean body_skipped;
  gboolean end_of_message_sent;
  char message_item;           /* the message item it is working on (L N B E) */
  /* Its end-of-message edits, applied when it finishes well, dropped otherwise. */
  MmHeaderList *staged_headers;
  MmBodySpool *staged_body;
  char *staged_change_from;
  char *staged_change_from_args;
  char *staged_quarantine;
  /* Parallel message phase: its header edits in the order it sent them (MmHeaderEdit*, see
   * message-parallel.c), replayed at the merge since edits of a list copy cannot be merged;
   * and whether it finished well, so that its edits wait for the merge in configuration order. */
  GPtrArray *staged_header_edits;
  gboolean edits_kept;
} MmChild;

struct MmChildren {
  MmConfig *config;
  guint64 tag;                 /* the MTA session's number, for log lines */
  gint64 started_at;           /* monotonic microseconds, for elapsed times */
  gpointer applicable_state;   /* the conditions' per-session state, or NULL */
  GByteArray *step_packet;     /* the step's packet data, kept for children answered later */
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
  guint deferred_source;       /* negotiation answered from the main loop */
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
void mm_children_abort_transaction(MmChildren *children);

/* children-applicable.c, used by children.c and message-phase.c */
void mm_children_applicable_begin(MmChildren *children);
void mm_children_applicable_transaction_end(MmChildren *children);
void mm_children_applicable_end(MmChildren *children);
MmApplicableAnswer mm_child_applies(MmChild *child, MmStopperStage stage,
                                    const MmStopperArgs *args, MmApplicableDoneFunc done);
void mm_stopper_args_from_command(const MmCommand *command, MmStopperArgs *args,
                                  MmStopperStage *stage);

/* children.c, used by message-phase.c */
void mm_child_note_reply(MmChild *child, char command, MmStatus status);

/* message-phase.c, used by children.c */
void mm_message_free(MmMessage *message);
void mm_message_child_replied(MmChildren *children, MmChild *child, MmStatus status,
                              const char *reply_code);
void mm_message_child_modified(MmChildren *children, MmChild *child, const MmReply *reply);
void mm_message_child_progressed(MmChildren *children, MmChild *child);
void mm_message_child_failed(MmChildren *children, MmChild *child);
void mm_message_child_reset(MmChild *child);

/* message-parallel.c, used by message-phase.c */
void mm_message_parallel_record_header_edit(MmChild *child, char code, const char *name,
                                            guint32 index, const char *value);
void mm_message_parallel_replay_header_edits(const MmChild *child, MmHeaderList *headers);
