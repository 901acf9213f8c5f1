/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-connection-spec.c: unit tests for connection spec parsing and socket addresses
 * (connection-spec.h): every accepted form and every error, from tables. */
#include "connection-spec.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

typedef struct {
  const char *text;
  MmConnectionSpecFamily family;
  const char *path;
  const char *host;
  guint16 port;
} ValidCase;

static const ValidCase valid_cases[] = {
  {"unix:/run/milter/x.sock", MM_CONNECTION_SPEC_UNIX, "/run/milter/x.sock", NULL, 0},
  {"local:/run/milter/x.sock", MM_CONNECTION_SPEC_UNIX, "/run/milter/x.sock", NULL, 0},
  {"UNIX:relative.sock", MM_CONNECTION_SPEC_UNIX, "relative.sock", NULL, 0},
  {"inet:10025", MM_CONNECTION_SPEC_INET, NULL, NULL, 10025},
  {"inet:1", MM_CONNECTION_SPEC_INET, NULL, NULL, 1},
  {"inet:65535", MM_CONNECTION_SPEC_INET, NULL, NULL, 65535},
  {"inet:10025@localhost", MM_CONNECTION_SPEC_INET, NULL, "localhost", 10025},
  {"inet:10025@mail.example.com", MM_CONNECTION_SPEC_INET, NULL, "mail.example.com", 10025},
  {"inet:10025@127.0.0.1", MM_CONNECTION_SPEC_INET, NULL, "127.0.0.1", 10025},
  {"inet:10025@[127.0.0.1]", MM_CONNECTION_SPEC_INET, NULL, "127.0.0.1", 10025},
  {"inet6:10025", MM_CONNECTION_SPEC_INET6, NULL, NULL, 10025},
  {"inet6:10025@localhost", MM_CONNECTION_SPEC_INET6, NULL, "localhost", 10025},
  {"inet6:10025@::1", MM_CONNECTION_SPEC_INET6, NULL, "::1", 10025},
  {"inet6:10025@[::1]", MM_CONNECTION_SPEC_INET6, NULL, "::1", 10025},
  {"inet6:2525@[2001:db8::5]", MM_CONNECTION_SPEC_INET6, NULL, "2001:db8::5", 2525},
};

typedef struct {
  const char *text;
  const char *message;
} InvalidCase;

static const InvalidCase invalid_cases[] = {
  {"inet:abc@localhost",
   "invalid connection spec \"inet:abc@localhost\": port must be a number from 1 to 65535"},
  {"inet:0", "invalid connection spec \"inet:0\": port must be a number from 1 to 65535"},
  {"inet:65536", "invalid connection spec \"inet:65536\": port must be a number from 1 to 65535"},
  {"inet:99999999999999999999",
   "invalid connection spec \"inet:99999999999999999999\": port must be a number from 1 to 65535"},
  {"inet:", "invalid connection spec \"inet:\": port must be a number from 1 to 65535"},
  {"inet:-1", "invalid connection spec \"inet:-1\": port must be a number from 1 to 65535"},
  {"inet6:@[::1]", "invalid connection spec \"inet6:@[::1]\": port must be a number from 1 to 65535"},
  {"inet:10025x", "invalid connection spec \"inet:10025x\": unexpected \"x\" after the port"},
  {"inet:10025 ", "invalid connection spec \"inet:10025 \": unexpected \" \" after the port"},
  {"inet:10025@", "invalid connection spec \"inet:10025@\": host is missing after \"@\""},
  {"inet:10025@bad host",
   "invalid connection spec \"inet:10025@bad host\": host \"bad host\" contains invalid characters"},
  {"inet:10025@[127.0.0.1",
   "invalid connection spec \"inet:10025@[127.0.0.1\": \"[\" without a closing \"]\""},
  {"inet:10025@[127.0.0.1]junk",
   "invalid connection spec \"inet:10025@[127.0.0.1]junk\": unexpected \"junk\" after the address"},
  {"inet:10025@[::1]", "invalid connection spec \"inet:10025@[::1]\": \"::1\" is not an IPv4 address"},
  {"inet:10025@[localhost]",
   "invalid connection spec \"inet:10025@[localhost]\": \"localhost\" is not an IPv4 address"},
  {"inet6:10025@[127.0.0.1]",
   "invalid connection spec \"inet6:10025@[127.0.0.1]\": \"127.0.0.1\" is not an IPv6 address"},
  {"inet6:10025@[]", "invalid connection spec \"inet6:10025@[]\": \"\" is not an IPv6 address"},
  {"unix:", "invalid connection spec \"unix:\": socket path is missing"},
  {"local:", "invalid connection spec \"local:\": socket path is missing"},
  {"tcp:10025@localhost",
   "invalid connection spec \"tcp:10025@localhost\": unknown scheme \"tcp\" (expected unix, local, inet or inet6)"},
  {":10025", "invalid connection spec \":10025\": unknown scheme \"\" (expected unix, local, inet or inet6)"},
  {"/run/milter.sock",
   "invalid connection spec \"/run/milter.sock\": expected unix:PATH, local:PATH, inet:PORT[@HOST] or inet6:PORT[@HOST]"},
  {"", "invalid connection spec \"\": expected unix:PATH, local:PATH, inet:PORT[@HOST] or inet6:PORT[@HOST]"},
  {"inet:1\n", "invalid connection spec \"inet:1\\n\": unexpected \"\\n\" after the port"},
};

static void
test_parse_valid(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(valid_cases); i++) {
    const ValidCase *c = &valid_cases[i];
    g_autoptr(GError) error = NULL;
    g_autoptr(MmConnectionSpec) spec = mm_connection_spec_parse(c->text, &error);
    g_assert_no_error(error);
    g_assert_nonnull(spec);
    g_assert_cmpint(spec->family, ==, c->family);
    g_assert_cmpstr(spec->path, ==, c->path);
    g_assert_cmpstr(spec->host, ==, c->host);
    g_assert_cmpuint(spec->port, ==, c->port);
    g_assert_cmpstr(spec->text, ==, c->text);
  }
}

static void
test_parse_invalid(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(invalid_cases); i++) {
    const InvalidCase *c = &invalid_cases[i];
    g_autoptr(GError) error = NULL;
    MmConnectionSpec *spec = mm_connection_spec_parse(c->text, &error);
    g_assert_null(spec);
    g_assert_error(error, MM_CONNECTION_SPEC_ERROR, MM_CONNECTION_SPEC_ERROR_INVALID);
    g_assert_cmpstr(error->message, ==, c->message);
  }
}

static void
test_parse_long_path(void)
{
  gsize limit = sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1;
  g_autofree char *fits_path = g_strnfill(limit, 'a');
  g_autofree char *fits = g_strconcat("unix:", fits_path, NULL);
  g_autoptr(MmConnectionSpec) spec = mm_connection_spec_parse(fits, NULL);
  g_assert_nonnull(spec);
  struct sockaddr_storage address;
  socklen_t length = 0;
  g_assert_true(mm_connection_spec_to_sockaddr(spec, &address, &length, NULL));
  g_assert_cmpstr(((struct sockaddr_un *)&address)->sun_path, ==, fits_path);

  g_autofree char *long_path = g_strnfill(limit + 1, 'a');
  g_autofree char *too_long = g_strconcat("unix:", long_path, NULL);
  g_autoptr(GError) error = NULL;
  g_assert_null(mm_connection_spec_parse(too_long, &error));
  g_assert_error(error, MM_CONNECTION_SPEC_ERROR, MM_CONNECTION_SPEC_ERROR_INVALID);
  g_autofree char *expected = g_strdup_printf("socket path is longer than %" G_GSIZE_FORMAT " bytes", limit);
  g_assert_true(g_str_has_suffix(error->message, expected));
}

static void
test_sockaddr_unix(void)
{
  g_autoptr(MmConnectionSpec) spec = mm_connection_spec_parse("local:/tmp/x.sock", NULL);
  struct sockaddr_storage address;
  socklen_t length = 0;
  g_assert_true(mm_connection_spec_to_sockaddr(spec, &address, &length, NULL));
  const struct sockaddr_un *un = (const struct sockaddr_un *)&address;
  g_assert_cmpint(un->sun_family, ==, AF_UNIX);
  g_assert_cmpstr(un->sun_path, ==, "/tmp/x.sock");
  g_assert_cmpuint(length, ==, G_STRUCT_OFFSET(struct sockaddr_un, sun_path) + strlen("/tmp/x.sock") + 1);
  g_assert_false(mm_connection_spec_is_wildcard(spec));
}

static void
test_sockaddr_inet(void)
{
  struct sockaddr_storage address;
  socklen_t length = 0;
  g_autoptr(MmConnectionSpec) literal = mm_connection_spec_parse("inet:2525@[127.0.0.1]", NULL);
  g_assert_true(mm_connection_spec_to_sockaddr(literal, &address, &length, NULL));
  const struct sockaddr_in *in = (const struct sockaddr_in *)&address;
  g_assert_cmpint(in->sin_family, ==, AF_INET);
  g_assert_cmpuint(ntohs(in->sin_port), ==, 2525);
  g_assert_cmpuint(ntohl(in->sin_addr.s_addr), ==, INADDR_LOOPBACK);
  g_assert_cmpuint(length, ==, sizeof *in);

  /* No host: the wildcard address, for listening on every interface. */
  g_autoptr(MmConnectionSpec) any = mm_connection_spec_parse("inet:2526", NULL);
  g_assert_true(mm_connection_spec_is_wildcard(any));
  g_assert_true(mm_connection_spec_to_sockaddr(any, &address, &length, NULL));
  g_assert_cmpint(in->sin_family, ==, AF_INET);
  g_assert_cmpuint(ntohs(in->sin_port), ==, 2526);
  g_assert_cmpuint(ntohl(in->sin_addr.s_addr), ==, INADDR_ANY);

  /* A name resolves within the spec's family. */
  g_autoptr(MmConnectionSpec) name = mm_connection_spec_parse("inet:2527@localhost", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true(mm_connection_spec_to_sockaddr(name, &address, &length, &error));
  g_assert_no_error(error);
  g_assert_cmpint(in->sin_family, ==, AF_INET);
  g_assert_cmpuint(ntohs(in->sin_port), ==, 2527);
  g_assert_cmpuint(ntohl(in->sin_addr.s_addr) >> 24, ==, 127);
}

static void
test_sockaddr_inet6(void)
{
  struct sockaddr_storage address;
  socklen_t length = 0;
  const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address;
  g_autoptr(MmConnectionSpec) literal = mm_connection_spec_parse("inet6:2525@[::1]", NULL);
  g_assert_true(mm_connection_spec_to_sockaddr(literal, &address, &length, NULL));
  g_assert_cmpint(in6->sin6_family, ==, AF_INET6);
  g_assert_cmpuint(ntohs(in6->sin6_port), ==, 2525);
  g_assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
  g_assert_cmpuint(length, ==, sizeof *in6);

  g_autoptr(MmConnectionSpec) any = mm_connection_spec_parse("inet6:2526", NULL);
  g_assert_true(mm_connection_spec_to_sockaddr(any, &address, &length, NULL));
  g_assert_cmpint(in6->sin6_family, ==, AF_INET6);
  g_assert_true(IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr));
  g_assert_cmpuint(ntohs(in6->sin6_port), ==, 2526);
}

static void
test_sockaddr_unresolvable(void)
{
  /* ".invalid" never resolves (RFC 6761); an IPv4 literal has no IPv6 address. */
  const char *texts[] = {"inet:2525@no-such-host.invalid", "inet6:2525@127.0.0.1"};
  for (guint i = 0; i < G_N_ELEMENTS(texts); i++) {
    g_autoptr(MmConnectionSpec) spec = mm_connection_spec_parse(texts[i], NULL);
    g_assert_nonnull(spec);
    struct sockaddr_storage address;
    socklen_t length = 12345;
    g_autoptr(GError) error = NULL;
    g_assert_false(mm_connection_spec_to_sockaddr(spec, &address, &length, &error));
    g_assert_error(error, MM_CONNECTION_SPEC_ERROR, MM_CONNECTION_SPEC_ERROR_RESOLVE);
    g_assert_nonnull(strstr(error->message, texts[i]));
    g_assert_nonnull(strstr(error->message, spec->host));
    g_assert_cmpuint(length, ==, 12345);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/connection-spec/parse/valid", test_parse_valid);
  g_test_add_func("/connection-spec/parse/invalid", test_parse_invalid);
  g_test_add_func("/connection-spec/parse/long-path", test_parse_long_path);
  g_test_add_func("/connection-spec/sockaddr/unix", test_sockaddr_unix);
  g_test_add_func("/connection-spec/sockaddr/inet", test_sockaddr_inet);
  g_test_add_func("/connection-spec/sockaddr/inet6", test_sockaddr_inet6);
  g_test_add_func("/connection-spec/sockaddr/unresolvable", test_sockaddr_unresolvable);
  return g_test_run();
}
