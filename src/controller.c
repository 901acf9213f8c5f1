/* SPDX-License-Identifier: GPL-3.0-or-later */
/* controller.c: the control socket: accepts a bounded number of control connections, reads
 * one framed request at a time and answers status, reload and show-config on the main loop. */
#include "build-config.h"

#include "src/controller.h"

#include <string.h>
#include <unistd.h>

#include "libmilter-manager/connection-spec.h"
#include "libmilter-manager/connection.h"
#include "libmilter-manager/log.h"
#include "libmilter-manager/packet.h"

G_DEFINE_QUARK(mm-controller-error-quark, mm_controller_error)

typedef struct {
  MmController *controller;
  MmConnection *connection;
  guint number; /* for log lines */
} ControlClient;

struct MmController {
  MmListener *listener;
  char *spec;
  MmMonitor *monitor;
  MmControllerHandlers handlers;
  gpointer user_data;
  GHashTable *clients; /* ControlClient* set */
  guint next_number;
  gboolean accepting;
};

/* mm_controller_parse_message - split "NAME\0BODY" */
gboolean
mm_controller_parse_message(const guint8 *data, gsize length, const char **name,
                            const char **body, gsize *body_length, GError **error)
{
  const guint8 *nul = length > 0 ? memchr(data, '\0', length) : NULL;
  if (nul == NULL || nul == data) {
    g_set_error(error, MM_CONTROLLER_ERROR, MM_CONTROLLER_ERROR_MESSAGE,
                nul == NULL ? "malformed message: no NUL after the name"
                            : "malformed message: empty name");
    return FALSE;
  }
  *name = (const char *)data;
  *body = (const char *)nul + 1;
  *body_length = length - (gsize)(nul + 1 - data);
  return TRUE;
}

/* mm_controller_append_message - one "NAME\0BODY" packet */
void
mm_controller_append_message(GByteArray *out, char code, const char *name, const char *body,
                             gssize body_length)
{
  gsize start = mm_packet_begin(out, code);
  g_byte_array_append(out, (const guint8 *)name, (guint)strlen(name) + 1);
  if (body != NULL) {
    gsize length = body_length < 0 ? strlen(body) : (gsize)body_length;
    g_byte_array_append(out, (const guint8 *)body, (guint)length);
  }
  mm_packet_end(out, start);
}

/* update_accepting - stop accepting at MM_CONTROLLER_MAX_CLIENTS, resume below */
static void
update_accepting(MmController *controller)
{
  gboolean accepting = g_hash_table_size(controller->clients) < MM_CONTROLLER_MAX_CLIENTS;
  if (accepting == controller->accepting)
    return;
  controller->accepting = accepting;
  mm_listener_set_accepting(controller->listener, accepting);
  if (!accepting)
    mm_warning("[controller] %d control connections open: others wait until one closes",
               MM_CONTROLLER_MAX_CLIENTS);
}

/* client_free - close one control connection (safe inside its handlers) */
static void
client_free(ControlClient *client)
{
  MmController *controller = client->controller;
  g_hash_table_remove(controller->clients, client);
  mm_connection_free(client->connection);
  g_free(client);
  update_accepting(controller);
}

/* reply - queue one reply and wait for the next request */
static void
reply(ControlClient *client, const char *name, const char *body)
{
  gsize length = body != NULL ? strlen(body) : 0;
  if (length > MM_CONTROLLER_MAX_REPLY_LENGTH - 64) {
    name = "error";
    body = "the answer is larger than MM_CONTROLLER_MAX_REPLY_LENGTH";
    length = strlen(body);
  }
  mm_controller_append_message(mm_connection_output(client->connection),
                               MM_CONTROLLER_REPLY_CODE, name, body, (gssize)length);
  mm_connection_flush(client->connection);
  mm_connection_set_timeout(client->connection, MM_CONTROLLER_IDLE_TIMEOUT_MS);
}

/* answer_status - uptime, sessions and children, as text or key=value lines */
static void
answer_status(ControlClient *client, const char *argument)
{
  gboolean keys = g_str_equal(argument, "keys");
  if (!keys && *argument != '\0' && !g_str_equal(argument, "text")) {
    reply(client, "error", "status takes \"text\" (the default) or \"keys\"");
    return;
  }
  MmController *controller = client->controller;
  g_autofree char *body = mm_monitor_render(controller->monitor,
                                            keys ? MM_MONITOR_FORMAT_KEYS
                                                 : MM_MONITOR_FORMAT_TEXT);
  g_autofree char *text = NULL;
  if (keys)
    text = g_strdup_printf("version=%s\npid=%ld\n%s", PACKAGE_VERSION, (long)getpid(), body);
  else
    text = g_strdup_printf("milter-manager %s, pid %ld\n%s", PACKAGE_VERSION, (long)getpid(),
                           body);
  reply(client, "status", text);
}

/* answer_reload - reload as SIGHUP does, and say how it went */
static void
answer_reload(ControlClient *client)
{
  MmController *controller = client->controller;
  g_autoptr(GError) error = NULL;
  if (controller->handlers.reload == NULL) {
    reply(client, "error", "reload is not available");
  } else if (controller->handlers.reload(controller->user_data, &error)) {
    reply(client, "success", "reloaded the configuration");
  } else {
    g_autofree char *text = g_strdup_printf("failed to reload the configuration, keeping the "
                                            "running one: %s", error->message);
    reply(client, "error", text);
  }
}

/* answer_show_config - the configuration dump */
static void
answer_show_config(ControlClient *client)
{
  MmController *controller = client->controller;
  g_autoptr(GError) error = NULL;
  g_autofree char *dump = controller->handlers.show_config != NULL
                              ? controller->handlers.show_config(controller->user_data, &error)
                              : NULL;
  if (dump != NULL)
    reply(client, "configuration", dump);
  else
    reply(client, "error", error != NULL ? error->message : "show-config is not available");
}

/* on_packet - one request */
static void
on_packet(gpointer user_data, char code, const guint8 *data, gsize length)
{
  ControlClient *client = user_data;
  if (code != MM_CONTROLLER_REQUEST_CODE) {
    mm_warning("[controller][%u] unexpected packet code 0x%02x: closing", client->number,
               (guchar)code);
    client_free(client);
    return;
  }
  const char *name, *body;
  gsize body_length;
  g_autoptr(GError) error = NULL;
  if (!mm_controller_parse_message(data, length, &name, &body, &body_length, &error)) {
    reply(client, "error", error->message);
    return;
  }
  g_autofree char *argument = g_strndup(body, body_length);
  mm_info("[controller][%u] %s%s%s", client->number, name, *argument != '\0' ? " " : "",
          g_utf8_validate(argument, -1, NULL) ? argument : "(not UTF-8)");
  if (g_str_equal(name, "status") || g_str_equal(name, "get-status")) {
    answer_status(client, argument);
  } else if (g_str_equal(name, "reload")) {
    answer_reload(client);
  } else if (g_str_equal(name, "show-config")) {
    answer_show_config(client);
  } else if (g_str_equal(name, "set-configuration") || g_str_equal(name, "get-configuration")) {
    /* 2.3's XML custom configuration: nothing on the control socket writes configuration. */
    g_autofree char *text = g_strdup_printf("%s (milter manager 2.3) is not implemented: edit "
                                            "milter-manager.conf and use reload", name);
    reply(client, "error", text);
  } else {
    g_autofree char *text = g_strdup_printf("unknown command \"%s\": status, reload and "
                                            "show-config are known",
                                            g_utf8_validate(name, -1, NULL) ? name : "?");
    reply(client, "error", text);
  }
}

/* on_closed - the client went away or broke the framing */
static void
on_closed(gpointer user_data, const GError *error)
{
  ControlClient *client = user_data;
  if (error != NULL)
    mm_info("[controller][%u] closed: %s", client->number, error->message);
  client_free(client);
}

/* on_timeout - no request for MM_CONTROLLER_IDLE_TIMEOUT_MS */
static void
on_timeout(gpointer user_data)
{
  ControlClient *client = user_data;
  mm_info("[controller][%u] no request for %d ms: closing", client->number,
          MM_CONTROLLER_IDLE_TIMEOUT_MS);
  client_free(client);
}

static const MmConnectionHandlers client_handlers = {
  .packet = on_packet,
  .closed = on_closed,
  .timeout = on_timeout,
};

/* on_accepted - a control connection */
static void
on_accepted(int fd, gpointer user_data)
{
  MmController *controller = user_data;
  ControlClient *client = g_new0(ControlClient, 1);
  client->controller = controller;
  client->number = ++controller->next_number;
  client->connection = mm_connection_new(fd, &client_handlers, client);
  mm_connection_set_max_data_length(client->connection, MM_CONTROLLER_MAX_REQUEST_LENGTH);
  mm_connection_set_max_pending_output(client->connection, MM_CONTROLLER_MAX_REPLY_LENGTH);
  mm_connection_set_write_timeout(client->connection, MM_CONTROLLER_WRITE_TIMEOUT_MS);
  mm_connection_set_timeout(client->connection, MM_CONTROLLER_IDLE_TIMEOUT_MS);
  g_hash_table_add(controller->clients, client);
  mm_debug("[controller][%u] connected", client->number);
  update_accepting(controller);
}

/* absolute_spec - SPEC parsed, a relative UNIX path made absolute (the daemon chdirs to /) */
static MmConnectionSpec *
absolute_spec(const char *text, GError **error)
{
  g_autoptr(MmConnectionSpec) spec = mm_connection_spec_parse(text, error);
  if (spec == NULL || spec->family != MM_CONNECTION_SPEC_UNIX ||
      g_path_is_absolute(spec->path))
    return g_steal_pointer(&spec);
  g_autofree char *absolute = g_canonicalize_filename(spec->path, NULL);
  g_autofree char *absolute_text = g_strconcat("unix:", absolute, NULL);
  return mm_connection_spec_parse(absolute_text, error);
}

/* mm_controller_new - listen on SPEC */
MmController *
mm_controller_new(const char *spec_text, const MmListenerOptions *options, MmMonitor *monitor,
                  const MmControllerHandlers *handlers, gpointer user_data, GError **error)
{
  g_autoptr(GError) spec_error = NULL;
  g_autoptr(MmConnectionSpec) spec = absolute_spec(spec_text, &spec_error);
  if (spec == NULL) {
    g_set_error(error, MM_CONTROLLER_ERROR, MM_CONTROLLER_ERROR_SPEC,
                "controller.connection_spec: %s", spec_error->message);
    return NULL;
  }
  MmListener *listener = mm_listener_new(spec, options, error);
  if (listener == NULL)
    return NULL;
  MmController *controller = g_new0(MmController, 1);
  controller->listener = listener;
  controller->spec = spec->family == MM_CONNECTION_SPEC_UNIX
                         ? g_strconcat("unix:", spec->path, NULL)
                         : g_strdup(spec->text);
  controller->monitor = monitor;
  if (handlers != NULL)
    controller->handlers = *handlers;
  controller->user_data = user_data;
  controller->clients = g_hash_table_new(NULL, NULL);
  controller->accepting = TRUE;
  return controller;
}

/* mm_controller_start - accept control connections */
void
mm_controller_start(MmController *controller)
{
  mm_listener_start(controller->listener, on_accepted, controller);
}

/* mm_controller_chown - give the UNIX socket to UID */
gboolean
mm_controller_chown(MmController *controller, uid_t uid, GError **error)
{
  return mm_listener_chown(controller->listener, uid, error);
}

/* mm_controller_get_spec - the spec listened on */
const char *
mm_controller_get_spec(const MmController *controller)
{
  return controller->spec;
}

/* mm_controller_free - close everything */
void
mm_controller_free(MmController *controller)
{
  if (controller == NULL)
    return;
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init(&iter, controller->clients);
  while (g_hash_table_iter_next(&iter, &key, NULL)) {
    ControlClient *client = key;
    g_hash_table_iter_remove(&iter);
    mm_connection_free(client->connection);
    g_free(client);
  }
  g_hash_table_destroy(controller->clients);
  mm_listener_free(controller->listener);
  g_free(controller->spec);
  g_free(controller);
}
