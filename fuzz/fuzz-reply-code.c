/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-reply-code.c: libFuzzer target for SMTP reply code validation: any bytes must give
 * either a consistent code or an error, never a crash. */
#include <stdlib.h>

#include "reply-code.h"

/* LLVMFuzzerTestOneInput - parse DATA as a child's `y` text */
int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  MmReplyCode code;
  GError *error = NULL;
  if (mm_reply_code_parse_length((const char *)data, size, &code, &error)) {
    /* What was accepted must be what the checks promise. */
    if (code.code < 400 || code.code > 599 || code.n_lines == 0 ||
        code.n_lines > MM_REPLY_CODE_MAX_LINES ||
        (code.has_extended && (code.extended_class != code.code / 100 ||
                               code.extended_subject > MM_REPLY_CODE_EXTENDED_PART_MAX ||
                               code.extended_detail > MM_REPLY_CODE_EXTENDED_PART_MAX)) ||
        !mm_reply_code_matches(&code, code.status))
      abort();
  } else {
    if (error == NULL || error->message == NULL)
      abort();
    g_error_free(error);
  }
  return 0;
}
