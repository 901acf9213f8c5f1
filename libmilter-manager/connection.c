/* SPDX-License-Identifier: GPL-3.0-or-later */
/* connection.c: the only socket I/O (see connection.h): every connection is one watch on the
 * process's shared epoll source (event-loop.c), its two deadlines one entry in its heap. */
#include "connection.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "event-loop.h"
#include "output-queue.h"
#include "packet.h"
#include "protocol.h"

/* Pooled connections are poisoned for AddressSanitizer, so that a use after
 * mm_connection_free is still reported although the memory is not freed. */
#if defined(__SANITIZE_ADDRESS__)
#define MM_CONNECTION_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MM_CONNECTION_ASAN 1
#endif
#endif
#ifdef MM_CONNECTION_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(address, size) ASAN_POISON_MEMORY_REGION(address, size)
#define UNPOISON(address, size) ASAN_UNPOISON_MEMORY_REGION(address, size)
#else
#define POISON(address, size) ((void)(address), (void)(size))
#define UNPOISON(address, size) ((void)(address), (void)(size))
#endif

G_DEFINE_QUARK(mm-connection-error-quark, mm_connection_error)

/* The input buffer starts this small (thousands of idle sessions) and grows to the largest
 * packet seen, never beyond one packet of the negotiated maximum. An MTA's connection gets
 * bursts (headers and body sent without waiting for replies); a child's gets small replies,
 * so its buffer starts smaller: at 50 sessions through 3 children that is 0.6 MB less. */
#define MM_CONNECTION_INPUT_INITIAL_SIZE 4096
#define MM_CONNECTION_CHILD_INPUT_INITIAL_SIZE 1024
/* Written output is cut from the front of the queue only past this, to keep memmove rare. */
#define MM_CONNECTION_OUTPUT_COMPACT_SIZE 65536
/* Freed connections kept, with their buffers, for the next ones: no allocation per session
 * in the steady state. */
#define MM_CONNECTION_POOL_SIZE 64
/* Buffers that grew beyond this (a large body chunk) are not kept in the pool. */
#define MM_CONNECTION_POOL_BUFFER_MAX 16384
/* Referenced output shorter than this is copied: a copy costs less than the bookkeeping and
 * the gathered write, and small packets keep leaving in one plain send. */
#define MM_CONNECTION_REFERENCE_MIN 4096
/* Pieces of output one gathered write takes at most (far below IOV_MAX). */
#define MM_CONNECTION_IOV_MAX 16

typedef enum {
  STATE_CONNECTING,
  STATE_OPEN,
  STATE_CLOSED,
} ConnectionState;

struct MmConnection {
  MmEventWatch watch; /* first: the event loop hands it back */
  int fd;
  ConnectionState state;
  MmConnectionHandlers handlers;
  gpointer user_data;
  char *name; /* the spec of an outgoing connection, for messages */

  gboolean reading;
  /* Edge-triggered readiness: set by an event, cleared when a call meets EAGAIN. */
  gboolean readable;
  gboolean writable;
  gboolean hung_up;          /* the peer's end of file or an error is waiting to be read */
  gboolean deliver_pending;  /* whole packets may wait in the input after resuming */
  gboolean connect_pending;  /* connect() succeeded at once: report it from the loop */
  GError *pending_error;     /* found outside a dispatch: reported from the loop */

  guint8 *input;
  gsize input_start;  /* first byte not yet delivered */
  gsize input_length; /* bytes held */
  gsize input_capacity;
  gsize max_data_length;

  MmOutputQueue output;
  gsize output_peak; /* largest queue seen: whether the buffer may go back to the pool */
  gsize input_step;  /* the input buffer's first size and growth step */
  gsize max_pending_output;
  guint write_timeout;   /* milliseconds, 0 = none */
  gint64 write_deadline; /* monotonic microseconds, 0 = none */
  gint64 timer_deadline;

  guint dispatching; /* a dispatch is on the stack: the real free waits for it */
  gboolean freed;
};

/* The buffers' pointers are kept here too: the leak checker does not look inside poisoned
 * memory. */
typedef struct {
  MmConnection *connection;
  guint8 *input;
  GByteArray *output;
} PoolEntry;

static struct {
  PoolEntry entries[MM_CONNECTION_POOL_SIZE];
  guint length;
} pool;

/* The event loop's time for the iteration whose dispatch is on the stack (0: none): every
 * deadline armed while handling a packet counts from it, as GLib's own timeouts count from
 * the iteration's time, instead of asking the clock once per packet. */
static gint64 dispatch_now;

/* current_time - the iteration's monotonic time inside a dispatch, the clock's outside */
static gint64
current_time(void)
{
  return dispatch_now != 0 ? dispatch_now : g_get_monotonic_time();
}

/* mm_connection_get_time - the monotonic time deadlines count from now */
gint64
mm_connection_get_time(void)
{
  return current_time();
}

/* pending_output - bytes queued and not yet written */
static gsize
pending_output(const MmConnection *connection)
{
  return mm_output_queue_pending(&connection->output);
}

/* send_pieces - one send (one piece) or sendmsg (several); a pipe or file gets write(v) */
static ssize_t
send_pieces(int fd, struct iovec *iov, int n)
{
  if (n == 1) {
    ssize_t written = send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (written < 0 && errno == ENOTSOCK)
      written = write(fd, iov[0].iov_base, iov[0].iov_len);
    return written;
  }
  struct msghdr message = {.msg_iov = iov, .msg_iovlen = (size_t)n};
  ssize_t written = sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (written < 0 && errno == ENOTSOCK)
    written = writev(fd, iov, n);
  return written;
}

/* sync_deadline - give the event loop the nearer of the timer and the write deadline */
static void
sync_deadline(MmConnection *connection)
{
  gint64 a = connection->timer_deadline, b = connection->write_deadline;
  gint64 deadline = a == 0 ? b : b == 0 ? a : MIN(a, b);
  /* Mostly unchanged (every flush and dispatch ends here): no call then. */
  if (deadline != connection->watch.deadline)
    mm_event_watch_set_deadline(&connection->watch, deadline);
}

/* set_pending_error - keep ERROR (taken) for the loop to report, and wake for it */
static void
set_pending_error(MmConnection *connection, GError *error)
{
  if (connection->pending_error)
    g_error_free(error);
  else
    connection->pending_error = error;
  mm_event_watch_schedule(&connection->watch);
}

/* watch_output - watch for output space only while output waits on a full socket */
static void
watch_output(MmConnection *connection, gboolean output)
{
  int status = mm_event_watch_set_output(&connection->watch, output);
  if (status != 0)
    set_pending_error(connection,
                      g_error_new(MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_WRITE,
                                  "cannot watch the socket for output: %s", g_strerror(status)));
}

/* release_fd - stop watching and close the fd */
static void
release_fd(MmConnection *connection)
{
  mm_event_watch_clear(&connection->watch);
  mm_event_watch_close_fd(&connection->watch, connection->fd);
  connection->fd = -1;
}

/* connection_close - end the connection once: report ERROR (taken) through connected()
 * while connecting, else closed(); then release the fd unless the handler freed us */
static void
connection_close(MmConnection *connection, GError *error)
{
  if (connection->state == STATE_CLOSED || connection->freed) {
    g_clear_error(&error);
    return;
  }
  gboolean was_connecting = connection->state == STATE_CONNECTING;
  connection->state = STATE_CLOSED;
  connection->timer_deadline = 0;
  connection->write_deadline = 0;
  connection->deliver_pending = FALSE;
  connection->connect_pending = FALSE;
  /* No event, deadline or queued call reaches a closed connection. */
  mm_event_watch_clear(&connection->watch);
  if (was_connecting && connection->handlers.connected)
    connection->handlers.connected(connection->user_data, error);
  else if (connection->handlers.closed)
    connection->handlers.closed(connection->user_data, error);
  g_clear_error(&error);
  if (connection->freed)
    return;
  release_fd(connection);
  connection->input_start = connection->input_length = 0;
  mm_output_queue_clear(&connection->output);
}

/* close_with - close with a new error of CODE */
static void G_GNUC_PRINTF(3, 4)
close_with(MmConnection *connection, MmConnectionError code, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  GError *error = g_error_new_valist(MM_CONNECTION_ERROR, code, format, args);
  va_end(args);
  connection_close(connection, error);
}

/* deliver - hand every whole packet to the owner until it pauses, frees or closes us */
static void
deliver(MmConnection *connection)
{
  connection->deliver_pending = FALSE;
  while (connection->reading && connection->state == STATE_OPEN && !connection->freed) {
    char code = 0;
    const guint8 *data = NULL;
    gsize data_length = 0, consumed = 0;
    g_autoptr(GError) error = NULL;
    MmPacketResult result = mm_packet_next(
      connection->input + connection->input_start,
      connection->input_length - connection->input_start, connection->max_data_length, &code,
      &data, &data_length, &consumed, &error);
    if (result == MM_PACKET_INCOMPLETE)
      break;
    if (result == MM_PACKET_INVALID) {
      close_with(connection, MM_CONNECTION_ERROR_FRAMING, "%s", error->message);
      return;
    }
    connection->input_start += consumed;
    connection->handlers.packet(connection->user_data, code, data, data_length);
  }
  if (connection->freed || connection->state != STATE_OPEN)
    return;
  if (connection->input_start == connection->input_length)
    connection->input_start = connection->input_length = 0;
}

/* make_room - compact the input and grow it when full, to exactly the packet being read */
static void
make_room(MmConnection *connection)
{
  if (connection->input_start > 0) {
    memmove(connection->input, connection->input + connection->input_start,
            connection->input_length - connection->input_start);
    connection->input_length -= connection->input_start;
    connection->input_start = 0;
  }
  if (connection->input_length < connection->input_capacity)
    return;
  gsize needed = connection->input_step;
  if (connection->input_length >= MM_PACKET_HEADER_SIZE) {
    const guint8 *p = connection->input;
    guint32 length = ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
    needed = MM_PACKET_HEADER_SIZE + (gsize)length;
  }
  /* deliver() has already checked the length against the maximum; this only guards. */
  if (needed <= connection->input_length)
    needed = connection->input_length + connection->input_step;
  connection->input = g_realloc(connection->input, needed);
  connection->input_capacity = needed;
}

/* read_some - one read, then deliver what it completed; readable stays set only when more
 * may wait (the buffer filled up, or a hang-up is still to be read) */
static void
read_some(MmConnection *connection)
{
  make_room(connection);
  gsize room = connection->input_capacity - connection->input_length;
  ssize_t n = read(connection->fd, connection->input + connection->input_length, room);
  if (n < 0) {
    if (errno == EINTR)
      return;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      connection->readable = FALSE;
      return;
    }
    close_with(connection, MM_CONNECTION_ERROR_READ, "read failed: %s", g_strerror(errno));
    return;
  }
  if (n == 0) {
    if (connection->input_length > 0)
      close_with(connection, MM_CONNECTION_ERROR_READ,
                 "peer closed the connection in the middle of a packet (%" G_GSIZE_FORMAT
                 " bytes received)",
                 connection->input_length);
    else
      connection_close(connection, NULL);
    return;
  }
  /* A short read emptied the socket: the next arrival is a new edge. */
  connection->readable = (gsize)n == room || connection->hung_up;
  connection->input_length += (gsize)n;
  deliver(connection);
}

/* write_some - write what the socket takes; FALSE with ERROR on failure or past the bound */
static gboolean
write_some(MmConnection *connection, GError **error)
{
  gboolean progress = FALSE;
  connection->output_peak = MAX(connection->output_peak, (gsize)connection->output.buffer->len);
  while (pending_output(connection) > 0 && connection->writable) {
    struct iovec iov[MM_CONNECTION_IOV_MAX];
    int pieces = mm_output_queue_gather(&connection->output, iov, MM_CONNECTION_IOV_MAX);
    ssize_t n = send_pieces(connection->fd, iov, pieces);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        connection->writable = FALSE;
        break;
      }
      g_set_error(error, MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_WRITE, "write failed: %s",
                  g_strerror(errno));
      return FALSE;
    }
    mm_output_queue_advance(&connection->output, (gsize)n);
    progress = TRUE;
  }
  gsize pending = pending_output(connection);
  if (pending == 0) {
    mm_output_queue_rewind(&connection->output);
    connection->write_deadline = 0;
    watch_output(connection, FALSE);
    return TRUE;
  }
  watch_output(connection, !connection->writable);
  if (connection->output.sent > MM_CONNECTION_OUTPUT_COMPACT_SIZE &&
      connection->output.sent > pending)
    mm_output_queue_compact(&connection->output);
  if (connection->write_timeout == 0)
    connection->write_deadline = 0;
  else if (progress || connection->write_deadline == 0)
    connection->write_deadline = current_time() + (gint64)connection->write_timeout * 1000;
  if (connection->max_pending_output > 0 && pending > connection->max_pending_output) {
    g_set_error(error, MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_OUTPUT_LIMIT,
                "%" G_GSIZE_FORMAT " bytes of output wait for the peer, more than the limit of %"
                G_GSIZE_FORMAT,
                pending, connection->max_pending_output);
    return FALSE;
  }
  return TRUE;
}

/* write_or_close - write_some from inside a dispatch, closing on failure */
static void
write_or_close(MmConnection *connection)
{
  GError *error = NULL;
  if (!write_some(connection, &error))
    connection_close(connection, error);
}

/* become_open - the connect finished: report it, then send what was queued meanwhile */
static void
become_open(MmConnection *connection)
{
  connection->state = STATE_OPEN;
  connection->writable = TRUE;
  watch_output(connection, FALSE);
  if (connection->handlers.connected)
    connection->handlers.connected(connection->user_data, NULL);
  if (!connection->freed && connection->state == STATE_OPEN && pending_output(connection) > 0)
    write_or_close(connection);
}

/* finish_connect - the outcome of a non-blocking connect that was in progress, from SO_ERROR */
static void
finish_connect(MmConnection *connection)
{
  int status = 0;
  socklen_t length = sizeof status;
  if (getsockopt(connection->fd, SOL_SOCKET, SO_ERROR, &status, &length) < 0)
    status = errno;
  if (status == EINPROGRESS || status == EALREADY)
    return;
  if (status != 0) {
    close_with(connection, MM_CONNECTION_ERROR_CONNECT, "connect to %s failed: %s",
               connection->name, g_strerror(status));
    return;
  }
  become_open(connection);
}

/* connection_dispatch - one wakeup: deferred reports, fd events, then deadlines */
static void
connection_dispatch(MmConnection *connection, guint32 events, gint64 now)
{
  if (connection->pending_error) {
    connection_close(connection, g_steal_pointer(&connection->pending_error));
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
    connection->readable = TRUE;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
    connection->hung_up = TRUE;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
    connection->writable = TRUE;
  if (connection->state == STATE_CONNECTING) {
    if (connection->connect_pending) {
      /* connect() returned 0: nothing for SO_ERROR to tell. */
      connection->connect_pending = FALSE;
      become_open(connection);
    } else if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
      finish_connect(connection);
    }
  } else if (connection->state == STATE_OPEN) {
    if (connection->deliver_pending && connection->reading)
      deliver(connection);
    if (!connection->freed && connection->state == STATE_OPEN && connection->reading &&
        connection->readable)
      read_some(connection);
    if (!connection->freed && connection->state == STATE_OPEN && pending_output(connection) > 0 &&
        connection->writable)
      write_or_close(connection);
  }
  if (connection->freed || connection->state == STATE_CLOSED)
    return;
  if (connection->write_deadline != 0 && now >= connection->write_deadline) {
    close_with(connection, MM_CONNECTION_ERROR_WRITE_TIMEOUT,
               "%" G_GSIZE_FORMAT " bytes of output made no progress for %u ms",
               pending_output(connection), connection->write_timeout);
    return;
  }
  if (connection->timer_deadline != 0 && now >= connection->timer_deadline) {
    connection->timer_deadline = 0;
    if (connection->handlers.timeout)
      connection->handlers.timeout(connection->user_data);
  }
  if (connection->freed || connection->state == STATE_CLOSED)
    return;
  /* No edge comes for bytes left behind: read them on the next pass (one read per pass keeps
   * a fast peer from starving the others). */
  if (connection->state == STATE_OPEN && connection->reading && connection->readable)
    mm_event_watch_schedule(&connection->watch);
  sync_deadline(connection);
}

/* connection_release - free the memory, or keep it with its buffers for the next connection */
static void
connection_release(MmConnection *connection)
{
  g_clear_pointer(&connection->name, g_free);
  g_clear_error(&connection->pending_error);
  /* Referenced bytes belong to others: none stays behind in a pooled connection. */
  mm_output_queue_release_references(&connection->output);
  if (pool.length < MM_CONNECTION_POOL_SIZE &&
      connection->input_capacity <= MM_CONNECTION_POOL_BUFFER_MAX &&
      connection->output_peak <= MM_CONNECTION_POOL_BUFFER_MAX) {
    pool.entries[pool.length++] =
      (PoolEntry){connection, connection->input, connection->output.buffer};
    if (connection->input)
      POISON(connection->input, connection->input_capacity);
    POISON(connection, sizeof *connection);
    return;
  }
  g_free(connection->input);
  g_byte_array_unref(connection->output.buffer);
  g_free(connection);
}

/* on_event - the event loop's call: run one dispatch; a free requested inside it happens on
 * the way out */
static void
on_event(MmEventWatch *watch, guint32 events, gint64 now)
{
  MmConnection *connection = (MmConnection *)watch;
  gint64 outer_now = dispatch_now;
  dispatch_now = now;
  connection->dispatching++;
  connection_dispatch(connection, events, now);
  connection->dispatching--;
  dispatch_now = outer_now;
  if (connection->freed && connection->dispatching == 0)
    connection_release(connection);
}

/* connection_create - the shared part of new and connect, from the pool if it can; OUTPUT:
 * watch for output space (a connect in progress) */
static MmConnection *
connection_create(int fd, ConnectionState state, gboolean output,
                  const MmConnectionHandlers *handlers, gpointer user_data)
{
  MmConnection *connection;
  if (pool.length > 0) {
    connection = pool.entries[--pool.length].connection;
    UNPOISON(connection, sizeof *connection);
    if (connection->input)
      UNPOISON(connection->input, connection->input_capacity);
    guint8 *input = connection->input;
    gsize input_capacity = connection->input_capacity;
    GByteArray *output = connection->output.buffer;
    *connection = (MmConnection){
      .input = input,
      .input_capacity = input_capacity,
      .output.buffer = output,
    };
  } else {
    connection = g_new0(MmConnection, 1);
    connection->output.buffer = g_byte_array_new();
  }
  mm_event_watch_init(&connection->watch, on_event);
  connection->fd = fd;
  connection->state = state;
  connection->handlers = *handlers;
  connection->user_data = user_data;
  connection->reading = TRUE;
  connection->writable = state == STATE_OPEN;
  connection->max_data_length = MM_DATA_SIZE_DEFAULT;
  connection->input_step = state == STATE_CONNECTING ? MM_CONNECTION_CHILD_INPUT_INITIAL_SIZE
                                                     : MM_CONNECTION_INPUT_INITIAL_SIZE;
  int status = mm_event_watch_add_fd(&connection->watch, fd, output);
  if (status != 0)
    set_pending_error(connection, g_error_new(MM_CONNECTION_ERROR,
                                              state == STATE_CONNECTING
                                                ? MM_CONNECTION_ERROR_CONNECT
                                                : MM_CONNECTION_ERROR_READ,
                                              "cannot watch the socket: %s", g_strerror(status)));
  return connection;
}

/* mm_connection_new - take over FD */
MmConnection *
mm_connection_new(int fd, const MmConnectionHandlers *handlers, gpointer user_data)
{
  g_return_val_if_fail(fd >= 0 && handlers != NULL && handlers->packet != NULL, NULL);
  /* A listener's fd comes from accept4 with both flags: no fcntl for it. */
  if (!mm_event_loop_is_fresh_fd(fd)) {
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && !(flags & O_NONBLOCK))
      fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int fd_flags = fcntl(fd, F_GETFD);
    if (fd_flags >= 0 && !(fd_flags & FD_CLOEXEC))
      fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC);
  }
  MmConnection *connection = connection_create(fd, STATE_OPEN, FALSE, handlers, user_data);
  /* Bytes may have arrived before the fd joined the epoll set; the edge for them is the
   * one epoll_ctl reports at once, so no read is tried before it. */
  return connection;
}

/* to_loopback - the wildcard address of a host-less spec becomes loopback for connecting */
static void
to_loopback(struct sockaddr_storage *address)
{
  if (address->ss_family == AF_INET)
    ((struct sockaddr_in *)address)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  else if (address->ss_family == AF_INET6)
    ((struct sockaddr_in6 *)address)->sin6_addr = in6addr_loopback;
}

/* mm_connection_connect - start a non-blocking connect to SPEC */
MmConnection *
mm_connection_connect(const MmConnectionSpec *spec, const MmConnectionHandlers *handlers,
                      gpointer user_data, GError **error)
{
  g_return_val_if_fail(spec != NULL && handlers != NULL && handlers->packet != NULL, NULL);
  struct sockaddr_storage address;
  socklen_t address_length = 0;
  if (!mm_connection_spec_to_sockaddr(spec, &address, &address_length, error))
    return NULL;
  if (mm_connection_spec_is_wildcard(spec))
    to_loopback(&address);
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    g_set_error(error, MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_CONNECT,
                "connect to %s failed: socket: %s", spec->text, g_strerror(errno));
    return NULL;
  }
  int status;
  do
    status = connect(fd, (struct sockaddr *)&address, address_length);
  while (status < 0 && errno == EINTR);
  int number = errno;
  MmConnection *connection = connection_create(fd, STATE_CONNECTING, status != 0, handlers, user_data);
  connection->name = g_strdup(spec->text);
  if (status == 0) {
    connection->connect_pending = TRUE;
    mm_event_watch_schedule(&connection->watch);
  } else if (number != EINPROGRESS) {
    set_pending_error(connection, g_error_new(MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_CONNECT,
                                              "connect to %s failed: %s", spec->text,
                                              g_strerror(number)));
  }
  return connection;
}

/* mm_connection_free - close and leave the loop; the memory waits for the dispatch */
void
mm_connection_free(MmConnection *connection)
{
  if (!connection || connection->freed)
    return;
  connection->freed = TRUE;
  release_fd(connection);
  if (connection->dispatching > 0)
    return;
  connection_release(connection);
}

/* mm_connection_output - the buffer to append encoded packets to */
GByteArray *
mm_connection_output(MmConnection *connection)
{
  g_return_val_if_fail(connection != NULL, NULL);
  return connection->output.buffer;
}

/* mm_connection_output_add_bytes - queue bytes by reference after the output buffer */
void
mm_connection_output_add_bytes(MmConnection *connection, GBytes *bytes, gsize offset,
                               gsize length)
{
  g_return_if_fail(connection != NULL && bytes != NULL);
  gsize size = 0;
  const guint8 *data = g_bytes_get_data(bytes, &size);
  g_return_if_fail(offset <= size && length <= size - offset);
  /* A closed connection's output is dropped at the next flush: drop these at once. */
  if (length == 0 || connection->freed || connection->state == STATE_CLOSED)
    return;
  if (length < MM_CONNECTION_REFERENCE_MIN)
    g_byte_array_append(connection->output.buffer, data + offset, (guint)length);
  else
    mm_output_queue_add_bytes(&connection->output, bytes, offset, length);
}

/* mm_connection_flush - write now what the socket takes, the rest when it is writable */
void
mm_connection_flush(MmConnection *connection)
{
  g_return_if_fail(connection != NULL);
  if (connection->freed)
    return;
  if (connection->state == STATE_CLOSED) {
    mm_output_queue_clear(&connection->output);
    return;
  }
  if (connection->state != STATE_OPEN || connection->pending_error ||
      pending_output(connection) == 0)
    return;
  GError *error = NULL;
  if (!write_some(connection, &error))
    set_pending_error(connection, error);
  sync_deadline(connection);
}

/* mm_connection_get_pending_output - bytes queued and not yet written */
gsize
mm_connection_get_pending_output(MmConnection *connection)
{
  g_return_val_if_fail(connection != NULL, 0);
  return pending_output(connection);
}

/* mm_connection_set_max_data_length - largest packet data accepted on read */
void
mm_connection_set_max_data_length(MmConnection *connection, gsize max_data_length)
{
  g_return_if_fail(connection != NULL);
  connection->max_data_length = max_data_length;
}

/* mm_connection_set_max_pending_output - bound on queued output, 0 = none */
void
mm_connection_set_max_pending_output(MmConnection *connection, gsize max_bytes)
{
  g_return_if_fail(connection != NULL);
  connection->max_pending_output = max_bytes;
}

/* mm_connection_set_write_timeout - how long queued output may make no progress */
void
mm_connection_set_write_timeout(MmConnection *connection, guint milliseconds)
{
  g_return_if_fail(connection != NULL);
  connection->write_timeout = milliseconds;
  if (milliseconds == 0)
    connection->write_deadline = 0;
  else if (pending_output(connection) > 0 && connection->state == STATE_OPEN)
    connection->write_deadline = current_time() + (gint64)milliseconds * 1000;
  if (connection->state != STATE_CLOSED && !connection->freed)
    sync_deadline(connection);
}

/* mm_connection_set_timeout - (re)arm the single timer; 0 cancels it */
void
mm_connection_set_timeout(MmConnection *connection, guint milliseconds)
{
  g_return_if_fail(connection != NULL);
  if (connection->state == STATE_CLOSED || connection->freed) {
    connection->timer_deadline = 0;
    return;
  }
  gint64 deadline = milliseconds == 0 ? 0 : current_time() + (gint64)milliseconds * 1000;
  if (deadline == connection->timer_deadline)
    return; /* cancelling no timer, or re-arming within the same iteration */
  connection->timer_deadline = deadline;
  sync_deadline(connection);
}

/* mm_connection_set_reading - stop or resume reading; queued packets wait for resuming */
void
mm_connection_set_reading(MmConnection *connection, gboolean reading)
{
  g_return_if_fail(connection != NULL);
  reading = !!reading;
  if (connection->reading == reading || connection->freed)
    return;
  connection->reading = reading;
  if (connection->state == STATE_CLOSED || !reading)
    return;
  /* Edges seen while paused are not repeated: pick up what they announced. */
  if (connection->input_length > connection->input_start)
    connection->deliver_pending = TRUE;
  if (connection->state == STATE_OPEN && (connection->deliver_pending || connection->readable))
    mm_event_watch_schedule(&connection->watch);
}

/* mm_connection_get_fd - the fd, -1 once closed() has returned or after free */
int
mm_connection_get_fd(MmConnection *connection)
{
  g_return_val_if_fail(connection != NULL, -1);
  return connection->fd;
}
