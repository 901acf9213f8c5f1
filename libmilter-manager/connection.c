/* SPDX-License-Identifier: GPL-3.0-or-later */
/* connection.c: the only socket I/O (see connection.h): one custom GSource per connection
 * carries the fd watch and both deadlines, so that a connection costs one source. */
#include "connection.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "packet.h"
#include "protocol.h"

G_DEFINE_QUARK(mm-connection-error-quark, mm_connection_error)

/* The input buffer starts this small (thousands of idle sessions) and grows to the largest
 * packet seen, never beyond one packet of the negotiated maximum. */
#define MM_CONNECTION_INPUT_INITIAL_SIZE 4096
/* Written output is cut from the front of the queue only past this, to keep memmove rare. */
#define MM_CONNECTION_OUTPUT_COMPACT_SIZE 65536

typedef enum {
  STATE_CONNECTING,
  STATE_OPEN,
  STATE_CLOSED,
} ConnectionState;

typedef struct {
  GSource source;
  MmConnection *connection;
} ConnectionSource;

struct MmConnection {
  int fd;
  ConnectionState state;
  MmConnectionHandlers handlers;
  gpointer user_data;
  char *name; /* the spec of an outgoing connection, for messages */

  ConnectionSource *source;
  gpointer fd_tag;     /* NULL while the fd is out of the poll set */
  GIOCondition events; /* what fd_tag watches */

  gboolean reading;
  gboolean deliver_pending;  /* whole packets may wait in the input after resuming */
  gboolean connect_pending;  /* connect() succeeded at once: report it from the loop */
  GError *pending_error;     /* found outside a dispatch: reported from the loop */

  guint8 *input;
  gsize input_start;  /* first byte not yet delivered */
  gsize input_length; /* bytes held */
  gsize input_capacity;
  gsize max_data_length;

  GByteArray *output;
  gsize output_sent; /* bytes at the front of output already written */
  gsize max_pending_output;
  guint write_timeout;   /* milliseconds, 0 = none */
  gint64 write_deadline; /* monotonic microseconds, 0 = none */
  gint64 timer_deadline;

  guint dispatching; /* depth of dispatches on the stack: the real free waits for 0 */
  gboolean freed;
};

static void update_events(MmConnection *connection);

/* pending_output - bytes queued and not yet written */
static gsize
pending_output(const MmConnection *connection)
{
  return connection->output->len - connection->output_sent;
}

/* has_immediate_work - something to report or deliver without waiting for the fd */
static gboolean
has_immediate_work(const MmConnection *connection)
{
  return connection->pending_error || connection->connect_pending ||
         (connection->deliver_pending && connection->reading &&
          connection->state == STATE_OPEN);
}

/* earliest_deadline - the nearer of the timer and the write deadline, 0 = none */
static gint64
earliest_deadline(const MmConnection *connection)
{
  gint64 a = connection->timer_deadline, b = connection->write_deadline;
  if (a == 0)
    return b;
  if (b == 0)
    return a;
  return MIN(a, b);
}

/* source_prepare - ready at once for deferred work; otherwise sleep until a deadline.
 * Deadlines live here rather than in g_source_set_ready_time so re-arming the timer on
 * every protocol step costs no wakeup of the main context. */
static gboolean
source_prepare(GSource *source, gint *timeout)
{
  MmConnection *connection = ((ConnectionSource *)source)->connection;
  *timeout = -1;
  if (has_immediate_work(connection)) {
    *timeout = 0;
    return TRUE;
  }
  gint64 deadline = earliest_deadline(connection);
  if (deadline == 0)
    return FALSE;
  gint64 now = g_source_get_time(source);
  if (now >= deadline) {
    *timeout = 0;
    return TRUE;
  }
  gint64 milliseconds = (deadline - now + 999) / 1000;
  *timeout = (gint)MIN(milliseconds, (gint64)G_MAXINT);
  return FALSE;
}

/* source_check - after the poll: deferred work or a passed deadline (fd events are
 * checked by GLib itself) */
static gboolean
source_check(GSource *source)
{
  MmConnection *connection = ((ConnectionSource *)source)->connection;
  if (has_immediate_work(connection))
    return TRUE;
  gint64 deadline = earliest_deadline(connection);
  return deadline != 0 && g_source_get_time(source) >= deadline;
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
  update_events(connection);
  if (was_connecting && connection->handlers.connected)
    connection->handlers.connected(connection->user_data, error);
  else if (connection->handlers.closed)
    connection->handlers.closed(connection->user_data, error);
  g_clear_error(&error);
  if (connection->freed)
    return;
  if (connection->fd >= 0)
    close(connection->fd);
  connection->fd = -1;
  g_clear_pointer(&connection->input, g_free);
  connection->input_start = connection->input_length = connection->input_capacity = 0;
  g_byte_array_set_size(connection->output, 0);
  connection->output_sent = 0;
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
  gsize needed = MM_CONNECTION_INPUT_INITIAL_SIZE;
  if (connection->input_length >= MM_PACKET_HEADER_SIZE) {
    const guint8 *p = connection->input;
    guint32 length = ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
    needed = MM_PACKET_HEADER_SIZE + (gsize)length;
  }
  /* deliver() has already checked the length against the maximum; this only guards. */
  if (needed <= connection->input_length)
    needed = connection->input_length + MM_CONNECTION_INPUT_INITIAL_SIZE;
  connection->input = g_realloc(connection->input, needed);
  connection->input_capacity = needed;
}

/* read_some - one read, then deliver what it completed */
static void
read_some(MmConnection *connection)
{
  make_room(connection);
  ssize_t n = read(connection->fd, connection->input + connection->input_length,
                   connection->input_capacity - connection->input_length);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
      return;
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
  connection->input_length += (gsize)n;
  deliver(connection);
}

/* write_some - write what the socket takes; FALSE with ERROR on failure or past the bound */
static gboolean
write_some(MmConnection *connection, GError **error)
{
  GByteArray *output = connection->output;
  gboolean progress = FALSE;
  while (pending_output(connection) > 0) {
    const guint8 *data = output->data + connection->output_sent;
    gsize length = pending_output(connection);
    ssize_t n = send(connection->fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == ENOTSOCK)
      n = write(connection->fd, data, length);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      g_set_error(error, MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_WRITE, "write failed: %s",
                  g_strerror(errno));
      return FALSE;
    }
    connection->output_sent += (gsize)n;
    progress = TRUE;
  }
  gsize pending = pending_output(connection);
  if (pending == 0) {
    g_byte_array_set_size(output, 0);
    connection->output_sent = 0;
    connection->write_deadline = 0;
    return TRUE;
  }
  if (connection->output_sent > MM_CONNECTION_OUTPUT_COMPACT_SIZE &&
      connection->output_sent > pending) {
    g_byte_array_remove_range(output, 0, (guint)connection->output_sent);
    connection->output_sent = 0;
  }
  if (connection->write_timeout == 0)
    connection->write_deadline = 0;
  else if (progress || connection->write_deadline == 0)
    connection->write_deadline = g_get_monotonic_time() + (gint64)connection->write_timeout * 1000;
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

/* finish_connect - the outcome of a non-blocking connect, from SO_ERROR */
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
  connection->state = STATE_OPEN;
  update_events(connection);
  if (connection->handlers.connected)
    connection->handlers.connected(connection->user_data, NULL);
  if (!connection->freed && connection->state == STATE_OPEN && pending_output(connection) > 0)
    write_or_close(connection);
}

/* connection_dispatch - one wakeup: deferred reports, fd events, then deadlines */
static void
connection_dispatch(MmConnection *connection, GIOCondition revents, gint64 now)
{
  if (connection->pending_error) {
    connection_close(connection, g_steal_pointer(&connection->pending_error));
    return;
  }
  if (connection->state == STATE_CONNECTING) {
    if (connection->connect_pending) {
      connection->connect_pending = FALSE;
      finish_connect(connection);
    } else if (revents & (G_IO_OUT | G_IO_ERR | G_IO_HUP | G_IO_NVAL)) {
      finish_connect(connection);
    }
  } else if (connection->state == STATE_OPEN) {
    if (connection->deliver_pending && connection->reading)
      deliver(connection);
    if (!connection->freed && connection->state == STATE_OPEN && connection->reading &&
        (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
      read_some(connection);
    if (!connection->freed && connection->state == STATE_OPEN && pending_output(connection) > 0 &&
        (revents & (G_IO_OUT | G_IO_HUP | G_IO_ERR)))
      write_or_close(connection);
  }
  if (connection->freed || connection->state == STATE_CLOSED)
    return;
  /* poll reports a hang-up even when nothing is watched: out of the poll set until
   * reading resumes or output is queued, or the loop would spin. */
  if ((revents & (G_IO_HUP | G_IO_ERR | G_IO_NVAL)) && connection->fd_tag &&
      connection->events == 0) {
    g_source_remove_unix_fd(&connection->source->source, connection->fd_tag);
    connection->fd_tag = NULL;
  }
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
  if (!connection->freed)
    update_events(connection);
}

/* source_dispatch - run one wakeup; a free requested inside it happens on the way out */
static gboolean
source_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
  MmConnection *connection = ((ConnectionSource *)source)->connection;
  GIOCondition revents = connection->fd_tag ? g_source_query_unix_fd(source, connection->fd_tag) : 0;
  connection->dispatching++;
  connection_dispatch(connection, revents, g_source_get_time(source));
  connection->dispatching--;
  if (connection->freed && connection->dispatching == 0) {
    g_free(connection->input);
    g_byte_array_unref(connection->output);
    g_free(connection->name);
    g_clear_error(&connection->pending_error);
    g_free(connection);
  }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs connection_source_funcs = {
  .prepare = source_prepare,
  .check = source_check,
  .dispatch = source_dispatch,
};

/* update_events - watch what the state needs: IN while reading, OUT while output waits */
static void
update_events(MmConnection *connection)
{
  GIOCondition wanted = 0;
  if (connection->state == STATE_CONNECTING)
    wanted = G_IO_OUT;
  else if (connection->state == STATE_OPEN)
    wanted = (connection->reading ? G_IO_IN : 0) | (pending_output(connection) > 0 ? G_IO_OUT : 0);
  GSource *source = &connection->source->source;
  if (connection->state == STATE_CLOSED) {
    if (connection->fd_tag)
      g_source_remove_unix_fd(source, connection->fd_tag);
    connection->fd_tag = NULL;
    connection->events = 0;
    return;
  }
  if (!connection->fd_tag) {
    if (wanted != 0)
      connection->fd_tag = g_source_add_unix_fd(source, connection->fd, wanted);
  } else if (wanted != connection->events) {
    g_source_modify_unix_fd(source, connection->fd_tag, wanted);
  }
  connection->events = connection->fd_tag ? wanted : 0;
}

/* connection_create - the shared part of new and connect */
static MmConnection *
connection_create(int fd, ConnectionState state, const MmConnectionHandlers *handlers,
                  gpointer user_data)
{
  MmConnection *connection = g_new0(MmConnection, 1);
  connection->fd = fd;
  connection->state = state;
  connection->handlers = *handlers;
  connection->user_data = user_data;
  connection->reading = TRUE;
  connection->max_data_length = MM_DATA_SIZE_DEFAULT;
  connection->output = g_byte_array_new();
  GSource *source = g_source_new(&connection_source_funcs, sizeof(ConnectionSource));
  ((ConnectionSource *)source)->connection = connection;
  g_source_set_name(source, "mm-connection");
  g_source_set_can_recurse(source, FALSE);
  connection->source = (ConnectionSource *)source;
  g_source_attach(source, NULL);
  return connection;
}

/* mm_connection_new - take over FD */
MmConnection *
mm_connection_new(int fd, const MmConnectionHandlers *handlers, gpointer user_data)
{
  g_return_val_if_fail(fd >= 0 && handlers != NULL && handlers->packet != NULL, NULL);
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0 && !(flags & O_NONBLOCK))
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int fd_flags = fcntl(fd, F_GETFD);
  if (fd_flags >= 0 && !(fd_flags & FD_CLOEXEC))
    fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC);
  MmConnection *connection = connection_create(fd, STATE_OPEN, handlers, user_data);
  update_events(connection);
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
  MmConnection *connection = connection_create(fd, STATE_CONNECTING, handlers, user_data);
  connection->name = g_strdup(spec->text);
  int status;
  do
    status = connect(fd, (struct sockaddr *)&address, address_length);
  while (status < 0 && errno == EINTR);
  if (status == 0) {
    connection->connect_pending = TRUE;
  } else if (errno != EINPROGRESS) {
    connection->pending_error = g_error_new(MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_CONNECT,
                                            "connect to %s failed: %s", spec->text,
                                            g_strerror(errno));
  }
  update_events(connection);
  return connection;
}

/* mm_connection_free - close and drop the sources; the memory waits for the dispatch */
void
mm_connection_free(MmConnection *connection)
{
  if (!connection || connection->freed)
    return;
  connection->freed = TRUE;
  connection->fd_tag = NULL;
  GSource *source = &connection->source->source;
  g_source_destroy(source);
  g_source_unref(source);
  connection->source = NULL;
  if (connection->fd >= 0)
    close(connection->fd);
  connection->fd = -1;
  if (connection->dispatching > 0)
    return;
  g_free(connection->input);
  g_byte_array_unref(connection->output);
  g_free(connection->name);
  g_clear_error(&connection->pending_error);
  g_free(connection);
}

/* mm_connection_output - the buffer to append encoded packets to */
GByteArray *
mm_connection_output(MmConnection *connection)
{
  g_return_val_if_fail(connection != NULL, NULL);
  return connection->output;
}

/* mm_connection_flush - write now what the socket takes, the rest when it is writable */
void
mm_connection_flush(MmConnection *connection)
{
  g_return_if_fail(connection != NULL);
  if (connection->freed)
    return;
  if (connection->state == STATE_CLOSED) {
    g_byte_array_set_size(connection->output, 0);
    connection->output_sent = 0;
    return;
  }
  if (connection->state != STATE_OPEN || connection->pending_error ||
      pending_output(connection) == 0)
    return;
  GError *error = NULL;
  if (!write_some(connection, &error))
    connection->pending_error = error;
  update_events(connection);
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
    connection->write_deadline = g_get_monotonic_time() + (gint64)milliseconds * 1000;
}

/* mm_connection_set_timeout - (re)arm the single timer; 0 cancels it */
void
mm_connection_set_timeout(MmConnection *connection, guint milliseconds)
{
  g_return_if_fail(connection != NULL);
  if (milliseconds == 0 || connection->state == STATE_CLOSED || connection->freed)
    connection->timer_deadline = 0;
  else
    connection->timer_deadline = g_get_monotonic_time() + (gint64)milliseconds * 1000;
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
  if (connection->state == STATE_CLOSED)
    return;
  if (reading && connection->input_length > connection->input_start)
    connection->deliver_pending = TRUE;
  update_events(connection);
}

/* mm_connection_get_fd - the fd, -1 once closed() has returned or after free */
int
mm_connection_get_fd(MmConnection *connection)
{
  g_return_val_if_fail(connection != NULL, -1);
  return connection->fd;
}
