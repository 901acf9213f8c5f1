/* SPDX-License-Identifier: GPL-3.0-or-later */
/* pid-file.h: the daemon's pid file: written once the process that serves runs, removed
 * at exit only while it still names this process. */
#pragma once

#include <glib.h>

#define MM_PID_FILE_ERROR (mm_pid_file_error_quark())
GQuark mm_pid_file_error_quark(void);

typedef enum {
  MM_PID_FILE_ERROR_WRITE, /* message has the path and errno text */
  MM_PID_FILE_ERROR_REMOVE,
} MmPidFileError;

/* mm_pid_file_write - write this process's id and a newline to PATH */
gboolean mm_pid_file_write(const char *path, GError **error);

/* mm_pid_file_remove - remove PATH if it holds this process's id (another instance may
 * have replaced it); TRUE when it is gone or not ours */
gboolean mm_pid_file_remove(const char *path, GError **error);
