/* SPDX-License-Identifier: GPL-3.0-or-later */
/* launcher-protocol.c: encoding and checking the daemon <-> launcher messages (see
 * launcher-protocol.h); the launcher trusts nothing it decodes, so every field is checked. */
#include "launcher-protocol.h"

#include <string.h>
#include <sys/wait.h>

#include "packet.h"

G_DEFINE_QUARK(mm-launcher-protocol-error-quark, mm_launcher_protocol_error)

/* Most fields any message has. */
#define MAX_FIELDS 3

/* append_field - TEXT and its NUL, at most MAX_BYTES bytes of it, cut at a character */
static void
append_field(GByteArray *out, const char *text, gsize max_bytes)
{
  gsize length = strlen(text);
  if (length > max_bytes) {
    const char *end = text + max_bytes;
    /* Cut before a partial UTF-8 sequence so that the field still decodes. */
    if (g_utf8_validate(text, (gssize)length, NULL))
      end = g_utf8_find_prev_char(text, end + 1);
    length = end != NULL ? (gsize)(end - text) : 0;
  }
  g_byte_array_append(out, (const guint8 *)text, (guint)length);
  g_byte_array_append(out, (const guint8 *)"", 1);
}

/* append_number - a decimal field */
static void
append_number(GByteArray *out, gint64 number)
{
  char text[32];
  g_snprintf(text, sizeof text, "%" G_GINT64_FORMAT, number);
  append_field(out, text, sizeof text);
}

/* mm_launcher_protocol_encode_launch - a LAUNCH for NAME */
gboolean
mm_launcher_protocol_encode_launch(GByteArray *out, const char *name, GError **error)
{
  gsize length = strlen(name);
  if (length == 0 || length > MM_LAUNCHER_PROTOCOL_MAX_NAME) {
    g_set_error(error, MM_LAUNCHER_PROTOCOL_ERROR, MM_LAUNCHER_PROTOCOL_ERROR_TOO_LONG,
                "a milter name must have 1 to %d bytes, not %" G_GSIZE_FORMAT,
                MM_LAUNCHER_PROTOCOL_MAX_NAME, length);
    return FALSE;
  }
  gsize start = mm_packet_begin(out, MM_LAUNCHER_LAUNCH);
  append_field(out, name, MM_LAUNCHER_PROTOCOL_MAX_NAME);
  mm_packet_end(out, start);
  return TRUE;
}

/* mm_launcher_protocol_encode_reload - a RELOAD */
void
mm_launcher_protocol_encode_reload(GByteArray *out)
{
  mm_packet_append(out, MM_LAUNCHER_RELOAD, NULL, 0);
}

/* mm_launcher_protocol_encode_launched - a LAUNCHED */
void
mm_launcher_protocol_encode_launched(GByteArray *out, const char *name, pid_t pid,
                                     const char *user)
{
  gsize start = mm_packet_begin(out, MM_LAUNCHER_LAUNCHED);
  append_field(out, name, MM_LAUNCHER_PROTOCOL_MAX_NAME);
  append_number(out, pid);
  append_field(out, user, MM_LAUNCHER_PROTOCOL_MAX_NAME);
  mm_packet_end(out, start);
}

/* mm_launcher_protocol_encode_refused - a REFUSED */
void
mm_launcher_protocol_encode_refused(GByteArray *out, const char *name, const char *reason)
{
  gsize start = mm_packet_begin(out, MM_LAUNCHER_REFUSED);
  append_field(out, name, MM_LAUNCHER_PROTOCOL_MAX_NAME);
  append_field(out, reason, MM_LAUNCHER_PROTOCOL_MAX_TEXT);
  mm_packet_end(out, start);
}

/* mm_launcher_protocol_encode_exited - an EXITED */
void
mm_launcher_protocol_encode_exited(GByteArray *out, const char *name, pid_t pid,
                                   int wait_status)
{
  gsize start = mm_packet_begin(out, MM_LAUNCHER_EXITED);
  append_field(out, name, MM_LAUNCHER_PROTOCOL_MAX_NAME);
  append_number(out, pid);
  append_number(out, wait_status);
  mm_packet_end(out, start);
}

/* mm_launcher_protocol_encode_reloaded - a RELOADED */
void
mm_launcher_protocol_encode_reloaded(GByteArray *out, guint count, const char *error)
{
  gsize start = mm_packet_begin(out, MM_LAUNCHER_RELOADED);
  append_number(out, count);
  append_field(out, error != NULL ? error : "", MM_LAUNCHER_PROTOCOL_MAX_TEXT);
  mm_packet_end(out, start);
}

/* malformed - a decoding error naming the message and the cause */
static gboolean
malformed(GError **error, char code, const char *cause)
{
  g_set_error(error, MM_LAUNCHER_PROTOCOL_ERROR, MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED,
              "malformed launcher message '%c': %s", g_ascii_isprint(code) ? code : '?', cause);
  return FALSE;
}

/* split_fields - the NUL-terminated fields of DATA; FALSE if they are not exactly N_FIELDS
 * valid UTF-8 strings */
static gboolean
split_fields(char code, const guint8 *data, gsize length, guint n_fields,
             const char **fields, GError **error)
{
  guint n = 0;
  gsize start = 0;
  for (gsize i = 0; i < length; i++) {
    if (data[i] != '\0')
      continue;
    if (n == n_fields)
      return malformed(error, code, "too many fields");
    const char *field = (const char *)data + start;
    if (!g_utf8_validate(field, (gssize)(i - start), NULL))
      return malformed(error, code, "a field is not UTF-8");
    fields[n++] = field;
    start = i + 1;
  }
  if (start != length)
    return malformed(error, code, "the last field has no terminating NUL");
  if (n != n_fields)
    return malformed(error, code, "too few fields");
  return TRUE;
}

/* check_name - a milter name field: not empty, not too long */
static gboolean
check_name(char code, const char *name, GError **error)
{
  gsize length = strlen(name);
  if (length == 0)
    return malformed(error, code, "empty milter name");
  if (length > MM_LAUNCHER_PROTOCOL_MAX_NAME) {
    g_set_error(error, MM_LAUNCHER_PROTOCOL_ERROR, MM_LAUNCHER_PROTOCOL_ERROR_TOO_LONG,
                "launcher message '%c': milter name longer than %d bytes", code,
                MM_LAUNCHER_PROTOCOL_MAX_NAME);
    return FALSE;
  }
  return TRUE;
}

/* parse_number - a decimal field within MIN..MAX */
static gboolean
parse_number(char code, const char *text, gint64 min, gint64 max, gint64 *number,
             GError **error)
{
  if (!g_ascii_string_to_signed(text, 10, min, max, number, NULL))
    return malformed(error, code, "bad number");
  return TRUE;
}

/* mm_launcher_protocol_decode - check and decode one packet */
gboolean
mm_launcher_protocol_decode(char code, const guint8 *data, gsize length,
                            MmLauncherMessage *message, GError **error)
{
  const char *fields[MAX_FIELDS] = {NULL};
  MmLauncherMessage decoded = {.code = (MmLauncherCode)code};
  gint64 number;
  switch (code) {
  case MM_LAUNCHER_LAUNCH:
    if (!split_fields(code, data, length, 1, fields, error) ||
        !check_name(code, fields[0], error))
      return FALSE;
    decoded.name = fields[0];
    break;
  case MM_LAUNCHER_RELOAD:
    if (length != 0)
      return malformed(error, code, "unexpected data");
    break;
  case MM_LAUNCHER_LAUNCHED:
    if (!split_fields(code, data, length, 3, fields, error) ||
        !check_name(code, fields[0], error) ||
        !parse_number(code, fields[1], 1, G_MAXINT32, &number, error))
      return FALSE;
    decoded.name = fields[0];
    decoded.pid = number;
    decoded.text = fields[2];
    break;
  case MM_LAUNCHER_REFUSED:
    if (!split_fields(code, data, length, 2, fields, error) ||
        !check_name(code, fields[0], error))
      return FALSE;
    decoded.name = fields[0];
    decoded.text = fields[1];
    break;
  case MM_LAUNCHER_EXITED:
    if (!split_fields(code, data, length, 3, fields, error) ||
        !check_name(code, fields[0], error) ||
        !parse_number(code, fields[1], 1, G_MAXINT32, &decoded.pid, error) ||
        !parse_number(code, fields[2], 0, G_MAXINT32, &number, error))
      return FALSE;
    decoded.name = fields[0];
    decoded.wait_status = (int)number;
    break;
  case MM_LAUNCHER_RELOADED:
    if (!split_fields(code, data, length, 2, fields, error) ||
        !parse_number(code, fields[0], 0, G_MAXUINT32, &number, error))
      return FALSE;
    decoded.count = (guint)number;
    decoded.text = fields[1];
    break;
  default:
    g_set_error(error, MM_LAUNCHER_PROTOCOL_ERROR, MM_LAUNCHER_PROTOCOL_ERROR_UNKNOWN_CODE,
                "unknown launcher message code 0x%02x", (guint)(guchar)code);
    return FALSE;
  }
  *message = decoded;
  return TRUE;
}

/* mm_launcher_protocol_is_request - LAUNCH or RELOAD */
gboolean
mm_launcher_protocol_is_request(MmLauncherCode code)
{
  return code == MM_LAUNCHER_LAUNCH || code == MM_LAUNCHER_RELOAD;
}

/* mm_launcher_protocol_describe_wait_status - a wait status in words */
char *
mm_launcher_protocol_describe_wait_status(int wait_status)
{
  if (WIFEXITED(wait_status))
    return g_strdup_printf("exited with status %d", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status))
    return g_strdup_printf("killed by signal %d (%s)", WTERMSIG(wait_status),
                           g_strsignal(WTERMSIG(wait_status)));
  return g_strdup_printf("wait status %d", wait_status);
}
