/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fuzz-client-session.c: libFuzzer target for the child-facing session: a well-behaved MTA
 * sends one whole session; child 0 answers with the input's bytes, child 1 correctly. */
#include "session-harness.h"

#include "command.h"

/* Input: records, one per command child 0 gets after the negotiation (MACRO packets
 * excluded): a 2-byte big-endian length L and L bytes the child writes as they are, so
 * that packets may be split across records. L = FUZZ_RECORD_CLOSE closes the connection,
 * L = FUZZ_RECORD_SILENT sends nothing. Past the input's end the child is silent. */
#define FUZZ_RECORD_CLOSE 0xffffu
#define FUZZ_RECORD_SILENT 0xfffeu

/* The promise checked: every MTA command that calls for an answer gets one before the main
 * loop goes quiet (only the MTA's idle timer left), whatever the child sends. */

static const guint8 *fuzz_input;
static gsize fuzz_input_length, fuzz_input_used;

/* answer - child 0 plays the input; child 1 answers every command with continue */
static gboolean
answer(FuzzChildConn *conn, char code, const guint8 *data, gsize length, GByteArray *out)
{
  if (code == MM_COMMAND_NEGOTIATE) {
    fuzz_child_negotiate(data, length, 0, out);
    return TRUE;
  }
  if (conn->child->index != 0) {
    if (fuzz_command_wants_reply(code))
      mm_reply_encode_simple(out, MM_REPLY_CONTINUE);
    return TRUE;
  }
  if (code == MM_COMMAND_MACRO || fuzz_input_used + 2 > fuzz_input_length)
    return TRUE;
  guint record = ((guint)fuzz_input[fuzz_input_used] << 8) | fuzz_input[fuzz_input_used + 1];
  fuzz_input_used += 2;
  if (record == FUZZ_RECORD_CLOSE)
    return FALSE;
  if (record == FUZZ_RECORD_SILENT)
    return TRUE;
  gsize n = MIN((gsize)record, fuzz_input_length - fuzz_input_used);
  g_byte_array_append(out, fuzz_input + fuzz_input_used, (guint)n);
  fuzz_input_used += n;
  return TRUE;
}

/* A final reply ends the MTA's wait for a step; progress and edits do not. */
typedef struct {
  char command;
  gboolean answered;
  char final;
} FuzzWait;

/* got_final - read replies until the final one for the command waited on */
static gboolean
got_final(FuzzMta *mta, gpointer data)
{
  FuzzWait *wait = data;
  char code;
  MmReply reply;
  while (!wait->answered && fuzz_mta_next_reply(mta, &code, &reply)) {
    if (wait->command == MM_COMMAND_NEGOTIATE ? code == MM_REPLY_NEGOTIATE
                                              : mm_reply_is_allowed(wait->command, code) &&
                                                  code != MM_REPLY_PROGRESS &&
                                                  strchr("+-2behimq", code) == NULL) {
      wait->answered = TRUE;
      wait->final = code;
    } else if (!mm_reply_is_allowed(wait->command, code)) {
      fprintf(stderr, "the proxy answered %s with '%c'\n", mm_command_name(wait->command), code);
      abort();
    }
  }
  return wait->answered || mta->closed;
}

/* step - send the command encoded in PACKET; TRUE if the session goes on after its reply */
static gboolean
step(FuzzMta *mta, GByteArray *packet, gboolean wants_reply)
{
  char command = (char)packet->data[4];
  fuzz_mta_send(mta, packet->data, packet->len);
  if (!wants_reply) {
    fuzz_run(mta, NULL, NULL);
    g_byte_array_set_size(packet, 0);
    return !mta->closed;
  }
  FuzzWait wait = {command, FALSE, 0};
  if (!fuzz_run(mta, got_final, &wait)) {
    fprintf(stderr, "the MTA got no answer to %s\n", mm_command_name(command));
    abort();
  }
  g_byte_array_set_size(packet, 0);
  if (!wait.answered)
    return FALSE;
  return wait.final == MM_REPLY_CONTINUE || wait.final == MM_REPLY_NEGOTIATE ||
         wait.final == MM_REPLY_SKIP;
}

/* run_session - negotiate, connect, HELO, one message with two recipients, QUIT */
static void
run_session(FuzzMta *mta)
{
  g_autoptr(GByteArray) p = g_byte_array_new();
  const char *const connect_names[] = {"j", "_"};
  const char *const connect_values[] = {"mx.example.net", "client [192.0.2.1]"};
  const char *const mail_names[] = {"i", "{mail_addr}"};
  const char *const mail_values[] = {"4AbCdE", "from@example.org"};
  gboolean go_on;

  mm_command_encode_negotiate(p, 6, MM_ACTION_ALL, MM_STEP_SKIP);
  if (!step(mta, p, TRUE))
    return;
  mm_command_encode_macro(p, MM_COMMAND_CONNECT, connect_names, connect_values, 2);
  step(mta, p, FALSE);
  mm_command_encode_connect(p, "client.example.com", MM_FAMILY_INET, 25, "192.0.2.1");
  if (!step(mta, p, TRUE))
    goto quit;
  mm_command_encode_helo(p, "client.example.com");
  if (!step(mta, p, TRUE))
    goto quit;
  mm_command_encode_macro(p, MM_COMMAND_MAIL, mail_names, mail_values, 2);
  step(mta, p, FALSE);
  mm_command_encode_envelope(p, MM_COMMAND_MAIL, "<from@example.org>", NULL);
  if (!step(mta, p, TRUE))
    goto abort;
  mm_command_encode_envelope(p, MM_COMMAND_RCPT, "<to@example.net>", NULL);
  go_on = step(mta, p, TRUE);
  mm_command_encode_envelope(p, MM_COMMAND_RCPT, "<gone@example.org>", NULL);
  go_on = step(mta, p, TRUE) || go_on;
  if (!go_on)
    goto abort;
  mm_command_encode_simple(p, MM_COMMAND_DATA);
  if (!step(mta, p, TRUE))
    goto abort;
  mm_command_encode_header(p, "From", "<from@example.org>");
  if (!step(mta, p, TRUE))
    goto abort;
  mm_command_encode_header(p, "Subject", "fuzz");
  if (!step(mta, p, TRUE))
    goto abort;
  mm_command_encode_simple(p, MM_COMMAND_END_OF_HEADER);
  if (!step(mta, p, TRUE))
    goto abort;
  mm_command_encode_body(p, MM_COMMAND_BODY, (const guint8 *)"Hello\r\n", 7);
  if (step(mta, p, TRUE)) {
    /* Past the in-memory limit, so the body spool goes to disk. */
    guint8 chunk[FUZZ_BODY_MEMORY_LIMIT + 100];
    memset(chunk, 'x', sizeof(chunk));
    mm_command_encode_body(p, MM_COMMAND_BODY, chunk, sizeof(chunk));
    step(mta, p, TRUE);
  }
  mm_command_encode_body(p, MM_COMMAND_END_OF_MESSAGE, NULL, 0);
  step(mta, p, TRUE);
  goto quit;
abort:
  mm_command_encode_simple(p, MM_COMMAND_ABORT);
  step(mta, p, FALSE);
quit:
  mm_command_encode_simple(p, MM_COMMAND_QUIT);
  step(mta, p, FALSE);
}

/* LLVMFuzzerTestOneInput - one session with child 0 answering from DATA */
int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  fuzz_harness_init(answer);
  fuzz_input = data;
  fuzz_input_length = size;
  fuzz_input_used = 0;
  FuzzMta mta;
  fuzz_mta_open(&mta);
  run_session(&mta);
  fuzz_mta_close(&mta);
  return 0;
}
