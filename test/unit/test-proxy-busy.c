/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-proxy-busy.c: the proxy's deferred steps (freeing an ended session, answering a
 * negotiation with no child, reporting a child that cannot be reached) run while the loop never idles. */
#include "protocol.h"
#include "config.h"
#include "proxy.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Loop iterations a deferred step may take; far more than it needs, far fewer than forever. */
#define BUSY_ITERATIONS 2000

/* Protocol 6 with every action and no step flag: the MTA awaits each reply. */
#define OFFER_VERSION 6
#define OFFER_ACTIONS 0x1ff

/* stay_busy - always ready at the events' priority, as sustained traffic keeps the loop */
static gboolean
stay_busy(gpointer user_data)
{
  (*(guint *)user_data)++;
  return G_SOURCE_CONTINUE;
}

typedef struct {
  MmConfig *config;
  MmProxy *proxy;
  guint busy_source;
  guint busy_runs;
  int mta_fd;
} Fixture;

static void
fixture_setup(Fixture *fixture, gconstpointer data)
{
  const char *child_spec = data;
  fixture->config = mm_config_new();
  if (child_spec) {
    MmMilterConfig *milter = mm_milter_config_new("unreachable");
    milter->connection_spec = g_strdup(child_spec);
    g_ptr_array_add(fixture->config->milters, milter);
  }
  fixture->proxy = mm_proxy_new(fixture->config);
  int fds[2];
  g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  mm_proxy_accept(fixture->proxy, fds[0]);
  fixture->mta_fd = fds[1];
  fixture->busy_source =
    g_idle_add_full(G_PRIORITY_DEFAULT, stay_busy, &fixture->busy_runs, NULL);
}

static void
fixture_teardown(Fixture *fixture, gconstpointer data)
{
  (void)data;
  g_source_remove(fixture->busy_source);
  if (fixture->mta_fd >= 0)
    close(fixture->mta_fd);
  mm_proxy_free(fixture->proxy);
  while (g_main_context_iteration(NULL, FALSE))
    ;
  mm_config_unref(fixture->config);
}

/* send_negotiate - the MTA's OPTNEG, written whole on the blocking end */
static void
send_negotiate(int fd)
{
  guchar packet[4 + 1 + 12];
  guint32 fields[3] = {g_htonl(OFFER_VERSION), g_htonl(OFFER_ACTIONS), 0};
  guint32 length = g_htonl(1 + sizeof(fields));
  memcpy(packet, &length, 4);
  packet[4] = MM_COMMAND_NEGOTIATE;
  memcpy(packet + 5, fields, sizeof(fields));
  g_assert_cmpint(write(fd, packet, sizeof(packet)), ==, sizeof(packet));
}

/* reply_code - the command code of the first reply the proxy sent, after running the loop at
 * most BUSY_ITERATIONS times; 0 if none came */
static char
reply_code(int fd)
{
  guchar header[5];
  for (guint i = 0; i < BUSY_ITERATIONS; i++) {
    g_main_context_iteration(NULL, FALSE);
    ssize_t got = recv(fd, header, sizeof(header), MSG_DONTWAIT | MSG_PEEK);
    if (got == (ssize_t)sizeof(header))
      return (char)header[4];
  }
  return 0;
}

/* test_ended_session_freed - a session the MTA closed is freed though the loop never idles:
 * under sustained load, ended sessions must not pile up until a quiet moment */
static void
test_ended_session_freed(Fixture *fixture, gconstpointer data)
{
  (void)data;
  g_assert_cmpuint(mm_proxy_get_n_sessions(fixture->proxy), ==, 1);
  close(fixture->mta_fd);
  fixture->mta_fd = -1;
  guint i = 0;
  while (mm_proxy_get_n_sessions(fixture->proxy) > 0 && i++ < BUSY_ITERATIONS)
    g_main_context_iteration(NULL, FALSE);
  g_assert_cmpuint(mm_proxy_get_n_sessions(fixture->proxy), ==, 0);
  g_assert_cmpuint(fixture->busy_runs, >, 0);
}

/* test_negotiation_without_children - with no child to ask, the MTA still gets its answer */
static void
test_negotiation_without_children(Fixture *fixture, gconstpointer data)
{
  (void)data;
  send_negotiate(fixture->mta_fd);
  g_assert_cmpint(reply_code(fixture->mta_fd), ==, MM_COMMAND_NEGOTIATE);
}

/* test_unreachable_child_reported - a child that cannot be reached (no socket at its path, or
 * a path too long for an address, reported from the main loop) fails; the failure reaches the
 * session and the MTA gets its negotiation answer */
static void
test_unreachable_child_reported(Fixture *fixture, gconstpointer data)
{
  (void)data;
  send_negotiate(fixture->mta_fd);
  g_assert_cmpint(reply_code(fixture->mta_fd), ==, MM_COMMAND_NEGOTIATE);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_autofree char *dir = g_dir_make_tmp("mm-proxy-busy-XXXXXX", NULL);
  g_autofree char *missing = g_strconcat("unix:", dir, "/no-such-child.sock", NULL);
  g_test_add("/proxy-busy/ended-session-freed", Fixture, NULL, fixture_setup,
             test_ended_session_freed, fixture_teardown);
  g_test_add("/proxy-busy/negotiation-without-children", Fixture, NULL, fixture_setup,
             test_negotiation_without_children, fixture_teardown);
  g_autofree char *too_long = g_strdup_printf("unix:%s/%0200d.sock", dir, 0);
  g_test_add("/proxy-busy/unreachable-child-reported/missing", Fixture, missing, fixture_setup,
             test_unreachable_child_reported, fixture_teardown);
  g_test_add("/proxy-busy/unreachable-child-reported/bad-address", Fixture, too_long,
             fixture_setup, test_unreachable_child_reported, fixture_teardown);
  int status = g_test_run();
  g_rmdir(dir);
  return status;
}
