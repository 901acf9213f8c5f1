/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-performance-check-mail.h: the mails the load client sends: generated ones or
 * RFC 5322 files, each with its envelope and its DATA payload ready for the wire. */
#pragma once

#include <glib.h>

/* Largest mail file read. */
#define MM_PERFORMANCE_MAIL_MAX_SIZE (64 * 1024 * 1024)
/* Deepest directory level read below a mail directory given on the command line. */
#define MM_PERFORMANCE_MAIL_MAX_DEPTH 16
/* Most recipients taken from one mail's To: and Cc: headers. */
#define MM_PERFORMANCE_MAIL_MAX_RECIPIENTS 100

typedef struct {
  char *name;         /* file name, or "generated" */
  char *from;         /* MAIL FROM address, without <> */
  GPtrArray *recipients; /* RCPT TO addresses */
  GBytes *data;       /* CRLF lines, dot-stuffed, ending with ".\r\n" */
} MmPerformanceMail;

/* What the command line says about envelopes. */
typedef struct {
  const char *from;              /* --from (default from@example.com) */
  const char *force_from;        /* --force-from, or NULL */
  const char *const *recipients; /* --recipient (default to@example.com), NULL-terminated */
  const char *const *force_recipients; /* --force-recipient, or NULL */
  guint n_additional_lines;      /* --n-additional-lines */
} MmPerformanceMailOptions;

void mm_performance_mail_free(MmPerformanceMail *mail);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmPerformanceMail, mm_performance_mail_free)

/* mm_performance_mail_generate - a small mail from the options alone */
MmPerformanceMail *mm_performance_mail_generate(const MmPerformanceMailOptions *options);

/* mm_performance_mail_new_from_text - a mail from the RFC 5322 TEXT of file NAME; its
 * From:, To: and Cc: give the envelope unless forced by the options */
MmPerformanceMail *mm_performance_mail_new_from_text(const char *name, const char *text,
                                                     gsize length,
                                                     const MmPerformanceMailOptions *options);

/* mm_performance_mail_load - PATH (a file, or a directory read recursively) appended
 * to MAILS; FALSE with an error naming the file */
gboolean mm_performance_mail_load(const char *path, const MmPerformanceMailOptions *options,
                                  GPtrArray *mails, GError **error);
