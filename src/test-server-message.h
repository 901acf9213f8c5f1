/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-server-message.h: milter-test-server's message: envelope, headers and body as sent,
 * the milter's end-of-message edits applied to a copy, RFC 2822 file input and printing. */
#pragma once

#include <glib.h>

#include "header-list.h"

#define TEST_SERVER_MESSAGE_ERROR (test_server_message_error_quark())
GQuark test_server_message_error_quark(void);

typedef enum {
  TEST_SERVER_MESSAGE_ERROR_HEADER,  /* a line that is neither a header nor a continuation */
  TEST_SERVER_MESSAGE_ERROR_ADDRESS, /* "<" without ">" */
  TEST_SERVER_MESSAGE_ERROR_EDIT,    /* a header edit header-list.c refused */
  TEST_SERVER_MESSAGE_ERROR_LIMIT,   /* a body or recipient list over its limit */
} TestServerMessageError;

/* The tool keeps messages in memory: a mail file, or a body a milter sends back, larger
 * than this is refused, and so are more recipients added than this. */
#define TEST_SERVER_MESSAGE_MAX_FILE_SIZE (64u * 1024u * 1024u)
#define TEST_SERVER_MESSAGE_MAX_BODY_SIZE TEST_SERVER_MESSAGE_MAX_FILE_SIZE
#define TEST_SERVER_MESSAGE_MAX_ADDED_RECIPIENTS 10000u

/* One recipient: the address as sent (with <>), ESMTP arguments of an added one. */
typedef struct {
  char *address;
  char *args;
  gboolean removed; /* rejected by the milter, or deleted at end of message */
  gboolean added;   /* added at end of message */
} TestServerRecipient;

typedef struct {
  /* as sent */
  char *envelope_from;
  GPtrArray *recipients; /* TestServerRecipient, originals first then added ones */
  MmHeaderList *original_headers;
  GString *body;
  /* as the milter left it */
  char *new_envelope_from; /* NULL: unchanged */
  char *new_envelope_from_args;
  MmHeaderList *headers;
  GString *replaced_body; /* NULL: not replaced */
  char *quarantine_reason;
  guint n_added; /* recipients added, bounded */
} TestServerMessage;

/* test_server_message_new - a message from FROM, the NULL-terminated RECIPIENTS, HEADERS
 * (a list of MTA headers, copied) and BODY (LENGTH bytes) */
TestServerMessage *test_server_message_new(const char *from, char *const *recipients,
                                           const MmHeaderList *headers, const char *body,
                                           gsize length);

/* test_server_message_free - NULL-safe */
void test_server_message_free(TestServerMessage *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestServerMessage, test_server_message_free)

/* test_server_message_normalize_address - ADDRESS with angle brackets ("a@b" -> "<a@b>") */
char *test_server_message_normalize_address(const char *address);

/* test_server_message_reject_recipient - mark the original recipient ADDRESS rejected */
void test_server_message_reject_recipient(TestServerMessage *message, const char *address);

/* test_server_message_count_recipients - recipients not removed */
guint test_server_message_count_recipients(const TestServerMessage *message);

/* The end-of-message edits. Header names and values as the MTA sees them (no leading
 * space). FALSE with an error for an edit header-list.c refuses. */
gboolean test_server_message_add_header(TestServerMessage *message, const char *name,
                                        const char *value, GError **error);
gboolean test_server_message_insert_header(TestServerMessage *message, guint32 index,
                                           const char *name, const char *value,
                                           GError **error);
gboolean test_server_message_change_header(TestServerMessage *message, const char *name,
                                           guint32 index, const char *value, GError **error);
void test_server_message_change_from(TestServerMessage *message, const char *from,
                                     const char *args);
gboolean test_server_message_add_recipient(TestServerMessage *message, const char *address,
                                           const char *args, GError **error);
void test_server_message_delete_recipient(TestServerMessage *message, const char *address);
gboolean test_server_message_replace_body(TestServerMessage *message, const guint8 *data,
                                          gsize length, GError **error);
void test_server_message_quarantine(TestServerMessage *message, const char *reason);

/* test_server_message_print - the message as 2.3 printed it for --output-message:
 * "Envelope:---", " MAIL FROM:<a>", "Header:---" lines with " ", "+" or "-" in front,
 * "Body:---" and the body */
void test_server_message_print(const TestServerMessage *message, GString *out);

/* A mail file's content: its headers, From:/To: addresses and body (lines joined by CRLF). */
typedef struct {
  MmHeaderList *headers;
  char *from;          /* from the first From: header, or NULL */
  GPtrArray *to;       /* char *, from To: headers */
  GString *body;
} TestServerMailFile;

/* test_server_mail_file_parse - parse CONTENTS (an RFC 2822 message, maybe with an mbox
 * "From " line) */
TestServerMailFile *test_server_mail_file_parse(const char *contents, GError **error);

/* test_server_mail_file_free - NULL-safe */
void test_server_mail_file_free(TestServerMailFile *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestServerMailFile, test_server_mail_file_free)
