/* SPDX-License-Identifier: GPL-3.0-or-later */
/* packet.c: milter packet framing (see packet.h); pure: no I/O, no logging, and no
 * allocation beyond growing the caller's output buffer. */
#include "packet.h"

#include "protocol.h"

G_DEFINE_QUARK(mm-packet-error-quark, mm_packet_error)

/* read_be32 - a network-order uint32 */
static guint32
read_be32(const guint8 *bytes)
{
  return ((guint32)bytes[0] << 24) | ((guint32)bytes[1] << 16) | ((guint32)bytes[2] << 8) |
         (guint32)bytes[3];
}

/* mm_packet_next - the first whole packet in the buffer, if any */
MmPacketResult
mm_packet_next(const guint8 *buffer, gsize available, gsize max_data_length, char *code,
               const guint8 **data, gsize *data_length, gsize *consumed, GError **error)
{
  if (available < MM_PACKET_HEADER_SIZE)
    return MM_PACKET_INCOMPLETE;
  guint32 length = read_be32(buffer);
  if (length == 0) {
    g_set_error(error, MM_PACKET_ERROR, MM_PACKET_ERROR_EMPTY,
                "packet of length 0 has no command byte");
    return MM_PACKET_INVALID;
  }
  if ((gsize)length - 1 > max_data_length) {
    g_set_error(error, MM_PACKET_ERROR, MM_PACKET_ERROR_TOO_LARGE,
                "packet of %u bytes exceeds the limit of %" G_GSIZE_FORMAT " bytes",
                length, max_data_length + 1);
    return MM_PACKET_INVALID;
  }
  if (available - MM_PACKET_HEADER_SIZE < length)
    return MM_PACKET_INCOMPLETE;
  *code = (char)buffer[MM_PACKET_HEADER_SIZE];
  *data = buffer + MM_PACKET_HEADER_SIZE + 1;
  *data_length = length - 1;
  *consumed = MM_PACKET_HEADER_SIZE + (gsize)length;
  return MM_PACKET_READY;
}

/* mm_packet_begin - start a packet at the end of OUT */
gsize
mm_packet_begin(GByteArray *out, char code)
{
  gsize start = out->len;
  const guint8 header[MM_PACKET_HEADER_SIZE + 1] = {0, 0, 0, 0, (guint8)code};
  g_byte_array_append(out, header, sizeof header);
  return start;
}

/* mm_packet_end - patch the length of the packet started at START */
void
mm_packet_end(GByteArray *out, gsize start)
{
  mm_packet_end_followed(out, start, 0);
}

/* mm_packet_end_followed - patch the length, counting FOLLOWING bytes sent from elsewhere */
void
mm_packet_end_followed(GByteArray *out, gsize start, gsize following)
{
  g_return_if_fail(start + MM_PACKET_HEADER_SIZE + 1 <= out->len);
  guint32 length = (guint32)(out->len - start - MM_PACKET_HEADER_SIZE + following);
  out->data[start] = (guint8)(length >> 24);
  out->data[start + 1] = (guint8)(length >> 16);
  out->data[start + 2] = (guint8)(length >> 8);
  out->data[start + 3] = (guint8)length;
}

/* mm_packet_append - a whole packet */
void
mm_packet_append(GByteArray *out, char code, const void *data, gsize length)
{
  gsize start = mm_packet_begin(out, code);
  if (length > 0)
    g_byte_array_append(out, data, (guint)length);
  mm_packet_end(out, start);
}
