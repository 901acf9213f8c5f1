/* SPDX-License-Identifier: GPL-3.0-or-later */
/* connection-spec.h: milter connection specs as milter manager writes them:
 * unix:PATH, local:PATH, inet:PORT[@HOST|@[ADDR]], inet6:PORT[@HOST|@[ADDR]]. */
#pragma once

#include <glib.h>
#include <sys/socket.h>

#define MM_CONNECTION_SPEC_ERROR (mm_connection_spec_error_quark())
GQuark mm_connection_spec_error_quark(void);

typedef enum {
  MM_CONNECTION_SPEC_ERROR_INVALID, /* message quotes the spec and says what is wrong */
  MM_CONNECTION_SPEC_ERROR_RESOLVE, /* host name did not resolve */
} MmConnectionSpecError;

typedef enum {
  MM_CONNECTION_SPEC_UNIX,
  MM_CONNECTION_SPEC_INET,
  MM_CONNECTION_SPEC_INET6,
} MmConnectionSpecFamily;

typedef struct {
  MmConnectionSpecFamily family;
  char *path;     /* UNIX only */
  char *host;     /* INET/INET6: host name or address without brackets; NULL = any */
  guint16 port;   /* INET/INET6 */
  char *text;     /* the spec as written, for messages */
} MmConnectionSpec;

/* mm_connection_spec_parse - parse TEXT; "local:" is a synonym of "unix:". The scheme is
 * case-insensitive; a port is decimal 1..65535; "@[ADDR]" must be an address literal of the
 * spec's family; a UNIX path must fit in sun_path. Errors (MM_CONNECTION_SPEC_ERROR_INVALID)
 * quote the spec: invalid connection spec "inet:abc@localhost": port must be ... */
MmConnectionSpec *mm_connection_spec_parse(const char *text, GError **error);
void mm_connection_spec_free(MmConnectionSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmConnectionSpec, mm_connection_spec_free)

/* mm_connection_spec_to_sockaddr - the socket address to bind or connect to.
 * Resolves a host name with getaddrinfo (may block: call at configuration time or for
 * loopback names): a numeric address never touches DNS; the first address of the spec's
 * family (inet = AF_INET, inet6 = AF_INET6) is used.
 * No host gives the wildcard address (0.0.0.0 or ::), which is what a listener binds to;
 * mm_connection_connect turns the wildcard into loopback (127.0.0.1 or ::1), so that
 * "inet:10025" names the same local milter for both ends. */
gboolean mm_connection_spec_to_sockaddr(const MmConnectionSpec *spec,
                                        struct sockaddr_storage *address,
                                        socklen_t *address_length, GError **error);

/* mm_connection_spec_is_wildcard - inet/inet6 without a host (listen on any address,
 * connect to loopback) */
gboolean mm_connection_spec_is_wildcard(const MmConnectionSpec *spec);
