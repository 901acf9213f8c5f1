/* SPDX-License-Identifier: GPL-3.0-or-later */
/* proxy.h: all MTA sessions of one process: starts a server session (and its children)
 * for each accepted MTA connection with the configuration current at accept time. */
#pragma once

#include <glib.h>

#include "config.h"

typedef struct MmProxy MmProxy;

/* Called after a session ended (to resume accepting, or to finish a graceful stop). */
typedef void (*MmProxySessionEndedFunc)(gpointer user_data);

MmProxy *mm_proxy_new(MmConfig *config);

/* mm_proxy_set_config - sessions accepted from now on use CONFIG; sessions in progress
 * keep the configuration they started with */
void mm_proxy_set_config(MmProxy *proxy, MmConfig *config);

/* mm_proxy_accept - run a server session on FD (an accepted MTA connection) */
void mm_proxy_accept(MmProxy *proxy, int fd);

/* mm_proxy_get_n_sessions - sessions in progress */
guint mm_proxy_get_n_sessions(MmProxy *proxy);

void mm_proxy_set_session_ended_func(MmProxy *proxy, MmProxySessionEndedFunc func,
                                     gpointer user_data);

/* mm_proxy_free - end every session in progress (each MTA gets the fallback answer for the
 * step it waits on) and free; NULL-safe */
void mm_proxy_free(MmProxy *proxy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmProxy, mm_proxy_free)
