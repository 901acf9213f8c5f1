/* SPDX-License-Identifier: GPL-3.0-or-later */
/* listener.h: a listening socket from a connection spec on the GLib main loop: UNIX socket
 * mode and group, stale socket removal on start, removal on close; accepts without blocking. */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "connection-spec.h"

#define MM_LISTENER_ERROR (mm_listener_error_quark())
GQuark mm_listener_error_quark(void);

typedef enum {
  MM_LISTENER_ERROR_SOCKET, /* socket/bind/listen failed: message has the spec and errno text */
  MM_LISTENER_ERROR_GROUP,  /* unknown group, or chgrp failed */
  MM_LISTENER_ERROR_MODE,   /* chmod failed */
  MM_LISTENER_ERROR_IN_USE, /* a live process already listens on the UNIX socket */
} MmListenerError;

typedef struct {
  guint unix_socket_mode;             /* e.g. 0660; 0 = leave as created */
  const char *unix_socket_group;      /* NULL = leave */
  gboolean remove_unix_socket_on_create;
  gboolean remove_unix_socket_on_close;
} MmListenerOptions;

typedef struct MmListener MmListener;

/* Called for each accepted connection with a non-blocking, close-on-exec fd. */
typedef void (*MmListenerAcceptFunc)(int fd, gpointer user_data);

/* mm_listener_new - bind and listen on SPEC; accepting starts with mm_listener_start */
MmListener *mm_listener_new(const MmConnectionSpec *spec, const MmListenerOptions *options,
                            GError **error);

/* mm_listener_start - accept connections on the default main context */
void mm_listener_start(MmListener *listener, MmListenerAcceptFunc accepted, gpointer user_data);

/* mm_listener_set_accepting - pause (FALSE) or resume accepting, e.g. for max_connections;
 * pending connections wait in the kernel's backlog, the main loop keeps running */
void mm_listener_set_accepting(MmListener *listener, gboolean accepting);

/* mm_listener_chown - give the UNIX socket file to UID (after dropping privileges the
 * effective user still owns its socket); no-op for TCP */
gboolean mm_listener_chown(MmListener *listener, uid_t uid, GError **error);

/* mm_listener_get_fd - the listening fd (shared with worker processes) */
int mm_listener_get_fd(MmListener *listener);

/* mm_listener_free - stop accepting, close, and remove the UNIX socket file if configured
 * and still ours; NULL-safe */
void mm_listener_free(MmListener *listener);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmListener, mm_listener_free)
