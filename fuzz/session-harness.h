/* SPDX-License-Identifier: GPL-3.0-or-later */
/* session-harness.h: what the session fuzz targets share: an in-process MmProxy, scripted
 * child milters on UNIX sockets, the MTA's end of a socketpair and a bounded main loop. */
#pragma once

/* fuzz.am builds each target from its one source file plus the library, so the shared
 * harness is static code in this header, included by fuzz-server-session.c and
 * fuzz-client-session.c only. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "connection-spec.h"
#include "connection.h"
#include "listener.h"
#include "log.h"
#include "packet.h"
#include "protocol.h"
#include "proxy.h"
#include "reply.h"

/* Children per session: one to misbehave, one to show the other is not disturbed. */
#define FUZZ_N_CHILDREN 2
/* Every child timeout, in seconds: short, so that a hanging child costs one iteration
 * a few milliseconds, not the production default. */
#define FUZZ_CHILD_TIMEOUT_SECONDS 0.003
/* The main loop is quiet when nothing is ready and no timer is due within this: then
 * only the MTA's idle timer (two hours) is left, and nothing more will happen by itself. */
#define FUZZ_QUIET_TIMER_MS 1000
/* Hard bound on one wait, wall clock: past it the proxy is hanging (a finding). */
#define FUZZ_WAIT_LIMIT_US (20 * G_USEC_PER_SEC)
/* Body bytes kept in memory before the proxy spills to disk: small, so the spill runs. */
#define FUZZ_BODY_MEMORY_LIMIT 2048
/* Largest reply packet the MTA side accepts from the proxy. */
#define FUZZ_MTA_MAX_DATA MM_DATA_SIZE_1M

typedef struct FuzzChildConn FuzzChildConn;

/* What a child does with one packet from the proxy: append its answer to OUT; FALSE
 * closes the connection. */
typedef gboolean (*FuzzChildFunc)(FuzzChildConn *conn, char code, const guint8 *data,
                                  gsize length, GByteArray *out);

typedef struct {
  guint index;
  MmListener *listener;
  GPtrArray *conns; /* FuzzChildConn*, open ones */
} FuzzChild;

struct FuzzChildConn {
  FuzzChild *child;
  MmConnection *connection;
  guint n_packets; /* received on this connection, MACRO packets included */
};

typedef struct {
  char *directory;
  MmConfig *config;
  MmProxy *proxy;
  FuzzChild children[FUZZ_N_CHILDREN];
  FuzzChildFunc child_func;
  int baseline_fds;
} FuzzHarness;

static FuzzHarness fuzz_harness;

/* fuzz_count_fds - open sockets and files of this process; pipes are left out because
 * the sanitizers open some to their symbolizer whenever libFuzzer prints a new function */
static int
fuzz_count_fds(void)
{
  DIR *dir = opendir("/proc/self/fd");
  if (dir == NULL)
    return -1;
  int n = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    char path[64], target[256];
    if (entry->d_name[0] == '.')
      continue;
    snprintf(path, sizeof(path), "/proc/self/fd/%s", entry->d_name);
    ssize_t length = readlink(path, target, sizeof(target) - 1);
    if (length < 0)
      continue;
    target[length] = '\0';
    if (!g_str_has_prefix(target, "pipe:"))
      n++;
  }
  closedir(dir);
  return n - 1; /* the directory's own fd */
}

/* fuzz_child_conn_drop - forget CONN and close its connection */
static void
fuzz_child_conn_drop(FuzzChildConn *conn)
{
  mm_connection_free(conn->connection);
  g_ptr_array_remove_fast(conn->child->conns, conn);
  g_free(conn);
}

/* fuzz_child_on_packet - a command from the proxy: answer as the target says */
static void
fuzz_child_on_packet(gpointer user_data, char code, const guint8 *data, gsize length)
{
  FuzzChildConn *conn = user_data;
  GByteArray *out = mm_connection_output(conn->connection);
  gboolean keep = fuzz_harness.child_func(conn, code, data, length, out);
  conn->n_packets++;
  if (!keep) {
    fuzz_child_conn_drop(conn);
    return;
  }
  mm_connection_flush(conn->connection);
}

/* fuzz_child_on_closed - the proxy hung up on the child */
static void
fuzz_child_on_closed(gpointer user_data, const GError *error)
{
  (void)error;
  fuzz_child_conn_drop(user_data);
}

static const MmConnectionHandlers fuzz_child_handlers = {
  .packet = fuzz_child_on_packet,
  .closed = fuzz_child_on_closed,
};

/* fuzz_child_on_accept - the proxy connected to a child */
static void
fuzz_child_on_accept(int fd, gpointer user_data)
{
  FuzzChild *child = user_data;
  FuzzChildConn *conn = g_new0(FuzzChildConn, 1);
  conn->child = child;
  conn->connection = mm_connection_new(fd, &fuzz_child_handlers, conn);
  mm_connection_set_max_data_length(conn->connection, MM_DATA_SIZE_1M);
  g_ptr_array_add(child->conns, conn);
}

/* fuzz_harness_init - once per process: the log, the children and the proxy */
static void
fuzz_harness_init(FuzzChildFunc child_func)
{
  FuzzHarness *h = &fuzz_harness;
  GError *error = NULL;
  if (h->proxy != NULL)
    return;
  h->child_func = child_func;
  h->directory = g_dir_make_tmp("fuzz-session-XXXXXX", &error);
  if (h->directory == NULL)
    g_error("%s", error->message);
  /* Every log line is formatted (format bugs show); kept only in FUZZ_SESSION_LOG. */
  const char *log_path = g_getenv("FUZZ_SESSION_LOG");
  if (!mm_log_open_file(log_path ? log_path : "/dev/null", &error))
    g_error("%s", error->message);
  mm_log_set_levels(MM_LOG_LEVEL_ALL);
  h->config = mm_config_new();
  h->config->body_memory_limit = FUZZ_BODY_MEMORY_LIMIT;
  h->config->fallback_status = MM_STATUS_ACCEPT;
  for (guint i = 0; i < FUZZ_N_CHILDREN; i++) {
    FuzzChild *child = &h->children[i];
    child->index = i;
    child->conns = g_ptr_array_new();
    char *name = g_strdup_printf("child%u", i);
    char *path = g_strdup_printf("%s/%s.sock", h->directory, name);
    char *text = g_strdup_printf("unix:%s", path);
    MmConnectionSpec *spec = mm_connection_spec_parse(text, &error);
    if (spec == NULL || (child->listener = mm_listener_new(spec, NULL, &error)) == NULL)
      g_error("%s", error->message);
    mm_listener_start(child->listener, fuzz_child_on_accept, child);
    MmMilterConfig *milter = mm_milter_config_new(name);
    milter->connection_spec = text;
    /* Children fall back differently, so that merging fallbacks is exercised too. */
    milter->fallback_status = i == 0 ? MM_STATUS_TEMPORARY_FAILURE : MM_STATUS_ACCEPT;
    milter->connection_timeout = FUZZ_CHILD_TIMEOUT_SECONDS;
    milter->reading_timeout = FUZZ_CHILD_TIMEOUT_SECONDS;
    milter->writing_timeout = FUZZ_CHILD_TIMEOUT_SECONDS;
    milter->end_of_message_timeout = FUZZ_CHILD_TIMEOUT_SECONDS;
    g_ptr_array_add(h->config->milters, milter);
    mm_connection_spec_free(spec);
    g_free(path);
    g_free(name);
  }
  h->proxy = mm_proxy_new(h->config);
  while (g_main_context_iteration(NULL, FALSE))
    ;
  h->baseline_fds = fuzz_count_fds();
}

/* fuzz_iterate - one main context round without blocking; *NEXT_TIMER_MS gets how soon
 * the nearest timer is due (-1: none); TRUE when some source was dispatched */
static gboolean
fuzz_iterate(gint *next_timer_ms)
{
  GMainContext *context = g_main_context_default();
  GPollFD fds[256];
  gint max_priority = 0, timeout = -1;
  if (!g_main_context_acquire(context))
    abort();
  gboolean ready = g_main_context_prepare(context, &max_priority);
  gint n = g_main_context_query(context, max_priority, &timeout, fds, G_N_ELEMENTS(fds));
  if (n > (gint)G_N_ELEMENTS(fds))
    abort(); /* more sources than a fuzz session ever makes: a leak */
  if (ready)
    timeout = 0;
  g_poll(fds, n, 0);
  gboolean dispatched = g_main_context_check(context, max_priority, fds, n);
  if (dispatched)
    g_main_context_dispatch(context);
  g_main_context_release(context);
  *next_timer_ms = timeout;
  return dispatched;
}

/* The MTA's end: bytes to send, bytes received, and the replies decoded so far. */
typedef struct {
  int fd;
  const guint8 *input;
  gsize input_length, input_sent;
  GByteArray *received;
  gboolean closed;       /* the proxy hung up */
} FuzzMta;

/* fuzz_mta_open - a new MTA connection accepted by the proxy */
static void
fuzz_mta_open(FuzzMta *mta)
{
  int fds[2];
  memset(mta, 0, sizeof(*mta));
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
    abort();
  mm_proxy_accept(fuzz_harness.proxy, fds[0]);
  mta->fd = fds[1];
  mta->received = g_byte_array_new();
}

/* fuzz_mta_send - queue LENGTH bytes to send (pointer kept until sent) */
static void
fuzz_mta_send(FuzzMta *mta, const guint8 *data, gsize length)
{
  mta->input = data;
  mta->input_length = length;
  mta->input_sent = 0;
}

/* fuzz_mta_pump - send and receive what the socket takes now; TRUE if bytes moved */
static gboolean
fuzz_mta_pump(FuzzMta *mta)
{
  gboolean moved = FALSE;
  if (mta->fd < 0)
    return FALSE;
  while (mta->input_sent < mta->input_length && !mta->closed) {
    ssize_t n = send(mta->fd, mta->input + mta->input_sent,
                     mta->input_length - mta->input_sent, MSG_NOSIGNAL);
    if (n <= 0)
      break; /* full (EAGAIN) or the proxy closed (EPIPE): reading tells which */
    mta->input_sent += (gsize)n;
    moved = TRUE;
  }
  for (;;) {
    guint8 buffer[65536];
    ssize_t n = recv(mta->fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      g_byte_array_append(mta->received, buffer, (guint)n);
      moved = TRUE;
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      moved = moved || !mta->closed;
      mta->closed = TRUE;
    }
    break;
  }
  return moved;
}

/* fuzz_mta_next_reply - take the first whole reply the proxy sent; it must be a reply
 * the protocol defines with a well-formed body (anything else is a finding) */
static gboolean
fuzz_mta_next_reply(FuzzMta *mta, char *code, MmReply *reply)
{
  const guint8 *data;
  gsize length, consumed;
  GError *error = NULL;
  switch (mm_packet_next(mta->received->data, mta->received->len, FUZZ_MTA_MAX_DATA, code,
                         &data, &length, &consumed, &error)) {
  case MM_PACKET_INCOMPLETE:
    return FALSE;
  case MM_PACKET_INVALID:
    fprintf(stderr, "the proxy sent a bad packet to the MTA: %s\n", error->message);
    abort();
  case MM_PACKET_READY:
    break;
  }
  /* The reply points into RECEIVED; callers look at the code only, so copy nothing. */
  if (!mm_reply_decode(*code, data, length, reply, &error)) {
    fprintf(stderr, "the proxy sent an undecodable reply '%c' to the MTA: %s\n", *code,
            error->message);
    abort();
  }
  /* FUZZ_SESSION_TRACE=1 shows what the MTA got, to see what an input does. */
  if (g_getenv("FUZZ_SESSION_TRACE") != NULL)
    fprintf(stderr, "MTA got %s\n", mm_reply_name(*code));
  g_byte_array_remove_range(mta->received, 0, (guint)consumed);
  return TRUE;
}

typedef gboolean (*FuzzCondition)(FuzzMta *mta, gpointer data);

/* fuzz_run - run the proxy, the children and the MTA until DONE holds (TRUE) or nothing
 * more can happen by itself (FALSE); aborts past FUZZ_WAIT_LIMIT_US */
static gboolean
fuzz_run(FuzzMta *mta, FuzzCondition done, gpointer data)
{
  gint64 limit = g_get_monotonic_time() + FUZZ_WAIT_LIMIT_US;
  for (;;) {
    if (done != NULL && done(mta, data))
      return TRUE;
    gint next_timer_ms = -1;
    gboolean busy = fuzz_iterate(&next_timer_ms);
    busy = fuzz_mta_pump(mta) || busy;
    if (!busy) {
      if (next_timer_ms < 0 || next_timer_ms > FUZZ_QUIET_TIMER_MS)
        return done != NULL && done(mta, data);
      /* A child timeout is about to fire: sleep until then, woken early by any fd. */
      g_main_context_iteration(NULL, TRUE);
    }
    if (g_get_monotonic_time() > limit) {
      fprintf(stderr, "the proxy kept busy for %d s\n", (int)(FUZZ_WAIT_LIMIT_US / G_USEC_PER_SEC));
      abort();
    }
  }
}

/* fuzz_all_gone - the proxy has no session left and no child holds a connection */
static gboolean
fuzz_all_gone(FuzzMta *mta, gpointer data)
{
  (void)mta;
  (void)data;
  if (mm_proxy_get_n_sessions(fuzz_harness.proxy) != 0)
    return FALSE;
  for (guint i = 0; i < FUZZ_N_CHILDREN; i++)
    if (fuzz_harness.children[i].conns->len != 0)
      return FALSE;
  return TRUE;
}

/* fuzz_mta_close - the MTA hangs up: the session must end, and leave no fd behind */
static void
fuzz_mta_close(FuzzMta *mta)
{
  close(mta->fd);
  mta->fd = -1;
  if (!fuzz_run(mta, fuzz_all_gone, NULL)) {
    fprintf(stderr, "the session did not end after the MTA hung up (%u sessions)\n",
            mm_proxy_get_n_sessions(fuzz_harness.proxy));
    abort();
  }
  /* Deferred frees of closed connections. */
  while (g_main_context_iteration(NULL, FALSE))
    ;
  int fds = fuzz_count_fds();
  if (fds != fuzz_harness.baseline_fds) {
    fprintf(stderr, "file descriptors: %d before the session, %d after\n",
            fuzz_harness.baseline_fds, fds);
    abort();
  }
  g_byte_array_free(mta->received, TRUE);
  mta->received = NULL;
}

/* fuzz_child_negotiate - a child's answer to the proxy's offer: protocol 6, every action
 * offered, and the offered steps masked by STEPS */
static void
fuzz_child_negotiate(const guint8 *data, gsize length, guint32 steps, GByteArray *out)
{
  guint32 offered[3] = {6, MM_ACTION_ALL, 0};
  for (guint i = 0; i < 3 && (i + 1) * 4 <= length; i++)
    offered[i] = ((guint32)data[i * 4] << 24) | ((guint32)data[i * 4 + 1] << 16) |
                 ((guint32)data[i * 4 + 2] << 8) | data[i * 4 + 3];
  guint8 reply[MM_OPTION_LENGTH];
  guint32 values[3] = {MIN(offered[0], 6u), offered[1], offered[2] & steps};
  for (guint i = 0; i < 3; i++) {
    reply[i * 4] = (guint8)(values[i] >> 24);
    reply[i * 4 + 1] = (guint8)(values[i] >> 16);
    reply[i * 4 + 2] = (guint8)(values[i] >> 8);
    reply[i * 4 + 3] = (guint8)values[i];
  }
  mm_packet_append(out, MM_REPLY_NEGOTIATE, reply, sizeof(reply));
}

/* fuzz_command_wants_reply - whether a child answers CODE (protocol 6, no NR steps) */
static gboolean
fuzz_command_wants_reply(char code)
{
  return code != MM_COMMAND_MACRO && code != MM_COMMAND_ABORT && code != MM_COMMAND_QUIT &&
         code != MM_COMMAND_QUIT_NEW_CONNECTION;
}
