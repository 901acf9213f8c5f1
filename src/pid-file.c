/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pid-file.c: writing the daemon's pid file and removing it only while it still names
 * this process, so that a stopping old instance never removes its successor's file. */
#include "src/pid-file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Any pid file larger than this is not one of ours. */
#define MM_PID_FILE_MAX_SIZE 64

G_DEFINE_QUARK(mm-pid-file-error-quark, mm_pid_file_error)

/* mm_pid_file_write - write this process's id and a newline to PATH */
gboolean
mm_pid_file_write(const char *path, GError **error)
{
  char text[32];
  int length = g_snprintf(text, sizeof(text), "%ld\n", (long)getpid());
  /* O_NOFOLLOW: the directory may be writable by the unprivileged user. */
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0 || write(fd, text, (size_t)length) != length) {
    int saved = errno;
    if (fd >= 0)
      close(fd);
    g_set_error(error, MM_PID_FILE_ERROR, MM_PID_FILE_ERROR_WRITE,
                "failed to write pid file %s: %s", path, g_strerror(saved));
    return FALSE;
  }
  if (close(fd) != 0) {
    int saved = errno;
    g_set_error(error, MM_PID_FILE_ERROR, MM_PID_FILE_ERROR_WRITE,
                "failed to write pid file %s: %s", path, g_strerror(saved));
    return FALSE;
  }
  return TRUE;
}

/* mm_pid_file_remove - remove PATH if it holds this process's id */
gboolean
mm_pid_file_remove(const char *path, GError **error)
{
  g_autofree char *content = NULL;
  gsize length = 0;
  if (!g_file_get_contents(path, &content, &length, NULL))
    return TRUE; /* already gone */
  char *end = NULL;
  long pid = length <= MM_PID_FILE_MAX_SIZE ? strtol(content, &end, 10) : -1;
  if (pid != (long)getpid() || end == content)
    return TRUE;
  if (unlink(path) != 0 && errno != ENOENT) {
    int saved = errno;
    g_set_error(error, MM_PID_FILE_ERROR, MM_PID_FILE_ERROR_REMOVE,
                "failed to remove pid file %s: %s", path, g_strerror(saved));
    return FALSE;
  }
  return TRUE;
}
