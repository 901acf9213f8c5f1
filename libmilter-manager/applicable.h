/* SPDX-License-Identifier: GPL-3.0-or-later */
/* applicable.h: the boundary between the proxy and the applicable conditions: which stages
 * have stoppers, and asking whether a child applies; the engine (Ruby) lives behind it. */
#pragma once

#include <glib.h>

#include "status.h"

/* Stages a stopper can be defined for (define_connect_stopper ... define_end_of_message_stopper). */
typedef enum {
  MM_STOPPER_CONNECT,
  MM_STOPPER_HELO,
  MM_STOPPER_ENVELOPE_FROM,
  MM_STOPPER_ENVELOPE_RECIPIENT,
  MM_STOPPER_DATA,
  MM_STOPPER_HEADER,
  MM_STOPPER_END_OF_HEADER,
  MM_STOPPER_BODY,
  MM_STOPPER_END_OF_MESSAGE,
  MM_STOPPER_COUNT
} MmStopperStage;

/* The stopper block's arguments; only the fields of the stage are set. */
typedef struct {
  const char *host;        /* connect: host name (or "[addr]") */
  char family;             /* connect: MM_FAMILY_* */
  const char *address;     /* connect: client address text ("" for unknown) */
  guint16 port;            /* connect */
  const char *fqdn;        /* helo */
  const char *envelope;    /* envelope-from / envelope-recipient address */
  const char *header_name; /* header */
  const char *header_value;
  const guint8 *chunk;     /* body */
  gsize chunk_length;
} MmStopperArgs;

/* The MTA session as conditions see it; implemented by the proxy, valid during a stop call. */
typedef struct MmApplicableSession MmApplicableSession;
typedef struct {
  /* A macro the MTA sent, "{auth_type}" or "auth_type"; NULL if undefined. */
  const char *(*lookup_macro)(MmApplicableSession *session, const char *name);
  /* Send CHILD the macro NAME=VALUE with its next commands (context["name"] = value). */
  void (*set_macro)(MmApplicableSession *session, const char *child, const char *name,
                    const char *value);
  /* The last status CHILD answered in this session (reject?, accept?, ...); NOT_CHANGED if none. */
  MmStatus (*child_status)(MmApplicableSession *session, const char *child);
  /* CHILD is out of the session (quit, failed, or never started). */
  gboolean (*child_quitted)(MmApplicableSession *session, const char *child);
  /* MTA sessions in progress in this process. */
  guint (*n_processing_sessions)(MmApplicableSession *session);
} MmApplicableSessionClass;

typedef enum {
  MM_APPLICABLE_APPLY,   /* every condition lets the child take part */
  MM_APPLICABLE_STOP,    /* some condition stops it at this stage */
  MM_APPLICABLE_PENDING, /* the answer comes later through the done callback */
} MmApplicableAnswer;

/* Called from the main loop with the answer of a PENDING stop (STOP TRUE: stop the child). */
typedef void (*MmApplicableDoneFunc)(gpointer user_data, gboolean stop);

/* The engine, implemented by the binding; every pointer may be called only from the main loop. */
typedef struct {
  /* Stages (1 << MmStopperStage) at which some condition of MILTER has a stopper; cheap: the
   * proxy calls into the engine only at those stages. */
  guint32 (*stopper_stages)(gpointer engine, const char *milter_name);
  /* Per-MTA-session state (Ruby contexts, mail_transaction_shelf); NULL-safe end. */
  gpointer (*session_begin)(gpointer engine, MmApplicableSession *session,
                            const MmApplicableSessionClass *klass);
  void (*transaction_end)(gpointer engine, gpointer session_state);
  void (*session_end)(gpointer engine, gpointer session_state);
  /* Run MILTER's stoppers for STAGE. A stopper that raises is logged (condition name, file,
   * line) and counts as "does not stop". May answer PENDING (e.g. waiting for DNS) and call
   * DONE later; the session stays valid until then or until session_end, which cancels it. */
  MmApplicableAnswer (*stop)(gpointer engine, gpointer session_state, const char *milter_name,
                             MmStopperStage stage, const MmStopperArgs *args,
                             MmApplicableDoneFunc done, gpointer done_data);
  /* Release the engine (when its configuration is freed). */
  void (*free)(gpointer engine);
} MmApplicableEngineClass;

typedef struct {
  const MmApplicableEngineClass *klass;
  gpointer engine;
} MmApplicableEngine;

/* mm_stopper_stage_name - "connect", "envelope-from", ... for logs */
const char *mm_stopper_stage_name(MmStopperStage stage);
