/* SPDX-License-Identifier: GPL-3.0-or-later */
/* body-spool.c: message body storage in memory, spilled to an unlinked temporary file once
 * it grows past the limit, so that a huge message costs disk, not memory. */
#include "body-spool.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(mm-body-spool-error-quark, mm_body_spool_error)

/* The in-memory body's first allocation; it doubles from there. */
#define MM_BODY_SPOOL_INITIAL_CAPACITY 1024

struct MmBodySpool {
  gsize memory_limit;
  char *temporary_directory;
  /* The body while it is small: MEMORY's first LENGTH bytes, at DATA. Others may hold
   * references to MEMORY (mm_body_spool_get_bytes): bytes once written never change, and
   * growing moves the body to new memory unless nobody else holds the old one. */
  GBytes *memory;
  guint8 *data;
  gsize length;
  gsize capacity;
  int fd;              /* the unlinked file once it is not, else -1 */
  guint64 size;
  guint64 max_size;
};

/* mm_body_spool_new - an empty body */
MmBodySpool *
mm_body_spool_new(gsize memory_limit, const char *temporary_directory)
{
  MmBodySpool *spool = g_new0(MmBodySpool, 1);
  spool->memory_limit = memory_limit;
  spool->temporary_directory = g_strdup(temporary_directory);
  spool->fd = -1;
  spool->max_size = MM_BODY_SPOOL_MAX_SIZE_DEFAULT;
  return spool;
}

/* mm_body_spool_set_max_size - bound the body, disk included */
void
mm_body_spool_set_max_size(MmBodySpool *spool, guint64 max_size)
{
  spool->max_size = max_size;
}

/* mm_body_spool_free - release the memory and the temporary file */
void
mm_body_spool_free(MmBodySpool *spool)
{
  if (spool == NULL)
    return;
  mm_body_spool_clear(spool);
  g_free(spool->temporary_directory);
  g_free(spool);
}

/* set_io_error - an error naming the operation and errno's text */
static void
set_io_error(GError **error, const char *what, int saved_errno)
{
  g_set_error(error, MM_BODY_SPOOL_ERROR, MM_BODY_SPOOL_ERROR_IO,
              "message body spool: %s: %s", what, g_strerror(saved_errno));
}

/* write_all - write every byte, retrying on EINTR and short writes */
static gboolean
write_all(int fd, const guint8 *data, gsize length, GError **error)
{
  while (length > 0) {
    ssize_t written = write(fd, data, length);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      set_io_error(error, "write to temporary file", errno);
      return FALSE;
    }
    data += written;
    length -= (gsize)written;
  }
  return TRUE;
}

/* drop_memory - let go of the in-memory body (holders of references keep their bytes) */
static void
drop_memory(MmBodySpool *spool)
{
  g_clear_pointer(&spool->memory, g_bytes_unref);
  spool->data = NULL;
  spool->length = spool->capacity = 0;
}

/* reserve - room for NEEDED bytes in memory, doubling; reallocated in place when nobody
 * else holds the memory, else the body is copied to new memory and the old left to them */
static void
reserve(MmBodySpool *spool, gsize needed)
{
  if (needed <= spool->capacity)
    return;
  gsize capacity = MAX(spool->capacity, (gsize)MM_BODY_SPOOL_INITIAL_CAPACITY);
  while (capacity < needed)
    capacity = capacity > G_MAXSIZE / 2 ? needed : capacity * 2;
  guint8 *data = NULL;
  if (spool->memory) {
    /* Steals the memory when ours is the only reference, copies it otherwise. */
    gsize size = 0;
    data = g_bytes_unref_to_data(g_steal_pointer(&spool->memory), &size);
  }
  data = g_realloc(data, capacity);
  spool->memory = g_bytes_new_take(data, capacity);
  spool->data = data;
  spool->capacity = capacity;
}

/* spill - move the in-memory body to a new unlinked temporary file */
static gboolean
spill(MmBodySpool *spool, GError **error)
{
  const char *directory = spool->temporary_directory ? spool->temporary_directory : g_get_tmp_dir();
  g_autofree char *template = g_build_filename(directory, "milter-manager-body-XXXXXX", NULL);
  int fd = g_mkstemp_full(template, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    set_io_error(error, "create temporary file", errno);
    return FALSE;
  }
  /* Nobody else may open it, and it disappears with the fd even if we crash. */
  g_unlink(template);
  if (!write_all(fd, spool->data, spool->length, error)) {
    close(fd);
    return FALSE;
  }
  spool->fd = fd;
  drop_memory(spool);
  return TRUE;
}

/* mm_body_spool_append - add bytes at the end */
gboolean
mm_body_spool_append(MmBodySpool *spool, const guint8 *data, gsize length, GError **error)
{
  if (length == 0)
    return TRUE;
  if (length > spool->max_size - MIN(spool->size, spool->max_size)) {
    g_set_error(error, MM_BODY_SPOOL_ERROR, MM_BODY_SPOOL_ERROR_TOO_LARGE,
                "message body larger than the limit of %" G_GUINT64_FORMAT " bytes",
                spool->max_size);
    return FALSE;
  }
  if (spool->fd < 0 && spool->length + length > spool->memory_limit) {
    if (!spill(spool, error))
      return FALSE;
  }
  if (spool->fd >= 0) {
    if (lseek(spool->fd, 0, SEEK_END) < 0) {
      set_io_error(error, "seek in temporary file", errno);
      return FALSE;
    }
    if (!write_all(spool->fd, data, length, error))
      return FALSE;
  } else {
    reserve(spool, spool->length + length);
    memcpy(spool->data + spool->length, data, length);
    spool->length += length;
  }
  spool->size += length;
  return TRUE;
}

/* mm_body_spool_append_in_memory - append if the body stays in memory */
gboolean
mm_body_spool_append_in_memory(MmBodySpool *spool, const guint8 *data, gsize length)
{
  if (spool->fd >= 0 || length > spool->memory_limit - MIN(spool->length, spool->memory_limit))
    return FALSE;
  return mm_body_spool_append(spool, data, length, NULL);
}

/* mm_body_spool_read - up to LENGTH bytes from OFFSET */
gboolean
mm_body_spool_read(MmBodySpool *spool, guint64 offset, guint8 *buffer, gsize length,
                   const guint8 **view, gsize *read, GError **error)
{
  if (offset >= spool->size) {
    *read = 0;
    if (view)
      *view = buffer;
    return TRUE;
  }
  gsize wanted = (gsize)MIN((guint64)length, spool->size - offset);
  if (spool->fd < 0) {
    if (view) {
      *view = spool->data + offset;
    } else {
      memcpy(buffer, spool->data + offset, wanted);
    }
    *read = wanted;
    return TRUE;
  }
  gsize done = 0;
  while (done < wanted) {
    ssize_t n = pread(spool->fd, buffer + done, wanted - done, (off_t)(offset + done));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      set_io_error(error, "read temporary file", errno);
      return FALSE;
    }
    if (n == 0)
      break;
    done += (gsize)n;
  }
  if (view)
    *view = buffer;
  *read = done;
  return TRUE;
}

/* mm_body_spool_get_size - bytes held */
guint64
mm_body_spool_get_size(const MmBodySpool *spool)
{
  return spool->size;
}

/* mm_body_spool_get_bytes - the in-memory body's memory, NULL on disk or when empty */
GBytes *
mm_body_spool_get_bytes(MmBodySpool *spool)
{
  return spool->fd >= 0 ? NULL : spool->memory;
}

/* mm_body_spool_is_on_disk - TRUE once spilled */
gboolean
mm_body_spool_is_on_disk(const MmBodySpool *spool)
{
  return spool->fd >= 0;
}

/* mm_body_spool_clear - forget the body */
void
mm_body_spool_clear(MmBodySpool *spool)
{
  if (spool->fd >= 0) {
    close(spool->fd);
    spool->fd = -1;
  }
  /* Not reused: references to the old body may still be out. */
  drop_memory(spool);
  spool->size = 0;
}
