/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ruby-conditions.h: the applicable-conditions engine (MmApplicableEngineClass of applicable.h)
 * over the Ruby condition objects of a loaded configuration; binding-internal (needs ruby.h). */
#pragma once

#include "config.h"

#include <glib.h>
#include <ruby.h>

/* mm_ruby_conditions_attach - give CONFIG an engine over CONFIGURATION (the Ruby
 * Milter::Manager::Configuration it was exported from), when some milter has a condition;
 * CONFIG->applicable stays empty otherwise. Errors are Ruby's, as MM_RUBY_ERROR_CONFIG. */
gboolean mm_ruby_conditions_attach(MmConfig *config, VALUE configuration, GError **error);

/* mm_ruby_protect - FUNC(DATA) under rb_protect, Ruby's exception as a GError
 * (MM_RUBY_ERROR_CONFIG) with its backtrace; implemented in ruby-config.c */
gboolean mm_ruby_protect(VALUE (*func)(VALUE), VALUE data, VALUE *result, GError **error);
