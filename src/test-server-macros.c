/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-server-macros.c: milter-test-server's MACRO packets: configured macros, later names
 * replacing earlier ones, filtered to what the milter asked for. */
#include "build-config.h"

#include <string.h>

#include "command.h"
#include "macros.h"
#include "test-server-macros.h"

/* macro_requested - whether the milter's request list REQUESTS names NAME */
static gboolean
macro_requested(const char *requests, const char *name)
{
  g_auto(GStrv) names = g_strsplit_set(requests, " ,", -1);
  for (gsize i = 0; names[i] != NULL; i++) {
    if (names[i][0] != '\0' && mm_macros_name_equal(names[i], name))
      return TRUE;
  }
  return FALSE;
}

/* add_macro - NAME=VALUE into the parallel arrays, replacing an earlier NAME */
static void
add_macro(GPtrArray *names, GPtrArray *values, const char *name, const char *value)
{
  for (guint i = 0; i < names->len; i++) {
    if (strcmp(names->pdata[i], name) == 0) {
      values->pdata[i] = (gpointer)value;
      return;
    }
  }
  g_ptr_array_add(names, (gpointer)name);
  g_ptr_array_add(values, (gpointer)value);
}

/* test_server_macros_encode - the MACRO packet for COMMAND */
void
test_server_macros_encode(GByteArray *out, char command, const GPtrArray *configured,
                          const char *extra_name, const char *extra_value, const char *requests)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new();
  g_autoptr(GPtrArray) values = g_ptr_array_new();
  for (guint i = 0; configured != NULL && i + 1 < configured->len; i += 2)
    add_macro(names, values, configured->pdata[i], configured->pdata[i + 1]);
  if (extra_name != NULL)
    add_macro(names, values, extra_name, extra_value);
  g_autoptr(GPtrArray) sent_names = g_ptr_array_new();
  g_autoptr(GPtrArray) sent_values = g_ptr_array_new();
  for (guint i = 0; i < names->len; i++) {
    if (requests != NULL && !macro_requested(requests, names->pdata[i]))
      continue;
    g_ptr_array_add(sent_names, names->pdata[i]);
    g_ptr_array_add(sent_values, values->pdata[i]);
  }
  if (sent_names->len == 0)
    return;
  mm_command_encode_macro(out, command, (const char *const *)sent_names->pdata,
                          (const char *const *)sent_values->pdata, sent_names->len);
}
