/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-body-spool.c: the message body spool: memory up to its limit, an unlinked file past it,
 * read back by offset, and the maximum size a peer's body may reach (disk included). */
#include <glib/gstdio.h>
#include <string.h>

#include "body-spool.h"

/* count_entries - files in DIRECTORY (the spool's file must be unlinked at once) */
static guint
count_entries(const char *directory)
{
  g_autoptr(GDir) dir = g_dir_open(directory, 0, NULL);
  guint n = 0;
  while (dir && g_dir_read_name(dir))
    n++;
  return n;
}

/* test_spill - past the memory limit the body moves to a file nobody else can open */
static void
test_spill(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *directory = g_dir_make_tmp("test-body-spool-XXXXXX", &error);
  g_assert_no_error(error);
  g_autoptr(MmBodySpool) spool = mm_body_spool_new(10, directory);
  g_assert_true(mm_body_spool_append(spool, (const guint8 *)"0123456789", 10, &error));
  g_assert_false(mm_body_spool_is_on_disk(spool));
  g_assert_true(mm_body_spool_append(spool, (const guint8 *)"abc", 3, &error));
  g_assert_no_error(error);
  g_assert_true(mm_body_spool_is_on_disk(spool));
  g_assert_cmpuint(count_entries(directory), ==, 0);
  guint8 buffer[16];
  gsize n = 0;
  g_assert_true(mm_body_spool_read(spool, 8, buffer, sizeof(buffer), NULL, &n, &error));
  g_assert_cmpmem(buffer, n, "89abc", 5);
  g_clear_pointer(&spool, mm_body_spool_free);
  g_rmdir(directory);
}

/* test_max_size - a body may not grow past the maximum: a clear error, the body unchanged */
static void
test_max_size(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MmBodySpool) spool = mm_body_spool_new(4, NULL);
  mm_body_spool_set_max_size(spool, 8);
  g_assert_true(mm_body_spool_append(spool, (const guint8 *)"12345", 5, &error));
  g_assert_true(mm_body_spool_append(spool, (const guint8 *)"678", 3, &error));
  g_assert_no_error(error);
  g_assert_false(mm_body_spool_append(spool, (const guint8 *)"9", 1, &error));
  g_assert_error(error, MM_BODY_SPOOL_ERROR, MM_BODY_SPOOL_ERROR_TOO_LARGE);
  g_assert_nonnull(strstr(error->message, "limit of 8 bytes"));
  g_assert_cmpuint(mm_body_spool_get_size(spool), ==, 8);
  /* A new message starts from nothing again. */
  mm_body_spool_clear(spool);
  g_clear_error(&error);
  g_assert_true(mm_body_spool_append(spool, (const guint8 *)"12345678", 8, &error));
}

/* test_max_size_default - the default is MM_BODY_SPOOL_MAX_SIZE_DEFAULT: one byte past it
 * fails without writing anything */
static void
test_max_size_default(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MmBodySpool) spool = mm_body_spool_new(1024, NULL);
  mm_body_spool_set_max_size(spool, MM_BODY_SPOOL_MAX_SIZE_DEFAULT);
  guint8 byte = 'x';
  g_assert_true(mm_body_spool_append(spool, &byte, 1, &error));
  /* A huge length is refused before any allocation or write. */
  g_assert_false(mm_body_spool_append(spool, &byte, (gsize)MM_BODY_SPOOL_MAX_SIZE_DEFAULT, &error));
  g_assert_error(error, MM_BODY_SPOOL_ERROR, MM_BODY_SPOOL_ERROR_TOO_LARGE);
  g_assert_cmpuint(mm_body_spool_get_size(spool), ==, 1);
}

/* test_append_in_memory - appends that keep the body in memory are taken, whole; one that
 * would spill, or any once the body is on disk, is refused with nothing appended */
static void
test_append_in_memory(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *directory = g_dir_make_tmp("test-body-spool-XXXXXX", &error);
  g_assert_no_error(error);
  g_autoptr(MmBodySpool) spool = mm_body_spool_new(10, directory);
  g_assert_true(mm_body_spool_append_in_memory(spool, (const guint8 *)"012345", 6));
  g_assert_true(mm_body_spool_append_in_memory(spool, (const guint8 *)"6789", 4));
  g_assert_false(mm_body_spool_append_in_memory(spool, (const guint8 *)"a", 1));
  g_assert_cmpuint(mm_body_spool_get_size(spool), ==, 10);
  g_assert_false(mm_body_spool_is_on_disk(spool));
  g_assert_true(mm_body_spool_append(spool, (const guint8 *)"a", 1, &error));
  g_assert_true(mm_body_spool_is_on_disk(spool));
  g_assert_false(mm_body_spool_append_in_memory(spool, (const guint8 *)"b", 1));
  g_assert_cmpuint(mm_body_spool_get_size(spool), ==, 11);
  guint8 buffer[16];
  gsize n = 0;
  g_assert_true(mm_body_spool_read(spool, 0, buffer, sizeof(buffer), NULL, &n, &error));
  g_assert_cmpmem(buffer, n, "0123456789a", 11);
  g_clear_pointer(&spool, mm_body_spool_free);
  g_rmdir(directory);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/body-spool/spill", test_spill);
  g_test_add_func("/body-spool/max-size", test_max_size);
  g_test_add_func("/body-spool/max-size-default", test_max_size_default);
  g_test_add_func("/body-spool/append-in-memory", test_append_in_memory);
  return g_test_run();
}
