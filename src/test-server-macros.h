/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-server-macros.h: the MACRO packet milter-test-server sends before a command: its
 * configured macros, filtered to the milter's request list for the stage. */
#pragma once

#include <glib.h>

/* test_server_macros_encode - append a MACRO packet for COMMAND to OUT: CONFIGURED (name and
 * value alternating; a later name replaces an earlier one), then EXTRA_NAME=EXTRA_VALUE when
 * EXTRA_NAME is not NULL; only the names in REQUESTS (space-separated) when it is not NULL.
 * Appends nothing when no macro is left. */
void test_server_macros_encode(GByteArray *out, char command, const GPtrArray *configured,
                               const char *extra_name, const char *extra_value,
                               const char *requests);
