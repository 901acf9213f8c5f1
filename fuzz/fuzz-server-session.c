/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-server-session.c: libFuzzer target for the MTA-facing session: any byte stream from
 * the MTA, through the real proxy, to two scripted children whose answers the input picks. */
#include "session-harness.h"

/* Input: byte 0 (mod FUZZ_MAX_SCRIPT + 1) is the length K of the children's script, the
 * next K bytes are the script, the rest is what the MTA sends. A child's N-th command is
 * answered by script byte (N + child * 7) mod K; K = 0: every command gets "continue". */
#define FUZZ_MAX_SCRIPT 16

enum {
  ACT_CONTINUE,
  ACT_ACCEPT,
  ACT_REJECT,
  ACT_TEMPFAIL,
  ACT_DISCARD,
  ACT_PROGRESS,      /* progress, then continue */
  ACT_HANG,          /* no answer: the child timeout fires */
  ACT_CLOSE,
  ACT_GARBAGE,       /* a packet no milter defines */
  ACT_EDITS,         /* every modification, then continue: illegal outside end of message */
  ACT_SKIP,
  ACT_REPLY_CODE,
  ACT_OVERSIZED,     /* a length prefix past any limit */
  ACT_SHUTDOWN,
  ACT_COUNT,
};

static const guint8 *fuzz_script;
static gsize fuzz_script_length;

/* append_edits - one of each modification a child may send at end of message */
static void
append_edits(GByteArray *out)
{
  mm_reply_encode_add_header(out, "X-Fuzz", "yes");
  mm_reply_encode_insert_header(out, 0, "X-First", "1");
  mm_reply_encode_change_header(out, 1, "Subject", "changed");
  mm_reply_encode_change_from(out, "<from@example.org>", NULL);
  mm_reply_encode_add_rcpt(out, "<added@example.org>", NULL);
  mm_reply_encode_delete_rcpt(out, "<gone@example.org>");
  mm_reply_encode_replace_body(out, (const guint8 *)"new body\r\n", 10);
  mm_reply_encode_quarantine(out, "fuzz");
}

/* answer - CHILD's answer to one command, from the script */
static gboolean
answer(FuzzChildConn *conn, char code, const guint8 *data, gsize length, GByteArray *out)
{
  if (code == MM_COMMAND_NEGOTIATE) {
    /* Child 1 asks for every no-reply step offered, child 0 for none. */
    fuzz_child_negotiate(data, length, conn->child->index ? 0xffffffffu : 0, out);
    return TRUE;
  }
  if (!fuzz_command_wants_reply(code))
    return TRUE;
  guint action = ACT_CONTINUE;
  if (fuzz_script_length > 0)
    action = fuzz_script[(conn->n_packets + conn->child->index * 7) % fuzz_script_length] %
             ACT_COUNT;
  switch (action) {
  case ACT_CONTINUE:
    mm_reply_encode_simple(out, MM_REPLY_CONTINUE);
    break;
  case ACT_ACCEPT:
    mm_reply_encode_simple(out, MM_REPLY_ACCEPT);
    break;
  case ACT_REJECT:
    mm_reply_encode_simple(out, MM_REPLY_REJECT);
    break;
  case ACT_TEMPFAIL:
    mm_reply_encode_simple(out, MM_REPLY_TEMPORARY_FAILURE);
    break;
  case ACT_DISCARD:
    mm_reply_encode_simple(out, MM_REPLY_DISCARD);
    break;
  case ACT_PROGRESS:
    mm_reply_encode_simple(out, MM_REPLY_PROGRESS);
    mm_reply_encode_simple(out, MM_REPLY_CONTINUE);
    break;
  case ACT_HANG:
    break;
  case ACT_CLOSE:
    return FALSE;
  case ACT_GARBAGE:
    mm_packet_append(out, 'Z', "\x01\x02", 2);
    break;
  case ACT_EDITS:
    append_edits(out);
    mm_reply_encode_simple(out, MM_REPLY_CONTINUE);
    break;
  case ACT_SKIP:
    mm_reply_encode_simple(out, MM_REPLY_SKIP);
    break;
  case ACT_REPLY_CODE:
    mm_reply_encode_reply_code(out, "451 4.7.1 Try again later");
    break;
  case ACT_OVERSIZED:
    g_byte_array_append(out, (const guint8 *)"\x7f\xff\xff\xff" "c", 5);
    break;
  case ACT_SHUTDOWN:
    mm_reply_encode_simple(out, MM_REPLY_SHUTDOWN);
    break;
  }
  return TRUE;
}

/* LLVMFuzzerTestOneInput - one MTA connection sending DATA's stream */
int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  if (size == 0)
    return 0;
  fuzz_harness_init(answer);
  gsize script_length = MIN((gsize)data[0] % (FUZZ_MAX_SCRIPT + 1), size - 1);
  fuzz_script = data + 1;
  fuzz_script_length = script_length;

  FuzzMta mta;
  fuzz_mta_open(&mta);
  fuzz_mta_send(&mta, data + 1 + script_length, size - 1 - script_length);
  fuzz_run(&mta, NULL, NULL);
  /* Everything the proxy said must be well-formed replies. */
  char code;
  MmReply reply;
  while (fuzz_mta_next_reply(&mta, &code, &reply))
    ;
  fuzz_mta_close(&mta);
  return 0;
}
