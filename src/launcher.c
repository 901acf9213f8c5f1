/* SPDX-License-Identifier: GPL-3.0-or-later */
/* launcher.c: privilege mode (see launcher.h and doc/privilege-mode.md): the daemon's end of
 * the launcher, and the launcher process itself, which keeps root only to start milters. */
/* pipe2, setresuid, setresgid, getgrouplist and close_range are GNU extensions. */

#include "build-config.h"

#include "src/launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "binding/ruby-config.h"
#include "libmilter-manager/launcher-protocol.h"
#include "libmilter-manager/log.h"
#include "libmilter-manager/packet.h"

G_DEFINE_QUARK(mm-launcher-error-quark, mm_launcher_error)

/* One record on the socket: a whole packet (SOCK_SEQPACKET keeps records whole, so that
 * several workers sharing the daemon's end never interleave their requests). */
#define RECORD_SIZE (MM_LAUNCHER_PROTOCOL_MAX_DATA_LENGTH + 5)

struct MmLauncher {
  int fd;   /* the daemon's end; -1 once the launcher is gone */
  pid_t pid;
  guint watch_id;
};

/* ---- The launcher process ---- */

/* What the launcher remembers of one milter it started, across reloads. */
typedef struct {
  pid_t pid;           /* running, 0 once reaped */
  gint64 launched_at;  /* monotonic us of the last start, 0 never */
} Launched;

typedef struct {
  int fd;
  MmConfig *config;
  MmLauncherLoadFunc load;
  gpointer load_data;
  GHashTable *launched; /* milter name -> Launched */
} Process;

/* Everything the forked child needs, prepared before the fork: after it, only
 * async-signal-safe calls are allowed. */
typedef struct {
  char *path;
  char **argv;
  char **envp;
  uid_t uid;
  gid_t gid;
  gid_t *groups;
  int n_groups;
  char *user_name;
} Spawn;

/* spawn_clear - free what prepare_spawn made */
static void
spawn_clear(Spawn *spawn)
{
  g_free(spawn->path);
  g_strfreev(spawn->argv);
  g_strfreev(spawn->envp);
  g_free(spawn->groups);
  g_free(spawn->user_name);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Spawn, spawn_clear)

/* send_record - one reply; a daemon that went away is noticed by the next read */
static void
send_record(Process *process, GByteArray *out)
{
  ssize_t n;
  do {
    n = send(process->fd, out->data, out->len, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  g_byte_array_set_size(out, 0);
}

/* find_program - ARGV0 as a path: as is with a '/', else looked up in MM_LAUNCHER_PATH */
static char *
find_program(const char *argv0, GError **error)
{
  if (strchr(argv0, '/') != NULL)
    return g_strdup(argv0);
  g_auto(GStrv) directories = g_strsplit(MM_LAUNCHER_PATH, ":", -1);
  for (guint i = 0; directories[i] != NULL; i++) {
    g_autofree char *path = g_build_filename(directories[i], argv0, NULL);
    if (access(path, X_OK) == 0)
      return g_steal_pointer(&path);
  }
  g_set_error(error, MM_LAUNCHER_ERROR, MM_LAUNCHER_ERROR_START, "%s: not found in %s", argv0,
              MM_LAUNCHER_PATH);
  return NULL;
}

/* prepare_spawn - the command line split shell-style, the user, its groups, a clean
 * environment; an unset milter.user_name keeps root (as 2.3 does: "systemctl start" needs it) */
static gboolean
prepare_spawn(const MmMilterConfig *milter, Spawn *spawn, GError **error)
{
  g_autofree char *line = g_strconcat(milter->command,
                                      milter->command_options != NULL ? " " : "",
                                      milter->command_options, NULL);
  if (!g_shell_parse_argv(line, NULL, &spawn->argv, error)) {
    g_prefix_error(error, "milter.command \"%s\": ", line);
    return FALSE;
  }
  spawn->path = find_program(spawn->argv[0], error);
  if (spawn->path == NULL)
    return FALSE;
  const char *user = milter->user_name != NULL && *milter->user_name != '\0'
                       ? milter->user_name : "root";
  errno = 0;
  struct passwd *pw = getpwnam(user);
  if (pw == NULL) {
    g_set_error(error, MM_LAUNCHER_ERROR, MM_LAUNCHER_ERROR_START,
                "milter.user_name \"%s\": no such user%s%s", user, errno != 0 ? ": " : "",
                errno != 0 ? g_strerror(errno) : "");
    return FALSE;
  }
  spawn->uid = pw->pw_uid;
  spawn->gid = pw->pw_gid;
  spawn->user_name = g_strdup(pw->pw_name);
  int n_groups = 16;
  spawn->groups = g_new(gid_t, n_groups);
  while (getgrouplist(pw->pw_name, pw->pw_gid, spawn->groups, &n_groups) < 0) {
    if (n_groups > NGROUPS_MAX + 1) {
      g_set_error(error, MM_LAUNCHER_ERROR, MM_LAUNCHER_ERROR_START,
                  "user %s: more than %d groups", pw->pw_name, NGROUPS_MAX);
      return FALSE;
    }
    spawn->groups = g_renew(gid_t, spawn->groups, n_groups);
  }
  spawn->n_groups = n_groups;
  spawn->envp = g_new0(char *, 5);
  spawn->envp[0] = g_strdup("PATH=" MM_LAUNCHER_PATH);
  spawn->envp[1] = g_strconcat("HOME=", pw->pw_dir, NULL);
  spawn->envp[2] = g_strconcat("USER=", pw->pw_name, NULL);
  spawn->envp[3] = g_strconcat("LOGNAME=", pw->pw_name, NULL);
  return TRUE;
}

/* Which step of exec_child failed, sent back over the error pipe with errno. */
typedef struct {
  int step;
  int error_number;
} ExecFailure;

static const char *const exec_steps[] = {"setsid", "/dev/null", "setgroups", "setresgid",
                                         "setresuid", "execve"};

/* exec_child - in the forked child: become the milter's user and run it; never returns.
 * Only async-signal-safe calls from here on. */
static G_GNUC_NORETURN void
exec_child(const Spawn *spawn, int error_fd)
{
  int step = 0;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Ignored signals stay ignored across execve: give the milter the defaults. */
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  for (int signo = 1; signo < NSIG; signo++)
    sigaction(signo, &dfl, NULL);
  if (setsid() < 0)
    goto failed;
  step++;
  int null_fd = open("/dev/null", O_RDWR);
  if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(null_fd, STDOUT_FILENO) < 0 ||
      dup2(null_fd, STDERR_FILENO) < 0 || chdir("/") < 0)
    goto failed;
  if (null_fd > STDERR_FILENO)
    close(null_fd);
  step++;
  if (setgroups((size_t)spawn->n_groups, spawn->groups) < 0)
    goto failed;
  step++;
  if (setresgid(spawn->gid, spawn->gid, spawn->gid) < 0)
    goto failed;
  step++;
  if (setresuid(spawn->uid, spawn->uid, spawn->uid) < 0)
    goto failed;
  step++;
  execve(spawn->path, spawn->argv, spawn->envp);
failed:;
  ExecFailure failure = {.step = step, .error_number = errno};
  if (write(error_fd, &failure, sizeof failure) < 0)
    _exit(127);
  _exit(127);
}

/* run_spawn - fork and exec; the error pipe (closed by a successful execve) says whether the
 * command really started */
static pid_t
run_spawn(const Spawn *spawn, GError **error)
{
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    g_set_error(error, MM_LAUNCHER_ERROR, MM_LAUNCHER_ERROR_START, "pipe: %s",
                g_strerror(errno));
    return -1;
  }
  /* A plain fork: the child execs at once and never runs Ruby again. */
  pid_t pid = fork();
  if (pid == 0)
    exec_child(spawn, pipe_fds[1]);
  int saved = errno;
  close(pipe_fds[1]);
  if (pid < 0) {
    close(pipe_fds[0]);
    g_set_error(error, MM_LAUNCHER_ERROR, MM_LAUNCHER_ERROR_START, "fork: %s",
                g_strerror(saved));
    return -1;
  }
  ExecFailure failure;
  ssize_t n;
  do {
    n = read(pipe_fds[0], &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  close(pipe_fds[0]);
  if (n == 0)
    return pid;
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
  if (n != sizeof failure || failure.step < 0 || failure.step >= (int)G_N_ELEMENTS(exec_steps))
    g_set_error(error, MM_LAUNCHER_ERROR, MM_LAUNCHER_ERROR_START,
                "the child failed before running %s", spawn->path);
  else
    g_set_error(error, MM_LAUNCHER_ERROR, MM_LAUNCHER_ERROR_START, "%s %s: %s",
                exec_steps[failure.step], failure.step == 5 ? spawn->path : spawn->user_name,
                g_strerror(failure.error_number));
  return -1;
}

/* reap - note milters that ended, and tell the daemon; by pid only, so that Ruby's own
 * children (a reload's detectors) are left to Ruby */
static void
reap(Process *process, GByteArray *out)
{
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init(&iter, process->launched);
  while (g_hash_table_iter_next(&iter, &key, &value)) {
    Launched *launched = value;
    int status;
    if (launched->pid <= 0)
      continue;
    pid_t reaped = waitpid(launched->pid, &status, WNOHANG);
    /* ECHILD: a Process.wait in a reload's Ruby code reaped it; it is gone all the same. */
    if (reaped < 0 && errno == ECHILD) {
      launched->pid = 0;
      continue;
    }
    if (reaped != launched->pid)
      continue;
    mm_launcher_protocol_encode_exited(out, key, launched->pid, status);
    send_record(process, out);
    launched->pid = 0;
  }
}

/* n_running - milters started and not yet reaped */
static guint
n_running(Process *process)
{
  guint n = 0;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init(&iter, process->launched);
  while (g_hash_table_iter_next(&iter, NULL, &value))
    n += ((Launched *)value)->pid > 0;
  return n;
}

/* refuse - a REFUSED for NAME with a formatted reason */
static void
refuse(Process *process, GByteArray *out, const char *name, const char *format, ...)
  G_GNUC_PRINTF(4, 5);
static void
refuse(Process *process, GByteArray *out, const char *name, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  g_autofree char *reason = g_strdup_vprintf(format, args);
  va_end(args);
  mm_launcher_protocol_encode_refused(out, name, reason);
  send_record(process, out);
}

/* handle_launch - start the milter NAME if it is defined, has a command, is not running and
 * was not started in the last MM_LAUNCHER_MIN_INTERVAL_SECONDS */
static void
handle_launch(Process *process, GByteArray *out, const char *name)
{
  const MmMilterConfig *milter = mm_config_find_milter(process->config, name);
  if (milter == NULL) {
    refuse(process, out, name, "no milter of that name is defined");
    return;
  }
  if (!process->config->privilege_mode) {
    refuse(process, out, name, "security.privilege_mode is off");
    return;
  }
  if (milter->command == NULL || *milter->command == '\0') {
    refuse(process, out, name, "it has no milter.command");
    return;
  }
  reap(process, out);
  Launched *launched = g_hash_table_lookup(process->launched, name);
  if (launched != NULL && launched->pid > 0) {
    refuse(process, out, name, "already running (pid %ld)", (long)launched->pid);
    return;
  }
  gint64 now = g_get_monotonic_time();
  if (launched != NULL && launched->launched_at != 0 &&
      now - launched->launched_at < MM_LAUNCHER_MIN_INTERVAL_SECONDS * G_USEC_PER_SEC) {
    refuse(process, out, name, "last start tried %" G_GINT64_FORMAT " s ago; at most one in %d s",
           (now - launched->launched_at) / G_USEC_PER_SEC, MM_LAUNCHER_MIN_INTERVAL_SECONDS);
    return;
  }
  g_auto(Spawn) spawn = {0};
  g_autoptr(GError) error = NULL;
  pid_t pid = -1;
  if (prepare_spawn(milter, &spawn, &error))
    pid = run_spawn(&spawn, &error);
  if (launched == NULL) {
    launched = g_new0(Launched, 1);
    g_hash_table_insert(process->launched, g_strdup(name), launched);
  }
  /* A failed start counts too: a broken command is not retried in a loop. */
  launched->launched_at = now;
  if (pid < 0) {
    refuse(process, out, name, "%s", error->message);
    return;
  }
  launched->pid = pid;
  mm_launcher_protocol_encode_launched(out, name, pid, spawn.user_name);
  send_record(process, out);
}

/* count_launchable - milters that have a command */
static guint
count_launchable(const MmConfig *config)
{
  guint n = 0;
  for (guint i = 0; config->milters != NULL && i < config->milters->len; i++) {
    const MmMilterConfig *milter = g_ptr_array_index(config->milters, i);
    n += milter->command != NULL && *milter->command != '\0';
  }
  return n;
}

/* handle_reload - re-read the configuration ourselves: the daemon never tells us what to run */
static void
handle_reload(Process *process, GByteArray *out)
{
  g_autoptr(GError) error = NULL;
  MmConfig *config = process->load(process->load_data, &error);
  if (config == NULL) {
    mm_launcher_protocol_encode_reloaded(out, count_launchable(process->config), error->message);
  } else {
    mm_config_unref(process->config);
    process->config = config;
    mm_launcher_protocol_encode_reloaded(out, count_launchable(config), NULL);
  }
  send_record(process, out);
}

/* handle_record - every packet of one record; FALSE ends the launcher (a daemon that sends
 * garbage is not one to serve) */
static gboolean
handle_record(Process *process, const guint8 *buffer, gsize length, GByteArray *out)
{
  while (length > 0) {
    char code;
    const guint8 *data;
    gsize data_length, consumed;
    MmLauncherMessage message;
    if (mm_packet_next(buffer, length, MM_LAUNCHER_PROTOCOL_MAX_DATA_LENGTH, &code, &data,
                       &data_length, &consumed, NULL) != MM_PACKET_READY ||
        !mm_launcher_protocol_decode(code, data, data_length, &message, NULL) ||
        !mm_launcher_protocol_is_request(message.code))
      return FALSE;
    if (message.code == MM_LAUNCHER_LAUNCH)
      handle_launch(process, out, message.name);
    else
      handle_reload(process, out);
    buffer += consumed;
    length -= consumed;
  }
  return TRUE;
}

/* mark_fds_cloexec - nothing the daemon had open may reach a started milter */
static void
mark_fds_cloexec(void)
{
#ifdef CLOSE_RANGE_CLOEXEC
  if (close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return;
#endif
  g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
  if (dir == NULL)
    return;
  const char *entry;
  while ((entry = g_dir_read_name(dir)) != NULL) {
    guint64 fd;
    if (g_ascii_string_to_unsigned(entry, 10, STDERR_FILENO + 1, G_MAXINT, &fd, NULL)) {
      int flags = fcntl((int)fd, F_GETFD);
      if (flags >= 0)
        fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
    }
  }
}

/* settle_process - the launcher's own state: no terminal, no stray signals, a clean log */
static void
settle_process(gboolean watch_parent, pid_t parent)
{
  if (watch_parent && (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent))
    _exit(0);
  signal(SIGTERM, SIG_DFL);
  /* The daemon stops on these; we stop when its end of the socket closes. */
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGUSR1, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  mark_fds_cloexec();
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    if (null_fd > STDERR_FILENO)
      close(null_fd);
  }
  /* Everything the launcher has to say goes to the daemon, which logs it. */
  mm_log_close();
  mm_log_set_levels(0);
}

/* serve - the launcher process's loop; never returns */
static G_GNUC_NORETURN void
serve(Process *process)
{
  g_autoptr(GByteArray) out = g_byte_array_new();
  guint8 *buffer = g_malloc(RECORD_SIZE);
  for (;;) {
    struct pollfd pfd = {.fd = process->fd, .events = POLLIN};
    int timeout = n_running(process) > 0 ? MM_LAUNCHER_REAP_INTERVAL_MS : -1;
    int ready = poll(&pfd, 1, timeout);
    if (ready < 0 && errno != EINTR)
      break;
    reap(process, out);
    if (ready <= 0)
      continue;
    ssize_t n = recv(process->fd, buffer, RECORD_SIZE, MSG_TRUNC);
    if (n < 0 && errno == EINTR)
      continue;
    /* End of file: the daemon is gone. An oversized record cannot come from it. */
    if (n <= 0 || n > RECORD_SIZE || !handle_record(process, buffer, (gsize)n, out))
      break;
  }
  _exit(0);
}

/* ---- The daemon's end ---- */

/* log_reply - the launcher's answer, in the daemon's log */
static void
log_reply(const MmLauncherMessage *message)
{
  switch (message->code) {
  case MM_LAUNCHER_LAUNCHED:
    mm_message("[launcher] started milter %s: pid %" G_GINT64_FORMAT ", user %s",
               message->name, message->pid, message->text);
    break;
  case MM_LAUNCHER_REFUSED:
    mm_warning("[launcher] did not start milter %s: %s", message->name, message->text);
    break;
  case MM_LAUNCHER_EXITED: {
    g_autofree char *how = mm_launcher_protocol_describe_wait_status(message->wait_status);
    mm_info("[launcher] milter %s (pid %" G_GINT64_FORMAT ") %s", message->name, message->pid,
            how);
    break;
  }
  case MM_LAUNCHER_RELOADED:
    if (*message->text != '\0')
      mm_error("[launcher] failed to reload the configuration, keeping %u launchable "
               "milters: %s", message->count, message->text);
    else
      mm_info("[launcher] reloaded the configuration: %u launchable milters", message->count);
    break;
  default:
    break;
  }
}

/* launcher_gone - the launcher ended: no more launches; reap it if we can */
static void
launcher_gone(MmLauncher *launcher, const char *cause)
{
  int status;
  pid_t reaped = waitpid(launcher->pid, &status, WNOHANG);
  g_autofree char *how = reaped == launcher->pid ? mm_launcher_protocol_describe_wait_status(status)
                                                 : g_strdup("ended");
  mm_error("[launcher] the launcher process (pid %ld) %s (%s): child milters are no longer "
           "started", (long)launcher->pid, how, cause);
  if (reaped == launcher->pid)
    launcher->pid = 0;
  close(launcher->fd);
  launcher->fd = -1;
  launcher->watch_id = 0;
}

/* on_readable - one reply (or the end) from the launcher */
static gboolean
on_readable(int fd, G_GNUC_UNUSED GIOCondition condition, gpointer user_data)
{
  MmLauncher *launcher = user_data;
  guint8 buffer[RECORD_SIZE];
  ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT | MSG_TRUNC);
  if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
    return G_SOURCE_CONTINUE;
  if (n <= 0) {
    launcher_gone(launcher, n == 0 ? "end of file" : g_strerror(errno));
    return G_SOURCE_REMOVE;
  }
  char code;
  const guint8 *data;
  gsize length, consumed;
  MmLauncherMessage message;
  g_autoptr(GError) error = NULL;
  if (n > (ssize_t)sizeof buffer ||
      mm_packet_next(buffer, (gsize)n, MM_LAUNCHER_PROTOCOL_MAX_DATA_LENGTH, &code, &data,
                     &length, &consumed, &error) != MM_PACKET_READY ||
      !mm_launcher_protocol_decode(code, data, length, &message, &error)) {
    mm_warning("[launcher] ignored a malformed reply: %s",
               error != NULL ? error->message : "bad record size");
    return G_SOURCE_CONTINUE;
  }
  log_reply(&message);
  return G_SOURCE_CONTINUE;
}

/* send_request - one request as one record, without ever blocking the daemon */
static gboolean
send_request(MmLauncher *launcher, GByteArray *out, const char *what)
{
  if (launcher->fd < 0)
    return FALSE;
  ssize_t n;
  do {
    n = send(launcher->fd, out->data, out->len, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n == (ssize_t)out->len)
    return TRUE;
  mm_warning("[launcher] could not send %s: %s", what,
             n < 0 ? g_strerror(errno) : "short write");
  return FALSE;
}

/* mm_launcher_start - fork the launcher */
MmLauncher *
mm_launcher_start(MmConfig *config, gboolean watch_parent, MmLauncherLoadFunc load,
                  gpointer load_data, GError **error)
{
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    g_set_error(error, MM_LAUNCHER_ERROR, MM_LAUNCHER_ERROR_START,
                "failed to start the launcher: socketpair: %s", g_strerror(errno));
    return NULL;
  }
  pid_t parent = getpid();
  g_autoptr(GError) fork_error = NULL;
  pid_t pid = mm_ruby_fork(&fork_error);
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    g_set_error(error, MM_LAUNCHER_ERROR, MM_LAUNCHER_ERROR_START,
                "failed to start the launcher: %s", fork_error->message);
    return NULL;
  }
  if (pid == 0) {
    close(fds[0]);
    settle_process(watch_parent, parent);
    Process process = {
      .fd = fds[1],
      .config = mm_config_ref(config),
      .load = load,
      .load_data = load_data,
      .launched = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
    };
    serve(&process);
  }
  close(fds[1]);
  MmLauncher *launcher = g_new0(MmLauncher, 1);
  launcher->fd = fds[0];
  launcher->pid = pid;
  launcher->watch_id = g_unix_fd_add(launcher->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable,
                                     launcher);
  return launcher;
}

/* mm_launcher_launch - ask for MILTER */
gboolean
mm_launcher_launch(MmLauncher *launcher, const MmMilterConfig *milter)
{
  if (launcher == NULL || milter->command == NULL || *milter->command == '\0')
    return FALSE;
  g_autoptr(GByteArray) out = g_byte_array_new();
  g_autoptr(GError) error = NULL;
  if (!mm_launcher_protocol_encode_launch(out, milter->name, &error)) {
    mm_warning("[launcher] cannot ask for milter %s: %s", milter->name, error->message);
    return FALSE;
  }
  g_autofree char *what = g_strdup_printf("the request to start milter %s", milter->name);
  if (!send_request(launcher, out, what))
    return FALSE;
  mm_info("[launcher] asked to start milter %s", milter->name);
  return TRUE;
}

/* mm_launcher_reload - the launcher re-reads the configuration */
void
mm_launcher_reload(MmLauncher *launcher)
{
  if (launcher == NULL)
    return;
  g_autoptr(GByteArray) out = g_byte_array_new();
  mm_launcher_protocol_encode_reload(out);
  send_request(launcher, out, "the reload request");
}

/* mm_launcher_get_pid - the launcher process */
pid_t
mm_launcher_get_pid(const MmLauncher *launcher)
{
  return launcher->pid;
}

/* mm_launcher_free - close the socket, then give the launcher a moment to exit */
void
mm_launcher_free(MmLauncher *launcher)
{
  if (launcher == NULL)
    return;
  if (launcher->watch_id != 0)
    g_source_remove(launcher->watch_id);
  if (launcher->fd >= 0)
    close(launcher->fd);
  /* Polling, not a SIGCHLD handler: the daemon's SIGCHLD belongs to Ruby. A detached daemon
   * is not the launcher's parent (ECHILD): init reaps it. */
  for (int waited = 0; launcher->pid > 0 && waited < MM_LAUNCHER_STOP_WAIT_MS; waited += 10) {
    pid_t reaped = waitpid(launcher->pid, NULL, WNOHANG);
    if (reaped != 0)
      break;
    g_usleep(10 * 1000);
  }
  g_free(launcher);
}
