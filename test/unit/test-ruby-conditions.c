/* SPDX-License-Identifier: GPL-3.0-or-later */
/* test-ruby-conditions.c: unit tests for the applicable-conditions engine (applicable.h over
 * Ruby): every shipped condition, the context object, logs, and DNSBL with a local server. */
#include "config.h"

#include "binding/ruby-config.h"
#include "log.h"
#include "protocol.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PYTHON "/usr/bin/python3"

/* The MTA session the proxy would give the engine. */
typedef struct {
  GHashTable *macros;   /* name without braces -> value */
  GHashTable *sent;     /* "child/name" -> value given by set_macro */
  GHashTable *statuses; /* child -> MmStatus */
  GHashTable *quitted;  /* children out of the session */
  guint n_sessions;
} Fake;

static char *log_path = NULL;

/* fake_lookup_macro - MmApplicableSessionClass.lookup_macro */
static const char *
fake_lookup_macro(MmApplicableSession *session, const char *name)
{
  Fake *fake = (Fake *)session;
  g_autofree char *bare = g_strdup(name);
  if (bare[0] == '{' && strlen(bare) > 1 && bare[strlen(bare) - 1] == '}') {
    bare[strlen(bare) - 1] = '\0';
    return g_hash_table_lookup(fake->macros, bare + 1);
  }
  return g_hash_table_lookup(fake->macros, bare);
}

/* fake_set_macro - MmApplicableSessionClass.set_macro */
static void
fake_set_macro(MmApplicableSession *session, const char *child, const char *name,
               const char *value)
{
  Fake *fake = (Fake *)session;
  g_hash_table_replace(fake->sent, g_strdup_printf("%s/%s", child, name), g_strdup(value));
}

/* fake_child_status - MmApplicableSessionClass.child_status */
static MmStatus
fake_child_status(MmApplicableSession *session, const char *child)
{
  Fake *fake = (Fake *)session;
  return (MmStatus)GPOINTER_TO_INT(g_hash_table_lookup(fake->statuses, child));
}

/* fake_child_quitted - MmApplicableSessionClass.child_quitted */
static gboolean
fake_child_quitted(MmApplicableSession *session, const char *child)
{
  return g_hash_table_contains(((Fake *)session)->quitted, child);
}

/* fake_n_processing_sessions - MmApplicableSessionClass.n_processing_sessions */
static guint
fake_n_processing_sessions(MmApplicableSession *session)
{
  return ((Fake *)session)->n_sessions;
}

static const MmApplicableSessionClass fake_class = {
  fake_lookup_macro, fake_set_macro, fake_child_status, fake_child_quitted,
  fake_n_processing_sessions,
};

/* fake_new - an empty session with one session in progress */
static Fake *
fake_new(void)
{
  Fake *fake = g_new0(Fake, 1);
  fake->macros = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  fake->sent = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  fake->statuses = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  fake->quitted = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  fake->n_sessions = 1;
  return fake;
}

/* fake_free - NULL-safe */
static void
fake_free(Fake *fake)
{
  if (fake == NULL)
    return;
  g_hash_table_unref(fake->macros);
  g_hash_table_unref(fake->sent);
  g_hash_table_unref(fake->statuses);
  g_hash_table_unref(fake->quitted);
  g_free(fake);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Fake, fake_free)

/* fake_macro - set a macro the MTA sent */
static void
fake_macro(Fake *fake, const char *name, const char *value)
{
  g_hash_table_replace(fake->macros, g_strdup(name), g_strdup(value));
}

/* remove_tree - delete a temporary directory */
static void
remove_tree(const char *path)
{
  if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
    GDir *dir = g_dir_open(path, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
      g_autofree char *child = g_build_filename(path, name, NULL);
      remove_tree(child);
    }
    if (dir != NULL)
      g_dir_close(dir);
    g_rmdir(path);
  } else {
    g_unlink(path);
  }
}

/* load_text - a configuration of the shipped conditions plus TEXT; the engine must exist */
static MmConfig *
load_text(const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp("test-ruby-conditions-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *conf = g_strdup_printf(
    "load(\"%s/applicable-conditions/*.conf\")\n%s", MM_TEST_CONF_DIR, text);
  g_autofree char *path = g_build_filename(dir, "milter-manager.conf", NULL);
  g_file_set_contents(path, conf, -1, &error);
  g_assert_no_error(error);
  const char *dirs[] = { dir, NULL };
  MmConfig *config = mm_ruby_config_load(dirs, &error);
  g_assert_no_error(error);
  g_assert_nonnull(config);
  remove_tree(dir);
  return config;
}

/* milter_text - define_milter(NAME) with CONDITIONS (a Ruby array literal) */
static char *
milter_text(const char *name, const char *conditions)
{
  return g_strdup_printf("define_milter(\"%s\") do |milter|\n"
                         "  milter.connection_spec = \"inet:10025@127.0.0.1\"\n"
                         "  milter.applicable_conditions = %s\n"
                         "end\n", name, conditions);
}

/* Test: the engine, one session and its fake. */
typedef struct {
  MmConfig *config;
  const MmApplicableEngineClass *klass;
  gpointer engine;
  Fake *fake;
  gpointer state;
} Run;

/* run_begin - load TEXT and start a session */
static void
run_begin(Run *run, const char *text)
{
  run->config = load_text(text);
  run->klass = run->config->applicable.klass;
  g_assert_nonnull(run->klass);
  run->engine = run->config->applicable.engine;
  run->fake = fake_new();
  run->state = run->klass->session_begin(run->engine, (MmApplicableSession *)run->fake,
                                         &fake_class);
  g_assert_nonnull(run->state);
}

/* run_restart - a new session on the same configuration (the fake is kept) */
static void
run_restart(Run *run)
{
  run->klass->session_end(run->engine, run->state);
  run->state = run->klass->session_begin(run->engine, (MmApplicableSession *)run->fake,
                                         &fake_class);
}

/* run_end - end the session and free everything */
static void
run_end(Run *run)
{
  run->klass->session_end(run->engine, run->state);
  fake_free(run->fake);
  mm_config_unref(run->config);
}

/* connect_step - the answer at CONNECT for a client HOST at ADDRESS (FAMILY) */
static MmApplicableAnswer
connect_step(Run *run, const char *milter, const char *host, char family, const char *address)
{
  MmStopperArgs args = { .host = host, .family = family, .address = address, .port = 2525 };
  return run->klass->stop(run->engine, run->state, milter, MM_STOPPER_CONNECT, &args, NULL,
                          NULL);
}

/* envelope - the answer at MAIL FROM or RCPT TO */
static MmApplicableAnswer
envelope(Run *run, const char *milter, MmStopperStage stage, const char *address)
{
  MmStopperArgs args = { .envelope = address };
  return run->klass->stop(run->engine, run->state, milter, stage, &args, NULL, NULL);
}

/* bare - the answer at a stage without arguments */
static MmApplicableAnswer
bare(Run *run, const char *milter, MmStopperStage stage)
{
  MmStopperArgs args = { 0 };
  return run->klass->stop(run->engine, run->state, milter, stage, &args, NULL, NULL);
}

/* sent_macro - what set_macro gave CHILD for NAME, or NULL */
static const char *
sent_macro(Run *run, const char *child, const char *name)
{
  g_autofree char *key = g_strdup_printf("%s/%s", child, name);
  return g_hash_table_lookup(run->fake->sent, key);
}

/* log_text - everything logged so far by this test */
static char *
log_text(void)
{
  char *text = NULL;
  if (!g_file_get_contents(log_path, &text, NULL, NULL))
    return g_strdup("");
  return text;
}

/* assert_logged - the log has NEEDLE */
static void
assert_logged(const char *needle)
{
  g_autofree char *text = log_text();
  if (strstr(text, needle) == NULL)
    g_error("expected the log to have\n  %s\nbut it has\n%s", needle, text);
}

/* fresh_log - a new empty log file for the next test */
static void
fresh_log(void)
{
  g_autoptr(GError) error = NULL;
  g_assert_cmpint(g_unlink(log_path) == 0 || errno == ENOENT, ==, TRUE);
  g_assert_true(mm_log_open_file(log_path, &error));
  g_assert_no_error(error);
}

/* ---------------------------------------------------------------------------------- */

static void
test_stages(void)
{
  g_autofree char *a = milter_text("greylist", "[\"S25R\", \"Trust\", \"Unauthenticated\"]");
  g_autofree char *b = milter_text("clamav", "[]");
  g_autofree char *text = g_strconcat(a, b, NULL);
  Run run = { 0 };
  run_begin(&run, text);
  g_assert_cmpuint(run.klass->stopper_stages(run.engine, "greylist"), ==,
                   (1u << MM_STOPPER_CONNECT) | (1u << MM_STOPPER_ENVELOPE_FROM));
  g_assert_cmpuint(run.klass->stopper_stages(run.engine, "clamav"), ==, 0);
  g_assert_cmpuint(run.klass->stopper_stages(run.engine, "unknown"), ==, 0);
  /* No stopper at HELO: the engine answers without Ruby, even for a NULL argument set. */
  g_assert_cmpint(bare(&run, "greylist", MM_STOPPER_HELO), ==, MM_APPLICABLE_APPLY);
  run_end(&run);

  /* No milter uses a condition: no engine at all. */
  g_autoptr(MmConfig) none = load_text(b);
  g_assert_null(none->applicable.klass);
}

static void
test_s25r(void)
{
  g_autofree char *text = milter_text("greylist", "[\"S25R\"]");
  g_autofree char *tuned = g_strconcat(
    text, "s25r.add_whitelist(/\\Adynamic-but-fine\\d/)\n"
          "s25r.add_whitelist {|host| host == \"h99999.friend.example\"}\n"
          "s25r.add_blacklist(\".spam.example\")\n", NULL);
  Run run = { 0 };
  run_begin(&run, tuned);
  static const char *const dynamic[] = {
    "host1-2.example.com", "h12345.example.com", "x.1b.example.ne.jp", "a1.b2-3.example.com",
    "a1.b2.example.co.jp", "ppp-tokyo9.isp.net", "unknown", "[192.0.2.1]",
    "mail.spam.example",
  };
  for (guint i = 0; i < G_N_ELEMENTS(dynamic); i++) {
    g_test_message("dynamic %s", dynamic[i]);
    g_assert_cmpint(connect_step(&run, "greylist", dynamic[i], MM_FAMILY_INET, "192.0.2.1"), ==,
                    MM_APPLICABLE_APPLY);
  }
  static const char *const fixed[] = {
    "mail.example.com", "mail-ua1-x123.google.com", "o1.ptr1234.sendgrid.net",
    "dynamic-but-fine1.example.jp", "h99999.friend.example", "MX.Example.ORG",
  };
  for (guint i = 0; i < G_N_ELEMENTS(fixed); i++) {
    g_test_message("fixed %s", fixed[i]);
    g_assert_cmpint(connect_step(&run, "greylist", fixed[i], MM_FAMILY_INET, "192.0.2.1"), ==,
                    MM_APPLICABLE_STOP);
  }
  /* Only IPv4 clients are checked by default. */
  g_assert_cmpint(connect_step(&run, "greylist", "h12345.example.com", MM_FAMILY_INET6,
                          "2001:db8::1"), ==, MM_APPLICABLE_STOP);
  run_end(&run);

  g_autofree char *all = g_strconcat(text, "s25r.only_check_ipv4 = false\n", NULL);
  run_begin(&run, all);
  g_assert_cmpint(connect_step(&run, "greylist", "h12345.example.com", MM_FAMILY_INET6,
                          "2001:db8::1"), ==, MM_APPLICABLE_APPLY);
  run_end(&run);
}

static void
test_remote_network(void)
{
  g_autofree char *text = milter_text("spam", "[\"Remote Network\"]");
  Run run = { 0 };
  run_begin(&run, text);
  static const struct { char family; const char *address; MmApplicableAnswer answer; } cases[] = {
    { MM_FAMILY_INET, "198.51.100.7", MM_APPLICABLE_APPLY },
    { MM_FAMILY_INET, "192.168.1.1", MM_APPLICABLE_STOP },
    { MM_FAMILY_INET, "10.1.2.3", MM_APPLICABLE_STOP },
    { MM_FAMILY_INET, "172.16.5.5", MM_APPLICABLE_STOP },
    { MM_FAMILY_INET, "172.32.5.5", MM_APPLICABLE_APPLY },
    { MM_FAMILY_INET, "127.0.0.1", MM_APPLICABLE_STOP },
    { MM_FAMILY_INET6, "2001:db8::1", MM_APPLICABLE_APPLY },
    { MM_FAMILY_INET6, "::1", MM_APPLICABLE_STOP },
    { MM_FAMILY_INET6, "fe80::1", MM_APPLICABLE_STOP },
    { MM_FAMILY_UNIX, "/run/postfix/smtpd.sock", MM_APPLICABLE_STOP },
    { MM_FAMILY_UNKNOWN, "", MM_APPLICABLE_STOP },
    { MM_FAMILY_INET, "not-an-address", MM_APPLICABLE_STOP },
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_test_message("client %c %s", cases[i].family, cases[i].address);
    g_assert_cmpint(connect_step(&run, "spam", "client.example", cases[i].family,
                            cases[i].address), ==, cases[i].answer);
  }
  run_end(&run);

  g_autofree char *tuned = g_strconcat(text,
                                       "remote_network.add_local_address(\"198.51.100.0/24\")\n"
                                       "remote_network.add_local_address(\"2001:db8::/32\")\n"
                                       "remote_network.add_remote_address(\"192.168.5.0/24\")\n",
                                       NULL);
  run_begin(&run, tuned);
  g_assert_cmpint(connect_step(&run, "spam", "c", MM_FAMILY_INET, "198.51.100.7"), ==,
                  MM_APPLICABLE_STOP);
  g_assert_cmpint(connect_step(&run, "spam", "c", MM_FAMILY_INET6, "2001:db8::1"), ==,
                  MM_APPLICABLE_STOP);
  g_assert_cmpint(connect_step(&run, "spam", "c", MM_FAMILY_INET, "192.168.5.5"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_cmpint(connect_step(&run, "spam", "c", MM_FAMILY_INET, "192.168.6.5"), ==,
                  MM_APPLICABLE_STOP);
  run_end(&run);
}

static void
test_authentication(void)
{
  g_autofree char *a = milter_text("auth", "[\"Authenticated\"]");
  g_autofree char *b = milter_text("unauth", "[\"Unauthenticated\"]");
  g_autofree char *text = g_strconcat(a, b, NULL);
  Run run = { 0 };
  run_begin(&run, text);
  g_assert_cmpint(envelope(&run, "auth", MM_STOPPER_ENVELOPE_FROM, "<a@example.com>"), ==,
                  MM_APPLICABLE_STOP);
  g_assert_cmpint(envelope(&run, "unauth", MM_STOPPER_ENVELOPE_FROM, "<a@example.com>"), ==,
                  MM_APPLICABLE_APPLY);
  fake_macro(run.fake, "auth_type", "PLAIN");
  g_assert_cmpint(envelope(&run, "auth", MM_STOPPER_ENVELOPE_FROM, "<a@example.com>"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_cmpint(envelope(&run, "unauth", MM_STOPPER_ENVELOPE_FROM, "<a@example.com>"), ==,
                  MM_APPLICABLE_STOP);
  g_hash_table_remove_all(run.fake->macros);
  fake_macro(run.fake, "auth_authen", "alice");
  g_assert_cmpint(envelope(&run, "auth", MM_STOPPER_ENVELOPE_FROM, "<a@example.com>"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_cmpint(envelope(&run, "unauth", MM_STOPPER_ENVELOPE_FROM, "<a@example.com>"), ==,
                  MM_APPLICABLE_STOP);
  run_end(&run);
}

static void
test_trust(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp("test-ruby-conditions-XXXXXX", &error);
  g_autofree char *list = g_build_filename(dir, "domains", NULL);
  g_file_set_contents(list, "# trusted\nPartner.Example\n/\\Amail\\d+\\.example\\.net\\z/\n\n",
                      -1, &error);
  g_assert_no_error(error);
  g_autofree char *milter = milter_text("greylist", "[\"Trust\"]");
  g_autofree char *text = g_strdup_printf("%strust.load_envelope_from_domains(\"%s\")\n"
                                          "trust.add_envelope_from_domain(\"own.example\")\n",
                                          milter, list);
  Run run = { 0 };
  run_begin(&run, text);
  g_assert_cmpint(envelope(&run, "greylist", MM_STOPPER_ENVELOPE_FROM, "<bob@Gmail.com>"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_cmpstr(sent_macro(&run, "greylist", "trusted_domain"), ==, "yes");
  run_restart(&run);
  g_hash_table_remove_all(run.fake->sent);
  static const char *const trusted[] = { "<a@partner.example>", "<a@mail12.example.net>",
                                         "a@own.example" };
  for (guint i = 0; i < G_N_ELEMENTS(trusted); i++) {
    g_hash_table_remove_all(run.fake->sent);
    envelope(&run, "greylist", MM_STOPPER_ENVELOPE_FROM, trusted[i]);
    g_assert_cmpstr(sent_macro(&run, "greylist", "trusted_domain"), ==, "yes");
  }
  static const char *const untrusted[] = { "<a@example.org>", "<>", "<gmail.com@evil.example>",
                                           "<a@mail.example.net>" };
  for (guint i = 0; i < G_N_ELEMENTS(untrusted); i++) {
    g_hash_table_remove_all(run.fake->sent);
    g_assert_cmpint(envelope(&run, "greylist", MM_STOPPER_ENVELOPE_FROM, untrusted[i]), ==,
                    MM_APPLICABLE_APPLY);
    g_assert_null(sent_macro(&run, "greylist", "trusted_domain"));
  }
  run_end(&run);

  g_autofree char *cleared = g_strconcat(milter, "trust.clear\n", NULL);
  run_begin(&run, cleared);
  envelope(&run, "greylist", MM_STOPPER_ENVELOPE_FROM, "<bob@gmail.com>");
  g_assert_null(sent_macro(&run, "greylist", "trusted_domain"));
  run_end(&run);
  remove_tree(dir);
}

static void
test_stress(void)
{
  g_autofree char *a = milter_text("notify", "[\"Stress Notify\"]");
  g_autofree char *b = milter_text("calm", "[\"No Stress\"]");
  g_autofree char *text = g_strconcat(a, b, "stress.threshold_n_connections = 3\n", NULL);
  Run run = { 0 };
  run_begin(&run, text);
  run.fake->n_sessions = 2;
  g_assert_cmpint(connect_step(&run, "notify", "c", MM_FAMILY_INET, "192.0.2.1"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_null(sent_macro(&run, "notify", "stress"));
  g_assert_cmpint(connect_step(&run, "calm", "c", MM_FAMILY_INET, "192.0.2.1"), ==,
                  MM_APPLICABLE_APPLY);
  run.fake->n_sessions = 3;
  g_assert_cmpint(connect_step(&run, "notify", "c", MM_FAMILY_INET, "192.0.2.1"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_cmpstr(sent_macro(&run, "notify", "stress"), ==, "yes");
  g_assert_cmpint(connect_step(&run, "calm", "c", MM_FAMILY_INET, "192.0.2.1"), ==,
                  MM_APPLICABLE_STOP);
  run_end(&run);

  /* The threshold from a Postfix master.cf under a test root; none there disables. */
  g_autoptr(GError) error = NULL;
  g_autofree char *root = g_dir_make_tmp("test-ruby-conditions-XXXXXX", &error);
  g_autofree char *postfix = g_build_filename(root, "etc", "postfix", NULL);
  g_assert_cmpint(g_mkdir_with_parents(postfix, 0700), ==, 0);
  g_autofree char *master = g_build_filename(postfix, "master.cf", NULL);
  g_file_set_contents(master, "# service type private unpriv chroot wakeup maxproc command\n"
                              "smtp      inet  n       -       y       -       5       smtpd\n",
                      -1, &error);
  g_assert_no_error(error);
  g_autofree char *detected = g_strdup_printf("%sstress.root_directory = \"%s\"\n", b, root);
  run_begin(&run, detected);
  run.fake->n_sessions = 4;
  g_assert_cmpint(connect_step(&run, "calm", "c", MM_FAMILY_INET, "192.0.2.1"), ==,
                  MM_APPLICABLE_APPLY);
  run.fake->n_sessions = 5;
  g_assert_cmpint(connect_step(&run, "calm", "c", MM_FAMILY_INET, "192.0.2.1"), ==,
                  MM_APPLICABLE_STOP);
  run_end(&run);

  /* maxproc "-": Postfix's default_process_limit, from postconf (a stand-in here). */
  g_file_set_contents(master, "smtp inet n - y - - smtpd\n", -1, &error);
  g_autofree char *postconf = g_build_filename(root, "postconf", NULL);
  g_file_set_contents(postconf, "#!/bin/sh\necho 7\n", -1, &error);
  g_assert_no_error(error);
  g_assert_cmpint(g_chmod(postconf, 0700), ==, 0);
  g_autofree char *limit = g_strdup_printf("%sstress.postconf_command = \"%s\"\n", detected,
                                           postconf);
  run_begin(&run, limit);
  run.fake->n_sessions = 6;
  g_assert_cmpint(connect_step(&run, "calm", "c", MM_FAMILY_INET, "192.0.2.1"), ==,
                  MM_APPLICABLE_APPLY);
  run.fake->n_sessions = 7;
  g_assert_cmpint(connect_step(&run, "calm", "c", MM_FAMILY_INET, "192.0.2.1"), ==,
                  MM_APPLICABLE_STOP);
  run_end(&run);

  /* Not Postfix (no master.cf): no threshold, never stressed. */
  g_unlink(master);
  run_begin(&run, detected);
  run.fake->n_sessions = 10000;
  g_assert_cmpint(connect_step(&run, "calm", "c", MM_FAMILY_INET, "192.0.2.1"), ==,
                  MM_APPLICABLE_APPLY);
  run_end(&run);
  remove_tree(root);
}

static void
test_sendmail_compatible(void)
{
  g_autofree char *text = milter_text("greylist", "[\"Sendmail Compatible\"]");
  Run run = { 0 };
  run_begin(&run, text);
  g_assert_cmpint(connect_step(&run, "greylist", "c", MM_FAMILY_INET, "192.0.2.1"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_cmpint(envelope(&run, "greylist", MM_STOPPER_ENVELOPE_FROM, "<a@b>"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_cmpuint(g_hash_table_size(run.fake->sent), ==, 0); /* not Postfix */
  fake_macro(run.fake, "v", "Postfix 3.7.11");
  fake_macro(run.fake, "daemon_addr", "192.0.2.25");
  fake_macro(run.fake, "j", "mx.example.com");
  g_assert_cmpint(connect_step(&run, "greylist", "c", MM_FAMILY_INET, "192.0.2.1"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_cmpstr(sent_macro(&run, "greylist", "if_addr"), ==, "192.0.2.25");
  g_assert_cmpstr(sent_macro(&run, "greylist", "if_name"), ==, "mx.example.com");
  g_assert_cmpint(envelope(&run, "greylist", MM_STOPPER_ENVELOPE_FROM, "<a@b>"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_cmpstr(sent_macro(&run, "greylist", "i"), ==, "dummy-id");
  run_end(&run);
}

static void
test_restrict_accounts(void)
{
  g_autofree char *a = milter_text("clamav", "[]");
  g_autofree char *b = milter_text("other", "[]");
  g_autofree char *text = g_strconcat(a, b,
                                      "restrict_accounts_by_list(\"alice@example.com\", "
                                      "/@example\\.org\\z/, milters: [\"clamav\"])\n", NULL);
  Run run = { 0 };
  run_begin(&run, text);
  g_assert_cmpuint(run.klass->stopper_stages(run.engine, "other"), ==, 0);
  g_assert_cmpint(envelope(&run, "clamav", MM_STOPPER_ENVELOPE_RECIPIENT,
                           "<Alice@example.com>"), ==, MM_APPLICABLE_APPLY);
  g_assert_cmpint(envelope(&run, "clamav", MM_STOPPER_ENVELOPE_RECIPIENT, "<bob@example.org>"),
                  ==, MM_APPLICABLE_APPLY);
  g_assert_cmpint(bare(&run, "clamav", MM_STOPPER_DATA), ==, MM_APPLICABLE_APPLY);
  run.klass->transaction_end(run.engine, run.state);
  g_assert_cmpint(envelope(&run, "clamav", MM_STOPPER_ENVELOPE_RECIPIENT,
                           "<alice@example.com>"), ==, MM_APPLICABLE_APPLY);
  g_assert_cmpint(envelope(&run, "clamav", MM_STOPPER_ENVELOPE_RECIPIENT,
                           "<carol@example.com>"), ==, MM_APPLICABLE_STOP);
  g_assert_cmpint(bare(&run, "clamav", MM_STOPPER_DATA), ==, MM_APPLICABLE_STOP);
  /* The next message starts clean. */
  run.klass->transaction_end(run.engine, run.state);
  g_assert_cmpint(envelope(&run, "clamav", MM_STOPPER_ENVELOPE_RECIPIENT,
                           "<alice@example.com>"), ==, MM_APPLICABLE_APPLY);
  g_assert_cmpint(bare(&run, "clamav", MM_STOPPER_DATA), ==, MM_APPLICABLE_APPLY);
  run_end(&run);

  g_autofree char *generic = g_strconcat(
    a, b, "restrict_accounts_generic(condition_name: \"Local\", milters: [\"clamav\"]) "
          "do |context, recipient|\n"
          "  recipient.end_with?(\"@local.example>\")\n"
          "end\n"
          "restrict_accounts_by_list(\"x@far.example\", {:milters => [\"other\"]})\n", NULL);
  run_begin(&run, generic);
  g_assert_cmpint(envelope(&run, "clamav", MM_STOPPER_ENVELOPE_RECIPIENT,
                           "<x@local.example>"), ==, MM_APPLICABLE_APPLY);
  g_assert_cmpint(envelope(&run, "clamav", MM_STOPPER_ENVELOPE_RECIPIENT, "<x@far.example>"),
                  ==, MM_APPLICABLE_STOP);
  g_assert_cmpint(bare(&run, "clamav", MM_STOPPER_DATA), ==, MM_APPLICABLE_STOP);
  /* 2.3's braced options Hash still names the milters. */
  g_assert_cmpint(envelope(&run, "other", MM_STOPPER_ENVELOPE_RECIPIENT, "<x@far.example>"),
                  ==, MM_APPLICABLE_APPLY);
  g_assert_cmpint(envelope(&run, "other", MM_STOPPER_ENVELOPE_RECIPIENT, "<y@far.example>"),
                  ==, MM_APPLICABLE_STOP);
  run_end(&run);
}

static void
test_policy(void)
{
  g_autofree char *text = g_strconcat(
    "define_policy(\"internal only\") do |policy|\n"
    "  policy.milters = [\"archiver\"]\n"
    "  policy.address = IPAddr.new(\"192.0.2.0/24\")\n"
    "  policy.from = /@example\\.com>\\z/\n"
    "  policy.recipient = \"boss@example.com\"\n"
    "end\n", NULL);
  g_autofree char *a = milter_text("archiver", "[]");
  g_autofree char *b = milter_text("bystander", "[]");
  g_autofree char *all = g_strconcat(text, a, b, NULL);
  Run run = { 0 };
  run_begin(&run, all);
  g_assert_cmpuint(run.klass->stopper_stages(run.engine, "bystander"), ==, 0);
  g_assert_cmpint(connect_step(&run, "archiver", "c", MM_FAMILY_INET, "192.0.2.9"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_cmpint(connect_step(&run, "archiver", "c", MM_FAMILY_INET, "198.51.100.9"), ==,
                  MM_APPLICABLE_STOP);
  g_assert_cmpint(envelope(&run, "archiver", MM_STOPPER_ENVELOPE_FROM, "<a@example.com>"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_cmpint(envelope(&run, "archiver", MM_STOPPER_ENVELOPE_FROM, "<a@example.net>"), ==,
                  MM_APPLICABLE_STOP);
  g_assert_cmpint(envelope(&run, "archiver", MM_STOPPER_ENVELOPE_RECIPIENT,
                           "<boss@example.com>"), ==, MM_APPLICABLE_APPLY);
  g_assert_cmpint(envelope(&run, "archiver", MM_STOPPER_ENVELOPE_RECIPIENT,
                           "<intern@example.com>"), ==, MM_APPLICABLE_STOP);
  /* HELO has no matcher in this policy. */
  MmStopperArgs helo = { .fqdn = "anything" };
  g_assert_cmpint(run.klass->stop(run.engine, run.state, "archiver", MM_STOPPER_HELO, &helo,
                                  NULL, NULL), ==, MM_APPLICABLE_APPLY);
  run_end(&run);
  /* --show-config lists the condition the policy made, on the milter it targets. */
  g_autoptr(GError) error = NULL;
  g_autofree char *dump = mm_ruby_config_dump(&error);
  g_assert_no_error(error);
  g_assert_nonnull(strstr(dump, "define_applicable_condition(\"Policy\")"));
  g_assert_nonnull(strstr(dump, "    \"Policy\",\n"));
}

/* A condition that checks what its context and arguments say: it stops only when every
 * expectation holds, so a STOP answer proves them all. */
static const char probe_conditions[] =
  "define_applicable_condition(\"Probe\") do |condition|\n"
  "  condition.define_connect_stopper do |context, host, address|\n"
  "    context[\"{probe_set}\"] = \"from-connect\"\n"
  "    context.name == \"probe\" && host == \"client.example\" &&\n"
  "      address.is_a?(Milter::SocketAddress::IPv4) && address.address == \"192.0.2.1\" &&\n"
  "      address.port == 2525 && !address.local? &&\n"
  "      address.to_ip_address == IPAddr.new(\"192.0.2.1\") &&\n"
  "      context[\"v\"] == \"Postfix 3.7\" && context[\"{v}\"] == \"Postfix 3.7\" &&\n"
  "      context.postfix? && !context.authenticated? &&\n"
  "      context[\"probe_set\"] == \"from-connect\" &&\n"
  "      context.n_processing_sessions == 4 && context.accept? && !context.reject? &&\n"
  "      context.children[\"other\"].reject? && context.children[\"other\"].quitted? &&\n"
  "      context.children[\"third\"].temporary_failure? &&\n"
  "      context.children[\"fourth\"].discard? && !context.quitted?\n"
  "  end\n"
  "  condition.define_helo_stopper do |context, fqdn|\n"
  "    $kept_context = context\n"
  "    fqdn == \"helo.example\"\n"
  "  end\n"
  "  condition.define_envelope_from_stopper do |context, from|\n"
  "    context.mail_transaction_shelf[:from] = from\n"
  "    false\n"
  "  end\n"
  "  condition.define_envelope_recipient_stopper do |context, recipient|\n"
  "    context.mail_transaction_shelf[:from] == \"<a@example.com>\" &&\n"
  "      recipient == \"<b@example.com>\"\n"
  "  end\n"
  "  condition.define_data_stopper do |context|\n"
  "    context.mail_transaction_shelf.empty?\n"
  "  end\n"
  "  condition.define_header_stopper do |context, name, value|\n"
  "    name == \"Subject\" && value == \"caf\\u00e9\" && value.encoding == Encoding::UTF_8\n"
  "  end\n"
  "  condition.define_end_of_header_stopper do |context|\n"
  "    $kept_context[\"v\"] == \"Postfix 3.7\"\n"
  "  end\n"
  "  condition.define_body_stopper do |context, chunk|\n"
  "    chunk.bytesize == 7 && chunk.start_with?(\"he\") && chunk.getbyte(2) == 0\n"
  "  end\n"
  "  condition.define_end_of_message_stopper do |context|\n"
  "    $kept_context[\"v\"] == \"Postfix 3.7\"\n"
  "  end\n"
  "end\n";

static void
test_context(void)
{
  g_autofree char *milter = milter_text("probe", "[\"Probe\"]");
  g_autofree char *text = g_strconcat(probe_conditions, milter, NULL);
  Run run = { 0 };
  run_begin(&run, text);
  g_assert_cmpuint(run.klass->stopper_stages(run.engine, "probe"), ==,
                   (1u << MM_STOPPER_COUNT) - 1);
  fake_macro(run.fake, "v", "Postfix 3.7");
  run.fake->n_sessions = 4;
  g_hash_table_replace(run.fake->statuses, g_strdup("probe"),
                       GINT_TO_POINTER(MM_STATUS_ACCEPT));
  g_hash_table_replace(run.fake->statuses, g_strdup("other"),
                       GINT_TO_POINTER(MM_STATUS_REJECT));
  g_hash_table_replace(run.fake->statuses, g_strdup("third"),
                       GINT_TO_POINTER(MM_STATUS_TEMPORARY_FAILURE));
  g_hash_table_replace(run.fake->statuses, g_strdup("fourth"),
                       GINT_TO_POINTER(MM_STATUS_DISCARD));
  g_hash_table_add(run.fake->quitted, g_strdup("other"));
  g_assert_cmpint(connect_step(&run, "probe", "client.example", MM_FAMILY_INET, "192.0.2.1"), ==,
                  MM_APPLICABLE_STOP);
  g_assert_cmpstr(sent_macro(&run, "probe", "probe_set"), ==, "from-connect");
  MmStopperArgs helo = { .fqdn = "helo.example" };
  g_assert_cmpint(run.klass->stop(run.engine, run.state, "probe", MM_STOPPER_HELO, &helo,
                                  NULL, NULL), ==, MM_APPLICABLE_STOP);
  g_assert_cmpint(envelope(&run, "probe", MM_STOPPER_ENVELOPE_FROM, "<a@example.com>"), ==,
                  MM_APPLICABLE_APPLY);
  g_assert_cmpint(envelope(&run, "probe", MM_STOPPER_ENVELOPE_RECIPIENT, "<b@example.com>"),
                  ==, MM_APPLICABLE_STOP);
  g_assert_cmpint(bare(&run, "probe", MM_STOPPER_DATA), ==, MM_APPLICABLE_APPLY);
  MmStopperArgs header = { .header_name = "Subject", .header_value = "caf\xc3\xa9" };
  g_assert_cmpint(run.klass->stop(run.engine, run.state, "probe", MM_STOPPER_HEADER, &header,
                                  NULL, NULL), ==, MM_APPLICABLE_STOP);
  /* A context kept from HELO still works while some stopper of the session runs. */
  g_assert_cmpint(bare(&run, "probe", MM_STOPPER_END_OF_HEADER), ==, MM_APPLICABLE_STOP);
  static const guint8 chunk[] = { 'h', 'e', 0, 'l', 'l', 'o', '\n' };
  MmStopperArgs body = { .chunk = chunk, .chunk_length = sizeof(chunk) };
  g_assert_cmpint(run.klass->stop(run.engine, run.state, "probe", MM_STOPPER_BODY, &body,
                                  NULL, NULL), ==, MM_APPLICABLE_STOP);
  /* The shelf lives until the end of the transaction. */
  run.klass->transaction_end(run.engine, run.state);
  g_assert_cmpint(bare(&run, "probe", MM_STOPPER_DATA), ==, MM_APPLICABLE_STOP);

  /* After its session, a kept context refuses to work, with a clear error. */
  fresh_log();
  run_restart(&run);
  g_assert_cmpint(bare(&run, "probe", MM_STOPPER_END_OF_MESSAGE), ==, MM_APPLICABLE_APPLY);
  assert_logged("only available while its stopper runs");
  run_end(&run);
}

static void
test_several_conditions(void)
{
  g_autofree char *milter = milter_text("greylist", "[\"Remote Network\", \"S25R\"]");
  Run run = { 0 };
  run_begin(&run, milter);
  /* Both allow. */
  g_assert_cmpint(connect_step(&run, "greylist", "h12345.example.com", MM_FAMILY_INET,
                          "198.51.100.1"), ==, MM_APPLICABLE_APPLY);
  /* Each one alone stops. */
  g_assert_cmpint(connect_step(&run, "greylist", "h12345.example.com", MM_FAMILY_INET,
                          "192.168.0.1"), ==, MM_APPLICABLE_STOP);
  g_assert_cmpint(connect_step(&run, "greylist", "mail.example.com", MM_FAMILY_INET,
                          "198.51.100.1"), ==, MM_APPLICABLE_STOP);
  run_end(&run);
}

static void
test_decision_log(void)
{
  g_autofree char *milter = milter_text("greylist", "[\"Remote Network\", \"S25R\"]");
  Run run = { 0 };
  run_begin(&run, milter);
  fresh_log();
  connect_step(&run, "greylist", "mail.example.com", MM_FAMILY_INET, "198.51.100.1");
  assert_logged("<greylist> allowed by <Remote Network> at connect");
  assert_logged("<greylist> stopped by <S25R> at connect");
  /* Below debug, decisions are not logged. */
  fresh_log();
  mm_log_set_levels(MM_LOG_LEVEL_DEFAULT);
  connect_step(&run, "greylist", "mail.example.com", MM_FAMILY_INET, "198.51.100.1");
  mm_log_set_levels(MM_LOG_LEVEL_ALL);
  g_autofree char *text = log_text();
  g_assert_null(strstr(text, "stopped by"));
  run_end(&run);
}

static void
test_raising_stopper(void)
{
  g_autofree char *text = g_strconcat(
    "define_applicable_condition(\"Broken\") do |condition|\n"
    "  condition.define_envelope_from_stopper do |context, from|\n"
    "    raise ArgumentError, \"no such list\"\n"
    "  end\n"
    "end\n", NULL);
  g_autofree char *milter = milter_text("greylist", "[\"Broken\", \"Unauthenticated\"]");
  g_autofree char *all = g_strconcat(text, milter, NULL);
  Run run = { 0 };
  run_begin(&run, all);
  fresh_log();
  g_assert_cmpint(envelope(&run, "greylist", MM_STOPPER_ENVELOPE_FROM, "<a@example.com>"), ==,
                  MM_APPLICABLE_APPLY);
  assert_logged("<Broken> envelope-from stopper of <greylist> raised at ");
  assert_logged("milter-manager.conf:4: no such list (ArgumentError)");
  /* The following conditions still run: Unauthenticated stops an authenticated session. */
  fake_macro(run.fake, "auth_type", "PLAIN");
  g_assert_cmpint(envelope(&run, "greylist", MM_STOPPER_ENVELOPE_FROM, "<a@example.com>"), ==,
                  MM_APPLICABLE_STOP);
  run_end(&run);
}

static void
test_slow_stopper(void)
{
  g_autofree char *text = g_strconcat(
    "define_applicable_condition(\"Sleepy\") do |condition|\n"
    "  condition.define_helo_stopper do |context, fqdn|\n"
    "    sleep(1.1)\n"
    "    true\n"
    "  end\n"
    "end\n", NULL);
  g_autofree char *milter = milter_text("greylist", "[\"Sleepy\"]");
  g_autofree char *all = g_strconcat(text, milter, NULL);
  Run run = { 0 };
  run_begin(&run, all);
  fresh_log();
  MmStopperArgs helo = { .fqdn = "x" };
  g_assert_cmpint(run.klass->stop(run.engine, run.state, "greylist", MM_STOPPER_HELO, &helo,
                                  NULL, NULL), ==, MM_APPLICABLE_STOP);
  assert_logged("[applicable-condition][slow] <Sleepy> helo stopper");
  assert_logged("milter-manager.conf:3) of <greylist> took 1.");
  run_end(&run);
}

/* The DNS responder of test/conditions, on a port of its choosing. */
typedef struct {
  GPid pid;
  guint port;
} Responder;

/* responder_start - FALSE (test skipped) without /usr/bin/python3 */
static gboolean
responder_start(Responder *responder)
{
  if (!g_file_test(PYTHON, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip("the DNS responder needs " PYTHON);
    return FALSE;
  }
  const char *argv[] = { PYTHON, MM_TEST_CONDITIONS_DIR "/dns-responder.py", NULL };
  int out = -1;
  g_autoptr(GError) error = NULL;
  g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                           &responder->pid, NULL, &out, NULL, &error);
  g_assert_no_error(error);
  char line[32] = { 0 };
  gsize used = 0;
  while (used < sizeof(line) - 1) {
    ssize_t n = read(out, line + used, 1);
    if (n <= 0 || line[used] == '\n')
      break;
    used++;
  }
  close(out);
  line[used] = '\0';
  responder->port = (guint)g_ascii_strtoull(line, NULL, 10);
  g_assert_cmpuint(responder->port, >, 0);
  return TRUE;
}

/* responder_stop - end the responder we started */
static void
responder_stop(Responder *responder)
{
  kill(responder->pid, SIGTERM);
  waitpid(responder->pid, NULL, 0);
  g_spawn_close_pid(responder->pid);
}

/* One pending answer. */
typedef struct {
  gboolean called;
  gboolean stop;
} Done;

/* on_done - MmApplicableDoneFunc */
static void
on_done(gpointer user_data, gboolean stop)
{
  Done *done = user_data;
  g_assert_false(done->called);
  done->called = TRUE;
  done->stop = stop;
}

/* connect_pending - CONNECT of an IPv4 client to MILTER, which must wait for DNS */
static void
connect_pending(Run *run, const char *milter, const char *address, Done *done)
{
  MmStopperArgs args = { .host = "c.example", .family = MM_FAMILY_INET, .address = address,
                         .port = 25 };
  *done = (Done){ 0 };
  g_assert_cmpint(run->klass->stop(run->engine, run->state, milter, MM_STOPPER_CONNECT, &args,
                                   on_done, done), ==, MM_APPLICABLE_PENDING);
  g_assert_false(done->called);
}

/* iterate - one main loop pass, or a short nap when nothing was ready */
static void
iterate(void)
{
  if (!g_main_context_iteration(NULL, FALSE))
    g_usleep(1000);
}

/* wait_done - run the main loop until DONE is called, for at most SECONDS */
static void
wait_done(Done *done, double seconds)
{
  gint64 deadline = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);
  while (!done->called && g_get_monotonic_time() < deadline)
    iterate();
  g_assert_true(done->called);
}

/* dnsbl_text - both DNSBL conditions on two milters, services at the responder */
static char *
dnsbl_text(guint port, const char *extra_service)
{
  g_autofree char *a = milter_text("listed-only", "[\"DNSBL Listed\"]");
  g_autofree char *b = milter_text("unlisted-only", "[\"Not DNSBL Listed\"]");
  return g_strdup_printf("dnsbl.clear_services\n"
                         "dnsbl.add_service(\"listed.test\", \"127.0.0.2\")\n"
                         "dnsbl.add_service(\"other.test\")\n"
                         "%s"
                         "dnsbl.name_servers = [\"127.0.0.1:%u\"]\n"
                         "dnsbl.timeout = 0.5\n%s%s", extra_service, port, a, b);
}

static void
test_dnsbl(void)
{
  Responder responder;
  if (!responder_start(&responder))
    return;
  g_autofree char *text = dnsbl_text(responder.port, "");
  Run run = { 0 };
  run_begin(&run, text);
  fresh_log();
  static const struct { const char *address; gboolean listed; } cases[] = {
    { "127.0.0.2", TRUE },  /* the expected answer of listed.test */
    { "127.0.0.3", FALSE }, /* an answer listed.test does not count */
    { "127.0.0.4", TRUE },  /* any answer of other.test */
    { "127.0.0.5", FALSE }, /* NXDOMAIN everywhere */
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_test_message("client %s", cases[i].address);
    Done listed, unlisted;
    gint64 started = g_get_monotonic_time();
    connect_pending(&run, "listed-only", cases[i].address, &listed);
    connect_pending(&run, "unlisted-only", cases[i].address, &unlisted);
    wait_done(&listed, 3.0);
    wait_done(&unlisted, 1.0);
    /* Answered by the responder, well before the timeout. */
    g_assert_cmpint(g_get_monotonic_time() - started, <, 400 * 1000);
    g_assert_cmpint(listed.stop, ==, !cases[i].listed);
    g_assert_cmpint(unlisted.stop, ==, cases[i].listed);
    /* The answers are kept for the session: no second lookup. */
    g_assert_cmpint(connect_step(&run, "listed-only", "c", MM_FAMILY_INET, cases[i].address), ==,
                    cases[i].listed ? MM_APPLICABLE_APPLY : MM_APPLICABLE_STOP);
    run_restart(&run);
  }
  assert_logged("[applicable-condition][dnsbl] looking 127.0.0.2 up in 2 services");
  /* Not IPv4: no lookup, never listed. */
  g_assert_cmpint(connect_step(&run, "listed-only", "c", MM_FAMILY_INET6, "::1"), ==,
                  MM_APPLICABLE_STOP);
  g_assert_cmpint(connect_step(&run, "unlisted-only", "c", MM_FAMILY_INET6, "::1"), ==,
                  MM_APPLICABLE_APPLY);
  /* Ending the session cancels the lookup: DONE is never called. */
  run_restart(&run);
  Done cancelled;
  connect_pending(&run, "listed-only", "127.0.0.2", &cancelled);
  run_restart(&run);
  gint64 deadline = g_get_monotonic_time() + 700 * 1000;
  while (g_get_monotonic_time() < deadline)
    iterate();
  g_assert_false(cancelled.called);
  run_end(&run);

  /* A service that never answers: the answer comes at the timeout, with what came in. */
  g_autofree char *silent = dnsbl_text(responder.port, "dnsbl.add_service(\"silent.test\")\n");
  run_begin(&run, silent);
  Done listed;
  gint64 started = g_get_monotonic_time();
  connect_pending(&run, "listed-only", "127.0.0.2", &listed);
  wait_done(&listed, 3.0);
  gint64 elapsed = g_get_monotonic_time() - started;
  g_assert_cmpint(elapsed, >=, 450 * 1000);
  g_assert_cmpint(elapsed, <, 2000 * 1000);
  g_assert_false(listed.stop);
  run_end(&run);
  responder_stop(&responder);
}

int
main(int argc, char **argv)
{
  int stack_start = 0;
  g_test_init(&argc, &argv, NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true(mm_ruby_init(&stack_start, &error));
  g_assert_no_error(error);
  g_autofree char *log_dir = g_dir_make_tmp("test-ruby-conditions-log-XXXXXX", &error);
  g_assert_no_error(error);
  log_path = g_build_filename(log_dir, "log", NULL);
  mm_log_set_levels(MM_LOG_LEVEL_ALL);
  fresh_log();

  g_test_add_func("/ruby-conditions/stages", test_stages);
  g_test_add_func("/ruby-conditions/s25r", test_s25r);
  g_test_add_func("/ruby-conditions/remote-network", test_remote_network);
  g_test_add_func("/ruby-conditions/authentication", test_authentication);
  g_test_add_func("/ruby-conditions/trust", test_trust);
  g_test_add_func("/ruby-conditions/stress", test_stress);
  g_test_add_func("/ruby-conditions/sendmail-compatible", test_sendmail_compatible);
  g_test_add_func("/ruby-conditions/restrict-accounts", test_restrict_accounts);
  g_test_add_func("/ruby-conditions/policy", test_policy);
  g_test_add_func("/ruby-conditions/context", test_context);
  g_test_add_func("/ruby-conditions/several-conditions", test_several_conditions);
  g_test_add_func("/ruby-conditions/decision-log", test_decision_log);
  g_test_add_func("/ruby-conditions/raising-stopper", test_raising_stopper);
  g_test_add_func("/ruby-conditions/slow-stopper", test_slow_stopper);
  g_test_add_func("/ruby-conditions/dnsbl", test_dnsbl);
  int status = g_test_run();
  mm_log_close();
  g_unlink(log_path);
  g_rmdir(log_dir);
  g_free(log_path);
  return status;
}
