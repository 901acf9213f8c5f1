/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-manager-ctl.c: the control command: finds the daemon's control socket (-s, or the
 * configuration's controller.connection_spec), sends one request and prints the answer. */
#include "build-config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>

#include "binding/ruby-config.h"
#include "libmilter-manager/connection-spec.h"
#include "libmilter-manager/packet.h"
#include "src/controller.h"

/* How long to wait for the daemon by default (a reload runs the configuration files). */
#define CTL_DEFAULT_TIMEOUT_SECONDS 60

typedef struct {
  char *spec;
  char **config_dirs;
  int timeout;
} CtlOptions;

/* fail - print the cause and return the exit status 1 */
static int
fail(const char *format, ...) G_GNUC_PRINTF(1, 2);
static int
fail(const char *format, ...)
{
  va_list args;
  va_start(args, format);
  g_autofree char *message = g_strdup_vprintf(format, args);
  va_end(args);
  fprintf(stderr, "milter-manager-ctl: %s\n", message);
  return 1;
}

/* config_dirs - -c directories, then $MILTER_MANAGER_CONFIG_DIR, then the built-in one */
static char **
config_dirs(char **given)
{
  GPtrArray *dirs = g_ptr_array_new();
  for (guint i = 0; given != NULL && given[i] != NULL; i++)
    g_ptr_array_add(dirs, g_strdup(given[i]));
  const char *env = g_getenv("MILTER_MANAGER_CONFIG_DIR");
  if (env != NULL && *env != '\0')
    g_ptr_array_add(dirs, g_strdup(env));
  g_ptr_array_add(dirs, g_strdup(MM_CONFIG_DIR));
  g_ptr_array_add(dirs, NULL);
  return (char **)g_ptr_array_free(dirs, FALSE);
}

/* spec_from_config - controller.connection_spec of the configuration in DIRS */
static char *
spec_from_config(char **dirs, void *stack_start, GError **error)
{
  if (!mm_ruby_init(stack_start, error))
    return NULL;
  g_autoptr(MmConfig) config = mm_ruby_config_load((const char *const *)dirs, error);
  if (config == NULL)
    return NULL;
  const char *spec = config->controller_connection_spec;
  if (spec == NULL || *spec == '\0') {
    g_autofree char *searched = g_strjoinv(", ", dirs);
    g_set_error(error, MM_CONTROLLER_ERROR, MM_CONTROLLER_ERROR_SPEC,
                "controller.connection_spec is not set in the configuration (searched %s): "
                "the daemon has no control socket; set it, or give -s SPEC", searched);
    return NULL;
  }
  return g_strdup(spec);
}

/* connect_to - a blocking socket connected to SPEC, with send and receive timeouts */
static int
connect_to(const char *text, int timeout, GError **error)
{
  g_autoptr(MmConnectionSpec) spec = mm_connection_spec_parse(text, error);
  if (spec == NULL)
    return -1;
  struct sockaddr_storage address;
  socklen_t length;
  if (!mm_connection_spec_to_sockaddr(spec, &address, &length, error))
    return -1;
  /* A listener without a host listens on every address: talk to loopback. */
  if (mm_connection_spec_is_wildcard(spec)) {
    if (address.ss_family == AF_INET)
      ((struct sockaddr_in *)&address)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (address.ss_family == AF_INET6)
      ((struct sockaddr_in6 *)&address)->sin6_addr = in6addr_loopback;
  }
  int fd = socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "socket: %s",
                g_strerror(errno));
    return -1;
  }
  struct timeval tv = {.tv_sec = timeout};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&address, length) != 0) {
    int saved = errno;
    close(fd);
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
                "cannot connect to the control socket %s: %s%s", text, g_strerror(saved),
                saved == ENOENT || saved == ECONNREFUSED
                    ? " (is milter-manager running, with this controller.connection_spec?)"
                    : "");
    return -1;
  }
  return fd;
}

/* transact - send one request and wait for its reply packet, whose data lands in REPLY */
static gboolean
transact(int fd, const char *name, const char *argument, GByteArray *reply, gsize *offset,
         gsize *length, GError **error)
{
  g_autoptr(GByteArray) request = g_byte_array_new();
  mm_controller_append_message(request, MM_CONTROLLER_REQUEST_CODE, name, argument, -1);
  for (gsize sent = 0; sent < request->len;) {
    ssize_t n = send(fd, request->data + sent, request->len - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                  "failed to send the request: %s", g_strerror(errno));
      return FALSE;
    }
    sent += (gsize)n;
  }
  for (;;) {
    char code;
    const guint8 *data;
    gsize consumed;
    MmPacketResult result = mm_packet_next(reply->data, reply->len,
                                           MM_CONTROLLER_MAX_REPLY_LENGTH, &code, &data,
                                           length, &consumed, error);
    if (result == MM_PACKET_INVALID)
      return FALSE;
    if (result == MM_PACKET_READY) {
      if (code != MM_CONTROLLER_REPLY_CODE) {
        g_set_error(error, MM_CONTROLLER_ERROR, MM_CONTROLLER_ERROR_MESSAGE,
                    "unexpected reply packet code 0x%02x", (guchar)code);
        return FALSE;
      }
      *offset = (gsize)(data - reply->data);
      return TRUE;
    }
    guint8 buffer[65536];
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "no answer from the daemon: %s",
                  n == 0 ? "it closed the connection"
                         : errno == EAGAIN || errno == EWOULDBLOCK ? "timed out"
                                                                   : g_strerror(errno));
      return FALSE;
    }
    g_byte_array_append(reply, buffer, (guint)n);
  }
}

/* print_body - BODY to STREAM, ending with a newline */
static void
print_body(FILE *stream, const char *body, gsize length)
{
  fwrite(body, 1, length, stream);
  if (length > 0 && body[length - 1] != '\n')
    fputc('\n', stream);
}

/* parse_options - the command line into OPTIONS; the command stays in ARGV */
static gboolean
parse_options(int *argc, char ***argv, CtlOptions *options, GError **error)
{
  GOptionEntry entries[] = {
    {"connection-spec", 's', 0, G_OPTION_ARG_STRING, &options->spec,
     "the control socket (default: controller.connection_spec of the configuration)", "SPEC"},
    {"config-dir", 'c', 0, G_OPTION_ARG_FILENAME_ARRAY, &options->config_dirs,
     "look for milter-manager.conf in DIR first (may be repeated)", "DIR"},
    {"timeout", 't', 0, G_OPTION_ARG_INT, &options->timeout,
     "seconds to wait for the daemon (default 60)", "SECONDS"},
    G_OPTION_ENTRY_NULL,
  };
  g_autoptr(GOptionContext) context = g_option_context_new(
      "COMMAND - talk to a running milter-manager");
  g_option_context_set_summary(context,
                               "Commands:\n"
                               "  status [text|keys]  uptime, sessions and per child counts\n"
                               "  reload              reload the configuration (as SIGHUP)\n"
                               "  show-config         the running configuration");
  g_option_context_add_main_entries(context, entries, NULL);
  return g_option_context_parse(context, argc, argv, error);
}

int
main(int argc, char **argv)
{
  int stack_start;
  g_set_prgname("milter-manager-ctl");
  CtlOptions options = {.timeout = CTL_DEFAULT_TIMEOUT_SECONDS};
  g_autoptr(GError) error = NULL;
  if (!parse_options(&argc, &argv, &options, &error))
    return fail("%s (see --help)", error->message);
  g_autofree char *spec = g_steal_pointer(&options.spec);
  g_auto(GStrv) given_dirs = g_steal_pointer(&options.config_dirs);
  if (options.timeout <= 0)
    return fail("--timeout must be a positive number of seconds");
  if (argc < 2)
    return fail("no command: status, reload or show-config (see --help)");
  const char *command = argv[1];
  gboolean is_status = g_str_equal(command, "status");
  if (!is_status && !g_str_equal(command, "reload") && !g_str_equal(command, "show-config"))
    return fail("unknown command \"%s\": status, reload or show-config", command);
  if (argc > (is_status ? 3 : 2))
    return fail("too many arguments for %s", command);
  const char *argument = argc > 2 ? argv[2] : "";
  if (is_status && *argument != '\0' && !g_str_equal(argument, "text") &&
      !g_str_equal(argument, "keys"))
    return fail("status takes \"text\" or \"keys\", not \"%s\"", argument);

  if (spec == NULL) {
    g_auto(GStrv) dirs = config_dirs(given_dirs);
    spec = spec_from_config(dirs, &stack_start, &error);
    if (spec == NULL)
      return fail("%s", error->message);
  }
  int fd = connect_to(spec, options.timeout, &error);
  if (fd < 0)
    return fail("%s", error->message);
  g_autoptr(GByteArray) reply = g_byte_array_new();
  gsize offset = 0, length = 0;
  gboolean ok = transact(fd, command, argument, reply, &offset, &length, &error);
  close(fd);
  if (!ok)
    return fail("%s: %s", spec, error->message);
  const char *name, *body;
  gsize body_length;
  if (!mm_controller_parse_message(reply->data + offset, length, &name, &body, &body_length,
                                   &error))
    return fail("%s: %s", spec, error->message);
  if (g_str_equal(name, "error")) {
    fputs("milter-manager-ctl: ", stderr);
    print_body(stderr, body, body_length);
    return 1;
  }
  print_body(stdout, body, body_length);
  return fflush(stdout) == 0 ? 0 : 1;
}
