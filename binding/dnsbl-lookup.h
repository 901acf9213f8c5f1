/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dnsbl-lookup.h: asynchronous DNSBL queries for one IPv4 client: UDP A queries to every
 * service in parallel on the GLib main loop, answered once all are in or the time is up. */
#pragma once

#include <glib.h>

#define MM_DNSBL_LOOKUP_ERROR (mm_dnsbl_lookup_error_quark())
GQuark mm_dnsbl_lookup_error_quark(void);

typedef enum {
  MM_DNSBL_LOOKUP_ERROR_ADDRESS,     /* the client address is not IPv4 text */
  MM_DNSBL_LOOKUP_ERROR_SERVICE,     /* a service name is empty or too long */
  MM_DNSBL_LOOKUP_ERROR_NAME_SERVER, /* no usable name server */
  MM_DNSBL_LOOKUP_ERROR_SOCKET,      /* the UDP socket could not be made */
} MmDnsblLookupError;

/* Queries one lookup makes at most, and the longest it may wait. */
#define MM_DNSBL_LOOKUP_MAX_SERVICES 32
#define MM_DNSBL_LOOKUP_MAX_NAME_SERVERS 8
#define MM_DNSBL_LOOKUP_MAX_TIMEOUT_MS 60000

typedef struct MmDnsblLookup MmDnsblLookup;

/* ANSWERS maps each service to a GPtrArray of the IPv4 addresses (text) it answered (empty:
 * not listed or no answer); valid during the call. The lookup is freed after the call. */
typedef void (*MmDnsblLookupDoneFunc)(GHashTable *answers, gpointer user_data);

/* mm_dnsbl_lookup_start - query "d.c.b.a.SERVICE" A for CLIENT_ADDRESS "a.b.c.d" at every
 * service, sending each query to every name server ("address" or "address:port", IPv4;
 * NULL or empty: the nameserver lines of /etc/resolv.conf); DONE runs from the main loop. */
MmDnsblLookup *mm_dnsbl_lookup_start(const char *client_address, const char *const *services,
                                     const char *const *name_servers, guint timeout_ms,
                                     MmDnsblLookupDoneFunc done, gpointer user_data,
                                     GError **error);

/* mm_dnsbl_lookup_cancel - stop a lookup whose DONE has not run; DONE never runs. NULL-safe. */
void mm_dnsbl_lookup_cancel(MmDnsblLookup *lookup);
