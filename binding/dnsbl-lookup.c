/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dnsbl-lookup.c: DNSBL A queries over UDP on the main loop: build the queries, read the
 * answers as they come, finish when every service answered or at the timeout. */
#include "dnsbl-lookup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DNS_HEADER_SIZE 12
#define DNS_MAX_NAME 253
#define DNS_MAX_MESSAGE 1232 /* what EDNS-less servers answer over UDP, with room to spare */
#define DNS_TYPE_A 1
#define DNS_CLASS_IN 1
#define DNS_DEFAULT_PORT 53
#define RESOLV_CONF "/etc/resolv.conf"

G_DEFINE_QUARK(mm-dnsbl-lookup-error-quark, mm_dnsbl_lookup_error)

struct MmDnsblLookup {
  int fd;          /* the UDP socket the queries leave from and the answers come to */
  guint read_id;   /* its readability source */
  guint timeout_id;
  guint16 base_id;
  guint n_services;
  char **services;
  gboolean *answered;
  guint n_answered;
  GHashTable *answers; /* service -> GPtrArray of char* */
  MmDnsblLookupDoneFunc done;
  gpointer user_data;
};

/* lookup_free - release everything, sources included */
static void
lookup_free(MmDnsblLookup *lookup)
{
  if (lookup->read_id != 0)
    g_source_remove(lookup->read_id);
  if (lookup->timeout_id != 0)
    g_source_remove(lookup->timeout_id);
  if (lookup->fd >= 0)
    close(lookup->fd);
  g_strfreev(lookup->services);
  g_free(lookup->answered);
  g_hash_table_unref(lookup->answers);
  g_free(lookup);
}

/* lookup_finish - hand the answers over and free the lookup */
static void
lookup_finish(MmDnsblLookup *lookup)
{
  lookup->done(lookup->answers, lookup->user_data);
  lookup_free(lookup);
}

/* encode_query - a recursive A query for NAME with ID into BUFFER; its length, 0 if too long */
static gsize
encode_query(guint16 id, const char *name, guint8 *buffer, gsize size)
{
  gsize length = DNS_HEADER_SIZE;
  memset(buffer, 0, DNS_HEADER_SIZE);
  buffer[0] = id >> 8;
  buffer[1] = id & 0xff;
  buffer[2] = 0x01; /* RD */
  buffer[5] = 1;    /* QDCOUNT */
  g_auto(GStrv) labels = g_strsplit(name, ".", -1);
  for (char **label = labels; *label != NULL; label++) {
    gsize label_length = strlen(*label);
    if (label_length == 0)
      continue;
    if (label_length > 63 || length + 1 + label_length + 5 > size)
      return 0;
    buffer[length++] = (guint8)label_length;
    memcpy(buffer + length, *label, label_length);
    length += label_length;
  }
  buffer[length++] = 0;
  buffer[length++] = 0;
  buffer[length++] = DNS_TYPE_A;
  buffer[length++] = 0;
  buffer[length++] = DNS_CLASS_IN;
  return length;
}

/* skip_name - the offset after the (possibly compressed) name at OFFSET, 0 if malformed */
static gsize
skip_name(const guint8 *message, gsize length, gsize offset)
{
  while (offset < length) {
    guint8 label = message[offset];
    if (label == 0)
      return offset + 1;
    if ((label & 0xc0) == 0xc0)
      return offset + 2 <= length ? offset + 2 : 0;
    if ((label & 0xc0) != 0)
      return 0;
    offset += 1 + label;
  }
  return 0;
}

/* read_u16 - a big-endian 16-bit field */
static guint
read_u16(const guint8 *p)
{
  return ((guint)p[0] << 8) | p[1];
}

/* handle_response - record the A records of one response to one of our queries */
static void
handle_response(MmDnsblLookup *lookup, const guint8 *message, gsize length)
{
  if (length < DNS_HEADER_SIZE || (message[2] & 0x80) == 0)
    return;
  guint id = read_u16(message);
  guint index = (guint16)(id - lookup->base_id);
  if (index >= lookup->n_services || lookup->answered[index])
    return;
  guint n_questions = read_u16(message + 4);
  guint n_answers = read_u16(message + 6);
  gsize offset = DNS_HEADER_SIZE;
  for (guint i = 0; i < n_questions; i++) {
    offset = skip_name(message, length, offset);
    if (offset == 0 || offset + 4 > length)
      return;
    offset += 4;
  }
  GPtrArray *addresses = g_hash_table_lookup(lookup->answers, lookup->services[index]);
  guint rcode = message[3] & 0x0f;
  for (guint i = 0; rcode == 0 && i < n_answers; i++) {
    offset = skip_name(message, length, offset);
    if (offset == 0 || offset + 10 > length)
      break;
    guint type = read_u16(message + offset);
    guint klass = read_u16(message + offset + 2);
    guint data_length = read_u16(message + offset + 8);
    offset += 10;
    if (offset + data_length > length)
      break;
    if (type == DNS_TYPE_A && klass == DNS_CLASS_IN && data_length == 4) {
      const guint8 *a = message + offset;
      g_ptr_array_add(addresses, g_strdup_printf("%u.%u.%u.%u", a[0], a[1], a[2], a[3]));
    }
    offset += data_length;
  }
  lookup->answered[index] = TRUE;
  lookup->n_answered++;
}

/* on_readable - drain the socket; finish once every service has answered */
static gboolean
on_readable(gint fd, GIOCondition condition, gpointer user_data)
{
  MmDnsblLookup *lookup = user_data;
  guint8 buffer[DNS_MAX_MESSAGE];
  for (;;) {
    ssize_t received = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (received < 0 && errno == EINTR)
      continue;
    /* Nothing more to read (EAGAIN), or an ICMP error a server's port left: wait on. */
    if (received <= 0)
      break;
    handle_response(lookup, buffer, (gsize)received);
  }
  if (lookup->n_answered == lookup->n_services) {
    /* This source ends by returning G_SOURCE_REMOVE: lookup_free must not remove it too. */
    lookup->read_id = 0;
    lookup_finish(lookup);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

/* on_timeout - finish with the answers that came */
static gboolean
on_timeout(gpointer user_data)
{
  MmDnsblLookup *lookup = user_data;
  lookup->timeout_id = 0;
  lookup_finish(lookup);
  return G_SOURCE_REMOVE;
}

/* parse_name_server - "a.b.c.d" or "a.b.c.d:port" into ADDRESS; FALSE if it is neither */
static gboolean
parse_name_server(const char *text, struct sockaddr_in *address)
{
  g_autofree char *host = g_strdup(text);
  guint port = DNS_DEFAULT_PORT;
  char *colon = strchr(host, ':');
  if (colon != NULL) {
    *colon = '\0';
    guint64 value = 0;
    if (!g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &value, NULL))
      return FALSE;
    port = (guint)value;
  }
  struct sockaddr_in parsed = {.sin_family = AF_INET, .sin_port = htons((guint16)port)};
  if (inet_pton(AF_INET, host, &parsed.sin_addr) != 1)
    return FALSE;
  *address = parsed;
  return TRUE;
}

/* resolv_conf_servers - the IPv4 nameserver lines of /etc/resolv.conf */
static GPtrArray *
resolv_conf_servers(void)
{
  GPtrArray *servers = g_ptr_array_new_with_free_func(g_free);
  g_autofree char *text = NULL;
  if (!g_file_get_contents(RESOLV_CONF, &text, NULL, NULL))
    return servers;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **line = lines; *line != NULL; line++) {
    g_auto(GStrv) words = g_strsplit_set(g_strstrip(*line), " \t", -1);
    if (g_strv_length(words) >= 2 && g_str_equal(words[0], "nameserver"))
      g_ptr_array_add(servers, g_strdup(words[1]));
  }
  return servers;
}

/* mm_dnsbl_lookup_start - send every query; the answers come through DONE */
MmDnsblLookup *
mm_dnsbl_lookup_start(const char *client_address, const char *const *services,
                      const char *const *name_servers, guint timeout_ms,
                      MmDnsblLookupDoneFunc done, gpointer user_data, GError **error)
{
  g_return_val_if_fail(client_address != NULL && services != NULL && done != NULL, NULL);
  guint8 octets[4];
  if (inet_pton(AF_INET, client_address, octets) != 1) {
    g_set_error(error, MM_DNSBL_LOOKUP_ERROR, MM_DNSBL_LOOKUP_ERROR_ADDRESS,
                "DNSBL lookups need an IPv4 client address, not \"%s\"", client_address);
    return NULL;
  }
  guint n_services = g_strv_length((char **)services);
  if (n_services > MM_DNSBL_LOOKUP_MAX_SERVICES) {
    g_set_error(error, MM_DNSBL_LOOKUP_ERROR, MM_DNSBL_LOOKUP_ERROR_SERVICE,
                "%u DNSBL services; at most %d", n_services, MM_DNSBL_LOOKUP_MAX_SERVICES);
    return NULL;
  }
  g_autoptr(GPtrArray) servers = NULL;
  if (name_servers == NULL || name_servers[0] == NULL) {
    servers = resolv_conf_servers();
  } else {
    servers = g_ptr_array_new_with_free_func(g_free);
    for (const char *const *server = name_servers; *server != NULL; server++)
      g_ptr_array_add(servers, g_strdup(*server));
  }
  struct sockaddr_in server_addresses[MM_DNSBL_LOOKUP_MAX_NAME_SERVERS];
  guint n_server_addresses = 0;
  for (guint i = 0; i < servers->len && n_server_addresses < MM_DNSBL_LOOKUP_MAX_NAME_SERVERS;
       i++) {
    if (parse_name_server(g_ptr_array_index(servers, i), &server_addresses[n_server_addresses]))
      n_server_addresses++;
  }
  if (n_server_addresses == 0) {
    g_set_error(error, MM_DNSBL_LOOKUP_ERROR, MM_DNSBL_LOOKUP_ERROR_NAME_SERVER,
                "no IPv4 name server for DNSBL lookups (dnsbl.name_servers or %s)",
                RESOLV_CONF);
    return NULL;
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    g_set_error(error, MM_DNSBL_LOOKUP_ERROR, MM_DNSBL_LOOKUP_ERROR_SOCKET,
                "DNSBL lookup socket: %s", g_strerror(errno));
    return NULL;
  }

  MmDnsblLookup *lookup = g_new0(MmDnsblLookup, 1);
  lookup->fd = fd;
  lookup->base_id = (guint16)g_random_int_range(0, 65536);
  lookup->n_services = n_services;
  lookup->services = g_strdupv((char **)services);
  lookup->answered = g_new0(gboolean, n_services + 1);
  lookup->answers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)g_ptr_array_unref);
  lookup->done = done;
  lookup->user_data = user_data;
  for (guint i = 0; i < n_services; i++) {
    g_hash_table_replace(lookup->answers, g_strdup(services[i]),
                         g_ptr_array_new_with_free_func(g_free));
    g_autofree char *name = g_strdup_printf("%u.%u.%u.%u.%s", octets[3], octets[2],
                                            octets[1], octets[0], services[i]);
    guint8 query[DNS_HEADER_SIZE + DNS_MAX_NAME + 8];
    gsize length = services[i][0] == '\0' || strlen(name) > DNS_MAX_NAME
      ? 0 : encode_query((guint16)(lookup->base_id + i), name, query, sizeof(query));
    if (length == 0) {
      /* A name no server could answer counts as "not listed" rather than a failure. */
      lookup->answered[i] = TRUE;
      lookup->n_answered++;
      continue;
    }
    /* A server that cannot be reached just never answers: the timeout covers it. */
    for (guint j = 0; j < n_server_addresses; j++)
      (void)sendto(fd, query, length, MSG_NOSIGNAL, (const struct sockaddr *)&server_addresses[j],
                   sizeof server_addresses[j]);
  }
  lookup->read_id = g_unix_fd_add(fd, G_IO_IN, on_readable, lookup);
  guint timeout = MIN(timeout_ms, (guint)MM_DNSBL_LOOKUP_MAX_TIMEOUT_MS);
  /* Even with nothing to wait for, answer from the main loop, as the caller expects. */
  lookup->timeout_id = g_timeout_add(lookup->n_answered == n_services ? 0 : timeout,
                                     on_timeout, lookup);
  return lookup;
}

/* mm_dnsbl_lookup_cancel - forget a lookup in progress */
void
mm_dnsbl_lookup_cancel(MmDnsblLookup *lookup)
{
  if (lookup != NULL)
    lookup_free(lookup);
}
