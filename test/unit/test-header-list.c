/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-header-list.c: unit tests for header edits, the final diff (tables and random
 * edit sequences, replayed under two MTA models) and HDR_LEADSPC translation. */
#include "header-list.h"

#include <string.h>

/* A header list written "Name=value|Name=value"; "" is the empty list. */
static MmHeaderList *
parse_list(const char *text)
{
  MmHeaderList *list = mm_header_list_new();
  g_auto(GStrv) items = g_strsplit(text, "|", -1);
  for (guint i = 0; items[i] != NULL; i++) {
    if (items[i][0] == '\0')
      continue;
    char *equal = strchr(items[i], '=');
    g_assert_nonnull(equal);
    *equal = '\0';
    g_autoptr(GError) error = NULL;
    g_assert_true(mm_header_list_append_original(list, items[i], equal + 1, &error));
    g_assert_no_error(error);
  }
  return list;
}

/* format_list - the same notation back */
static char *
format_list(const MmHeaderList *list)
{
  GString *out = g_string_new(NULL);
  for (guint i = 0; i < mm_header_list_length(list); i++) {
    const MmHeader *header = mm_header_list_nth(list, i);
    g_string_append_printf(out, "%s%s=%s", i ? "|" : "", header->name, header->value);
  }
  return g_string_free(out, FALSE);
}

/* One child edit: 'h' add, 'i' insert, 'm' change. */
typedef struct {
  char command;
  const char *name;
  guint32 index;
  const char *value;
} Edit;

#define EDITS_MAX 6

/* apply_edit - one child edit, which must succeed */
static void
apply_edit(MmHeaderList *list, const Edit *edit)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = FALSE;
  switch (edit->command) {
  case 'h': ok = mm_header_list_add(list, edit->name, edit->value, &error); break;
  case 'i': ok = mm_header_list_insert(list, edit->index, edit->name, edit->value, &error); break;
  case 'm': ok = mm_header_list_change(list, edit->name, edit->index, edit->value, &error); break;
  default: g_assert_not_reached();
  }
  g_assert_no_error(error);
  g_assert_true(ok);
}

/* Edits on one list and the list they give. */
typedef struct {
  const char *path;
  const char *original;
  Edit edits[EDITS_MAX];
  const char *expected;
} EditCase;

static const EditCase edit_cases[] = {
  { "/header-list/add/append", "From=a|To=b", { { 'h', "X-Spam", 0, "yes" } },
    "From=a|To=b|X-Spam=yes" },
  { "/header-list/add/before-same-name", "Received=1|From=a|Received=2",
    { { 'h', "Received", 0, "new" } }, "Received=new|Received=1|From=a|Received=2" },
  { "/header-list/add/same-name-ignores-case", "From=a|x-spam=old|To=b",
    { { 'h', "X-Spam", 0, "new" } }, "From=a|X-Spam=new|x-spam=old|To=b" },
  { "/header-list/add/to-empty", "", { { 'h', "A", 0, "1" } }, "A=1" },
  { "/header-list/add/empty-value", "A=1", { { 'h', "B", 0, "" } }, "A=1|B=" },
  { "/header-list/insert/top", "From=a|To=b", { { 'i', "X", 0, "1" } }, "X=1|From=a|To=b" },
  { "/header-list/insert/middle", "From=a|To=b", { { 'i', "X", 1, "1" } }, "From=a|X=1|To=b" },
  { "/header-list/insert/end", "From=a|To=b", { { 'i', "X", 2, "1" } }, "From=a|To=b|X=1" },
  { "/header-list/insert/past-end-appends", "From=a", { { 'i', "X", 50, "1" } },
    "From=a|X=1" },
  { "/header-list/change/first", "A=1|B=2|A=3", { { 'm', "A", 1, "x" } }, "A=x|B=2|A=3" },
  { "/header-list/change/second", "A=1|B=2|A=3", { { 'm', "A", 2, "x" } }, "A=1|B=2|A=x" },
  { "/header-list/change/index-zero-is-one", "A=1|A=3", { { 'm', "A", 0, "x" } }, "A=x|A=3" },
  { "/header-list/change/ignores-case", "subject=1", { { 'm', "Subject", 1, "x" } },
    "subject=x" },
  { "/header-list/change/absent-adds", "A=1|B=2", { { 'm', "C", 1, "x" } }, "A=1|B=2|C=x" },
  { "/header-list/change/absent-index-adds", "A=1|B=2", { { 'm', "A", 2, "x" } },
    "A=x|A=1|B=2" },
  { "/header-list/change/empty-deletes", "A=1|B=2|A=3", { { 'm', "A", 2, "" } }, "A=1|B=2" },
  { "/header-list/change/null-deletes", "A=1|B=2|A=3", { { 'm', "a", 1, NULL } }, "B=2|A=3" },
  { "/header-list/change/delete-absent-is-nothing", "A=1", { { 'm', "B", 1, "" } }, "A=1" },
  { "/header-list/edits/in-order", "From=a|Subject=s|To=b",
    { { 'h', "X-1", 0, "1" }, { 'i', "X-0", 0, "0" }, { 'm', "Subject", 1, "t" },
      { 'm', "To", 1, "" }, { 'h', "X-1", 0, "2" } },
    "X-0=0|From=a|Subject=t|X-1=2|X-1=1" },
};

/* test_edit - one edit case */
static void
test_edit(gconstpointer data)
{
  const EditCase *c = data;
  g_autoptr(MmHeaderList) list = parse_list(c->original);
  for (guint i = 0; i < EDITS_MAX && c->edits[i].command != 0; i++)
    apply_edit(list, &c->edits[i]);
  g_autofree char *actual = format_list(list);
  g_assert_cmpstr(actual, ==, c->expected);
}

/* Input that must be refused with a header-list error. */
typedef struct {
  const char *path;
  Edit edit;
  MmHeaderListError code;
} BadCase;

static const BadCase bad_cases[] = {
  { "/header-list/bad/null-name", { 'h', NULL, 0, "v" }, MM_HEADER_LIST_ERROR_INVALID_NAME },
  { "/header-list/bad/empty-name", { 'i', "", 0, "v" }, MM_HEADER_LIST_ERROR_INVALID_NAME },
  { "/header-list/bad/colon", { 'h', "X-A:B", 0, "v" }, MM_HEADER_LIST_ERROR_INVALID_NAME },
  { "/header-list/bad/space", { 'm', "X A", 1, "v" }, MM_HEADER_LIST_ERROR_INVALID_NAME },
  { "/header-list/bad/control", { 'h', "X\r\nBcc", 0, "v" }, MM_HEADER_LIST_ERROR_INVALID_NAME },
  { "/header-list/bad/delete-char", { 'i', "X\x7f", 0, "v" }, MM_HEADER_LIST_ERROR_INVALID_NAME },
  { "/header-list/bad/null-value", { 'h', "X", 0, NULL }, MM_HEADER_LIST_ERROR_INVALID_VALUE },
  { "/header-list/bad/insert-null-value", { 'i', "X", 0, NULL },
    MM_HEADER_LIST_ERROR_INVALID_VALUE },
  { "/header-list/bad/insert-absurd-index", { 'i', "X", G_MAXUINT32, "v" },
    MM_HEADER_LIST_ERROR_INVALID_INDEX },
  { "/header-list/bad/change-absurd-index", { 'm', "X", MM_HEADER_LIST_MAX_HEADERS + 1, "v" },
    MM_HEADER_LIST_ERROR_INVALID_INDEX },
};

/* test_bad - one refused edit leaves the list alone */
static void
test_bad(gconstpointer data)
{
  const BadCase *c = data;
  g_autoptr(MmHeaderList) list = parse_list("A=1|X=2");
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;
  switch (c->edit.command) {
  case 'h': ok = mm_header_list_add(list, c->edit.name, c->edit.value, &error); break;
  case 'i':
    ok = mm_header_list_insert(list, c->edit.index, c->edit.name, c->edit.value, &error);
    break;
  case 'm':
    ok = mm_header_list_change(list, c->edit.name, c->edit.index, c->edit.value, &error);
    break;
  }
  g_assert_false(ok);
  g_assert_error(error, MM_HEADER_LIST_ERROR, (gint)c->code);
  g_assert_nonnull(strstr(error->message, "header"));
  g_autofree char *after = format_list(list);
  g_assert_cmpstr(after, ==, "A=1|X=2");
}

/* test_limits - the header count limit is an error, not unbounded growth */
static void
test_limits(void)
{
  g_autoptr(MmHeaderList) list = mm_header_list_new();
  g_autoptr(GError) error = NULL;
  for (guint i = 0; i < MM_HEADER_LIST_MAX_HEADERS; i++)
    g_assert_true(mm_header_list_append_original(list, "X", "v", NULL));
  g_assert_false(mm_header_list_add(list, "Y", "v", &error));
  g_assert_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_TOO_LARGE);
  g_clear_error(&error);
  g_autofree char *big = g_strnfill(MM_HEADER_LIST_MAX_BYTES, 'v');
  g_autoptr(MmHeaderList) small = parse_list("A=1");
  g_assert_false(mm_header_list_change(small, "A", 1, big, &error));
  g_assert_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_TOO_LARGE);
  g_assert_cmpstr(mm_header_list_nth(small, 0)->value, ==, "1");
}

/* Model of an MTA that keeps deleted headers as tombstones which still count in indexes
 * (the worst case for the diff's ordering); Postfix's model is apply_operation. */
typedef struct {
  char *name;
  char *value;
  gboolean deleted;
} Tomb;

/* tomb_free - free one model entry */
static void
tomb_free(gpointer data)
{
  Tomb *t = data;
  g_free(t->name);
  g_free(t->value);
  g_free(t);
}

/* tomb_apply - apply OP to the tombstone model */
static void
tomb_apply(GPtrArray *tombs, const MmHeaderOperation *op)
{
  if (op->type == MM_HEADER_OPERATION_INSERT) {
    Tomb *t = g_new0(Tomb, 1);
    t->name = g_strdup(op->name);
    t->value = g_strdup(op->value);
    g_ptr_array_insert(tombs, (gint)MIN(op->index, tombs->len), t);
    return;
  }
  guint32 left = MAX(op->index, 1);
  for (guint i = 0; i < tombs->len; i++) {
    Tomb *t = g_ptr_array_index(tombs, i);
    if (g_ascii_strcasecmp(t->name, op->name) != 0 || --left != 0)
      continue;
    g_assert_false(t->deleted); /* the diff never names a deleted header */
    if (op->type == MM_HEADER_OPERATION_DELETE) {
      t->deleted = TRUE;
    } else {
      g_free(t->value);
      t->value = g_strdup(op->value);
    }
    return;
  }
  g_assert_not_reached(); /* the diff never names a missing header */
}

/* check_diff - ORIGINAL plus the diff equals FINAL under both MTA models */
static GPtrArray *
check_diff(const MmHeaderList *original, const MmHeaderList *final)
{
  GPtrArray *operations = NULL;
  g_autoptr(GError) error = NULL;
  g_assert_true(mm_header_list_diff(original, final, &operations, &error));
  g_assert_no_error(error);

  g_autoptr(MmHeaderList) replay = mm_header_list_copy(original);
  g_autoptr(GPtrArray) tombs = g_ptr_array_new_with_free_func(tomb_free);
  for (guint i = 0; i < mm_header_list_length(original); i++) {
    Tomb *t = g_new0(Tomb, 1);
    t->name = g_strdup(mm_header_list_nth(original, i)->name);
    t->value = g_strdup(mm_header_list_nth(original, i)->value);
    g_ptr_array_add(tombs, t);
  }
  for (guint i = 0; i < operations->len; i++) {
    const MmHeaderOperation *op = g_ptr_array_index(operations, i);
    g_assert_true(mm_header_list_apply_operation(replay, op, &error));
    g_assert_no_error(error);
    tomb_apply(tombs, op);
  }
  g_autofree char *expected = format_list(final);
  g_autofree char *actual = format_list(replay);
  g_assert_cmpstr(actual, ==, expected);

  GString *live = g_string_new(NULL);
  for (guint i = 0; i < tombs->len; i++) {
    const Tomb *t = g_ptr_array_index(tombs, i);
    if (!t->deleted)
      g_string_append_printf(live, "%s%s=%s", live->len ? "|" : "", t->name, t->value);
  }
  g_assert_cmpstr(live->str, ==, expected);
  g_string_free(live, TRUE);
  return operations;
}

/* format_operations - "m:Name:1:value i:Name:0:value d:Name:2" */
static char *
format_operations(const GPtrArray *operations)
{
  GString *out = g_string_new(NULL);
  for (guint i = 0; i < operations->len; i++) {
    const MmHeaderOperation *op = g_ptr_array_index(operations, i);
    static const char letters[] = { [MM_HEADER_OPERATION_CHANGE] = 'm',
                                    [MM_HEADER_OPERATION_INSERT] = 'i',
                                    [MM_HEADER_OPERATION_DELETE] = 'd' };
    g_string_append_printf(out, "%s%c:%s:%" G_GUINT32_FORMAT, i ? " " : "", letters[op->type],
                           op->name, op->index);
    if (op->value != NULL)
      g_string_append_printf(out, ":%s", op->value);
  }
  return g_string_free(out, FALSE);
}

/* An edit script and the exact operations its diff must give. */
typedef struct {
  const char *path;
  const char *original;
  Edit edits[EDITS_MAX];
  const char *operations;
} DiffCase;

static const DiffCase diff_cases[] = {
  { "/header-list/diff/unchanged", "A=1|B=2", { { 0 } }, "" },
  { "/header-list/diff/change-same-value-is-nothing", "A=1|B=2", { { 'm', "A", 1, "1" } }, "" },
  { "/header-list/diff/add-end", "A=1|B=2", { { 'h', "C", 0, "3" } }, "i:C:2:3" },
  { "/header-list/diff/add-before-same-name", "A=1|B=2", { { 'h', "B", 0, "0" } },
    "i:B:1:0" },
  { "/header-list/diff/change-second", "A=1|B=2|A=3", { { 'm', "A", 2, "x" } }, "m:A:2:x" },
  { "/header-list/diff/delete-many-highest-first", "A=1|B=2|A=3|A=4",
    { { 'm', "A", 1, "" }, { 'm', "A", 2, "" } }, "d:A:3 d:A:1" },
  /* 2.3's identity matching turned this into changes that moved B (delete-header-many). */
  { "/header-list/diff/delete-keeps-order", "X=a|Y=b|X=a",
    { { 'm', "X", 1, "" } }, "d:X:1" },
  { "/header-list/diff/delete-then-add-same", "A=1|B=2",
    { { 'm', "A", 1, "" }, { 'h', "A", 0, "1" } }, "i:A:2:1 d:A:1" },
  { "/header-list/diff/insert-top-and-change", "From=a|To=b",
    { { 'i', "X", 0, "1" }, { 'm', "To", 1, "c" } }, "m:To:1:c i:X:0:1" },
  { "/header-list/diff/insert-among-deleted", "A=1|B=2|C=3",
    { { 'm', "B", 1, "" }, { 'i', "B", 1, "new" }, { 'm', "C", 1, "" } },
    "i:B:1:new d:C:1 d:B:2" },
  { "/header-list/diff/case-of-names", "subject=1|SUBJECT=2",
    { { 'm', "Subject", 2, "x" }, { 'h', "Subject", 0, "0" } }, "m:SUBJECT:2:x i:Subject:0:0" },
  { "/header-list/diff/empty-original", "", { { 'h', "A", 0, "1" }, { 'i', "B", 0, "2" } },
    "i:B:0:2 i:A:1:1" },
};

/* test_diff - one diff case: exact operations, and replayed result */
static void
test_diff(gconstpointer data)
{
  const DiffCase *c = data;
  g_autoptr(MmHeaderList) original = parse_list(c->original);
  g_autoptr(MmHeaderList) final = mm_header_list_copy(original);
  for (guint i = 0; i < EDITS_MAX && c->edits[i].command != 0; i++)
    apply_edit(final, &c->edits[i]);
  g_autoptr(GPtrArray) operations = check_diff(original, final);
  g_autofree char *actual = format_operations(operations);
  g_assert_cmpstr(actual, ==, c->operations);
}

/* test_diff_unrelated - a list that is not an edited copy is refused */
static void
test_diff_unrelated(void)
{
  g_autoptr(MmHeaderList) original = parse_list("A=1|B=2");
  g_autoptr(MmHeaderList) other = parse_list("A=1|B=2|C=3");
  GPtrArray *operations = NULL;
  g_autoptr(GError) error = NULL;
  g_assert_false(mm_header_list_diff(original, other, &operations, &error));
  g_assert_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_UNRELATED);
  g_assert_null(operations);
  g_clear_error(&error);
  g_autoptr(MmHeaderList) edited = mm_header_list_copy(original);
  g_assert_true(mm_header_list_add(edited, "Z", "z", NULL));
  g_assert_false(mm_header_list_diff(edited, original, &operations, &error));
  g_assert_error(error, MM_HEADER_LIST_ERROR, MM_HEADER_LIST_ERROR_UNRELATED);
}

#define RANDOM_SEED 20261121
#define RANDOM_ROUNDS 3000

/* test_diff_random - many random edit sequences over colliding names and values */
static void
test_diff_random(void)
{
  static const char *const names[] = { "A", "a", "B", "Subject", "X-Y" };
  static const char *const values[] = { "1", "2", "", "v", " lead" };
  g_autoptr(GRand) rand = g_rand_new_with_seed(RANDOM_SEED);
  guint n_operations = 0;
  for (guint round = 0; round < RANDOM_ROUNDS; round++) {
    g_autoptr(MmHeaderList) original = mm_header_list_new();
    guint n = (guint)g_rand_int_range(rand, 0, 9);
    for (guint i = 0; i < n; i++)
      g_assert_true(mm_header_list_append_original(
        original, names[g_rand_int_range(rand, 0, G_N_ELEMENTS(names))],
        values[g_rand_int_range(rand, 0, G_N_ELEMENTS(values))], NULL));
    g_autoptr(MmHeaderList) final = mm_header_list_copy(original);
    guint n_edits = (guint)g_rand_int_range(rand, 0, 12);
    for (guint i = 0; i < n_edits; i++) {
      static const char commands[] = "himm";
      Edit edit = { commands[g_rand_int_range(rand, 0, 4)],
                    names[g_rand_int_range(rand, 0, G_N_ELEMENTS(names))],
                    (guint32)g_rand_int_range(rand, 0, 11),
                    values[g_rand_int_range(rand, 0, G_N_ELEMENTS(values))] };
      apply_edit(final, &edit);
    }
    if (g_test_verbose()) {
      g_autofree char *before = format_list(original);
      g_autofree char *after = format_list(final);
      g_test_message("round %u: %s -> %s", round, before, after);
    }
    g_autoptr(GPtrArray) operations = check_diff(original, final);
    n_operations += operations->len;
  }
  /* The sequences must actually have edited something. */
  g_assert_cmpuint(n_operations, >, RANDOM_ROUNDS);
}

/* Values moved between HDR_LEADSPC conventions. */
typedef struct {
  const char *value;
  gboolean from, to;
  const char *expected;
} LeadCase;

static const LeadCase lead_cases[] = {
  { " hello", TRUE, FALSE, "hello" },
  { "  two", TRUE, FALSE, " two" },
  { "none", TRUE, FALSE, "none" },
  { "hello", FALSE, TRUE, " hello" },
  { " hello", TRUE, TRUE, " hello" },
  { "hello", FALSE, FALSE, "hello" },
  { "", FALSE, TRUE, "" },
  { "", TRUE, FALSE, "" },
  { " ", TRUE, FALSE, "" },
};

/* test_leading_space - HDR_LEADSPC translation table */
static void
test_leading_space(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(lead_cases); i++) {
    const LeadCase *c = &lead_cases[i];
    g_autofree char *actual = mm_header_list_translate_value(c->value, c->from, c->to);
    g_assert_cmpstr(actual, ==, c->expected);
  }
  g_assert_null(mm_header_list_translate_value(NULL, TRUE, FALSE));
}

/* test_hidden - Postfix's hidden Received: header counts for insert positions only */
static void
test_hidden(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MmHeaderList) original = mm_header_list_new();
  g_assert_true(mm_header_list_append_hidden(original, &error));
  g_assert_true(mm_header_list_append_original(original, "Subject", "hi", &error));
  g_assert_true(mm_header_list_append_original(original, "X-Dup", "one", &error));
  g_assert_true(mm_header_is_hidden(mm_header_list_nth(original, 0)));
  g_assert_false(mm_header_is_hidden(mm_header_list_nth(original, 1)));

  g_autoptr(MmHeaderList) final = mm_header_list_copy(original);
  /* an add before the first X-Dup, a change of Subject, an append */
  g_assert_true(mm_header_list_add(final, "X-Dup", "zero", &error));
  g_assert_true(mm_header_list_change(final, "Subject", 1, "new", &error));
  g_assert_true(mm_header_list_add(final, "X-End", "last", &error));
  /* no name reaches the hidden header */
  g_assert_false(mm_header_list_change(final, "", 1, "x", &error));
  g_clear_error(&error);
  g_assert_true(mm_header_is_hidden(mm_header_list_nth(final, 0)));

  g_autoptr(GPtrArray) operations = NULL;
  g_assert_true(mm_header_list_diff(original, final, &operations, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(operations->len, ==, 3);
  const MmHeaderOperation *change = g_ptr_array_index(operations, 0);
  g_assert_cmpint(change->type, ==, MM_HEADER_OPERATION_CHANGE);
  g_assert_cmpstr(change->name, ==, "Subject");
  g_assert_cmpuint(change->index, ==, 1); /* occurrences skip the hidden header */
  const MmHeaderOperation *insert = g_ptr_array_index(operations, 1);
  g_assert_cmpint(insert->type, ==, MM_HEADER_OPERATION_INSERT);
  g_assert_cmpstr(insert->name, ==, "X-Dup");
  g_assert_cmpuint(insert->index, ==, 2); /* positions count it: hidden, Subject, here */
  const MmHeaderOperation *append = g_ptr_array_index(operations, 2);
  g_assert_cmpuint(append->index, ==, 4);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS(edit_cases); i++)
    g_test_add_data_func(edit_cases[i].path, &edit_cases[i], test_edit);
  for (guint i = 0; i < G_N_ELEMENTS(bad_cases); i++)
    g_test_add_data_func(bad_cases[i].path, &bad_cases[i], test_bad);
  g_test_add_func("/header-list/limits", test_limits);
  g_test_add_func("/header-list/hidden", test_hidden);
  for (guint i = 0; i < G_N_ELEMENTS(diff_cases); i++)
    g_test_add_data_func(diff_cases[i].path, &diff_cases[i], test_diff);
  g_test_add_func("/header-list/diff/unrelated", test_diff_unrelated);
  g_test_add_func("/header-list/diff/random", test_diff_random);
  g_test_add_func("/header-list/leading-space", test_leading_space);
  return g_test_run();
}
