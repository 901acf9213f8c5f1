/* SPDX-License-Identifier: GPL-3.0-or-later */
/* proxy.c: the set of MTA sessions of one process (see proxy.h): starts a server session per
 * accepted connection with the configuration current then, and frees it when it ends. */
#include "proxy.h"

#include "monitor.h"
#include "server-session.h"

struct MmProxy {
  MmConfig *config;
  GHashTable *sessions; /* MmServerSession* set */
  guint64 next_id;
  MmProxySessionEndedFunc ended_func;
  gpointer ended_data;
};

/* mm_proxy_new - no sessions yet */
MmProxy *
mm_proxy_new(MmConfig *config)
{
  MmProxy *proxy = g_new0(MmProxy, 1);
  proxy->config = mm_config_ref(config);
  proxy->sessions = g_hash_table_new(NULL, NULL);
  return proxy;
}

/* mm_proxy_set_config - for sessions accepted from now on */
void
mm_proxy_set_config(MmProxy *proxy, MmConfig *config)
{
  MmConfig *old = proxy->config;
  proxy->config = mm_config_ref(config);
  mm_config_unref(old);
}

/* on_session_ended - forget and free a finished session */
static void
on_session_ended(MmServerSession *session, gpointer user_data)
{
  MmProxy *proxy = user_data;
  g_hash_table_remove(proxy->sessions, session);
  mm_monitor_session_ended(mm_monitor_get_default(), mm_server_session_get_final_status(session));
  mm_server_session_free(session);
  if (proxy->ended_func)
    proxy->ended_func(proxy->ended_data);
}

/* mm_proxy_accept - a server session for an accepted MTA connection */
void
mm_proxy_accept(MmProxy *proxy, int fd)
{
  MmServerSession *session =
    mm_server_session_new(fd, proxy->config, ++proxy->next_id, on_session_ended, proxy);
  g_hash_table_add(proxy->sessions, session);
  mm_monitor_session_started(mm_monitor_get_default());
}

/* mm_proxy_get_n_sessions - sessions in progress */
guint
mm_proxy_get_n_sessions(MmProxy *proxy)
{
  return g_hash_table_size(proxy->sessions);
}

/* mm_proxy_set_session_ended_func - called after each session ends */
void
mm_proxy_set_session_ended_func(MmProxy *proxy, MmProxySessionEndedFunc func,
                                gpointer user_data)
{
  proxy->ended_func = func;
  proxy->ended_data = user_data;
}

/* mm_proxy_free - stop every session (each MTA waiting gets the fallback answer) and free */
void
mm_proxy_free(MmProxy *proxy)
{
  if (proxy == NULL)
    return;
  GHashTableIter iter;
  gpointer session;
  g_hash_table_iter_init(&iter, proxy->sessions);
  while (g_hash_table_iter_next(&iter, &session, NULL)) {
    mm_server_session_stop(session);
    mm_monitor_session_ended(mm_monitor_get_default(),
                             mm_server_session_get_final_status(session));
    mm_server_session_free(session);
  }
  g_hash_table_unref(proxy->sessions);
  mm_config_unref(proxy->config);
  g_free(proxy);
}
