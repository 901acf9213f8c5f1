/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-server-message.c: milter-test-server's message: the envelope, headers and body it
 * sends, the milter's end-of-message edits, mail file parsing and --output-message. */
#include "build-config.h"

#include <string.h>

#include "test-server-message.h"

G_DEFINE_QUARK(test-server-message-error-quark, test_server_message_error)

/* recipient_free - one TestServerRecipient */
static void
recipient_free(gpointer data)
{
  TestServerRecipient *recipient = data;
  g_free(recipient->address);
  g_free(recipient->args);
  g_free(recipient);
}

/* recipient_new - a recipient with copies of ADDRESS and ARGS */
static TestServerRecipient *
recipient_new(const char *address, const char *args, gboolean added)
{
  TestServerRecipient *recipient = g_new0(TestServerRecipient, 1);
  recipient->address = g_strdup(address);
  recipient->args = args != NULL && args[0] != '\0' ? g_strdup(args) : NULL;
  recipient->added = added;
  return recipient;
}

/* test_server_message_normalize_address - ADDRESS with angle brackets */
char *
test_server_message_normalize_address(const char *address)
{
  if (address[0] == '<')
    return g_strdup(address);
  return g_strdup_printf("<%s>", address);
}

/* same_address - "<a@b>" and "a@b" name the same mailbox */
static gboolean
same_address(const char *a, const char *b)
{
  g_autofree char *normal_a = test_server_message_normalize_address(a);
  g_autofree char *normal_b = test_server_message_normalize_address(b);
  return strcmp(normal_a, normal_b) == 0;
}

/* test_server_message_new - a message as the tool sends it */
TestServerMessage *
test_server_message_new(const char *from, char *const *recipients, const MmHeaderList *headers,
                        const char *body, gsize length)
{
  TestServerMessage *message = g_new0(TestServerMessage, 1);
  message->envelope_from = g_strdup(from);
  message->recipients = g_ptr_array_new_with_free_func(recipient_free);
  for (gsize i = 0; recipients != NULL && recipients[i] != NULL; i++)
    g_ptr_array_add(message->recipients, recipient_new(recipients[i], NULL, FALSE));
  message->original_headers = mm_header_list_copy(headers);
  message->headers = mm_header_list_copy(headers);
  message->body = g_string_new_len(body, (gssize)length);
  return message;
}

/* test_server_message_free - NULL-safe */
void
test_server_message_free(TestServerMessage *message)
{
  if (message == NULL)
    return;
  g_free(message->envelope_from);
  g_ptr_array_unref(message->recipients);
  mm_header_list_free(message->original_headers);
  g_string_free(message->body, TRUE);
  g_free(message->new_envelope_from);
  g_free(message->new_envelope_from_args);
  mm_header_list_free(message->headers);
  if (message->replaced_body != NULL)
    g_string_free(message->replaced_body, TRUE);
  g_free(message->quarantine_reason);
  g_free(message);
}

/* test_server_message_reject_recipient - mark an original recipient rejected */
void
test_server_message_reject_recipient(TestServerMessage *message, const char *address)
{
  for (guint i = 0; i < message->recipients->len; i++) {
    TestServerRecipient *recipient = g_ptr_array_index(message->recipients, i);
    if (!recipient->added && !recipient->removed && same_address(recipient->address, address)) {
      recipient->removed = TRUE;
      return;
    }
  }
}

/* test_server_message_count_recipients - recipients still there */
guint
test_server_message_count_recipients(const TestServerMessage *message)
{
  guint n = 0;
  for (guint i = 0; i < message->recipients->len; i++) {
    const TestServerRecipient *recipient = g_ptr_array_index(message->recipients, i);
    if (!recipient->removed)
      n++;
  }
  return n;
}

/* edit_failed - wrap a header-list error so that the message says which edit it was */
static gboolean
edit_failed(GError **error, GError *cause, const char *edit)
{
  g_set_error(error, TEST_SERVER_MESSAGE_ERROR, TEST_SERVER_MESSAGE_ERROR_EDIT, "%s: %s", edit,
              cause->message);
  g_error_free(cause);
  return FALSE;
}

/* test_server_message_add_header - the milter's `h` */
gboolean
test_server_message_add_header(TestServerMessage *message, const char *name, const char *value,
                               GError **error)
{
  GError *cause = NULL;
  if (!mm_header_list_add(message->headers, name, value, &cause))
    return edit_failed(error, cause, "add header");
  return TRUE;
}

/* test_server_message_insert_header - the milter's `i` */
gboolean
test_server_message_insert_header(TestServerMessage *message, guint32 index, const char *name,
                                  const char *value, GError **error)
{
  GError *cause = NULL;
  if (!mm_header_list_insert(message->headers, index, name, value, &cause))
    return edit_failed(error, cause, "insert header");
  return TRUE;
}

/* test_server_message_change_header - the milter's `m` (an empty value deletes) */
gboolean
test_server_message_change_header(TestServerMessage *message, const char *name, guint32 index,
                                  const char *value, GError **error)
{
  GError *cause = NULL;
  if (!mm_header_list_change(message->headers, name, index, value, &cause))
    return edit_failed(error, cause, "change header");
  return TRUE;
}

/* test_server_message_change_from - the milter's `e`; the last one wins */
void
test_server_message_change_from(TestServerMessage *message, const char *from, const char *args)
{
  g_free(message->new_envelope_from);
  g_free(message->new_envelope_from_args);
  message->new_envelope_from = g_strdup(from);
  message->new_envelope_from_args = args != NULL && args[0] != '\0' ? g_strdup(args) : NULL;
}

/* test_server_message_add_recipient - the milter's `+` or `2` */
gboolean
test_server_message_add_recipient(TestServerMessage *message, const char *address,
                                  const char *args, GError **error)
{
  if (++message->n_added > TEST_SERVER_MESSAGE_MAX_ADDED_RECIPIENTS) {
    g_set_error(error, TEST_SERVER_MESSAGE_ERROR, TEST_SERVER_MESSAGE_ERROR_LIMIT,
                "more than %u recipients added", TEST_SERVER_MESSAGE_MAX_ADDED_RECIPIENTS);
    return FALSE;
  }
  g_ptr_array_add(message->recipients, recipient_new(address, args, TRUE));
  return TRUE;
}

/* test_server_message_delete_recipient - the milter's `-` */
void
test_server_message_delete_recipient(TestServerMessage *message, const char *address)
{
  for (guint i = 0; i < message->recipients->len; i++) {
    TestServerRecipient *recipient = g_ptr_array_index(message->recipients, i);
    if (!recipient->removed && same_address(recipient->address, address)) {
      recipient->removed = TRUE;
      return;
    }
  }
}

/* test_server_message_replace_body - one `b` chunk; the chunks make the new body */
gboolean
test_server_message_replace_body(TestServerMessage *message, const guint8 *data, gsize length,
                                 GError **error)
{
  if (message->replaced_body == NULL)
    message->replaced_body = g_string_new(NULL);
  if (length > TEST_SERVER_MESSAGE_MAX_BODY_SIZE - message->replaced_body->len) {
    g_set_error(error, TEST_SERVER_MESSAGE_ERROR, TEST_SERVER_MESSAGE_ERROR_LIMIT,
                "the replaced body is larger than %u bytes", TEST_SERVER_MESSAGE_MAX_BODY_SIZE);
    return FALSE;
  }
  g_string_append_len(message->replaced_body, (const char *)data, (gssize)length);
  return TRUE;
}

/* test_server_message_quarantine - the milter's `q`; the last reason wins */
void
test_server_message_quarantine(TestServerMessage *message, const char *reason)
{
  g_free(message->quarantine_reason);
  message->quarantine_reason = g_strdup(reason);
}

/* print_envelope_item - " MAIL FROM:<a>" with PREFIX " ", "+" or "-" */
static void
print_envelope_item(GString *out, const char *prefix, const char *label, const char *address,
                    const char *args)
{
  g_string_append_printf(out, "%s %s:%s", prefix, label, address);
  if (args != NULL)
    g_string_append_printf(out, " %s", args);
  g_string_append_c(out, '\n');
}

/* print_header - one header; a folded value continues on lines of its own */
static void
print_header(GString *out, const char *prefix, const MmHeader *header)
{
  g_auto(GStrv) lines = g_strsplit(header->value, "\n", -1);
  if (lines[0] == NULL) {
    g_string_append_printf(out, "%s %s:\n", prefix, header->name);
    return;
  }
  g_string_append_printf(out, "%s %s: %s\n", prefix, header->name, lines[0]);
  for (gsize i = 1; lines[i] != NULL; i++)
    g_string_append_printf(out, "%s %s\n", prefix, lines[i]);
}

/* print_deleted - the originals in [FROM, TO) that the final list lacks */
static void
print_deleted(GString *out, const MmHeaderList *original, const gboolean *present, guint from,
              guint to)
{
  for (guint i = from; i < to; i++) {
    if (!present[i])
      print_header(out, "-", mm_header_list_nth(original, i));
  }
}

/* print_headers - the final headers in order, with the originals that were changed or
 * deleted shown where they stood */
static void
print_headers(const TestServerMessage *message, GString *out)
{
  const MmHeaderList *original = message->original_headers;
  guint n_original = mm_header_list_length(original);
  g_autofree gboolean *present = g_new0(gboolean, n_original + 1);
  guint n_final = mm_header_list_length(message->headers);
  for (guint i = 0; i < n_final; i++) {
    const MmHeader *header = mm_header_list_nth(message->headers, i);
    if (header->origin >= 0 && (guint)header->origin < n_original)
      present[header->origin] = TRUE;
  }
  guint next = 0;
  for (guint i = 0; i < n_final; i++) {
    const MmHeader *header = mm_header_list_nth(message->headers, i);
    if (header->origin < 0 || (guint)header->origin >= n_original) {
      print_header(out, "+", header);
      continue;
    }
    guint origin = (guint)header->origin;
    if (origin >= next) {
      print_deleted(out, original, present, next, origin);
      next = origin + 1;
    }
    const MmHeader *before = mm_header_list_nth(original, origin);
    if (strcmp(before->name, header->name) == 0 && strcmp(before->value, header->value) == 0) {
      print_header(out, " ", header);
    } else {
      print_header(out, "-", before);
      print_header(out, "+", header);
    }
  }
  print_deleted(out, original, present, next, n_original);
}

/* test_server_message_print - the message for --output-message */
void
test_server_message_print(const TestServerMessage *message, GString *out)
{
  g_string_append(out, "Envelope:------------------------------\n");
  if (message->new_envelope_from != NULL) {
    print_envelope_item(out, "-", "MAIL FROM", message->envelope_from, NULL);
    print_envelope_item(out, "+", "MAIL FROM", message->new_envelope_from,
                        message->new_envelope_from_args);
  } else {
    print_envelope_item(out, " ", "MAIL FROM", message->envelope_from, NULL);
  }
  for (guint i = 0; i < message->recipients->len; i++) {
    const TestServerRecipient *recipient = g_ptr_array_index(message->recipients, i);
    if (recipient->added && recipient->removed)
      continue;
    const char *prefix = recipient->added ? "+" : recipient->removed ? "-" : " ";
    print_envelope_item(out, prefix, "RCPT TO", recipient->address, recipient->args);
  }
  g_string_append(out, "Header:--------------------------------\n");
  print_headers(message, out);
  g_string_append(out, "Body:----------------------------------\n");
  const GString *body = message->replaced_body != NULL ? message->replaced_body : message->body;
  g_string_append_len(out, body->str, (gssize)body->len);
  g_string_append_c(out, '\n');
}

/* extract_address - the "<path>" of a From:/To: value, or its first word in brackets */
static char *
extract_address(const char *value, GError **error)
{
  const char *open = strchr(value, '<');
  if (open != NULL) {
    const char *close = strchr(open, '>');
    if (close == NULL) {
      g_set_error(error, TEST_SERVER_MESSAGE_ERROR, TEST_SERVER_MESSAGE_ERROR_ADDRESS,
                  "invalid mail address: <%s>", value);
      return NULL;
    }
    return g_strndup(open, (gsize)(close + 1 - open));
  }
  while (*value == ' ' || *value == '\t')
    value++;
  gsize length = strcspn(value, " \t");
  if (length == 0)
    return NULL;
  g_autofree char *word = g_strndup(value, length);
  return g_strdup_printf("<%s>", word);
}

/* is_header_line - "Name: value": a name of printable characters up to a colon */
static gboolean
is_header_line(const char *line)
{
  if (!g_ascii_isalnum(line[0]))
    return FALSE;
  for (const char *p = line; *p != '\0'; p++) {
    if (*p == ':')
      return TRUE;
    if (*p <= ' ' || *p == 0x7f)
      return FALSE;
  }
  return FALSE;
}

/* take_addresses - record a From: or To: header's addresses in FILE */
static gboolean
take_addresses(TestServerMailFile *file, const char *name, const char *value, GError **error)
{
  if (g_ascii_strcasecmp(name, "From") == 0 && file->from == NULL) {
    GError *cause = NULL;
    file->from = extract_address(value, &cause);
    if (cause != NULL) {
      g_propagate_error(error, cause);
      return FALSE;
    }
  } else if (g_ascii_strcasecmp(name, "To") == 0) {
    g_auto(GStrv) parts = g_strsplit(value, ",", -1);
    for (gsize i = 0; parts[i] != NULL; i++) {
      GError *cause = NULL;
      char *address = extract_address(parts[i], &cause);
      if (cause != NULL) {
        g_propagate_error(error, cause);
        return FALSE;
      }
      if (address != NULL)
        g_ptr_array_add(file->to, address);
    }
  }
  return TRUE;
}

/* test_server_mail_file_free - NULL-safe */
void
test_server_mail_file_free(TestServerMailFile *file)
{
  if (file == NULL)
    return;
  mm_header_list_free(file->headers);
  g_free(file->from);
  g_ptr_array_unref(file->to);
  g_string_free(file->body, TRUE);
  g_free(file);
}

/* test_server_mail_file_parse - headers, addresses and body of an RFC 2822 message */
TestServerMailFile *
test_server_mail_file_parse(const char *contents, GError **error)
{
  g_autoptr(TestServerMailFile) file = g_new0(TestServerMailFile, 1);
  file->headers = mm_header_list_new();
  file->to = g_ptr_array_new_with_free_func(g_free);
  file->body = g_string_new(NULL);
  g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
  for (gsize i = 0; lines[i] != NULL; i++) {
    gsize length = strlen(lines[i]);
    if (length > 0 && lines[i][length - 1] == '\r')
      lines[i][length - 1] = '\0'; /* CRLF line ends */
  }
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func(g_free);
  gsize i = 0;
  if (lines[0] != NULL && g_str_has_prefix(lines[0], "From "))
    i++; /* an mbox separator */
  for (; lines[i] != NULL; i++) {
    const char *line = lines[i];
    if (line[0] == '\0') {
      i++;
      break;
    }
    if (is_header_line(line)) {
      const char *colon = strchr(line, ':');
      g_ptr_array_add(names, g_strndup(line, (gsize)(colon - line)));
      g_ptr_array_add(values, g_strchug(g_strdup(colon + 1)));
    } else if ((line[0] == ' ' || line[0] == '\t') && values->len > 0) {
      char **last = (char **)&values->pdata[values->len - 1];
      char *joined = g_strconcat(*last, "\n", line, NULL);
      g_free(*last);
      *last = joined;
    } else {
      g_set_error(error, TEST_SERVER_MESSAGE_ERROR, TEST_SERVER_MESSAGE_ERROR_HEADER,
                  "invalid header: <%s>", line);
      return NULL;
    }
  }
  for (guint h = 0; h < names->len; h++) {
    const char *name = names->pdata[h], *value = values->pdata[h];
    if (!take_addresses(file, name, value, error))
      return NULL;
    if (!mm_header_list_append_original(file->headers, name, value, error))
      return NULL;
  }
  for (; lines[i] != NULL; i++) {
    g_string_append(file->body, lines[i]);
    g_string_append(file->body, "\r\n");
  }
  if (file->body->len > 0)
    g_string_truncate(file->body, file->body->len - 2);
  return g_steal_pointer(&file);
}
