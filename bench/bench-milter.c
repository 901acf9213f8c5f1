/* SPDX-License-Identifier: GPL-3.0-or-later */
/* bench-milter.c: the benchmark's child milter, against Sendmail's libmilter: continue at every
 * stage; optionally work a fixed time at end of message (-e) and add one header (-n). */

#include <errno.h>
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Pending connections libmilter's listener may queue. */
#define BENCH_MILTER_BACKLOG 4096
/* The longest end-of-message delay accepted on the command line. */
#define BENCH_MILTER_MAX_DELAY_MS 60000

static long delay_ms;             /* end-of-message work; 0: none */
static const char *header_name;   /* header added at end of message; NULL: none */

/* The other stages only continue; libmilter needs each callback set, or it asks an MTA that
 * offers no protocol steps (the load generator) to leave the event out, and fails. */

/* slow_connect - continue */
static sfsistat
slow_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *address)
{
  (void)ctx, (void)host, (void)address;
  return SMFIS_CONTINUE;
}

/* slow_strings - continue (mail, rcpt) */
static sfsistat
slow_strings(SMFICTX *ctx, char **args)
{
  (void)ctx, (void)args;
  return SMFIS_CONTINUE;
}

/* slow_helo - continue */
static sfsistat
slow_helo(SMFICTX *ctx, char *fqdn)
{
  (void)ctx, (void)fqdn;
  return SMFIS_CONTINUE;
}

/* slow_header - continue */
static sfsistat
slow_header(SMFICTX *ctx, char *name, char *value)
{
  (void)ctx, (void)name, (void)value;
  return SMFIS_CONTINUE;
}

/* slow_body - continue */
static sfsistat
slow_body(SMFICTX *ctx, unsigned char *data, size_t length)
{
  (void)ctx, (void)data, (void)length;
  return SMFIS_CONTINUE;
}

/* slow_simple - continue (data, end of header, abort, close) */
static sfsistat
slow_simple(SMFICTX *ctx)
{
  (void)ctx;
  return SMFIS_CONTINUE;
}

/* slow_eom - wait DELAY_MS (as a scanner would work), add the header if asked, continue */
static sfsistat
slow_eom(SMFICTX *ctx)
{
  struct timespec rest = {.tv_sec = delay_ms / 1000, .tv_nsec = (delay_ms % 1000) * 1000000L};
  while (delay_ms > 0 && nanosleep(&rest, &rest) != 0 && errno == EINTR)
    ;
  if (header_name != NULL && smfi_addheader(ctx, (char *)header_name, "yes") != MI_SUCCESS)
    return SMFIS_TEMPFAIL;
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

/* usage - the command line, on standard error */
static int
usage(const char *program)
{
  fprintf(stderr, "usage: %s -s unix:PATH|inet:PORT@HOST [-e MS] [-n HEADER-NAME]\n", program);
  return 2;
}

/* main - bench-milter -s SPEC [-e MS] [-n HEADER-NAME] */
int
main(int argc, char **argv)
{
  const char *spec = NULL;
  int option;
  delay_ms = 0;
  while ((option = getopt(argc, argv, "s:e:n:")) != -1) {
    char *end = NULL;
    switch (option) {
    case 's': spec = optarg; break;
    case 'e':
      delay_ms = strtol(optarg, &end, 10);
      if (end == optarg || *end != '\0' || delay_ms < 0 || delay_ms > BENCH_MILTER_MAX_DELAY_MS) {
        fprintf(stderr, "bench-milter: -e takes 0 to %d milliseconds\n", BENCH_MILTER_MAX_DELAY_MS);
        return 2;
      }
      break;
    case 'n': header_name = optarg; break;
    default: return usage(argv[0]);
    }
  }
  if (spec == NULL || optind != argc)
    return usage(argv[0]);
  struct smfiDesc desc = {
    .xxfi_name = "bench-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = header_name != NULL ? SMFIF_ADDHDRS : 0,
    .xxfi_connect = slow_connect,
    .xxfi_helo = slow_helo,
    .xxfi_envfrom = slow_strings,
    .xxfi_envrcpt = slow_strings,
    .xxfi_header = slow_header,
    .xxfi_eoh = slow_simple,
    .xxfi_body = slow_body,
    .xxfi_eom = slow_eom,
    .xxfi_abort = slow_simple,
    .xxfi_close = slow_simple,
    .xxfi_data = slow_simple,
  };
  raise_file_limit();
  if (smfi_setconn((char *)spec) != MI_SUCCESS ||
      smfi_setbacklog(BENCH_MILTER_BACKLOG) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS ||
      smfi_opensocket(1) != MI_SUCCESS) {
    fprintf(stderr, "bench-milter: cannot listen on %s\n", spec);
    return 1;
  }
  return smfi_main() == MI_SUCCESS ? 0 : 1;
}
