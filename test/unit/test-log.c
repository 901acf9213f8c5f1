/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-log.c: unit tests for the daemon's log (log.h): level names, the file format,
 * filtering by level, and reopening a renamed file as logrotate does. */
#include "log.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

typedef struct {
  char *dir;
  char *path;
} Fixture;

/* fixture_set_up - a private directory with a log file path inside */
static void
fixture_set_up(Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  fixture->dir = g_dir_make_tmp("test-log-XXXXXX", &error);
  g_assert_no_error(error);
  fixture->path = g_build_filename(fixture->dir, "milter-manager.log", NULL);
  mm_log_set_levels(MM_LOG_LEVEL_DEFAULT);
}

/* fixture_tear_down - close the log and remove its files */
static void
fixture_tear_down(Fixture *fixture, gconstpointer data)
{
  mm_log_close();
  g_autoptr(GDir) dir = g_dir_open(fixture->dir, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
    g_autofree char *path = g_build_filename(fixture->dir, name, NULL);
    g_unlink(path);
  }
  g_rmdir(fixture->dir);
  g_free(fixture->path);
  g_free(fixture->dir);
}

/* read_file - the whole content of PATH ("" when missing) */
static char *
read_file(const char *path)
{
  char *content = NULL;
  if (!g_file_get_contents(path, &content, NULL, NULL))
    return g_strdup("");
  return content;
}

static void
test_level_parse(void)
{
  struct {
    const char *text;
    guint levels;
  } cases[] = {
    {"all", MM_LOG_LEVEL_ALL},
    {"default", MM_LOG_LEVEL_DEFAULT},
    {"none", MM_LOG_LEVEL_NONE},
    {"", MM_LOG_LEVEL_NONE},
    {"error", MM_LOG_LEVEL_ERROR},
    {"info|debug", MM_LOG_LEVEL_INFO | MM_LOG_LEVEL_DEBUG},
    {" Critical | STATISTICS ", MM_LOG_LEVEL_CRITICAL | MM_LOG_LEVEL_STATISTICS},
    {"default|info", MM_LOG_LEVEL_DEFAULT | MM_LOG_LEVEL_INFO},
    {"profile", MM_LOG_LEVEL_PROFILE},
    {"warning|message", MM_LOG_LEVEL_WARNING | MM_LOG_LEVEL_MESSAGE},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) error = NULL;
    guint levels = 12345;
    g_assert_true(mm_log_level_parse(cases[i].text, &levels, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(levels, ==, cases[i].levels);
  }
}

static void
test_level_parse_error(void)
{
  const char *bad[] = {"verbose", "info|trace", "info||x", "all,debug"};
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) error = NULL;
    guint levels = 12345;
    g_assert_false(mm_log_level_parse(bad[i], &levels, &error));
    g_assert_error(error, MM_LOG_ERROR, MM_LOG_ERROR_LEVEL);
    g_assert_cmpuint(levels, ==, 12345);
    g_assert_nonnull(strstr(error->message, bad[i]));
  }
}

static void
test_level_names(void)
{
  g_assert_cmpstr(mm_log_level_to_string(MM_LOG_LEVEL_WARNING), ==, "warning");
  g_assert_cmpstr(mm_log_level_to_string(MM_LOG_LEVEL_STATISTICS), ==, "statistics");
  g_assert_cmpstr(mm_log_level_to_string(MM_LOG_LEVEL_ERROR | MM_LOG_LEVEL_INFO), ==,
                  "unknown");
}

static void
test_file_format(Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_assert_true(mm_log_open_file(fixture->path, &error));
  g_assert_no_error(error);
  mm_warning("child %s failed: %d", "clamav", 42);
  g_autofree char *content = read_file(fixture->path);
  g_autofree char *pattern = g_strdup_printf(
      "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z [^ ]+\\[%ld\\]: "
      "\\[warning\\] child clamav failed: 42\\n$",
      (long)getpid());
  if (!g_regex_match_simple(pattern, content, 0, 0))
    g_error("log line %s does not match %s", content, pattern);
  struct stat st;
  g_assert_cmpint(g_stat(fixture->path, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 0002, ==, 0);
}

static void
test_file_levels(Fixture *fixture, gconstpointer data)
{
  g_assert_true(mm_log_open_file(fixture->path, NULL));
  mm_log_set_levels(MM_LOG_LEVEL_ERROR | MM_LOG_LEVEL_DEBUG);
  g_assert_cmpuint(mm_log_get_levels(), ==, MM_LOG_LEVEL_ERROR | MM_LOG_LEVEL_DEBUG);
  g_assert_true(mm_log_is_enabled(MM_LOG_LEVEL_DEBUG));
  g_assert_false(mm_log_is_enabled(MM_LOG_LEVEL_INFO));
  mm_info("hidden info");
  mm_error("shown error");
  mm_debug("shown debug %d", 1);
  mm_statistics("hidden statistics");
  g_autofree char *content = read_file(fixture->path);
  g_assert_null(strstr(content, "hidden"));
  g_assert_nonnull(strstr(content, "[error] shown error\n"));
  g_assert_nonnull(strstr(content, "[debug] shown debug 1\n"));
  mm_log_set_levels(MM_LOG_LEVEL_NONE);
  mm_critical("hidden too");
  g_autofree char *after = read_file(fixture->path);
  g_assert_cmpstr(after, ==, content);
}

static void
test_file_append(Fixture *fixture, gconstpointer data)
{
  g_assert_true(g_file_set_contents(fixture->path, "earlier line\n", -1, NULL));
  g_assert_true(mm_log_open_file(fixture->path, NULL));
  mm_message("later line");
  g_autofree char *content = read_file(fixture->path);
  g_assert_true(g_str_has_prefix(content, "earlier line\n"));
  g_assert_nonnull(strstr(content, "[message] later line\n"));
}

static void
test_file_reopen(Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *rotated = g_strconcat(fixture->path, ".1", NULL);
  g_assert_true(mm_log_open_file(fixture->path, NULL));
  mm_message("before rotation");
  g_assert_cmpint(g_rename(fixture->path, rotated), ==, 0);
  mm_message("still to the old file");
  g_assert_true(mm_log_reopen(&error));
  g_assert_no_error(error);
  mm_message("after rotation");
  g_autofree char *old_content = read_file(rotated);
  g_autofree char *new_content = read_file(fixture->path);
  g_assert_nonnull(strstr(old_content, "before rotation"));
  g_assert_nonnull(strstr(old_content, "still to the old file"));
  g_assert_null(strstr(old_content, "after rotation"));
  g_assert_nonnull(strstr(new_content, "after rotation"));
  g_assert_null(strstr(new_content, "before rotation"));
}

static void
test_file_reopen_failure(Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *sub = g_build_filename(fixture->dir, "sub", NULL);
  g_autofree char *path = g_build_filename(sub, "x.log", NULL);
  g_autofree char *moved = g_build_filename(fixture->dir, "x.log", NULL);
  g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
  g_assert_true(mm_log_open_file(path, NULL));
  g_assert_cmpint(g_rename(path, moved), ==, 0);
  g_assert_cmpint(g_rmdir(sub), ==, 0);
  /* The directory is gone: reopening fails and the old file keeps receiving lines. */
  g_assert_false(mm_log_reopen(&error));
  g_assert_error(error, MM_LOG_ERROR, MM_LOG_ERROR_FILE);
  g_assert_nonnull(strstr(error->message, path));
  mm_message("kept");
  g_autofree char *content = read_file(moved);
  g_assert_nonnull(strstr(content, "[message] kept\n"));
}

static void
test_file_open_error(Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename(fixture->dir, "missing", "x.log", NULL);
  g_assert_false(mm_log_open_file(path, &error));
  g_assert_error(error, MM_LOG_ERROR, MM_LOG_ERROR_FILE);
  g_assert_nonnull(strstr(error->message, path));
  g_assert_nonnull(strstr(error->message, g_strerror(ENOENT)));
}

static void
test_syslog_facility(void)
{
  g_autoptr(GError) error = NULL;
  g_assert_false(mm_log_open_syslog("test-log", "mial", &error));
  g_assert_error(error, MM_LOG_ERROR, MM_LOG_ERROR_FACILITY);
  g_assert_nonnull(strstr(error->message, "\"mial\""));
  g_clear_error(&error);
  g_assert_true(mm_log_open_syslog("test-log", "local3", &error));
  g_assert_no_error(error);
  g_assert_true(mm_log_open_syslog("test-log", "MAIL", &error));
  g_assert_no_error(error);
  mm_log_close();
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/log/level/parse", test_level_parse);
  g_test_add_func("/log/level/parse-error", test_level_parse_error);
  g_test_add_func("/log/level/names", test_level_names);
  g_test_add("/log/file/format", Fixture, NULL, fixture_set_up, test_file_format,
             fixture_tear_down);
  g_test_add("/log/file/levels", Fixture, NULL, fixture_set_up, test_file_levels,
             fixture_tear_down);
  g_test_add("/log/file/append", Fixture, NULL, fixture_set_up, test_file_append,
             fixture_tear_down);
  g_test_add("/log/file/reopen", Fixture, NULL, fixture_set_up, test_file_reopen,
             fixture_tear_down);
  g_test_add("/log/file/reopen-failure", Fixture, NULL, fixture_set_up,
             test_file_reopen_failure, fixture_tear_down);
  g_test_add("/log/file/open-error", Fixture, NULL, fixture_set_up, test_file_open_error,
             fixture_tear_down);
  g_test_add_func("/log/syslog/facility", test_syslog_facility);
  return g_test_run();
}
