/* SPDX-License-Identifier: GPL-3.0-or-later */
/* controller.h: the daemon's control socket (controller.connection_spec): status, reload and
 * show-config requests in milter framing, answered on the main loop; the protocol's constants. */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "libmilter-manager/listener.h"
#include "libmilter-manager/monitor.h"

#define MM_CONTROLLER_ERROR (mm_controller_error_quark())
GQuark mm_controller_error_quark(void);

typedef enum {
  MM_CONTROLLER_ERROR_SPEC,    /* controller.connection_spec cannot be parsed */
  MM_CONTROLLER_ERROR_MESSAGE, /* a packet that is not "NAME\0BODY" */
} MmControllerError;

/* The protocol (doc/controller.md): milter framing (packet.h), one request packet, one reply
 * packet; the data of both is a NUL-terminated name followed by a body. */
#define MM_CONTROLLER_REQUEST_CODE 'Q' /* name: status, reload, show-config */
#define MM_CONTROLLER_REPLY_CODE 'A'   /* name: status, success, configuration, error */

/* Largest request data: a command name and a short argument. */
#define MM_CONTROLLER_MAX_REQUEST_LENGTH 1024
/* Largest reply data (a status of many children, a long configuration). */
#define MM_CONTROLLER_MAX_REPLY_LENGTH (16u * 1024 * 1024)
/* Control connections served at once; more wait in the kernel's backlog. */
#define MM_CONTROLLER_MAX_CLIENTS 16
/* A control connection that sends no request for this long is closed. */
#define MM_CONTROLLER_IDLE_TIMEOUT_MS 30000
/* A reply that makes no write progress for this long closes the connection. */
#define MM_CONTROLLER_WRITE_TIMEOUT_MS 10000

typedef struct MmController MmController;

/* What the daemon does for the controller; called from the main loop. */
typedef struct {
  /* Reload the configuration as SIGHUP does; FALSE with the FILE:LINE error if it failed. */
  gboolean (*reload)(gpointer user_data, GError **error);
  /* The configuration dump (--show-config), newly allocated. */
  char *(*show_config)(gpointer user_data, GError **error);
} MmControllerHandlers;

/* mm_controller_new - listen on SPEC (a relative UNIX path is made absolute now) with
 * OPTIONS (mode, group, stale socket removal); status comes from MONITOR (borrowed) */
MmController *mm_controller_new(const char *spec, const MmListenerOptions *options,
                                MmMonitor *monitor, const MmControllerHandlers *handlers,
                                gpointer user_data, GError **error);

/* mm_controller_start - accept control connections on the default main context */
void mm_controller_start(MmController *controller);

/* mm_controller_chown - give the UNIX socket to UID (before giving up root) */
gboolean mm_controller_chown(MmController *controller, uid_t uid, GError **error);

/* mm_controller_get_spec - the spec listened on, absolute */
const char *mm_controller_get_spec(const MmController *controller);

/* mm_controller_free - close every control connection and the socket; NULL-safe */
void mm_controller_free(MmController *controller);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmController, mm_controller_free)

/* mm_controller_parse_message - split packet data into NAME (up to the first NUL) and BODY
 * (pointers into DATA, BODY not NUL-terminated); FALSE without a NUL or with an empty name */
gboolean mm_controller_parse_message(const guint8 *data, gsize length, const char **name,
                                     const char **body, gsize *body_length, GError **error);

/* mm_controller_append_message - a packet CODE with NAME, NUL, BODY (BODY_LENGTH -1: up to
 * its NUL) at the end of OUT */
void mm_controller_append_message(GByteArray *out, char code, const char *name,
                                  const char *body, gssize body_length);
