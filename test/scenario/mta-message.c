/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mta-message.c: the fake MTA's side of a scenario: the message as the MTA ends up with it
 * after applying the proxy's edits (Postfix's rules), and replies written as expect lines. */
#include "scenario.h"

#include <string.h>

#include "option.h"
#include "reply.h"

typedef struct {
  char *name;
  char *value;
} MtaHeader;

struct ScnMtaMessage {
  GPtrArray *headers;        /* MtaHeader* */
  GString *body;
  gboolean body_replaced;    /* a replace-body came with this end of message */
  GPtrArray *recipients;     /* char* */
  char *sender;
  char *quarantine;
};

/* mta_header_free - one header of the MTA's message */
static void
mta_header_free(gpointer data)
{
  MtaHeader *header = data;
  g_free(header->name);
  g_free(header->value);
  g_free(header);
}

/* find_header - the INDEX-th (1-based, 0 means 1) header NAME, or -1 */
static gint
find_header(ScnMtaMessage *message, const char *name, guint32 index)
{
  guint32 seen = 0;
  for (guint i = 0; i < message->headers->len; i++) {
    MtaHeader *header = g_ptr_array_index(message->headers, i);
    if (g_ascii_strcasecmp(header->name, name) == 0 && ++seen == MAX(index, 1u))
      return (gint)i;
  }
  return -1;
}

/* scn_mta_message_add_header - a new header at POSITION (past the end appends) */
void
scn_mta_message_add_header(ScnMtaMessage *message, guint position, const char *name,
                           const char *value)
{
  MtaHeader *header = g_new0(MtaHeader, 1);
  header->name = g_strdup(name);
  header->value = g_strdup(value);
  g_ptr_array_insert(message->headers, position > message->headers->len ? -1 : (gint)position,
                     header);
}

/* scn_mta_message_apply - an edit the MTA applies to its message, as Postfix does */
void
scn_mta_message_apply(ScnMtaMessage *message, const MmReply *reply)
{
  switch (reply->code) {
  case MM_REPLY_ADD_HEADER:
    scn_mta_message_add_header(message, G_MAXUINT, reply->u.header.name, reply->u.header.value);
    break;
  case MM_REPLY_INSERT_HEADER:
    scn_mta_message_add_header(message, reply->u.header.index, reply->u.header.name,
                               reply->u.header.value);
    break;
  case MM_REPLY_CHANGE_HEADER: {
    gint at = find_header(message, reply->u.header.name, reply->u.header.index);
    if (at >= 0 && *reply->u.header.value == '\0') {
      g_ptr_array_remove_index(message->headers, (guint)at);
    } else if (at >= 0) {
      MtaHeader *header = g_ptr_array_index(message->headers, (guint)at);
      g_free(header->value);
      header->value = g_strdup(reply->u.header.value);
    } else if (*reply->u.header.value) {
      scn_mta_message_add_header(message, G_MAXUINT, reply->u.header.name, reply->u.header.value);
    }
    break;
  }
  case MM_REPLY_REPLACE_BODY:
    if (!message->body_replaced)
      g_string_truncate(message->body, 0);
    message->body_replaced = TRUE;
    g_string_append_len(message->body, (const char *)reply->u.body.data,
                        (gssize)reply->u.body.length);
    break;
  case MM_REPLY_CHANGE_FROM:
    g_free(message->sender);
    message->sender = g_strdup(reply->u.address.address);
    break;
  case MM_REPLY_ADD_RCPT:
  case MM_REPLY_ADD_RCPT_WITH_ARGS:
    g_ptr_array_add(message->recipients, g_strdup(reply->u.address.address));
    break;
  case MM_REPLY_DELETE_RCPT:
    for (guint i = 0; i < message->recipients->len; i++) {
      if (g_str_equal(g_ptr_array_index(message->recipients, i), reply->u.address.address)) {
        g_ptr_array_remove_index(message->recipients, i);
        break;
      }
    }
    break;
  case MM_REPLY_QUARANTINE:
    g_free(message->quarantine);
    message->quarantine = g_strdup(reply->u.quarantine.reason);
    break;
  default:
    break;
  }
}

/* render_negotiate - "negotiate version=6 actions=... steps=... macros.helo=a,b" */
static char *
render_negotiate(const MmReply *reply)
{
  MmOption option;
  mm_option_init(&option);
  g_autoptr(GError) error = NULL;
  if (!mm_option_from_reply(reply, &option, &error))
    return g_strdup_printf("bad-negotiate %s", error->message);
  g_autofree char *actions = mm_option_actions_to_string(option.actions);
  g_autofree char *steps = mm_option_steps_to_string(option.steps);
  GString *out = g_string_new(NULL);
  g_string_printf(out, "negotiate version=%u actions=%s steps=%s", option.version, actions,
                  steps);
  for (guint stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++) {
    if (option.macro_requests[stage]) {
      g_autofree char *list = g_strdelimit(g_strdup(option.macro_requests[stage]), " ", ',');
      g_string_append_printf(out, " macros.%s=%s", mm_option_stage_name(stage), list);
    }
  }
  mm_option_clear(&option);
  return g_string_free(out, FALSE);
}

/* scn_reply_render - a reply as an expect line writes it */
char *
scn_reply_render(const MmReply *reply)
{
  g_autofree char *value = NULL;
  switch (reply->code) {
  case MM_REPLY_NEGOTIATE: return render_negotiate(reply);
  case MM_REPLY_CONTINUE: return g_strdup("continue");
  case MM_REPLY_ACCEPT: return g_strdup("accept");
  case MM_REPLY_REJECT: return g_strdup("reject");
  case MM_REPLY_TEMPORARY_FAILURE: return g_strdup("temporary-failure");
  case MM_REPLY_DISCARD: return g_strdup("discard");
  case MM_REPLY_SKIP: return g_strdup("skip");
  case MM_REPLY_PROGRESS: return g_strdup("progress");
  case MM_REPLY_REPLY_CODE:
    value = scn_escape(reply->u.reply_code.text, -1);
    return g_strdup_printf("reply-code %s", value);
  case MM_REPLY_ADD_HEADER:
    value = scn_escape(reply->u.header.value, -1);
    return g_strdup_printf("add-header %s %s", reply->u.header.name, value);
  case MM_REPLY_INSERT_HEADER:
    value = scn_escape(reply->u.header.value, -1);
    return g_strdup_printf("insert-header %u %s %s", reply->u.header.index,
                           reply->u.header.name, value);
  case MM_REPLY_CHANGE_HEADER:
    if (*reply->u.header.value == '\0')
      return g_strdup_printf("delete-header %s %u", reply->u.header.name, reply->u.header.index);
    value = scn_escape(reply->u.header.value, -1);
    return g_strdup_printf("change-header %s %u %s", reply->u.header.name,
                           reply->u.header.index, value);
  case MM_REPLY_CHANGE_FROM:
  case MM_REPLY_ADD_RCPT:
  case MM_REPLY_ADD_RCPT_WITH_ARGS:
    return g_strdup_printf("%s %s%s%s",
                           reply->code == MM_REPLY_CHANGE_FROM ? "change-from" : "add-rcpt",
                           reply->u.address.address, reply->u.address.args ? " " : "",
                           reply->u.address.args ? reply->u.address.args : "");
  case MM_REPLY_DELETE_RCPT:
    return g_strdup_printf("delete-rcpt %s", reply->u.address.address);
  case MM_REPLY_REPLACE_BODY:
    value = scn_escape((const char *)reply->u.body.data, (gssize)reply->u.body.length);
    return g_strdup_printf("replace-body %s", value);
  case MM_REPLY_QUARANTINE:
    return g_strdup_printf("quarantine %s", reply->u.quarantine.reason);
  default:
    return g_strdup_printf("raw %c", reply->code);
  }
}

/* scn_mta_message_reset - a new transaction starts with MAIL FROM */
void
scn_mta_message_reset(ScnMtaMessage *message, const char *sender)
{
  g_free(message->sender);
  message->sender = g_strdup(sender);
  g_ptr_array_set_size(message->recipients, 0);
  g_ptr_array_set_size(message->headers, 0);
  g_string_truncate(message->body, 0);
  g_clear_pointer(&message->quarantine, g_free);
}

/* scn_mta_message_describe - an aspect of the MTA's message, as expect-message writes it */
char *
scn_mta_message_describe(ScnMtaMessage *message, const char *what)
{
  GString *out = g_string_new(NULL);
  if (g_str_equal(what, "headers")) {
    for (guint i = 0; i < message->headers->len; i++) {
      MtaHeader *header = g_ptr_array_index(message->headers, i);
      g_string_append_printf(out, "%s%s:%s", i ? "|" : "", header->name, header->value);
    }
  } else if (g_str_equal(what, "body")) {
    g_string_append(out, message->body->str);
  } else if (g_str_equal(what, "body-size")) {
    g_string_append_printf(out, "%" G_GSIZE_FORMAT, message->body->len);
  } else if (g_str_equal(what, "recipients")) {
    for (guint i = 0; i < message->recipients->len; i++)
      g_string_append_printf(out, "%s%s", i ? "," : "",
                             (char *)g_ptr_array_index(message->recipients, i));
  } else if (g_str_equal(what, "sender")) {
    g_string_append(out, message->sender ? message->sender : "");
  } else if (g_str_equal(what, "quarantine")) {
    g_string_append(out, message->quarantine ? message->quarantine : "");
  } else {
    g_string_free(out, TRUE);
    return NULL;
  }
  if (out->len == 0)
    g_string_append(out, "none");
  return g_string_free(out, FALSE);
}

/* scn_mta_message_new - an empty message */
ScnMtaMessage *
scn_mta_message_new(void)
{
  ScnMtaMessage *message = g_new0(ScnMtaMessage, 1);
  message->headers = g_ptr_array_new_with_free_func(mta_header_free);
  message->body = g_string_new(NULL);
  message->recipients = g_ptr_array_new_with_free_func(g_free);
  return message;
}

/* scn_mta_message_free - NULL-safe */
void
scn_mta_message_free(ScnMtaMessage *message)
{
  if (message == NULL)
    return;
  g_ptr_array_unref(message->headers);
  g_string_free(message->body, TRUE);
  g_ptr_array_unref(message->recipients);
  g_free(message->sender);
  g_free(message->quarantine);
  g_free(message);
}

/* scn_mta_message_append_body - body bytes the MTA sends; END_OF_MESSAGE starts listening
 * for a replaced body */
void
scn_mta_message_append_body(ScnMtaMessage *message, const char *text,
                            gboolean end_of_message)
{
  if (end_of_message)
    message->body_replaced = FALSE;
  g_string_append(message->body, text);
}

/* scn_mta_message_add_recipient - a recipient the proxy accepted */
void
scn_mta_message_add_recipient(ScnMtaMessage *message, const char *address)
{
  g_ptr_array_add(message->recipients, g_strdup(address));
}
