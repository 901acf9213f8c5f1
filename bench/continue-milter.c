/* SPDX-License-Identifier: GPL-3.0-or-later */
/* continue-milter.c: the benchmark's trivial child milter, written against Sendmail's
 * libmilter: it answers continue at every stage, so all its cost is libmilter's own. */

#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Pending connections libmilter's listener may queue: the benchmark opens 1,000 at once. */
#define CONTINUE_MILTER_BACKLOG 4096

/* continue_connect - continue */
static sfsistat
continue_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *address)
{
  (void)ctx, (void)host, (void)address;
  return SMFIS_CONTINUE;
}

/* continue_strings - continue (helo, mail, rcpt) */
static sfsistat
continue_strings(SMFICTX *ctx, char **args)
{
  (void)ctx, (void)args;
  return SMFIS_CONTINUE;
}

/* continue_helo - continue */
static sfsistat
continue_helo(SMFICTX *ctx, char *fqdn)
{
  (void)ctx, (void)fqdn;
  return SMFIS_CONTINUE;
}

/* continue_header - continue */
static sfsistat
continue_header(SMFICTX *ctx, char *name, char *value)
{
  (void)ctx, (void)name, (void)value;
  return SMFIS_CONTINUE;
}

/* continue_body - continue */
static sfsistat
continue_body(SMFICTX *ctx, unsigned char *data, size_t length)
{
  (void)ctx, (void)data, (void)length;
  return SMFIS_CONTINUE;
}

/* continue_simple - continue (data, end of header, end of message, abort, close) */
static sfsistat
continue_simple(SMFICTX *ctx)
{
  (void)ctx;
  return SMFIS_CONTINUE;
}

/* raise_file_limit - as many connections as the hard limit allows */
static void
raise_file_limit(void)
{
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

/* main - continue-milter -s SPEC */
int
main(int argc, char **argv)
{
  if (argc != 3 || strcmp(argv[1], "-s") != 0) {
    fprintf(stderr, "usage: %s -s unix:PATH|inet:PORT@HOST\n", argv[0]);
    return 2;
  }
  struct smfiDesc desc = {
    .xxfi_name = "continue-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = 0,
    .xxfi_connect = continue_connect,
    .xxfi_helo = continue_helo,
    .xxfi_envfrom = continue_strings,
    .xxfi_envrcpt = continue_strings,
    .xxfi_header = continue_header,
    .xxfi_eoh = continue_simple,
    .xxfi_body = continue_body,
    .xxfi_eom = continue_simple,
    .xxfi_abort = continue_simple,
    .xxfi_close = continue_simple,
    .xxfi_data = continue_simple,
  };
  raise_file_limit();
  if (smfi_setconn(argv[2]) != MI_SUCCESS || smfi_setbacklog(CONTINUE_MILTER_BACKLOG) != MI_SUCCESS ||
      smfi_register(desc) != MI_SUCCESS || smfi_opensocket(1) != MI_SUCCESS) {
    fprintf(stderr, "continue-milter: cannot listen on %s\n", argv[2]);
    return 1;
  }
  return smfi_main() == MI_SUCCESS ? 0 : 1;
}
