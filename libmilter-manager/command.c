/* SPDX-License-Identifier: GPL-3.0-or-later */
/* command.c: the MTA-to-milter commands (see command.h): a table of codes with their names
 * and data decoders, and one encoder per shape of data. */
#include "command.h"

#include "packet.h"
#include "protocol.h"
#include "wire.h"

G_DEFINE_QUARK(mm-command-error-quark, mm_command_error)

/* mm_strings_next - take the first string off S */
gboolean
mm_strings_next(MmStrings *s, const char **string)
{
  if (s->length == 0)
    return FALSE;
  const guint8 *nul = memchr(s->data, '\0', s->length);
  if (nul == NULL)
    return FALSE; /* only a hand-built run can lack its NUL: stop rather than overread */
  *string = (const char *)s->data;
  gsize used = (gsize)(nul - s->data) + 1;
  s->data += used;
  s->length -= used;
  return TRUE;
}

/* mm_strings_count - how many strings S holds */
gsize
mm_strings_count(const MmStrings *s)
{
  MmStrings copy = *s;
  const char *string;
  gsize n = 0;
  while (mm_strings_next(&copy, &string))
    n++;
  return n;
}

/* The commands that carry no data. */
#define SIMPLE_COMMANDS "ANTQK"

static const MmWireErrors wire_errors = {
  mm_command_error_quark, MM_COMMAND_ERROR_TRUNCATED, MM_COMMAND_ERROR_MISSING_NUL, MM_COMMAND_ERROR_BAD_VALUE, "command",
};

typedef gboolean (*DecodeFunc)(const char *name, MmWireReader *reader, MmCommand *command,
                               GError **error);

typedef struct {
  char code;
  const char *name;
  DecodeFunc decode;
} CommandInfo;

/* read_strings - the rest of the data as a run of strings */
static gboolean
read_strings(GError **error, const char *name, MmWireReader *reader, const char *field,
             MmStrings *strings, gsize *count)
{
  const guint8 *start = reader->data + reader->offset;
  gsize length = mm_wire_remaining(reader);
  MmWireStatus status = mm_wire_count_strings(start, length, count);
  if (status != MM_WIRE_OK)
    return mm_wire_fail(&wire_errors, error, name, status, field);
  strings->data = start;
  strings->length = length;
  reader->offset = reader->length;
  return TRUE;
}

/* decode_negotiate - version, actions, steps */
static gboolean
decode_negotiate(const char *name, MmWireReader *reader, MmCommand *command, GError **error)
{
  if (reader->length != MM_OPTION_LENGTH) {
    g_set_error(error, MM_COMMAND_ERROR, MM_COMMAND_ERROR_BAD_VALUE,
                "%s command: %" G_GSIZE_FORMAT " bytes of data, expected %d", name,
                reader->length, MM_OPTION_LENGTH);
    return FALSE;
  }
  mm_wire_read_u32(reader, &command->u.negotiate.version);
  mm_wire_read_u32(reader, &command->u.negotiate.actions);
  mm_wire_read_u32(reader, &command->u.negotiate.steps);
  return TRUE;
}

/* decode_macro - the stage's command code, then name/value pairs */
static gboolean
decode_macro(const char *name, MmWireReader *reader, MmCommand *command, GError **error)
{
  guint8 stage;
  if (mm_wire_read_byte(reader, &stage) != MM_WIRE_OK)
    return mm_wire_fail(&wire_errors, error, name, MM_WIRE_TRUNCATED, "the command code it applies to");
  if (mm_command_name((char)stage) == NULL) {
    g_set_error(error, MM_COMMAND_ERROR, MM_COMMAND_ERROR_BAD_VALUE,
                "%s command: macros for unknown command code 0x%02x", name, stage);
    return FALSE;
  }
  gsize count;
  if (!read_strings(error, name, reader, "a macro name or value", &command->u.macro.pairs,
                    &count))
    return FALSE;
  if (count % 2 != 0) {
    MmStrings pairs = command->u.macro.pairs;
    const char *last = NULL;
    while (mm_strings_next(&pairs, &last))
      ;
    g_set_error(error, MM_COMMAND_ERROR, MM_COMMAND_ERROR_BAD_VALUE,
                "%s command: macro %s has no value", name, last);
    return FALSE;
  }
  command->u.macro.command = (char)stage;
  return TRUE;
}

/* decode_connect - host, family, and for a known family the port and address */
static gboolean
decode_connect(const char *name, MmWireReader *reader, MmCommand *command, GError **error)
{
  if (!mm_wire_field_string(&wire_errors, error, name, reader, "the host name", &command->u.connect.host))
    return FALSE;
  guint8 family;
  if (mm_wire_read_byte(reader, &family) != MM_WIRE_OK)
    return mm_wire_fail(&wire_errors, error, name, MM_WIRE_TRUNCATED, "the address family");
  command->u.connect.family = (char)family;
  command->u.connect.port = 0;
  command->u.connect.address = "";
  switch (family) {
  case MM_FAMILY_UNKNOWN:
    return mm_wire_check_end(&wire_errors, error, name, reader);
  case MM_FAMILY_UNIX:
  case MM_FAMILY_INET:
  case MM_FAMILY_INET6:
    break;
  default:
    g_set_error(error, MM_COMMAND_ERROR, MM_COMMAND_ERROR_BAD_VALUE,
                "%s command: unknown address family 0x%02x", name, family);
    return FALSE;
  }
  if (mm_wire_read_u16(reader, &command->u.connect.port) != MM_WIRE_OK)
    return mm_wire_fail(&wire_errors, error, name, MM_WIRE_TRUNCATED, "the port");
  return mm_wire_field_string(&wire_errors, error, name, reader, "the address", &command->u.connect.address) &&
         mm_wire_check_end(&wire_errors, error, name, reader);
}

/* decode_helo - the name the client gave */
static gboolean
decode_helo(const char *name, MmWireReader *reader, MmCommand *command, GError **error)
{
  return mm_wire_field_string(&wire_errors, error, name, reader, "the HELO name", &command->u.helo.fqdn) &&
         mm_wire_check_end(&wire_errors, error, name, reader);
}

/* decode_envelope - address, then ESMTP arguments */
static gboolean
decode_envelope(const char *name, MmWireReader *reader, MmCommand *command, GError **error)
{
  gsize count;
  return mm_wire_field_string(&wire_errors, error, name, reader, "the address", &command->u.envelope.address) &&
         read_strings(error, name, reader, "an ESMTP argument", &command->u.envelope.args,
                      &count);
}

/* decode_header - name, value */
static gboolean
decode_header(const char *name, MmWireReader *reader, MmCommand *command, GError **error)
{
  return mm_wire_field_string(&wire_errors, error, name, reader, "the header name", &command->u.header.name) &&
         mm_wire_field_string(&wire_errors, error, name, reader, "the header value", &command->u.header.value) &&
         mm_wire_check_end(&wire_errors, error, name, reader);
}

/* decode_body - raw bytes */
static gboolean
decode_body(const char *name, MmWireReader *reader, MmCommand *command, GError **error)
{
  command->u.body.data = reader->data;
  command->u.body.length = reader->length;
  return TRUE;
}

/* decode_unknown - the SMTP command line */
static gboolean
decode_unknown(const char *name, MmWireReader *reader, MmCommand *command, GError **error)
{
  return mm_wire_field_string(&wire_errors, error, name, reader, "the command line", &command->u.unknown.line) &&
         mm_wire_check_end(&wire_errors, error, name, reader);
}

/* decode_none - a command that carries no data */
static gboolean
decode_none(const char *name, MmWireReader *reader, MmCommand *command, GError **error)
{
  return mm_wire_check_end(&wire_errors, error, name, reader);
}

static const CommandInfo commands[] = {
  {MM_COMMAND_ABORT, "abort", decode_none},
  {MM_COMMAND_BODY, "body", decode_body},
  {MM_COMMAND_CONNECT, "connect", decode_connect},
  {MM_COMMAND_MACRO, "macro", decode_macro},
  {MM_COMMAND_END_OF_MESSAGE, "end-of-message", decode_body},
  {MM_COMMAND_HELO, "helo", decode_helo},
  {MM_COMMAND_QUIT_NEW_CONNECTION, "quit-new-connection", decode_none},
  {MM_COMMAND_HEADER, "header", decode_header},
  {MM_COMMAND_MAIL, "mail", decode_envelope},
  {MM_COMMAND_END_OF_HEADER, "end-of-header", decode_none},
  {MM_COMMAND_NEGOTIATE, "negotiate", decode_negotiate},
  {MM_COMMAND_QUIT, "quit", decode_none},
  {MM_COMMAND_RCPT, "rcpt", decode_envelope},
  {MM_COMMAND_DATA, "data", decode_none},
  {MM_COMMAND_UNKNOWN, "unknown", decode_unknown},
};

/* find_command - the table entry of CODE */
static const CommandInfo *
find_command(char code)
{
  for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
    if (commands[i].code == code)
      return &commands[i];
  }
  return NULL;
}

/* mm_command_name - a lower-case name for CODE */
const char *
mm_command_name(char code)
{
  const CommandInfo *info = find_command(code);
  return info != NULL ? info->name : NULL;
}

/* mm_command_decode - decode the data of a packet with CODE */
gboolean
mm_command_decode(char code, const guint8 *data, gsize length, MmCommand *command,
                  GError **error)
{
  const CommandInfo *info = find_command(code);
  if (info == NULL) {
    g_set_error(error, MM_COMMAND_ERROR, MM_COMMAND_ERROR_UNKNOWN,
                "unknown command code 0x%02x", (guint8)code);
    return FALSE;
  }
  MmWireReader reader;
  mm_wire_reader_init(&reader, data, length);
  MmCommand decoded = {.code = code};
  if (!info->decode(info->name, &reader, &decoded, error))
    return FALSE;
  *command = decoded;
  return TRUE;
}

/* mm_command_encode - re-encode a command */
void
mm_command_encode(GByteArray *out, const MmCommand *command)
{
  switch (command->code) {
  case MM_COMMAND_NEGOTIATE:
    mm_command_encode_negotiate(out, command->u.negotiate.version, command->u.negotiate.actions,
                                command->u.negotiate.steps);
    break;
  case MM_COMMAND_MACRO:
    mm_command_encode_macro_pairs(out, command->u.macro.command, &command->u.macro.pairs);
    break;
  case MM_COMMAND_CONNECT:
    mm_command_encode_connect(out, command->u.connect.host, command->u.connect.family,
                              command->u.connect.port, command->u.connect.address);
    break;
  case MM_COMMAND_HELO:
    mm_command_encode_helo(out, command->u.helo.fqdn);
    break;
  case MM_COMMAND_MAIL:
  case MM_COMMAND_RCPT:
    mm_command_encode_envelope_strings(out, command->code, command->u.envelope.address,
                                       &command->u.envelope.args);
    break;
  case MM_COMMAND_HEADER:
    mm_command_encode_header(out, command->u.header.name, command->u.header.value);
    break;
  case MM_COMMAND_BODY:
  case MM_COMMAND_END_OF_MESSAGE:
    mm_command_encode_body(out, command->code, command->u.body.data, command->u.body.length);
    break;
  case MM_COMMAND_UNKNOWN:
    mm_command_encode_unknown(out, command->u.unknown.line);
    break;
  default:
    mm_command_encode_simple(out, command->code);
    break;
  }
}

/* mm_command_encode_negotiate - OPTNEG */
void
mm_command_encode_negotiate(GByteArray *out, guint32 version, guint32 actions, guint32 steps)
{
  gsize start = mm_packet_begin(out, MM_COMMAND_NEGOTIATE);
  mm_wire_put_u32(out, version);
  mm_wire_put_u32(out, actions);
  mm_wire_put_u32(out, steps);
  mm_packet_end(out, start);
}

/* mm_command_encode_macro - macros from parallel name and value arrays */
void
mm_command_encode_macro(GByteArray *out, char command, const char *const *names,
                        const char *const *values, gsize n)
{
  gsize start = mm_packet_begin(out, MM_COMMAND_MACRO);
  mm_wire_put_byte(out, (guint8)command);
  for (gsize i = 0; i < n; i++) {
    mm_wire_put_string(out, names[i]);
    mm_wire_put_string(out, values[i]);
  }
  mm_packet_end(out, start);
}

/* mm_command_encode_macro_pairs - macros from a run of name/value strings */
void
mm_command_encode_macro_pairs(GByteArray *out, char command, const MmStrings *pairs)
{
  gsize start = mm_packet_begin(out, MM_COMMAND_MACRO);
  mm_wire_put_byte(out, (guint8)command);
  if (pairs != NULL)
    mm_wire_put_bytes(out, pairs->data, pairs->length);
  mm_packet_end(out, start);
}

/* mm_command_encode_connect - CONNECT */
void
mm_command_encode_connect(GByteArray *out, const char *host, char family, guint16 port,
                          const char *address)
{
  gsize start = mm_packet_begin(out, MM_COMMAND_CONNECT);
  mm_wire_put_string(out, host);
  mm_wire_put_byte(out, (guint8)family);
  if (family != MM_FAMILY_UNKNOWN) {
    mm_wire_put_u16(out, port);
    mm_wire_put_string(out, address);
  }
  mm_packet_end(out, start);
}

/* mm_command_encode_helo - HELO/EHLO */
void
mm_command_encode_helo(GByteArray *out, const char *fqdn)
{
  gsize start = mm_packet_begin(out, MM_COMMAND_HELO);
  mm_wire_put_string(out, fqdn);
  mm_packet_end(out, start);
}

/* mm_command_encode_envelope - MAIL or RCPT from a NULL-terminated argument list */
void
mm_command_encode_envelope(GByteArray *out, char code, const char *address,
                           const char *const *args)
{
  g_return_if_fail(code == MM_COMMAND_MAIL || code == MM_COMMAND_RCPT);
  gsize start = mm_packet_begin(out, code);
  mm_wire_put_string(out, address);
  for (gsize i = 0; args != NULL && args[i] != NULL; i++)
    mm_wire_put_string(out, args[i]);
  mm_packet_end(out, start);
}

/* mm_command_encode_envelope_strings - MAIL or RCPT from a run of argument strings */
void
mm_command_encode_envelope_strings(GByteArray *out, char code, const char *address,
                                   const MmStrings *args)
{
  g_return_if_fail(code == MM_COMMAND_MAIL || code == MM_COMMAND_RCPT);
  gsize start = mm_packet_begin(out, code);
  mm_wire_put_string(out, address);
  if (args != NULL)
    mm_wire_put_bytes(out, args->data, args->length);
  mm_packet_end(out, start);
}

/* mm_command_encode_header - one header */
void
mm_command_encode_header(GByteArray *out, const char *name, const char *value)
{
  gsize start = mm_packet_begin(out, MM_COMMAND_HEADER);
  mm_wire_put_string(out, name);
  mm_wire_put_string(out, value);
  mm_packet_end(out, start);
}

/* mm_command_encode_body - BODY or END_OF_MESSAGE with raw data */
void
mm_command_encode_body(GByteArray *out, char code, const guint8 *data, gsize length)
{
  g_return_if_fail(code == MM_COMMAND_BODY || code == MM_COMMAND_END_OF_MESSAGE);
  mm_packet_append(out, code, data, length);
}

/* mm_command_encode_unknown - an unrecognised SMTP command */
void
mm_command_encode_unknown(GByteArray *out, const char *line)
{
  gsize start = mm_packet_begin(out, MM_COMMAND_UNKNOWN);
  mm_wire_put_string(out, line);
  mm_packet_end(out, start);
}

/* mm_command_encode_simple - a command without data */
void
mm_command_encode_simple(GByteArray *out, char code)
{
  g_return_if_fail(code != '\0' && strchr(SIMPLE_COMMANDS, code) != NULL);
  mm_packet_append(out, code, NULL, 0);
}
