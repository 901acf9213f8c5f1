/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-header-list.c: libFuzzer target for header edits and the final diff: the input is
 * a script of original headers and child edits; replaying the diff must give the final
 * list exactly. */
#include <stdlib.h>

#include "header-list.h"

/* Names that collide (case, prefixes) so that occurrence indexes get exercised. */
static const char *const names[] = { "A", "a", "B", "Subject", "X-Y", "x-y" };
static const char *const values[] = { "", "1", "2", " lead", "v\r\n\tfolded" };

/* Input reader. */
typedef struct {
  const guint8 *data;
  size_t size;
} Reader;

/* next_byte - the next input byte, 0 past the end */
static guint8
next_byte(Reader *reader)
{
  if (reader->size == 0)
    return 0;
  reader->size--;
  return *reader->data++;
}

/* next_string - a table name or value, or now and then raw input bytes (to reach the
 * validation paths); raw strings are stored in POOL */
static const char *
next_string(Reader *reader, const char *const *table, guint n, GPtrArray *pool)
{
  guint8 choice = next_byte(reader);
  if (choice < 240)
    return table[choice % n];
  guint8 length = next_byte(reader) % 8;
  char *raw = g_malloc0(length + 1u);
  for (guint8 i = 0; i < length; i++)
    raw[i] = (char)next_byte(reader);
  g_ptr_array_add(pool, raw);
  return raw;
}

/* LLVMFuzzerTestOneInput - run one script */
int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  Reader reader = { data, size };
  g_autoptr(GPtrArray) pool = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(MmHeaderList) original = mm_header_list_new();
  guint n_originals = next_byte(&reader) % 16;
  for (guint i = 0; i < n_originals; i++) {
    const char *name = next_string(&reader, names, G_N_ELEMENTS(names), pool);
    const char *value = next_string(&reader, values, G_N_ELEMENTS(values), pool);
    GError *error = NULL;
    if (!mm_header_list_append_original(original, name, value, &error))
      g_error_free(error);
  }
  g_autoptr(MmHeaderList) final = mm_header_list_copy(original);
  while (reader.size > 0) {
    guint8 command = next_byte(&reader) % 3;
    const char *name = next_string(&reader, names, G_N_ELEMENTS(names), pool);
    guint32 index = next_byte(&reader);
    if (index == 255)
      index = G_MAXUINT32;
    const char *value = next_string(&reader, values, G_N_ELEMENTS(values), pool);
    GError *error = NULL;
    gboolean ok = command == 0   ? mm_header_list_add(final, name, value, &error)
                  : command == 1 ? mm_header_list_insert(final, index, name, value, &error)
                                 : mm_header_list_change(final, name, index, value, &error);
    if (!ok)
      g_error_free(error);
  }

  GPtrArray *operations = NULL;
  if (!mm_header_list_diff(original, final, &operations, NULL))
    abort();
  g_autoptr(MmHeaderList) replay = mm_header_list_copy(original);
  for (guint i = 0; i < operations->len; i++) {
    if (!mm_header_list_apply_operation(replay, g_ptr_array_index(operations, i), NULL))
      abort();
  }
  g_ptr_array_unref(operations);
  if (!mm_header_list_equal(replay, final))
    abort();
  return 0;
}
