/* SPDX-License-Identifier: GPL-3.0-or-later */
/* daemon.c: the daemon's life cycle: load the configuration, listen as root, give up root,
 * detach, write the pid file, then serve until SIGTERM/SIGINT; SIGHUP reloads, SIGUSR1 reopens. */
/* pipe2, setresuid and getresuid are GNU extensions. */

#include "build-config.h"

#include "src/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "libmilter-manager/client-session.h"
#include "libmilter-manager/connection-spec.h"
#include "libmilter-manager/event-poll.h"
#include "libmilter-manager/listener.h"
#include "libmilter-manager/log.h"
#include "libmilter-manager/monitor.h"
#include "libmilter-manager/proxy.h"
#include "binding/ruby-config.h"
#include "src/controller.h"
#include "src/daemon-options.h"
#include "src/launcher.h"
#include "src/pid-file.h"
#include "src/privilege.h"
#include "src/workers.h"

/* The byte the detached process sends its waiting parent once it serves. */
#define MM_DAEMON_READY_BYTE 'R'
/* How often accept() failures for lack of fds or memory are looked for and reported. */
#define MM_DAEMON_ACCEPT_CHECK_MS 1000

typedef struct {
  MmDaemonOptions *options;
  char **config_dirs;
  MmConfig *config;
  MmListener *listener;
  MmProxy *proxy;
  MmController *controller; /* control socket (controller.connection_spec), or NULL */
  MmLauncher *launcher;     /* privilege mode: the root launcher, or NULL */
  GMainLoop *loop;
  char *pid_file;          /* written by us: removed at exit */
  int ready_fd;            /* pipe to the parent waiting in --daemon; -1 otherwise */
  gboolean background;     /* --daemon: no standard output target for the log */
  gboolean detached;       /* standard streams lead nowhere */
  gboolean log_configured; /* the log has targets beyond standard error */
  gboolean accepting;
  gboolean stopping;
  guint stop_timeout_id;
  guint accept_check_id;   /* the timer of on_accept_check */
  guint accept_failures;   /* accept() failures reported so far */
} Daemon;

/* fatal - report a start-up failure where the administrator looks: the terminal and the log */
static int
fatal(Daemon *daemon, const char *format, ...) G_GNUC_PRINTF(2, 3);
static int
fatal(Daemon *daemon, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  g_autofree char *message = g_strdup_vprintf(format, args);
  va_end(args);
  if (!daemon->detached)
    fprintf(stderr, "milter-manager: %s\n", message);
  if (daemon->log_configured)
    mm_critical("%s", message);
  return 1;
}

/* make_absolute - *PATH made absolute against the current directory, since we chdir("/") */
static void
make_absolute(char **path)
{
  if (*path == NULL || **path == '\0' || g_str_equal(*path, "-") || g_path_is_absolute(*path))
    return;
  char *absolute = g_canonicalize_filename(*path, NULL);
  g_free(*path);
  *path = absolute;
}

/* check_not_writable_by_others - PATH, if it exists, must not be writable by every local
 * user: whoever can write the configuration runs code in the daemon (it is Ruby) as root */
static gboolean
check_not_writable_by_others(const char *path, GError **error)
{
  struct stat st;
  if (stat(path, &st) != 0)
    return TRUE; /* absent: nothing is loaded from it */
  if ((st.st_mode & S_IWOTH) == 0)
    return TRUE;
  g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_PERM,
              "%s is writable by every user (mode %04o): refusing to load a configuration "
              "anyone could change; run chmod o-w %s",
              path, (unsigned)(st.st_mode & 07777), path);
  return FALSE;
}

/* check_config_permissions - every configuration directory, and the milter-manager.conf in
 * it, must not be writable by others (relative load() paths resolve against each) */
static gboolean
check_config_permissions(Daemon *daemon, GError **error)
{
  for (guint i = 0; daemon->config_dirs[i] != NULL; i++) {
    g_autofree char *file = g_build_filename(daemon->config_dirs[i], "milter-manager.conf", NULL);
    if (!check_not_writable_by_others(daemon->config_dirs[i], error) ||
        !check_not_writable_by_others(file, error))
      return FALSE;
  }
  return TRUE;
}

/* load_config - a fresh configuration with the command line applied on top */
static MmConfig *
load_config(Daemon *daemon, GError **error)
{
  if (!check_config_permissions(daemon, error))
    return NULL;
  MmConfig *config =
      mm_ruby_config_load((const char *const *)daemon->config_dirs, error);
  if (config == NULL)
    return NULL;
  mm_daemon_options_apply(daemon->options, config);
  if (config->connection_spec == NULL || *config->connection_spec == '\0') {
    const char *spec = g_getenv("MILTER_DEFAULT_CONNECTION_SPEC");
    g_free(config->connection_spec);
    config->connection_spec =
        g_strdup(spec != NULL && *spec != '\0' ? spec : MM_DAEMON_FALLBACK_CONNECTION_SPEC);
  }
  make_absolute(&config->log_path);
  make_absolute(&config->pid_file);
  return config;
}

/* configure_log - levels, syslog and the file target as CONFIG says; WITH_FILE is FALSE
 * before root is given up, so that the file is opened (and reopened) as the same user */
static gboolean
configure_log(Daemon *daemon, const MmConfig *config, gboolean with_file, GError **error)
{
  guint levels;
  if (!mm_log_level_parse(config->log_level != NULL ? config->log_level : "default", &levels,
                          error)) {
    g_prefix_error(error, "log.level: ");
    return FALSE;
  }
  const char *path = config->log_path;
  if (path == NULL && !daemon->background)
    path = "-";
  if (path != NULL && g_str_equal(path, "-") && daemon->background)
    path = NULL;
  mm_log_close();
  mm_log_set_levels(levels);
  if (config->log_use_syslog &&
      !mm_log_open_syslog("milter-manager", config->log_syslog_facility, error)) {
    g_prefix_error(error, "log.syslog_facility: ");
    return FALSE;
  }
  if (with_file && path != NULL && !mm_log_open_file(path, error))
    return FALSE;
  daemon->log_configured = config->log_use_syslog || (with_file && path != NULL);
  return TRUE;
}

/* update_accepting - pause accepting at manager.max_connections, resume below it */
static void
update_accepting(Daemon *daemon)
{
  if (daemon->listener == NULL)
    return;
  guint max = daemon->config->max_connections;
  gboolean accepting = max == 0 || mm_proxy_get_n_sessions(daemon->proxy) < max;
  if (accepting == daemon->accepting)
    return;
  daemon->accepting = accepting;
  mm_listener_set_accepting(daemon->listener, accepting);
  if (accepting)
    mm_info("[daemon] accepting again: below manager.max_connections (%u)", max);
  else
    mm_info("[daemon] paused accepting: manager.max_connections (%u) sessions in progress",
            max);
}

/* on_accept_check - report accept() failures (out of fds or memory): the listener pauses
 * accepting each time, and an administrator must hear why mail waits */
static gboolean
on_accept_check(gpointer user_data)
{
  Daemon *daemon = user_data;
  if (daemon->listener == NULL) {
    daemon->accept_check_id = 0;
    return G_SOURCE_REMOVE;
  }
  int last_errno = 0;
  guint failures = mm_listener_get_accept_failures(daemon->listener, &last_errno);
  if (failures > daemon->accept_failures) {
    mm_warning("[daemon] accepting failed %u times: %s; each time accepting pauses for %u ms "
               "(manager.max_file_descriptors: %u, sessions in progress: %u)",
               failures - daemon->accept_failures, g_strerror(last_errno),
               MM_LISTENER_RESOURCE_PAUSE_MS, daemon->config->max_file_descriptors,
               mm_proxy_get_n_sessions(daemon->proxy));
    daemon->accept_failures = failures;
  }
  return G_SOURCE_CONTINUE;
}

/* on_accepted - an MTA connected: hand it to the proxy */
static void
on_accepted(int fd, gpointer user_data)
{
  Daemon *daemon = user_data;
  mm_proxy_accept(daemon->proxy, fd);
  update_accepting(daemon);
}

/* on_session_ended - resume accepting, or finish a graceful stop */
static void
on_session_ended(gpointer user_data)
{
  Daemon *daemon = user_data;
  if (daemon->stopping) {
    if (mm_proxy_get_n_sessions(daemon->proxy) == 0)
      g_main_loop_quit(daemon->loop);
    return;
  }
  update_accepting(daemon);
}

/* warn_restart_items - items a reload cannot change while running */
static void
warn_restart_items(const MmConfig *old, const MmConfig *new)
{
  struct {
    const char *name;
    const char *old_value;
    const char *new_value;
  } items[] = {
    {"manager.connection_spec", old->connection_spec, new->connection_spec},
    {"manager.unix_socket_group", old->unix_socket_group, new->unix_socket_group},
    {"manager.pid_file", old->pid_file, new->pid_file},
    {"controller.connection_spec", old->controller_connection_spec,
     new->controller_connection_spec},
    {"security.effective_user", old->effective_user, new->effective_user},
    {"security.effective_group", old->effective_group, new->effective_group},
  };
  for (guint i = 0; i < G_N_ELEMENTS(items); i++) {
    if (g_strcmp0(items[i].old_value, items[i].new_value) != 0)
      mm_warning("[daemon][reload] %s changed to \"%s\": takes effect after a restart",
                 items[i].name, items[i].new_value != NULL ? items[i].new_value : "");
  }
  if (old->unix_socket_mode != new->unix_socket_mode || old->daemon != new->daemon)
    mm_warning("[daemon][reload] manager.unix_socket_mode or manager.daemon changed: takes "
               "effect after a restart");
}

/* Privilege mode hook: the root launcher (src/launcher.c) is forked before root is given up;
 * client sessions ask it for milters whose socket is down. */

/* launcher_load - in the launcher process: its own reload of the configuration */
static MmConfig *
launcher_load(gpointer user_data, GError **error)
{
  return load_config(user_data, error);
}

/* launcher_launch - a client session's connect failed: ask for its milter while the
 * running configuration still wants privilege mode */
static gboolean
launcher_launch(gpointer user_data, const MmMilterConfig *milter)
{
  Daemon *daemon = user_data;
  return daemon->config->privilege_mode && mm_launcher_launch(daemon->launcher, milter);
}

/* start_launcher - as root, before listening: fork the launcher if privilege mode is on; a
 * failure only costs the auto-start, so the daemon serves anyway */
static void
start_launcher(Daemon *daemon)
{
  if (!daemon->config->privilege_mode)
    return;
  if (geteuid() != 0) {
    mm_info("[daemon] not started as root: security.privilege_mode ignored (child milters are "
            "not started)");
    return;
  }
  g_autoptr(GError) error = NULL;
  /* Detaching forks again: the launcher's parent then exits, so only the socket tells. */
  daemon->launcher = mm_launcher_start(daemon->config, !daemon->config->daemon, launcher_load,
                                       daemon, &error);
  if (daemon->launcher == NULL)
    mm_error("[daemon] %s: child milters are not started", error->message);
  else
    mm_info("[daemon] privilege mode: launcher started (pid %ld)",
            (long)mm_launcher_get_pid(daemon->launcher));
}

/* launcher_reload - after a reload: the launcher re-reads the configuration on its own */
static void
launcher_reload(Daemon *daemon)
{
  if (daemon->launcher != NULL)
    mm_launcher_reload(daemon->launcher);
  else if (daemon->config->privilege_mode && geteuid() != 0)
    mm_warning("[daemon][reload] security.privilege_mode: takes effect after a restart as root");
}

/* reload - SIGHUP or the controller: new sessions use the new configuration; a broken one
 * changes nothing (logged here; ERROR also gets it, for the controller's answer) */
static gboolean
reload(Daemon *daemon, GError **reload_error)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MmConfig) config = load_config(daemon, &error);
  if (config == NULL) {
    mm_error("[daemon][reload] failed to reload the configuration, keeping the running one: "
             "%s", error->message);
    g_propagate_error(reload_error, g_steal_pointer(&error));
    return FALSE;
  }
  if (!configure_log(daemon, config, TRUE, &error)) {
    configure_log(daemon, daemon->config, TRUE, NULL);
    mm_error("[daemon][reload] failed to reload the configuration, keeping the running one: "
             "%s", error->message);
    g_propagate_error(reload_error, g_steal_pointer(&error));
    return FALSE;
  }
  warn_restart_items(daemon->config, config);
  mm_proxy_set_config(daemon->proxy, config);
  mm_config_unref(daemon->config);
  daemon->config = g_steal_pointer(&config);
  mm_message("[daemon][reload] reloaded the configuration (%u milters); sessions in progress "
             "keep the previous one",
             daemon->config->milters != NULL ? daemon->config->milters->len : 0);
  mm_monitor_set_config(mm_monitor_get_default(), daemon->config);
  update_accepting(daemon);
  launcher_reload(daemon);
  return TRUE;
}

/* on_stop_timeout - sessions did not finish in time: end them */
static gboolean
on_stop_timeout(gpointer user_data)
{
  Daemon *daemon = user_data;
  daemon->stop_timeout_id = 0;
  mm_warning("[daemon][stop] %u sessions still in progress after %d s: ending them",
             mm_proxy_get_n_sessions(daemon->proxy), MM_DAEMON_STOP_TIMEOUT_SECONDS);
  g_main_loop_quit(daemon->loop);
  return G_SOURCE_REMOVE;
}

/* stop - stop accepting and quit once the sessions in progress are done; again: at once */
static void
stop(Daemon *daemon, const char *signal_name)
{
  if (daemon->stopping) {
    mm_message("[daemon][stop] %s again: stopping now", signal_name);
    g_main_loop_quit(daemon->loop);
    return;
  }
  daemon->stopping = TRUE;
  guint n_sessions = mm_proxy_get_n_sessions(daemon->proxy);
  mm_message("[daemon][stop] %s: no longer accepting; %u sessions in progress", signal_name,
             n_sessions);
  /* Closing the socket now makes MTAs fail over at once instead of waiting in the backlog. */
  g_clear_pointer(&daemon->listener, mm_listener_free);
  if (n_sessions == 0)
    g_main_loop_quit(daemon->loop);
  else
    daemon->stop_timeout_id =
        g_timeout_add_seconds(MM_DAEMON_STOP_TIMEOUT_SECONDS, on_stop_timeout, daemon);
}

/* on_sighup - reload the configuration */
static gboolean
on_sighup(gpointer user_data)
{
  mm_message("[daemon][reload] SIGHUP: reloading the configuration");
  reload(user_data, NULL);
  return G_SOURCE_CONTINUE;
}

/* on_sigusr1 - reopen the log file (after logrotate moved it) */
static gboolean
on_sigusr1(gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  if (mm_log_reopen(&error))
    mm_message("[daemon][log] SIGUSR1: reopened the log file");
  else
    mm_error("[daemon][log] SIGUSR1: %s; still writing to the previous file", error->message);
  return G_SOURCE_CONTINUE;
}

/* on_sigterm - graceful stop */
static gboolean
on_sigterm(gpointer user_data)
{
  stop(user_data, "SIGTERM");
  return G_SOURCE_CONTINUE;
}

/* on_sigint - graceful stop, as SIGTERM */
static gboolean
on_sigint(gpointer user_data)
{
  stop(user_data, "SIGINT");
  return G_SOURCE_CONTINUE;
}

/* listen_on - bind the configured socket (as root: the socket directory may be root's) */
static gboolean
listen_on(Daemon *daemon, GError **error)
{
  g_autoptr(MmConnectionSpec) spec =
      mm_connection_spec_parse(daemon->config->connection_spec, error);
  if (spec == NULL)
    return FALSE;
  /* The socket is removed at exit, after chdir("/"). */
  if (spec->family == MM_CONNECTION_SPEC_UNIX && !g_path_is_absolute(spec->path)) {
    g_autofree char *absolute = g_canonicalize_filename(spec->path, NULL);
    g_autofree char *text = g_strconcat("unix:", absolute, NULL);
    mm_connection_spec_free(g_steal_pointer(&spec));
    spec = mm_connection_spec_parse(text, error);
    if (spec == NULL)
      return FALSE;
  }
  const char *group = daemon->config->unix_socket_group;
  MmListenerOptions options = {
    .unix_socket_mode = daemon->config->unix_socket_mode,
    .unix_socket_group = group != NULL && *group != '\0' ? group : NULL,
    .remove_unix_socket_on_create = daemon->config->remove_unix_socket_on_create,
    /* With workers, each process holds the listener: only the master may remove the
     * socket file, which workers.c does once they have all stopped. */
    .remove_unix_socket_on_close = daemon->config->remove_unix_socket_on_close &&
                                   daemon->config->n_workers == 0,
  };
  daemon->listener = mm_listener_new(spec, &options, error);
  return daemon->listener != NULL;
}

/* Controller hook: the control socket (src/controller.c) reloads and dumps through these. */

/* controller_reload - the controller's reload: the same as SIGHUP */
static gboolean
controller_reload(gpointer user_data, GError **error)
{
  mm_message("[daemon][reload] the controller asked for a reload");
  return reload(user_data, error);
}

/* controller_show_config - the controller's show-config: the dump of the running configuration */
static char *
controller_show_config(G_GNUC_UNUSED gpointer user_data, GError **error)
{
  return mm_ruby_config_dump(error);
}

/* listen_on_controller - the control socket, if controller.connection_spec is set (as root,
 * like the MTA socket, so that its group can be any group) */
static gboolean
listen_on_controller(Daemon *daemon, GError **error)
{
  const MmConfig *config = daemon->config;
  if (config->controller_connection_spec == NULL || *config->controller_connection_spec == '\0')
    return TRUE;
  static const MmControllerHandlers handlers = {
    .reload = controller_reload,
    .show_config = controller_show_config,
  };
  const char *group = config->controller_unix_socket_group;
  MmListenerOptions options = {
    .unix_socket_mode = config->controller_unix_socket_mode,
    .unix_socket_group = group != NULL && *group != '\0' ? group : NULL,
    .remove_unix_socket_on_create = config->controller_remove_unix_socket_on_create,
    .remove_unix_socket_on_close = config->controller_remove_unix_socket_on_close,
  };
  daemon->controller = mm_controller_new(config->controller_connection_spec, &options,
                                         mm_monitor_get_default(), &handlers, daemon, error);
  return daemon->controller != NULL;
}

/* set_file_limit - manager.max_file_descriptors: soft and hard RLIMIT_NOFILE */
static void
set_file_limit(guint max)
{
  if (max == 0)
    return;
  struct rlimit limit = {.rlim_cur = max, .rlim_max = max};
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
    mm_warning("[daemon] manager.max_file_descriptors: failed to set the limit to %u: %s",
               max, g_strerror(errno));
}

/* make_runtime_directory - create DIRECTORY (and its parents) if missing, owned by UID:GID,
 * so that the effective user can write its pid file and remove its socket; an existing
 * directory is left as the administrator made it */
static gboolean
make_runtime_directory(const char *directory, uid_t uid, gid_t gid, GError **error)
{
  if (g_file_test(directory, G_FILE_TEST_EXISTS))
    return TRUE;
  g_autofree char *parent = g_path_get_dirname(directory);
  if (!make_runtime_directory(parent, 0, 0, error))
    return FALSE;
  if (mkdir(directory, MM_DAEMON_RUNTIME_DIRECTORY_MODE) != 0 && errno != EEXIST) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                "failed to create %s: %s", directory, g_strerror(errno));
    return FALSE;
  }
  if (chown(directory, uid, gid) != 0) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                "failed to give %s to uid %u: %s", directory, (unsigned)uid, g_strerror(errno));
    return FALSE;
  }
  mm_info("[daemon] created %s", directory);
  return TRUE;
}

/* prepare_runtime_directories - as root: the directories of the UNIX socket and the pid file
 * exist (systemd's RuntimeDirectory does the same; this covers starts without it) */
static gboolean
prepare_runtime_directories(Daemon *daemon, GError **error)
{
  if (geteuid() != 0)
    return TRUE;
  g_autoptr(MmPrivilege) privilege = mm_privilege_resolve(daemon->config->effective_user,
                                                          daemon->config->effective_group,
                                                          error);
  if (privilege == NULL)
    return FALSE;
  const char *spec = daemon->config->connection_spec;
  const char *paths[2] = {NULL, daemon->config->pid_file};
  if (spec != NULL && (g_str_has_prefix(spec, "unix:") || g_str_has_prefix(spec, "local:")))
    paths[0] = strchr(spec, ':') + 1;
  for (guint i = 0; i < G_N_ELEMENTS(paths); i++) {
    if (paths[i] == NULL || !g_path_is_absolute(paths[i]))
      continue;
    g_autofree char *directory = g_path_get_dirname(paths[i]);
    if (!make_runtime_directory(directory, privilege->uid, privilege->gid, error))
      return FALSE;
  }
  return TRUE;
}

/* give_up_root - as root: hand the UNIX socket to the effective user, then become it */
static gboolean
give_up_root(Daemon *daemon, GError **error)
{
  if (geteuid() != 0) {
    if (daemon->config->effective_user != NULL && *daemon->config->effective_user != '\0')
      mm_info("[daemon] not started as root: security.effective_user \"%s\" ignored",
              daemon->config->effective_user);
    return TRUE;
  }
  g_autoptr(MmPrivilege) privilege = mm_privilege_resolve(daemon->config->effective_user,
                                                          daemon->config->effective_group,
                                                          error);
  if (privilege == NULL)
    return FALSE;
  /* chown needs root: do it before the switch. */
  if (!mm_listener_chown(daemon->listener, privilege->uid, error))
    return FALSE;
  if (daemon->controller != NULL && !mm_controller_chown(daemon->controller, privilege->uid,
                                                         error))
    return FALSE;
  if (!mm_privilege_drop(privilege, error))
    return FALSE;
  mm_info("[daemon] running as user %s (%u), group %s (%u)", privilege->user_name,
          (unsigned)privilege->uid, privilege->group_name, (unsigned)privilege->gid);
  return TRUE;
}

/* redirect_stdio - point standard input, output and error at /dev/null */
static void
redirect_stdio(void)
{
  int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return;
  dup2(fd, STDIN_FILENO);
  dup2(fd, STDOUT_FILENO);
  dup2(fd, STDERR_FILENO);
  if (fd > STDERR_FILENO)
    close(fd);
}

/* wait_for_child - the original process: exit 0 once the detached one serves, else 1 */
static G_GNUC_NORETURN void
wait_for_child(int ready_fd, pid_t child)
{
  char byte = 0;
  ssize_t n;
  do {
    n = read(ready_fd, &byte, 1);
  } while (n < 0 && errno == EINTR);
  int status;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR)
    ;
  /* _exit: the listener and the pid file belong to the detached process now. */
  _exit(n == 1 && byte == MM_DAEMON_READY_BYTE ? 0 : 1);
}

/* detach - fork (through Ruby), new session, fork again, chdir /; the original process
 * waits until the detached one reports that it serves */
static gboolean
detach(Daemon *daemon, GError **error)
{
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    g_set_error(error, MM_RUBY_ERROR, MM_RUBY_ERROR_FORK, "failed to detach: pipe: %s",
                g_strerror(errno));
    return FALSE;
  }
  pid_t child = mm_ruby_fork(error);
  if (child < 0) {
    close(fds[0]);
    close(fds[1]);
    return FALSE;
  }
  if (child > 0) {
    close(fds[1]);
    wait_for_child(fds[0], child);
  }
  close(fds[0]);
  if (setsid() < 0) {
    fprintf(stderr, "milter-manager: failed to detach: setsid: %s\n", g_strerror(errno));
    _exit(1);
  }
  /* The second fork leaves the session leader behind: we can never regain a terminal. */
  g_autoptr(GError) fork_error = NULL;
  pid_t grandchild = mm_ruby_fork(&fork_error);
  if (grandchild < 0) {
    fprintf(stderr, "milter-manager: failed to detach: %s\n", fork_error->message);
    _exit(1);
  }
  if (grandchild > 0)
    _exit(0);
  if (chdir("/") != 0) {
    fprintf(stderr, "milter-manager: failed to detach: chdir /: %s\n", g_strerror(errno));
    _exit(1);
  }
  daemon->ready_fd = fds[1];
  return TRUE;
}

/* report_ready - tell the waiting parent that we serve, then let go of the terminal */
static void
report_ready(Daemon *daemon)
{
  if (daemon->ready_fd >= 0) {
    char byte = MM_DAEMON_READY_BYTE;
    if (write(daemon->ready_fd, &byte, 1) != 1)
      mm_warning("[daemon] failed to notify the starting process: %s", g_strerror(errno));
    close(daemon->ready_fd);
    daemon->ready_fd = -1;
  }
  if (daemon->config->daemon) {
    redirect_stdio();
    daemon->detached = TRUE;
  }
}

/* log_glib - route GLib's own messages (criticals of programming errors) into our log */
static void
log_glib(const char *domain, GLogLevelFlags flags, const char *message, gpointer user_data)
{
  MmLogLevel level = MM_LOG_LEVEL_DEBUG;
  if (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    level = MM_LOG_LEVEL_CRITICAL;
  else if (flags & G_LOG_LEVEL_WARNING)
    level = MM_LOG_LEVEL_WARNING;
  else if (flags & G_LOG_LEVEL_MESSAGE)
    level = MM_LOG_LEVEL_MESSAGE;
  else if (flags & G_LOG_LEVEL_INFO)
    level = MM_LOG_LEVEL_INFO;
  mm_log(level, "[%s] %s", domain != NULL ? domain : "glib", message);
}

/* become_master_or_worker - manager.n_workers: this process becomes the master of worker
 * processes sharing the listener (workers.c). TRUE in a worker, which then serves as a
 * single process would but leaves the pid file to the master; FALSE in the master once the
 * workers have stopped, or with an error. */
static gboolean
become_master_or_worker(Daemon *daemon, GError **error)
{
  report_ready(daemon);
  MmWorkersOptions options = {
    .n_workers = daemon->config->n_workers,
    .listen_fd = mm_listener_get_fd(daemon->listener),
    .remove_socket_file = daemon->config->remove_unix_socket_on_close,
    .stop_timeout_seconds = MM_DAEMON_STOP_TIMEOUT_SECONDS,
  };
  gboolean is_worker = FALSE;
  if (!mm_workers_run(&options, &is_worker, error) || !is_worker)
    return FALSE;
  g_clear_pointer(&daemon->pid_file, g_free);
  return TRUE;
}

/* serve - from a loaded configuration to the end of the main loop */
static int
serve(Daemon *daemon)
{
  g_autoptr(GError) error = NULL;
  daemon->background = daemon->config->daemon;
  if (!configure_log(daemon, daemon->config, FALSE, &error))
    return fatal(daemon, "%s", error->message);
  for (guint i = 0; i < daemon->options->notes->len; i++)
    mm_info("[daemon] %s", (const char *)g_ptr_array_index(daemon->options->notes, i));
  set_file_limit(daemon->config->max_file_descriptors);
  start_launcher(daemon);
  if (!prepare_runtime_directories(daemon, &error))
    return fatal(daemon, "%s", error->message);
  if (!listen_on(daemon, &error)) {
    /* The listener's message already names the spec: keep one mention of it. */
    g_autofree char *prefix = g_strdup_printf("cannot listen on %s: ",
                                              daemon->config->connection_spec);
    const char *cause = error->message;
    if (g_str_has_prefix(cause, prefix))
      cause += strlen(prefix);
    return fatal(daemon, "failed to listen on %s: %s", daemon->config->connection_spec, cause);
  }
  if (!listen_on_controller(daemon, &error))
    return fatal(daemon, "failed to listen for the controller: %s", error->message);
  if (!give_up_root(daemon, &error))
    return fatal(daemon, "%s", error->message);
  if (daemon->config->daemon && !detach(daemon, &error))
    return fatal(daemon, "%s", error->message);
  if (!configure_log(daemon, daemon->config, TRUE, &error))
    return fatal(daemon, "%s", error->message);
  const char *pid_file = daemon->config->pid_file;
  if (pid_file != NULL && *pid_file != '\0') {
    if (!mm_pid_file_write(pid_file, &error))
      return fatal(daemon, "%s", error->message);
    daemon->pid_file = g_strdup(pid_file);
  }

  if (daemon->config->n_workers > 0 && !become_master_or_worker(daemon, &error)) {
    if (error != NULL)
      return fatal(daemon, "%s", error->message);
    return 0; /* the master, after its workers stopped */
  }

  daemon->loop = g_main_loop_new(NULL, FALSE);
  /* One epoll_wait per iteration for GLib's fds and the connections, not poll plus epoll_wait. */
  mm_event_poll_install();
  mm_workers_signal_add(SIGHUP, on_sighup, daemon);
  mm_workers_signal_add(SIGUSR1, on_sigusr1, daemon);
  mm_workers_signal_add(SIGTERM, on_sigterm, daemon);
  mm_workers_signal_add(SIGINT, on_sigint, daemon);
  daemon->proxy = mm_proxy_new(daemon->config);
  mm_proxy_set_session_ended_func(daemon->proxy, on_session_ended, daemon);
  if (daemon->launcher != NULL)
    mm_client_session_set_launcher(launcher_launch, daemon, MM_LAUNCHER_RETRY_DELAY_MS);
  daemon->accepting = TRUE;
  mm_listener_start(daemon->listener, on_accepted, daemon);
  daemon->accept_check_id = g_timeout_add(MM_DAEMON_ACCEPT_CHECK_MS, on_accept_check, daemon);
  mm_monitor_set_config(mm_monitor_get_default(), daemon->config);
  if (daemon->controller != NULL) {
    mm_controller_start(daemon->controller);
    mm_message("[daemon] controller listening on %s", mm_controller_get_spec(daemon->controller));
  }
  mm_message("[daemon] milter-manager %s started: listening on %s, pid %ld", PACKAGE_VERSION,
             daemon->config->connection_spec, (long)getpid());
  report_ready(daemon);

  g_main_loop_run(daemon->loop);

  g_clear_pointer(&daemon->controller, mm_controller_free);
  g_clear_pointer(&daemon->listener, mm_listener_free);
  if (mm_proxy_get_n_sessions(daemon->proxy) > 0)
    mm_warning("[daemon][stop] ending %u sessions in progress",
               mm_proxy_get_n_sessions(daemon->proxy));
  g_clear_pointer(&daemon->proxy, mm_proxy_free);
  mm_message("[daemon] milter-manager stopped");
  return 0;
}

/* daemon_clear - release everything; the pid file goes last, when nothing serves any more */
static void
daemon_clear(Daemon *daemon)
{
  mm_workers_signal_clear();
  if (daemon->stop_timeout_id != 0)
    g_source_remove(daemon->stop_timeout_id);
  if (daemon->accept_check_id != 0)
    g_source_remove(daemon->accept_check_id);
  g_clear_pointer(&daemon->controller, mm_controller_free);
  g_clear_pointer(&daemon->listener, mm_listener_free);
  g_clear_pointer(&daemon->proxy, mm_proxy_free);
  mm_client_session_set_launcher(NULL, NULL, 0);
  g_clear_pointer(&daemon->launcher, mm_launcher_free);
  if (daemon->pid_file != NULL) {
    g_autoptr(GError) error = NULL;
    if (!mm_pid_file_remove(daemon->pid_file, &error))
      mm_warning("[daemon] %s", error->message);
  }
  if (daemon->ready_fd >= 0)
    close(daemon->ready_fd);
  g_clear_pointer(&daemon->loop, g_main_loop_unref);
  g_clear_pointer(&daemon->config, mm_config_unref);
  g_clear_pointer(&daemon->config_dirs, g_strfreev);
  g_clear_pointer(&daemon->options, mm_daemon_options_free);
  g_clear_pointer(&daemon->pid_file, g_free);
  mm_log_close();
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Daemon, daemon_clear)

/* print_usage_error - an unknown option or bad value: the cause, then the options */
static int
print_usage_error(const char *program, const char *message)
{
  int argc = 1;
  char *argv_storage[] = {(char *)program, NULL};
  char **argv = argv_storage;
  g_autoptr(MmDaemonOptions) options = mm_daemon_options_parse(&argc, &argv, NULL);
  fprintf(stderr, "milter-manager: %s\n\n%s", message, options != NULL ? options->help : "");
  return 1;
}

/* mm_daemon_main - run the daemon with ARGV */
int
mm_daemon_main(int argc, char **argv, void *stack_start)
{
  g_set_prgname("milter-manager");
  /* A peer closing its socket must be an EPIPE error, not the end of the daemon. */
  signal(SIGPIPE, SIG_IGN);
  /* A reload or log reopening asked for while Ruby starts and the configuration loads waits
   * for serve() to watch it; it is held before Ruby starts, so Ruby keeps these handlers. */
  mm_workers_signal_hold(SIGHUP);
  mm_workers_signal_hold(SIGUSR1);
  g_log_set_default_handler(log_glib, NULL);

  g_auto(Daemon) daemon_storage = {.ready_fd = -1};
  Daemon *daemon = &daemon_storage;
  g_autoptr(GError) error = NULL;
  const char *program = argv[0];
  daemon->options = mm_daemon_options_parse(&argc, &argv, &error);
  if (daemon->options == NULL)
    return print_usage_error(program, error->message);
  if (daemon->options->show_version) {
    printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
    return 0;
  }
  guint levels = MM_LOG_LEVEL_DEFAULT;
  if (daemon->options->log_level != NULL)
    mm_log_level_parse(daemon->options->log_level, &levels, NULL);
  mm_log_set_levels(levels);

  daemon->config_dirs = mm_daemon_options_config_dirs(daemon->options, MM_CONFIG_DIR);
  for (guint i = 0; daemon->config_dirs[i] != NULL; i++)
    make_absolute(&daemon->config_dirs[i]);
  if (!mm_ruby_init(stack_start, &error))
    return fatal(daemon, "failed to start the configuration interpreter: %s", error->message);
  daemon->config = load_config(daemon, &error);
  if (daemon->config == NULL)
    return fatal(daemon, "failed to load the configuration: %s", error->message);
  if (daemon->options->show_config) {
    g_autofree char *dump = mm_ruby_config_dump(&error);
    if (dump == NULL)
      return fatal(daemon, "failed to dump the configuration: %s", error->message);
    fputs(dump, stdout);
    return fflush(stdout) == 0 ? 0 : 1;
  }
  return serve(daemon);
}
