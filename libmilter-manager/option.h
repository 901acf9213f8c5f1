/* SPDX-License-Identifier: GPL-3.0-or-later */
/* option.h: the negotiated options of one milter connection: version, action and step
 * flags, the macro request lists per stage, the data size they imply, and names for logs. */
#pragma once

#include <glib.h>

#include "protocol.h"

typedef struct _MmReply MmReply; /* reply.h */

#define MM_OPTION_ERROR (mm_option_error_quark())
GQuark mm_option_error_quark(void);

typedef enum {
  MM_OPTION_ERROR_TRUNCATED,   /* a macro request list ends before its stage or names */
  MM_OPTION_ERROR_MISSING_NUL, /* a macro request list has no NUL terminator */
  MM_OPTION_ERROR_UNKNOWN,     /* the reply is not a negotiate reply */
  MM_OPTION_ERROR_BAD_VALUE,   /* a stage >= MM_MACRO_STAGE_COUNT, or listed twice */
} MmOptionError;

typedef struct _MmOption {
  guint32 version;
  guint32 actions; /* MM_ACTION_* */
  guint32 steps;   /* MM_STEP_* */
  /* space-separated macro names the milter wants at each stage, or NULL for "no request"
   * (the MTA's own list applies); "" asks for no macros at all */
  char *macro_requests[MM_MACRO_STAGE_COUNT];
} MmOption;

/* mm_option_init - all zero, no macro requests */
void mm_option_init(MmOption *option);

/* mm_option_clear - free the macro request lists and re-initialise; NULL-safe */
void mm_option_clear(MmOption *option);

/* mm_option_copy - make the initialised DEST a deep copy of SRC */
void mm_option_copy(MmOption *dest, const MmOption *src);

/* mm_option_set_macro_requests - replace STAGE's list with a copy of MACROS (NULL: none) */
void mm_option_set_macro_requests(MmOption *option, MmMacroStage stage, const char *macros);

/* mm_option_from_reply - the options of a decoded negotiate REPLY, macro request lists
 * included. OPTION must be initialised; it is replaced only on success. */
gboolean mm_option_from_reply(const MmReply *reply, MmOption *option, GError **error);

/* mm_option_max_data_length - the largest packet data STEPS allow (MDS flags) */
gsize mm_option_max_data_length(guint32 steps);

/* mm_option_steps_to_string - step flags as names for logs, "no-connect|nr-header|skip";
 * unnamed bits appear in hex, 0 is "none" */
char *mm_option_steps_to_string(guint32 steps);

/* mm_option_actions_to_string - action flags as names for logs, "add-headers|quarantine" */
char *mm_option_actions_to_string(guint32 actions);

/* mm_option_stage_name - "connect", "helo", ... for a macro stage; NULL when out of range */
const char *mm_option_stage_name(guint32 stage);
