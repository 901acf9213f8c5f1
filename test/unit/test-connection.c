/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-connection.c: unit tests for the connection I/O module (connection.h) over real
 * sockets: socketpairs, UNIX sockets in a temp dir, TCP on loopback port 0. */
#include "connection.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "packet.h"

/* What one connection's handlers saw. */
typedef struct {
  MmConnection *connection;
  GPtrArray *packets; /* GBytes: code byte then data */
  guint n_closed;
  GError *closed_error;
  guint n_connected;
  GError *connected_error;
  guint n_timeouts;
  gboolean free_on_packet;
  gboolean free_on_closed;
  gboolean free_on_timeout;
  gboolean free_on_connected;
  gboolean pause_on_packet;
  gboolean echo;
  gboolean sleep_on_packet; /* note the deadline clock before and after a 5 ms sleep */
  gint64 time_before_sleep;
  gint64 time_after_sleep;
} Peer;

static void
on_packet(gpointer user_data, char code, const guint8 *data, gsize length)
{
  Peer *peer = user_data;
  GByteArray *copy = g_byte_array_new();
  g_byte_array_append(copy, (const guint8 *)&code, 1);
  g_byte_array_append(copy, data, (guint)length);
  g_ptr_array_add(peer->packets, g_byte_array_free_to_bytes(copy));
  if (peer->echo) {
    mm_packet_append(mm_connection_output(peer->connection), code, data, length);
    mm_connection_flush(peer->connection);
  }
  if (peer->sleep_on_packet) {
    peer->time_before_sleep = mm_connection_get_time();
    g_usleep(5000);
    peer->time_after_sleep = mm_connection_get_time();
  }
  if (peer->pause_on_packet)
    mm_connection_set_reading(peer->connection, FALSE);
  if (peer->free_on_packet)
    g_clear_pointer(&peer->connection, mm_connection_free);
}

static void
on_closed(gpointer user_data, const GError *error)
{
  Peer *peer = user_data;
  peer->n_closed++;
  g_clear_error(&peer->closed_error);
  peer->closed_error = error ? g_error_copy(error) : NULL;
  if (peer->free_on_closed)
    g_clear_pointer(&peer->connection, mm_connection_free);
}

static void
on_connected(gpointer user_data, const GError *error)
{
  Peer *peer = user_data;
  peer->n_connected++;
  peer->connected_error = error ? g_error_copy(error) : NULL;
  if (peer->free_on_connected)
    g_clear_pointer(&peer->connection, mm_connection_free);
}

static void
on_timeout(gpointer user_data)
{
  Peer *peer = user_data;
  peer->n_timeouts++;
  if (peer->free_on_timeout)
    g_clear_pointer(&peer->connection, mm_connection_free);
}

static const MmConnectionHandlers handlers = {
  .packet = on_packet,
  .closed = on_closed,
  .connected = on_connected,
  .timeout = on_timeout,
};

static void
peer_init(Peer *peer)
{
  memset(peer, 0, sizeof *peer);
  peer->packets = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
}

static void
peer_clear(Peer *peer)
{
  g_clear_pointer(&peer->connection, mm_connection_free);
  g_ptr_array_unref(peer->packets);
  g_clear_error(&peer->closed_error);
  g_clear_error(&peer->connected_error);
}

/* pair - a connection on one end of a socketpair; returns the other end */
static int
pair(Peer *peer)
{
  int fds[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  peer->connection = mm_connection_new(fds[0], &handlers, peer);
  return fds[1];
}

static gboolean
deadline_passed(gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* run_until - iterate the loop until *FLAG is non-zero, failing after 10 s */
static void
run_until(const guint *flag, guint at_least)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add(10000, deadline_passed, &expired);
  while (*flag < at_least && !expired)
    g_main_context_iteration(NULL, TRUE);
  g_assert_false(expired);
  g_source_remove(id);
}

/* run_for - iterate the loop for MILLISECONDS */
static void
run_for(guint milliseconds)
{
  gboolean expired = FALSE;
  g_timeout_add(milliseconds, deadline_passed, &expired);
  while (!expired)
    g_main_context_iteration(NULL, TRUE);
}

static void
write_all(int fd, const void *data, gsize length)
{
  const guint8 *p = data;
  while (length > 0) {
    ssize_t n = send(fd, p, length, MSG_NOSIGNAL);
    g_assert_cmpint(n, >, 0);
    p += n;
    length -= (gsize)n;
  }
}

static void
assert_packet(Peer *peer, guint index, char code, const char *data)
{
  g_assert_cmpuint(peer->packets->len, >, index);
  gsize size = 0;
  const char *bytes = g_bytes_get_data(g_ptr_array_index(peer->packets, index), &size);
  g_assert_cmpuint(size, ==, 1 + strlen(data));
  g_assert_cmpint(bytes[0], ==, code);
  g_assert_cmpmem(bytes + 1, size - 1, data, strlen(data));
}

static void
test_read_split(void)
{
  Peer peer;
  peer_init(&peer);
  int other = pair(&peer);
  g_autoptr(GByteArray) out = g_byte_array_new();
  mm_packet_append(out, 'H', "mail.example.com", 17);
  mm_packet_append(out, 'M', "<a@example.com>", 16);
  for (guint i = 0; i < out->len; i++) {
    write_all(other, out->data + i, 1);
    while (g_main_context_iteration(NULL, FALSE))
      ;
    guint expected = i + 1 >= out->len ? 2 : i + 1 >= 4 + 18 ? 1 : 0;
    g_assert_cmpuint(peer.packets->len, ==, expected);
  }
  g_assert_cmpuint(g_bytes_get_size(g_ptr_array_index(peer.packets, 0)), ==, 18);
  g_assert_cmpuint(g_bytes_get_size(g_ptr_array_index(peer.packets, 1)), ==, 17);
  close(other);
  peer_clear(&peer);
}

static void
test_read_many_in_one_write(void)
{
  Peer peer;
  peer_init(&peer);
  int other = pair(&peer);
  g_autoptr(GByteArray) out = g_byte_array_new();
  for (guint i = 0; i < 100; i++) {
    char data[16];
    g_snprintf(data, sizeof data, "rcpt-%03u", i);
    mm_packet_append(out, 'R', data, strlen(data));
  }
  write_all(other, out->data, out->len);
  /* One wakeup delivers every whole packet of the read. */
  g_main_context_iteration(NULL, TRUE);
  g_assert_cmpuint(peer.packets->len, ==, 100);
  assert_packet(&peer, 0, 'R', "rcpt-000");
  assert_packet(&peer, 99, 'R', "rcpt-099");
  close(other);
  run_until(&peer.n_closed, 1);
  g_assert_null(peer.closed_error);
  g_assert_cmpint(mm_connection_get_fd(peer.connection), ==, -1);
  peer_clear(&peer);
}

static void
test_read_large_packet(void)
{
  Peer peer;
  peer_init(&peer);
  int other = pair(&peer);
  mm_connection_set_max_data_length(peer.connection, 1048575);
  g_autofree char *body = g_malloc(1048575 + 1);
  memset(body, 'b', 1048575);
  body[1048575] = '\0';
  g_autoptr(GByteArray) out = g_byte_array_new();
  mm_packet_append(out, 'B', body, 1048575);
  mm_packet_append(out, 'E', NULL, 0);
  /* The socket buffer is smaller than the packet: write what it takes between wakeups. */
  gsize offset = 0;
  while (peer.packets->len < 2) {
    ssize_t n = send(other, out->data + offset, out->len - offset, MSG_DONTWAIT);
    if (n > 0)
      offset += (gsize)n;
    g_main_context_iteration(NULL, offset < out->len ? FALSE : TRUE);
  }
  g_assert_cmpuint(g_bytes_get_size(g_ptr_array_index(peer.packets, 0)), ==, 1048576);
  assert_packet(&peer, 1, 'E', "");
  close(other);
  peer_clear(&peer);
}

static void
test_read_pause_resume(void)
{
  Peer peer;
  peer_init(&peer);
  int other = pair(&peer);
  peer.pause_on_packet = TRUE;
  g_autoptr(GByteArray) out = g_byte_array_new();
  mm_packet_append(out, 'H', "one", 3);
  mm_packet_append(out, 'H', "two", 3);
  mm_packet_append(out, 'H', "three", 5);
  write_all(other, out->data, out->len);
  close(other);
  g_main_context_iteration(NULL, TRUE);
  g_assert_cmpuint(peer.packets->len, ==, 1);
  /* Paused with a hang-up pending: the loop must go idle, not spin, and not report EOF. */
  for (guint i = 0; i < 3; i++)
    g_main_context_iteration(NULL, FALSE);
  g_assert_false(g_main_context_iteration(NULL, FALSE));
  g_assert_cmpuint(peer.packets->len, ==, 1);
  g_assert_cmpuint(peer.n_closed, ==, 0);
  /* Resuming delivers the queued packets with no new bytes arriving, then the EOF. */
  mm_connection_set_reading(peer.connection, TRUE);
  run_until(&peer.packets->len, 2);
  assert_packet(&peer, 1, 'H', "two");
  g_assert_cmpuint(peer.n_closed, ==, 0);
  peer.pause_on_packet = FALSE;
  mm_connection_set_reading(peer.connection, TRUE);
  run_until(&peer.n_closed, 1);
  g_assert_cmpuint(peer.packets->len, ==, 3);
  assert_packet(&peer, 2, 'H', "three");
  g_assert_null(peer.closed_error);
  run_for(20);
  g_assert_cmpuint(peer.n_closed, ==, 1);
  peer_clear(&peer);
}

static void
test_read_eof_mid_packet(void)
{
  Peer peer;
  peer_init(&peer);
  int other = pair(&peer);
  const guint8 partial[] = {0, 0, 0, 10, 'H', 'x'};
  write_all(other, partial, sizeof partial);
  close(other);
  run_until(&peer.n_closed, 1);
  g_assert_error(peer.closed_error, MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_READ);
  g_assert_nonnull(strstr(peer.closed_error->message, "middle of a packet"));
  peer_clear(&peer);
}

static void
test_framing_errors(void)
{
  const guint8 empty[] = {0, 0, 0, 0, 'H'};
  const guint8 large[] = {0, 0, 0x10, 0, 'B'}; /* 4096 bytes, above a 100-byte maximum */
  const guint8 *inputs[] = {empty, large};
  for (guint i = 0; i < G_N_ELEMENTS(inputs); i++) {
    Peer peer;
    peer_init(&peer);
    int other = pair(&peer);
    mm_connection_set_max_data_length(peer.connection, 100);
    write_all(other, inputs[i], 5);
    run_until(&peer.n_closed, 1);
    g_assert_error(peer.closed_error, MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_FRAMING);
    g_assert_cmpuint(peer.packets->len, ==, 0);
    /* The fd is closed: the bytes go nowhere and nothing more is reported. */
    (void)!send(other, "more", 4, MSG_NOSIGNAL);
    run_for(10);
    g_assert_cmpuint(peer.n_closed, ==, 1);
    close(other);
    peer_clear(&peer);
  }
}

static void
test_write_burst_one_write(void)
{
  Peer peer;
  peer_init(&peer);
  int other = pair(&peer);
  GByteArray *output = mm_connection_output(peer.connection);
  for (guint i = 0; i < 10; i++)
    mm_packet_append(output, 'c', NULL, 0);
  mm_connection_flush(peer.connection);
  g_assert_cmpuint(mm_connection_get_pending_output(peer.connection), ==, 0);
  guint8 buffer[256];
  ssize_t n = recv(other, buffer, sizeof buffer, MSG_DONTWAIT);
  g_assert_cmpint(n, ==, 50);
  close(other);
  peer_clear(&peer);
}

typedef struct {
  int fd;
  GByteArray *received;
} SlowReader;

static gboolean
slow_read(gpointer user_data)
{
  SlowReader *reader = user_data;
  guint8 buffer[4096];
  ssize_t n = recv(reader->fd, buffer, sizeof buffer, MSG_DONTWAIT);
  if (n > 0)
    g_byte_array_append(reader->received, buffer, (guint)n);
  return G_SOURCE_CONTINUE;
}

static void
test_write_slow_peer(void)
{
  Peer slow, busy;
  peer_init(&slow);
  peer_init(&busy);
  int slow_other = pair(&slow);
  int busy_other = pair(&busy);
  busy.echo = TRUE;

  g_autoptr(GByteArray) expected = g_byte_array_new();
  g_autofree guint8 *chunk = g_malloc(65535);
  for (guint i = 0; i < 16; i++) {
    memset(chunk, 'a' + (int)i, 65535);
    mm_packet_append(expected, 'B', chunk, 65535);
  }
  g_byte_array_append(mm_connection_output(slow.connection), expected->data, expected->len);
  gint64 before = g_get_monotonic_time();
  mm_connection_flush(slow.connection);
  g_assert_cmpint(g_get_monotonic_time() - before, <, G_USEC_PER_SEC / 10);
  g_assert_cmpuint(mm_connection_get_pending_output(slow.connection), >, 0);

  SlowReader reader = {slow_other, g_byte_array_new()};
  guint reader_id = g_timeout_add(4, slow_read, &reader);
  guint echoes = 0;
  for (guint i = 0; i < 20; i++) {
    char data[8];
    g_snprintf(data, sizeof data, "%u", i);
    g_autoptr(GByteArray) out = g_byte_array_new();
    mm_packet_append(out, 'R', data, strlen(data));
    write_all(busy_other, out->data, out->len);
    run_until(&busy.packets->len, i + 1);
    /* The echo arrives while the slow peer still has most of its burst queued. */
    guint8 buffer[64];
    gsize got = 0;
    while (got < out->len) {
      g_main_context_iteration(NULL, FALSE);
      ssize_t n = recv(busy_other, buffer + got, sizeof buffer - got, MSG_DONTWAIT);
      if (n > 0)
        got += (gsize)n;
    }
    g_assert_cmpmem(buffer, got, out->data, out->len);
    echoes++;
  }
  g_assert_cmpuint(echoes, ==, 20);
  g_assert_cmpuint(mm_connection_get_pending_output(slow.connection), >, 0);
  while (reader.received->len < expected->len)
    g_main_context_iteration(NULL, TRUE);
  g_assert_cmpmem(reader.received->data, reader.received->len, expected->data, expected->len);
  g_assert_cmpuint(mm_connection_get_pending_output(slow.connection), ==, 0);
  g_assert_cmpuint(slow.n_closed, ==, 0);
  g_source_remove(reader_id);
  g_byte_array_unref(reader.received);
  close(slow_other);
  close(busy_other);
  peer_clear(&slow);
  peer_clear(&busy);
}

/* queue_megabyte - 1 MiB of packets on a peer that never reads */
static void
queue_megabyte(Peer *peer)
{
  g_autofree guint8 *chunk = g_malloc0(65535);
  for (guint i = 0; i < 16; i++)
    mm_packet_append(mm_connection_output(peer->connection), 'B', chunk, 65535);
}

static void
test_write_timeout(void)
{
  Peer peer;
  peer_init(&peer);
  int other = pair(&peer);
  mm_connection_set_write_timeout(peer.connection, 100);
  queue_megabyte(&peer);
  gint64 start = g_get_monotonic_time();
  mm_connection_flush(peer.connection);
  g_assert_cmpuint(peer.n_closed, ==, 0);
  run_until(&peer.n_closed, 1);
  g_assert_cmpint(g_get_monotonic_time() - start, >=, 100 * 1000);
  g_assert_error(peer.closed_error, MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_WRITE_TIMEOUT);
  g_assert_cmpint(mm_connection_get_fd(peer.connection), ==, -1);
  run_for(20);
  g_assert_cmpuint(peer.n_closed, ==, 1);
  close(other);
  peer_clear(&peer);
}

static void
test_write_output_limit(void)
{
  Peer peer;
  peer_init(&peer);
  int other = pair(&peer);
  mm_connection_set_max_pending_output(peer.connection, 65536);
  queue_megabyte(&peer);
  mm_connection_flush(peer.connection);
  /* Reported from the loop, never from inside flush. */
  g_assert_cmpuint(peer.n_closed, ==, 0);
  run_until(&peer.n_closed, 1);
  g_assert_error(peer.closed_error, MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_OUTPUT_LIMIT);
  close(other);
  peer_clear(&peer);
}

static void
test_write_peer_gone(void)
{
  Peer peer;
  peer_init(&peer);
  int other = pair(&peer);
  mm_connection_set_reading(peer.connection, FALSE);
  close(other);
  mm_packet_append(mm_connection_output(peer.connection), 'c', NULL, 0);
  mm_connection_flush(peer.connection);
  g_assert_cmpuint(peer.n_closed, ==, 0);
  run_until(&peer.n_closed, 1);
  g_assert_error(peer.closed_error, MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_WRITE);
  peer_clear(&peer);
}

/* test_time - deadlines count from the iteration's time inside a handler (the clock is
 * read once per iteration), from the clock outside */
static void
test_time(void)
{
  Peer peer;
  peer_init(&peer);
  int other = pair(&peer);
  peer.sleep_on_packet = TRUE;
  gint64 start = g_get_monotonic_time();
  const guint8 packet[] = { 0, 0, 0, 1, 'C' };
  g_assert_cmpint(write(other, packet, sizeof packet), ==, (gssize)sizeof packet);
  run_until(&peer.packets->len, 1);
  g_assert_cmpint(peer.time_before_sleep, >=, start);
  g_assert_cmpint(peer.time_after_sleep, ==, peer.time_before_sleep);
  gint64 outside = mm_connection_get_time();
  g_usleep(5000);
  g_assert_cmpint(mm_connection_get_time(), >=, outside + 5000);
  close(other);
  peer_clear(&peer);
}

static void
test_timer(void)
{
  Peer peer;
  peer_init(&peer);
  int other = pair(&peer);
  mm_connection_set_timeout(peer.connection, 50);
  mm_connection_set_timeout(peer.connection, 0);
  run_for(100);
  g_assert_cmpuint(peer.n_timeouts, ==, 0);
  gint64 start = g_get_monotonic_time();
  mm_connection_set_timeout(peer.connection, 300);
  mm_connection_set_timeout(peer.connection, 50); /* re-arming moves the deadline earlier */
  run_until(&peer.n_timeouts, 1);
  gint64 elapsed = g_get_monotonic_time() - start;
  g_assert_cmpint(elapsed, >=, 50 * 1000);
  g_assert_cmpint(elapsed, <, 250 * 1000);
  run_for(100);
  g_assert_cmpuint(peer.n_timeouts, ==, 1); /* not re-armed */
  start = g_get_monotonic_time();
  mm_connection_set_timeout(peer.connection, 30);
  mm_connection_set_timeout(peer.connection, 120); /* and later */
  run_until(&peer.n_timeouts, 2);
  g_assert_cmpint(g_get_monotonic_time() - start, >=, 120 * 1000);
  close(other);
  peer_clear(&peer);
}

static void
test_free_in_handlers(void)
{
  g_autoptr(GByteArray) out = g_byte_array_new();
  for (guint i = 0; i < 3; i++)
    mm_packet_append(out, 'H', "x", 1);

  Peer peer;
  peer_init(&peer);
  int other = pair(&peer);
  peer.free_on_packet = TRUE;
  write_all(other, out->data, out->len);
  run_until(&peer.packets->len, 1);
  run_for(10);
  g_assert_cmpuint(peer.packets->len, ==, 1);
  g_assert_null(peer.connection);
  close(other);
  peer_clear(&peer);

  peer_init(&peer);
  other = pair(&peer);
  peer.free_on_closed = TRUE;
  close(other);
  run_until(&peer.n_closed, 1);
  g_assert_null(peer.connection);
  peer_clear(&peer);

  peer_init(&peer);
  other = pair(&peer);
  peer.free_on_timeout = TRUE;
  mm_connection_set_timeout(peer.connection, 1);
  mm_packet_append(mm_connection_output(peer.connection), 'c', NULL, 0);
  run_until(&peer.n_timeouts, 1);
  g_assert_null(peer.connection);
  close(other);
  peer_clear(&peer);

  /* A framing error freed from closed() while packets of the same read were delivered. */
  peer_init(&peer);
  other = pair(&peer);
  peer.free_on_closed = TRUE;
  const guint8 bad[] = {0, 0, 0, 0};
  g_byte_array_append(out, bad, sizeof bad);
  write_all(other, out->data, out->len);
  run_until(&peer.n_closed, 1);
  g_assert_cmpuint(peer.packets->len, ==, 3);
  g_assert_error(peer.closed_error, MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_FRAMING);
  close(other);
  peer_clear(&peer);
}

/* listen_unix - a listening UNIX socket at PATH */
static int
listen_unix(const char *path, gboolean do_listen)
{
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  g_strlcpy(address.sun_path, path, sizeof address.sun_path);
  g_assert_cmpint(bind(fd, (struct sockaddr *)&address, sizeof address), ==, 0);
  if (do_listen)
    g_assert_cmpint(listen(fd, 8), ==, 0);
  return fd;
}

/* listen_tcp - a listening TCP socket on loopback port 0; *PORT gets the port */
static int
listen_tcp(int family, guint16 *port)
{
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_storage address = {0};
  socklen_t length;
  if (family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&address;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&address;
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    length = sizeof *in6;
  }
  if (bind(fd, (struct sockaddr *)&address, length) < 0 || listen(fd, 8) < 0) {
    close(fd);
    return -1;
  }
  g_assert_cmpint(getsockname(fd, (struct sockaddr *)&address, &length), ==, 0);
  *port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&address)->sin_port
                                  : ((struct sockaddr_in6 *)&address)->sin6_port);
  return fd;
}

/* connect_and_talk - connect to TEXT, exchange one packet with the listener LISTENING */
static void
connect_and_talk(const char *text, int listening)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MmConnectionSpec) spec = mm_connection_spec_parse(text, &error);
  g_assert_no_error(error);
  Peer peer;
  peer_init(&peer);
  peer.connection = mm_connection_connect(spec, &handlers, &peer, &error);
  g_assert_no_error(error);
  g_assert_nonnull(peer.connection);
  g_assert_cmpuint(peer.n_connected, ==, 0); /* never from inside the call */
  /* Output queued before the connect finishes leaves once it does. */
  mm_packet_append(mm_connection_output(peer.connection), 'O', "hello", 5);
  mm_connection_flush(peer.connection);
  run_until(&peer.n_connected, 1);
  g_assert_null(peer.connected_error);
  int accepted = accept(listening, NULL, NULL);
  g_assert_cmpint(accepted, >=, 0);
  guint8 buffer[16];
  gsize got = 0;
  while (got < 10) {
    g_main_context_iteration(NULL, FALSE);
    ssize_t n = recv(accepted, buffer + got, sizeof buffer - got, MSG_DONTWAIT);
    if (n > 0)
      got += (gsize)n;
  }
  g_assert_cmpmem(buffer + 4, 6, "Ohello", 6);
  write_all(accepted, "\0\0\0\1c", 5);
  run_until(&peer.packets->len, 1);
  assert_packet(&peer, 0, 'c', "");
  close(accepted);
  run_until(&peer.n_closed, 1);
  g_assert_null(peer.closed_error);
  peer_clear(&peer);
}

static void
test_connect_unix(void)
{
  g_autofree char *dir = g_dir_make_tmp("mm-connection-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(dir, "milter.sock", NULL);
  int listening = listen_unix(path, TRUE);
  g_autofree char *text = g_strconcat("unix:", path, NULL);
  connect_and_talk(text, listening);
  close(listening);
  g_unlink(path);
  g_rmdir(dir);
}

static void
test_connect_inet(void)
{
  guint16 port = 0;
  int listening = listen_tcp(AF_INET, &port);
  g_assert_cmpint(listening, >=, 0);
  g_autofree char *literal = g_strdup_printf("inet:%u@[127.0.0.1]", port);
  connect_and_talk(literal, listening);
  g_autofree char *name = g_strdup_printf("inet:%u@localhost", port);
  connect_and_talk(name, listening);
  /* No host connects to loopback. */
  g_autofree char *wildcard = g_strdup_printf("inet:%u", port);
  connect_and_talk(wildcard, listening);
  close(listening);
}

static void
test_connect_inet6(void)
{
  guint16 port = 0;
  int listening = listen_tcp(AF_INET6, &port);
  if (listening < 0) {
    g_test_skip("no IPv6 loopback (::1) on this host");
    return;
  }
  g_autofree char *literal = g_strdup_printf("inet6:%u@[::1]", port);
  connect_and_talk(literal, listening);
  g_autofree char *wildcard = g_strdup_printf("inet6:%u", port);
  connect_and_talk(wildcard, listening);
  close(listening);
}

/* connect_fails - connecting to TEXT reports MESSAGE through connected() only */
static void
connect_fails(const char *text, const char *message, gboolean free_in_handler)
{
  g_autoptr(MmConnectionSpec) spec = mm_connection_spec_parse(text, NULL);
  Peer peer;
  peer_init(&peer);
  peer.free_on_connected = free_in_handler;
  peer.connection = mm_connection_connect(spec, &handlers, &peer, NULL);
  g_assert_nonnull(peer.connection);
  g_assert_cmpuint(peer.n_connected, ==, 0);
  run_until(&peer.n_connected, 1);
  g_assert_error(peer.connected_error, MM_CONNECTION_ERROR, MM_CONNECTION_ERROR_CONNECT);
  g_assert_cmpstr(peer.connected_error->message, ==, message);
  run_for(10);
  g_assert_cmpuint(peer.n_closed, ==, 0);
  g_assert_cmpuint(peer.n_connected, ==, 1);
  peer_clear(&peer);
}

static void
test_connect_errors(void)
{
  g_autofree char *dir = g_dir_make_tmp("mm-connection-XXXXXX", NULL);
  g_autofree char *missing = g_build_filename(dir, "missing.sock", NULL);
  g_autofree char *text = g_strconcat("unix:", missing, NULL);
  g_autofree char *message = g_strdup_printf("connect to %s failed: No such file or directory", text);
  connect_fails(text, message, FALSE);
  connect_fails(text, message, TRUE);

  /* A socket file nobody listens on. */
  g_autofree char *dead = g_build_filename(dir, "dead.sock", NULL);
  int bound = listen_unix(dead, FALSE);
  g_autofree char *dead_text = g_strconcat("unix:", dead, NULL);
  g_autofree char *refused = g_strdup_printf("connect to %s failed: Connection refused", dead_text);
  connect_fails(dead_text, refused, FALSE);
  close(bound);

  /* A TCP port bound but not listening refuses. */
  int tcp = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t length = sizeof in;
  g_assert_cmpint(bind(tcp, (struct sockaddr *)&in, length), ==, 0);
  g_assert_cmpint(getsockname(tcp, (struct sockaddr *)&in, &length), ==, 0);
  g_autofree char *tcp_text = g_strdup_printf("inet:%u@127.0.0.1", ntohs(in.sin_port));
  g_autofree char *tcp_refused = g_strdup_printf("connect to %s failed: Connection refused", tcp_text);
  connect_fails(tcp_text, tcp_refused, TRUE);
  close(tcp);

  g_autoptr(MmConnectionSpec) unresolvable = mm_connection_spec_parse("inet:2525@no-such-host.invalid", NULL);
  g_autoptr(GError) error = NULL;
  Peer peer;
  peer_init(&peer);
  g_assert_null(mm_connection_connect(unresolvable, &handlers, &peer, &error));
  g_assert_error(error, MM_CONNECTION_SPEC_ERROR, MM_CONNECTION_SPEC_ERROR_RESOLVE);
  peer_clear(&peer);

  g_unlink(dead);
  g_rmdir(dir);
}

typedef struct {
  guint n_echoed;
} Counter;

static void
count_packet(gpointer user_data, char code, const guint8 *data, gsize length)
{
  ((Counter *)user_data)->n_echoed++;
}

static const MmConnectionHandlers count_handlers = {.packet = count_packet};

/* echo_rounds - N sessions each echo ROUNDS packets; microseconds per session round */
static double
echo_rounds(guint n, guint rounds)
{
  Peer *peers = g_new0(Peer, n);
  MmConnection **clients = g_new0(MmConnection *, n);
  Counter counter = {0};
  for (guint i = 0; i < n; i++) {
    peer_init(&peers[i]);
    peers[i].echo = TRUE;
    clients[i] = mm_connection_new(pair(&peers[i]), &count_handlers, &counter);
  }
  gint64 start = g_get_monotonic_time();
  for (guint round = 1; round <= rounds; round++) {
    for (guint i = 0; i < n; i++) {
      mm_packet_append(mm_connection_output(clients[i]), 'R', "<rcpt@example.org>", 18);
      mm_connection_flush(clients[i]);
    }
    run_until(&counter.n_echoed, n * round);
  }
  double per_session = (double)(g_get_monotonic_time() - start) / (n * rounds);
  for (guint i = 0; i < n; i++) {
    g_assert_cmpuint(peers[i].packets->len, ==, rounds);
    g_assert_cmpuint(peers[i].n_closed, ==, 0);
    mm_connection_free(clients[i]);
    peer_clear(&peers[i]);
  }
  g_free(clients);
  g_free(peers);
  return per_session;
}

static void
test_many_sessions(void)
{
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 4200) {
    g_test_skip("needs 4,200 file descriptors (ulimit -n)");
    return;
  }
  /* 4,000 fds on one loop: every packet comes back and nothing closes. The cost per session
   * (flat from 10 to 2,000 since the sources are marked can_recurse) is measured by the
   * benchmark, not asserted here: timings do not belong in unit tests. */
  double small = echo_rounds(10, 50);
  double large = echo_rounds(2000, 5);
  g_test_message("per session round: %.1f us with 10 sessions, %.1f us with 2,000", small, large);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/connection/time", test_time);
  g_test_add_func("/connection/read/split-byte-by-byte", test_read_split);
  g_test_add_func("/connection/read/many-in-one-write", test_read_many_in_one_write);
  g_test_add_func("/connection/read/large-packet", test_read_large_packet);
  g_test_add_func("/connection/read/pause-resume", test_read_pause_resume);
  g_test_add_func("/connection/read/eof-mid-packet", test_read_eof_mid_packet);
  g_test_add_func("/connection/read/framing-errors", test_framing_errors);
  g_test_add_func("/connection/write/burst-in-one-write", test_write_burst_one_write);
  g_test_add_func("/connection/write/slow-peer", test_write_slow_peer);
  g_test_add_func("/connection/write/timeout", test_write_timeout);
  g_test_add_func("/connection/write/output-limit", test_write_output_limit);
  g_test_add_func("/connection/write/peer-gone", test_write_peer_gone);
  g_test_add_func("/connection/timer", test_timer);
  g_test_add_func("/connection/free-in-handlers", test_free_in_handlers);
  g_test_add_func("/connection/connect/unix", test_connect_unix);
  g_test_add_func("/connection/connect/inet", test_connect_inet);
  g_test_add_func("/connection/connect/inet6", test_connect_inet6);
  g_test_add_func("/connection/connect/errors", test_connect_errors);
  g_test_add_func("/connection/many-sessions", test_many_sessions);
  return g_test_run();
}
