/* SPDX-License-Identifier: GPL-3.0-or-later */
/* header-list.h: the message's header list as the children edit it (add, insert, change,
 * delete), the final diff sent to the MTA, and HDR_LEADSPC value translation. */
#pragma once

#include <glib.h>

#define MM_HEADER_LIST_ERROR (mm_header_list_error_quark())
GQuark mm_header_list_error_quark(void);

typedef enum {
  MM_HEADER_LIST_ERROR_INVALID_NAME,  /* NULL, empty, ':' , space or control character */
  MM_HEADER_LIST_ERROR_INVALID_VALUE, /* NULL where a value is required */
  MM_HEADER_LIST_ERROR_INVALID_INDEX, /* above MM_HEADER_LIST_MAX_HEADERS */
  MM_HEADER_LIST_ERROR_TOO_LARGE,     /* more headers or bytes than the limits allow */
  MM_HEADER_LIST_ERROR_UNRELATED,     /* diff of lists that do not share an origin */
} MmHeaderListError;

/* Limits. Postfix's header_size_limit is 100 KiB per header; a message with more than
 * ten thousand headers or 16 MiB of them is hostile. */
#define MM_HEADER_LIST_MAX_HEADERS 10000u
#define MM_HEADER_LIST_MAX_BYTES (16u * 1024u * 1024u)

/* Origin of a header that was not among the MTA's (added by a child or an operation). */
#define MM_HEADER_ORIGIN_NONE (-1)

/* One header. VALUE is exactly as the MTA-facing protocol carries it (with the leading
 * space when HDR_LEADSPC was negotiated with the MTA). ORIGIN is the header's 0-based
 * position among the MTA's original headers, or MM_HEADER_ORIGIN_NONE. */
typedef struct {
  char *name;
  char *value;
  int origin;
} MmHeader;

typedef struct MmHeaderList MmHeaderList;

/* mm_header_get_packet - the whole HEADER command (length prefix, 'L', name, NUL, value,
 * NUL) carrying HEADER exactly as it is, encoded when the header was made; *LENGTH gets its
 * size. HEADER must come from a list (mm_header_list_nth); valid as long as it is. */
const guint8 *mm_header_get_packet(const MmHeader *header, gsize *length);

/* mm_header_list_new - an empty list */
MmHeaderList *mm_header_list_new(void);

/* mm_header_list_free - free the list and its headers; NULL-safe */
void mm_header_list_free(MmHeaderList *list);

/* mm_header_list_copy - a copy, origins included; the headers themselves are shared (they
 * never change: an edit puts a new header in its list) */
MmHeaderList *mm_header_list_copy(const MmHeaderList *list);

/* mm_header_list_length - the number of headers */
guint mm_header_list_length(const MmHeaderList *list);

/* mm_header_list_nth - the header at 0-based POSITION, or NULL past the end */
const MmHeader *mm_header_list_nth(const MmHeaderList *list, guint position);

/* mm_header_list_append_original - append one of the MTA's headers, in the order the MTA
 * sent them; it remembers its origin so that the final diff is exact. */
gboolean mm_header_list_append_original(MmHeaderList *list, const char *name,
                                        const char *value, GError **error);

/* mm_header_list_append_hidden - append a header the MTA has but does not show milters:
 * Postfix hides its own Received: header yet counts it in insert positions. It has no name,
 * no child sees it, no edit matches it, and the diff never mentions it. */
gboolean mm_header_list_append_hidden(MmHeaderList *list, GError **error);

/* mm_header_is_hidden - HEADER is such a hidden header */
gboolean mm_header_is_hidden(const MmHeader *header);

/* mm_header_list_add - a child's `h`: insert before the first header with the same name
 * (compared without case), else append; as milter manager 2.3 and Sendmail place it. */
gboolean mm_header_list_add(MmHeaderList *list, const char *name, const char *value,
                            GError **error);

/* mm_header_list_insert - a child's `i`: insert at 0-based INDEX; past the end appends. */
gboolean mm_header_list_insert(MmHeaderList *list, guint32 index, const char *name,
                               const char *value, GError **error);

/* mm_header_list_change - a child's `m`: change the INDEX-th (1-based, 0 means 1) header
 * named NAME (compared without case). An empty or NULL VALUE deletes it; when there is
 * no such header, a non-empty VALUE is added as mm_header_list_add does. */
gboolean mm_header_list_change(MmHeaderList *list, const char *name, guint32 index,
                               const char *value, GError **error);

/* mm_header_list_equal - same names and values in the same order (origins ignored) */
gboolean mm_header_list_equal(const MmHeaderList *a, const MmHeaderList *b);

/* Operations the MTA understands. CHANGE and DELETE name the INDEX-th (1-based) header
 * with NAME among the headers with that name (compared without case); they are sent as
 * `m` (DELETE with an empty value). INSERT puts a header at 0-based position INDEX; it is
 * sent as `i`. */
typedef enum {
  MM_HEADER_OPERATION_CHANGE,
  MM_HEADER_OPERATION_INSERT,
  MM_HEADER_OPERATION_DELETE,
} MmHeaderOperationType;

typedef struct {
  MmHeaderOperationType type;
  char *name;
  char *value; /* NULL for DELETE */
  guint32 index;
} MmHeaderOperation;

/* mm_header_operation_free - free one operation; NULL-safe */
void mm_header_operation_free(MmHeaderOperation *operation);

/* mm_header_list_diff - the operations that turn ORIGINAL (built with
 * mm_header_list_append_original only) into FINAL (a copy of it edited by children),
 * in the order the MTA must apply them: changes, then inserts top to bottom, then deletes
 * bottom to top. The final order is preserved exactly; unchanged headers give no
 * operation. *OPERATIONS is a new GPtrArray of MmHeaderOperation (freed with it). */
gboolean mm_header_list_diff(const MmHeaderList *original, const MmHeaderList *final,
                             GPtrArray **operations, GError **error);

/* mm_header_list_apply_operation - apply one operation as the MTA does (Postfix's
 * cleanup semantics): CHANGE of a missing header appends it, DELETE of a missing header
 * does nothing, INSERT past the end appends. */
gboolean mm_header_list_apply_operation(MmHeaderList *list, const MmHeaderOperation *operation,
                                        GError **error);

/* mm_header_list_translate_value - VALUE moved between two peers that differ in
 * HDR_LEADSPC: from a peer with leading spaces to one without, one leading space is
 * removed; the other way one is added. An empty value stays empty (it means "delete" in
 * `m`). Returns a newly allocated string. */
char *mm_header_list_translate_value(const char *value, gboolean from_leading_space,
                                     gboolean to_leading_space);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmHeaderList, mm_header_list_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmHeaderOperation, mm_header_operation_free)
