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

/* mm_connection_spec_parse - parse TEXT; "local:" is a synonym of "unix:" */
MmConnectionSpec *mm_connection_spec_parse(const char *text, GError **error);
void mm_connection_spec_free(MmConnectionSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmConnectionSpec, mm_connection_spec_free)

/* mm_connection_spec_to_sockaddr - the socket address to bind or connect to.
 * Resolves a host name with getaddrinfo (may block: call at configuration time or for
 * loopback names). */
gboolean mm_connection_spec_to_sockaddr(const MmConnectionSpec *spec,
                                        struct sockaddr_storage *address,
                                        socklen_t *address_length, GError **error);
