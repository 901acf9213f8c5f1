/* SPDX-License-Identifier: GPL-3.0-or-later */
/* milter-performance-check-mail.c: the mails the load client sends: generated ones or
 * RFC 5322 files, each with its envelope and its DATA payload ready for the wire. */
#include "milter-performance-check-mail.h"

#include <string.h>

#include <glib/gstdio.h>

/* mm_performance_mail_free - release a mail */
void
mm_performance_mail_free(MmPerformanceMail *mail)
{
  if (mail == NULL)
    return;
  g_free(mail->name);
  g_free(mail->from);
  if (mail->recipients != NULL)
    g_ptr_array_unref(mail->recipients);
  if (mail->data != NULL)
    g_bytes_unref(mail->data);
  g_free(mail);
}

/* encode_data - TEXT as the DATA payload: CRLF line ends, leading dots doubled, the
 * terminating ".\r\n" */
static GBytes *
encode_data(const char *text, gsize length)
{
  GString *out = g_string_sized_new(length + length / 32 + 8);
  gboolean line_start = TRUE;
  for (gsize i = 0; i < length; i++) {
    char c = text[i];
    if (line_start && c == '.')
      g_string_append_c(out, '.');
    if (c == '\r' && i + 1 < length && text[i + 1] == '\n')
      continue; /* the LF writes the CRLF */
    if (c == '\n' || c == '\r') {
      g_string_append(out, "\r\n");
      line_start = TRUE;
      continue;
    }
    g_string_append_c(out, c);
    line_start = FALSE;
  }
  if (!line_start)
    g_string_append(out, "\r\n");
  g_string_append(out, ".\r\n");
  gsize size = out->len;
  return g_bytes_new_take(g_string_free(out, FALSE), size);
}

/* recipients_from - a copy of the NULL-terminated list LIST */
static GPtrArray *
recipients_from(const char *const *list)
{
  GPtrArray *recipients = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; list != NULL && list[i] != NULL; i++)
    g_ptr_array_add(recipients, g_strdup(list[i]));
  return recipients;
}

/* mm_performance_mail_generate - a small mail from the options alone */
MmPerformanceMail *
mm_performance_mail_generate(const MmPerformanceMailOptions *options)
{
  MmPerformanceMail *mail = g_new0(MmPerformanceMail, 1);
  mail->name = g_strdup("generated");
  mail->from = g_strdup(options->force_from != NULL ? options->force_from : options->from);
  mail->recipients = recipients_from(options->force_recipients != NULL
                                       ? options->force_recipients
                                       : options->recipients);
  GString *text = g_string_new(NULL);
  g_string_append_printf(text, "From: <%s>\nTo: ", mail->from);
  for (guint i = 0; i < mail->recipients->len; i++)
    g_string_append_printf(text, "%s<%s>", i > 0 ? ", " : "",
                           (char *)g_ptr_array_index(mail->recipients, i));
  g_string_append(text, "\nSubject: a mail from milter-performance-check\n"
                        "Message-ID: <milter-performance-check@localhost.localdomain>\n"
                        "\nThis mail measures how fast the MTA and its milters are.\n");
  for (guint i = 0; i < options->n_additional_lines; i++)
    g_string_append_printf(text, "Additional line %u.\n", i + 1);
  mail->data = encode_data(text->str, text->len);
  g_string_free(text, TRUE);
  return mail;
}

/* header_value - the unfolded value of the first header NAME in the header block, or NULL */
static char *
header_value(const char *text, gsize length, const char *name)
{
  gsize name_length = strlen(name);
  const char *end = text + length;
  const char *line = text;
  while (line < end) {
    const char *eol = memchr(line, '\n', (gsize)(end - line));
    if (eol == NULL)
      eol = end;
    if (eol == line || (eol == line + 1 && line[0] == '\r'))
      return NULL; /* end of the header block */
    if ((gsize)(eol - line) > name_length && line[name_length] == ':' &&
        g_ascii_strncasecmp(line, name, name_length) == 0) {
      GString *value = g_string_new_len(line + name_length + 1, eol - line - name_length - 1);
      /* continuation lines start with white space */
      while (eol < end && eol + 1 < end && (eol[1] == ' ' || eol[1] == '\t')) {
        const char *next = eol + 1;
        eol = memchr(next, '\n', (gsize)(end - next));
        if (eol == NULL)
          eol = end;
        g_string_append_len(value, next, eol - next);
      }
      return g_strstrip(g_string_free(value, FALSE));
    }
    line = eol + 1;
  }
  return NULL;
}

/* add_addresses - the addresses of an address list header ("A <a@x>, b@y") */
static void
add_addresses(GPtrArray *addresses, const char *value)
{
  if (value == NULL)
    return;
  g_auto(GStrv) parts = g_strsplit(value, ",", -1);
  for (guint i = 0; parts[i] != NULL && addresses->len < MM_PERFORMANCE_MAIL_MAX_RECIPIENTS; i++) {
    const char *open = strchr(parts[i], '<');
    const char *close = open != NULL ? strchr(open, '>') : NULL;
    char *address = open != NULL && close != NULL ? g_strndup(open + 1, (gsize)(close - open - 1))
                                                  : g_strdup(parts[i]);
    g_strstrip(address);
    if (strchr(address, '@') != NULL && strpbrk(address, " \t\r\n") == NULL)
      g_ptr_array_add(addresses, address);
    else
      g_free(address);
  }
}

/* mm_performance_mail_new_from_text - a mail from a file's text */
MmPerformanceMail *
mm_performance_mail_new_from_text(const char *name, const char *text, gsize length,
                                  const MmPerformanceMailOptions *options)
{
  MmPerformanceMail *mail = g_new0(MmPerformanceMail, 1);
  mail->name = g_strdup(name);
  if (options->force_from != NULL) {
    mail->from = g_strdup(options->force_from);
  } else {
    g_autofree char *from = header_value(text, length, "From");
    g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
    add_addresses(found, from);
    mail->from = g_strdup(found->len > 0 ? g_ptr_array_index(found, 0) : options->from);
  }
  if (options->force_recipients != NULL) {
    mail->recipients = recipients_from(options->force_recipients);
  } else {
    mail->recipients = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *to = header_value(text, length, "To");
    g_autofree char *cc = header_value(text, length, "Cc");
    add_addresses(mail->recipients, to);
    add_addresses(mail->recipients, cc);
    if (mail->recipients->len == 0) {
      g_ptr_array_unref(mail->recipients);
      mail->recipients = recipients_from(options->recipients);
    }
  }
  GString *body = g_string_new_len(text, (gssize)length);
  if (body->len > 0 && body->str[body->len - 1] != '\n')
    g_string_append_c(body, '\n');
  for (guint i = 0; i < options->n_additional_lines; i++)
    g_string_append_printf(body, "Additional line %u.\n", i + 1);
  mail->data = encode_data(body->str, body->len);
  g_string_free(body, TRUE);
  return mail;
}

/* load_file - one mail file */
static gboolean
load_file(const char *path, const MmPerformanceMailOptions *options, GPtrArray *mails,
          GError **error)
{
  GStatBuf st;
  if (g_stat(path, &st) == 0 && st.st_size > MM_PERFORMANCE_MAIL_MAX_SIZE) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: larger than %d bytes", path,
                MM_PERFORMANCE_MAIL_MAX_SIZE);
    return FALSE;
  }
  g_autofree char *text = NULL;
  gsize length = 0;
  if (!g_file_get_contents(path, &text, &length, error))
    return FALSE;
  g_ptr_array_add(mails, mm_performance_mail_new_from_text(path, text, length, options));
  return TRUE;
}

/* compare_names - sort order of directory entries, so that runs are repeatable */
static gint
compare_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* load_path - a file, or every file under a directory DEPTH levels down */
static gboolean
load_path(const char *path, guint depth, const MmPerformanceMailOptions *options,
          GPtrArray *mails, GError **error)
{
  if (!g_file_test(path, G_FILE_TEST_IS_DIR))
    return load_file(path, options, mails, error);
  if (depth > MM_PERFORMANCE_MAIL_MAX_DEPTH) {
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_LOOP,
                "%s: more than %d directory levels (a symbolic link loop?)", path,
                MM_PERFORMANCE_MAIL_MAX_DEPTH);
    return FALSE;
  }
  g_autoptr(GDir) dir = g_dir_open(path, 0, error);
  if (dir == NULL)
    return FALSE;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(dir)) != NULL) {
    if (name[0] != '.')
      g_ptr_array_add(names, g_build_filename(path, name, NULL));
  }
  g_ptr_array_sort(names, compare_names);
  for (guint i = 0; i < names->len; i++) {
    if (!load_path(g_ptr_array_index(names, i), depth + 1, options, mails, error))
      return FALSE;
  }
  return TRUE;
}

/* mm_performance_mail_load - a file, or every file under a directory */
gboolean
mm_performance_mail_load(const char *path, const MmPerformanceMailOptions *options,
                         GPtrArray *mails, GError **error)
{
  return load_path(path, 0, options, mails, error);
}
