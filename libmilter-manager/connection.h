/* SPDX-License-Identifier: GPL-3.0-or-later */
/* connection.h: the only module doing socket I/O: one non-blocking fd on the GLib main loop,
 * framed reads delivered packet by packet, queued output sent in batches, one timer. */
#pragma once

#include <glib.h>

#include "connection-spec.h"

#define MM_CONNECTION_ERROR (mm_connection_error_quark())
GQuark mm_connection_error_quark(void);

typedef enum {
  MM_CONNECTION_ERROR_CONNECT,       /* connect() failed; message has the spec and errno text */
  MM_CONNECTION_ERROR_READ,
  MM_CONNECTION_ERROR_WRITE,
  MM_CONNECTION_ERROR_WRITE_TIMEOUT, /* queued output made no progress in time */
  MM_CONNECTION_ERROR_FRAMING,       /* from packet.c: bad length prefix */
  MM_CONNECTION_ERROR_OUTPUT_LIMIT,  /* too much output queued for a peer that does not read */
} MmConnectionError;

typedef struct MmConnection MmConnection;

typedef struct {
  /* A whole packet arrived. DATA is valid only during the call. */
  void (*packet)(gpointer user_data, char code, const guint8 *data, gsize length);
  /* The peer closed (ERROR NULL: clean end of file) or an error happened (read, write,
   * framing, write timeout). Nothing more is read or written after this. */
  void (*closed)(gpointer user_data, const GError *error);
  /* An asynchronous connect finished: ERROR NULL on success. May be NULL for accepted fds.
   * A failed connect is reported here only (closed() is not called for it), unless this
   * handler is NULL. */
  void (*connected)(gpointer user_data, const GError *error);
  /* The timer set with mm_connection_set_timeout expired (it is not re-armed). */
  void (*timeout)(gpointer user_data);
} MmConnectionHandlers;

/* mm_connection_new - take over FD (made non-blocking, close-on-exec) */
MmConnection *mm_connection_new(int fd, const MmConnectionHandlers *handlers, gpointer user_data);

/* mm_connection_connect - start a non-blocking connect to SPEC; handlers->connected
 * reports the outcome (never from inside this call). NULL with an error only for a spec
 * that cannot be used at all (unresolvable, socket() failure). */
MmConnection *mm_connection_connect(const MmConnectionSpec *spec,
                                    const MmConnectionHandlers *handlers, gpointer user_data,
                                    GError **error);

/* Handlers are only ever called from the main loop, never from inside a call into this
 * module: errors found by mm_connection_flush are reported by closed() on the next
 * iteration. After closed() returns the fd is closed; call mm_connection_free. */

/* mm_connection_free - close the fd and drop the sources; NULL-safe; safe to call from any
 * handler (the memory is released once the dispatch returns). Queued output is dropped. */
void mm_connection_free(MmConnection *connection);

/* mm_connection_output - the buffer to append encoded packets to */
GByteArray *mm_connection_output(MmConnection *connection);

/* mm_connection_output_add_bytes - queue LENGTH bytes of BYTES from OFFSET after what the
 * output buffer holds now, without copying them (small ones are copied): BYTES is referenced
 * until they are written or dropped, and those bytes must not change meanwhile. Packets
 * appended to the output buffer afterwards follow them. */
void mm_connection_output_add_bytes(MmConnection *connection, GBytes *bytes, gsize offset,
                                    gsize length);

/* mm_connection_flush - send what is queued: writes now what the socket takes, the rest
 * when it becomes writable. A packet burst appended before one flush leaves in one write. */
void mm_connection_flush(MmConnection *connection);

/* mm_connection_get_pending_output - bytes queued and not yet written */
gsize mm_connection_get_pending_output(MmConnection *connection);

/* mm_connection_set_max_data_length - largest packet data accepted on read (default 65535) */
void mm_connection_set_max_data_length(MmConnection *connection, gsize max_data_length);

/* mm_connection_set_max_pending_output - queued-output bound; past it, closed() with
 * MM_CONNECTION_ERROR_OUTPUT_LIMIT (0 = no bound) */
void mm_connection_set_max_pending_output(MmConnection *connection, gsize max_bytes);

/* mm_connection_set_write_timeout - how long queued output may make no progress (0 = none) */
void mm_connection_set_write_timeout(MmConnection *connection, guint milliseconds);

/* mm_connection_set_timeout - (re)arm the single timer; 0 cancels it */
void mm_connection_set_timeout(MmConnection *connection, guint milliseconds);

/* mm_connection_get_time - the monotonic time (microseconds) deadlines are counted from:
 * inside a connection's handler the time of the event loop's iteration (one clock read per
 * iteration, not one per packet), elsewhere the clock's */
gint64 mm_connection_get_time(void);

/* mm_connection_set_reading - stop (FALSE) or resume (TRUE) reading; packets already
 * received stay queued and are delivered after resuming */
void mm_connection_set_reading(MmConnection *connection, gboolean reading);

/* mm_connection_get_fd - the fd, for logs and peer credentials; -1 once closed() has
 * returned */
int mm_connection_get_fd(MmConnection *connection);
