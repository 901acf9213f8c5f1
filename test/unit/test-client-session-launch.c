/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-client-session-launch.c: the client session's privilege-mode hook: a failed connect
 * asks the launcher once and connects again after the delay, within connection_timeout. */
#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "libmilter-manager/client-session.h"
#include "libmilter-manager/packet.h"
#include "libmilter-manager/protocol.h"
#include "libmilter-manager/reply.h"

/* The retry delay the tests give the hook: short, so that the tests stay fast. */
#define TEST_RETRY_DELAY_MS 100
/* Longest a test waits for its outcome. */
#define TEST_DEADLINE_MS 5000

typedef struct {
  char *directory;
  char *path;
  MmMilterConfig *milter;
  MmClientSession *session;
  GMainLoop *loop;
  guint n_launches;
  gboolean launch_result;  /* what the hook answers */
  gboolean start_milter;   /* the hook brings the milter up */
  int listen_fd;
  guint accept_id;
  int peer_fd;
  guint peer_id;
  guint8 offer[64];
  gsize offer_length;
  gboolean negotiated;
  char *failure;
  gint64 started_at;
  gint64 ended_at;
} Fixture;

/* fixture_set_up - a milter on a UNIX socket that nothing listens on yet */
static void
fixture_set_up(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  f->directory = g_dir_make_tmp("test-client-session-launch.XXXXXX", NULL);
  g_assert_nonnull(f->directory);
  f->path = g_build_filename(f->directory, "milter.sock", NULL);
  f->milter = mm_milter_config_new("auto");
  f->milter->connection_spec = g_strconcat("unix:", f->path, NULL);
  f->milter->command = g_strdup("/bin/true");
  f->milter->connection_timeout = 10;
  f->loop = g_main_loop_new(NULL, FALSE);
  f->launch_result = TRUE;
  f->listen_fd = -1;
  f->peer_fd = -1;
}

/* fixture_tear_down - everything, and the hook off */
static void
fixture_tear_down(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  mm_client_session_set_launcher(NULL, NULL, 0);
  mm_client_session_free(f->session);
  if (f->accept_id)
    g_source_remove(f->accept_id);
  if (f->listen_fd >= 0)
    close(f->listen_fd);
  if (f->peer_id)
    g_source_remove(f->peer_id);
  if (f->peer_fd >= 0)
    close(f->peer_fd);
  g_unlink(f->path);
  g_rmdir(f->directory);
  g_free(f->path);
  g_free(f->directory);
  g_free(f->failure);
  mm_milter_config_free(f->milter);
  g_main_loop_unref(f->loop);
}

/* on_offer - the fake milter: once the whole offer is in, answer it as it is */
static gboolean
on_offer(int peer, G_GNUC_UNUSED GIOCondition condition, gpointer user_data)
{
  Fixture *f = user_data;
  ssize_t n = recv(peer, f->offer + f->offer_length, sizeof f->offer - f->offer_length,
                   MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  g_assert_cmpint(n, >, 0);
  f->offer_length += (gsize)n;
  char code;
  const guint8 *data;
  gsize length, consumed;
  MmPacketResult result = mm_packet_next(f->offer, f->offer_length, sizeof f->offer, &code,
                                         &data, &length, &consumed, NULL);
  if (result == MM_PACKET_INCOMPLETE)
    return G_SOURCE_CONTINUE;
  g_assert_cmpint(result, ==, MM_PACKET_READY);
  g_assert_cmpint(code, ==, MM_COMMAND_NEGOTIATE);
  g_assert_cmpuint(length, ==, 12);
  MmOption option;
  mm_option_init(&option);
  guint32 words[3];
  memcpy(words, data, sizeof words);
  option.version = GUINT32_FROM_BE(words[0]);
  option.actions = GUINT32_FROM_BE(words[1]);
  option.steps = GUINT32_FROM_BE(words[2]);
  g_autoptr(GByteArray) out = g_byte_array_new();
  mm_reply_encode_negotiate(out, &option);
  mm_option_clear(&option);
  g_assert_cmpint(write(peer, out->data, out->len), ==, (gssize)out->len);
  f->peer_id = 0;
  return G_SOURCE_REMOVE;
}

/* on_milter_connection - the fake milter accepts the session's connection */
static gboolean
on_milter_connection(int fd, G_GNUC_UNUSED GIOCondition condition, gpointer user_data)
{
  Fixture *f = user_data;
  f->peer_fd = accept(fd, NULL, NULL);
  g_assert_cmpint(f->peer_fd, >=, 0);
  f->peer_id = g_unix_fd_add(f->peer_fd, G_IO_IN, on_offer, f);
  f->accept_id = 0;
  return G_SOURCE_REMOVE;
}

/* start_milter - listen on the milter's socket, as a started milter would */
static void
start_milter(Fixture *f)
{
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  g_assert_cmpuint(strlen(f->path), <, sizeof address.sun_path);
  strcpy(address.sun_path, f->path);
  f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint(f->listen_fd, >=, 0);
  g_assert_cmpint(bind(f->listen_fd, (struct sockaddr *)&address, sizeof address), ==, 0);
  g_assert_cmpint(listen(f->listen_fd, 4), ==, 0);
  f->accept_id = g_unix_fd_add(f->listen_fd, G_IO_IN, on_milter_connection, f);
}

/* launch - the hook: count, maybe bring the milter up, answer as told */
static gboolean
launch(gpointer user_data, const MmMilterConfig *milter)
{
  Fixture *f = user_data;
  g_assert_true(milter == f->milter);
  f->n_launches++;
  if (f->start_milter)
    start_milter(f);
  return f->launch_result;
}

/* on_negotiated - the child answered the offer: the test is over */
static void
on_negotiated(gpointer user_data, G_GNUC_UNUSED const MmOption *option)
{
  Fixture *f = user_data;
  f->negotiated = TRUE;
  f->ended_at = g_get_monotonic_time();
  g_main_loop_quit(f->loop);
}

/* on_failed - the child is unusable: the test is over */
static void
on_failed(gpointer user_data, const GError *error)
{
  Fixture *f = user_data;
  f->failure = g_strdup(error->message);
  f->ended_at = g_get_monotonic_time();
  g_main_loop_quit(f->loop);
}

/* on_deadline - nothing happened in time */
static gboolean
on_deadline(G_GNUC_UNUSED gpointer user_data)
{
  g_assert_not_reached();
  return G_SOURCE_REMOVE;
}

static const MmClientSessionHandlers handlers = {
  .negotiated = on_negotiated,
  .failed = on_failed,
};

/* run - start the session and wait for negotiated or failed */
static void
run(Fixture *f, gboolean with_hook)
{
  if (with_hook)
    mm_client_session_set_launcher(launch, f, TEST_RETRY_DELAY_MS);
  f->session = mm_client_session_new(f->milter, &handlers, f);
  MmOption offer;
  mm_option_init(&offer);
  offer.version = 6;
  offer.actions = MM_ACTION_ADD_HEADERS;
  f->started_at = g_get_monotonic_time();
  mm_client_session_negotiate(f->session, &offer);
  mm_option_clear(&offer);
  guint deadline = g_timeout_add(TEST_DEADLINE_MS, on_deadline, NULL);
  g_main_loop_run(f->loop);
  g_source_remove(deadline);
}

/* elapsed_ms - how long the session took to its outcome */
static gint64
elapsed_ms(const Fixture *f)
{
  return (f->ended_at - f->started_at) / 1000;
}

/* test_retry_succeeds - the launcher brings the milter up: the retry negotiates */
static void
test_retry_succeeds(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  f->start_milter = TRUE;
  run(f, TRUE);
  g_assert_null(f->failure);
  g_assert_true(f->negotiated);
  g_assert_cmpuint(f->n_launches, ==, 1);
  g_assert_cmpint(elapsed_ms(f), >=, TEST_RETRY_DELAY_MS);
}

/* test_retry_fails - asked once, retried once, then the usual failure saying so */
static void
test_retry_fails(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  run(f, TRUE);
  g_assert_cmpuint(f->n_launches, ==, 1);
  g_assert_nonnull(f->failure);
  g_assert_true(g_str_has_suffix(f->failure, "(after asking the launcher to start it)"));
  g_assert_cmpint(elapsed_ms(f), >=, TEST_RETRY_DELAY_MS);
}

/* test_no_hook - without privilege mode a refused connect fails at once */
static void
test_no_hook(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  run(f, FALSE);
  g_assert_cmpuint(f->n_launches, ==, 0);
  g_assert_nonnull(f->failure);
  g_assert_false(g_str_has_suffix(f->failure, "(after asking the launcher to start it)"));
  g_assert_cmpint(elapsed_ms(f), <, TEST_RETRY_DELAY_MS);
}

/* test_no_command - a milter without milter.command is not asked for */
static void
test_no_command(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  g_clear_pointer(&f->milter->command, g_free);
  run(f, TRUE);
  g_assert_cmpuint(f->n_launches, ==, 0);
  g_assert_nonnull(f->failure);
  g_assert_cmpint(elapsed_ms(f), <, TEST_RETRY_DELAY_MS);
}

/* test_hook_declines - a request that did not go out: no waiting */
static void
test_hook_declines(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  f->launch_result = FALSE;
  run(f, TRUE);
  g_assert_cmpuint(f->n_launches, ==, 1);
  g_assert_nonnull(f->failure);
  g_assert_false(g_str_has_suffix(f->failure, "(after asking the launcher to start it)"));
  g_assert_cmpint(elapsed_ms(f), <, TEST_RETRY_DELAY_MS);
}

/* test_short_timeout - connection_timeout shorter than the delay: not asked, no waiting */
static void
test_short_timeout(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  f->milter->connection_timeout = TEST_RETRY_DELAY_MS / 2000.0;
  run(f, TRUE);
  g_assert_cmpuint(f->n_launches, ==, 0);
  g_assert_nonnull(f->failure);
  g_assert_cmpint(elapsed_ms(f), <, TEST_RETRY_DELAY_MS);
}

/* test_free_while_waiting - freeing the session during the delay cancels the retry */
static void
test_free_while_waiting(Fixture *f, G_GNUC_UNUSED gconstpointer data)
{
  mm_client_session_set_launcher(launch, f, TEST_RETRY_DELAY_MS);
  f->session = mm_client_session_new(f->milter, &handlers, f);
  MmOption offer;
  mm_option_init(&offer);
  offer.version = 6;
  mm_client_session_negotiate(f->session, &offer);
  mm_option_clear(&offer);
  while (f->n_launches == 0)
    g_main_context_iteration(NULL, TRUE);
  g_clear_pointer(&f->session, mm_client_session_free);
  /* Past the delay: a retry still armed would touch the freed session (ASan says so). */
  g_usleep(2 * TEST_RETRY_DELAY_MS * 1000);
  while (g_main_context_iteration(NULL, FALSE))
    ;
  g_assert_null(f->failure);
  g_assert_false(f->negotiated);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/client-session/launch/retry-succeeds", Fixture, NULL, fixture_set_up,
             test_retry_succeeds, fixture_tear_down);
  g_test_add("/client-session/launch/retry-fails", Fixture, NULL, fixture_set_up,
             test_retry_fails, fixture_tear_down);
  g_test_add("/client-session/launch/no-hook", Fixture, NULL, fixture_set_up, test_no_hook,
             fixture_tear_down);
  g_test_add("/client-session/launch/no-command", Fixture, NULL, fixture_set_up,
             test_no_command, fixture_tear_down);
  g_test_add("/client-session/launch/hook-declines", Fixture, NULL, fixture_set_up,
             test_hook_declines, fixture_tear_down);
  g_test_add("/client-session/launch/short-timeout", Fixture, NULL, fixture_set_up,
             test_short_timeout, fixture_tear_down);
  g_test_add("/client-session/launch/free-while-waiting", Fixture, NULL, fixture_set_up,
             test_free_while_waiting, fixture_tear_down);
  return g_test_run();
}
