/* SPDX-License-Identifier: GPL-3.0-or-later */
/* capture-milter.c: a libmilter milter whose replies cover every reply code, for capture.sh
 * only (not built by make); the HELO name picks the behaviour of each session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

#define MODE_SIZE 64

/* mode_of - the session's mode, set from the HELO name */
static char *
mode_of(SMFICTX *ctx)
{
  return smfi_getpriv(ctx);
}

/* on_negotiate - ask for macro lists so that the negotiate reply carries them */
static sfsistat
on_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps, unsigned long f2,
             unsigned long f3, unsigned long *out_actions, unsigned long *out_steps,
             unsigned long *out_f2, unsigned long *out_f3)
{
  smfi_setsymlist(ctx, SMFIM_CONNECT, "{client_addr} j");
  smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_type} i");
  smfi_setsymlist(ctx, SMFIM_EOM, "{msg_id}");
  smfi_setsymlist(ctx, SMFIM_EOH, "i");
  *out_actions = actions;
  *out_steps = steps & (SMFIP_SKIP | SMFIP_HDR_LEADSPC);
  *out_f2 = 0;
  *out_f3 = 0;
  return SMFIS_CONTINUE;
}

/* on_connect - allocate the mode */
static sfsistat
on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *address)
{
  char *mode = calloc(1, MODE_SIZE);
  if (mode == NULL)
    return SMFIS_TEMPFAIL;
  smfi_setpriv(ctx, mode);
  return SMFIS_CONTINUE;
}

/* on_helo - the HELO name's first label is the mode */
static sfsistat
on_helo(SMFICTX *ctx, char *name)
{
  char *mode = mode_of(ctx);
  snprintf(mode, MODE_SIZE, "%.*s", (int)strcspn(name, "."), name);
  if (strcmp(mode, "helo-reject") == 0) {
    smfi_setreply(ctx, "550", "5.7.1", "go away");
    return SMFIS_REJECT;
  }
  if (strcmp(mode, "helo-tempfail") == 0)
    return SMFIS_TEMPFAIL;
  return SMFIS_CONTINUE;
}

/* on_mail - accept the whole message in mode mail-accept */
static sfsistat
on_mail(SMFICTX *ctx, char **args)
{
  return strcmp(mode_of(ctx), "mail-accept") == 0 ? SMFIS_ACCEPT : SMFIS_CONTINUE;
}

/* on_rcpt - the recipient's name picks the reply */
static sfsistat
on_rcpt(SMFICTX *ctx, char **args)
{
  if (strstr(args[0], "reject") != NULL)
    return SMFIS_REJECT;
  if (strstr(args[0], "discard") != NULL)
    return SMFIS_DISCARD;
  return SMFIS_CONTINUE;
}

/* on_body - skip the rest of the body in mode body-skip */
static sfsistat
on_body(SMFICTX *ctx, unsigned char *chunk, size_t length)
{
  return strcmp(mode_of(ctx), "body-skip") == 0 ? SMFIS_SKIP : SMFIS_CONTINUE;
}

/* on_eom - every modification, then a temporary failure with a reply code */
static sfsistat
on_eom(SMFICTX *ctx)
{
  if (strcmp(mode_of(ctx), "modify") != 0)
    return SMFIS_CONTINUE;
  smfi_progress(ctx);
  smfi_addheader(ctx, "X-Capture", "added");
  smfi_insheader(ctx, 0, "X-Inserted", "first");
  smfi_chgheader(ctx, "Subject", 1, "changed");
  smfi_chgheader(ctx, "X-Drop", 1, NULL);
  smfi_chgfrom(ctx, "<new-sender@example.org>", "SIZE=100");
  smfi_chgfrom(ctx, "<plain-sender@example.org>", NULL);
  smfi_addrcpt(ctx, "<added@example.org>");
  smfi_addrcpt_par(ctx, "<added-args@example.org>", "NOTIFY=NEVER");
  smfi_delrcpt(ctx, "<deleted@example.org>");
  smfi_replacebody(ctx, (unsigned char *)"replaced body\r\n", 15);
  smfi_quarantine(ctx, "held for capture");
  smfi_setreply(ctx, "450", "4.7.1", "come back later");
  return SMFIS_TEMPFAIL;
}

/* on_close - free the mode */
static sfsistat
on_close(SMFICTX *ctx)
{
  free(mode_of(ctx));
  smfi_setpriv(ctx, NULL);
  return SMFIS_CONTINUE;
}

int
main(int argc, char **argv)
{
  struct smfiDesc desc = {
    .xxfi_name = "capture",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT |
                  SMFIF_ADDRCPT_PAR | SMFIF_DELRCPT | SMFIF_QUARANTINE | SMFIF_CHGFROM |
                  SMFIF_SETSYMLIST,
    .xxfi_connect = on_connect,
    .xxfi_helo = on_helo,
    .xxfi_envfrom = on_mail,
    .xxfi_envrcpt = on_rcpt,
    .xxfi_body = on_body,
    .xxfi_eom = on_eom,
    .xxfi_close = on_close,
    .xxfi_negotiate = on_negotiate,
  };
  if (argc != 2) {
    fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
    return 2;
  }
  if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS)
    return 1;
  return smfi_main() == MI_SUCCESS ? 0 : 1;
}
