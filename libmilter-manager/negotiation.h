/* SPDX-License-Identifier: GPL-3.0-or-later */
/* negotiation.h: merging the children's negotiate replies into the one the MTA gets, and
 * which commands each child receives and answers given what it negotiated. */
#pragma once

#include <glib.h>

#include "option.h"
#include "protocol.h"

/* Uses MmOption from option.h: { guint32 version, actions, steps;
 * char *macro_requests[MM_MACRO_STAGE_COUNT]; } (space-separated lists or NULL). */

#define MM_NEGOTIATION_ERROR (mm_negotiation_error_quark())
GQuark mm_negotiation_error_quark(void);

typedef enum {
  MM_NEGOTIATION_ERROR_VERSION, /* newer than offered, or older than any there is */
  MM_NEGOTIATION_ERROR_ACTIONS, /* actions the offer lacks */
  MM_NEGOTIATION_ERROR_STEPS,   /* steps the offer lacks */
} MmNegotiationError;

/* Versions below these lack the command (Sendmail 8.13 added UNKNOWN and DATA). */
#define MM_NEGOTIATION_VERSION_UNKNOWN 3u
#define MM_NEGOTIATION_VERSION_DATA 4u
#define MM_NEGOTIATION_VERSION_QUIT_NEW_CONNECTION 6u

/* mm_negotiation_offer_for_children - what every child is offered: the MTA's actions and
 * steps, the version capped at MM_PROTOCOL_VERSION_MAX, no macro requests. */
void mm_negotiation_offer_for_children(const MmOption *mta_offer, MmOption *offer);

/* mm_negotiation_check_child - refuse a CHILD_REPLY with a version above the OFFER's (or
 * below MM_PROTOCOL_VERSION_MIN), or with actions or steps the OFFER lacks; the message
 * names the flags. */
gboolean mm_negotiation_check_child(const MmOption *offer, const MmOption *child_reply,
                                    GError **error);

/* mm_negotiation_merge - the reply to the MTA from the replies of the N_CHILDREN children
 * that negotiated (each already passed mm_negotiation_check_child):
 *  - version: min(MTA, MM_PROTOCOL_VERSION_MAX);
 *  - actions: union of the children's, within the MTA's offer;
 *  - NO_<event>: only if every child does without the event (sets the flag, or its
 *    version lacks the command), the event is not in REQUIRED_EVENTS (a mask of
 *    MM_STEP_NO_* bits for events some applicable condition needs) and the MTA offered it;
 *  - NR_<event>: only if no child replies to it (sets NR_, or does not receive the
 *    event) and the MTA offered it;
 *  - SKIP, RCPT_REJECTED, HEADER_LEADING_SPACE, MDS_*: if the MTA offered and some
 *    child asked;
 *  - macro requests: union per stage, duplicates removed, first-seen order; NULL for a
 *    stage no child listed.
 * With no children: the MTA's offer minus every NO_* and NR_* flag (the proxy answers
 * every event itself).
 * REPLY is overwritten; its macro_requests are newly allocated strings (g_free) or NULL. */
void mm_negotiation_merge(const MmOption *mta_offer, const MmOption *const *children,
                          guint n_children, guint32 required_events, MmOption *reply);

/* mm_negotiation_child_receives - whether COMMAND (MM_COMMAND_*) is sent to a child that
 * negotiated CHILD_VERSION and CHILD_STEPS: not when it set the event's NO_ flag, DATA
 * only from version 4, UNKNOWN from 3, QUIT_NEW_CONNECTION from 6; ABORT, MACRO,
 * END_OF_MESSAGE, NEGOTIATE and QUIT always; an unknown command never. */
gboolean mm_negotiation_child_receives(guint32 child_version, guint32 child_steps, char command);

/* mm_negotiation_child_replies - whether a child that negotiated CHILD_STEPS replies to
 * COMMAND: not to an event whose NR_ flag it set, never to ABORT, MACRO, QUIT or
 * QUIT_NEW_CONNECTION. */
gboolean mm_negotiation_child_replies(guint32 child_steps, char command);
