/* SPDX-License-Identifier: GPL-3.0-or-later */
/* launcher.h: privilege mode: a root process forked before the daemon gives up root that
 * starts a defined child milter's milter.command, as its milter.user_name, on request. */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "config.h"

#define MM_LAUNCHER_ERROR (mm_launcher_error_quark())
GQuark mm_launcher_error_quark(void);

typedef enum {
  MM_LAUNCHER_ERROR_START, /* socketpair or fork failed */
} MmLauncherError;

/* How long a session waits after asking for a launch before it connects again (2.3: 5 s). */
#define MM_LAUNCHER_RETRY_DELAY_MS 5000
/* A milter is started at most once in this many seconds, however often it is asked for. */
#define MM_LAUNCHER_MIN_INTERVAL_SECONDS 30
/* The only PATH a started command sees (and where a command without '/' is looked up). */
#define MM_LAUNCHER_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* How long the daemon waits for the launcher to exit after closing its socket. */
#define MM_LAUNCHER_STOP_WAIT_MS 1000
/* While started milters run, how often the launcher looks whether they ended. */
#define MM_LAUNCHER_REAP_INTERVAL_MS 1000

/* Loads a fresh configuration, in the launcher process (as root), on the daemon's reload. */
typedef MmConfig *(*MmLauncherLoadFunc)(gpointer user_data, GError **error);

/* The daemon's end of the launcher. */
typedef struct MmLauncher MmLauncher;

/* mm_launcher_start - fork (through Ruby) the launcher serving CONFIG's milters; the launcher
 * exits when the daemon's end of its socket closes, and also when its parent dies if
 * WATCH_PARENT (FALSE when the parent will detach). LOAD reloads CONFIG in the launcher. Only
 * returns in the daemon; replies are read on the default main context. */
MmLauncher *mm_launcher_start(MmConfig *config, gboolean watch_parent, MmLauncherLoadFunc load,
                              gpointer load_data, GError **error);

/* mm_launcher_launch - ask for MILTER to be started (fire and forget: the outcome is logged
 * when the launcher answers); FALSE if no request went out (no command, launcher gone, its
 * socket full) */
gboolean mm_launcher_launch(MmLauncher *launcher, const MmMilterConfig *milter);

/* mm_launcher_reload - have the launcher re-read the configuration itself */
void mm_launcher_reload(MmLauncher *launcher);

/* mm_launcher_get_pid - the launcher process */
pid_t mm_launcher_get_pid(const MmLauncher *launcher);

/* mm_launcher_free - close the socket (the launcher then exits) and reap it if it is our
 * child; NULL-safe */
void mm_launcher_free(MmLauncher *launcher);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmLauncher, mm_launcher_free)
