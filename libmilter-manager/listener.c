/* SPDX-License-Identifier: GPL-3.0-or-later */
/* listener.c: listening sockets from connection specs (see listener.h): stale UNIX socket
 * removal, socket mode and group, bounded non-blocking accept with a pause on fd exhaustion;
 * a watch on the I/O modules' shared event loop (event-loop.c), not a GSource of its own. */
#include "listener.h"

#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event-loop.h"

G_DEFINE_QUARK(mm-listener-error-quark, mm_listener_error)

struct MmListener {
  MmEventWatch watch; /* first: the event loop hands it back */
  int fd;
  MmConnectionSpecFamily family;
  char *path; /* UNIX socket file, NULL for TCP */
  char *text; /* the spec, for messages */
  gboolean remove_on_close;
  dev_t device; /* identity of the socket file we created */
  ino_t inode;

  gboolean started;
  gboolean acceptable; /* an edge announced connections not all accepted yet */
  MmListenerAcceptFunc accepted;
  gpointer user_data;
  gboolean accepting;
  gint64 paused_until; /* monotonic microseconds; 0 = not paused for lack of fds */
  guint n_accept_failures;
  int last_accept_errno;

  guint dispatching; /* the real free waits until no dispatch is on the stack */
  gboolean freed;
};

/* listener_release - free the memory */
static void
listener_release(MmListener *listener)
{
  g_free(listener->path);
  g_free(listener->text);
  g_free(listener);
}

/* resume_soon - try accepting on the next pass if connections may wait */
static void
resume_soon(MmListener *listener)
{
  if (listener->started && listener->accepting && listener->paused_until == 0 &&
      listener->acceptable)
    mm_event_watch_schedule(&listener->watch);
}

/* accept_some - accept up to MM_LISTENER_ACCEPT_BATCH connections */
static void
accept_some(MmListener *listener, gint64 now)
{
  for (guint i = 0; i < MM_LISTENER_ACCEPT_BATCH; i++) {
    if (listener->freed || !listener->accepting)
      return;
    int fd = accept4(listener->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      /* accept4 set both flags: mm_connection_new need not check them. */
      mm_event_loop_set_fresh_fd(fd);
      listener->accepted(fd, listener->user_data);
      mm_event_loop_set_fresh_fd(-1);
      continue;
    }
    int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK) {
      listener->acceptable = FALSE;
      return;
    }
    /* A connection that died in the backlog, or a network error Linux passes through. */
    if (error == EINTR || error == ECONNABORTED || error == EPROTO || error == EPERM ||
        error == ENETDOWN || error == ENOPROTOOPT || error == EHOSTDOWN || error == ENONET ||
        error == EHOSTUNREACH || error == EOPNOTSUPP || error == ENETUNREACH)
      continue;
    /* Out of fds or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) or an unexpected error: the
     * backlog stays readable, so polling again would spin; wait a little instead and let
     * the owner see the count. */
    listener->n_accept_failures++;
    listener->last_accept_errno = error;
    listener->paused_until = now + (gint64)MM_LISTENER_RESOURCE_PAUSE_MS * 1000;
    mm_event_watch_set_deadline(&listener->watch, listener->paused_until);
    return;
  }
  /* A full batch: the rest on the next pass, after the other connections had their turn. */
  resume_soon(listener);
}

/* watch_fd - put the socket in the epoll set (the first edge comes at once when connections
 * already wait); when the set cannot take it (out of memory), retry after a pause */
static gboolean
watch_fd(MmListener *listener, gint64 now)
{
  int status = mm_event_watch_add_fd(&listener->watch, listener->fd, FALSE);
  if (status == 0)
    return TRUE;
  listener->n_accept_failures++;
  listener->last_accept_errno = status;
  listener->paused_until = now + (gint64)MM_LISTENER_RESOURCE_PAUSE_MS * 1000;
  mm_event_watch_set_deadline(&listener->watch, listener->paused_until);
  return FALSE;
}

/* on_event - the event loop's call: connections waiting, or the end of an fd pause */
static void
on_event(MmEventWatch *watch, guint32 events, gint64 now)
{
  MmListener *listener = (MmListener *)watch;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
    listener->acceptable = TRUE;
  if (listener->paused_until != 0 && now >= listener->paused_until) {
    listener->paused_until = 0;
    mm_event_watch_set_deadline(watch, 0);
    if (watch->slot == 0 && !watch_fd(listener, now))
      return;
  }
  if (listener->paused_until != 0 || !listener->accepting || !listener->acceptable)
    return;
  listener->dispatching++;
  accept_some(listener, now);
  listener->dispatching--;
  if (listener->freed && listener->dispatching == 0)
    listener_release(listener);
}

/* socket_error - a SOCKET error naming the spec, the step and errno */
static void
socket_error(GError **error, const char *text, const char *step, int number)
{
  g_set_error(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_SOCKET, "cannot listen on %s: %s: %s",
              text, step, g_strerror(number));
}

/* lookup_group - a group name or a numeric gid */
static gboolean
lookup_group(const char *name, gid_t *gid)
{
  long size = sysconf(_SC_GETGR_R_SIZE_MAX);
  gsize buffer_size = size > 0 ? (gsize)size : 16384;
  for (int attempt = 0; attempt < 6; attempt++, buffer_size *= 2) {
    g_autofree char *buffer = g_malloc(buffer_size);
    struct group entry, *found = NULL;
    int status = getgrnam_r(name, &entry, buffer, buffer_size, &found);
    if (status == ERANGE)
      continue;
    if (status == 0 && found) {
      *gid = found->gr_gid;
      return TRUE;
    }
    break;
  }
  guint64 number = 0;
  if (g_ascii_string_to_unsigned(name, 10, 0, G_MAXUINT32 - 1, &number, NULL)) {
    *gid = (gid_t)number;
    return TRUE;
  }
  return FALSE;
}

/* clear_stale_socket - refuse a live socket or a non-socket at PATH; unlink a stale one */
static gboolean
clear_stale_socket(const char *text, const char *path, const struct sockaddr_storage *address,
                   socklen_t address_length, gboolean remove, GError **error)
{
  struct stat status;
  if (lstat(path, &status) < 0)
    return TRUE;
  if (!S_ISSOCK(status.st_mode)) {
    g_set_error(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_SOCKET,
                "cannot listen on %s: %s exists and is not a socket", text, path);
    return FALSE;
  }
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) {
    socket_error(error, text, "socket", errno);
    return FALSE;
  }
  int result = connect(probe, (const struct sockaddr *)address, address_length);
  int number = errno;
  close(probe);
  if (result == 0 || number == EAGAIN || number == EINPROGRESS) {
    g_set_error(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_IN_USE,
                "cannot listen on %s: another process is listening on %s", text, path);
    return FALSE;
  }
  if (number != ECONNREFUSED) {
    socket_error(error, text, "checking the existing socket", number);
    return FALSE;
  }
  if (remove && unlink(path) < 0 && errno != ENOENT) {
    socket_error(error, text, "removing the stale socket", errno);
    return FALSE;
  }
  return TRUE;
}

/* setup_unix_file - record the socket file's identity, then apply group and mode */
static gboolean
setup_unix_file(MmListener *listener, const MmListenerOptions *options, GError **error)
{
  struct stat status;
  if (lstat(listener->path, &status) < 0) {
    socket_error(error, listener->text, "stat", errno);
    return FALSE;
  }
  listener->device = status.st_dev;
  listener->inode = status.st_ino;
  const char *group = options->unix_socket_group;
  if (group && *group) {
    gid_t gid = 0;
    if (!lookup_group(group, &gid)) {
      g_set_error(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_GROUP,
                  "cannot listen on %s: unknown group \"%s\"", listener->text, group);
      return FALSE;
    }
    if (chown(listener->path, (uid_t)-1, gid) < 0) {
      g_set_error(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_GROUP,
                  "cannot listen on %s: changing the group to \"%s\": %s", listener->text,
                  group, g_strerror(errno));
      return FALSE;
    }
  }
  if (options->unix_socket_mode != 0 && chmod(listener->path, options->unix_socket_mode & 07777) < 0) {
    g_set_error(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_MODE,
                "cannot listen on %s: changing the mode to %04o: %s", listener->text,
                options->unix_socket_mode, g_strerror(errno));
    return FALSE;
  }
  return TRUE;
}

/* is_our_file - whether the socket file at the path is still the one we created */
static gboolean
is_our_file(const MmListener *listener)
{
  struct stat status;
  return listener->path && lstat(listener->path, &status) == 0 && S_ISSOCK(status.st_mode) &&
         status.st_dev == listener->device && status.st_ino == listener->inode;
}

/* mm_listener_new - bind and listen on SPEC */
MmListener *
mm_listener_new(const MmConnectionSpec *spec, const MmListenerOptions *options, GError **error)
{
  g_return_val_if_fail(spec != NULL, NULL);
  static const MmListenerOptions defaults = {
    .remove_unix_socket_on_create = TRUE,
    .remove_unix_socket_on_close = TRUE,
  };
  if (!options)
    options = &defaults;
  struct sockaddr_storage address;
  socklen_t address_length = 0;
  if (!mm_connection_spec_to_sockaddr(spec, &address, &address_length, error))
    return NULL;
  gboolean is_unix = spec->family == MM_CONNECTION_SPEC_UNIX;
  if (is_unix && !clear_stale_socket(spec->text, spec->path, &address, address_length,
                                     options->remove_unix_socket_on_create, error))
    return NULL;

  MmListener *listener = g_new0(MmListener, 1);
  listener->family = spec->family;
  listener->text = g_strdup(spec->text);
  listener->accepting = TRUE;
  listener->fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener->fd < 0) {
    socket_error(error, spec->text, "socket", errno);
    mm_listener_free(listener);
    return NULL;
  }
  int on = 1;
  if (!is_unix && setsockopt(listener->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) {
    socket_error(error, spec->text, "SO_REUSEADDR", errno);
    mm_listener_free(listener);
    return NULL;
  }
  /* inet6 means IPv6 only: inet:PORT may listen on the same port for IPv4. */
  if (address.ss_family == AF_INET6 &&
      setsockopt(listener->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) < 0) {
    socket_error(error, spec->text, "IPV6_V6ONLY", errno);
    mm_listener_free(listener);
    return NULL;
  }
  if (bind(listener->fd, (struct sockaddr *)&address, address_length) < 0) {
    socket_error(error, spec->text, "bind", errno);
    mm_listener_free(listener);
    return NULL;
  }
  if (is_unix) {
    listener->path = g_strdup(spec->path);
    /* Until the file is known to be ours, a failure must not remove it. */
    listener->remove_on_close = FALSE;
    if (!setup_unix_file(listener, options, error)) {
      listener->remove_on_close = listener->inode != 0;
      mm_listener_free(listener);
      return NULL;
    }
  }
  /* Group and mode are set before listen() so no peer connects under the umask's mode. */
  if (listen(listener->fd, SOMAXCONN) < 0) {
    socket_error(error, spec->text, "listen", errno);
    listener->remove_on_close = is_unix;
    mm_listener_free(listener);
    return NULL;
  }
  listener->remove_on_close = is_unix && options->remove_unix_socket_on_close;
  return listener;
}

/* mm_listener_start - accept connections on the default main context */
void
mm_listener_start(MmListener *listener, MmListenerAcceptFunc accepted, gpointer user_data)
{
  g_return_if_fail(listener != NULL && accepted != NULL && !listener->started);
  listener->accepted = accepted;
  listener->user_data = user_data;
  listener->started = TRUE;
  mm_event_watch_init(&listener->watch, on_event);
  watch_fd(listener, g_get_monotonic_time());
}

/* mm_listener_set_accepting - pause or resume accepting */
void
mm_listener_set_accepting(MmListener *listener, gboolean accepting)
{
  g_return_if_fail(listener != NULL);
  listener->accepting = !!accepting;
  /* Edges that came while paused are not repeated. */
  resume_soon(listener);
}

/* mm_listener_get_accept_failures - how often accept() failed for lack of resources */
guint
mm_listener_get_accept_failures(MmListener *listener, int *last_errno)
{
  g_return_val_if_fail(listener != NULL, 0);
  if (last_errno)
    *last_errno = listener->last_accept_errno;
  return listener->n_accept_failures;
}

/* mm_listener_is_paused - whether accepting waits out a resource shortage */
gboolean
mm_listener_is_paused(MmListener *listener)
{
  g_return_val_if_fail(listener != NULL, FALSE);
  return listener->paused_until != 0;
}

/* mm_listener_chown - give the UNIX socket file to UID */
gboolean
mm_listener_chown(MmListener *listener, uid_t uid, GError **error)
{
  g_return_val_if_fail(listener != NULL, FALSE);
  if (!listener->path)
    return TRUE;
  if (chown(listener->path, uid, (gid_t)-1) < 0) {
    g_set_error(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_OWNER,
                "cannot give %s to user %u: %s", listener->text, (guint)uid, g_strerror(errno));
    return FALSE;
  }
  return TRUE;
}

/* mm_listener_get_fd - the listening fd */
int
mm_listener_get_fd(MmListener *listener)
{
  g_return_val_if_fail(listener != NULL, -1);
  return listener->fd;
}

/* mm_listener_free - stop, close, and remove the socket file if still ours */
void
mm_listener_free(MmListener *listener)
{
  if (!listener || listener->freed)
    return;
  listener->freed = TRUE;
  if (listener->started) {
    /* Worker processes share the socket: take it out of our epoll set explicitly. */
    mm_event_watch_clear(&listener->watch);
    mm_event_watch_remove_fd(&listener->watch);
  }
  if (listener->remove_on_close && is_our_file(listener))
    unlink(listener->path);
  if (listener->fd >= 0)
    close(listener->fd);
  listener->fd = -1;
  if (listener->dispatching == 0)
    listener_release(listener);
}
