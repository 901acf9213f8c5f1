/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ruby-config.h: the embedded Ruby interpreter's boundary: start it, load
 * milter-manager.conf with the configuration DSL into an MmConfig, dump it for --show-config. */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "config.h"

#define MM_RUBY_ERROR (mm_ruby_error_quark())
GQuark mm_ruby_error_quark(void);

typedef enum {
  MM_RUBY_ERROR_INIT,      /* the interpreter or the DSL library failed to start */
  MM_RUBY_ERROR_CONFIG,    /* a configuration file raised: message has FILE:LINE and Ruby's message */
  MM_RUBY_ERROR_NOT_FOUND, /* no milter-manager.conf in any configuration directory */
  MM_RUBY_ERROR_FORK,
} MmRubyError;

/* mm_ruby_init - start the interpreter once per process. STACK_START is the address of a
 * local variable in main(), for Ruby's conservative stack scan. Ruby's own signal handlers
 * are removed again: the daemon installs its own on the GLib main loop. The DSL library is
 * found in $MILTER_MANAGER_RUBYLIB, else the installed MM_RUBY_LIB_DIR. */
gboolean mm_ruby_init(void *stack_start, GError **error);

/* mm_ruby_config_load - a fresh configuration: defaults, then milter-manager.conf from the
 * first of CONFIG_DIRS (NULL-terminated, searched in order) that has one. Relative load()
 * paths resolve against every directory. On error nothing of the new configuration leaks. */
MmConfig *mm_ruby_config_load(const char *const *config_dirs, GError **error);

/* mm_ruby_config_dump - the --show-config text of the configuration loaded last: Ruby DSL,
 * each item preceded by "# default" or "# FILE:LINE". */
char *mm_ruby_config_dump(GError **error);

/* mm_ruby_fork - fork through Ruby (Process.fork) so the interpreter stays consistent in the
 * child; returns the child's pid in the parent, 0 in the child, -1 with an error. */
pid_t mm_ruby_fork(GError **error);
