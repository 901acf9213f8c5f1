/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-connection-loop.c: unit tests for connections on the shared event loop: timers of many
 * connections in deadline order, re-arming, freeing a ready connection, reuse of a freed one. */
#include "connection.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event-loop.h"
#include "listener.h"
#include "packet.h"

/* What one connection's handlers saw. */
typedef struct Peer Peer;
struct Peer {
  MmConnection *connection;
  guint id;
  guint n_packets;
  guint n_closed;
  guint n_timeouts;
  GArray *order; /* shared: ids in timeout order */
  Peer *victim;  /* freed by this peer's packet handler */
};

static void
on_packet(gpointer user_data, char code, const guint8 *data, gsize length)
{
  Peer *peer = user_data;
  peer->n_packets++;
  if (peer->victim)
    g_clear_pointer(&peer->victim->connection, mm_connection_free);
}

static void
on_closed(gpointer user_data, const GError *error)
{
  ((Peer *)user_data)->n_closed++;
}

static void
on_timeout(gpointer user_data)
{
  Peer *peer = user_data;
  peer->n_timeouts++;
  if (peer->order)
    g_array_append_val(peer->order, peer->id);
}

static const MmConnectionHandlers handlers = {
  .packet = on_packet,
  .closed = on_closed,
  .timeout = on_timeout,
};

static gboolean
deadline_passed(gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* run_until - iterate the loop until *COUNTER reaches AT_LEAST, failing after 10 s */
static void
run_until(const guint *counter, guint at_least)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add(10000, deadline_passed, &expired);
  while (*counter < at_least && !expired)
    g_main_context_iteration(NULL, TRUE);
  g_assert_false(expired);
  g_source_remove(id);
}

/* drain - iterate while anything is ready */
static void
drain(void)
{
  for (guint i = 0; i < 1000 && g_main_context_iteration(NULL, FALSE); i++)
    ;
}

/* pair - a connection for PEER on one end of a socketpair; returns the other end */
static int
pair(Peer *peer, guint id)
{
  memset(peer, 0, sizeof *peer);
  peer->id = id;
  int fds[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  peer->connection = mm_connection_new(fds[0], &handlers, peer);
  g_assert_nonnull(peer->connection);
  return fds[1];
}

static void
test_timers_order(void)
{
  /* Armed in one order, re-armed, cancelled: they fire in deadline order, once each. */
  const guint delays[] = {40, 10, 30, 20, 50, 15};
  const guint n = G_N_ELEMENTS(delays);
  Peer peers[G_N_ELEMENTS(delays)];
  int others[G_N_ELEMENTS(delays)];
  g_autoptr(GArray) order = g_array_new(FALSE, FALSE, sizeof(guint));
  guint deadlines_before = mm_event_loop_get_n_deadlines();
  for (guint i = 0; i < n; i++) {
    others[i] = pair(&peers[i], i);
    peers[i].order = order;
    mm_connection_set_timeout(peers[i].connection, delays[i]);
  }
  mm_connection_set_timeout(peers[4].connection, 5);      /* 50 -> 5: now first */
  mm_connection_set_timeout(peers[1].connection, 60000); /* 10 -> a minute: not in this test */
  mm_connection_set_timeout(peers[5].connection, 0);     /* cancelled */
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, deadlines_before + n - 1);
  guint fired = 0;
  while (fired < 4) {
    g_main_context_iteration(NULL, TRUE);
    fired = order->len;
  }
  const guint expected[] = {4, 3, 2, 0};
  for (guint i = 0; i < G_N_ELEMENTS(expected); i++)
    g_assert_cmpuint(g_array_index(order, guint, i), ==, expected[i]);
  g_assert_cmpuint(peers[1].n_timeouts, ==, 0);
  g_assert_cmpuint(peers[5].n_timeouts, ==, 0);
  /* Fired timers are not re-armed; the minute-long one is still armed. */
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, deadlines_before + 1);
  for (guint i = 0; i < n; i++) {
    mm_connection_free(peers[i].connection);
    close(others[i]);
  }
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, deadlines_before);
}

static void
test_timer_rearm_after_firing(void)
{
  /* Arming the next timeout after one fired, as the sessions do per stage. */
  Peer peer;
  int other = pair(&peer, 0);
  mm_connection_set_timeout(peer.connection, 1);
  for (guint i = 1; i <= 5; i++) {
    run_until(&peer.n_timeouts, i);
    mm_connection_set_timeout(peer.connection, 1);
  }
  mm_connection_set_timeout(peer.connection, 0);
  drain();
  g_assert_cmpuint(peer.n_timeouts, ==, 5);
  mm_connection_free(peer.connection);
  close(other);
}

static void
test_free_while_ready(void)
{
  /* Two connections with input in the same pass: the first dispatched frees the other,
   * which must not be called afterwards. */
  Peer a, b;
  int other_a = pair(&a, 1);
  int other_b = pair(&b, 2);
  a.victim = &b;
  b.victim = &a;
  g_assert_cmpint(write(other_a, "\0\0\0\1A", 5), ==, 5);
  g_assert_cmpint(write(other_b, "\0\0\0\1A", 5), ==, 5);
  drain();
  g_assert_cmpuint(a.n_packets + b.n_packets, ==, 1);
  g_assert_cmpuint(a.n_closed + b.n_closed, ==, 0);
  g_assert_true((a.connection == NULL) != (b.connection == NULL));
  g_clear_pointer(&a.connection, mm_connection_free);
  g_clear_pointer(&b.connection, mm_connection_free);
  close(other_a);
  close(other_b);
}

static void
test_reuse_is_clean(void)
{
  /* A connection freed with a paused input, an armed timer and queued output: the next one
   * (which may reuse its memory) starts clean. */
  guint fds_before = mm_event_loop_get_n_fds();
  guint deadlines_before = mm_event_loop_get_n_deadlines();
  Peer first;
  int other = pair(&first, 1);
  mm_connection_set_reading(first.connection, FALSE);
  mm_connection_set_timeout(first.connection, 1);
  mm_connection_set_write_timeout(first.connection, 1);
  mm_packet_append(mm_connection_output(first.connection), 'X', "queued", 6);
  g_assert_cmpint(write(other, "\0\0\0\1A", 5), ==, 5);
  mm_connection_free(first.connection);
  close(other);
  g_assert_cmpuint(mm_event_loop_get_n_fds(), ==, fds_before);
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, deadlines_before);
  for (guint round = 0; round < 3; round++) {
    Peer next;
    other = pair(&next, 2);
    g_assert_cmpuint(mm_connection_get_pending_output(next.connection), ==, 0);
    g_assert_cmpuint(mm_connection_output(next.connection)->len, ==, 0);
    g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, deadlines_before);
    g_assert_cmpint(write(other, "\0\0\0\1B\0\0\0\1C", 10), ==, 10);
    run_until(&next.n_packets, 2);
    mm_packet_append(mm_connection_output(next.connection), 'Y', "", 0);
    mm_connection_flush(next.connection);
    guint8 buffer[8];
    g_assert_cmpint(read(other, buffer, sizeof buffer), ==, 5);
    g_assert_cmpint(buffer[4], ==, 'Y');
    close(other);
    run_until(&next.n_closed, 1);
    g_assert_cmpuint(next.n_timeouts, ==, 0);
    mm_connection_free(next.connection);
  }
  g_assert_cmpuint(first.n_packets + first.n_timeouts + first.n_closed, ==, 0);
}

/* on_accepted - check the flags of a listener's fd, then make a connection of it */
static void
on_accepted(int fd, gpointer user_data)
{
  Peer *peer = user_data;
  g_assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
  g_assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  peer->connection = mm_connection_new(fd, &handlers, peer);
}

static void
test_fd_flags(void)
{
  /* A blocking fd of the caller's is made non-blocking and close-on-exec... */
  int fds[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  g_assert_false(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
  Peer peer = {0};
  peer.connection = mm_connection_new(fds[0], &handlers, &peer);
  g_assert_true(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
  g_assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
  mm_connection_free(peer.connection);
  close(fds[1]);
  /* ...and one the listener hands over (accept4 set both) works without a check. */
  g_autofree char *dir = g_dir_make_tmp("mm-connection-loop-XXXXXX", NULL);
  g_autofree char *text = g_strdup_printf("unix:%s/l.sock", dir);
  g_autoptr(MmConnectionSpec) spec = mm_connection_spec_parse(text, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MmListener) listener = mm_listener_new(spec, NULL, &error);
  g_assert_no_error(error);
  Peer accepted = {0};
  mm_listener_start(listener, on_accepted, &accepted);
  int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_storage address;
  socklen_t length = 0;
  g_assert_true(mm_connection_spec_to_sockaddr(spec, &address, &length, NULL));
  g_assert_cmpint(connect(client, (struct sockaddr *)&address, length), ==, 0);
  g_assert_cmpint(write(client, "\0\0\0\1Z", 5), ==, 5);
  run_until(&accepted.n_packets, 1);
  g_assert_false(mm_event_loop_is_fresh_fd(mm_connection_get_fd(accepted.connection)));
  close(client);
  run_until(&accepted.n_closed, 1);
  mm_connection_free(accepted.connection);
  g_clear_pointer(&listener, mm_listener_free);
  g_rmdir(dir);
}

static void
test_many_connections_registered(void)
{
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 2200) {
    g_test_skip("needs 2,200 file descriptors (ulimit -n)");
    return;
  }
  /* 1,000 connections with timers: one watch and one heap entry each, all gone after free;
   * a packet to every tenth reaches exactly those. */
  const guint n = 1000;
  guint fds_before = mm_event_loop_get_n_fds();
  guint deadlines_before = mm_event_loop_get_n_deadlines();
  Peer *peers = g_new0(Peer, n);
  int *others = g_new0(int, n);
  for (guint i = 0; i < n; i++) {
    others[i] = pair(&peers[i], i);
    mm_connection_set_timeout(peers[i].connection, 60000 + i);
  }
  g_assert_cmpuint(mm_event_loop_get_n_fds(), ==, fds_before + n);
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, deadlines_before + n);
  for (guint i = 0; i < n; i += 10)
    g_assert_cmpint(write(others[i], "\0\0\0\1A", 5), ==, 5);
  guint total = 0;
  while (total < n / 10) {
    g_main_context_iteration(NULL, TRUE);
    total = 0;
    for (guint i = 0; i < n; i++)
      total += peers[i].n_packets;
  }
  drain();
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint(peers[i].n_packets, ==, i % 10 == 0 ? 1 : 0);
  for (guint i = 0; i < n; i++) {
    mm_connection_free(peers[i].connection);
    close(others[i]);
  }
  g_assert_cmpuint(mm_event_loop_get_n_fds(), ==, fds_before);
  g_assert_cmpuint(mm_event_loop_get_n_deadlines(), ==, deadlines_before);
  g_free(peers);
  g_free(others);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/connection-loop/timers/order", test_timers_order);
  g_test_add_func("/connection-loop/timers/rearm-after-firing", test_timer_rearm_after_firing);
  g_test_add_func("/connection-loop/free-while-ready", test_free_while_ready);
  g_test_add_func("/connection-loop/reuse-is-clean", test_reuse_is_clean);
  g_test_add_func("/connection-loop/fd-flags", test_fd_flags);
  g_test_add_func("/connection-loop/many-connections", test_many_connections_registered);
  return g_test_run();
}
