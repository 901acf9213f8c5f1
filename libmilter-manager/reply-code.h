/* SPDX-License-Identifier: GPL-3.0-or-later */
/* reply-code.h: validation of a child's SMTP reply text (`y` packets: "550 5.7.1 text",
 * possibly multi-line) before the proxy passes it to the MTA. */
#pragma once

#include <glib.h>

#include "status.h"

#define MM_REPLY_CODE_ERROR (mm_reply_code_error_quark())
GQuark mm_reply_code_error_quark(void);

typedef enum {
  MM_REPLY_CODE_ERROR_SYNTAX,   /* not "NNN text" / "NNN-text" lines */
  MM_REPLY_CODE_ERROR_CODE,     /* a reply code outside 400-599, or lines that differ */
  MM_REPLY_CODE_ERROR_EXTENDED, /* a malformed extended code, or one of another class */
  MM_REPLY_CODE_ERROR_TEXT,     /* NUL, bare CR or LF in the text */
  MM_REPLY_CODE_ERROR_TOO_LONG, /* more lines or longer lines than the limits */
} MmReplyCodeError;

/* Limits: libmilter's smfi_setmlreply takes at most 32 lines; RFC 5321 4.5.3.1.5 bounds a
 * reply line to 512 octets with its CRLF. */
#define MM_REPLY_CODE_MAX_LINES 32u
#define MM_REPLY_CODE_MAX_LINE_LENGTH 510u
/* RFC 3463: subject and detail have 1 to 3 digits. */
#define MM_REPLY_CODE_EXTENDED_PART_MAX 999u

typedef struct {
  guint code;             /* 400-599, the same on every line */
  gboolean has_extended;  /* the first line carries "class.subject.detail" */
  guint extended_class;   /* 4 or 5, the code's first digit */
  guint extended_subject; /* < 1000 */
  guint extended_detail;  /* < 1000 */
  guint n_lines;
  MmStatus status;        /* MM_STATUS_TEMPORARY_FAILURE (4xx) or MM_STATUS_REJECT (5xx) */
} MmReplyCode;

/* mm_reply_code_parse - validate TEXT ("NNN x.y.z text", "NNN text", lines joined by CRLF,
 * every line but the last with "NNN-"). *OUT is set only on success; it does not point
 * into TEXT. */
gboolean mm_reply_code_parse(const char *text, MmReplyCode *out, GError **error);

/* mm_reply_code_parse_length - the same for LENGTH bytes of DATA, which may hold a NUL
 * (an error) and need not be terminated. */
gboolean mm_reply_code_parse_length(const char *data, gsize length, MmReplyCode *out,
                                    GError **error);

/* mm_reply_code_matches - whether CODE may stand for the merged STATUS: a 4xx code for
 * temporary-failure, a 5xx code for reject. FALSE for a NULL code. */
gboolean mm_reply_code_matches(const MmReplyCode *code, MmStatus status);
