/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-decoder.c: libFuzzer target for the protocol codec: frames the input into packets,
 * decodes each as a command and as a reply, and checks that re-encoding is exact. */
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "option.h"
#include "packet.h"
#include "protocol.h"
#include "reply.h"

/* same_bytes - abort (a finding) unless OUT holds exactly the packet at PACKET */
static void
same_bytes(const GByteArray *out, const guint8 *packet, gsize length)
{
  if (out->len != length || memcmp(out->data, packet, length) != 0)
    abort();
}

/* check_options - parsed options re-encode to a reply that parses to the same options */
static void
check_options(const MmReply *reply)
{
  MmOption option, again;
  mm_option_init(&option);
  mm_option_init(&again);
  if (mm_option_from_reply(reply, &option, NULL)) {
    g_autoptr(GByteArray) out = g_byte_array_new();
    mm_reply_encode_negotiate(out, &option);
    char code;
    const guint8 *data;
    gsize length, consumed;
    MmReply decoded;
    if (mm_packet_next(out->data, out->len, G_MAXUINT32, &code, &data, &length, &consumed,
                       NULL) != MM_PACKET_READY ||
        !mm_reply_decode(code, data, length, &decoded, NULL) ||
        !mm_option_from_reply(&decoded, &again, NULL))
      abort();
    if (again.version != option.version || again.actions != option.actions ||
        again.steps != option.steps)
      abort();
    for (gsize i = 0; i < MM_MACRO_STAGE_COUNT; i++) {
      if (g_strcmp0(again.macro_requests[i], option.macro_requests[i]) != 0)
        abort();
    }
    g_free(mm_option_steps_to_string(option.steps));
    g_free(mm_option_actions_to_string(option.actions));
    (void)mm_option_max_data_length(option.steps);
  }
  mm_option_clear(&option);
  mm_option_clear(&again);
}

/* check_packet - one framed packet through every decoder */
static void
check_packet(char code, const guint8 *data, gsize length, const guint8 *packet, gsize size)
{
  MmCommand command;
  if (mm_command_decode(code, data, length, &command, NULL)) {
    g_autoptr(GByteArray) out = g_byte_array_new();
    mm_command_encode(out, &command);
    same_bytes(out, packet, size);
    if (code == MM_COMMAND_MACRO && mm_strings_count(&command.u.macro.pairs) % 2 != 0)
      abort();
  }
  MmReply reply;
  if (mm_reply_decode(code, data, length, &reply, NULL)) {
    g_autoptr(GByteArray) out = g_byte_array_new();
    mm_reply_encode(out, &reply);
    same_bytes(out, packet, size);
    if (code == MM_REPLY_NEGOTIATE)
      check_options(&reply);
  }
  (void)mm_reply_is_allowed(code, code);
}

int LLVMFuzzerTestOneInput(const guint8 *input, size_t size);

/* LLVMFuzzerTestOneInput - every packet in the input; a frame error ends the input */
int
LLVMFuzzerTestOneInput(const guint8 *input, size_t size)
{
  gsize offset = 0;
  while (offset < size) {
    char code;
    const guint8 *data;
    gsize length, consumed;
    if (mm_packet_next(input + offset, size - offset, MM_DATA_SIZE_1M, &code, &data, &length,
                       &consumed, NULL) != MM_PACKET_READY)
      break;
    check_packet(code, data, length, input + offset, consumed);
    offset += consumed;
  }
  return 0;
}
