/* SPDX-License-Identifier: GPL-3.0-or-later */
/* null-relay.c: the cheapest proxy there can be, for the benchmark's "relay" row: copies bytes
 * between each accepted connection and a new connection to one target, knowing no protocol. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Pending connections the listening socket may queue. */
#define NULL_RELAY_BACKLOG 4096
/* Bytes moved per read; a milter command of the benchmark fits in one. */
#define NULL_RELAY_CHUNK 65536
/* Events taken per epoll_wait, as many as the daemon's event loop takes. */
#define NULL_RELAY_EVENTS 256

/* One direction of a relayed connection: bytes read from `fd` go to `peer->fd`. */
typedef struct relay_end {
  int fd;
  struct relay_end *peer;
} relay_end;

static char chunk[NULL_RELAY_CHUNK];

/* null_relay_usage - the command line */
static void
null_relay_usage(void)
{
  fprintf(stderr, "usage: null-relay -l LISTEN_SOCKET -t TARGET_SOCKET\n");
}

/* null_relay_address - a UNIX socket address for PATH; FALSE when it does not fit */
static int
null_relay_address(const char *path, struct sockaddr_un *address)
{
  memset(address, 0, sizeof(*address));
  address->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(address->sun_path))
    return 0;
  strcpy(address->sun_path, path);
  return 1;
}

/* null_relay_close - close both ends of a relayed connection; the pair is freed by the caller
 * once the current batch of events, which may still name the other end, is handled */
static relay_end *
null_relay_close(relay_end *end)
{
  relay_end *peer = end->peer;
  close(end->fd);
  close(peer->fd);
  end->fd = peer->fd = -1;
  return end < peer ? end : peer;
}

/* null_relay_accept - accept one connection and connect it to the target; 0 on failure */
static int
null_relay_accept(int epoll_fd, int listen_fd, const struct sockaddr_un *target)
{
  int inside = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (inside < 0)
    return errno == EAGAIN || errno == EINTR || errno == ECONNABORTED;
  int outside = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (outside < 0 || connect(outside, (const struct sockaddr *)target, sizeof(*target)) < 0) {
    perror("null-relay: connect to target");
    close(inside);
    if (outside >= 0)
      close(outside);
    return 1;
  }
  /* Blocking writes: a benchmark command is far below the socket buffer, and the relay must
   * not be slower than the daemon by handling partial writes it never sees. */
  relay_end *ends = calloc(2, sizeof(*ends));
  if (ends == NULL) {
    close(inside);
    close(outside);
    return 0;
  }
  ends[0] = (relay_end){inside, &ends[1]};
  ends[1] = (relay_end){outside, &ends[0]};
  for (int i = 0; i < 2; i++) {
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = &ends[i]};
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, ends[i].fd, &event);
  }
  return 1;
}

/* null_relay_forward - move what END has to its peer; 0 when the connection is over */
static int
null_relay_forward(relay_end *end)
{
  ssize_t got = read(end->fd, chunk, sizeof(chunk));
  if (got <= 0)
    return got < 0 && (errno == EAGAIN || errno == EINTR);
  for (ssize_t sent = 0; sent < got;) {
    ssize_t n = write(end->peer->fd, chunk + sent, (size_t)(got - sent));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return 0;
    sent += n;
  }
  return 1;
}

int
main(int argc, char **argv)
{
  const char *listen_path = NULL, *target_path = NULL;
  int option;
  while ((option = getopt(argc, argv, "l:t:")) != -1) {
    if (option == 'l')
      listen_path = optarg;
    else if (option == 't')
      target_path = optarg;
    else {
      null_relay_usage();
      return 2;
    }
  }
  struct sockaddr_un listen_address, target;
  if (listen_path == NULL || target_path == NULL ||
      !null_relay_address(listen_path, &listen_address) ||
      !null_relay_address(target_path, &target)) {
    null_relay_usage();
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  unlink(listen_path);
  if (listen_fd < 0 ||
      bind(listen_fd, (struct sockaddr *)&listen_address, sizeof(listen_address)) < 0 ||
      listen(listen_fd, NULL_RELAY_BACKLOG) < 0) {
    perror("null-relay: listen");
    return 1;
  }
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event listen_event = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_fd < 0 || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &listen_event) < 0) {
    perror("null-relay: epoll");
    return 1;
  }
  struct epoll_event events[NULL_RELAY_EVENTS];
  relay_end *closed[NULL_RELAY_EVENTS];
  for (;;) {
    int n_closed = 0;
    int n = epoll_wait(epoll_fd, events, NULL_RELAY_EVENTS, -1);
    if (n < 0 && errno != EINTR) {
      perror("null-relay: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      relay_end *end = events[i].data.ptr;
      if (end == NULL) {
        if (!null_relay_accept(epoll_fd, listen_fd, &target))
          return 1;
      } else if (end->fd >= 0 && !null_relay_forward(end)) {
        closed[n_closed++] = null_relay_close(end);
      }
    }
    for (int i = 0; i < n_closed; i++)
      free(closed[i]);
  }
}
