/* SPDX-License-Identifier: GPL-3.0-or-later */
/* launcher-protocol.h: the messages between the daemon and its privileged launcher (privilege
 * mode): milter-framed packets whose data are NUL-terminated text fields. Pure: no I/O. */
#pragma once

#include <glib.h>
#include <sys/types.h>

#define MM_LAUNCHER_PROTOCOL_ERROR (mm_launcher_protocol_error_quark())
GQuark mm_launcher_protocol_error_quark(void);

typedef enum {
  MM_LAUNCHER_PROTOCOL_ERROR_UNKNOWN_CODE, /* a code this protocol does not have */
  MM_LAUNCHER_PROTOCOL_ERROR_MALFORMED,    /* wrong number of fields, bad number, bad text */
  MM_LAUNCHER_PROTOCOL_ERROR_TOO_LONG,     /* a name longer than MM_LAUNCHER_PROTOCOL_MAX_NAME */
} MmLauncherProtocolError;

/* Largest packet data either side accepts; every message fits in it by construction. */
#define MM_LAUNCHER_PROTOCOL_MAX_DATA_LENGTH 4096
/* Longest milter name a launch request may carry (bytes, without the NUL). */
#define MM_LAUNCHER_PROTOCOL_MAX_NAME 1024
/* Longer free text (a refusal's reason) is cut to this many bytes on encoding. */
#define MM_LAUNCHER_PROTOCOL_MAX_TEXT 2048

/* Packet codes. Requests go from the daemon to the launcher, the others back. */
typedef enum {
  MM_LAUNCHER_LAUNCH = 'L',   /* request: name; start the milter NAME */
  MM_LAUNCHER_RELOAD = 'R',   /* request: none; re-read the configuration */
  MM_LAUNCHER_LAUNCHED = 'l', /* name, pid, user: NAME was started as PID running as USER */
  MM_LAUNCHER_REFUSED = 'r',  /* name, reason: NAME was not started */
  MM_LAUNCHER_EXITED = 'x',   /* name, pid, wait status: a started milter process ended */
  MM_LAUNCHER_RELOADED = 'c', /* count, error: COUNT launchable milters; ERROR "" on success */
} MmLauncherCode;

/* One decoded message. The strings point into the packet data (valid while it is). */
typedef struct {
  MmLauncherCode code;
  const char *name;   /* LAUNCH, LAUNCHED, REFUSED, EXITED */
  const char *text;   /* LAUNCHED: user; REFUSED: reason; RELOADED: error or "" */
  gint64 pid;         /* LAUNCHED, EXITED */
  int wait_status;    /* EXITED: as waitpid() reports it */
  guint count;        /* RELOADED */
} MmLauncherMessage;

/* mm_launcher_protocol_encode_launch - append a LAUNCH for NAME; FALSE if NAME is empty or
 * longer than MM_LAUNCHER_PROTOCOL_MAX_NAME (OUT is left as it was) */
gboolean mm_launcher_protocol_encode_launch(GByteArray *out, const char *name, GError **error);
/* mm_launcher_protocol_encode_reload - append a RELOAD */
void mm_launcher_protocol_encode_reload(GByteArray *out);
/* mm_launcher_protocol_encode_launched - append a LAUNCHED */
void mm_launcher_protocol_encode_launched(GByteArray *out, const char *name, pid_t pid,
                                          const char *user);
/* mm_launcher_protocol_encode_refused - append a REFUSED; REASON is cut to
 * MM_LAUNCHER_PROTOCOL_MAX_TEXT bytes at a character boundary */
void mm_launcher_protocol_encode_refused(GByteArray *out, const char *name, const char *reason);
/* mm_launcher_protocol_encode_exited - append an EXITED */
void mm_launcher_protocol_encode_exited(GByteArray *out, const char *name, pid_t pid,
                                        int wait_status);
/* mm_launcher_protocol_encode_reloaded - append a RELOADED; ERROR NULL on success */
void mm_launcher_protocol_encode_reloaded(GByteArray *out, guint count, const char *error);

/* mm_launcher_protocol_decode - check and decode one packet (CODE, DATA, LENGTH as
 * mm_packet_next found them) into *MESSAGE, set only on success */
gboolean mm_launcher_protocol_decode(char code, const guint8 *data, gsize length,
                                     MmLauncherMessage *message, GError **error);

/* mm_launcher_protocol_is_request - CODE is one the daemon sends */
gboolean mm_launcher_protocol_is_request(MmLauncherCode code);

/* mm_launcher_protocol_describe_wait_status - "exited with status 1", "killed by signal 9" */
char *mm_launcher_protocol_describe_wait_status(int wait_status);
