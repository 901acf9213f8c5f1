/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-listener.c: unit tests for listening sockets (listener.h): UNIX socket mode, group,
 * stale and live sockets, removal, pausing, fd exhaustion, and TCP on loopback port 0. */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct {
  char *dir;
  char *path;
  char *text;
  MmConnectionSpec *spec;
} Fixture;

static void
fixture_setup(Fixture *fixture, gconstpointer data)
{
  fixture->dir = g_dir_make_tmp("mm-listener-XXXXXX", NULL);
  g_assert_nonnull(fixture->dir);
  fixture->path = g_build_filename(fixture->dir, "milter-manager.sock", NULL);
  fixture->text = g_strconcat("unix:", fixture->path, NULL);
  fixture->spec = mm_connection_spec_parse(fixture->text, NULL);
}

static void
fixture_teardown(Fixture *fixture, gconstpointer data)
{
  g_unlink(fixture->path);
  g_rmdir(fixture->dir);
  mm_connection_spec_free(fixture->spec);
  g_free(fixture->text);
  g_free(fixture->path);
  g_free(fixture->dir);
}

/* connect_unix - a blocking client connection to PATH, or -1 with errno */
static int
connect_unix(const char *path)
{
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  g_strlcpy(address.sun_path, path, sizeof address.sun_path);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

/* bind_unix - a socket bound at PATH, listening or not */
static int
bind_unix(const char *path, gboolean do_listen)
{
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  g_strlcpy(address.sun_path, path, sizeof address.sun_path);
  g_assert_cmpint(bind(fd, (struct sockaddr *)&address, sizeof address), ==, 0);
  if (do_listen)
    g_assert_cmpint(listen(fd, 4), ==, 0);
  return fd;
}

typedef struct {
  GArray *fds;
  MmListener *free_me;
} Accepted;

static void
on_accepted(int fd, gpointer user_data)
{
  Accepted *accepted = user_data;
  g_assert_cmpint(fcntl(fd, F_GETFL) & O_NONBLOCK, !=, 0);
  g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, !=, 0);
  g_array_append_val(accepted->fds, fd);
  if (accepted->free_me)
    g_clear_pointer(&accepted->free_me, mm_listener_free);
}

static gboolean
deadline_passed(gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* run_until_accepted - iterate until COUNT fds were accepted, failing after 10 s */
static void
run_until_accepted(Accepted *accepted, guint count)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add(10000, deadline_passed, &expired);
  while (accepted->fds->len < count && !expired)
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
close_accepted(Accepted *accepted)
{
  for (guint i = 0; i < accepted->fds->len; i++)
    close(g_array_index(accepted->fds, int, i));
  g_array_unref(accepted->fds);
}

static void
test_unix_accept_and_remove(Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  MmListener *listener = mm_listener_new(fixture->spec, NULL, &error);
  g_assert_no_error(error);
  struct stat status;
  g_assert_cmpint(lstat(fixture->path, &status), ==, 0);
  g_assert_true(S_ISSOCK(status.st_mode));
  Accepted accepted = {g_array_new(FALSE, FALSE, sizeof(int)), NULL};
  mm_listener_start(listener, on_accepted, &accepted);
  int client = connect_unix(fixture->path);
  g_assert_cmpint(client, >=, 0);
  run_until_accepted(&accepted, 1);
  g_assert_cmpint(write(client, "x", 1), ==, 1);
  char byte = 0;
  g_assert_cmpint(read(g_array_index(accepted.fds, int, 0), &byte, 1), ==, 1);
  g_assert_cmpint(byte, ==, 'x');
  mm_listener_free(listener);
  g_assert_cmpint(lstat(fixture->path, &status), <, 0);
  g_assert_cmpint(errno, ==, ENOENT);
  close(client);
  close_accepted(&accepted);
}

static void
test_unix_mode_and_group(Fixture *fixture, gconstpointer data)
{
  struct group *mail = getgrnam("mail");
  if (geteuid() != 0 || !mail) {
    g_test_skip("needs root and a \"mail\" group to change the socket's group");
    return;
  }
  gid_t mail_gid = mail->gr_gid;
  MmListenerOptions options = {
    .unix_socket_mode = 0660,
    .unix_socket_group = "mail",
    .remove_unix_socket_on_create = TRUE,
    .remove_unix_socket_on_close = TRUE,
  };
  /* A umask that would leave the socket world-writable shows the mode is applied. */
  mode_t old_umask = umask(0);
  g_autoptr(GError) error = NULL;
  MmListener *listener = mm_listener_new(fixture->spec, &options, &error);
  umask(old_umask);
  g_assert_no_error(error);
  struct stat status;
  g_assert_cmpint(lstat(fixture->path, &status), ==, 0);
  g_assert_cmpint(status.st_mode & 07777, ==, 0660);
  g_assert_cmpint(status.st_gid, ==, mail_gid);
  g_assert_true(mm_listener_chown(listener, 1, &error));
  g_assert_no_error(error);
  g_assert_cmpint(lstat(fixture->path, &status), ==, 0);
  g_assert_cmpint(status.st_uid, ==, 1);
  mm_listener_free(listener);

  /* A numeric gid, and another mode. */
  options.unix_socket_group = "12345";
  options.unix_socket_mode = 0600;
  listener = mm_listener_new(fixture->spec, &options, &error);
  g_assert_no_error(error);
  g_assert_cmpint(lstat(fixture->path, &status), ==, 0);
  g_assert_cmpint(status.st_mode & 07777, ==, 0600);
  g_assert_cmpint(status.st_gid, ==, 12345);
  mm_listener_free(listener);
}

static void
test_unix_unknown_group(Fixture *fixture, gconstpointer data)
{
  MmListenerOptions options = {
    .unix_socket_mode = 0660,
    .unix_socket_group = "no-such-group-mm",
    .remove_unix_socket_on_create = TRUE,
    .remove_unix_socket_on_close = TRUE,
  };
  g_autoptr(GError) error = NULL;
  g_assert_null(mm_listener_new(fixture->spec, &options, &error));
  g_assert_error(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_GROUP);
  g_assert_nonnull(strstr(error->message, "\"no-such-group-mm\""));
  g_assert_nonnull(strstr(error->message, fixture->text));
  /* The half-made socket file does not stay behind. */
  g_assert_false(g_file_test(fixture->path, G_FILE_TEST_EXISTS));
}

static void
test_unix_stale_socket(Fixture *fixture, gconstpointer data)
{
  close(bind_unix(fixture->path, TRUE));
  g_assert_true(g_file_test(fixture->path, G_FILE_TEST_EXISTS));
  g_assert_cmpint(connect_unix(fixture->path), ==, -1);

  /* Without remove_unix_socket_on_create the stale file blocks the bind. */
  MmListenerOptions keep = {0};
  g_autoptr(GError) error = NULL;
  g_assert_null(mm_listener_new(fixture->spec, &keep, &error));
  g_assert_error(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_SOCKET);
  g_assert_nonnull(strstr(error->message, "Address already in use"));
  g_clear_error(&error);

  MmListener *listener = mm_listener_new(fixture->spec, NULL, &error);
  g_assert_no_error(error);
  int client = connect_unix(fixture->path);
  g_assert_cmpint(client, >=, 0);
  close(client);
  mm_listener_free(listener);
}

static void
test_unix_live_socket(Fixture *fixture, gconstpointer data)
{
  int live = bind_unix(fixture->path, TRUE);
  g_autoptr(GError) error = NULL;
  g_assert_null(mm_listener_new(fixture->spec, NULL, &error));
  g_assert_error(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_IN_USE);
  g_assert_nonnull(strstr(error->message, fixture->path));
  /* The live process keeps its socket: our probe connection is in its backlog. */
  int probe = accept(live, NULL, NULL);
  g_assert_cmpint(probe, >=, 0);
  close(probe);
  int client = connect_unix(fixture->path);
  g_assert_cmpint(client, >=, 0);
  close(client);
  close(live);
}

static void
test_unix_regular_file(Fixture *fixture, gconstpointer data)
{
  g_assert_true(g_file_set_contents(fixture->path, "precious", -1, NULL));
  g_autoptr(GError) error = NULL;
  g_assert_null(mm_listener_new(fixture->spec, NULL, &error));
  g_assert_error(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_SOCKET);
  g_assert_nonnull(strstr(error->message, "is not a socket"));
  g_autofree char *contents = NULL;
  g_assert_true(g_file_get_contents(fixture->path, &contents, NULL, NULL));
  g_assert_cmpstr(contents, ==, "precious");
}

static void
test_unix_replaced_file_kept(Fixture *fixture, gconstpointer data)
{
  MmListener *listener = mm_listener_new(fixture->spec, NULL, NULL);
  g_assert_nonnull(listener);
  /* Someone else's socket now lives at the path: freeing must not remove it. */
  g_assert_cmpint(g_unlink(fixture->path), ==, 0);
  int other = bind_unix(fixture->path, TRUE);
  mm_listener_free(listener);
  g_assert_true(g_file_test(fixture->path, G_FILE_TEST_EXISTS));
  close(other);
  g_unlink(fixture->path);

  MmListenerOptions keep = {.remove_unix_socket_on_create = TRUE};
  listener = mm_listener_new(fixture->spec, &keep, NULL);
  g_assert_nonnull(listener);
  mm_listener_free(listener);
  g_assert_true(g_file_test(fixture->path, G_FILE_TEST_EXISTS));
}

static void
test_pause_resume(Fixture *fixture, gconstpointer data)
{
  MmListener *listener = mm_listener_new(fixture->spec, NULL, NULL);
  Accepted accepted = {g_array_new(FALSE, FALSE, sizeof(int)), NULL};
  mm_listener_start(listener, on_accepted, &accepted);
  mm_listener_set_accepting(listener, FALSE);
  int client = connect_unix(fixture->path); /* waits in the backlog */
  g_assert_cmpint(client, >=, 0);
  run_for(50);
  g_assert_false(g_main_context_iteration(NULL, FALSE));
  g_assert_cmpuint(accepted.fds->len, ==, 0);
  mm_listener_set_accepting(listener, TRUE);
  run_until_accepted(&accepted, 1);
  close(client);
  close_accepted(&accepted);
  mm_listener_free(listener);
}

static void
test_free_in_callback(Fixture *fixture, gconstpointer data)
{
  MmListener *listener = mm_listener_new(fixture->spec, NULL, NULL);
  Accepted accepted = {g_array_new(FALSE, FALSE, sizeof(int)), listener};
  mm_listener_start(listener, on_accepted, &accepted);
  int clients[3];
  for (guint i = 0; i < G_N_ELEMENTS(clients); i++)
    clients[i] = connect_unix(fixture->path);
  run_until_accepted(&accepted, 1);
  run_for(20);
  g_assert_cmpuint(accepted.fds->len, ==, 1);
  g_assert_null(accepted.free_me);
  g_assert_false(g_file_test(fixture->path, G_FILE_TEST_EXISTS));
  for (guint i = 0; i < G_N_ELEMENTS(clients); i++)
    close(clients[i]);
  close_accepted(&accepted);
}

static void
test_fd_exhaustion(Fixture *fixture, gconstpointer data)
{
  MmListener *listener = mm_listener_new(fixture->spec, NULL, NULL);
  Accepted accepted = {g_array_new(FALSE, FALSE, sizeof(int)), NULL};
  mm_listener_start(listener, on_accepted, &accepted);
  mm_listener_set_accepting(listener, FALSE);
  int client = connect_unix(fixture->path);
  g_assert_cmpint(client, >=, 0);
  /* The lowest free fd becomes the limit: accept4 has no fd to give. */
  int lowest = dup(0);
  close(lowest);
  struct rlimit saved, tight;
  g_assert_cmpint(getrlimit(RLIMIT_NOFILE, &saved), ==, 0);
  tight = saved;
  tight.rlim_cur = (rlim_t)lowest;
  g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &tight), ==, 0);
  mm_listener_set_accepting(listener, TRUE);
  g_main_context_iteration(NULL, TRUE);
  int last_errno = 0;
  g_assert_cmpuint(mm_listener_get_accept_failures(listener, &last_errno), ==, 1);
  g_assert_cmpint(last_errno, ==, EMFILE);
  g_assert_true(mm_listener_is_paused(listener));
  /* Paused, not spinning: nothing is ready although the backlog is. */
  g_assert_false(g_main_context_iteration(NULL, FALSE));
  g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &saved), ==, 0);
  gint64 start = g_get_monotonic_time();
  run_until_accepted(&accepted, 1);
  g_assert_cmpint(g_get_monotonic_time() - start, >=, (MM_LISTENER_RESOURCE_PAUSE_MS - 20) * 1000);
  g_assert_false(mm_listener_is_paused(listener));
  g_assert_cmpuint(mm_listener_get_accept_failures(listener, NULL), ==, 1);
  close(client);
  close_accepted(&accepted);
  mm_listener_free(listener);
}

/* tcp_round_trip - listen on TEXT (port 0), connect to the bound port, accept */
static void
tcp_round_trip(const char *text, int family)
{
  g_autoptr(MmConnectionSpec) spec = mm_connection_spec_parse(text, NULL);
  spec->port = 0; /* specs never say 0; the kernel picks a free port */
  g_autoptr(GError) error = NULL;
  MmListener *listener = mm_listener_new(spec, NULL, &error);
  if (family == AF_INET6 && g_error_matches(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_SOCKET)) {
    g_test_skip("no IPv6 loopback (::1) on this host");
    return;
  }
  g_assert_no_error(error);
  int fd = mm_listener_get_fd(listener);
  int on = 0;
  socklen_t length = sizeof on;
  g_assert_cmpint(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, &length), ==, 0);
  g_assert_cmpint(on, ==, 1);
  if (family == AF_INET6) {
    g_assert_cmpint(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, &length), ==, 0);
    g_assert_cmpint(on, ==, 1);
  }
  struct sockaddr_storage address;
  length = sizeof address;
  g_assert_cmpint(getsockname(fd, (struct sockaddr *)&address, &length), ==, 0);
  g_assert_cmpint(address.ss_family, ==, family);
  Accepted accepted = {g_array_new(FALSE, FALSE, sizeof(int)), NULL};
  mm_listener_start(listener, on_accepted, &accepted);
  int client = socket(family, SOCK_STREAM, 0);
  g_assert_cmpint(connect(client, (struct sockaddr *)&address, length), ==, 0);
  run_until_accepted(&accepted, 1);
  g_assert_true(mm_listener_chown(listener, 0, NULL)); /* a no-op for TCP */
  close(client);
  close_accepted(&accepted);
  mm_listener_free(listener);
}

static void
test_inet(void)
{
  tcp_round_trip("inet:1@[127.0.0.1]", AF_INET);
}

static void
test_inet6(void)
{
  tcp_round_trip("inet6:1@[::1]", AF_INET6);
}

static void
test_bind_error(void)
{
  g_autoptr(MmConnectionSpec) spec = mm_connection_spec_parse("unix:/nonexistent-dir-mm/x.sock", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_null(mm_listener_new(spec, NULL, &error));
  g_assert_error(error, MM_LISTENER_ERROR, MM_LISTENER_ERROR_SOCKET);
  g_assert_cmpstr(error->message, ==,
                  "cannot listen on unix:/nonexistent-dir-mm/x.sock: bind: No such file or directory");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, function)                                                                        \
  g_test_add(path, Fixture, NULL, fixture_setup, function, fixture_teardown)
  ADD("/listener/unix/accept-and-remove", test_unix_accept_and_remove);
  ADD("/listener/unix/mode-and-group", test_unix_mode_and_group);
  ADD("/listener/unix/unknown-group", test_unix_unknown_group);
  ADD("/listener/unix/stale-socket", test_unix_stale_socket);
  ADD("/listener/unix/live-socket", test_unix_live_socket);
  ADD("/listener/unix/regular-file", test_unix_regular_file);
  ADD("/listener/unix/replaced-file-kept", test_unix_replaced_file_kept);
  ADD("/listener/pause-resume", test_pause_resume);
  ADD("/listener/free-in-callback", test_free_in_callback);
  ADD("/listener/fd-exhaustion", test_fd_exhaustion);
#undef ADD
  g_test_add_func("/listener/inet", test_inet);
  g_test_add_func("/listener/inet6", test_inet6);
  g_test_add_func("/listener/bind-error", test_bind_error);
  return g_test_run();
}
