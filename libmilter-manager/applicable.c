/* SPDX-License-Identifier: GPL-3.0-or-later */
/* applicable.c: names of the stopper stages for logs; the engine itself is the binding's
 * (see applicable.h). */
#include "applicable.h"

static const char *const stage_names[MM_STOPPER_COUNT] = {
  [MM_STOPPER_CONNECT] = "connect",
  [MM_STOPPER_HELO] = "helo",
  [MM_STOPPER_ENVELOPE_FROM] = "envelope-from",
  [MM_STOPPER_ENVELOPE_RECIPIENT] = "envelope-recipient",
  [MM_STOPPER_DATA] = "data",
  [MM_STOPPER_HEADER] = "header",
  [MM_STOPPER_END_OF_HEADER] = "end-of-header",
  [MM_STOPPER_BODY] = "body",
  [MM_STOPPER_END_OF_MESSAGE] = "end-of-message",
};

/* mm_stopper_stage_name - the stage's name for logs */
const char *
mm_stopper_stage_name(MmStopperStage stage)
{
  return (guint)stage < MM_STOPPER_COUNT ? stage_names[stage] : "unknown";
}
