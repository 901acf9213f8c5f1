/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-performance-check-session.c: one SMTP session of the load client, non-blocking on
 * the GLib main loop through GIO's asynchronous calls, with a reading timeout. */
#include "milter-performance-check-session.h"

#include <string.h>

typedef enum {
  STATE_CONNECT,
  STATE_GREETING,
  STATE_EHLO,
  STATE_XCLIENT,
  STATE_MAIL,
  STATE_RCPT,
  STATE_DATA,
  STATE_BODY,
  STATE_QUIT,
} State;

static const char *const state_names[] = {
  "connect", "greeting", "EHLO", "XCLIENT", "MAIL", "RCPT", "DATA", "end of data", "QUIT",
};

#define READ_CHUNK 4096

struct MmPerformanceSession {
  const MmPerformanceSessionOptions *options;
  const MmPerformanceMail *mail;
  MmPerformanceSessionDone done;
  gpointer user_data;
  GSocketConnection *connection;
  GCancellable *cancellable;
  guint timeout_id;
  gboolean timed_out;
  State state;
  guint rcpt_index;
  gboolean xclient_sent;
  gboolean succeeded;
  char *failure;
  gint64 started, ended;
  GByteArray *input;
  guint response_lines;
  GString *response; /* the response so far, lines joined with " " */
  GBytes *pending;   /* what is being written */
  guint8 chunk[READ_CHUNK];
};

static void read_more(MmPerformanceSession *session);

/* finish - the session is over: stop the clock and tell the owner */
static void
finish(MmPerformanceSession *session)
{
  session->ended = g_get_monotonic_time();
  if (session->timeout_id != 0) {
    g_source_remove(session->timeout_id);
    session->timeout_id = 0;
  }
  g_clear_object(&session->connection);
  session->done(session, session->user_data);
}

/* fail - remember the first failure (stage and cause) */
static void
fail(MmPerformanceSession *session, const char *cause)
{
  if (session->failure == NULL)
    session->failure = g_strdup_printf("%s: %s", state_names[session->state], cause);
}

/* on_timeout - no response in time: cancel what is pending */
static gboolean
on_timeout(gpointer data)
{
  MmPerformanceSession *session = data;
  session->timeout_id = 0;
  session->timed_out = TRUE;
  g_cancellable_cancel(session->cancellable);
  return G_SOURCE_REMOVE;
}

/* arm_timeout - restart the reading timeout */
static void
arm_timeout(MmPerformanceSession *session)
{
  if (session->timeout_id != 0)
    g_source_remove(session->timeout_id);
  session->timeout_id = g_timeout_add_seconds(session->options->reading_timeout, on_timeout,
                                              session);
}

/* io_failed - an I/O error ends the session */
static void
io_failed(MmPerformanceSession *session, GError *error)
{
  fail(session, session->timed_out ? "timed out waiting for the server" : error->message);
  finish(session);
}

/* on_written - a command or the mail is out: wait for the response */
static void
on_written(GObject *source, GAsyncResult *result, gpointer data)
{
  MmPerformanceSession *session = data;
  g_autoptr(GError) error = NULL;
  if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, NULL, &error)) {
    io_failed(session, error);
    return;
  }
  read_more(session);
}

/* send_bytes - write BYTES, then read the response */
static void
send_bytes(MmPerformanceSession *session, GBytes *bytes)
{
  GOutputStream *output = g_io_stream_get_output_stream(G_IO_STREAM(session->connection));
  /* the write reads from the buffer until it is done: hold it until the next one */
  g_bytes_ref(bytes);
  g_clear_pointer(&session->pending, g_bytes_unref);
  session->pending = bytes;
  gsize size = 0;
  const void *data = g_bytes_get_data(bytes, &size);
  arm_timeout(session);
  g_output_stream_write_all_async(output, data, size, G_PRIORITY_DEFAULT, session->cancellable,
                                  on_written, session);
}

/* send_command - one command line in STATE */
G_GNUC_PRINTF(3, 4)
static void
send_command(MmPerformanceSession *session, State state, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  char *line = g_strdup_vprintf(format, args);
  va_end(args);
  char *crlf = g_strconcat(line, "\r\n", NULL);
  g_free(line);
  session->state = state;
  g_autoptr(GBytes) bytes = g_bytes_new_take(crlf, strlen(crlf));
  send_bytes(session, bytes);
}

/* quit - say goodbye (after a failure too: the server sees a clean end) */
static void
quit(MmPerformanceSession *session)
{
  send_command(session, STATE_QUIT, "QUIT");
}

/* send_mail_from - the envelope starts */
static void
send_mail_from(MmPerformanceSession *session)
{
  send_command(session, STATE_MAIL, "MAIL FROM:<%s>", session->mail->from);
}

/* handle_response - one whole response CODE with TEXT in the current state */
static void
handle_response(MmPerformanceSession *session, int code, const char *text)
{
  gboolean ok = code / 100 == 2;
  switch (session->state) {
  case STATE_GREETING:
    if (!ok)
      break;
    send_command(session, STATE_EHLO, "EHLO %s", session->options->helo_fqdn);
    return;
  case STATE_EHLO:
    if (!ok)
      break;
    if ((session->options->connect_host != NULL || session->options->connect_address != NULL) &&
        !session->xclient_sent) {
      session->xclient_sent = TRUE;
      send_command(session, STATE_XCLIENT, "XCLIENT%s%s%s%s",
                   session->options->connect_host != NULL ? " NAME=" : "",
                   session->options->connect_host != NULL ? session->options->connect_host : "",
                   session->options->connect_address != NULL ? " ADDR=" : "",
                   session->options->connect_address != NULL ? session->options->connect_address
                                                             : "");
      return;
    }
    send_mail_from(session);
    return;
  case STATE_XCLIENT:
    /* Postfix answers XCLIENT with a new greeting */
    if (!ok)
      break;
    send_command(session, STATE_EHLO, "EHLO %s", session->options->helo_fqdn);
    return;
  case STATE_MAIL:
  case STATE_RCPT:
    if (!ok)
      break;
    if (session->state == STATE_RCPT)
      session->rcpt_index++;
    if (session->rcpt_index < session->mail->recipients->len) {
      send_command(session, STATE_RCPT, "RCPT TO:<%s>",
                   (const char *)g_ptr_array_index(session->mail->recipients,
                                                   session->rcpt_index));
    } else {
      send_command(session, STATE_DATA, "DATA");
    }
    return;
  case STATE_DATA:
    if (code != 354)
      break;
    session->state = STATE_BODY;
    send_bytes(session, session->mail->data);
    return;
  case STATE_BODY:
    if (!ok)
      break;
    session->succeeded = TRUE;
    quit(session);
    return;
  case STATE_QUIT:
  case STATE_CONNECT:
  default:
    finish(session);
    return;
  }
  g_autofree char *cause = g_strdup_printf("%d %s", code, text);
  fail(session, cause);
  quit(session);
}

/* take_line - the next whole line of the input, without CRLF, or NULL */
static char *
take_line(MmPerformanceSession *session)
{
  guint8 *newline = memchr(session->input->data, '\n', session->input->len);
  if (newline == NULL)
    return NULL;
  gsize length = (gsize)(newline - session->input->data);
  char *line = g_strndup((const char *)session->input->data,
                         length > 0 && newline[-1] == '\r' ? length - 1 : length);
  g_byte_array_remove_range(session->input, 0, (guint)length + 1);
  return line;
}

/* parse_input - handle every whole response in the input; FALSE when the session ended */
static gboolean
parse_input(MmPerformanceSession *session)
{
  char *line;
  while ((line = take_line(session)) != NULL) {
    g_autofree char *owned = line;
    if (strlen(line) < 3 || !g_ascii_isdigit(line[0]) || !g_ascii_isdigit(line[1]) ||
        !g_ascii_isdigit(line[2]) || (line[3] != '\0' && line[3] != ' ' && line[3] != '-')) {
      fail(session, "malformed response from the server");
      finish(session);
      return FALSE;
    }
    if (session->response->len > 0)
      g_string_append_c(session->response, ' ');
    g_string_append(session->response, line[3] != '\0' ? line + 4 : "");
    if (line[3] == '-' && ++session->response_lines < MM_PERFORMANCE_SESSION_MAX_LINES)
      continue;
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    g_autofree char *text = g_string_free(session->response, FALSE);
    session->response = g_string_new(NULL);
    session->response_lines = 0;
    handle_response(session, code, text);
    return FALSE; /* the handler wrote, or finished: it reads on when it wants */
  }
  if (session->input->len > MM_PERFORMANCE_SESSION_MAX_LINE) {
    fail(session, "response line too long");
    finish(session);
    return FALSE;
  }
  return TRUE;
}

/* on_read - bytes from the server */
static void
on_read(GObject *source, GAsyncResult *result, gpointer data)
{
  MmPerformanceSession *session = data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, &error);
  if (n < 0) {
    io_failed(session, error);
    return;
  }
  if (n == 0) {
    if (session->state != STATE_QUIT)
      fail(session, "the server closed the connection");
    finish(session);
    return;
  }
  g_byte_array_append(session->input, session->chunk, (guint)n);
  if (parse_input(session))
    read_more(session);
}

/* read_more - read until a whole response is in */
static void
read_more(MmPerformanceSession *session)
{
  /* a response already buffered (servers may send ahead) is handled first */
  if (session->input->len > 0 && memchr(session->input->data, '\n', session->input->len)) {
    if (!parse_input(session))
      return;
  }
  arm_timeout(session);
  GInputStream *input = g_io_stream_get_input_stream(G_IO_STREAM(session->connection));
  g_input_stream_read_async(input, session->chunk, sizeof(session->chunk), G_PRIORITY_DEFAULT,
                            session->cancellable, on_read, session);
}

/* on_connected - the TCP connection is up: wait for the greeting */
static void
on_connected(GObject *source, GAsyncResult *result, gpointer data)
{
  MmPerformanceSession *session = data;
  g_autoptr(GError) error = NULL;
  session->connection = g_socket_client_connect_to_host_finish(G_SOCKET_CLIENT(source), result,
                                                               &error);
  if (session->connection == NULL) {
    io_failed(session, error);
    return;
  }
  session->state = STATE_GREETING;
  read_more(session);
}

/* mm_performance_session_start - connect; the rest follows from the responses */
MmPerformanceSession *
mm_performance_session_start(GSocketClient *client, const MmPerformanceSessionOptions *options,
                             const MmPerformanceMail *mail, MmPerformanceSessionDone done,
                             gpointer user_data)
{
  MmPerformanceSession *session = g_new0(MmPerformanceSession, 1);
  session->options = options;
  session->mail = mail;
  session->done = done;
  session->user_data = user_data;
  session->cancellable = g_cancellable_new();
  session->input = g_byte_array_new();
  session->response = g_string_new(NULL);
  session->started = g_get_monotonic_time();
  session->state = STATE_CONNECT;
  arm_timeout(session);
  g_socket_client_connect_to_host_async(client, options->host, options->port,
                                        session->cancellable, on_connected, session);
  return session;
}

/* mm_performance_session_free - release a finished session */
void
mm_performance_session_free(MmPerformanceSession *session)
{
  if (session == NULL)
    return;
  if (session->timeout_id != 0)
    g_source_remove(session->timeout_id);
  g_clear_object(&session->connection);
  g_clear_object(&session->cancellable);
  g_byte_array_unref(session->input);
  g_string_free(session->response, TRUE);
  g_clear_pointer(&session->pending, g_bytes_unref);
  g_free(session->failure);
  g_free(session);
}

/* mm_performance_session_succeeded - delivered */
gboolean
mm_performance_session_succeeded(const MmPerformanceSession *session)
{
  return session->succeeded && session->failure == NULL;
}

/* mm_performance_session_get_elapsed - the session's duration in seconds */
double
mm_performance_session_get_elapsed(const MmPerformanceSession *session)
{
  return (double)(session->ended - session->started) / G_USEC_PER_SEC;
}

/* mm_performance_session_get_failure - what went wrong first */
const char *
mm_performance_session_get_failure(const MmPerformanceSession *session)
{
  return session->failure;
}
