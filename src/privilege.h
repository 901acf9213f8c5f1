/* SPDX-License-Identifier: GPL-3.0-or-later */
/* privilege.h: giving up root: resolving the effective user and group, then setgid,
 * initgroups and setuid, checked afterwards (real, effective and saved ids). */
#pragma once

#include <glib.h>
#include <sys/types.h>

#define MM_PRIVILEGE_ERROR (mm_privilege_error_quark())
GQuark mm_privilege_error_quark(void);

typedef enum {
  MM_PRIVILEGE_ERROR_UNKNOWN_USER,
  MM_PRIVILEGE_ERROR_UNKNOWN_GROUP,
  MM_PRIVILEGE_ERROR_DROP, /* a set*id call failed, or root could be regained */
} MmPrivilegeError;

/* The user root hands over to when none is configured, as 2.3 does. */
#define MM_PRIVILEGE_DEFAULT_USER "nobody"

typedef struct {
  char *user_name;
  uid_t uid;
  char *group_name;
  gid_t gid;
} MmPrivilege;

/* mm_privilege_resolve - look up USER (name or number; NULL or "": nobody) and GROUP
 * (name or number; NULL or "": the user's primary group) */
MmPrivilege *mm_privilege_resolve(const char *user, const char *group, GError **error);

/* mm_privilege_drop - become PRIVILEGE's user and group for good */
gboolean mm_privilege_drop(const MmPrivilege *privilege, GError **error);

void mm_privilege_free(MmPrivilege *privilege);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MmPrivilege, mm_privilege_free)
