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

/* mm_output_queue_gather_references, mm_output_queue_advance_references - the general
 * cases of the two below, for a queue holding references */
int mm_output_queue_gather_references(const MmOutputQueue *queue, struct iovec *iov, int max);
void mm_output_queue_advance_references(MmOutputQueue *queue, gsize written);

/* mm_output_queue_has_references - whether ranges are queued by reference (inline, as the two
 * below: every small packet goes through them, and then the buffer is the one piece) */
static inline gboolean
mm_output_queue_has_references(const MmOutputQueue *queue)
{
  return queue->references != NULL && queue->references->len > 0;
}

/* mm_output_queue_gather - what is queued, in order, as at most MAX (>= 1) pieces; returns
 * their number */
static inline int
mm_output_queue_gather(const MmOutputQueue *queue, struct iovec *iov, int max)
{
  if (mm_output_queue_has_references(queue))
    return mm_output_queue_gather_references(queue, iov, max);
  iov[0] = (struct iovec){queue->buffer->data + queue->sent, queue->buffer->len - queue->sent};
  return 1;
}

/* mm_output_queue_advance - WRITTEN bytes left, in gather's order: references written are
 * released */
static inline void
mm_output_queue_advance(MmOutputQueue *queue, gsize written)
{
  if (mm_output_queue_has_references(queue))
    mm_output_queue_advance_references(queue, written);
  else
    queue->sent += written;
}

/* mm_output_queue_rewind - everything was written: the buffer starts over, keeping its memory
 * (inline, without g_byte_array_set_size's calls: it happens after every flush) */
static inline void
mm_output_queue_rewind(MmOutputQueue *queue)
{
  queue->buffer->len = 0;
  queue->sent = 0;
}

/* mm_output_queue_compact - cut the written bytes from the buffer's front */
void mm_output_queue_compact(MmOutputQueue *queue);

/* mm_output_queue_clear - forget everything queued (the buffer's memory is kept) */
void mm_output_queue_clear(MmOutputQueue *queue);

/* mm_output_queue_release_references - clear, and free the reference list too */
void mm_output_queue_release_references(MmOutputQueue *queue);
