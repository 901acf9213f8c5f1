/* SPDX-License-Identifier: GPL-3.0-or-later */
/* status.h: a milter's verdict at one step, ordered by merge precedence, with the
 * names used in configuration files and logs ("accept", "temporary-failure", ...). */
#pragma once

#include <glib.h>

/* The numeric order is the merge precedence: a larger value beats a smaller one.
 * NOT_CHANGED is "no child has answered yet"; ACCEPT is the weakest real answer, so
 * the MTA sees accept only when every child accepted. */
typedef enum {
  MM_STATUS_NOT_CHANGED = 0,
  MM_STATUS_ACCEPT,
  MM_STATUS_SKIP,
  MM_STATUS_CONTINUE,
  MM_STATUS_TEMPORARY_FAILURE,
  MM_STATUS_REJECT,
  MM_STATUS_DISCARD,
} MmStatus;

/* mm_status_merge - the stronger of two statuses */
static inline MmStatus
mm_status_merge(MmStatus a, MmStatus b)
{
  return a > b ? a : b;
}

/* mm_status_to_string - the configuration and log name: "accept", "temporary-failure", ... */
const char *mm_status_to_string(MmStatus status);

/* mm_status_from_string - parse a name; "_" and "-" are interchangeable, case ignored.
 * Returns FALSE for an unknown name and leaves *status untouched. */
gboolean mm_status_from_string(const char *name, MmStatus *status);

/* mm_status_is_fallback - TRUE for the values a fallback_status may take
 * (accept, reject, temporary-failure, discard). */
gboolean mm_status_is_fallback(MmStatus status);

/* mm_status_to_reply_code - the reply byte a simple status is sent as ('a', 'c', ...),
 * or 0 for NOT_CHANGED. */
char mm_status_to_reply_code(MmStatus status);
