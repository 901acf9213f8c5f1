/* SPDX-License-Identifier: GPL-3.0-or-later */
/* body-spool.h: one message body as the proxy received it (or as a child replaced it): kept
 * in memory up to a limit, spilled beyond it to an unlinked temporary file, read back by offset. */
#pragma once

#include <glib.h>

#define MM_BODY_SPOOL_ERROR (mm_body_spool_error_quark())
GQuark mm_body_spool_error_quark(void);

typedef enum {
  MM_BODY_SPOOL_ERROR_IO, /* the temporary file could not be created, written or read */
  MM_BODY_SPOOL_ERROR_TOO_LARGE, /* the body would grow past the spool's maximum size */
} MmBodySpoolError;

/* Default memory limit, as milter manager 2.3 (MAX_ON_MEMORY_BODY_SIZE). */
#define MM_BODY_SPOOL_MEMORY_LIMIT_DEFAULT (5u * 1024u * 1024u)

/* Largest body a spool holds, on disk included: a peer that sends without end must not fill
 * the disk. Far above any MTA's message size limit (Postfix's default is 10 MB). */
#define MM_BODY_SPOOL_MAX_SIZE_DEFAULT ((guint64)2 * 1024 * 1024 * 1024)

typedef struct MmBodySpool MmBodySpool;

/* mm_body_spool_new - an empty body; beyond MEMORY_LIMIT bytes it moves to a temporary file
 * in TEMPORARY_DIRECTORY (NULL: g_get_tmp_dir()) */
MmBodySpool *mm_body_spool_new(gsize memory_limit, const char *temporary_directory);
void mm_body_spool_free(MmBodySpool *spool);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmBodySpool, mm_body_spool_free)

/* mm_body_spool_set_max_size - the most bytes the spool takes (default
 * MM_BODY_SPOOL_MAX_SIZE_DEFAULT); appending past it fails with MM_BODY_SPOOL_ERROR_TOO_LARGE */
void mm_body_spool_set_max_size(MmBodySpool *spool, guint64 max_size);

/* mm_body_spool_append - add bytes at the end */
gboolean mm_body_spool_append(MmBodySpool *spool, const guint8 *data, gsize length,
                              GError **error);

/* mm_body_spool_append_in_memory - append only where the body stays in memory (not spilled,
 * and LENGTH more bytes within the memory limit), which cannot fail half-way; FALSE:
 * nothing appended, mm_body_spool_append is the way for these bytes */
gboolean mm_body_spool_append_in_memory(MmBodySpool *spool, const guint8 *data, gsize length);

/* mm_body_spool_read - up to LENGTH bytes from OFFSET into BUFFER; *READ is 0 at the end.
 * In memory this copies nothing when VIEW is non-NULL: *VIEW then points into the spool. */
gboolean mm_body_spool_read(MmBodySpool *spool, guint64 offset, guint8 *buffer, gsize length,
                            const guint8 **view, gsize *read, GError **error);

/* mm_body_spool_get_bytes - the memory holding the in-memory body from offset 0 (bytes past
 * mm_body_spool_get_size() are not the body yet); NULL when the body is on disk or nothing
 * was appended. Not referenced for the caller: g_bytes_ref keeps the body's bytes as they
 * are after later appends, a spill, clear or free (bytes once appended never change). */
GBytes *mm_body_spool_get_bytes(MmBodySpool *spool);

/* mm_body_spool_get_size - bytes held */
guint64 mm_body_spool_get_size(const MmBodySpool *spool);

/* mm_body_spool_is_on_disk - TRUE once spilled to the temporary file */
gboolean mm_body_spool_is_on_disk(const MmBodySpool *spool);

/* mm_body_spool_clear - forget the body (the file is closed and its space freed) */
void mm_body_spool_clear(MmBodySpool *spool);
