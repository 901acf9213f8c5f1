/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-connection-output.c: unit tests for output queued by reference
 * (mm_connection_output_add_bytes) over socketpairs: order, partial writes, full sockets. */
#include "connection.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "body-spool.h"
#include "packet.h"

/* What one connection's handlers saw. */
typedef struct {
  MmConnection *connection;
  guint n_closed;
  GError *closed_error;
} Peer;

static void
on_packet(gpointer user_data, char code, const guint8 *data, gsize length)
{
  (void)user_data, (void)code, (void)data, (void)length;
}

static void
on_closed(gpointer user_data, const GError *error)
{
  Peer *peer = user_data;
  peer->n_closed++;
  g_clear_error(&peer->closed_error);
  peer->closed_error = error ? g_error_copy(error) : NULL;
}

static const MmConnectionHandlers handlers = {
  .packet = on_packet,
  .closed = on_closed,
};

/* pair - a connection on one end of a socketpair with small buffers; returns the other end */
static int
pair(Peer *peer, int buffer_size)
{
  memset(peer, 0, sizeof *peer);
  int fds[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  if (buffer_size > 0) {
    g_assert_cmpint(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &buffer_size, sizeof buffer_size), ==, 0);
    g_assert_cmpint(setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &buffer_size, sizeof buffer_size), ==, 0);
  }
  peer->connection = mm_connection_new(fds[0], &handlers, peer);
  return fds[1];
}

static void
peer_clear(Peer *peer)
{
  g_clear_pointer(&peer->connection, mm_connection_free);
  g_clear_error(&peer->closed_error);
}

/* Counts the releases of the test's GBytes, to see references dropped. */
static guint n_released;

static void
count_release(gpointer data)
{
  n_released++;
  g_free(data);
}

/* pattern - LENGTH bytes that differ from one position to the next (a misplaced piece shows) */
static GBytes *
pattern(gsize length, guint seed)
{
  guint8 *data = g_malloc(length);
  for (gsize i = 0; i < length; i++)
    data[i] = (guint8)((i * 7 + seed) % 251);
  return g_bytes_new_with_free_func(data, length, count_release, data);
}

/* read_exactly - LENGTH bytes from FD, iterating the loop so that queued output moves; at most
 * STEP bytes per read (a slow reader) */
static GByteArray *
read_exactly(int fd, gsize length, gsize step)
{
  GByteArray *received = g_byte_array_sized_new((guint)length);
  guint8 *buffer = g_malloc(step);
  gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (received->len < length) {
    g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    g_main_context_iteration(NULL, FALSE);
    ssize_t n = recv(fd, buffer, MIN(step, length - received->len), MSG_DONTWAIT);
    if (n < 0)
      g_assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    else
      g_byte_array_append(received, buffer, (guint)n);
  }
  g_free(buffer);
  return received;
}

/* Copied bytes, then referenced ones, then copied ones again leave in that order; the
 * references are released once written. */
static void
test_order(void)
{
  Peer peer;
  int other = pair(&peer, 0);
  n_released = 0;
  g_autoptr(GBytes) big = pattern(100000, 1);
  g_autoptr(GBytes) small = pattern(100, 2);
  g_autoptr(GByteArray) expected = g_byte_array_new();
  GByteArray *out = mm_connection_output(peer.connection);

  g_byte_array_append(out, (const guint8 *)"head", 4);
  mm_connection_output_add_bytes(peer.connection, big, 10, 70000);
  mm_connection_output_add_bytes(peer.connection, small, 0, 100); /* small: copied */
  g_byte_array_append(out, (const guint8 *)"middle", 6);
  mm_connection_output_add_bytes(peer.connection, big, 70010, 20000);
  mm_connection_output_add_bytes(peer.connection, big, 0, 10);
  g_byte_array_append(out, (const guint8 *)"tail", 4);
  g_byte_array_append(expected, (const guint8 *)"head", 4);
  g_byte_array_append(expected, (const guint8 *)g_bytes_get_data(big, NULL) + 10, 70000);
  g_byte_array_append(expected, g_bytes_get_data(small, NULL), 100);
  g_byte_array_append(expected, (const guint8 *)"middle", 6);
  g_byte_array_append(expected, (const guint8 *)g_bytes_get_data(big, NULL) + 70010, 20000);
  g_byte_array_append(expected, g_bytes_get_data(big, NULL), 10);
  g_byte_array_append(expected, (const guint8 *)"tail", 4);
  g_assert_cmpuint(mm_connection_get_pending_output(peer.connection), ==, expected->len);

  mm_connection_flush(peer.connection);
  g_autoptr(GByteArray) received = read_exactly(other, expected->len, 65536);
  g_assert_cmpmem(received->data, received->len, expected->data, expected->len);
  g_assert_cmpuint(mm_connection_get_pending_output(peer.connection), ==, 0);
  /* The connection holds no reference any more: ours are the last. */
  g_clear_pointer(&big, g_bytes_unref);
  g_clear_pointer(&small, g_bytes_unref);
  g_assert_cmpuint(n_released, ==, 2);
  g_assert_cmpuint(peer.n_closed, ==, 0);
  close(other);
  peer_clear(&peer);
}

/* More pieces than one gathered write takes (buffer bytes between 20 references): they
 * leave over several writes, in order. */
static void
test_many_pieces(void)
{
  Peer peer;
  int other = pair(&peer, 0);
  n_released = 0;
  g_autoptr(GByteArray) expected = g_byte_array_new();
  for (guint i = 0; i < 20; i++) {
    guint8 mark = (guint8)('A' + i);
    g_byte_array_append(mm_connection_output(peer.connection), &mark, 1);
    g_byte_array_append(expected, &mark, 1);
    g_autoptr(GBytes) chunk = pattern(5000, i);
    mm_connection_output_add_bytes(peer.connection, chunk, 0, 5000);
    g_byte_array_append(expected, g_bytes_get_data(chunk, NULL), 5000);
  }
  mm_connection_flush(peer.connection);
  g_autoptr(GByteArray) received = read_exactly(other, expected->len, 65536);
  g_assert_cmpmem(received->data, received->len, expected->data, expected->len);
  g_assert_cmpuint(mm_connection_get_pending_output(peer.connection), ==, 0);
  g_assert_cmpuint(n_released, ==, 20);
  close(other);
  peer_clear(&peer);
}

/* A socket that fills up in the middle of a referenced piece: the write resumes inside it,
 * through many short reads, and packets queued meanwhile follow in order. */
static void
test_partial_writes(void)
{
  Peer peer;
  int other = pair(&peer, 4096);
  n_released = 0;
  g_autoptr(GByteArray) expected = g_byte_array_new();
  for (guint i = 0; i < 8; i++) {
    g_autoptr(GBytes) chunk = pattern(65535, i);
    const guint8 header[] = {0, 1, 0, 0, 'B'}; /* 65,536 bytes: the code and the chunk */
    g_byte_array_append(mm_connection_output(peer.connection), header, sizeof header);
    mm_connection_output_add_bytes(peer.connection, chunk, 0, 65535);
    mm_packet_append(expected, 'B', g_bytes_get_data(chunk, NULL), 65535);
    mm_connection_flush(peer.connection);
    /* The socket is full: most of it waits, referenced, while we let go of ours. */
    g_assert_cmpuint(mm_connection_get_pending_output(peer.connection), >, 0);
  }
  g_assert_cmpuint(n_released, ==, 0);
  mm_packet_append(mm_connection_output(peer.connection), 'E', NULL, 0);
  mm_packet_append(expected, 'E', NULL, 0);
  mm_connection_flush(peer.connection);

  g_autoptr(GByteArray) received = read_exactly(other, expected->len, 1000);
  g_assert_cmpmem(received->data, received->len, expected->data, expected->len);
  g_assert_cmpuint(mm_connection_get_pending_output(peer.connection), ==, 0);
  g_assert_cmpuint(n_released, ==, 8);
  g_assert_cmpuint(peer.n_closed, ==, 0);
  close(other);
  peer_clear(&peer);
}

/* References queued on a full socket are released when the peer goes away or the
 * connection is freed, never written after. */
static void
test_dropped(void)
{
  Peer peer;
  int other = pair(&peer, 4096);
  n_released = 0;
  GBytes *chunk = pattern(200000, 3);
  mm_connection_output_add_bytes(peer.connection, chunk, 0, 200000);
  g_bytes_unref(chunk);
  mm_connection_flush(peer.connection);
  g_assert_cmpuint(mm_connection_get_pending_output(peer.connection), >, 0);
  g_assert_cmpuint(n_released, ==, 0);
  close(other);
  gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (peer.n_closed == 0 && g_get_monotonic_time() < deadline)
    g_main_context_iteration(NULL, TRUE);
  g_assert_cmpuint(peer.n_closed, ==, 1);
  g_assert_nonnull(peer.closed_error);
  g_assert_cmpuint(n_released, ==, 1);
  g_assert_cmpuint(mm_connection_get_pending_output(peer.connection), ==, 0);
  /* Adding to a closed connection keeps nothing. */
  chunk = pattern(10000, 4);
  mm_connection_output_add_bytes(peer.connection, chunk, 0, 10000);
  g_bytes_unref(chunk);
  g_assert_cmpuint(n_released, ==, 2);
  peer_clear(&peer);

  /* Freed with references queued. */
  other = pair(&peer, 4096);
  chunk = pattern(200000, 5);
  mm_connection_output_add_bytes(peer.connection, chunk, 0, 200000);
  g_bytes_unref(chunk);
  mm_connection_flush(peer.connection);
  g_assert_cmpuint(n_released, ==, 2);
  peer_clear(&peer);
  g_assert_cmpuint(n_released, ==, 3);
  close(other);
}

/* A spool's bytes queued by reference stay as they were while the spool grows, spills to
 * its file and is freed. */
static void
test_spool_references(void)
{
  Peer peer;
  int other = pair(&peer, 4096);
  g_autoptr(GError) error = NULL;
  MmBodySpool *spool = mm_body_spool_new(300000, NULL);
  g_assert_null(mm_body_spool_get_bytes(spool));
  g_autoptr(GBytes) source = pattern(400000, 6);
  const guint8 *bytes = g_bytes_get_data(source, NULL);
  g_assert_true(mm_body_spool_append(spool, bytes, 70000, &error));
  mm_connection_output_add_bytes(peer.connection, mm_body_spool_get_bytes(spool), 0, 70000);
  mm_connection_flush(peer.connection);
  /* Grows (moving to new memory: the old is still queued), then spills past 300,000. */
  g_assert_true(mm_body_spool_append(spool, bytes + 70000, 130000, &error));
  mm_connection_output_add_bytes(peer.connection, mm_body_spool_get_bytes(spool), 70000,
                                 130000);
  g_assert_true(mm_body_spool_append(spool, bytes + 200000, 200000, &error));
  g_assert_true(mm_body_spool_is_on_disk(spool));
  g_assert_null(mm_body_spool_get_bytes(spool));
  mm_body_spool_free(spool);
  g_autoptr(GByteArray) received = read_exactly(other, 200000, 3000);
  g_assert_cmpmem(received->data, received->len, bytes, 200000);
  g_assert_cmpuint(mm_connection_get_pending_output(peer.connection), ==, 0);
  close(other);
  peer_clear(&peer);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/connection-output/order", test_order);
  g_test_add_func("/connection-output/many-pieces", test_many_pieces);
  g_test_add_func("/connection-output/partial-writes", test_partial_writes);
  g_test_add_func("/connection-output/dropped", test_dropped);
  g_test_add_func("/connection-output/spool-references", test_spool_references);
  return g_test_run();
}
