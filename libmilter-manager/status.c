/* SPDX-License-Identifier: GPL-3.0-or-later */
/* status.c: names of verdicts and their parsing; the precedence itself is the enum's
 * order (see status.h). */
#include "status.h"

#include "protocol.h"

static const char *const status_names[] = {
  [MM_STATUS_NOT_CHANGED] = "not-changed",
  [MM_STATUS_ACCEPT] = "accept",
  [MM_STATUS_SKIP] = "skip",
  [MM_STATUS_CONTINUE] = "continue",
  [MM_STATUS_TEMPORARY_FAILURE] = "temporary-failure",
  [MM_STATUS_REJECT] = "reject",
  [MM_STATUS_DISCARD] = "discard",
};

/* mm_status_to_string - the configuration and log name */
const char *
mm_status_to_string(MmStatus status)
{
  if ((guint)status >= G_N_ELEMENTS(status_names))
    return "unknown";
  return status_names[status];
}

/* mm_status_from_string - parse a name, "_" and "-" alike */
gboolean
mm_status_from_string(const char *name, MmStatus *status)
{
  if (name == NULL)
    return FALSE;
  g_autofree char *normalized = g_ascii_strdown(name, -1);
  g_strdelimit(normalized, "_", '-');
  for (guint i = 0; i < G_N_ELEMENTS(status_names); i++) {
    if (g_str_equal(normalized, status_names[i])) {
      *status = (MmStatus)i;
      return TRUE;
    }
  }
  return FALSE;
}

/* mm_status_is_fallback - values a fallback_status may take */
gboolean
mm_status_is_fallback(MmStatus status)
{
  return status == MM_STATUS_ACCEPT || status == MM_STATUS_REJECT ||
         status == MM_STATUS_TEMPORARY_FAILURE || status == MM_STATUS_DISCARD;
}

/* mm_status_to_reply_code - the reply byte for a simple status */
char
mm_status_to_reply_code(MmStatus status)
{
  switch (status) {
  case MM_STATUS_ACCEPT: return MM_REPLY_ACCEPT;
  case MM_STATUS_SKIP: return MM_REPLY_SKIP;
  case MM_STATUS_CONTINUE: return MM_REPLY_CONTINUE;
  case MM_STATUS_TEMPORARY_FAILURE: return MM_REPLY_TEMPORARY_FAILURE;
  case MM_STATUS_REJECT: return MM_REPLY_REJECT;
  case MM_STATUS_DISCARD: return MM_REPLY_DISCARD;
  case MM_STATUS_NOT_CHANGED: break;
  }
  return 0;
}
