/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ruby-conditions.c: the applicable-conditions engine: stopper stages per milter, Ruby
 * sessions and contexts, stop decisions through rb_protect, DNSBL lookups on the main loop. */
#include "config.h"

#include "ruby-conditions.h"

#include <ruby/encoding.h>
#include <string.h>

#include "dnsbl-lookup.h"
#include "log.h"
#include "protocol.h"
#include "ruby-config.h"

/* Ruby leaves a raising call with longjmp, which AddressSanitizer does not see (see
 * ruby-config.c): what Ruby may unwind over has no red zones. */
#define MM_RUBY_UNWOUND __attribute__((no_sanitize_address))

/* The Ruby objects C holds (engines, sessions, session accessors), kept from the GC. */
static VALUE roots = Qnil;
static VALUE access_class = Qnil;
/* The connect stoppers' family arguments "4", "6", "L", "U", frozen: made once. */
static VALUE family_strings[4] = { Qnil, Qnil, Qnil, Qnil };
static const char family_codes[] = { MM_FAMILY_INET, MM_FAMILY_INET6, MM_FAMILY_UNIX,
                                     MM_FAMILY_UNKNOWN };

/* What C knows of one milter of an engine. */
typedef struct {
  guint32 stages; /* stopper stage mask */
  VALUE name;     /* the engine's own (frozen) name String: no String a stop call */
} MilterEntry;

typedef struct {
  VALUE engine;              /* Milter::Manager::ApplicableEngine */
  GHashTable *milters;       /* milter name -> MilterEntry* */
  GHashTable *dnsbl_milters; /* milter names whose conditions read DNSBL answers */
  char **dnsbl_services;
  char **dnsbl_name_servers;
  guint dnsbl_timeout_ms;
} Engine;

/* What Milter::Manager::SessionAccess wraps: usable only while C runs a stopper. */
typedef struct {
  MmApplicableSession *session;
  const MmApplicableSessionClass *klass;
  gboolean active;
} Access;

/* A CONNECT stop waiting for the DNSBL answers. */
typedef struct {
  char *milter;
  char *host;
  char *address;
  char family;
  guint16 port;
  MmApplicableDoneFunc done;
  gpointer done_data;
} Waiter;

typedef struct {
  Engine *engine;
  VALUE access;
  Access *access_data;
  VALUE ruby_session;        /* Milter::Manager::ApplicableSession */
  MmDnsblLookup *lookup;
  gboolean dnsbl_done;
  GPtrArray *waiters;        /* Waiter* */
  guint busy;                /* answering waiters: session_end defers the free */
  gboolean ended;
} SessionState;

/* ---------------------------------------------------------------------------------- */
/* Ruby-side helpers */

static const rb_data_type_t access_type = {
  .wrap_struct_name = "Milter::Manager::SessionAccess",
  .function = { .dfree = RUBY_TYPED_DEFAULT_FREE },
  .flags = RUBY_TYPED_FREE_IMMEDIATELY,
};

/* access_get - the session behind SELF, raising once its stopper call is over */
MM_RUBY_UNWOUND static Access *
access_get(VALUE self)
{
  Access *access = rb_check_typeddata(self, &access_type);
  if (access->session == NULL || !access->active)
    rb_raise(rb_eRuntimeError, "the MTA session of this context is only available while "
                               "its stopper runs (was the context kept for later?)");
  return access;
}

/* text_value - NUL-free text as a UTF-8 String, binary when it is not valid UTF-8 */
MM_RUBY_UNWOUND static VALUE
text_value(const char *text)
{
  if (text == NULL)
    return Qnil;
  VALUE string = rb_utf8_str_new_cstr(text);
  if (rb_enc_str_coderange(string) == ENC_CODERANGE_BROKEN)
    rb_enc_associate(string, rb_ascii8bit_encoding());
  return string;
}

/* access_lookup_macro - SessionAccess#lookup_macro(name) */
MM_RUBY_UNWOUND static VALUE
access_lookup_macro(VALUE self, VALUE name)
{
  Access *access = access_get(self);
  const char *value = access->klass->lookup_macro(access->session, StringValueCStr(name));
  return text_value(value);
}

/* access_set_macro - SessionAccess#set_macro(child, name, value) */
MM_RUBY_UNWOUND static VALUE
access_set_macro(VALUE self, VALUE child, VALUE name, VALUE value)
{
  Access *access = access_get(self);
  access->klass->set_macro(access->session, StringValueCStr(child), StringValueCStr(name),
                           StringValueCStr(value));
  return Qnil;
}

/* access_child_status - SessionAccess#child_status(child): "accept", ... "not-changed" */
MM_RUBY_UNWOUND static VALUE
access_child_status(VALUE self, VALUE child)
{
  Access *access = access_get(self);
  MmStatus status = access->klass->child_status(access->session, StringValueCStr(child));
  return rb_str_new_cstr(mm_status_to_string(status));
}

/* access_child_quitted - SessionAccess#child_quitted?(child) */
MM_RUBY_UNWOUND static VALUE
access_child_quitted(VALUE self, VALUE child)
{
  Access *access = access_get(self);
  return access->klass->child_quitted(access->session, StringValueCStr(child)) ? Qtrue
                                                                               : Qfalse;
}

/* access_n_processing_sessions - SessionAccess#n_processing_sessions */
MM_RUBY_UNWOUND static VALUE
access_n_processing_sessions(VALUE self)
{
  Access *access = access_get(self);
  return UINT2NUM(access->klass->n_processing_sessions(access->session));
}

static const struct {
  const char *name;
  MmLogLevel level;
} log_levels[] = {
  { "critical", MM_LOG_LEVEL_CRITICAL }, { "error", MM_LOG_LEVEL_ERROR },
  { "warning", MM_LOG_LEVEL_WARNING },   { "message", MM_LOG_LEVEL_MESSAGE },
  { "info", MM_LOG_LEVEL_INFO },         { "debug", MM_LOG_LEVEL_DEBUG },
};
/* The IDs of log_levels' names, set by setup_body: a level is found by ID, not by text. */
static ID log_level_ids[G_N_ELEMENTS(log_levels)];

/* log_level_of - the daemon's level for the Ruby side's :debug, :warning, ... */
MM_RUBY_UNWOUND static MmLogLevel
log_level_of(VALUE level)
{
  ID id = SYM2ID(RB_SYMBOL_P(level) ? level : rb_to_symbol(level));
  for (guint i = 0; i < G_N_ELEMENTS(log_levels); i++) {
    if (log_level_ids[i] == id)
      return log_levels[i].level;
  }
  return MM_LOG_LEVEL_MESSAGE;
}

/* log_emit - ApplicableLog.emit(level, message) into the daemon's log */
MM_RUBY_UNWOUND static VALUE
log_emit(VALUE self, VALUE level, VALUE message)
{
  mm_log(log_level_of(level), "%s", StringValueCStr(message));
  return Qnil;
}

/* log_enabled - ApplicableLog.enabled?(level) */
MM_RUBY_UNWOUND static VALUE
log_enabled(VALUE self, VALUE level)
{
  return mm_log_is_enabled(log_level_of(level)) ? Qtrue : Qfalse;
}

/* setup_body - once per process: the roots, SessionAccess, and the log bridge */
MM_RUBY_UNWOUND static VALUE
setup_body(VALUE data)
{
  if (!NIL_P(roots))
    return Qnil;
  VALUE table = rb_hash_new();
  rb_funcall(table, rb_intern("compare_by_identity"), 0);
  rb_gc_register_address(&roots);
  roots = table;
  for (guint i = 0; i < G_N_ELEMENTS(log_levels); i++)
    log_level_ids[i] = rb_intern(log_levels[i].name);
  for (guint i = 0; i < G_N_ELEMENTS(family_strings); i++) {
    family_strings[i] = rb_obj_freeze(rb_str_new(&family_codes[i], 1));
    rb_gc_register_address(&family_strings[i]);
  }
  VALUE manager = rb_path2class("Milter::Manager");
  VALUE klass = rb_define_class_under(manager, "SessionAccess", rb_cObject);
  rb_undef_alloc_func(klass);
  rb_define_method(klass, "lookup_macro", access_lookup_macro, 1);
  rb_define_method(klass, "set_macro", access_set_macro, 3);
  rb_define_method(klass, "child_status", access_child_status, 1);
  rb_define_method(klass, "child_quitted?", access_child_quitted, 1);
  rb_define_method(klass, "n_processing_sessions", access_n_processing_sessions, 0);
  rb_gc_register_address(&access_class);
  access_class = klass;
  VALUE log = rb_path2class("Milter::Manager::ApplicableLog");
  rb_define_singleton_method(log, "emit", log_emit, 2);
  rb_define_singleton_method(log, "enabled?", log_enabled, 1);
  return Qnil;
}

/* root_forget - let the GC have VALUE again */
static void
root_forget(VALUE value)
{
  if (!NIL_P(roots) && !NIL_P(value))
    rb_hash_delete(roots, value);
}

/* ---------------------------------------------------------------------------------- */
/* Engine construction */

/* new_engine_body - ApplicableEngine.new(configuration), rooted, and what C needs of it:
 * [engine, [[milter, mask, dnsbl?], ...], services, name servers, timeout] */
MM_RUBY_UNWOUND static VALUE
new_engine_body(VALUE configuration)
{
  setup_body(Qnil);
  VALUE klass = rb_path2class("Milter::Manager::ApplicableEngine");
  VALUE engine = rb_class_new_instance(1, &configuration, klass);
  VALUE milters = rb_ary_new();
  VALUE names = rb_funcall(engine, rb_intern("milter_names"), 0);
  for (long i = 0; i < RARRAY_LEN(names); i++) {
    VALUE name = RARRAY_AREF(names, i);
    rb_ary_push(milters, rb_ary_new_from_args(
                           3, name, rb_funcall(engine, rb_intern("stopper_stages"), 1, name),
                           rb_funcall(engine, rb_intern("dnsbl_milter?"), 1, name)));
  }
  VALUE timeout = rb_funcall(engine, rb_intern("dnsbl_timeout"), 0);
  VALUE result = rb_ary_new_from_args(
    5, engine, milters, rb_funcall(engine, rb_intern("dnsbl_services"), 0),
    rb_funcall(engine, rb_intern("dnsbl_name_servers"), 0),
    LONG2NUM((long)(NUM2DBL(timeout) * 1000.0)));
  rb_hash_aset(roots, engine, Qtrue);
  return result;
}

/* string_list - a NULL-terminated copy of an Array of NUL-free Strings (others skipped) */
static char **
string_list(VALUE array)
{
  GPtrArray *list = g_ptr_array_new();
  for (long i = 0; RB_TYPE_P(array, T_ARRAY) && i < RARRAY_LEN(array); i++) {
    VALUE item = RARRAY_AREF(array, i);
    if (RB_TYPE_P(item, T_STRING) && memchr(RSTRING_PTR(item), '\0', RSTRING_LEN(item)) == NULL)
      g_ptr_array_add(list, g_strndup(RSTRING_PTR(item), RSTRING_LEN(item)));
  }
  g_ptr_array_add(list, NULL);
  return (char **)g_ptr_array_free(list, FALSE);
}

static const MmApplicableEngineClass engine_class;

/* engine_free - MmApplicableEngineClass.free */
static void
engine_free(gpointer data)
{
  Engine *engine = data;
  if (engine == NULL)
    return;
  root_forget(engine->engine);
  g_hash_table_unref(engine->milters);
  g_hash_table_unref(engine->dnsbl_milters);
  g_strfreev(engine->dnsbl_services);
  g_strfreev(engine->dnsbl_name_servers);
  g_free(engine);
}

/* mm_ruby_conditions_attach - the engine of a freshly loaded configuration */
gboolean
mm_ruby_conditions_attach(MmConfig *config, VALUE configuration, GError **error)
{
  VALUE info = Qnil;
  if (!mm_ruby_protect(new_engine_body, configuration, &info, error)) {
    g_prefix_error(error, "applicable conditions: ");
    return FALSE;
  }
  Engine *engine = g_new0(Engine, 1);
  engine->engine = RARRAY_AREF(info, 0);
  engine->milters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  engine->dnsbl_milters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  VALUE milters = RARRAY_AREF(info, 1);
  gboolean any = FALSE;
  for (long i = 0; i < RARRAY_LEN(milters); i++) {
    VALUE entry = RARRAY_AREF(milters, i);
    VALUE name = RARRAY_AREF(entry, 0);
    VALUE mask = RARRAY_AREF(entry, 1);
    if (!RB_TYPE_P(name, T_STRING) || !FIXNUM_P(mask))
      continue;
    char *copy = g_strndup(RSTRING_PTR(name), RSTRING_LEN(name));
    MilterEntry *milter = g_new0(MilterEntry, 1);
    milter->stages = (guint32)FIX2LONG(mask) & ((1u << MM_STOPPER_COUNT) - 1);
    /* The engine keeps NAME (a key of its milters): it lives as long as the engine. */
    milter->name = name;
    any = any || milter->stages != 0;
    if (RTEST(RARRAY_AREF(entry, 2)))
      g_hash_table_add(engine->dnsbl_milters, g_strdup(copy));
    g_hash_table_replace(engine->milters, copy, milter);
  }
  engine->dnsbl_services = string_list(RARRAY_AREF(info, 2));
  engine->dnsbl_name_servers = string_list(RARRAY_AREF(info, 3));
  VALUE timeout = RARRAY_AREF(info, 4);
  engine->dnsbl_timeout_ms = FIXNUM_P(timeout) && FIX2LONG(timeout) > 0
    ? (guint)MIN(FIX2LONG(timeout), MM_DNSBL_LOOKUP_MAX_TIMEOUT_MS) : 1;
  RB_GC_GUARD(info);
  if (!any) {
    /* No milter has a stopper: the proxy need not ask at all. */
    engine_free(engine);
    return TRUE;
  }
  config->applicable.klass = &engine_class;
  config->applicable.engine = engine;
  return TRUE;
}

/* engine_stopper_stages - MmApplicableEngineClass.stopper_stages */
static guint32
engine_stopper_stages(gpointer data, const char *milter_name)
{
  Engine *engine = data;
  const MilterEntry *milter = g_hash_table_lookup(engine->milters, milter_name);
  return milter ? milter->stages : 0;
}

/* ---------------------------------------------------------------------------------- */
/* Sessions */

typedef struct {
  Engine *engine;
  VALUE access;
  VALUE session;
} BeginRequest;

/* session_begin_body - a SessionAccess and engine.session_begin(access), both rooted */
MM_RUBY_UNWOUND static VALUE
session_begin_body(VALUE data)
{
  BeginRequest *request = (BeginRequest *)data;
  Access *access = NULL;
  VALUE access_object = TypedData_Make_Struct(access_class, Access, &access_type, access);
  rb_hash_aset(roots, access_object, Qtrue);
  request->access = access_object;
  VALUE session = rb_funcall(request->engine->engine, rb_intern("session_begin"), 1,
                             access_object);
  rb_hash_aset(roots, session, Qtrue);
  request->session = session;
  return Qnil;
}

/* engine_session_begin - MmApplicableEngineClass.session_begin */
static gpointer
engine_session_begin(gpointer data, MmApplicableSession *session,
                     const MmApplicableSessionClass *klass)
{
  Engine *engine = data;
  BeginRequest request = { engine, Qnil, Qnil };
  g_autoptr(GError) error = NULL;
  if (!mm_ruby_protect(session_begin_body, (VALUE)&request, NULL, &error)) {
    root_forget(request.access);
    mm_error("[applicable-condition][error] cannot start the session's conditions: %s; "
             "every milter applies", error->message);
    return NULL;
  }
  SessionState *state = g_new0(SessionState, 1);
  state->engine = engine;
  state->access = request.access;
  state->access_data = rb_check_typeddata(request.access, &access_type);
  state->access_data->session = session;
  state->access_data->klass = klass;
  state->ruby_session = request.session;
  state->waiters = g_ptr_array_new();
  return state;
}

/* waiter_free - one pending CONNECT stop */
static void
waiter_free(Waiter *waiter)
{
  g_free(waiter->milter);
  g_free(waiter->host);
  g_free(waiter->address);
  g_free(waiter);
}

/* session_state_free - the C side of a session, once nothing runs on it */
static void
session_state_free(SessionState *state)
{
  g_ptr_array_free(state->waiters, TRUE);
  g_free(state);
}

typedef struct {
  SessionState *state;
  const char *method;
} SessionRequest;

/* session_call_body - engine.METHOD(session) */
MM_RUBY_UNWOUND static VALUE
session_call_body(VALUE data)
{
  SessionRequest *request = (SessionRequest *)data;
  return rb_funcall(request->state->engine->engine, rb_intern(request->method), 1,
                    request->state->ruby_session);
}

/* engine_transaction_end - MmApplicableEngineClass.transaction_end */
static void
engine_transaction_end(gpointer data, gpointer session_state)
{
  SessionState *state = session_state;
  if (state == NULL || state->ended)
    return;
  SessionRequest request = { state, "transaction_end" };
  g_autoptr(GError) error = NULL;
  if (!mm_ruby_protect(session_call_body, (VALUE)&request, NULL, &error))
    mm_error("[applicable-condition][error] ending the transaction: %s", error->message);
}

/* engine_session_end - MmApplicableEngineClass.session_end: cancels pending answers */
static void
engine_session_end(gpointer data, gpointer session_state)
{
  SessionState *state = session_state;
  if (state == NULL || state->ended)
    return;
  state->ended = TRUE;
  mm_dnsbl_lookup_cancel(g_steal_pointer(&state->lookup));
  for (guint i = 0; i < state->waiters->len; i++)
    waiter_free(g_ptr_array_index(state->waiters, i));
  g_ptr_array_set_size(state->waiters, 0);
  /* The Ruby objects may outlive us in a stopper's hands: make them refuse to work. */
  state->access_data->session = NULL;
  state->access_data->active = FALSE;
  root_forget(state->access);
  root_forget(state->ruby_session);
  if (state->busy == 0)
    session_state_free(state);
}

/* ---------------------------------------------------------------------------------- */
/* Stop decisions */

typedef struct {
  SessionState *state;
  const char *milter;
  VALUE milter_name; /* the engine's String for MILTER, or Qnil */
  MmStopperStage stage;
  const MmStopperArgs *args;
} StopRequest;

/* family_value - the frozen one-letter String of FAMILY */
MM_RUBY_UNWOUND static VALUE
family_value(char family)
{
  for (guint i = 0; i < G_N_ELEMENTS(family_codes); i++) {
    if (family_codes[i] == family)
      return family_strings[i];
  }
  return rb_str_new(&family, 1);
}

/* stop_body - engine.stop(session, milter, stage, the stage's arguments...) */
MM_RUBY_UNWOUND static VALUE
stop_body(VALUE data)
{
  StopRequest *request = (StopRequest *)data;
  const MmStopperArgs *args = request->args;
  VALUE argv[7];
  int argc = 3;
  argv[0] = request->state->ruby_session;
  argv[1] = NIL_P(request->milter_name) ? text_value(request->milter) : request->milter_name;
  argv[2] = INT2FIX(request->stage);
  switch (request->stage) {
  case MM_STOPPER_CONNECT:
    argv[argc++] = text_value(args->host);
    argv[argc++] = family_value(args->family);
    argv[argc++] = text_value(args->address);
    argv[argc++] = UINT2NUM(args->port);
    break;
  case MM_STOPPER_HELO:
    argv[argc++] = text_value(args->fqdn);
    break;
  case MM_STOPPER_ENVELOPE_FROM:
  case MM_STOPPER_ENVELOPE_RECIPIENT:
    argv[argc++] = text_value(args->envelope);
    break;
  case MM_STOPPER_HEADER:
    argv[argc++] = text_value(args->header_name);
    argv[argc++] = text_value(args->header_value);
    break;
  case MM_STOPPER_BODY:
    argv[argc++] = rb_str_new((const char *)args->chunk, (long)args->chunk_length);
    break;
  default:
    break;
  }
  return rb_funcallv(request->state->engine->engine, rb_intern("stop"), argc, argv);
}

/* run_stop - the conditions' answer now; Ruby failing outside a stopper counts as apply */
static gboolean
run_stop(SessionState *state, const char *milter, MmStopperStage stage,
         const MmStopperArgs *args)
{
  const MilterEntry *entry = g_hash_table_lookup(state->engine->milters, milter);
  StopRequest request = { state, milter, entry ? entry->name : Qnil, stage, args };
  VALUE result = Qfalse;
  g_autoptr(GError) error = NULL;
  state->access_data->active = TRUE;
  gboolean ok = mm_ruby_protect(stop_body, (VALUE)&request, &result, &error);
  state->access_data->active = FALSE;
  if (!ok) {
    mm_error("[applicable-condition][error] <%s> at %s: %s; the milter applies", milter,
             mm_stopper_stage_name(stage), error->message);
    return FALSE;
  }
  return result == Qtrue;
}

typedef struct {
  SessionState *state;
  GHashTable *answers;
} AnswerRequest;

/* answered_body - engine.dnsbl_answered(session, {service => [address, ...]}) */
MM_RUBY_UNWOUND static VALUE
answered_body(VALUE data)
{
  AnswerRequest *request = (AnswerRequest *)data;
  VALUE hash = rb_hash_new();
  GHashTableIter iter;
  gpointer key, value;
  g_hash_table_iter_init(&iter, request->answers);
  while (g_hash_table_iter_next(&iter, &key, &value)) {
    GPtrArray *addresses = value;
    VALUE list = rb_ary_new();
    for (guint i = 0; i < addresses->len; i++)
      rb_ary_push(list, rb_str_new_cstr(g_ptr_array_index(addresses, i)));
    rb_hash_aset(hash, rb_str_new_cstr(key), list);
  }
  return rb_funcall(request->state->engine->engine, rb_intern("dnsbl_answered"), 2,
                    request->state->ruby_session, hash);
}

/* on_dnsbl_done - give Ruby the answers, then answer every CONNECT stop that waited */
static void
on_dnsbl_done(GHashTable *answers, gpointer user_data)
{
  SessionState *state = user_data;
  state->lookup = NULL;
  state->dnsbl_done = TRUE;
  AnswerRequest request = { state, answers };
  g_autoptr(GError) error = NULL;
  if (!mm_ruby_protect(answered_body, (VALUE)&request, NULL, &error))
    mm_error("[applicable-condition][error] reading the DNSBL answers: %s", error->message);
  state->busy++;
  g_autoptr(GPtrArray) waiters = g_steal_pointer(&state->waiters);
  state->waiters = g_ptr_array_new();
  for (guint i = 0; i < waiters->len; i++) {
    Waiter *waiter = g_ptr_array_index(waiters, i);
    /* A done callback may end the session: the rest are then cancelled. */
    if (!state->ended) {
      MmStopperArgs args = { .host = waiter->host, .family = waiter->family,
                             .address = waiter->address, .port = waiter->port };
      gboolean stop = run_stop(state, waiter->milter, MM_STOPPER_CONNECT, &args);
      waiter->done(waiter->done_data, stop);
    }
    waiter_free(waiter);
  }
  state->busy--;
  if (state->ended && state->busy == 0)
    session_state_free(state);
}

/* start_dnsbl - begin the session's lookups (once); FALSE if they cannot be made */
static gboolean
start_dnsbl(SessionState *state, const MmStopperArgs *args)
{
  if (state->lookup != NULL)
    return TRUE;
  Engine *engine = state->engine;
  g_autoptr(GError) error = NULL;
  state->lookup = mm_dnsbl_lookup_start(args->address,
                                        (const char *const *)engine->dnsbl_services,
                                        (const char *const *)engine->dnsbl_name_servers,
                                        engine->dnsbl_timeout_ms, on_dnsbl_done, state, &error);
  if (state->lookup == NULL) {
    mm_warning("[applicable-condition][dnsbl] no lookups for %s: %s", args->address,
               error->message);
    return FALSE;
  }
  mm_debug("[applicable-condition][dnsbl] looking %s up in %u services", args->address,
           g_strv_length(engine->dnsbl_services));
  return TRUE;
}

/* engine_stop - MmApplicableEngineClass.stop */
static MmApplicableAnswer
engine_stop(gpointer data, gpointer session_state, const char *milter_name,
            MmStopperStage stage, const MmStopperArgs *args, MmApplicableDoneFunc done,
            gpointer done_data)
{
  Engine *engine = data;
  SessionState *state = session_state;
  if (state == NULL || state->ended || (guint)stage >= MM_STOPPER_COUNT ||
      (engine_stopper_stages(engine, milter_name) & (1u << stage)) == 0)
    return MM_APPLICABLE_APPLY;
  if (stage == MM_STOPPER_CONNECT && !state->dnsbl_done && done != NULL &&
      args->family == MM_FAMILY_INET && args->address != NULL &&
      g_hash_table_contains(engine->dnsbl_milters, milter_name)) {
    if (start_dnsbl(state, args)) {
      Waiter *waiter = g_new0(Waiter, 1);
      waiter->milter = g_strdup(milter_name);
      waiter->host = g_strdup(args->host);
      waiter->address = g_strdup(args->address);
      waiter->family = args->family;
      waiter->port = args->port;
      waiter->done = done;
      waiter->done_data = done_data;
      g_ptr_array_add(state->waiters, waiter);
      return MM_APPLICABLE_PENDING;
    }
    state->dnsbl_done = TRUE;
  }
  return run_stop(state, milter_name, stage, args) ? MM_APPLICABLE_STOP : MM_APPLICABLE_APPLY;
}

static const MmApplicableEngineClass engine_class = {
  engine_stopper_stages,
  engine_session_begin,
  engine_transaction_end,
  engine_session_end,
  engine_stop,
  engine_free,
};
