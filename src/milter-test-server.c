/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-test-server.c: the MTA simulator: milter manager 2.3's command line, one or more
 * sessions against one milter on the GLib main loop, and 2.3's "status:" report. */
#include "build-config.h"

#include <arpa/inet.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "test-server-session.h"

#define PROGRAM_NAME "milter-test-server"
#define DEFAULT_NEGOTIATE_VERSION 6
/* 2.3's server context defaults, in seconds. */
#define DEFAULT_CONNECTION_TIMEOUT 300.0
#define DEFAULT_READING_TIMEOUT 10.0
#define DEFAULT_WRITING_TIMEOUT 10.0
#define DEFAULT_END_OF_MESSAGE_TIMEOUT 300.0
/* Bounds on what the command line may ask for. */
#define MAX_TIMEOUT_SECONDS 86400.0
#define MAX_SESSIONS 1000
#define MAX_TRANSACTIONS 100000

/* The command line, before it becomes a TestServerConfig. */
static struct {
  char *name, *spec, *connect_host, *connect_address, *helo_fqdn, *envelope_from;
  char **recipients, **body_chunks;
  char *mail_file, *unknown, *authenticated_name, *authenticated_type, *authenticated_author;
  GPtrArray *headers; /* name, value alternating */
  GPtrArray *macros[MM_MACRO_STAGE_COUNT];
  int negotiate_version, threads, n_transactions;
  double connection_timeout, reading_timeout, writing_timeout, end_of_message_timeout;
  double all_timeouts;
  gboolean output_message, verbose, version, abort_between;
  char *color;
} options = {
  .negotiate_version = DEFAULT_NEGOTIATE_VERSION,
  .n_transactions = 1,
  .connection_timeout = DEFAULT_CONNECTION_TIMEOUT,
  .reading_timeout = DEFAULT_READING_TIMEOUT,
  .writing_timeout = DEFAULT_WRITING_TIMEOUT,
  .end_of_message_timeout = DEFAULT_END_OF_MESSAGE_TIMEOUT,
  .all_timeouts = -1,
};

/* split_pair - "NAME:VALUE" into two new strings */
static gboolean
split_pair(const char *option, const char *text, char **name, char **value, GError **error)
{
  const char *colon = strchr(text, ':');
  if (colon == NULL || colon == text) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "%s should be 'NAME:VALUE': <%s>", option, text);
    return FALSE;
  }
  *name = g_strndup(text, (gsize)(colon - text));
  *value = g_strdup(colon + 1);
  return TRUE;
}

/* parse_header - -h NAME:VALUE */
static gboolean
parse_header(const char *option, const char *value, gpointer data, GError **error)
{
  (void)data;
  char *name, *header_value;
  if (!split_pair(option, value, &name, &header_value, error))
    return FALSE;
  g_ptr_array_add(options.headers, name);
  g_ptr_array_add(options.headers, g_strchug(header_value));
  return TRUE;
}

/* parse_macro - --STAGE-macro NAME:VALUE, the stage from the option's name */
static gboolean
parse_macro(const char *option, const char *value, gpointer data, GError **error)
{
  (void)data;
  static const struct {
    const char *option;
    MmMacroStage stage;
  } stages[] = {
    {"--connect-macro", MM_MACRO_STAGE_CONNECT},
    {"--helo-macro", MM_MACRO_STAGE_HELO},
    {"--envelope-from-macro", MM_MACRO_STAGE_MAIL},
    {"--envelope-recipient-macro", MM_MACRO_STAGE_RCPT},
    {"--data-macro", MM_MACRO_STAGE_DATA},
    {"--end-of-header-macro", MM_MACRO_STAGE_END_OF_HEADER},
    {"--end-of-message-macro", MM_MACRO_STAGE_END_OF_MESSAGE},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(stages); i++) {
    if (strcmp(option, stages[i].option) != 0)
      continue;
    char *name, *macro_value;
    if (!split_pair(option, value, &name, &macro_value, error))
      return FALSE;
    g_ptr_array_add(options.macros[stages[i].stage], name);
    g_ptr_array_add(options.macros[stages[i].stage], macro_value);
    return TRUE;
  }
  g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "unknown macro option %s", option);
  return FALSE;
}

/* parse_color - --color[=WHEN]: accepted and remembered, output stays plain */
static gboolean
parse_color(const char *option, const char *value, gpointer data, GError **error)
{
  (void)option, (void)data, (void)error;
  g_free(options.color);
  options.color = g_strdup(value != NULL ? value : "yes");
  return TRUE;
}

static const GOptionEntry entries[] = {
  {"name", 0, 0, G_OPTION_ARG_STRING, &options.name,
   "Use NAME as the server name ({daemon_name}; default milter-test-server)", "NAME"},
  {"connection-spec", 's', 0, G_OPTION_ARG_STRING, &options.spec,
   "The milter's socket (unix:PATH|inet:PORT[@HOST]|inet6:PORT[@HOST])", "SPEC"},
  {"negotiate-version", 0, 0, G_OPTION_ARG_INT, &options.negotiate_version,
   "Offer protocol version VERSION (2-6; default 6)", "VERSION"},
  {"connect-host", 0, 0, G_OPTION_ARG_STRING, &options.connect_host,
   "Host name sent with connect (default mx.example.net)", "HOST"},
  {"connect-address", 0, 0, G_OPTION_ARG_STRING, &options.connect_address,
   "Client address sent with connect: a spec (inet:25@[192.0.2.1], unix:PATH) or an address",
   "SPEC"},
  {"connect-macro", 0, 0, G_OPTION_ARG_CALLBACK, parse_macro,
   "Add a macro at connect (repeatable)", "NAME:VALUE"},
  {"helo-fqdn", 0, 0, G_OPTION_ARG_STRING, &options.helo_fqdn,
   "FQDN sent with HELO/EHLO (default delian)", "FQDN"},
  {"helo-macro", 0, 0, G_OPTION_ARG_CALLBACK, parse_macro, "Add a macro at helo (repeatable)",
   "NAME:VALUE"},
  {"envelope-from", 'f', 0, G_OPTION_ARG_STRING, &options.envelope_from,
   "Envelope sender (default sender@example.com)", "FROM"},
  {"from", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &options.envelope_from,
   "Deprecated: --envelope-from", "FROM"},
  {"envelope-from-macro", 0, 0, G_OPTION_ARG_CALLBACK, parse_macro,
   "Add a macro at MAIL FROM (repeatable)", "NAME:VALUE"},
  {"envelope-recipient", 'r', 0, G_OPTION_ARG_STRING_ARRAY, &options.recipients,
   "Add an envelope recipient (repeatable; default receiver@example.org)", "RECIPIENT"},
  {"recipient", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING_ARRAY, &options.recipients,
   "Deprecated: --envelope-recipient", "RECIPIENT"},
  {"envelope-recipient-macro", 0, 0, G_OPTION_ARG_CALLBACK, parse_macro,
   "Add a macro at RCPT TO (repeatable)", "NAME:VALUE"},
  {"data-macro", 0, 0, G_OPTION_ARG_CALLBACK, parse_macro, "Add a macro at DATA (repeatable)",
   "NAME:VALUE"},
  {"header", 'h', 0, G_OPTION_ARG_CALLBACK, parse_header, "Add a header (repeatable)",
   "NAME:VALUE"},
  {"end-of-header-macro", 0, 0, G_OPTION_ARG_CALLBACK, parse_macro,
   "Add a macro at end of header (repeatable)", "NAME:VALUE"},
  {"body", 'b', 0, G_OPTION_ARG_STRING_ARRAY, &options.body_chunks,
   "Add a body chunk (repeatable)", "CHUNK"},
  {"end-of-message-macro", 0, 0, G_OPTION_ARG_CALLBACK, parse_macro,
   "Add a macro at end of message (repeatable)", "NAME:VALUE"},
  {"unknown", 0, 0, G_OPTION_ARG_STRING, &options.unknown,
   "Send COMMAND as an unknown SMTP command after RCPT", "COMMAND"},
  {"authenticated-name", 0, 0, G_OPTION_ARG_STRING, &options.authenticated_name,
   "SASL login name ({auth_authen} at MAIL FROM)", "NAME"},
  {"authenticated-type", 0, 0, G_OPTION_ARG_STRING, &options.authenticated_type,
   "SASL method ({auth_type} at MAIL FROM)", "TYPE"},
  {"authenticated-author", 0, 0, G_OPTION_ARG_STRING, &options.authenticated_author,
   "SASL sender ({auth_author} at MAIL FROM)", "AUTHOR"},
  {"mail-file", 'm', 0, G_OPTION_ARG_FILENAME, &options.mail_file,
   "Use the RFC 2822 message in PATH ('-': standard input) for headers and body", "PATH"},
  {"output-message", 0, 0, G_OPTION_ARG_NONE, &options.output_message,
   "Print the envelope, headers and body as the milter left them", NULL},
  {"color", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, parse_color,
   "Accepted for 2.3 compatibility; output is never colored", "[yes|no|auto]"},
  {"connection-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &options.connection_timeout,
   "Connecting may take SECONDS (default 300)", "SECONDS"},
  {"reading-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &options.reading_timeout,
   "A reply may take SECONDS (default 10)", "SECONDS"},
  {"writing-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &options.writing_timeout,
   "Writing may stall for SECONDS (default 10)", "SECONDS"},
  {"end-of-message-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &options.end_of_message_timeout,
   "The end-of-message reply may take SECONDS (default 300)", "SECONDS"},
  {"all-timeouts", 0, 0, G_OPTION_ARG_DOUBLE, &options.all_timeouts,
   "Set all four timeouts to SECONDS", "SECONDS"},
  {"threads", 't', 0, G_OPTION_ARG_INT, &options.threads,
   "Run N sessions concurrently (on one main loop; default 1)", "N"},
  {"n-transactions", 0, 0, G_OPTION_ARG_INT, &options.n_transactions,
   "Send N messages on the one connection (default 1)", "N"},
  {"abort-between", 0, 0, G_OPTION_ARG_NONE, &options.abort_between,
   "Send ABORT after each end of message that another message follows", NULL},
  {"verbose", 'v', 0, G_OPTION_ARG_NONE, &options.verbose,
   "Trace the protocol on standard error", NULL},
  {"version", 0, 0, G_OPTION_ARG_NONE, &options.version, "Show the version", NULL},
  {NULL, 0, 0, 0, NULL, NULL, NULL},
};

/* seconds_to_ms - a timeout option in milliseconds, bounded */
static gboolean
seconds_to_ms(const char *option, double seconds, guint *ms, GError **error)
{
  if (!(seconds >= 0 && seconds <= MAX_TIMEOUT_SECONDS)) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "%s must be between 0 and %g seconds", option, MAX_TIMEOUT_SECONDS);
    return FALSE;
  }
  *ms = (guint)(seconds * 1000 + 0.5);
  return TRUE;
}

/* parse_connect_address - --connect-address as a spec or a bare address */
static gboolean
parse_connect_address(TestServerConfig *config, const char *text, GError **error)
{
  static const char *const schemes[] = {"unix:", "local:", "inet:", "inet6:"};
  gboolean is_spec = FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS(schemes); i++)
    is_spec |= g_ascii_strncasecmp(text, schemes[i], strlen(schemes[i])) == 0;
  if (!is_spec) {
    g_autofree char *bare = g_strdup(text[0] == '[' ? text + 1 : text);
    g_strdelimit(bare, "]", '\0');
    if (!g_hostname_is_ip_address(bare)) {
      g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                  "--connect-address: neither a connection spec nor an address: <%s>", text);
      return FALSE;
    }
    config->connect_family = strchr(bare, ':') != NULL ? MM_FAMILY_INET6 : MM_FAMILY_INET;
    config->connect_port = 0;
    config->connect_address = g_steal_pointer(&bare);
    return TRUE;
  }
  g_autoptr(MmConnectionSpec) spec = mm_connection_spec_parse(text, error);
  if (spec == NULL)
    return FALSE;
  if (spec->family == MM_CONNECTION_SPEC_UNIX) {
    config->connect_family = MM_FAMILY_UNIX;
    config->connect_port = 0;
    config->connect_address = g_strdup(spec->path);
    return TRUE;
  }
  struct sockaddr_storage address;
  socklen_t length = 0;
  if (!mm_connection_spec_to_sockaddr(spec, &address, &length, error))
    return FALSE;
  char buffer[INET6_ADDRSTRLEN];
  if (address.ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address;
    inet_ntop(AF_INET6, &in6->sin6_addr, buffer, sizeof buffer);
    config->connect_family = MM_FAMILY_INET6;
  } else {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&address;
    inet_ntop(AF_INET, &in->sin_addr, buffer, sizeof buffer);
    config->connect_family = MM_FAMILY_INET;
  }
  config->connect_port = spec->port;
  config->connect_address = g_strdup(buffer);
  return TRUE;
}

/* add_default_macro - NAME=VALUE at STAGE before the user's own (which replace it) */
static void
add_default_macro(TestServerConfig *config, MmMacroStage stage, const char *name,
                  const char *value)
{
  g_ptr_array_insert(config->macros[stage], 0, g_strdup(value));
  g_ptr_array_insert(config->macros[stage], 0, g_strdup(name));
}

/* set_default_macros - the macros 2.3 sent, then --authenticated-* */
static void
set_default_macros(TestServerConfig *config)
{
  /* Inserted at the front in reverse order, so that they come out in this order. */
  add_default_macro(config, MM_MACRO_STAGE_CONNECT, "j", "mail.example.com");
  add_default_macro(config, MM_MACRO_STAGE_CONNECT, "{if_addr}", "127.0.0.1");
  add_default_macro(config, MM_MACRO_STAGE_CONNECT, "{if_name}", "localhost");
  add_default_macro(config, MM_MACRO_STAGE_CONNECT, "{daemon_name}",
                    options.name != NULL ? options.name : PROGRAM_NAME);
  add_default_macro(config, MM_MACRO_STAGE_HELO, "{cert_issuer}", "cert_issuer");
  add_default_macro(config, MM_MACRO_STAGE_HELO, "{cert_subject}", "cert_subject");
  add_default_macro(config, MM_MACRO_STAGE_HELO, "{cipher_bits}", "0");
  add_default_macro(config, MM_MACRO_STAGE_HELO, "{cipher}", "0");
  add_default_macro(config, MM_MACRO_STAGE_HELO, "{tls_version}", "0");
  if (options.authenticated_author != NULL)
    add_default_macro(config, MM_MACRO_STAGE_MAIL, "{auth_author}",
                      options.authenticated_author);
  if (options.authenticated_type != NULL)
    add_default_macro(config, MM_MACRO_STAGE_MAIL, "{auth_type}", options.authenticated_type);
  if (options.authenticated_name != NULL)
    add_default_macro(config, MM_MACRO_STAGE_MAIL, "{auth_authen}",
                      options.authenticated_name);
  add_default_macro(config, MM_MACRO_STAGE_MAIL, "{mail_addr}", "mail_addr");
  add_default_macro(config, MM_MACRO_STAGE_MAIL, "{mail_host}", "mail_host");
  add_default_macro(config, MM_MACRO_STAGE_MAIL, "{mail_mailer}", "mail_mailer");
  add_default_macro(config, MM_MACRO_STAGE_MAIL, "i", "i");
  add_default_macro(config, MM_MACRO_STAGE_RCPT, "{rcpt_host}", "rcpt_host");
  add_default_macro(config, MM_MACRO_STAGE_RCPT, "{rcpt_mailer}", "rcpt_mailer");
  add_default_macro(config, MM_MACRO_STAGE_END_OF_MESSAGE, "i", "message-id");
}

/* read_mail_file - PATH ("-" = standard input), bounded */
static char *
read_mail_file(const char *path, GError **error)
{
  if (strcmp(path, "-") != 0) {
    char *contents = NULL;
    gsize length = 0;
    if (!g_file_get_contents(path, &contents, &length, error))
      return NULL;
    if (length > TEST_SERVER_MESSAGE_MAX_FILE_SIZE) {
      g_free(contents);
      g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: larger than %u bytes", path,
                  TEST_SERVER_MESSAGE_MAX_FILE_SIZE);
      return NULL;
    }
    return contents;
  }
  GString *contents = g_string_new(NULL);
  char buffer[8192];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, stdin)) > 0) {
    g_string_append_len(contents, buffer, (gssize)n);
    if (contents->len > TEST_SERVER_MESSAGE_MAX_FILE_SIZE) {
      g_string_free(contents, TRUE);
      g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                  "standard input: larger than %u bytes", TEST_SERVER_MESSAGE_MAX_FILE_SIZE);
      return NULL;
    }
  }
  return g_string_free(contents, FALSE);
}

/* build_config - turn the parsed options into CONFIG */
static gboolean
build_config(TestServerConfig *config, GError **error)
{
  if (options.spec == NULL) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "--connection-spec is required");
    return FALSE;
  }
  g_autofree char *spec_text =
    options.spec[0] == '/' ? g_strdup_printf("unix:%s", options.spec) : g_strdup(options.spec);
  config->spec = mm_connection_spec_parse(spec_text, error);
  if (config->spec == NULL)
    return FALSE;
  if (options.negotiate_version < MM_PROTOCOL_VERSION_MIN ||
      options.negotiate_version > MM_PROTOCOL_VERSION_MAX) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--negotiate-version must be between %d and %d", MM_PROTOCOL_VERSION_MIN,
                MM_PROTOCOL_VERSION_MAX);
    return FALSE;
  }
  config->version = (guint32)options.negotiate_version;
  if (options.all_timeouts >= 0)
    options.connection_timeout = options.reading_timeout = options.writing_timeout =
      options.end_of_message_timeout = options.all_timeouts;
  if (!seconds_to_ms("--connection-timeout", options.connection_timeout,
                     &config->connection_timeout_ms, error) ||
      !seconds_to_ms("--reading-timeout", options.reading_timeout, &config->reading_timeout_ms,
                     error) ||
      !seconds_to_ms("--writing-timeout", options.writing_timeout, &config->writing_timeout_ms,
                     error) ||
      !seconds_to_ms("--end-of-message-timeout", options.end_of_message_timeout,
                     &config->end_of_message_timeout_ms, error))
    return FALSE;
  if (options.n_transactions < 1 || options.n_transactions > MAX_TRANSACTIONS) {
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--n-transactions must be between 1 and %d", MAX_TRANSACTIONS);
    return FALSE;
  }
  config->n_transactions = (guint)options.n_transactions;
  config->abort_between = options.abort_between;
  config->connect_host = g_strdup(options.connect_host != NULL ? options.connect_host
                                                               : "mx.example.net");
  if (options.connect_address != NULL) {
    if (!parse_connect_address(config, options.connect_address, error))
      return FALSE;
  } else {
    config->connect_family = MM_FAMILY_INET; /* 2.3's default client */
    config->connect_port = 50443;
    config->connect_address = g_strdup("192.168.123.123");
  }
  config->helo_fqdn = g_strdup(options.helo_fqdn != NULL ? options.helo_fqdn : "delian");
  config->unknown = g_strdup(options.unknown);

  g_autoptr(TestServerMailFile) file = NULL;
  if (options.mail_file != NULL) {
    g_autofree char *contents = read_mail_file(options.mail_file, error);
    if (contents == NULL)
      return FALSE;
    file = test_server_mail_file_parse(contents, error);
    if (file == NULL) {
      g_prefix_error(error, "%s: ", options.mail_file);
      return FALSE;
    }
  }
  const char *from = options.envelope_from;
  if (from == NULL)
    from = file != NULL && file->from != NULL ? file->from : "sender@example.com";
  config->envelope_from = test_server_message_normalize_address(from);
  GPtrArray *recipients = g_ptr_array_new();
  if (options.recipients != NULL) {
    for (gsize i = 0; options.recipients[i] != NULL; i++)
      g_ptr_array_add(recipients, test_server_message_normalize_address(options.recipients[i]));
  } else if (file != NULL && file->to->len > 0) {
    for (guint i = 0; i < file->to->len; i++)
      g_ptr_array_add(recipients, g_strdup(file->to->pdata[i]));
  } else {
    g_ptr_array_add(recipients, g_strdup("<receiver@example.org>"));
  }
  g_ptr_array_add(recipients, NULL);
  config->recipients = (char **)g_ptr_array_free(recipients, FALSE);

  config->headers = file != NULL ? mm_header_list_copy(file->headers) : mm_header_list_new();
  for (guint i = 0; i + 1 < options.headers->len; i += 2) {
    if (!mm_header_list_append_original(config->headers, options.headers->pdata[i],
                                        options.headers->pdata[i + 1], error))
      return FALSE;
  }
  gboolean has_from = FALSE, has_to = FALSE;
  for (guint i = 0; i < mm_header_list_length(config->headers); i++) {
    const MmHeader *header = mm_header_list_nth(config->headers, i);
    has_from |= g_ascii_strcasecmp(header->name, "From") == 0;
    has_to |= g_ascii_strcasecmp(header->name, "To") == 0;
  }
  if (!has_from && !mm_header_list_append_original(config->headers, "From",
                                                   config->envelope_from, error))
    return FALSE;
  if (!has_to &&
      !mm_header_list_append_original(config->headers, "To", config->recipients[0], error))
    return FALSE;

  config->body_chunks = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  if (options.body_chunks != NULL) {
    for (gsize i = 0; options.body_chunks[i] != NULL; i++)
      g_ptr_array_add(config->body_chunks,
                      g_bytes_new(options.body_chunks[i], strlen(options.body_chunks[i])));
  } else if (file != NULL) {
    g_ptr_array_add(config->body_chunks, g_bytes_new(file->body->str, file->body->len));
  } else {
    static const char body[] = "La de da de da 1.\n"
                               "La de da de da 2.\n"
                               "La de da de da 3.\n"
                               "La de da de da 4.";
    g_ptr_array_add(config->body_chunks, g_bytes_new_static(body, strlen(body)));
  }
  for (int stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++)
    config->macros[stage] = g_ptr_array_ref(options.macros[stage]);
  set_default_macros(config);
  return TRUE;
}

/* config_clear - free what build_config made */
static void
config_clear(TestServerConfig *config)
{
  mm_connection_spec_free(config->spec);
  g_free(config->connect_host);
  g_free(config->connect_address);
  g_free(config->helo_fqdn);
  g_free(config->envelope_from);
  g_strfreev(config->recipients);
  mm_header_list_free(config->headers);
  if (config->body_chunks != NULL)
    g_ptr_array_unref(config->body_chunks);
  g_free(config->unknown);
  for (int stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++) {
    if (config->macros[stage] != NULL)
      g_ptr_array_unref(config->macros[stage]);
  }
}

/* print_transaction - one message's status, reply, notes, quarantine and (optionally) the
 * message itself */
static void
print_transaction(GString *out, const TestServerTransaction *transaction, double elapsed,
                  gboolean with_elapsed)
{
  g_autofree char *reply = test_server_format_reply(transaction->reply_text);
  g_string_append_printf(out, "status: %s%s\n", test_server_status_name(transaction->status),
                         reply);
  if (transaction->reply_text != NULL)
    g_string_append_printf(out, "response: %s\n", transaction->reply_text);
  for (guint i = 0; i < transaction->notes->len; i++)
    g_string_append_printf(out, "%s\n", (const char *)transaction->notes->pdata[i]);
  if (with_elapsed)
    g_string_append_printf(out, "elapsed-time: %g seconds\n", elapsed);
  const TestServerMessage *message = transaction->message;
  if (message != NULL && message->quarantine_reason != NULL)
    g_string_append_printf(out, "Quarantine reason: <%s>\n", message->quarantine_reason);
  if (options.output_message && message != NULL) {
    g_string_append_c(out, '\n');
    test_server_message_print(message, out);
  }
}

/* Sessions of the run and how many are still going. */
typedef struct {
  GMainLoop *loop;
  guint running;
  gboolean failed;
} Run;

/* session_done - print one session's result as soon as it ends */
static void
session_done(TestServerSession *session, gpointer user_data)
{
  Run *run = user_data;
  const GError *error = test_server_session_get_error(session);
  if (error != NULL) {
    fprintf(stderr, "%s\n", error->message);
    run->failed = TRUE;
  } else {
    GPtrArray *transactions = test_server_session_get_transactions(session);
    double elapsed = test_server_session_get_elapsed(session);
    g_autoptr(GString) out = g_string_new(NULL);
    if (transactions->len == 1) {
      print_transaction(out, transactions->pdata[0], elapsed, TRUE);
    } else {
      for (guint i = 0; i < transactions->len; i++) {
        g_string_append_printf(out, "transaction: %u\n", i + 1);
        print_transaction(out, transactions->pdata[i], elapsed, FALSE);
      }
      g_string_append_printf(out, "elapsed-time: %g seconds\n", elapsed);
    }
    fwrite(out->str, 1, out->len, stdout);
    fflush(stdout);
  }
  if (--run->running == 0)
    g_main_loop_quit(run->loop);
}

/* free_options - what GOption allocated */
static void
free_options(void)
{
  g_free(options.name);
  g_free(options.spec);
  g_free(options.connect_host);
  g_free(options.connect_address);
  g_free(options.helo_fqdn);
  g_free(options.envelope_from);
  g_strfreev(options.recipients);
  g_strfreev(options.body_chunks);
  g_free(options.mail_file);
  g_free(options.unknown);
  g_free(options.authenticated_name);
  g_free(options.authenticated_type);
  g_free(options.authenticated_author);
  g_free(options.color);
  g_ptr_array_unref(options.headers);
  for (int stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++)
    g_ptr_array_unref(options.macros[stage]);
}

/* main - parse, run the sessions, exit 0 when every one completed */
int
main(int argc, char **argv)
{
  setlocale(LC_ALL, "");
  g_set_prgname(PROGRAM_NAME);
  options.headers = g_ptr_array_new_with_free_func(g_free);
  for (int stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++)
    options.macros[stage] = g_ptr_array_new_with_free_func(g_free);

  GError *error = NULL;
  GOptionContext *context = g_option_context_new("- act as an MTA against a milter");
  g_option_context_add_main_entries(context, entries, NULL);
  gboolean parsed = g_option_context_parse(context, &argc, &argv, &error);
  g_option_context_free(context);
  if (parsed && options.version) {
    printf("%s %s\n", PROGRAM_NAME, PACKAGE_VERSION);
    free_options();
    return 0;
  }
  TestServerConfig config = {0};
  if (parsed && (options.threads < 0 || options.threads > MAX_SESSIONS)) {
    g_set_error(&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "--threads must be between 0 and %d", MAX_SESSIONS);
    parsed = FALSE;
  }
  if (!parsed || !build_config(&config, &error)) {
    fprintf(stderr, "%s: %s\n", PROGRAM_NAME, error->message);
    g_error_free(error);
    config_clear(&config);
    free_options();
    return 1;
  }
  const char *levels = g_getenv("MILTER_LOG_LEVEL");
  guint log_levels = MM_LOG_LEVEL_NONE;
  if (options.verbose)
    log_levels = MM_LOG_LEVEL_ALL;
  else if (levels != NULL && !mm_log_level_parse(levels, &log_levels, NULL))
    log_levels = MM_LOG_LEVEL_NONE;
  mm_log_set_levels(log_levels);

  Run run = {.loop = g_main_loop_new(NULL, FALSE)};
  guint n_sessions = options.threads > 0 ? (guint)options.threads : 1;
  GPtrArray *sessions = g_ptr_array_new_with_free_func((GDestroyNotify)test_server_session_free);
  for (guint i = 0; i < n_sessions; i++) {
    TestServerSession *session = test_server_session_new(&config, session_done, &run);
    g_ptr_array_add(sessions, session);
    run.running++;
    test_server_session_start(session);
  }
  g_main_loop_run(run.loop);
  g_ptr_array_unref(sessions);
  g_main_loop_unref(run.loop);
  config_clear(&config);
  free_options();
  return run.failed ? 1 : 0;
}
