/* SPDX-License-Identifier: GPL-3.0-or-later */
/* packet.h: milter packet framing: a 4-byte length (network order) covering one code byte
 * and the data. Finds whole packets in received bytes and appends packets to a buffer. */
#pragma once

#include <glib.h>

#define MM_PACKET_ERROR (mm_packet_error_quark())
GQuark mm_packet_error_quark(void);

typedef enum {
  MM_PACKET_ERROR_EMPTY,     /* length 0: no code byte */
  MM_PACKET_ERROR_TOO_LARGE, /* data longer than the negotiated maximum */
} MmPacketError;

typedef enum {
  MM_PACKET_INCOMPLETE, /* need more bytes */
  MM_PACKET_READY,      /* *code, *data, *data_length and *consumed are set */
  MM_PACKET_INVALID,    /* *error is set; the stream cannot be resynchronised */
} MmPacketResult;

/* mm_packet_next - the first whole packet in BUFFER[0..AVAILABLE), if any.
 * MAX_DATA_LENGTH bounds the data (not counting the code byte); a larger length prefix is
 * an error as soon as the 4 length bytes are in, before anything is buffered for it.
 * DATA points into BUFFER. */
MmPacketResult mm_packet_next(const guint8 *buffer, gsize available, gsize max_data_length,
                              char *code, const guint8 **data, gsize *data_length,
                              gsize *consumed, GError **error);

/* mm_packet_begin - start a packet with CODE at the end of OUT; returns its start offset,
 * to be given to mm_packet_end once its data has been appended. */
gsize mm_packet_begin(GByteArray *out, char code);

/* mm_packet_end - patch the length of the packet started at START */
void mm_packet_end(GByteArray *out, gsize start);

/* mm_packet_end_followed - patch the length of the packet started at START whose last
 * FOLLOWING bytes of data are sent from elsewhere, after what OUT holds */
void mm_packet_end_followed(GByteArray *out, gsize start, gsize following);

/* mm_packet_append - a whole packet with CODE and LENGTH bytes of DATA */
void mm_packet_append(GByteArray *out, char code, const void *data, gsize length);
