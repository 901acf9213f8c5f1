/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-status.c: unit tests for verdict precedence and names (status.h). */
#include "status.h"

#include "protocol.h"

/* Strongest to weakest, as milter manager 2.3 orders them. */
static const MmStatus precedence[] = {
  MM_STATUS_DISCARD, MM_STATUS_REJECT, MM_STATUS_TEMPORARY_FAILURE,
  MM_STATUS_CONTINUE, MM_STATUS_SKIP, MM_STATUS_ACCEPT, MM_STATUS_NOT_CHANGED,
};

static void
test_precedence(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(precedence); i++) {
    for (guint j = 0; j < G_N_ELEMENTS(precedence); j++) {
      MmStatus expected = precedence[MIN(i, j)];
      g_assert_cmpint(mm_status_merge(precedence[i], precedence[j]), ==, expected);
    }
  }
}

static void
test_names(void)
{
  MmStatus status = MM_STATUS_NOT_CHANGED;
  g_assert_true(mm_status_from_string("temporary_failure", &status));
  g_assert_cmpint(status, ==, MM_STATUS_TEMPORARY_FAILURE);
  g_assert_true(mm_status_from_string("Reject", &status));
  g_assert_cmpint(status, ==, MM_STATUS_REJECT);
  g_assert_false(mm_status_from_string("bounce", &status));
  g_assert_cmpint(status, ==, MM_STATUS_REJECT);
  g_assert_cmpstr(mm_status_to_string(MM_STATUS_TEMPORARY_FAILURE), ==, "temporary-failure");
  g_assert_cmpint(mm_status_to_reply_code(MM_STATUS_DISCARD), ==, MM_REPLY_DISCARD);
  g_assert_true(mm_status_is_fallback(MM_STATUS_ACCEPT));
  g_assert_false(mm_status_is_fallback(MM_STATUS_CONTINUE));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/status/precedence", test_precedence);
  g_test_add_func("/status/names", test_names);
  return g_test_run();
}
