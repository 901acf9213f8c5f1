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
  MM_LISTENER_ERROR_OWNER,  /* chown (mm_listener_chown) failed */
} MmListenerError;

typedef struct {
  guint unix_socket_mode;             /* e.g. 0660; 0 = leave as created */
  const char *unix_socket_group;      /* NULL = leave */
  gboolean remove_unix_socket_on_create;
  gboolean remove_unix_socket_on_close;
} MmListenerOptions;

/* Connections accepted per wakeup, so that a flood cannot starve the other sessions. */
#define MM_LISTENER_ACCEPT_BATCH 64
/* How long accepting pauses when accept() runs out of fds (EMFILE, ENFILE) or memory. */
#define MM_LISTENER_RESOURCE_PAUSE_MS 100

typedef struct MmListener MmListener;

/* Called for each accepted connection with a non-blocking, close-on-exec fd. */
typedef void (*MmListenerAcceptFunc)(int fd, gpointer user_data);

/* mm_listener_new - bind and listen on SPEC; accepting starts with mm_listener_start.
 * OPTIONS NULL: mode and group left as created, remove the socket on create and close.
 * A UNIX path that exists is checked: a socket nobody answers on is stale (removed if
 * remove_unix_socket_on_create), a live one fails with MM_LISTENER_ERROR_IN_USE, anything
 * else fails and is left alone. The group is a name or a numeric gid; group and mode are
 * applied before listen(). inet6 listens on IPv6 only (IPV6_V6ONLY). */
MmListener *mm_listener_new(const MmConnectionSpec *spec, const MmListenerOptions *options,
                            GError **error);

/* mm_listener_start - accept connections on the default main context */
void mm_listener_start(MmListener *listener, MmListenerAcceptFunc accepted, gpointer user_data);

/* mm_listener_set_accepting - pause (FALSE) or resume accepting, e.g. for max_connections;
 * pending connections wait in the kernel's backlog, the main loop keeps running */
void mm_listener_set_accepting(MmListener *listener, gboolean accepting);

/* mm_listener_get_accept_failures - how many times accept() failed for lack of fds or
 * memory (each pausing accepting for MM_LISTENER_RESOURCE_PAUSE_MS); LAST_ERRNO (may be NULL)
 * gets the errno of the latest. The library does not log: the daemon reports the count. */
guint mm_listener_get_accept_failures(MmListener *listener, int *last_errno);

/* mm_listener_is_paused - whether accepting waits out such a shortage right now */
gboolean mm_listener_is_paused(MmListener *listener);

/* mm_listener_chown - give the UNIX socket file to UID (after dropping privileges the
 * effective user still owns its socket); no-op for TCP */
gboolean mm_listener_chown(MmListener *listener, uid_t uid, GError **error);

/* mm_listener_get_fd - the listening fd (shared with worker processes) */
int mm_listener_get_fd(MmListener *listener);

/* mm_listener_free - stop accepting, close, and remove the UNIX socket file if configured
 * and still ours (same device and inode as created); NULL-safe, safe from the accept
 * callback */
void mm_listener_free(MmListener *listener);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmListener, mm_listener_free)
