/* SPDX-License-Identifier: GPL-3.0-or-later */
/* codec-test.h: helpers shared by the codec unit tests: packet bytes as hex, and framing one
 * encoded packet back into its code and data. */
#pragma once

#include <glib.h>

/* mm_test_hex - OUT's bytes as lowercase hex (free with g_free) */
char *mm_test_hex(const GByteArray *out);

/* mm_test_frame - OUT holds exactly one whole packet of at most MAX data bytes: its parts */
void mm_test_frame(const GByteArray *out, gsize max, char *code, const guint8 **data,
                   gsize *length);
