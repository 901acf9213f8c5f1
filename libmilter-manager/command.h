/* SPDX-License-Identifier: GPL-3.0-or-later */
/* command.h: decode and encode the commands an MTA sends to a milter (protocol versions 2
 * to 6, which share one encoding). Pure: no I/O, no logging; decoding allocates nothing. */
#pragma once

#include <glib.h>

#define MM_COMMAND_ERROR (mm_command_error_quark())
GQuark mm_command_error_quark(void);

typedef enum {
  MM_COMMAND_ERROR_TRUNCATED,   /* the data ends before a field it must hold */
  MM_COMMAND_ERROR_MISSING_NUL, /* a string runs to the end of the data without its NUL */
  MM_COMMAND_ERROR_UNKNOWN,     /* a command code this protocol does not define */
  MM_COMMAND_ERROR_BAD_VALUE,   /* a field holds a value the protocol does not allow */
} MmCommandError;

/* A run of NUL-terminated strings, pointing into a packet's data. A decoded run always
 * ends with a NUL (or is empty). */
typedef struct {
  const guint8 *data;
  gsize length;
} MmStrings;

/* mm_strings_next - take the first string off S; FALSE when S is exhausted */
gboolean mm_strings_next(MmStrings *s, const char **string);

/* mm_strings_count - how many strings S holds */
gsize mm_strings_count(const MmStrings *s);

/* One decoded command. Its pointers point into the packet data it was decoded from and
 * are valid as long as that data is. */
typedef struct {
  char code;
  union {
    struct {
      guint32 version, actions, steps;
    } negotiate;
    struct {
      char command;    /* the command whose stage these macros belong to */
      MmStrings pairs; /* name, value, name, value, ... (an even number, maybe none) */
    } macro;
    struct {
      const char *host;
      char family;         /* MM_FAMILY_* */
      guint16 port;        /* 0 for MM_FAMILY_UNKNOWN */
      const char *address; /* "" for MM_FAMILY_UNKNOWN */
    } connect;
    struct {
      const char *fqdn;
    } helo;
    struct {
      const char *address;
      MmStrings args; /* ESMTP arguments of MAIL FROM / RCPT TO */
    } envelope;       /* MAIL and RCPT */
    struct {
      const char *name;
      const char *value;
    } header;
    struct {
      const guint8 *data;
      gsize length;
    } body; /* BODY and END_OF_MESSAGE (whose data, if any, is a last body chunk) */
    struct {
      const char *line;
    } unknown;
  } u;
} MmCommand;

/* mm_command_name - a lower-case name for CODE for logs ("end-of-message"); NULL when
 * CODE is not a command */
const char *mm_command_name(char code);

/* mm_command_decode - decode the DATA of a packet with CODE into *COMMAND (set only on
 * success). The packet's length limit is the framing's business (mm_packet_next). */
gboolean mm_command_decode(char code, const guint8 *data, gsize length, MmCommand *command,
                           GError **error);

/* The encoders each append one whole packet (length prefix included) to OUT. They do not
 * split long data: the caller sends body chunks of at most the negotiated data size. */

/* mm_command_encode - re-encode a decoded (or hand-built) command */
void mm_command_encode(GByteArray *out, const MmCommand *command);

/* mm_command_encode_negotiate - OPTNEG: the MTA's version, offered actions and steps */
void mm_command_encode_negotiate(GByteArray *out, guint32 version, guint32 actions,
                                 guint32 steps);

/* mm_command_encode_macro - the N macros NAMES[i]=VALUES[i] for the stage of COMMAND;
 * N may be 0 (a NULL value is sent as "") */
void mm_command_encode_macro(GByteArray *out, char command, const char *const *names,
                             const char *const *values, gsize n);

/* mm_command_encode_macro_pairs - macros for COMMAND given as a run of name/value pairs */
void mm_command_encode_macro_pairs(GByteArray *out, char command, const MmStrings *pairs);

/* mm_command_encode_connect - CONNECT; PORT and ADDRESS are not sent for MM_FAMILY_UNKNOWN */
void mm_command_encode_connect(GByteArray *out, const char *host, char family, guint16 port,
                               const char *address);

/* mm_command_encode_helo - HELO/EHLO */
void mm_command_encode_helo(GByteArray *out, const char *fqdn);

/* mm_command_encode_envelope - MAIL or RCPT (CODE) with ADDRESS and a NULL-terminated
 * list of ESMTP ARGS (NULL for none) */
void mm_command_encode_envelope(GByteArray *out, char code, const char *address,
                                const char *const *args);

/* mm_command_encode_envelope_strings - MAIL or RCPT with ARGS as a run of strings */
void mm_command_encode_envelope_strings(GByteArray *out, char code, const char *address,
                                        const MmStrings *args);

/* mm_command_encode_header - one header */
void mm_command_encode_header(GByteArray *out, const char *name, const char *value);

/* mm_command_encode_body - BODY or END_OF_MESSAGE (CODE) carrying LENGTH bytes of DATA */
void mm_command_encode_body(GByteArray *out, char code, const guint8 *data, gsize length);

/* mm_command_encode_unknown - an SMTP command the MTA did not recognise */
void mm_command_encode_unknown(GByteArray *out, const char *line);

/* mm_command_encode_simple - a command without data: ABORT, END_OF_HEADER, DATA, QUIT,
 * QUIT_NEW_CONNECTION */
void mm_command_encode_simple(GByteArray *out, char code);
