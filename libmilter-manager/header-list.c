/* SPDX-License-Identifier: GPL-3.0-or-later */
/* header-list.c: the header list edited by children at end of message, and the exact diff
 * (changes, inserts, deletes) that replays those edits on the MTA's copy of the headers. */
#include "header-list.h"

#include <string.h>

struct MmHeaderList {
  GPtrArray *headers; /* of MmHeader, each inside an Entry shared between copies */
  gsize bytes;        /* names and values, against MM_HEADER_LIST_MAX_BYTES */
  int next_origin;    /* origin of the next original header */
};

/* A header is immutable once made, so a copied list shares it (a change makes a new one)
 * and the diff recognises an unchanged header by its address. One allocation holds the
 * header and its HEADER packet, which carries the name and value the header points to: the
 * bytes every child gets, encoded once. */
typedef struct {
  MmHeader header; /* first: an MmHeader pointer is an Entry pointer */
  gint refs;
  guint32 packet_length;
  guint8 packet[]; /* length (4 bytes, network order), 'L', name, NUL, value, NUL */
} Entry;

G_DEFINE_QUARK(mm-header-list-error-quark, mm_header_list_error)

/* header_free - drop one reference to a header */
static void
header_free(gpointer data)
{
  Entry *entry = data;
  if (entry == NULL || --entry->refs > 0)
    return;
  g_free(entry);
}

/* header_ref - one more list holds HEADER */
static MmHeader *
header_ref(MmHeader *header)
{
  ((Entry *)header)->refs++;
  return header;
}

/* header_new - a header with copies of NAME and VALUE, its packet encoded */
static MmHeader *
header_new(const char *name, const char *value, int origin)
{
  gsize name_length = strlen(name);
  gsize value_length = strlen(value);
  /* The limits keep a header far below 4 GiB: the length fits the packet's prefix. */
  guint32 data_length = (guint32)(1 + name_length + 1 + value_length + 1);
  Entry *entry = g_malloc(sizeof(Entry) + 4 + data_length);
  entry->refs = 1;
  entry->packet_length = 4 + data_length;
  guint8 *p = entry->packet;
  p[0] = (guint8)(data_length >> 24);
  p[1] = (guint8)(data_length >> 16);
  p[2] = (guint8)(data_length >> 8);
  p[3] = (guint8)data_length;
  p[4] = 'L';
  entry->header.name = (char *)p + 5;
  memcpy(entry->header.name, name, name_length + 1);
  entry->header.value = entry->header.name + name_length + 1;
  memcpy(entry->header.value, value, value_length + 1);
  entry->header.origin = origin;
  return &entry->header;
}

/* mm_header_get_packet - the HEADER command carrying HEADER's name and value as they are */
const guint8 *
mm_header_get_packet(const MmHeader *header, gsize *length)
{
  const Entry *entry = (const Entry *)header;
  *length = entry->packet_length;
  return entry->packet;
}

/* header_bytes - what a header counts against MM_HEADER_LIST_MAX_BYTES */
static gsize
header_bytes(const char *name, const char *value)
{
  return strlen(name) + (value ? strlen(value) : 0);
}

/* mm_header_list_new - an empty list */
MmHeaderList *
mm_header_list_new(void)
{
  MmHeaderList *list = g_new0(MmHeaderList, 1);
  list->headers = g_ptr_array_new_with_free_func(header_free);
  return list;
}

/* mm_header_list_free - free the list and its headers */
void
mm_header_list_free(MmHeaderList *list)
{
  if (list == NULL)
    return;
  g_ptr_array_unref(list->headers);
  g_free(list);
}

/* mm_header_list_copy - a deep copy */
MmHeaderList *
mm_header_list_copy(const MmHeaderList *list)
{
  MmHeaderList *copy = g_new0(MmHeaderList, 1);
  copy->headers = g_ptr_array_new_full(list->headers->len, header_free);
  for (guint i = 0; i < list->headers->len; i++)
    g_ptr_array_add(copy->headers, header_ref(g_ptr_array_index(list->headers, i)));
  copy->bytes = list->bytes;
  copy->next_origin = list->next_origin;
  return copy;
}

/* mm_header_list_length - the number of headers */
guint
mm_header_list_length(const MmHeaderList *list)
{
  return list->headers->len;
}

/* mm_header_list_nth - the header at POSITION */
const MmHeader *
mm_header_list_nth(const MmHeaderList *list, guint position)
{
  if (position >= list->headers->len)
    return NULL;
  return g_ptr_array_index(list->headers, position);
}

/* check_name - a field name: non-empty, printable, no colon (RFC 5322 ftext); 8-bit bytes
 * are let through because MTAs pass them on */
static gboolean
check_name(const char *name, GError **error)
{
  if (name == NULL || name[0] == '\0') {
    g_set_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_INVALID_NAME,
                "header name is %s", name == NULL ? "missing" : "empty");
    return FALSE;
  }
  for (const char *p = name; *p != '\0'; p++) {
    guchar c = (guchar)*p;
    if (c == ':' || c == ' ' || c < 0x20 || c == 0x7f) {
      g_autofree char *escaped = g_strescape(name, NULL);
      g_set_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_INVALID_NAME,
                  "header name \"%s\" contains %s", escaped,
                  c == ':' ? "a colon" : c == ' ' ? "a space" : "a control character");
      return FALSE;
    }
  }
  return TRUE;
}

/* check_value - a value is required for add and insert */
static gboolean
check_value(const char *name, const char *value, GError **error)
{
  if (value == NULL) {
    g_set_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_INVALID_VALUE,
                "header \"%s\" has no value", name);
    return FALSE;
  }
  return TRUE;
}

/* check_index - an index no list can reach is a peer's mistake, not "append" */
static gboolean
check_index(const char *name, guint32 index, GError **error)
{
  if (index > MM_HEADER_LIST_MAX_HEADERS) {
    g_set_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_INVALID_INDEX,
                "header \"%s\": index %" G_GUINT32_FORMAT " is above the limit of %u headers",
                name, index, MM_HEADER_LIST_MAX_HEADERS);
    return FALSE;
  }
  return TRUE;
}

/* check_room - the list may grow by one header of ADDED bytes */
static gboolean
check_room(const MmHeaderList *list, const char *name, gsize added, GError **error)
{
  if (list->headers->len >= MM_HEADER_LIST_MAX_HEADERS) {
    g_set_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_TOO_LARGE,
                "header \"%s\": more than %u headers", name, MM_HEADER_LIST_MAX_HEADERS);
    return FALSE;
  }
  if (added > MM_HEADER_LIST_MAX_BYTES - list->bytes) {
    g_set_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_TOO_LARGE,
                "header \"%s\": headers larger than %u bytes", name, MM_HEADER_LIST_MAX_BYTES);
    return FALSE;
  }
  return TRUE;
}

/* insert_at - insert a validated header at POSITION (clamped to the end) */
static gboolean
insert_at(MmHeaderList *list, guint position, const char *name, const char *value, int origin,
          GError **error)
{
  gsize bytes = header_bytes(name, value);
  if (!check_room(list, name, bytes, error))
    return FALSE;
  position = MIN(position, list->headers->len);
  g_ptr_array_insert(list->headers, (gint)position, header_new(name, value, origin));
  list->bytes += bytes;
  return TRUE;
}

/* remove_at - remove the header at POSITION */
static void
remove_at(MmHeaderList *list, guint position)
{
  const MmHeader *header = g_ptr_array_index(list->headers, position);
  list->bytes -= header_bytes(header->name, header->value);
  g_ptr_array_remove_index(list->headers, position);
}

/* find_nth - position of the INDEX-th (1-based) header named NAME, without case, or -1 */
static gint
find_nth(const MmHeaderList *list, const char *name, guint32 index)
{
  for (guint i = 0; i < list->headers->len; i++) {
    const MmHeader *header = g_ptr_array_index(list->headers, i);
    if (g_ascii_strcasecmp(header->name, name) == 0 && --index == 0)
      return (gint)i;
  }
  return -1;
}

/* mm_header_list_append_original - append one of the MTA's headers */
gboolean
mm_header_list_append_original(MmHeaderList *list, const char *name, const char *value,
                               GError **error)
{
  if (!check_name(name, error) || !check_value(name, value, error))
    return FALSE;
  if (!insert_at(list, list->headers->len, name, value, list->next_origin, error))
    return FALSE;
  list->next_origin++;
  return TRUE;
}

/* mm_header_list_append_hidden - a header the MTA has but does not show milters (Postfix's
 * own Received:, which Postfix counts in insert positions): nameless, so that no change,
 * delete or Sendmail-style add can match it, and kept unchanged by every edit */
gboolean
mm_header_list_append_hidden(MmHeaderList *list, GError **error)
{
  if (!insert_at(list, list->headers->len, "", "", list->next_origin, error))
    return FALSE;
  list->next_origin++;
  return TRUE;
}

/* mm_header_is_hidden - HEADER stands for one the MTA does not show */
gboolean
mm_header_is_hidden(const MmHeader *header)
{
  return header->name[0] == '\0';
}

/* add_placed - add as `h` does, names and value already checked */
static gboolean
add_placed(MmHeaderList *list, const char *name, const char *value, GError **error)
{
  gint first = find_nth(list, name, 1);
  guint position = first < 0 ? list->headers->len : (guint)first;
  return insert_at(list, position, name, value, MM_HEADER_ORIGIN_NONE, error);
}

/* mm_header_list_add - a child's `h` */
gboolean
mm_header_list_add(MmHeaderList *list, const char *name, const char *value, GError **error)
{
  if (!check_name(name, error) || !check_value(name, value, error))
    return FALSE;
  return add_placed(list, name, value, error);
}

/* mm_header_list_insert - a child's `i` */
gboolean
mm_header_list_insert(MmHeaderList *list, guint32 index, const char *name, const char *value,
                      GError **error)
{
  if (!check_name(name, error) || !check_value(name, value, error) ||
      !check_index(name, index, error))
    return FALSE;
  return insert_at(list, index, name, value, MM_HEADER_ORIGIN_NONE, error);
}

/* replace_value - set the value of the header at POSITION, keeping its origin */
static gboolean
replace_value(MmHeaderList *list, guint position, const char *value, GError **error)
{
  MmHeader *header = g_ptr_array_index(list->headers, position);
  gsize old_bytes = strlen(header->value);
  gsize new_bytes = strlen(value);
  if (new_bytes > old_bytes && new_bytes - old_bytes > MM_HEADER_LIST_MAX_BYTES - list->bytes) {
    g_set_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_TOO_LARGE,
                "header \"%s\": headers larger than %u bytes", header->name,
                MM_HEADER_LIST_MAX_BYTES);
    return FALSE;
  }
  list->bytes = list->bytes - old_bytes + new_bytes;
  /* Other lists may share the header: this one gets a new one in its place. */
  list->headers->pdata[position] = header_new(header->name, value, header->origin);
  header_free(header);
  return TRUE;
}

/* mm_header_list_change - a child's `m` */
gboolean
mm_header_list_change(MmHeaderList *list, const char *name, guint32 index, const char *value,
                      GError **error)
{
  if (!check_name(name, error) || !check_index(name, index, error))
    return FALSE;
  gint position = find_nth(list, name, MAX(index, 1));
  gboolean delete = value == NULL || value[0] == '\0';
  if (position < 0)
    return delete ? TRUE : add_placed(list, name, value, error);
  if (delete) {
    remove_at(list, (guint)position);
    return TRUE;
  }
  return replace_value(list, (guint)position, value, error);
}

/* mm_header_list_equal - same names and values in the same order */
gboolean
mm_header_list_equal(const MmHeaderList *a, const MmHeaderList *b)
{
  if (a->headers->len != b->headers->len)
    return FALSE;
  for (guint i = 0; i < a->headers->len; i++) {
    const MmHeader *x = g_ptr_array_index(a->headers, i);
    const MmHeader *y = g_ptr_array_index(b->headers, i);
    if (strcmp(x->name, y->name) != 0 || strcmp(x->value, y->value) != 0)
      return FALSE;
  }
  return TRUE;
}

/* mm_header_operation_free - free one operation */
void
mm_header_operation_free(MmHeaderOperation *operation)
{
  if (operation == NULL)
    return;
  g_free(operation->name);
  g_free(operation->value);
  g_free(operation);
}

/* operation_new - an operation with copies of NAME and VALUE */
static MmHeaderOperation *
operation_new(MmHeaderOperationType type, const char *name, const char *value, guint32 index)
{
  MmHeaderOperation *operation = g_new(MmHeaderOperation, 1);
  operation->type = type;
  operation->name = g_strdup(name);
  operation->value = g_strdup(value);
  operation->index = index;
  return operation;
}

/* name_hash - hash of a header name without case, as MTAs compare names */
static guint
name_hash(gconstpointer key)
{
  guint hash = 5381;
  for (const char *p = key; *p != '\0'; p++)
    hash = hash * 33 + (guchar)g_ascii_tolower(*p);
  return hash;
}

/* name_equal - header names equal without case */
static gboolean
name_equal(gconstpointer a, gconstpointer b)
{
  return g_ascii_strcasecmp(a, b) == 0;
}

/* next_occurrence - count one more header named NAME; returns its 1-based occurrence */
static guint32
next_occurrence(GHashTable *counts, const char *name)
{
  guint32 count = GPOINTER_TO_UINT(g_hash_table_lookup(counts, name)) + 1;
  g_hash_table_insert(counts, (gpointer)name, GUINT_TO_POINTER(count));
  return count;
}

/* One step of the merged walk over the final list and the deleted originals. */
typedef struct {
  const MmHeader *header;
  gboolean inserted; /* a final header the MTA does not have yet */
  gboolean deleted;  /* an original header the final list lacks */
  guint32 occurrence;
} DiffItem;

/* check_related - FINAL's original headers come from ORIGINAL, in order */
static gboolean
check_related(const MmHeaderList *original, const MmHeaderList *final, GError **error)
{
  for (guint i = 0; i < original->headers->len; i++) {
    const MmHeader *header = g_ptr_array_index(original->headers, i);
    if (header->origin != (int)i) {
      g_set_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_UNRELATED,
                  "original header %u (\"%s\") is not one of the MTA's headers", i, header->name);
      return FALSE;
    }
  }
  int last = -1;
  for (guint i = 0; i < final->headers->len; i++) {
    const MmHeader *header = g_ptr_array_index(final->headers, i);
    if (header->origin == MM_HEADER_ORIGIN_NONE)
      continue;
    if (header->origin <= last || header->origin >= (int)original->headers->len) {
      g_set_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_UNRELATED,
                  "final header %u (\"%s\") does not come from the original list", i,
                  header->name);
      return FALSE;
    }
    last = header->origin;
  }
  return TRUE;
}

/* kept_original - whether FINAL's HEADER is ORIGINAL's header, possibly with a new value
 * a change can express (same name, non-empty value: an empty one would mean delete) */
static gboolean
kept_original(const MmHeaderList *original, const MmHeader *header)
{
  if (header->origin == MM_HEADER_ORIGIN_NONE)
    return FALSE;
  const MmHeader *from = g_ptr_array_index(original->headers, header->origin);
  if (strcmp(from->name, header->name) != 0)
    return FALSE;
  return strcmp(from->value, header->value) == 0 || header->value[0] != '\0';
}

/* add_deleted - the originals in [FROM, TO) the final list lacks, into ITEMS */
static void
add_deleted(GArray *items, const MmHeaderList *original, guint from, guint to)
{
  for (guint k = from; k < to; k++) {
    DiffItem item = { g_ptr_array_index(original->headers, k), FALSE, TRUE, 0 };
    g_array_append_val(items, item);
  }
}

/* count_occurrences - the 1-based occurrence of each of the first N headers of LIST among
 * the headers with its name before it, into a new array */
static guint32 *
count_occurrences(GHashTable *counts, const MmHeaderList *list, guint n)
{
  guint32 *occurrence = g_new(guint32, n + 1);
  for (guint k = 0; k < n; k++) {
    const MmHeader *header = g_ptr_array_index(list->headers, k);
    occurrence[k] = next_occurrence(counts, header->name);
  }
  return occurrence;
}

/* mm_header_list_diff - the operations that turn ORIGINAL into FINAL. FINAL is a copy of
 * ORIGINAL: the headers no child touched are ORIGINAL's own, so the leading and trailing
 * runs of them are skipped by address and only the edited middle is walked; the names are
 * counted (for the indexes of changes and deletes) only when there is such an operation. */
gboolean
mm_header_list_diff(const MmHeaderList *original, const MmHeaderList *final,
                    GPtrArray **operations, GError **error)
{
  if (!check_related(original, final, error))
    return FALSE;
  g_autoptr(GPtrArray) result = g_ptr_array_new_with_free_func(
    (GDestroyNotify)mm_header_operation_free);
  guint n_original = original->headers->len;
  guint n_final = final->headers->len;
  guint prefix = 0;
  while (prefix < n_original && prefix < n_final &&
         original->headers->pdata[prefix] == final->headers->pdata[prefix])
    prefix++;
  guint suffix = 0;
  while (suffix < n_original - prefix && suffix < n_final - prefix &&
         original->headers->pdata[n_original - 1 - suffix] ==
           final->headers->pdata[n_final - 1 - suffix])
    suffix++;
  guint original_end = n_original - suffix;
  guint final_end = n_final - suffix;

  /* Changes first: the MTA's list is still the original, so occurrences are counted
   * there. */
  g_autoptr(GHashTable) counts = g_hash_table_new(name_hash, name_equal);
  g_autofree guint32 *original_occurrence = NULL;
  for (guint i = prefix; i < final_end; i++) {
    const MmHeader *header = g_ptr_array_index(final->headers, i);
    if (!kept_original(original, header))
      continue;
    const MmHeader *from = g_ptr_array_index(original->headers, header->origin);
    if (strcmp(from->value, header->value) == 0)
      continue;
    if (original_occurrence == NULL)
      original_occurrence = count_occurrences(counts, original, original_end);
    g_ptr_array_add(result, operation_new(MM_HEADER_OPERATION_CHANGE, from->name,
                                          header->value, original_occurrence[header->origin]));
  }

  /* Merge the final list with the originals it lacks, keeping both orders: a deleted
   * original stands just before the next kept original. Inserting the new headers top to
   * bottom at their merged positions, then deleting bottom to top, leaves every index
   * valid when the MTA applies it, whether or not it counts deleted headers. The skipped
   * runs are the same in both lists: the merge of the middle starts at position PREFIX. */
  g_autoptr(GArray) items = g_array_new(FALSE, FALSE, sizeof(DiffItem));
  guint next_original = prefix;
  for (guint i = prefix; i < final_end; i++) {
    const MmHeader *header = g_ptr_array_index(final->headers, i);
    gboolean kept = kept_original(original, header);
    if (header->origin != MM_HEADER_ORIGIN_NONE) {
      add_deleted(items, original, next_original, (guint)header->origin + (kept ? 0 : 1));
      next_original = (guint)header->origin + 1;
    }
    DiffItem item = { header, !kept, FALSE, 0 };
    g_array_append_val(items, item);
  }
  add_deleted(items, original, next_original, original_end);

  gboolean any_deleted = FALSE;
  for (guint p = 0; p < items->len; p++) {
    const DiffItem *item = &g_array_index(items, DiffItem, p);
    any_deleted = any_deleted || item->deleted;
    if (item->inserted)
      g_ptr_array_add(result, operation_new(MM_HEADER_OPERATION_INSERT, item->header->name,
                                            item->header->value, prefix + p));
  }
  if (!any_deleted) {
    *operations = g_steal_pointer(&result);
    return TRUE;
  }
  g_hash_table_remove_all(counts);
  g_free(count_occurrences(counts, original, prefix));
  for (guint p = 0; p < items->len; p++) {
    DiffItem *item = &g_array_index(items, DiffItem, p);
    item->occurrence = next_occurrence(counts, item->header->name);
  }
  for (guint p = items->len; p-- > 0;) {
    const DiffItem *item = &g_array_index(items, DiffItem, p);
    if (item->deleted)
      g_ptr_array_add(result, operation_new(MM_HEADER_OPERATION_DELETE, item->header->name,
                                            NULL, item->occurrence));
  }
  *operations = g_steal_pointer(&result);
  return TRUE;
}

/* mm_header_list_apply_operation - apply one operation as the MTA does */
gboolean
mm_header_list_apply_operation(MmHeaderList *list, const MmHeaderOperation *operation,
                               GError **error)
{
  if (!check_name(operation->name, error))
    return FALSE;
  switch (operation->type) {
  case MM_HEADER_OPERATION_INSERT:
    if (!check_value(operation->name, operation->value, error))
      return FALSE;
    return insert_at(list, operation->index, operation->name, operation->value,
                     MM_HEADER_ORIGIN_NONE, error);
  case MM_HEADER_OPERATION_CHANGE:
  case MM_HEADER_OPERATION_DELETE: {
    const char *value = operation->type == MM_HEADER_OPERATION_DELETE ? NULL : operation->value;
    gint position = find_nth(list, operation->name, MAX(operation->index, 1));
    if (value == NULL || value[0] == '\0') {
      if (position >= 0)
        remove_at(list, (guint)position);
      return TRUE;
    }
    if (position < 0)
      return insert_at(list, list->headers->len, operation->name, value, MM_HEADER_ORIGIN_NONE,
                       error);
    return replace_value(list, (guint)position, value, error);
  }
  }
  g_set_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_INVALID_INDEX,
              "unknown header operation %d", (int)operation->type);
  return FALSE;
}

/* mm_header_list_translate_value - move VALUE between HDR_LEADSPC conventions */
char *
mm_header_list_translate_value(const char *value, gboolean from_leading_space,
                               gboolean to_leading_space)
{
  if (value == NULL)
    return NULL;
  if (value[0] == '\0' || !from_leading_space == !to_leading_space)
    return g_strdup(value);
  if (from_leading_space)
    return g_strdup(value[0] == ' ' ? value + 1 : value);
  return g_strconcat(" ", value, NULL);
}
