/* SPDX-License-Identifier: GPL-3.0-or-later */
/* privilege.c: resolving the effective user and group from names or numbers, and dropping
 * root for good: supplementary groups, then group, then user, then a check of all ids. */
/* pipe2, setresuid and getresuid are GNU extensions. */

#include "src/privilege.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

G_DEFINE_QUARK(mm-privilege-error-quark, mm_privilege_error)

/* parse_id - a decimal user or group id, or FALSE for a name */
static gboolean
parse_id(const char *text, guint32 *id)
{
  guint64 number;
  if (!g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT32 - 1, &number, NULL))
    return FALSE;
  *id = (guint32)number;
  return TRUE;
}

/* mm_privilege_resolve - look up USER and GROUP */
MmPrivilege *
mm_privilege_resolve(const char *user, const char *group, GError **error)
{
  if (user == NULL || *user == '\0')
    user = MM_PRIVILEGE_DEFAULT_USER;
  guint32 id;
  errno = 0;
  struct passwd *pw = parse_id(user, &id) ? getpwuid((uid_t)id) : getpwnam(user);
  if (pw == NULL) {
    g_set_error(error, MM_PRIVILEGE_ERROR, MM_PRIVILEGE_ERROR_UNKNOWN_USER,
                "unknown effective user \"%s\"%s%s", user, errno != 0 ? ": " : "",
                errno != 0 ? g_strerror(errno) : "");
    return NULL;
  }
  g_autoptr(MmPrivilege) privilege = g_new0(MmPrivilege, 1);
  privilege->user_name = g_strdup(pw->pw_name);
  privilege->uid = pw->pw_uid;
  privilege->gid = pw->pw_gid;
  if (group != NULL && *group != '\0') {
    errno = 0;
    struct group *gr = parse_id(group, &id) ? getgrgid((gid_t)id) : getgrnam(group);
    if (gr == NULL) {
      g_set_error(error, MM_PRIVILEGE_ERROR, MM_PRIVILEGE_ERROR_UNKNOWN_GROUP,
                  "unknown effective group \"%s\"%s%s", group, errno != 0 ? ": " : "",
                  errno != 0 ? g_strerror(errno) : "");
      return NULL;
    }
    privilege->gid = gr->gr_gid;
    privilege->group_name = g_strdup(gr->gr_name);
  } else {
    struct group *gr = getgrgid(privilege->gid);
    privilege->group_name = gr != NULL ? g_strdup(gr->gr_name)
                                       : g_strdup_printf("%u", (unsigned)privilege->gid);
  }
  return g_steal_pointer(&privilege);
}

/* drop_error - an error for the failed step, with errno text */
static gboolean
drop_error(GError **error, const MmPrivilege *privilege, const char *step, int saved)
{
  g_set_error(error, MM_PRIVILEGE_ERROR, MM_PRIVILEGE_ERROR_DROP,
              "failed to switch to user %s (%u) and group %s (%u): %s: %s",
              privilege->user_name, (unsigned)privilege->uid, privilege->group_name,
              (unsigned)privilege->gid, step, g_strerror(saved));
  return FALSE;
}

/* mm_privilege_drop - become PRIVILEGE's user and group for good */
gboolean
mm_privilege_drop(const MmPrivilege *privilege, GError **error)
{
  /* The group must change while we are still root; the user last. */
  if (initgroups(privilege->user_name, privilege->gid) != 0)
    return drop_error(error, privilege, "initgroups", errno);
  if (setresgid(privilege->gid, privilege->gid, privilege->gid) != 0)
    return drop_error(error, privilege, "setresgid", errno);
  if (setresuid(privilege->uid, privilege->uid, privilege->uid) != 0)
    return drop_error(error, privilege, "setresuid", errno);

  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0)
    return drop_error(error, privilege, "getresuid", errno);
  if (ruid != privilege->uid || euid != privilege->uid || suid != privilege->uid ||
      rgid != privilege->gid || egid != privilege->gid || sgid != privilege->gid)
    return drop_error(error, privilege, "ids after the switch", EPERM);
  if (privilege->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
    return drop_error(error, privilege, "root could be regained", EPERM);
  return TRUE;
}

/* mm_privilege_free - NULL-safe */
void
mm_privilege_free(MmPrivilege *privilege)
{
  if (privilege == NULL)
    return;
  g_free(privilege->user_name);
  g_free(privilege->group_name);
  g_free(privilege);
}
