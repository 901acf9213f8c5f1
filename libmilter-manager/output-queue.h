/* SPDX-License-Identifier: GPL-3.0-or-later */
/* output-queue.h: a connection's queued output (internal to connection.c): a buffer of encoded
 * packets and, between its bytes, ranges of other memory queued by reference, not copied. */
#pragma once

#include <glib.h>
#include <sys/uio.h>

typedef struct {
  GByteArray *buffer; /* encoded packets, appended by the connection's owner */
  gsize sent;         /* bytes at the front of buffer already written */
  /* Ranges queued by reference, in order, each going out right before the buffer's byte at
   * its position; the first one's first reference_sent bytes are written. sent never passes
   * the first one's position. NULL until first needed. */
  GArray *references;
  gsize reference_sent;
  gsize reference_pending; /* bytes of the references not yet written */
} MmOutputQueue;

/* mm_output_queue_pending - bytes queued and not yet written, references included (inline:
 * the connection asks on every flush) */
static inline gsize
mm_output_queue_pending(const MmOutputQueue *queue)
{
  return queue->buffer->len - queue->sent + queue->reference_pending;
}

/* mm_output_queue_add_bytes - queue LENGTH bytes of BYTES from OFFSET (referenced until
 * written or dropped) after what the buffer holds now */
void mm_output_queue_add_bytes(MmOutputQueue *queue, GBytes *bytes, gsize offset, gsize length);

/* mm_output_queue_gather - what is queued, in order, as at most MAX pieces; returns their
 * number */
int mm_output_queue_gather(const MmOutputQueue *queue, struct iovec *iov, int max);

/* mm_output_queue_advance - WRITTEN bytes left, in gather's order: references written are
 * released */
void mm_output_queue_advance(MmOutputQueue *queue, gsize written);

/* mm_output_queue_compact - cut the written bytes from the buffer's front */
void mm_output_queue_compact(MmOutputQueue *queue);

/* mm_output_queue_clear - forget everything queued (the buffer's memory is kept) */
void mm_output_queue_clear(MmOutputQueue *queue);

/* mm_output_queue_release_references - clear, and free the reference list too */
void mm_output_queue_release_references(MmOutputQueue *queue);
