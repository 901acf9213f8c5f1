/* SPDX-License-Identifier: GPL-3.0-or-later */
/* macros.c: per-session macro store (see macros.h); the MTA's pairs are kept as the raw
 * NUL-separated bytes it sent, so storing them is one copy and forwarding them is another. */
#include "macros.h"

#include <string.h>

#include "protocol.h"

G_DEFINE_QUARK(mm-macros-error-quark, mm_macros_error)

/* Commands that carry macro stages, in session order. */
static const char macro_commands[] = "CHMRTLNBEU";
#define N_MACRO_COMMANDS (sizeof macro_commands - 1)
/* Index in macro_commands from which a new transaction forgets macros (RCPT on; the
 * MAIL macros arrive just before MAIL and must survive). */
#define FIRST_TRANSACTION_COMMAND 3

struct MmMacros {
  GByteArray *pairs[N_MACRO_COMMANDS]; /* NULL: never defined */
};

/* command_index - position of COMMAND in macro_commands, or -1 */
static int
command_index(char command)
{
  const char *found = command ? strchr(macro_commands, command) : NULL;
  return found ? (int)(found - macro_commands) : -1;
}

/* mm_macros_new - an empty store */
MmMacros *
mm_macros_new(void)
{
  return g_new0(MmMacros, 1);
}

/* mm_macros_free - NULL-safe */
void
mm_macros_free(MmMacros *macros)
{
  if (macros == NULL)
    return;
  for (gsize i = 0; i < N_MACRO_COMMANDS; i++) {
    if (macros->pairs[i])
      g_byte_array_unref(macros->pairs[i]);
  }
  g_free(macros);
}

/* mm_macros_set - replace the macros of COMMAND */
gboolean
mm_macros_set(MmMacros *macros, char command, const MmStrings *pairs, GError **error)
{
  int index = command_index(command);
  if (index < 0) {
    g_set_error(error, MM_MACROS_ERROR, MM_MACROS_ERROR_COMMAND,
                "macros for command '%c', which has no macro stage", command);
    return FALSE;
  }
  if (pairs->length > MM_MACROS_MAX_BYTES) {
    g_set_error(error, MM_MACROS_ERROR, MM_MACROS_ERROR_LIMIT,
                "%" G_GSIZE_FORMAT " bytes of macros for one command exceed the limit of %u",
                pairs->length, MM_MACROS_MAX_BYTES);
    return FALSE;
  }
  if (mm_strings_count(pairs) % 2 != 0) {
    g_set_error(error, MM_MACROS_ERROR, MM_MACROS_ERROR_ODD_PAIRS,
                "macros for command '%c' end with a name without a value", command);
    return FALSE;
  }
  if (macros->pairs[index] == NULL)
    macros->pairs[index] = g_byte_array_new();
  g_byte_array_set_size(macros->pairs[index], 0);
  if (pairs->length > 0)
    g_byte_array_append(macros->pairs[index], pairs->data, (guint)pairs->length);
  return TRUE;
}

/* mm_macros_clear_transaction - forget MAIL and later */
void
mm_macros_clear_transaction(MmMacros *macros)
{
  for (gsize i = FIRST_TRANSACTION_COMMAND; i < N_MACRO_COMMANDS; i++) {
    if (macros->pairs[i] && macro_commands[i] != MM_COMMAND_UNKNOWN)
      g_byte_array_set_size(macros->pairs[i], 0);
  }
}

/* mm_macros_clear - forget everything */
void
mm_macros_clear(MmMacros *macros)
{
  for (gsize i = 0; i < N_MACRO_COMMANDS; i++) {
    if (macros->pairs[i])
      g_byte_array_set_size(macros->pairs[i], 0);
  }
}

/* bare_name - NAME without its braces, as a pointer and a length */
static const char *
bare_name(const char *name, gsize *length)
{
  gsize n = strlen(name);
  if (n >= 2 && name[0] == '{' && name[n - 1] == '}') {
    *length = n - 2;
    return name + 1;
  }
  *length = n;
  return name;
}

/* mm_macros_name_equal - "{x}" and "x" name the same macro */
gboolean
mm_macros_name_equal(const char *a, const char *b)
{
  gsize a_length, b_length;
  const char *a_bare = bare_name(a, &a_length);
  const char *b_bare = bare_name(b, &b_length);
  return a_length == b_length && memcmp(a_bare, b_bare, a_length) == 0;
}

/* lookup_in - the value of NAME in one command's pairs */
static const char *
lookup_in(const GByteArray *stored, const char *name)
{
  if (stored == NULL)
    return NULL;
  MmStrings pairs = {stored->data, stored->len};
  const char *key, *value;
  while (mm_strings_next(&pairs, &key) && mm_strings_next(&pairs, &value)) {
    if (mm_macros_name_equal(key, name))
      return value;
  }
  return NULL;
}

/* mm_macros_lookup - NAME's value for COMMAND, or the latest definition when COMMAND is 0 */
const char *
mm_macros_lookup(const MmMacros *macros, char command, const char *name)
{
  if (command != 0) {
    int index = command_index(command);
    return index < 0 ? NULL : lookup_in(macros->pairs[index], name);
  }
  for (int i = (int)N_MACRO_COMMANDS - 1; i >= 0; i--) {
    const char *value = lookup_in(macros->pairs[i], name);
    if (value)
      return value;
  }
  return NULL;
}

/* is_requested - NAME appears in the space-separated REQUESTED list (braces optional on
 * either side); allocation-free, as it runs for every macro of every command */
static gboolean
is_requested(const char *requested, const char *name)
{
  gsize name_length;
  const char *bare = bare_name(name, &name_length);
  const char *p = requested;
  while (*p) {
    while (*p == ' ')
      p++;
    const char *end = p;
    while (*end && *end != ' ')
      end++;
    const char *word = p;
    gsize word_length = (gsize)(end - p);
    if (word_length >= 2 && word[0] == '{' && word[word_length - 1] == '}') {
      word++;
      word_length -= 2;
    }
    if (word_length > 0 && word_length == name_length && memcmp(word, bare, name_length) == 0)
      return TRUE;
    p = end;
  }
  return FALSE;
}

/* put_string - append a string with its NUL */
static void
put_string(GByteArray *out, const char *value)
{
  g_byte_array_append(out, (const guint8 *)value, (guint)strlen(value) + 1);
}

/* mm_macros_encode_for_child - a MACRO packet for COMMAND filtered for one child */
void
mm_macros_encode_for_child(const MmMacros *macros, char command, const char *requested,
                           GHashTable *overrides, GByteArray *out)
{
  int index = command_index(command);
  const GByteArray *stored = index < 0 ? NULL : macros->pairs[index];
  gboolean has_overrides = overrides && g_hash_table_size(overrides) > 0;
  if (!has_overrides && requested == NULL) {
    /* The common case: forward what the MTA sent, as it sent it. */
    if (stored == NULL || stored->len == 0)
      return;
    MmStrings pairs = {stored->data, stored->len};
    mm_command_encode_macro_pairs(out, command, &pairs);
    return;
  }
  guint start = out->len;
  const guint8 header[5] = {0, 0, 0, 0, (guint8)MM_COMMAND_MACRO};
  g_byte_array_append(out, header, sizeof header);
  g_byte_array_append(out, (const guint8 *)&command, 1);
  guint n_written = 0;
  if (stored) {
    MmStrings pairs = {stored->data, stored->len};
    const char *key, *value;
    while (mm_strings_next(&pairs, &key) && mm_strings_next(&pairs, &value)) {
      if (requested && !is_requested(requested, key))
        continue;
      if (has_overrides && g_hash_table_contains(overrides, key))
        continue;
      put_string(out, key);
      put_string(out, value);
      n_written++;
    }
  }
  if (has_overrides) {
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, overrides);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
      put_string(out, key);
      put_string(out, value ? value : "");
      n_written++;
    }
  }
  if (n_written == 0) {
    g_byte_array_set_size(out, start);
    return;
  }
  guint32 length = out->len - start - 4;
  out->data[start] = (guint8)(length >> 24);
  out->data[start + 1] = (guint8)(length >> 16);
  out->data[start + 2] = (guint8)(length >> 8);
  out->data[start + 3] = (guint8)length;
}
