/* SPDX-License-Identifier: GPL-3.0-or-later */
/* message-parallel.c: the parallel message phase's header edits: each child's edits kept as a
 * list of operations, replayed onto the merged header list in configuration order. */
#include "children-private.h"

#include "log.h"
#include "protocol.h"

/* One header edit as the child sent it (value already in the MTA's leading-space form). */
typedef struct {
  char code;      /* MM_REPLY_ADD_HEADER, MM_REPLY_INSERT_HEADER or MM_REPLY_CHANGE_HEADER */
  guint32 index;
  char *name;
  char *value;
} MmHeaderEdit;

/* header_edit_free - one recorded edit */
static void
header_edit_free(gpointer data)
{
  MmHeaderEdit *edit = data;
  g_free(edit->name);
  g_free(edit->value);
  g_free(edit);
}

/* mm_message_parallel_record_header_edit - keep one of CHILD's header edits for the merge;
 * more edits than a list may hold headers could never all apply, so the record stops there */
void
mm_message_parallel_record_header_edit(MmChild *child, char code, const char *name,
                                       guint32 index, const char *value)
{
  if (child->staged_header_edits == NULL)
    child->staged_header_edits = g_ptr_array_new_with_free_func(header_edit_free);
  if (child->staged_header_edits->len >= MM_HEADER_LIST_MAX_HEADERS) {
    mm_warning("[child][header] %s (%s): more than %u header edits: the rest is ignored",
               child->milter->name, child->milter->connection_spec, MM_HEADER_LIST_MAX_HEADERS);
    return;
  }
  MmHeaderEdit *edit = g_new0(MmHeaderEdit, 1);
  edit->code = code;
  edit->index = index;
  edit->name = g_strdup(name);
  edit->value = g_strdup(value);
  g_ptr_array_add(child->staged_header_edits, edit);
}

/* mm_message_parallel_replay_header_edits - apply CHILD's edits, in the order it sent them,
 * to HEADERS as the children before it (configuration order) left them. Its indexes were
 * meant for the MTA's headers; see doc/proxy.md for when that lands elsewhere. */
void
mm_message_parallel_replay_header_edits(const MmChild *child, MmHeaderList *headers)
{
  if (child->staged_header_edits == NULL)
    return;
  for (guint i = 0; i < child->staged_header_edits->len; i++) {
    const MmHeaderEdit *edit = g_ptr_array_index(child->staged_header_edits, i);
    g_autoptr(GError) error = NULL;
    gboolean done =
      edit->code == MM_REPLY_ADD_HEADER
        ? mm_header_list_add(headers, edit->name, edit->value, &error)
      : edit->code == MM_REPLY_INSERT_HEADER
        ? mm_header_list_insert(headers, edit->index, edit->name, edit->value, &error)
        : mm_header_list_change(headers, edit->name, edit->index, edit->value, &error);
    if (!done)
      mm_warning("[child][header] %s (%s): header edit ignored: %s", child->milter->name,
                 child->milter->connection_spec, error->message);
  }
}
