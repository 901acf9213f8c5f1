/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-connection-spec.c: libFuzzer target for connection specs (unix:, local:, inet:,
 * inet6:): any text gives a spec that keeps its promises or an error, never a crash. */
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include "connection-spec.h"

/* Longest text tried: specs are short, and a longer input only repeats the same paths. */
#define FUZZ_SPEC_MAX_LENGTH 4096

/* check_spec - what a parsed SPEC promises, from its header */
static void
check_spec(const MmConnectionSpec *spec, const char *text)
{
  if (spec->text == NULL || strcmp(spec->text, text) != 0)
    abort();
  switch (spec->family) {
  case MM_CONNECTION_SPEC_UNIX: {
    struct sockaddr_un address;
    if (spec->path == NULL || spec->path[0] == '\0' ||
        strlen(spec->path) >= sizeof(address.sun_path))
      abort();
    break;
  }
  case MM_CONNECTION_SPEC_INET:
  case MM_CONNECTION_SPEC_INET6:
    if (spec->port == 0 || spec->path != NULL)
      abort();
    if (mm_connection_spec_is_wildcard(spec) != (spec->host == NULL))
      abort();
    break;
  default:
    abort();
  }
  /* Only specs that never touch DNS go further: wildcards, UNIX paths and address
   * literals, which must turn into a socket address of their own family. */
  guint8 literal[sizeof(struct in6_addr)];
  if (spec->family == MM_CONNECTION_SPEC_UNIX || spec->host == NULL ||
      inet_pton(AF_INET, spec->host, literal) == 1 ||
      inet_pton(AF_INET6, spec->host, literal) == 1) {
    struct sockaddr_storage address;
    socklen_t length = 0;
    GError *error = NULL;
    if (mm_connection_spec_to_sockaddr(spec, &address, &length, &error)) {
      int family = spec->family == MM_CONNECTION_SPEC_UNIX    ? AF_UNIX
                   : spec->family == MM_CONNECTION_SPEC_INET ? AF_INET
                                                             : AF_INET6;
      if (address.ss_family != family || length == 0 || length > sizeof(address))
        abort();
    } else {
      if (error == NULL || error->message == NULL)
        abort();
      g_error_free(error);
    }
  }
}

/* is_plain - TEXT is printable ASCII that messages quote as it is (others are escaped) */
static gboolean
is_plain(const char *text)
{
  for (const char *p = text; *p; p++)
    if (*p < 0x20 || *p > 0x7e || *p == '\\' || *p == '"')
      return FALSE;
  return TRUE;
}

/* LLVMFuzzerTestOneInput - parse DATA as a spec from a configuration file */
int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  if (size > FUZZ_SPEC_MAX_LENGTH)
    return 0;
  /* Configuration values are C strings: an embedded NUL ends the text. */
  char *text = g_strndup((const char *)data, size);
  GError *error = NULL;
  MmConnectionSpec *spec = mm_connection_spec_parse(text, &error);
  if (spec != NULL) {
    if (error != NULL)
      abort();
    check_spec(spec, text);
    mm_connection_spec_free(spec);
  } else {
    /* Errors quote the spec, so that the administrator sees which line is wrong. */
    if (error == NULL || error->message == NULL || error->domain != MM_CONNECTION_SPEC_ERROR)
      abort();
    if (error->code == MM_CONNECTION_SPEC_ERROR_INVALID && is_plain(text) &&
        strstr(error->message, text) == NULL)
      abort();
    g_error_free(error);
  }
  g_free(text);
  return 0;
}
