/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wire.h: private bounds-checked reader and writer of the milter data fields (uint32, uint16,
 * NUL-terminated strings) shared by command.c, reply.c and option.c; not installed. */
#pragma once

#include <string.h>

#include <glib.h>

/* Why a read failed; the codec modules map these onto their own error codes. */
typedef enum {
  MM_WIRE_OK,
  MM_WIRE_TRUNCATED,   /* fewer bytes left than the field needs */
  MM_WIRE_MISSING_NUL, /* a string runs to the end of the data without its NUL */
} MmWireStatus;

/* A cursor over one packet's data; never reads at or past data + length. */
typedef struct {
  const guint8 *data;
  gsize length;
  gsize offset;
} MmWireReader;

/* mm_wire_reader_init - a cursor at the start of DATA */
static inline void
mm_wire_reader_init(MmWireReader *reader, const guint8 *data, gsize length)
{
  reader->data = data;
  reader->length = length;
  reader->offset = 0;
}

/* mm_wire_remaining - bytes not yet read */
static inline gsize
mm_wire_remaining(const MmWireReader *reader)
{
  return reader->length - reader->offset;
}

/* mm_wire_read_byte - one byte */
static inline MmWireStatus
mm_wire_read_byte(MmWireReader *reader, guint8 *value)
{
  if (mm_wire_remaining(reader) < 1)
    return MM_WIRE_TRUNCATED;
  *value = reader->data[reader->offset++];
  return MM_WIRE_OK;
}

/* mm_wire_read_u16 - a network-order uint16 */
static inline MmWireStatus
mm_wire_read_u16(MmWireReader *reader, guint16 *value)
{
  if (mm_wire_remaining(reader) < 2)
    return MM_WIRE_TRUNCATED;
  const guint8 *p = reader->data + reader->offset;
  *value = (guint16)(((guint)p[0] << 8) | p[1]);
  reader->offset += 2;
  return MM_WIRE_OK;
}

/* mm_wire_read_u32 - a network-order uint32 */
static inline MmWireStatus
mm_wire_read_u32(MmWireReader *reader, guint32 *value)
{
  if (mm_wire_remaining(reader) < 4)
    return MM_WIRE_TRUNCATED;
  const guint8 *p = reader->data + reader->offset;
  *value = ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
  reader->offset += 4;
  return MM_WIRE_OK;
}

/* mm_wire_read_string - a NUL-terminated string, pointing into the data */
static inline MmWireStatus
mm_wire_read_string(MmWireReader *reader, const char **value)
{
  gsize left = mm_wire_remaining(reader);
  if (left == 0)
    return MM_WIRE_TRUNCATED;
  const guint8 *start = reader->data + reader->offset;
  const guint8 *nul = memchr(start, '\0', left);
  if (nul == NULL)
    return MM_WIRE_MISSING_NUL;
  *value = (const char *)start;
  reader->offset += (gsize)(nul - start) + 1;
  return MM_WIRE_OK;
}

/* mm_wire_count_strings - how many NUL-terminated strings fill DATA exactly; a run that
 * does not end in NUL is MM_WIRE_MISSING_NUL */
static inline MmWireStatus
mm_wire_count_strings(const guint8 *data, gsize length, gsize *count)
{
  gsize n = 0;
  if (length == 0) {
    *count = 0;
    return MM_WIRE_OK;
  }
  if (data[length - 1] != '\0')
    return MM_WIRE_MISSING_NUL;
  for (const guint8 *p = data, *end = data + length; p < end; p++) {
    if (*p == '\0')
      n++;
  }
  *count = n;
  return MM_WIRE_OK;
}

/* How a codec module reports a bad field: its error domain and codes, and the kind of
 * packet it decodes ("command", "reply") for the message. */
typedef struct {
  GQuark (*domain)(void);
  int truncated;
  int missing_nul;
  int bad_value;
  const char *kind;
} MmWireErrors;

/* mm_wire_fail - report a failed field read of packet NAME; always FALSE */
static inline gboolean
mm_wire_fail(const MmWireErrors *errors, GError **error, const char *name, MmWireStatus status,
             const char *field)
{
  if (status == MM_WIRE_MISSING_NUL)
    g_set_error(error, errors->domain(), errors->missing_nul,
                "%s %s: %s is missing its NUL terminator", name, errors->kind, field);
  else
    g_set_error(error, errors->domain(), errors->truncated, "%s %s: truncated before %s", name,
                errors->kind, field);
  return FALSE;
}

/* mm_wire_check_end - the fields consumed the whole data */
static inline gboolean
mm_wire_check_end(const MmWireErrors *errors, GError **error, const char *name,
                  const MmWireReader *reader)
{
  gsize left = mm_wire_remaining(reader);
  if (left == 0)
    return TRUE;
  g_set_error(error, errors->domain(), errors->bad_value,
              "%s %s: %" G_GSIZE_FORMAT " unexpected bytes after its data", name, errors->kind,
              left);
  return FALSE;
}

/* mm_wire_field_string - a string field, or an error naming it */
static inline gboolean
mm_wire_field_string(const MmWireErrors *errors, GError **error, const char *name,
                     MmWireReader *reader, const char *field, const char **value)
{
  MmWireStatus status = mm_wire_read_string(reader, value);
  return status == MM_WIRE_OK || mm_wire_fail(errors, error, name, status, field);
}

/* mm_wire_field_u32 - a uint32 field, or an error naming it */
static inline gboolean
mm_wire_field_u32(const MmWireErrors *errors, GError **error, const char *name,
                  MmWireReader *reader, const char *field, guint32 *value)
{
  MmWireStatus status = mm_wire_read_u32(reader, value);
  return status == MM_WIRE_OK || mm_wire_fail(errors, error, name, status, field);
}

/* mm_wire_put_byte - append one byte */
static inline void
mm_wire_put_byte(GByteArray *out, guint8 value)
{
  g_byte_array_append(out, &value, 1);
}

/* mm_wire_put_u16 - append a network-order uint16 */
static inline void
mm_wire_put_u16(GByteArray *out, guint16 value)
{
  const guint8 bytes[2] = {(guint8)(value >> 8), (guint8)value};
  g_byte_array_append(out, bytes, sizeof bytes);
}

/* mm_wire_put_u32 - append a network-order uint32 */
static inline void
mm_wire_put_u32(GByteArray *out, guint32 value)
{
  const guint8 bytes[4] = {(guint8)(value >> 24), (guint8)(value >> 16), (guint8)(value >> 8),
                           (guint8)value};
  g_byte_array_append(out, bytes, sizeof bytes);
}

/* mm_wire_put_string - append VALUE and its NUL; NULL is written as the empty string */
static inline void
mm_wire_put_string(GByteArray *out, const char *value)
{
  if (value == NULL)
    value = "";
  g_byte_array_append(out, (const guint8 *)value, (guint)strlen(value) + 1);
}

/* mm_wire_put_bytes - append LENGTH raw bytes */
static inline void
mm_wire_put_bytes(GByteArray *out, const void *data, gsize length)
{
  if (length > 0)
    g_byte_array_append(out, data, (guint)length);
}
