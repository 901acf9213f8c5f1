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

struct MmBodySpool {
  gsize memory_limit;
  char *temporary_directory;
  GByteArray *memory;  /* the body while it is small */
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
  spool->memory = g_byte_array_new();
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
  g_byte_array_unref(spool->memory);
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
  if (!write_all(fd, spool->memory->data, spool->memory->len, error)) {
    close(fd);
    return FALSE;
  }
  spool->fd = fd;
  g_byte_array_set_size(spool->memory, 0);
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
  if (spool->fd < 0 && spool->memory->len + length > spool->memory_limit) {
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
    g_byte_array_append(spool->memory, data, (guint)length);
  }
  spool->size += length;
  return TRUE;
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
      *view = spool->memory->data + offset;
    } else {
      memcpy(buffer, spool->memory->data + offset, wanted);
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
  /* Keep a small buffer for the next message; drop a large one. */
  if (spool->memory->len > 64 * 1024) {
    g_byte_array_unref(spool->memory);
    spool->memory = g_byte_array_new();
  } else {
    g_byte_array_set_size(spool->memory, 0);
  }
  spool->size = 0;
}
