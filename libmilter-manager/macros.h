/* SPDX-License-Identifier: GPL-3.0-or-later */
/* macros.h: the macros an MTA defined for each command of one session, kept as received,
 * and their re-encoding for one child: filtered to its requested list, with its overrides. */
#pragma once

#include <glib.h>

#include "command.h"

#define MM_MACROS_ERROR (mm_macros_error_quark())
GQuark mm_macros_error_quark(void);

typedef enum {
  MM_MACROS_ERROR_LIMIT,     /* more macro bytes for one command than MM_MACROS_MAX_BYTES */
  MM_MACROS_ERROR_COMMAND,   /* macros for a command that has no macro stage */
  MM_MACROS_ERROR_ODD_PAIRS, /* a name without a value */
} MmMacrosError;

/* Bound on one command's macro data; Postfix sends well under 4 KiB. */
#define MM_MACROS_MAX_BYTES (64u * 1024u)

typedef struct MmMacros MmMacros;

MmMacros *mm_macros_new(void);
void mm_macros_free(MmMacros *macros);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmMacros, mm_macros_free)

/* mm_macros_set - replace the macros of COMMAND (C H M R T L N B E U) with PAIRS */
gboolean mm_macros_set(MmMacros *macros, char command, const MmStrings *pairs, GError **error);

/* mm_macros_clear_transaction - forget the macros of RCPT and later commands (new transaction) */
void mm_macros_clear_transaction(MmMacros *macros);

/* mm_macros_clear - forget everything (connection reuse) */
void mm_macros_clear(MmMacros *macros);

/* mm_macros_lookup - the value of NAME ("{auth_type}" or "auth_type") as defined for
 * COMMAND, or for any earlier command when COMMAND is 0; NULL if undefined */
const char *mm_macros_lookup(const MmMacros *macros, char command, const char *name);

/* mm_macros_encode_for_child - append a MACRO packet for COMMAND to OUT: only the names in
 * REQUESTED (space-separated; NULL = all the MTA sent), then OVERRIDES (name -> value, may be
 * NULL) replacing or adding. Appends nothing when that leaves no macro. */
void mm_macros_encode_for_child(const MmMacros *macros, char command, const char *requested,
                                GHashTable *overrides, GByteArray *out);

/* mm_macros_name_equal - "{x}" and "x" name the same macro */
gboolean mm_macros_name_equal(const char *a, const char *b);
