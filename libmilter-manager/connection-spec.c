/* SPDX-License-Identifier: GPL-3.0-or-later */
/* connection-spec.c: parsing of milter connection specs (unix:, local:, inet:, inet6:) and
 * their translation to socket addresses (see connection-spec.h). */
#include "connection-spec.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

G_DEFINE_QUARK(mm-connection-spec-error-quark, mm_connection_spec_error)

/* spec_error - an INVALID error quoting TEXT, with printf-style REASON */
static void G_GNUC_PRINTF(3, 4)
spec_error(GError **error, const char *text, const char *reason, ...)
{
  va_list args;
  va_start(args, reason);
  g_autofree char *why = g_strdup_vprintf(reason, args);
  va_end(args);
  g_autofree char *quoted = g_strescape(text, NULL);
  g_set_error(error, MM_CONNECTION_SPEC_ERROR, MM_CONNECTION_SPEC_ERROR_INVALID,
              "invalid connection spec \"%s\": %s", quoted, why);
}

/* parse_port - digits only, 1..65535; *END gets where the digits stop */
static gboolean
parse_port(const char *start, const char **end, guint16 *port)
{
  guint value = 0;
  const char *p = start;
  while (g_ascii_isdigit(*p)) {
    value = value * 10 + (guint)(*p - '0');
    if (value > G_MAXUINT16)
      return FALSE;
    p++;
  }
  if (p == start || value == 0)
    return FALSE;
  *end = p;
  *port = (guint16)value;
  return TRUE;
}

/* host_is_plausible - only characters a host name or an address literal can hold */
static gboolean
host_is_plausible(const char *host)
{
  for (const char *p = host; *p; p++) {
    if (!g_ascii_isalnum(*p) && !strchr("-._:%", *p))
      return FALSE;
  }
  return TRUE;
}

/* parse_inet - the PORT[@HOST|@[ADDR]] part of an inet/inet6 spec */
static gboolean
parse_inet(MmConnectionSpec *spec, const char *rest, GError **error)
{
  const char *end = NULL;
  if (!parse_port(rest, &end, &spec->port)) {
    spec_error(error, spec->text, "port must be a number from 1 to 65535");
    return FALSE;
  }
  if (*end == '\0')
    return TRUE;
  if (*end != '@') {
    g_autofree char *junk = g_strescape(end, NULL);
    spec_error(error, spec->text, "unexpected \"%s\" after the port", junk);
    return FALSE;
  }
  const char *host = end + 1;
  if (*host == '\0') {
    spec_error(error, spec->text, "host is missing after \"@\"");
    return FALSE;
  }
  if (*host != '[') {
    if (!host_is_plausible(host)) {
      g_autofree char *quoted = g_strescape(host, NULL);
      spec_error(error, spec->text, "host \"%s\" contains invalid characters", quoted);
      return FALSE;
    }
    spec->host = g_strdup(host);
    return TRUE;
  }
  const char *close = strchr(host, ']');
  if (!close) {
    spec_error(error, spec->text, "\"[\" without a closing \"]\"");
    return FALSE;
  }
  if (close[1] != '\0') {
    g_autofree char *junk = g_strescape(close + 1, NULL);
    spec_error(error, spec->text, "unexpected \"%s\" after the address", junk);
    return FALSE;
  }
  g_autofree char *literal = g_strndup(host + 1, (gsize)(close - host - 1));
  int family = spec->family == MM_CONNECTION_SPEC_INET ? AF_INET : AF_INET6;
  guint8 scratch[sizeof(struct in6_addr)];
  if (inet_pton(family, literal, scratch) != 1) {
    g_autofree char *quoted = g_strescape(literal, NULL);
    spec_error(error, spec->text, "\"%s\" is not an %s address", quoted,
               family == AF_INET ? "IPv4" : "IPv6");
    return FALSE;
  }
  spec->host = g_steal_pointer(&literal);
  return TRUE;
}

/* mm_connection_spec_parse - parse TEXT into a spec */
MmConnectionSpec *
mm_connection_spec_parse(const char *text, GError **error)
{
  g_return_val_if_fail(text != NULL, NULL);
  g_autoptr(MmConnectionSpec) spec = g_new0(MmConnectionSpec, 1);
  spec->text = g_strdup(text);
  const char *colon = strchr(text, ':');
  if (!colon) {
    spec_error(error, text, "expected unix:PATH, local:PATH, inet:PORT[@HOST] or inet6:PORT[@HOST]");
    return NULL;
  }
  g_autofree char *scheme = g_ascii_strdown(text, colon - text);
  const char *rest = colon + 1;
  if (g_str_equal(scheme, "unix") || g_str_equal(scheme, "local")) {
    spec->family = MM_CONNECTION_SPEC_UNIX;
    if (*rest == '\0') {
      spec_error(error, text, "socket path is missing");
      return NULL;
    }
    if (strlen(rest) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
      spec_error(error, text, "socket path is longer than %" G_GSIZE_FORMAT " bytes",
                 sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
      return NULL;
    }
    spec->path = g_strdup(rest);
    return g_steal_pointer(&spec);
  }
  if (g_str_equal(scheme, "inet"))
    spec->family = MM_CONNECTION_SPEC_INET;
  else if (g_str_equal(scheme, "inet6"))
    spec->family = MM_CONNECTION_SPEC_INET6;
  else {
    g_autofree char *quoted = g_strescape(scheme, NULL);
    spec_error(error, text, "unknown scheme \"%s\" (expected unix, local, inet or inet6)", quoted);
    return NULL;
  }
  if (!parse_inet(spec, rest, error))
    return NULL;
  return g_steal_pointer(&spec);
}

/* mm_connection_spec_free - release SPEC; NULL-safe */
void
mm_connection_spec_free(MmConnectionSpec *spec)
{
  if (!spec)
    return;
  g_free(spec->path);
  g_free(spec->host);
  g_free(spec->text);
  g_free(spec);
}

/* to_unix_sockaddr - the sockaddr_un of a UNIX spec */
static gboolean
to_unix_sockaddr(const MmConnectionSpec *spec, struct sockaddr_storage *address,
                 socklen_t *address_length, GError **error)
{
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  gsize length = spec->path ? strlen(spec->path) : 0;
  if (length == 0 || length >= sizeof un.sun_path) {
    spec_error(error, spec->text, "socket path must be 1 to %" G_GSIZE_FORMAT " bytes",
               sizeof un.sun_path - 1);
    return FALSE;
  }
  memcpy(un.sun_path, spec->path, length + 1);
  memset(address, 0, sizeof *address);
  memcpy(address, &un, sizeof un);
  *address_length = (socklen_t)(G_STRUCT_OFFSET(struct sockaddr_un, sun_path) + length + 1);
  return TRUE;
}

/* to_wildcard_sockaddr - the any-address of the spec's family with its port */
static void
to_wildcard_sockaddr(const MmConnectionSpec *spec, struct sockaddr_storage *address,
                     socklen_t *address_length)
{
  memset(address, 0, sizeof *address);
  if (spec->family == MM_CONNECTION_SPEC_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)address;
    in->sin_family = AF_INET;
    in->sin_port = htons(spec->port);
    in->sin_addr.s_addr = htonl(INADDR_ANY);
    *address_length = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)address;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(spec->port);
    in6->sin6_addr = in6addr_any;
    *address_length = sizeof *in6;
  }
}

/* resolve - getaddrinfo for the spec's family, numeric first so literals never hit DNS */
static gboolean
resolve(const MmConnectionSpec *spec, struct sockaddr_storage *address,
        socklen_t *address_length, GError **error)
{
  struct addrinfo hints = {
    .ai_family = spec->family == MM_CONNECTION_SPEC_INET ? AF_INET : AF_INET6,
    .ai_socktype = SOCK_STREAM,
    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
  };
  char service[8];
  g_snprintf(service, sizeof service, "%u", (guint)spec->port);
  struct addrinfo *result = NULL;
  int status = getaddrinfo(spec->host, service, &hints, &result);
  if (status != 0) {
    hints.ai_flags = AI_NUMERICSERV;
    status = getaddrinfo(spec->host, service, &hints, &result);
  }
  if (status != 0 || !result) {
    g_set_error(error, MM_CONNECTION_SPEC_ERROR, MM_CONNECTION_SPEC_ERROR_RESOLVE,
                "cannot resolve host \"%s\" of connection spec \"%s\": %s", spec->host,
                spec->text, status != 0 ? gai_strerror(status) : "no address");
    return FALSE;
  }
  if (result->ai_addrlen > sizeof *address) {
    freeaddrinfo(result);
    g_set_error(error, MM_CONNECTION_SPEC_ERROR, MM_CONNECTION_SPEC_ERROR_RESOLVE,
                "address of connection spec \"%s\" is too long", spec->text);
    return FALSE;
  }
  memset(address, 0, sizeof *address);
  memcpy(address, result->ai_addr, result->ai_addrlen);
  *address_length = (socklen_t)result->ai_addrlen;
  freeaddrinfo(result);
  return TRUE;
}

/* mm_connection_spec_to_sockaddr - the socket address to bind or connect to */
gboolean
mm_connection_spec_to_sockaddr(const MmConnectionSpec *spec, struct sockaddr_storage *address,
                               socklen_t *address_length, GError **error)
{
  g_return_val_if_fail(spec != NULL && address != NULL && address_length != NULL, FALSE);
  struct sockaddr_storage found;
  socklen_t found_length = 0;
  if (spec->family == MM_CONNECTION_SPEC_UNIX) {
    if (!to_unix_sockaddr(spec, &found, &found_length, error))
      return FALSE;
  } else if (!spec->host) {
    to_wildcard_sockaddr(spec, &found, &found_length);
  } else if (!resolve(spec, &found, &found_length, error)) {
    return FALSE;
  }
  *address = found;
  *address_length = found_length;
  return TRUE;
}

/* mm_connection_spec_is_wildcard - whether SPEC is inet/inet6 without a host */
gboolean
mm_connection_spec_is_wildcard(const MmConnectionSpec *spec)
{
  return spec && spec->family != MM_CONNECTION_SPEC_UNIX && spec->host == NULL;
}
