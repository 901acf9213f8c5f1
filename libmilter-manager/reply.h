/* SPDX-License-Identifier: GPL-3.0-or-later */
/* reply.h: decode and encode the replies a milter sends to the MTA (protocol versions 2 to
 * 6), and which reply is legal after which command. Pure; decoding allocates nothing. */
#pragma once

#include <glib.h>

#include "option.h"

#define MM_REPLY_ERROR (mm_reply_error_quark())
GQuark mm_reply_error_quark(void);

typedef enum {
  MM_REPLY_ERROR_TRUNCATED,   /* the data ends before a field it must hold */
  MM_REPLY_ERROR_MISSING_NUL, /* a string runs to the end of the data without its NUL */
  MM_REPLY_ERROR_UNKNOWN,     /* a reply code this protocol does not define */
  MM_REPLY_ERROR_BAD_VALUE,   /* a field holds a value the protocol does not allow */
  MM_REPLY_ERROR_NOT_ALLOWED, /* a known reply that may not answer this command */
} MmReplyError;

/* One decoded reply. Its pointers point into the packet data it was decoded from and are
 * valid as long as that data is. */
typedef struct _MmReply {
  char code;
  union {
    struct {
      guint32 version, actions, steps;
      /* the macro request lists that follow: (uint32 stage, space-separated names, NUL)*,
       * checked for shape by the decoder, parsed by mm_option_from_reply */
      const guint8 *macro_requests;
      gsize macro_requests_length;
    } negotiate;
    struct {
      const char *text; /* "550 5.7.1 Go away" */
    } reply_code;
    struct {
      guint32 index; /* unused by ADD_HEADER */
      const char *name;
      const char *value;
    } header; /* ADD_HEADER, INSERT_HEADER, CHANGE_HEADER */
    struct {
      const char *address;
      const char *args; /* ESMTP arguments; NULL when absent */
    } address;          /* ADD_RCPT, DELETE_RCPT, ADD_RCPT_WITH_ARGS, CHANGE_FROM */
    struct {
      const guint8 *data;
      gsize length;
    } body; /* REPLACE_BODY: one chunk of the new body */
    struct {
      const char *reason;
    } quarantine;
    struct {
      guint32 stage;      /* MmMacroStage */
      const char *macros; /* space-separated names */
    } symlist;            /* SET_SYMLIST: defined by mfdef.h, sent by no known milter */
  } u;
} MmReply;

/* mm_reply_name - a lower-case name for CODE for logs ("temporary-failure"); NULL when
 * CODE is not a reply */
const char *mm_reply_name(char code);

/* mm_reply_decode - decode the DATA of a packet with CODE into *REPLY (set only on
 * success) */
gboolean mm_reply_decode(char code, const guint8 *data, gsize length, MmReply *reply,
                         GError **error);

/* mm_reply_is_allowed - whether REPLY may answer COMMAND at all (structural legality; the
 * negotiated actions are the caller's to check). Commands that expect no reply (ABORT,
 * MACRO, QUIT, QUIT_NEW_CONNECTION) allow none. */
gboolean mm_reply_is_allowed(char command, char reply);

/* mm_reply_is_expected - whether COMMAND awaits a reply at all (before the NR_* steps are
 * taken into account): FALSE for ABORT, MACRO, QUIT and QUIT_NEW_CONNECTION */
gboolean mm_reply_is_expected(char command);

/* mm_reply_check_allowed - mm_reply_is_allowed, with an MM_REPLY_ERROR_NOT_ALLOWED naming
 * both when it is not */
gboolean mm_reply_check_allowed(char command, char reply, GError **error);

/* The encoders each append one whole packet (length prefix included) to OUT. */

/* mm_reply_encode - re-encode a decoded (or hand-built) reply */
void mm_reply_encode(GByteArray *out, const MmReply *reply);

/* mm_reply_encode_simple - a reply without data: CONTINUE, ACCEPT, REJECT,
 * TEMPORARY_FAILURE, DISCARD, SKIP, PROGRESS, CONNECTION_FAIL, SHUTDOWN */
void mm_reply_encode_simple(GByteArray *out, char code);

/* mm_reply_encode_negotiate - OPTNEG with OPTION's version, actions, steps and macro
 * request lists (in stage order) */
void mm_reply_encode_negotiate(GByteArray *out, const MmOption *option);

/* mm_reply_encode_reply_code - REPLY_CODE with an SMTP reply TEXT ("550 5.7.1 No") */
void mm_reply_encode_reply_code(GByteArray *out, const char *text);

/* mm_reply_encode_add_header - append a header */
void mm_reply_encode_add_header(GByteArray *out, const char *name, const char *value);

/* mm_reply_encode_insert_header - insert a header at INDEX (0 = first) */
void mm_reply_encode_insert_header(GByteArray *out, guint32 index, const char *name,
                                   const char *value);

/* mm_reply_encode_change_header - change the INDEX-th (1 = first) header NAME; an empty
 * VALUE deletes it */
void mm_reply_encode_change_header(GByteArray *out, guint32 index, const char *name,
                                   const char *value);

/* mm_reply_encode_change_from - change the envelope sender; ARGS NULL for none */
void mm_reply_encode_change_from(GByteArray *out, const char *address, const char *args);

/* mm_reply_encode_add_rcpt - add a recipient; sent as ADD_RCPT_WITH_ARGS iff ARGS is
 * non-empty */
void mm_reply_encode_add_rcpt(GByteArray *out, const char *address, const char *args);

/* mm_reply_encode_delete_rcpt - delete a recipient */
void mm_reply_encode_delete_rcpt(GByteArray *out, const char *address);

/* mm_reply_encode_replace_body - one chunk of the replacement body */
void mm_reply_encode_replace_body(GByteArray *out, const guint8 *data, gsize length);

/* mm_reply_encode_quarantine - put the message on hold with REASON */
void mm_reply_encode_quarantine(GByteArray *out, const char *reason);
