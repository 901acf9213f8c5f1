/* SPDX-License-Identifier: GPL-3.0-or-later */
/* reply.c: the milter-to-MTA replies (see reply.h): a table of codes with names and data
 * decoders, the table of which reply may answer which command, and the encoders. */
#include "reply.h"

#include "command.h"
#include "packet.h"
#include "protocol.h"
#include "wire.h"

G_DEFINE_QUARK(mm-reply-error-quark, mm_reply_error)

/* The replies that carry no data. */
#define SIMPLE_REPLIES "cartdspf4"

static const MmWireErrors wire_errors = {
  mm_reply_error_quark, MM_REPLY_ERROR_TRUNCATED, MM_REPLY_ERROR_MISSING_NUL, MM_REPLY_ERROR_BAD_VALUE, "reply",
};

typedef gboolean (*DecodeFunc)(const char *name, MmWireReader *reader, MmReply *reply,
                               GError **error);

typedef struct {
  char code;
  const char *name;
  DecodeFunc decode;
} ReplyInfo;

/* decode_negotiate - version, actions, steps, then macro request lists */
static gboolean
decode_negotiate(const char *name, MmWireReader *reader, MmReply *reply, GError **error)
{
  if (reader->length < MM_OPTION_LENGTH) {
    g_set_error(error, MM_REPLY_ERROR, MM_REPLY_ERROR_BAD_VALUE,
                "%s reply: %" G_GSIZE_FORMAT " bytes of data, expected at least %d", name,
                reader->length, MM_OPTION_LENGTH);
    return FALSE;
  }
  mm_wire_read_u32(reader, &reply->u.negotiate.version);
  mm_wire_read_u32(reader, &reply->u.negotiate.actions);
  mm_wire_read_u32(reader, &reply->u.negotiate.steps);
  reply->u.negotiate.macro_requests = reader->data + reader->offset;
  reply->u.negotiate.macro_requests_length = mm_wire_remaining(reader);
  /* Anything after the options must be whole macro request lists. */
  while (mm_wire_remaining(reader) > 0) {
    guint32 stage;
    const char *macros;
    if (!mm_wire_field_u32(&wire_errors, error, name, reader, "a macro request stage", &stage) ||
        !mm_wire_field_string(&wire_errors, error, name, reader, "a macro request list", &macros))
      return FALSE;
  }
  return TRUE;
}

/* decode_reply_code - the SMTP reply text */
static gboolean
decode_reply_code(const char *name, MmWireReader *reader, MmReply *reply, GError **error)
{
  return mm_wire_field_string(&wire_errors, error, name, reader, "the reply text", &reply->u.reply_code.text) &&
         mm_wire_check_end(&wire_errors, error, name, reader);
}

/* decode_add_header - name, value (the index stays 0 from the zeroed reply) */
static gboolean
decode_add_header(const char *name, MmWireReader *reader, MmReply *reply, GError **error)
{
  return mm_wire_field_string(&wire_errors, error, name, reader, "the header name", &reply->u.header.name) &&
         mm_wire_field_string(&wire_errors, error, name, reader, "the header value", &reply->u.header.value) &&
         mm_wire_check_end(&wire_errors, error, name, reader);
}

/* decode_indexed_header - index, name, value */
static gboolean
decode_indexed_header(const char *name, MmWireReader *reader, MmReply *reply, GError **error)
{
  return mm_wire_field_u32(&wire_errors, error, name, reader, "the header index", &reply->u.header.index) &&
         decode_add_header(name, reader, reply, error);
}

/* decode_address - a recipient or sender without arguments */
static gboolean
decode_address(const char *name, MmWireReader *reader, MmReply *reply, GError **error)
{
  reply->u.address.args = NULL;
  return mm_wire_field_string(&wire_errors, error, name, reader, "the address", &reply->u.address.address) &&
         mm_wire_check_end(&wire_errors, error, name, reader);
}

/* decode_address_args - a recipient or sender with optional ESMTP arguments */
static gboolean
decode_address_args(const char *name, MmWireReader *reader, MmReply *reply, GError **error)
{
  reply->u.address.args = NULL;
  if (!mm_wire_field_string(&wire_errors, error, name, reader, "the address", &reply->u.address.address))
    return FALSE;
  if (mm_wire_remaining(reader) == 0)
    return TRUE;
  return mm_wire_field_string(&wire_errors, error, name, reader, "the ESMTP arguments", &reply->u.address.args) &&
         mm_wire_check_end(&wire_errors, error, name, reader);
}

/* decode_body - raw bytes */
static gboolean
decode_body(const char *name, MmWireReader *reader, MmReply *reply, GError **error)
{
  reply->u.body.data = reader->data;
  reply->u.body.length = reader->length;
  return TRUE;
}

/* decode_quarantine - the reason */
static gboolean
decode_quarantine(const char *name, MmWireReader *reader, MmReply *reply, GError **error)
{
  return mm_wire_field_string(&wire_errors, error, name, reader, "the reason", &reply->u.quarantine.reason) &&
         mm_wire_check_end(&wire_errors, error, name, reader);
}

/* decode_symlist - one stage and its macro list */
static gboolean
decode_symlist(const char *name, MmWireReader *reader, MmReply *reply, GError **error)
{
  if (!mm_wire_field_u32(&wire_errors, error, name, reader, "the stage", &reply->u.symlist.stage) ||
      !mm_wire_field_string(&wire_errors, error, name, reader, "the macro list", &reply->u.symlist.macros) ||
      !mm_wire_check_end(&wire_errors, error, name, reader))
    return FALSE;
  if (reply->u.symlist.stage >= MM_MACRO_STAGE_COUNT) {
    g_set_error(error, MM_REPLY_ERROR, MM_REPLY_ERROR_BAD_VALUE, "%s reply: unknown stage %u",
                name, reply->u.symlist.stage);
    return FALSE;
  }
  return TRUE;
}

/* decode_none - a reply that carries no data */
static gboolean
decode_none(const char *name, MmWireReader *reader, MmReply *reply, GError **error)
{
  return mm_wire_check_end(&wire_errors, error, name, reader);
}

static const ReplyInfo replies[] = {
  {MM_REPLY_ADD_RCPT, "add-rcpt", decode_address},
  {MM_REPLY_DELETE_RCPT, "delete-rcpt", decode_address},
  {MM_REPLY_ADD_RCPT_WITH_ARGS, "add-rcpt-with-args", decode_address_args},
  {MM_REPLY_SHUTDOWN, "shutdown", decode_none},
  {MM_REPLY_ACCEPT, "accept", decode_none},
  {MM_REPLY_REPLACE_BODY, "replace-body", decode_body},
  {MM_REPLY_CONTINUE, "continue", decode_none},
  {MM_REPLY_DISCARD, "discard", decode_none},
  {MM_REPLY_CHANGE_FROM, "change-from", decode_address_args},
  {MM_REPLY_CONNECTION_FAIL, "connection-fail", decode_none},
  {MM_REPLY_ADD_HEADER, "add-header", decode_add_header},
  {MM_REPLY_INSERT_HEADER, "insert-header", decode_indexed_header},
  {MM_REPLY_SET_SYMLIST, "set-symlist", decode_symlist},
  {MM_REPLY_CHANGE_HEADER, "change-header", decode_indexed_header},
  {MM_REPLY_NEGOTIATE, "negotiate", decode_negotiate},
  {MM_REPLY_PROGRESS, "progress", decode_none},
  {MM_REPLY_QUARANTINE, "quarantine", decode_quarantine},
  {MM_REPLY_REJECT, "reject", decode_none},
  {MM_REPLY_SKIP, "skip", decode_none},
  {MM_REPLY_TEMPORARY_FAILURE, "temporary-failure", decode_none},
  {MM_REPLY_REPLY_CODE, "reply-code", decode_reply_code},
};

/* Which replies may answer which command. Every awaited reply may be a verdict, a reply
 * code, SHUTDOWN or CONNECTION_FAIL; SKIP only answers BODY; modifications, PROGRESS and
 * QUARANTINE only END_OF_MESSAGE. Commands absent here expect no reply. */
#define VERDICTS "cartdy4f"
static const struct {
  char command;
  const char *replies;
} allowed[] = {
  {MM_COMMAND_NEGOTIATE, "O"},
  {MM_COMMAND_CONNECT, VERDICTS},
  {MM_COMMAND_HELO, VERDICTS},
  {MM_COMMAND_MAIL, VERDICTS},
  {MM_COMMAND_RCPT, VERDICTS},
  {MM_COMMAND_DATA, VERDICTS},
  {MM_COMMAND_HEADER, VERDICTS},
  {MM_COMMAND_END_OF_HEADER, VERDICTS},
  {MM_COMMAND_UNKNOWN, VERDICTS},
  {MM_COMMAND_BODY, VERDICTS "s"},
  {MM_COMMAND_END_OF_MESSAGE, VERDICTS "hime+2-bpq"},
};

/* The tables above indexed by code byte, built once: replies are looked up for every packet
 * a child sends. */
static struct {
  guint8 reply[256];                          /* 1 + index in replies; 0: unknown */
  guint8 command[256];                        /* 1 + index in allowed; 0: expects no reply */
  guint32 allowed[G_N_ELEMENTS(allowed)][8];  /* bit per reply code the command takes */
} lookup;

/* ensure_lookup - build the indexed tables on first use */
static void
ensure_lookup(void)
{
  static gsize built = 0;
  if (!g_once_init_enter(&built))
    return;
  for (gsize i = 0; i < G_N_ELEMENTS(replies); i++)
    lookup.reply[(guint8)replies[i].code] = (guint8)(i + 1);
  for (gsize i = 0; i < G_N_ELEMENTS(allowed); i++) {
    lookup.command[(guint8)allowed[i].command] = (guint8)(i + 1);
    for (const char *r = allowed[i].replies; *r != '\0'; r++)
      lookup.allowed[i][(guint8)*r / 32] |= 1u << ((guint8)*r % 32);
  }
  g_once_init_leave(&built, 1);
}

/* find_reply - the table entry of CODE */
static const ReplyInfo *
find_reply(char code)
{
  ensure_lookup();
  guint8 index = lookup.reply[(guint8)code];
  return index != 0 ? &replies[index - 1] : NULL;
}

/* mm_reply_name - a lower-case name for CODE */
const char *
mm_reply_name(char code)
{
  const ReplyInfo *info = find_reply(code);
  return info != NULL ? info->name : NULL;
}

/* mm_reply_decode - decode the data of a packet with CODE */
gboolean
mm_reply_decode(char code, const guint8 *data, gsize length, MmReply *reply, GError **error)
{
  const ReplyInfo *info = find_reply(code);
  if (info == NULL) {
    g_set_error(error, MM_REPLY_ERROR, MM_REPLY_ERROR_UNKNOWN, "unknown reply code 0x%02x",
                (guint8)code);
    return FALSE;
  }
  MmWireReader reader;
  mm_wire_reader_init(&reader, data, length);
  MmReply decoded = {.code = code};
  if (!info->decode(info->name, &reader, &decoded, error))
    return FALSE;
  *reply = decoded;
  return TRUE;
}

/* mm_reply_is_allowed - whether REPLY may answer COMMAND */
gboolean
mm_reply_is_allowed(char command, char reply)
{
  ensure_lookup();
  guint8 index = lookup.command[(guint8)command];
  if (reply == '\0' || index == 0)
    return FALSE;
  return (lookup.allowed[index - 1][(guint8)reply / 32] >> ((guint8)reply % 32)) & 1u;
}

/* mm_reply_is_expected - whether COMMAND awaits a reply at all */
gboolean
mm_reply_is_expected(char command)
{
  ensure_lookup();
  return lookup.command[(guint8)command] != 0;
}

/* mm_reply_check_allowed - mm_reply_is_allowed as a GError */
gboolean
mm_reply_check_allowed(char command, char reply, GError **error)
{
  if (mm_reply_is_allowed(command, reply))
    return TRUE;
  const char *reply_name = mm_reply_name(reply);
  const char *command_name = mm_command_name(command);
  g_autofree char *after = command_name != NULL
                             ? g_strdup_printf("the %s command", command_name)
                             : g_strdup_printf("command code 0x%02x", (guint8)command);
  g_set_error(error, MM_REPLY_ERROR, MM_REPLY_ERROR_NOT_ALLOWED,
              "%s reply (0x%02x) is not allowed after %s",
              reply_name != NULL ? reply_name : "unknown", (guint8)reply, after);
  return FALSE;
}

/* mm_reply_encode - re-encode a reply */
void
mm_reply_encode(GByteArray *out, const MmReply *reply)
{
  gsize start;
  switch (reply->code) {
  case MM_REPLY_NEGOTIATE:
    start = mm_packet_begin(out, reply->code);
    mm_wire_put_u32(out, reply->u.negotiate.version);
    mm_wire_put_u32(out, reply->u.negotiate.actions);
    mm_wire_put_u32(out, reply->u.negotiate.steps);
    mm_wire_put_bytes(out, reply->u.negotiate.macro_requests,
                      reply->u.negotiate.macro_requests_length);
    mm_packet_end(out, start);
    break;
  case MM_REPLY_REPLY_CODE:
    mm_reply_encode_reply_code(out, reply->u.reply_code.text);
    break;
  case MM_REPLY_ADD_HEADER:
    mm_reply_encode_add_header(out, reply->u.header.name, reply->u.header.value);
    break;
  case MM_REPLY_INSERT_HEADER:
    mm_reply_encode_insert_header(out, reply->u.header.index, reply->u.header.name,
                                  reply->u.header.value);
    break;
  case MM_REPLY_CHANGE_HEADER:
    mm_reply_encode_change_header(out, reply->u.header.index, reply->u.header.name,
                                  reply->u.header.value);
    break;
  case MM_REPLY_CHANGE_FROM:
    mm_reply_encode_change_from(out, reply->u.address.address, reply->u.address.args);
    break;
  case MM_REPLY_ADD_RCPT:
  case MM_REPLY_ADD_RCPT_WITH_ARGS:
  case MM_REPLY_DELETE_RCPT:
    /* Keep the code as received: '2' without arguments is legal on the wire. */
    start = mm_packet_begin(out, reply->code);
    mm_wire_put_string(out, reply->u.address.address);
    if (reply->code == MM_REPLY_ADD_RCPT_WITH_ARGS && reply->u.address.args != NULL)
      mm_wire_put_string(out, reply->u.address.args);
    mm_packet_end(out, start);
    break;
  case MM_REPLY_REPLACE_BODY:
    mm_reply_encode_replace_body(out, reply->u.body.data, reply->u.body.length);
    break;
  case MM_REPLY_QUARANTINE:
    mm_reply_encode_quarantine(out, reply->u.quarantine.reason);
    break;
  case MM_REPLY_SET_SYMLIST:
    start = mm_packet_begin(out, reply->code);
    mm_wire_put_u32(out, reply->u.symlist.stage);
    mm_wire_put_string(out, reply->u.symlist.macros);
    mm_packet_end(out, start);
    break;
  default:
    mm_reply_encode_simple(out, reply->code);
    break;
  }
}

/* mm_reply_encode_simple - a reply without data */
void
mm_reply_encode_simple(GByteArray *out, char code)
{
  g_return_if_fail(code != '\0' && strchr(SIMPLE_REPLIES, code) != NULL);
  mm_packet_append(out, code, NULL, 0);
}

/* mm_reply_encode_negotiate - OPTNEG with macro request lists */
void
mm_reply_encode_negotiate(GByteArray *out, const MmOption *option)
{
  gsize start = mm_packet_begin(out, MM_REPLY_NEGOTIATE);
  mm_wire_put_u32(out, option->version);
  mm_wire_put_u32(out, option->actions);
  mm_wire_put_u32(out, option->steps);
  for (guint32 stage = 0; stage < MM_MACRO_STAGE_COUNT; stage++) {
    if (option->macro_requests[stage] == NULL)
      continue;
    mm_wire_put_u32(out, stage);
    mm_wire_put_string(out, option->macro_requests[stage]);
  }
  mm_packet_end(out, start);
}

/* mm_reply_encode_reply_code - REPLY_CODE */
void
mm_reply_encode_reply_code(GByteArray *out, const char *text)
{
  gsize start = mm_packet_begin(out, MM_REPLY_REPLY_CODE);
  mm_wire_put_string(out, text);
  mm_packet_end(out, start);
}

/* put_header - the common tail of the header replies */
static void
put_header(GByteArray *out, char code, gboolean indexed, guint32 index, const char *name,
           const char *value)
{
  gsize start = mm_packet_begin(out, code);
  if (indexed)
    mm_wire_put_u32(out, index);
  mm_wire_put_string(out, name);
  mm_wire_put_string(out, value);
  mm_packet_end(out, start);
}

/* mm_reply_encode_add_header - append a header */
void
mm_reply_encode_add_header(GByteArray *out, const char *name, const char *value)
{
  put_header(out, MM_REPLY_ADD_HEADER, FALSE, 0, name, value);
}

/* mm_reply_encode_insert_header - insert a header at INDEX */
void
mm_reply_encode_insert_header(GByteArray *out, guint32 index, const char *name,
                              const char *value)
{
  put_header(out, MM_REPLY_INSERT_HEADER, TRUE, index, name, value);
}

/* mm_reply_encode_change_header - change or delete the INDEX-th header NAME */
void
mm_reply_encode_change_header(GByteArray *out, guint32 index, const char *name,
                              const char *value)
{
  put_header(out, MM_REPLY_CHANGE_HEADER, TRUE, index, name, value);
}

/* put_address - an address and, when given, its arguments */
static void
put_address(GByteArray *out, char code, const char *address, const char *args)
{
  gsize start = mm_packet_begin(out, code);
  mm_wire_put_string(out, address);
  if (args != NULL)
    mm_wire_put_string(out, args);
  mm_packet_end(out, start);
}

/* mm_reply_encode_change_from - change the envelope sender */
void
mm_reply_encode_change_from(GByteArray *out, const char *address, const char *args)
{
  put_address(out, MM_REPLY_CHANGE_FROM, address, args);
}

/* mm_reply_encode_add_rcpt - add a recipient, with arguments only when there are some */
void
mm_reply_encode_add_rcpt(GByteArray *out, const char *address, const char *args)
{
  if (args != NULL && args[0] != '\0')
    put_address(out, MM_REPLY_ADD_RCPT_WITH_ARGS, address, args);
  else
    put_address(out, MM_REPLY_ADD_RCPT, address, NULL);
}

/* mm_reply_encode_delete_rcpt - delete a recipient */
void
mm_reply_encode_delete_rcpt(GByteArray *out, const char *address)
{
  put_address(out, MM_REPLY_DELETE_RCPT, address, NULL);
}

/* mm_reply_encode_replace_body - one chunk of the replacement body */
void
mm_reply_encode_replace_body(GByteArray *out, const guint8 *data, gsize length)
{
  mm_packet_append(out, MM_REPLY_REPLACE_BODY, data, length);
}

/* mm_reply_encode_quarantine - QUARANTINE with a reason */
void
mm_reply_encode_quarantine(GByteArray *out, const char *reason)
{
  gsize start = mm_packet_begin(out, MM_REPLY_QUARANTINE);
  mm_wire_put_string(out, reason);
  mm_packet_end(out, start);
}
