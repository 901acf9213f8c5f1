/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mta-load.c: the benchmark's MTA-side load generator: many concurrent milter sessions on one
 * epoll loop, built on the library's codec; prints throughput and session latency. */

#include "build-config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "libmilter-manager/command.h"
#include "libmilter-manager/connection-spec.h"
#include "libmilter-manager/packet.h"
#include "libmilter-manager/protocol.h"
#include "libmilter-manager/reply.h"

/* Events taken from the kernel per epoll_wait. */
#define MTA_LOAD_MAX_EVENTS 256
/* A session that makes no progress for this long counts as an error and is dropped. */
#define MTA_LOAD_STALL_SECONDS 30.0
/* How long to wait before retrying a connect the listener's backlog refused (EAGAIN). */
#define MTA_LOAD_RETRY_MS 1
/* Bytes read per read() call. */
#define MTA_LOAD_READ_SIZE 65536
/* The largest reply data accepted: the largest the protocol knows. */
#define MTA_LOAD_MAX_REPLY MM_DATA_SIZE_1M
/* Headers per message, as the session shape says. */
#define MTA_LOAD_N_HEADERS 10
/* The most concurrent sessions (each is one fd). */
#define MTA_LOAD_MAX_CONCURRENCY 100000

/* One step of the session script: a pre-encoded command in the shared wire buffer. */
typedef struct {
  char code;
  gsize offset, length;
  guint32 no_step; /* MM_STEP_NO_* that skips it (0: never skipped) */
  guint32 nr_step; /* MM_STEP_NR_* that makes it unanswered (0: always answered) */
} Step;

typedef struct {
  int fd;
  guint step;          /* index into the script */
  gsize sent;          /* bytes of the current burst written */
  gsize burst_end;     /* wire offset where the current burst ends */
  gsize burst_start;   /* wire offset where the current burst starts */
  guint32 steps;       /* negotiated MM_STEP_* of the peer */
  gboolean awaiting;   /* a reply is due for the last step of the burst */
  gboolean connecting;
  guint32 generation; /* tags epoll events, so that a stale one finds a restarted session */
  double started, last_activity;
  GByteArray *input;
} Session;

typedef struct {
  MmConnectionSpec *spec;
  struct sockaddr_storage address;
  socklen_t address_length;
  int epoll_fd;
  GByteArray *wire;
  GArray *script; /* Step */
  Session *sessions;
  guint concurrency;
  guint64 max_sessions;   /* 0: until the duration is over */
  double duration;        /* 0: until max_sessions */
  guint64 started, completed, errors, modifications, non_continue;
  double start_time;
  GArray *latencies;      /* double, seconds */
  guint pending_retries;
  gboolean verbose;
} Load;

/* now - monotonic seconds */
static double
now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* add_step - append STEP's encoded bytes (already appended to WIRE from START) to the script */
static void
add_step(Load *load, char code, gsize start, guint32 no_step, guint32 nr_step)
{
  Step step = {code, start, load->wire->len - start, no_step, nr_step};
  g_array_append_val(load->script, step);
}

/* What Postfix 3.7 offers (test/data/captures/postfix-negotiate-flags.txt): every step
 * flag but the data-size ones, so the other end may ask for any NO_ or NR_ step. */
#define MTA_LOAD_OFFERED_STEPS 0x001fffffu

/* build_script - encode the whole session once: every session sends the same bytes */
static void
build_script(Load *load, gsize body_size)
{
  GByteArray *w = load->wire;
  gsize start = w->len;
  mm_command_encode_negotiate(w, 6, MM_ACTION_ALL, MTA_LOAD_OFFERED_STEPS);
  add_step(load, MM_COMMAND_NEGOTIATE, start, 0, 0);
  start = w->len;
  mm_command_encode_connect(w, "client.example.org", MM_FAMILY_INET, 40000, "192.0.2.10");
  add_step(load, MM_COMMAND_CONNECT, start, MM_STEP_NO_CONNECT, MM_STEP_NR_CONNECT);
  start = w->len;
  mm_command_encode_helo(w, "client.example.org");
  add_step(load, MM_COMMAND_HELO, start, MM_STEP_NO_HELO, MM_STEP_NR_HELO);
  start = w->len;
  mm_command_encode_envelope(w, MM_COMMAND_MAIL, "<sender@example.org>", NULL);
  add_step(load, MM_COMMAND_MAIL, start, MM_STEP_NO_MAIL, MM_STEP_NR_MAIL);
  for (int i = 0; i < 2; i++) {
    g_autofree char *rcpt = g_strdup_printf("<rcpt%d@example.net>", i + 1);
    start = w->len;
    mm_command_encode_envelope(w, MM_COMMAND_RCPT, rcpt, NULL);
    add_step(load, MM_COMMAND_RCPT, start, MM_STEP_NO_RCPT, MM_STEP_NR_RCPT);
  }
  start = w->len;
  mm_command_encode_simple(w, MM_COMMAND_DATA);
  add_step(load, MM_COMMAND_DATA, start, MM_STEP_NO_DATA, MM_STEP_NR_DATA);
  static const char *const names[MTA_LOAD_N_HEADERS] = {
    "Received", "From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version",
    "Content-Type", "X-Mailer"};
  for (int i = 0; i < MTA_LOAD_N_HEADERS; i++) {
    g_autofree char *value = g_strdup_printf("benchmark value %d for %s", i, names[i]);
    start = w->len;
    mm_command_encode_header(w, names[i], value);
    add_step(load, MM_COMMAND_HEADER, start, MM_STEP_NO_HEADERS, MM_STEP_NR_HEADER);
  }
  start = w->len;
  mm_command_encode_simple(w, MM_COMMAND_END_OF_HEADER);
  add_step(load, MM_COMMAND_END_OF_HEADER, start, MM_STEP_NO_END_OF_HEADER,
           MM_STEP_NR_END_OF_HEADER);
  /* Body text of 76-character lines, as mail is; chunks of MM_CHUNK_SIZE like Postfix. */
  g_autofree guint8 *body = g_malloc(body_size > 0 ? body_size : 1);
  for (gsize i = 0; i < body_size; i++)
    body[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' : (guint8)('a' + i % 26);
  for (gsize offset = 0; offset < body_size; offset += MM_CHUNK_SIZE) {
    gsize n = MIN((gsize)MM_CHUNK_SIZE, body_size - offset);
    start = w->len;
    mm_command_encode_body(w, MM_COMMAND_BODY, body + offset, n);
    add_step(load, MM_COMMAND_BODY, start, MM_STEP_NO_BODY, MM_STEP_NR_BODY);
  }
  start = w->len;
  mm_command_encode_body(w, MM_COMMAND_END_OF_MESSAGE, NULL, 0);
  add_step(load, MM_COMMAND_END_OF_MESSAGE, start, 0, 0);
  start = w->len;
  mm_command_encode_simple(w, MM_COMMAND_QUIT);
  add_step(load, MM_COMMAND_QUIT, start, 0, 0);
}

static void start_session(Load *load, Session *s);

/* tag - S's index and generation, as epoll carries them */
static guint64
tag(const Load *load, const Session *s)
{
  return ((guint64)s->generation << 32) | (guint64)(s - load->sessions);
}

/* end_session - close S; OK says whether it ran to the end; start another if due */
static void
end_session(Load *load, Session *s, gboolean ok, const char *why)
{
  if (s->fd >= 0) {
    epoll_ctl(load->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
  }
  double t = now();
  if (ok) {
    load->completed++;
    double latency = t - s->started;
    g_array_append_val(load->latencies, latency);
  } else {
    load->errors++;
    if (load->verbose || load->errors <= 5)
      fprintf(stderr, "mta-load: session failed at step %u: %s\n", s->step, why);
  }
  gboolean more = TRUE;
  if (load->max_sessions > 0 && load->started >= load->max_sessions)
    more = FALSE;
  if (load->duration > 0 && t - load->start_time >= load->duration)
    more = FALSE;
  if (more)
    start_session(load, s);
}

/* prepare_burst - from S's current step, the commands up to and including the next one
 * that awaits a reply; skipped steps are passed over */
static void
prepare_burst(Load *load, Session *s)
{
  const Step *steps = (const Step *)(gpointer)load->script->data;
  s->awaiting = FALSE;
  s->burst_start = s->burst_end = 0;
  gboolean first = TRUE;
  while (s->step < load->script->len) {
    const Step *step = &steps[s->step];
    if (step->no_step != 0 && (s->steps & step->no_step)) {
      s->step++;
      continue;
    }
    /* Steps are contiguous in the wire buffer, so a burst is one range unless a skipped
     * step sits inside it: then stop before it. */
    if (!first && step->offset != s->burst_end)
      break;
    if (first)
      s->burst_start = step->offset;
    first = FALSE;
    s->burst_end = step->offset + step->length;
    gboolean answered = step->code != MM_COMMAND_QUIT &&
                        !(step->nr_step != 0 && (s->steps & step->nr_step));
    if (answered) {
      s->awaiting = TRUE;
      break;
    }
    s->step++;
  }
  s->sent = 0;
}

/* send_burst - write what is left of the burst; the session ends after QUIT is out */
static void
send_burst(Load *load, Session *s)
{
  while (s->burst_start + s->sent < s->burst_end) {
    ssize_t n = send(s->fd, load->wire->data + s->burst_start + s->sent,
                     s->burst_end - s->burst_start - s->sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = tag(load, s)};
        epoll_ctl(load->epoll_fd, EPOLL_CTL_MOD, s->fd, &ev);
        return;
      }
      end_session(load, s, FALSE, g_strerror(errno));
      return;
    }
    s->sent += (gsize)n;
    s->last_activity = now();
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag(load, s)};
  epoll_ctl(load->epoll_fd, EPOLL_CTL_MOD, s->fd, &ev);
  if (!s->awaiting) {
    /* Everything sent and nothing to wait for: QUIT went out. */
    end_session(load, s, TRUE, NULL);
  }
}

/* on_reply - one whole reply for S; a final one moves the script on */
static gboolean
on_reply(Load *load, Session *s, char code, const guint8 *data, gsize length)
{
  const Step *step = &g_array_index(load->script, Step, s->step);
  MmReply reply;
  g_autoptr(GError) error = NULL;
  if (!mm_reply_decode(code, data, length, &reply, &error)) {
    end_session(load, s, FALSE, error->message);
    return FALSE;
  }
  if (!s->awaiting) {
    end_session(load, s, FALSE, "a reply nobody asked for");
    return FALSE;
  }
  switch (code) {
  case MM_REPLY_PROGRESS:
    return TRUE;
  case MM_REPLY_NEGOTIATE:
    s->steps = reply.u.negotiate.steps;
    break;
  case MM_REPLY_ADD_HEADER:
  case MM_REPLY_INSERT_HEADER:
  case MM_REPLY_CHANGE_HEADER:
  case MM_REPLY_ADD_RCPT:
  case MM_REPLY_ADD_RCPT_WITH_ARGS:
  case MM_REPLY_DELETE_RCPT:
  case MM_REPLY_CHANGE_FROM:
  case MM_REPLY_REPLACE_BODY:
  case MM_REPLY_QUARANTINE:
    if (step->code != MM_COMMAND_END_OF_MESSAGE) {
      end_session(load, s, FALSE, "a modification before end of message");
      return FALSE;
    }
    load->modifications++;
    return TRUE;
  case MM_REPLY_CONTINUE:
    break;
  default:
    if (!mm_reply_is_allowed(step->code, code)) {
      end_session(load, s, FALSE, "a reply not allowed here");
      return FALSE;
    }
    load->non_continue++;
    break;
  }
  s->step++;
  prepare_burst(load, s);
  send_burst(load, s);
  return FALSE; /* the session may have ended or been restarted: stop parsing its input */
}

/* on_readable - read what S's peer sent and handle every whole reply */
static void
on_readable(Load *load, Session *s)
{
  for (;;) {
    gsize old = s->input->len;
    g_byte_array_set_size(s->input, old + MTA_LOAD_READ_SIZE);
    ssize_t n = read(s->fd, s->input->data + old, MTA_LOAD_READ_SIZE);
    g_byte_array_set_size(s->input, old + (n > 0 ? (gsize)n : 0));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return;
    if (n <= 0) {
      end_session(load, s, FALSE, n == 0 ? "the peer closed the connection" : g_strerror(errno));
      return;
    }
    s->last_activity = now();
    gsize offset = 0;
    for (;;) {
      char code;
      const guint8 *data;
      gsize length, consumed;
      g_autoptr(GError) error = NULL;
      MmPacketResult r = mm_packet_next(s->input->data + offset, s->input->len - offset,
                                        MTA_LOAD_MAX_REPLY, &code, &data, &length, &consumed,
                                        &error);
      if (r == MM_PACKET_INVALID) {
        end_session(load, s, FALSE, error->message);
        return;
      }
      if (r == MM_PACKET_INCOMPLETE)
        break;
      offset += consumed;
      /* The next burst starts with a fresh input: the peer sends nothing unasked. */
      if (!on_reply(load, s, code, data, length)) {
        g_byte_array_set_size(s->input, 0);
        return;
      }
    }
    g_byte_array_remove_range(s->input, 0, (guint)offset);
  }
}

/* start_session - connect S; a full backlog is retried shortly */
static void
start_session(Load *load, Session *s)
{
  s->fd = socket(load->address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0) {
    fprintf(stderr, "mta-load: socket: %s\n", g_strerror(errno));
    exit(1);
  }
  s->step = 0;
  s->steps = 0;
  s->generation++;
  s->connecting = TRUE;
  s->started = s->last_activity = now();
  g_byte_array_set_size(s->input, 0);
  load->started++;
  int r = connect(s->fd, (struct sockaddr *)&load->address, load->address_length);
  if (r < 0 && errno == EAGAIN) {
    /* UNIX socket backlog full: count it as not started and try again soon. */
    close(s->fd);
    s->fd = -1;
    load->started--;
    load->pending_retries++;
    return;
  }
  if (r < 0 && errno != EINPROGRESS) {
    end_session(load, s, FALSE, g_strerror(errno));
    return;
  }
  struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = tag(load, s)};
  epoll_ctl(load->epoll_fd, EPOLL_CTL_ADD, s->fd, &ev);
  if (r == 0) {
    s->connecting = FALSE;
    prepare_burst(load, s);
    send_burst(load, s);
  }
}

/* on_event - readiness of S */
static void
on_event(Load *load, Session *s, guint32 events)
{
  if (s->connecting) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      end_session(load, s, FALSE, g_strerror(err));
      return;
    }
    s->connecting = FALSE;
    prepare_burst(load, s);
    send_burst(load, s);
    return;
  }
  if (events & EPOLLOUT) {
    send_burst(load, s);
    if (s->fd < 0)
      return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    on_readable(load, s);
}

/* compare_double - qsort order for latencies */
static int
compare_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/* percentile - the P-th percentile (0..100) of sorted VALUES */
static double
percentile(const GArray *values, double p)
{
  if (values->len == 0)
    return 0;
  guint index = (guint)ceil(p / 100.0 * values->len);
  index = index == 0 ? 0 : index - 1;
  return g_array_index(values, double, MIN(index, values->len - 1));
}

/* raise_file_limit - room for CONCURRENCY sockets */
static void
raise_file_limit(guint concurrency)
{
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return;
  rlim_t want = (rlim_t)concurrency + 64;
  if (limit.rlim_cur >= want)
    return;
  if (limit.rlim_max < want)
    limit.rlim_max = want;
  limit.rlim_cur = want;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
    fprintf(stderr, "mta-load: cannot raise the open file limit to %lu: %s\n",
            (unsigned long)want, g_strerror(errno));
}

/* resolve - the socket address of LOAD's spec; a wildcard inet spec means loopback */
static gboolean
resolve(Load *load, GError **error)
{
  if (!mm_connection_spec_to_sockaddr(load->spec, &load->address, &load->address_length,
                                      error))
    return FALSE;
  if (mm_connection_spec_is_wildcard(load->spec)) {
    g_set_error(error, MM_CONNECTION_SPEC_ERROR, MM_CONNECTION_SPEC_ERROR_INVALID,
                "give the host to connect to");
    return FALSE;
  }
  return TRUE;
}

/* main - parse options, run the sessions, print one result line */
int
main(int argc, char **argv)
{
  g_autofree char *connect_spec = NULL;
  gint concurrency = 1;
  gint64 sessions = 0;
  double duration = 0;
  gint64 body_size = 1024;
  gboolean verbose = FALSE;
  GOptionEntry entries[] = {
    {"connect", 's', 0, G_OPTION_ARG_STRING, &connect_spec, "milter to talk to", "SPEC"},
    {"concurrency", 'c', 0, G_OPTION_ARG_INT, &concurrency, "concurrent sessions", "N"},
    {"sessions", 'n', 0, G_OPTION_ARG_INT64, &sessions, "sessions to run (0: by duration)", "N"},
    {"duration", 'd', 0, G_OPTION_ARG_DOUBLE, &duration, "seconds to start sessions for", "S"},
    {"body-size", 'b', 0, G_OPTION_ARG_INT64, &body_size, "body bytes per message", "BYTES"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "report every failed session", NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL}};
  g_autoptr(GOptionContext) context = g_option_context_new("- milter session load generator");
  g_option_context_add_main_entries(context, entries, NULL);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    fprintf(stderr, "mta-load: %s\n", error->message);
    return 2;
  }
  if (connect_spec == NULL || concurrency < 1 || concurrency > MTA_LOAD_MAX_CONCURRENCY ||
      sessions < 0 || duration < 0 || (sessions == 0 && duration == 0) || body_size < 0 ||
      body_size > G_MAXINT32) {
    fprintf(stderr, "mta-load: need --connect, --concurrency 1..%d, and --sessions or "
                    "--duration; --body-size 0..2^31\n", MTA_LOAD_MAX_CONCURRENCY);
    return 2;
  }
  Load load = {0};
  load.spec = mm_connection_spec_parse(connect_spec, &error);
  if (load.spec == NULL || !resolve(&load, &error)) {
    fprintf(stderr, "mta-load: %s: %s\n", connect_spec, error->message);
    return 2;
  }
  raise_file_limit((guint)concurrency);
  load.concurrency = (guint)concurrency;
  load.max_sessions = (guint64)sessions;
  load.duration = duration;
  load.verbose = verbose;
  load.wire = g_byte_array_new();
  load.script = g_array_new(FALSE, FALSE, sizeof(Step));
  load.latencies = g_array_new(FALSE, FALSE, sizeof(double));
  build_script(&load, (gsize)body_size);
  load.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  load.sessions = g_new0(Session, load.concurrency);
  struct rusage usage_before;
  getrusage(RUSAGE_SELF, &usage_before);
  load.start_time = now();
  for (guint i = 0; i < load.concurrency; i++) {
    load.sessions[i].fd = -1;
    load.sessions[i].input = g_byte_array_new();
    if (load.max_sessions == 0 || load.started < load.max_sessions)
      start_session(&load, &load.sessions[i]);
  }
  struct epoll_event events[MTA_LOAD_MAX_EVENTS];
  double last_scan = now();
  for (;;) {
    gboolean active = load.pending_retries > 0;
    for (guint i = 0; i < load.concurrency && !active; i++)
      active = load.sessions[i].fd >= 0;
    if (!active)
      break;
    int n = epoll_wait(load.epoll_fd, events, MTA_LOAD_MAX_EVENTS,
                       load.pending_retries > 0 ? MTA_LOAD_RETRY_MS : 1000);
    for (int i = 0; i < n; i++) {
      guint64 key = events[i].data.u64;
      Session *s = &load.sessions[(guint32)key];
      if (s->fd >= 0 && s->generation == (guint32)(key >> 32))
        on_event(&load, s, events[i].events);
    }
    double t = now();
    if (load.pending_retries > 0) {
      load.pending_retries = 0;
      for (guint i = 0; i < load.concurrency; i++) {
        Session *s = &load.sessions[i];
        if (s->fd < 0 && (load.max_sessions == 0 || load.started < load.max_sessions) &&
            (load.duration == 0 || t - load.start_time < load.duration))
          start_session(&load, s);
      }
    }
    if (t - last_scan >= 1.0) {
      last_scan = t;
      for (guint i = 0; i < load.concurrency; i++) {
        Session *s = &load.sessions[i];
        if (s->fd >= 0 && t - s->last_activity > MTA_LOAD_STALL_SECONDS)
          end_session(&load, s, FALSE, "no progress");
      }
    }
  }
  double elapsed = now() - load.start_time;
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double cpu = (double)(usage.ru_utime.tv_sec - usage_before.ru_utime.tv_sec) +
               (double)(usage.ru_stime.tv_sec - usage_before.ru_stime.tv_sec) +
               (double)(usage.ru_utime.tv_usec - usage_before.ru_utime.tv_usec) / 1e6 +
               (double)(usage.ru_stime.tv_usec - usage_before.ru_stime.tv_usec) / 1e6;
  qsort(load.latencies->data, load.latencies->len, sizeof(double), compare_double);
  printf("sessions=%" G_GUINT64_FORMAT " errors=%" G_GUINT64_FORMAT " elapsed=%.3f "
         "rate=%.1f p50_ms=%.3f p99_ms=%.3f load_cpu_ms_per_session=%.4f "
         "modifications=%" G_GUINT64_FORMAT " non_continue=%" G_GUINT64_FORMAT "\n",
         load.completed, load.errors, elapsed, elapsed > 0 ? load.completed / elapsed : 0,
         percentile(load.latencies, 50) * 1e3, percentile(load.latencies, 99) * 1e3,
         load.completed > 0 ? cpu * 1e3 / load.completed : 0, load.modifications,
         load.non_continue);
  for (guint i = 0; i < load.concurrency; i++)
    g_byte_array_unref(load.sessions[i].input);
  g_free(load.sessions);
  close(load.epoll_fd);
  g_array_unref(load.latencies);
  g_array_unref(load.script);
  g_byte_array_unref(load.wire);
  mm_connection_spec_free(load.spec);
  return load.errors > 0 || load.completed == 0 ? 1 : 0;
}
