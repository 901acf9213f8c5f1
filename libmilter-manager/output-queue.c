/* SPDX-License-Identifier: GPL-3.0-or-later */
/* output-queue.c: a connection's queued output (output-queue.h): the packet buffer and the
 * ranges queued by reference between its bytes, gathered for one writev/sendmsg. */
#include "output-queue.h"

/* A range of someone else's memory, going out right before the buffer's byte at POSITION. */
typedef struct {
  gsize position;
  GBytes *bytes;
  const guint8 *data;
  gsize length;
} OutputReference;

/* mm_output_queue_add_bytes - queue a range by reference after the buffer's bytes */
void
mm_output_queue_add_bytes(MmOutputQueue *queue, GBytes *bytes, gsize offset, gsize length)
{
  if (queue->references == NULL)
    queue->references = g_array_new(FALSE, FALSE, sizeof(OutputReference));
  OutputReference reference = {
    .position = queue->buffer->len,
    .bytes = g_bytes_ref(bytes),
    .data = (const guint8 *)g_bytes_get_data(bytes, NULL) + offset,
    .length = length,
  };
  g_array_append_val(queue->references, reference);
  queue->reference_pending += length;
}

/* mm_output_queue_gather_references - the queued output in order, as at most MAX pieces */
int
mm_output_queue_gather_references(const MmOutputQueue *queue, struct iovec *iov, int max)
{
  GByteArray *buffer = queue->buffer;
  gsize position = queue->sent;
  int n = 0;
  guint length = queue->references ? queue->references->len : 0;
  for (guint i = 0; i < length && n < max; i++) {
    const OutputReference *reference = &g_array_index(queue->references, OutputReference, i);
    if (reference->position > position) {
      iov[n++] = (struct iovec){buffer->data + position, reference->position - position};
      position = reference->position;
      if (n == max)
        return n;
    }
    gsize skip = i == 0 ? queue->reference_sent : 0;
    /* iovec has no const: the bytes are only read. */
    iov[n++] = (struct iovec){(void *)(reference->data + skip), reference->length - skip};
  }
  if (n < max && buffer->len > position)
    iov[n++] = (struct iovec){buffer->data + position, buffer->len - position};
  return n;
}

/* mm_output_queue_advance_references - WRITTEN bytes left, in gather's order */
void
mm_output_queue_advance_references(MmOutputQueue *queue, gsize written)
{
  while (written > 0) {
    if (queue->references == NULL || queue->references->len == 0) {
      queue->sent += written;
      return;
    }
    OutputReference *reference = &g_array_index(queue->references, OutputReference, 0);
    gsize before = MIN(written, reference->position - queue->sent);
    queue->sent += before;
    written -= before;
    if (written == 0)
      return;
    gsize taken = MIN(written, reference->length - queue->reference_sent);
    queue->reference_sent += taken;
    queue->reference_pending -= taken;
    written -= taken;
    if (queue->reference_sent == reference->length) {
      g_bytes_unref(reference->bytes);
      g_array_remove_index(queue->references, 0);
      queue->reference_sent = 0;
    }
  }
}

/* mm_output_queue_compact - cut the written bytes from the buffer's front */
void
mm_output_queue_compact(MmOutputQueue *queue)
{
  g_byte_array_remove_range(queue->buffer, 0, (guint)queue->sent);
  for (guint i = 0; queue->references && i < queue->references->len; i++)
    g_array_index(queue->references, OutputReference, i).position -= queue->sent;
  queue->sent = 0;
}

/* mm_output_queue_clear - forget everything queued */
void
mm_output_queue_clear(MmOutputQueue *queue)
{
  g_byte_array_set_size(queue->buffer, 0);
  queue->sent = 0;
  if (queue->references) {
    for (guint i = 0; i < queue->references->len; i++)
      g_bytes_unref(g_array_index(queue->references, OutputReference, i).bytes);
    g_array_set_size(queue->references, 0);
  }
  queue->reference_sent = 0;
  queue->reference_pending = 0;
}

/* mm_output_queue_release_references - clear, and free the reference list */
void
mm_output_queue_release_references(MmOutputQueue *queue)
{
  mm_output_queue_clear(queue);
  g_clear_pointer(&queue->references, g_array_unref);
}
