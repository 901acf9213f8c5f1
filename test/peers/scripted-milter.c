/* SPDX-License-Identifier: GPL-3.0-or-later */
/* scripted-milter.c: a child milter for tests, written against Sendmail's libmilter; its
 * verdicts, replies, end-of-message edits and negotiation come from the command line. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

/* Limits: this is a test tool, but bad options must still fail cleanly. */
#define SM_MAX_EDITS 256
#define SM_MAX_REJECT_RCPTS 64
#define SM_RECORD_LINE_MAX (256 * 1024)

typedef enum {
  SM_STAGE_CONNECT, SM_STAGE_HELO, SM_STAGE_MAIL, SM_STAGE_RCPT, SM_STAGE_DATA,
  SM_STAGE_HEADER, SM_STAGE_EOH, SM_STAGE_BODY, SM_STAGE_EOM, SM_STAGE_UNKNOWN,
  SM_STAGE_ABORT, SM_STAGE_COUNT
} SmStage;

static const char *const sm_stage_names[SM_STAGE_COUNT] = {
  "connect", "helo", "mail", "rcpt", "data", "header", "eoh", "body", "eom", "unknown", "abort",
};

/* Protocol flags that tell the MTA not to send a stage (-1: stage cannot be suppressed). */
static const long sm_stage_no_flag[SM_STAGE_COUNT] = {
  SMFIP_NOCONNECT, SMFIP_NOHELO, SMFIP_NOMAIL, SMFIP_NORCPT, SMFIP_NODATA,
  SMFIP_NOHDRS, SMFIP_NOEOH, SMFIP_NOBODY, -1, SMFIP_NOUNKNOWN, -1,
};

/* Protocol flags that tell the MTA not to wait for a reply (-1: a reply is mandatory). */
static const long sm_stage_nr_flag[SM_STAGE_COUNT] = {
  SMFIP_NR_CONN, SMFIP_NR_HELO, SMFIP_NR_MAIL, SMFIP_NR_RCPT, SMFIP_NR_DATA,
  SMFIP_NR_HDR, SMFIP_NR_EOH, SMFIP_NR_BODY, -1, SMFIP_NR_UNKN, -1,
};

/* Macro stages for smfi_setsymlist (-1: libmilter has no list for that stage). */
static const int sm_stage_macro_stage[SM_STAGE_COUNT] = {
  SMFIM_CONNECT, SMFIM_HELO, SMFIM_ENVFROM, SMFIM_ENVRCPT, SMFIM_DATA,
  -1, SMFIM_EOH, -1, SMFIM_EOM, -1, -1,
};

/* Macros looked up for --record: libmilter cannot enumerate what the MTA sent. */
static const char *const sm_known_macros[] = {
  "j", "_", "i", "v", "{daemon_name}", "{daemon_addr}", "{daemon_port}", "{if_name}", "{if_addr}",
  "{client_addr}", "{client_port}", "{client_name}", "{client_ptr}", "{client_resolve}",
  "{client_connections}", "{auth_type}", "{auth_authen}", "{auth_author}", "{mail_addr}",
  "{mail_host}", "{mail_mailer}", "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}",
  "{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}", "{cert_issuer}", "{tls_sni}",
  NULL,
};

typedef enum {
  SM_EDIT_ADD_HEADER, SM_EDIT_INSERT_HEADER, SM_EDIT_CHANGE_HEADER, SM_EDIT_REPLACE_BODY,
  SM_EDIT_ADD_RCPT, SM_EDIT_DELETE_RCPT, SM_EDIT_CHANGE_FROM, SM_EDIT_QUARANTINE,
  SM_EDIT_PROGRESS,
} SmEditKind;

typedef struct {
  SmEditKind kind;
  char *name;   /* header name, address, reason or body text */
  char *value;  /* header value or ESMTP arguments, may be NULL */
  int index;    /* header index or progress count */
} SmEdit;

typedef struct {
  char *code;   /* "550" */
  char *xcode;  /* "5.7.1" or NULL */
  char *text;   /* may be NULL */
} SmReply;

typedef struct {
  const char *spec;
  const char *name;
  sfsistat status[SM_STAGE_COUNT];
  SmReply reply[SM_STAGE_COUNT];
  long delay_ms[SM_STAGE_COUNT];
  char *symlist[SM_STAGE_COUNT];
  unsigned long protocol;       /* extra SMFIP_* bits to request */
  SmEdit edits[SM_MAX_EDITS];
  int n_edits;
  char *reject_rcpts[SM_MAX_REJECT_RCPTS];
  int n_reject_rcpts;
  char **extra_macros;          /* names from --symlist, also recorded */
  int record_fd;
} SmConfig;

static SmConfig sm_config;

/* sm_die - report a bad command line and exit */
static void
sm_die(const char *format, ...)
{
  va_list args;
  va_start(args, format);
  fputs("scripted-milter: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(2);
}

/* sm_stage_parse - stage name to enum, or exit */
static SmStage
sm_stage_parse(const char *name, size_t length)
{
  for (int i = 0; i < SM_STAGE_COUNT; i++) {
    if (strlen(sm_stage_names[i]) == length && strncmp(sm_stage_names[i], name, length) == 0)
      return (SmStage)i;
  }
  sm_die("unknown stage '%.*s' (connect helo mail rcpt data header eoh body eom unknown abort)",
         (int)length, name);
  return SM_STAGE_COUNT;
}

/* sm_status_parse - status name to libmilter's sfsistat, or exit */
static sfsistat
sm_status_parse(const char *name)
{
  static const struct { const char *name; sfsistat status; } table[] = {
    {"continue", SMFIS_CONTINUE}, {"accept", SMFIS_ACCEPT}, {"reject", SMFIS_REJECT},
    {"tempfail", SMFIS_TEMPFAIL}, {"discard", SMFIS_DISCARD}, {"skip", SMFIS_SKIP},
    {"noreply", SMFIS_NOREPLY},
  };
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    if (strcmp(table[i].name, name) == 0)
      return table[i].status;
  }
  sm_die("unknown status '%s' (continue accept reject tempfail discard skip noreply)", name);
  return SMFIS_CONTINUE;
}

/* sm_split_stage - split "STAGE=REST" into the stage and REST, or exit */
static SmStage
sm_split_stage(const char *option, const char *arg, const char **rest)
{
  const char *equal = strchr(arg, '=');
  if (equal == NULL)
    sm_die("%s wants STAGE=VALUE, got '%s'", option, arg);
  *rest = equal + 1;
  return sm_stage_parse(arg, (size_t)(equal - arg));
}

/* sm_unescape - a copy of TEXT with \n as CRLF, \t, \r and \\ decoded */
static char *
sm_unescape(const char *text)
{
  char *out = malloc(strlen(text) * 2 + 1);
  char *p = out;
  if (out == NULL)
    sm_die("out of memory");
  for (; *text != '\0'; text++) {
    if (*text != '\\' || text[1] == '\0') {
      *p++ = *text;
      continue;
    }
    text++;
    switch (*text) {
    case 'n': *p++ = '\r'; *p++ = '\n'; break;
    case 'r': *p++ = '\r'; break;
    case 't': *p++ = '\t'; break;
    default: *p++ = *text; break;
    }
  }
  *p = '\0';
  return out;
}

/* sm_reply_parse - "550 5.7.1 text" into the parts smfi_setreply takes, or exit */
static void
sm_reply_parse(const char *text, SmReply *reply)
{
  char *copy = strdup(text);
  char *code = strtok(copy, " ");
  char *rest = code == NULL ? NULL : strtok(NULL, "");
  if (code == NULL || strlen(code) != 3 || (code[0] != '4' && code[0] != '5'))
    sm_die("--reply-code wants '4XX|5XX [X.Y.Z] [text]', got '%s'", text);
  reply->code = code;
  reply->xcode = NULL;
  reply->text = NULL;
  if (rest != NULL) {
    size_t span = strspn(rest, "0123456789.");
    if (span > 0 && (rest[span] == ' ' || rest[span] == '\0') && strchr(rest, '.') != NULL
        && (size_t)(strchr(rest, '.') - rest) < span) {
      reply->xcode = rest;
      rest = rest[span] == '\0' ? NULL : rest + span + 1;
      reply->xcode[span] = '\0';
    }
    reply->text = rest;
  }
}

/* sm_edit_add - append one end-of-message edit, in command-line order */
static SmEdit *
sm_edit_add(SmEditKind kind)
{
  if (sm_config.n_edits >= SM_MAX_EDITS)
    sm_die("more than %d end-of-message edits", SM_MAX_EDITS);
  SmEdit *edit = &sm_config.edits[sm_config.n_edits++];
  memset(edit, 0, sizeof(*edit));
  edit->kind = kind;
  return edit;
}

/* sm_split_at - split a copy of TEXT at the first ':' into head and tail (NULL without ':') */
static char *
sm_split_at(const char *text, char **tail)
{
  char *copy = strdup(text);
  char *colon = strchr(copy, ':');
  *tail = NULL;
  if (colon != NULL) {
    *colon = '\0';
    *tail = colon + 1;
  }
  return copy;
}

static void sm_record(SMFICTX *ctx, const char *what, const char *format, ...)
  __attribute__((format(printf, 3, 4)));

/* sm_escape_into - append VALUE to BUF with spaces, controls and 8-bit bytes escaped */
static size_t
sm_escape_into(char *buf, size_t used, size_t size, const char *value, size_t length)
{
  for (size_t i = 0; i < length && used + 5 < size; i++) {
    unsigned char c = (unsigned char)value[i];
    if (c == '\\') {
      buf[used++] = '\\'; buf[used++] = '\\';
    } else if (c == ' ') {
      buf[used++] = '\\'; buf[used++] = 's';
    } else if (c == '\r') {
      buf[used++] = '\\'; buf[used++] = 'r';
    } else if (c == '\n') {
      buf[used++] = '\\'; buf[used++] = 'n';
    } else if (c == '\t') {
      buf[used++] = '\\'; buf[used++] = 't';
    } else if (c < 0x20 || c >= 0x7f) {
      used += (size_t)snprintf(buf + used, size - used, "\\x%02x", c);
    } else {
      buf[used++] = (char)c;
    }
  }
  return used;
}

/* sm_record_macro - append " macro NAME=VALUE" when the MTA defined NAME */
static size_t
sm_record_macro(SMFICTX *ctx, char *buf, size_t used, size_t size, const char *name)
{
  char *value = smfi_getsymval(ctx, (char *)name);
  if (value == NULL || used + strlen(name) + 16 >= size)
    return used;
  used += (size_t)snprintf(buf + used, size - used, " macro %s=", name);
  return sm_escape_into(buf, used, size, value, strlen(value));
}

/* sm_record - append one line "WHAT [fields] macro NAME=VALUE..." to the --record file */
static void
sm_record(SMFICTX *ctx, const char *what, const char *format, ...)
{
  if (sm_config.record_fd < 0)
    return;
  char *buf = malloc(SM_RECORD_LINE_MAX);
  if (buf == NULL)
    return;
  size_t used = (size_t)snprintf(buf, SM_RECORD_LINE_MAX, "%s", what);
  if (format != NULL) {
    va_list args;
    va_start(args, format);
    int n = vsnprintf(buf + used, SM_RECORD_LINE_MAX - used, format, args);
    va_end(args);
    if (n > 0)
      used += (size_t)n < SM_RECORD_LINE_MAX - used ? (size_t)n : SM_RECORD_LINE_MAX - used - 1;
  }
  if (ctx != NULL) {
    for (int i = 0; sm_known_macros[i] != NULL; i++)
      used = sm_record_macro(ctx, buf, used, SM_RECORD_LINE_MAX, sm_known_macros[i]);
    for (int i = 0; sm_config.extra_macros != NULL && sm_config.extra_macros[i] != NULL; i++)
      used = sm_record_macro(ctx, buf, used, SM_RECORD_LINE_MAX, sm_config.extra_macros[i]);
  }
  if (used >= SM_RECORD_LINE_MAX - 1)
    used = SM_RECORD_LINE_MAX - 2;
  buf[used++] = '\n';
  /* One write on an O_APPEND descriptor keeps lines whole across threads and processes. */
  if (write(sm_config.record_fd, buf, used) < 0)
    perror("scripted-milter: --record");
  free(buf);
}

/* sm_field - " KEY=VALUE" escaped, in a new buffer the caller frees */
static char *
sm_field(const char *key, const char *value, size_t length)
{
  size_t size = strlen(key) + length * 4 + 8;
  char *buf = malloc(size);
  if (buf == NULL)
    return strdup("");
  size_t used = (size_t)snprintf(buf, size, " %s=", key);
  used = sm_escape_into(buf, used, size, value == NULL ? "" : value, value == NULL ? 0 : length);
  buf[used] = '\0';
  return buf;
}

/* sm_finish - apply the stage's delay, reply code and verdict */
static sfsistat
sm_finish(SMFICTX *ctx, SmStage stage)
{
  if (sm_config.delay_ms[stage] > 0) {
    struct timespec t = { sm_config.delay_ms[stage] / 1000, (sm_config.delay_ms[stage] % 1000) * 1000000L };
    while (nanosleep(&t, &t) < 0 && errno == EINTR)
      ;
  }
  if (sm_stage_nr_flag[stage] >= 0 && (sm_config.protocol & (unsigned long)sm_stage_nr_flag[stage]))
    return SMFIS_NOREPLY;
  sfsistat status = sm_config.status[stage];
  const SmReply *reply = &sm_config.reply[stage];
  if (reply->code != NULL && (status == SMFIS_REJECT || status == SMFIS_TEMPFAIL)) {
    if (smfi_setreply(ctx, reply->code, reply->xcode, reply->text) != MI_SUCCESS)
      sm_record(NULL, "error", " setreply-failed stage=%s", sm_stage_names[stage]);
  }
  return status;
}

/* sm_negotiate - request every offered action, the chosen protocol bits and macro lists */
static sfsistat
sm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
             unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
  (void)f2; (void)f3;
  sm_record(NULL, "negotiate", " actions=0x%lx protocol=0x%lx", f0, f1);
  *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR | SMFIF_DELRCPT
               | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_CHGFROM | SMFIF_SETSYMLIST);
  *pf1 = f1 & (SMFIP_SKIP | sm_config.protocol);
  *pf2 = 0;
  *pf3 = 0;
  if ((sm_config.protocol & ~f1) != 0)
    sm_record(NULL, "error", " protocol-not-offered=0x%lx", sm_config.protocol & ~f1);
  for (int i = 0; i < SM_STAGE_COUNT; i++) {
    if (sm_config.symlist[i] != NULL
        && smfi_setsymlist(ctx, sm_stage_macro_stage[i], sm_config.symlist[i]) != MI_SUCCESS)
      sm_record(NULL, "error", " setsymlist-failed stage=%s", sm_stage_names[i]);
  }
  return SMFIS_CONTINUE;
}

/* sm_connect - record the client's host and address */
static sfsistat
sm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
  char text[INET6_ADDRSTRLEN] = "";
  const char *family = "unknown";
  unsigned port = 0;
  if (addr != NULL && addr->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)addr;
    family = "inet";
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    port = ntohs(in->sin_port);
  } else if (addr != NULL && addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)addr;
    family = "inet6";
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    port = ntohs(in6->sin6_port);
  } else if (addr != NULL && addr->sa_family == AF_UNIX) {
    family = "unix";
  }
  char *h = sm_field("host", host, host == NULL ? 0 : strlen(host));
  sm_record(ctx, "connect", "%s family=%s addr=%s port=%u", h, family, text, port);
  free(h);
  return sm_finish(ctx, SM_STAGE_CONNECT);
}

/* sm_helo - record the HELO argument */
static sfsistat
sm_helo(SMFICTX *ctx, char *helo)
{
  char *f = sm_field("name", helo, helo == NULL ? 0 : strlen(helo));
  sm_record(ctx, "helo", "%s", f);
  free(f);
  return sm_finish(ctx, SM_STAGE_HELO);
}

/* sm_record_argv - record an envelope command: address then ESMTP arguments */
static void
sm_record_argv(SMFICTX *ctx, const char *what, const char *key, char **argv)
{
  size_t size = 64;
  for (int i = 0; argv[i] != NULL; i++)
    size += strlen(argv[i]) * 4 + 8;
  char *line = calloc(1, size);
  if (line == NULL)
    return;
  for (int i = 0; argv[i] != NULL; i++) {
    char *f = sm_field(i == 0 ? key : "arg", argv[i], strlen(argv[i]));
    strcat(line, f);
    free(f);
  }
  sm_record(ctx, what, "%s", line);
  free(line);
}

/* sm_envfrom - record MAIL FROM */
static sfsistat
sm_envfrom(SMFICTX *ctx, char **argv)
{
  sm_record_argv(ctx, "mail", "from", argv);
  return sm_finish(ctx, SM_STAGE_MAIL);
}

/* sm_envrcpt - record RCPT TO; --reject-rcpt addresses are rejected one by one */
static sfsistat
sm_envrcpt(SMFICTX *ctx, char **argv)
{
  sm_record_argv(ctx, "rcpt", "to", argv);
  for (int i = 0; i < sm_config.n_reject_rcpts; i++) {
    if (strcasestr(argv[0], sm_config.reject_rcpts[i]) != NULL) {
      const SmReply *reply = &sm_config.reply[SM_STAGE_RCPT];
      if (reply->code != NULL)
        smfi_setreply(ctx, reply->code, reply->xcode, reply->text);
      return SMFIS_REJECT;
    }
  }
  return sm_finish(ctx, SM_STAGE_RCPT);
}

/* sm_data - record DATA */
static sfsistat
sm_data(SMFICTX *ctx)
{
  sm_record(ctx, "data", NULL);
  return sm_finish(ctx, SM_STAGE_DATA);
}

/* sm_header - record one header */
static sfsistat
sm_header(SMFICTX *ctx, char *name, char *value)
{
  char *n = sm_field("name", name, strlen(name));
  char *v = sm_field("value", value, strlen(value));
  sm_record(ctx, "header", "%s%s", n, v);
  free(n);
  free(v);
  return sm_finish(ctx, SM_STAGE_HEADER);
}

/* sm_eoh - record end of headers */
static sfsistat
sm_eoh(SMFICTX *ctx)
{
  sm_record(ctx, "eoh", NULL);
  return sm_finish(ctx, SM_STAGE_EOH);
}

/* sm_body - record one body chunk */
static sfsistat
sm_body(SMFICTX *ctx, unsigned char *chunk, size_t length)
{
  char *d = sm_field("data", (const char *)chunk, length);
  sm_record(ctx, "body", " length=%zu%s", length, d);
  free(d);
  return sm_finish(ctx, SM_STAGE_BODY);
}

/* sm_apply_edit - perform one end-of-message edit through libmilter */
static int
sm_apply_edit(SMFICTX *ctx, const SmEdit *edit)
{
  switch (edit->kind) {
  case SM_EDIT_ADD_HEADER:
    return smfi_addheader(ctx, edit->name, edit->value);
  case SM_EDIT_INSERT_HEADER:
    return smfi_insheader(ctx, edit->index, edit->name, edit->value);
  case SM_EDIT_CHANGE_HEADER:
    return smfi_chgheader(ctx, edit->name, edit->index,
                          edit->value[0] == '\0' ? NULL : edit->value);
  case SM_EDIT_REPLACE_BODY:
    return smfi_replacebody(ctx, (unsigned char *)edit->name, (int)strlen(edit->name));
  case SM_EDIT_ADD_RCPT:
    return edit->value == NULL ? smfi_addrcpt(ctx, edit->name)
                               : smfi_addrcpt_par(ctx, edit->name, edit->value);
  case SM_EDIT_DELETE_RCPT:
    return smfi_delrcpt(ctx, edit->name);
  case SM_EDIT_CHANGE_FROM:
    return smfi_chgfrom(ctx, edit->name, edit->value);
  case SM_EDIT_QUARANTINE:
    return smfi_quarantine(ctx, edit->name);
  case SM_EDIT_PROGRESS:
    for (int i = 0; i < edit->index; i++) {
      if (smfi_progress(ctx) != MI_SUCCESS)
        return MI_FAILURE;
    }
    return MI_SUCCESS;
  }
  return MI_FAILURE;
}

/* sm_eom - record end of message, then perform the scripted edits in order */
static sfsistat
sm_eom(SMFICTX *ctx)
{
  sm_record(ctx, "eom", NULL);
  for (int i = 0; i < sm_config.n_edits; i++) {
    if (sm_apply_edit(ctx, &sm_config.edits[i]) != MI_SUCCESS)
      sm_record(NULL, "error", " edit-failed index=%d", i);
  }
  return sm_finish(ctx, SM_STAGE_EOM);
}

/* sm_abort - record an aborted transaction */
static sfsistat
sm_abort(SMFICTX *ctx)
{
  sm_record(ctx, "abort", NULL);
  return sm_finish(ctx, SM_STAGE_ABORT);
}

/* sm_close - record the end of the MTA's connection */
static sfsistat
sm_close(SMFICTX *ctx)
{
  sm_record(NULL, "close", NULL);
  (void)ctx;
  return SMFIS_CONTINUE;
}

/* sm_unknown - record an SMTP command the MTA did not know */
static sfsistat
sm_unknown(SMFICTX *ctx, const char *command)
{
  char *c = sm_field("command", command, strlen(command));
  sm_record(ctx, "unknown", "%s", c);
  free(c);
  return sm_finish(ctx, SM_STAGE_UNKNOWN);
}

/* sm_usage - print the options */
static void
sm_usage(FILE *out)
{
  fputs("Usage: scripted-milter -s SPEC [options]\n"
        "  -s, --socket SPEC              unix:/path or inet:PORT@127.0.0.1\n"
        "  --name NAME                    filter name for libmilter's logs\n"
        "  --action STAGE=STATUS          continue accept reject tempfail discard skip noreply\n"
        "  --reply-code STAGE=CODE [X.Y.Z] [TEXT]   smfi_setreply when rejecting/tempfailing\n"
        "  --reject-rcpt TEXT             reject recipients containing TEXT (--reply-code rcpt=...)\n"
        "  --delay STAGE=MILLISECONDS     sleep before replying\n"
        "  --symlist STAGE=MACROS         smfi_setsymlist (connect helo mail rcpt data eoh eom)\n"
        "  --no-stage STAGE               ask the MTA not to send STAGE (SMFIP_NO*)\n"
        "  --no-reply STAGE               ask the MTA not to wait for a reply (SMFIP_NR_*)\n"
        "  --rcpt-rejected                SMFIP_RCPT_REJ\n"
        "  --leading-space                SMFIP_HDR_LEADSPC\n"
        "  at end of message, in order:\n"
        "  --add-header NAME:VALUE  --insert-header INDEX:NAME:VALUE\n"
        "  --change-header NAME:INDEX:VALUE (empty VALUE deletes)  --replace-body TEXT (\\n = CRLF)\n"
        "  --add-rcpt ADDR[:ARGS]  --delete-rcpt ADDR  --change-from ADDR[:ARGS]\n"
        "  --quarantine REASON  --progress N\n"
        "  --record FILE                  append one line per callback with arguments and macros\n",
        out);
}

enum {
  OPT_NAME = 256, OPT_ACTION, OPT_REPLY_CODE, OPT_REJECT_RCPT, OPT_DELAY, OPT_SYMLIST,
  OPT_NO_STAGE, OPT_NO_REPLY, OPT_RCPT_REJECTED, OPT_LEADING_SPACE, OPT_ADD_HEADER,
  OPT_INSERT_HEADER, OPT_CHANGE_HEADER, OPT_REPLACE_BODY, OPT_ADD_RCPT, OPT_DELETE_RCPT,
  OPT_CHANGE_FROM, OPT_QUARANTINE, OPT_PROGRESS, OPT_RECORD,
};

/* sm_parse_number - a non-negative decimal option value, or exit */
static long
sm_parse_number(const char *option, const char *text)
{
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 0 || value > 100000000)
    sm_die("%s wants a number, got '%s'", option, text);
  return value;
}

/* sm_add_symlist_names - remember --symlist macro names so --record looks them up too */
static void
sm_add_symlist_names(const char *macros)
{
  static int count;
  char *copy = strdup(macros);
  for (char *save = NULL, *name = strtok_r(copy, " ", &save); name != NULL;
       name = strtok_r(NULL, " ", &save)) {
    bool known = false;
    for (int i = 0; sm_known_macros[i] != NULL; i++)
      known = known || strcmp(sm_known_macros[i], name) == 0;
    if (known)
      continue;
    char **grown = realloc(sm_config.extra_macros, sizeof(char *) * (size_t)(count + 2));
    if (grown == NULL)
      sm_die("out of memory");
    sm_config.extra_macros = grown;
    sm_config.extra_macros[count++] = strdup(name);
    sm_config.extra_macros[count] = NULL;
  }
  free(copy);
}

/* sm_parse_edit - one end-of-message edit option */
static void
sm_parse_edit(int option, const char *arg)
{
  char *tail = NULL, *head, *tail2 = NULL;
  SmEdit *edit;
  switch (option) {
  case OPT_ADD_HEADER:
    head = sm_split_at(arg, &tail);
    if (tail == NULL)
      sm_die("--add-header wants NAME:VALUE");
    edit = sm_edit_add(SM_EDIT_ADD_HEADER);
    edit->name = head;
    edit->value = tail;
    break;
  case OPT_INSERT_HEADER:
    head = sm_split_at(arg, &tail);
    if (tail == NULL || strchr(tail, ':') == NULL)
      sm_die("--insert-header wants INDEX:NAME:VALUE");
    edit = sm_edit_add(SM_EDIT_INSERT_HEADER);
    edit->index = (int)sm_parse_number("--insert-header", head);
    edit->name = sm_split_at(tail, &tail2);
    edit->value = tail2;
    free(head);
    break;
  case OPT_CHANGE_HEADER:
    head = sm_split_at(arg, &tail);
    if (tail == NULL || strchr(tail, ':') == NULL)
      sm_die("--change-header wants NAME:INDEX:VALUE");
    edit = sm_edit_add(SM_EDIT_CHANGE_HEADER);
    edit->name = head;
    {
      char *index = sm_split_at(tail, &tail2);
      edit->index = (int)sm_parse_number("--change-header", index);
      edit->value = strdup(tail2);
      free(index);
    }
    break;
  case OPT_REPLACE_BODY:
    edit = sm_edit_add(SM_EDIT_REPLACE_BODY);
    edit->name = sm_unescape(arg);
    break;
  case OPT_ADD_RCPT:
  case OPT_CHANGE_FROM:
    edit = sm_edit_add(option == OPT_ADD_RCPT ? SM_EDIT_ADD_RCPT : SM_EDIT_CHANGE_FROM);
    edit->name = sm_split_at(arg, &tail);
    edit->value = tail;
    break;
  case OPT_DELETE_RCPT:
    edit = sm_edit_add(SM_EDIT_DELETE_RCPT);
    edit->name = strdup(arg);
    break;
  case OPT_QUARANTINE:
    edit = sm_edit_add(SM_EDIT_QUARANTINE);
    edit->name = strdup(arg);
    break;
  case OPT_PROGRESS:
    edit = sm_edit_add(SM_EDIT_PROGRESS);
    edit->index = (int)sm_parse_number("--progress", arg);
    break;
  default:
    break;
  }
}

/* sm_parse - fill sm_config from the command line, or exit */
static void
sm_parse(int argc, char **argv)
{
  static const struct option options[] = {
    {"socket", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
    {"name", required_argument, NULL, OPT_NAME},
    {"action", required_argument, NULL, OPT_ACTION},
    {"reply-code", required_argument, NULL, OPT_REPLY_CODE},
    {"reject-rcpt", required_argument, NULL, OPT_REJECT_RCPT},
    {"delay", required_argument, NULL, OPT_DELAY},
    {"symlist", required_argument, NULL, OPT_SYMLIST},
    {"no-stage", required_argument, NULL, OPT_NO_STAGE},
    {"no-reply", required_argument, NULL, OPT_NO_REPLY},
    {"rcpt-rejected", no_argument, NULL, OPT_RCPT_REJECTED},
    {"leading-space", no_argument, NULL, OPT_LEADING_SPACE},
    {"add-header", required_argument, NULL, OPT_ADD_HEADER},
    {"insert-header", required_argument, NULL, OPT_INSERT_HEADER},
    {"change-header", required_argument, NULL, OPT_CHANGE_HEADER},
    {"replace-body", required_argument, NULL, OPT_REPLACE_BODY},
    {"add-rcpt", required_argument, NULL, OPT_ADD_RCPT},
    {"delete-rcpt", required_argument, NULL, OPT_DELETE_RCPT},
    {"change-from", required_argument, NULL, OPT_CHANGE_FROM},
    {"quarantine", required_argument, NULL, OPT_QUARANTINE},
    {"progress", required_argument, NULL, OPT_PROGRESS},
    {"record", required_argument, NULL, OPT_RECORD},
    {NULL, 0, NULL, 0},
  };
  const char *rest;
  SmStage stage;
  int option;

  sm_config.name = "scripted-milter";
  sm_config.record_fd = -1;
  for (int i = 0; i < SM_STAGE_COUNT; i++)
    sm_config.status[i] = SMFIS_CONTINUE;
  while ((option = getopt_long(argc, argv, "s:h", options, NULL)) != -1) {
    switch (option) {
    case 's': sm_config.spec = optarg; break;
    case 'h': sm_usage(stdout); exit(0);
    case OPT_NAME: sm_config.name = optarg; break;
    case OPT_ACTION:
      stage = sm_split_stage("--action", optarg, &rest);
      sm_config.status[stage] = sm_status_parse(rest);
      break;
    case OPT_REPLY_CODE:
      stage = sm_split_stage("--reply-code", optarg, &rest);
      sm_reply_parse(rest, &sm_config.reply[stage]);
      break;
    case OPT_REJECT_RCPT:
      if (sm_config.n_reject_rcpts >= SM_MAX_REJECT_RCPTS)
        sm_die("more than %d --reject-rcpt", SM_MAX_REJECT_RCPTS);
      sm_config.reject_rcpts[sm_config.n_reject_rcpts++] = optarg;
      break;
    case OPT_DELAY:
      stage = sm_split_stage("--delay", optarg, &rest);
      sm_config.delay_ms[stage] = sm_parse_number("--delay", rest);
      break;
    case OPT_SYMLIST:
      stage = sm_split_stage("--symlist", optarg, &rest);
      if (sm_stage_macro_stage[stage] < 0)
        sm_die("--symlist: no macro list for stage %s", sm_stage_names[stage]);
      sm_config.symlist[stage] = strdup(rest);
      sm_add_symlist_names(rest);
      break;
    case OPT_NO_STAGE:
    case OPT_NO_REPLY: {
      stage = sm_stage_parse(optarg, strlen(optarg));
      long flag = option == OPT_NO_STAGE ? sm_stage_no_flag[stage] : sm_stage_nr_flag[stage];
      if (flag < 0)
        sm_die("stage %s cannot be %s", optarg, option == OPT_NO_STAGE ? "skipped" : "unanswered");
      sm_config.protocol |= (unsigned long)flag;
      break;
    }
    case OPT_RCPT_REJECTED: sm_config.protocol |= SMFIP_RCPT_REJ; break;
    case OPT_LEADING_SPACE: sm_config.protocol |= SMFIP_HDR_LEADSPC; break;
    case OPT_RECORD:
      sm_config.record_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (sm_config.record_fd < 0)
        sm_die("--record %s: %s", optarg, strerror(errno));
      break;
    case '?':
      sm_usage(stderr);
      exit(2);
    default:
      sm_parse_edit(option, optarg);
      break;
    }
  }
  if (sm_config.spec == NULL || optind != argc) {
    sm_usage(stderr);
    exit(2);
  }
}

/* main - register with libmilter, open the socket and serve until SIGTERM/SIGINT/SIGHUP */
int
main(int argc, char **argv)
{
  struct smfiDesc description = {
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR
                  | SMFIF_DELRCPT | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_CHGFROM
                  | SMFIF_SETSYMLIST,
    .xxfi_connect = sm_connect, .xxfi_helo = sm_helo, .xxfi_envfrom = sm_envfrom,
    .xxfi_envrcpt = sm_envrcpt, .xxfi_header = sm_header, .xxfi_eoh = sm_eoh,
    .xxfi_body = sm_body, .xxfi_eom = sm_eom, .xxfi_abort = sm_abort, .xxfi_close = sm_close,
    .xxfi_unknown = sm_unknown, .xxfi_data = sm_data, .xxfi_negotiate = sm_negotiate,
  };
  sm_parse(argc, argv);
  description.xxfi_name = (char *)sm_config.name;
  if (smfi_setconn((char *)sm_config.spec) != MI_SUCCESS)
    sm_die("bad socket spec '%s'", sm_config.spec);
  if (smfi_register(description) != MI_SUCCESS)
    sm_die("smfi_register failed");
  /* The MTA's daemons do not run as root: the UNIX socket must be writable by anyone. */
  mode_t old_mask = umask(0);
  int opened = smfi_opensocket(true);
  umask(old_mask);
  if (opened != MI_SUCCESS)
    sm_die("cannot open socket '%s' (in use, or bad path?)", sm_config.spec);
  printf("scripted-milter: listening on %s\n", sm_config.spec);
  fflush(stdout);
  /* libmilter's signal thread turns SIGTERM, SIGINT and SIGHUP into a clean return here. */
  int status = smfi_main();
  sm_record(NULL, "exit", " status=%d", status);
  return status == MI_SUCCESS ? 0 : 1;
}
