#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-ruby-gems-on-demand.sh: the daemon's Ruby starts without RubyGems, and a configuration
# that needs a gem (require, Kernel#gem, the constant Gem) still loads (gems-on-demand.rb).
. "$top_srcdir/test/lib/tap.sh"

mm="$top_builddir/src/milter-manager"
[ -x "$mm" ] || tap_skip_all "src/milter-manager is not built"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-ruby-gems-on-demand.XXXXXX")
tap_at_exit "rm -rf '$tmp'"
conf="$tmp/conf"
mkdir -p "$conf"

# A gem reachable only through RubyGems: a specification and a library under GEM_HOME.
gem_home="$tmp/gems"
mkdir -p "$gem_home/specifications" "$gem_home/gems/mm-fake-gem-1.0/lib"
cat >"$gem_home/specifications/mm-fake-gem-1.0.gemspec" <<'EOF'
Gem::Specification.new do |spec|
  spec.name = "mm-fake-gem"
  spec.version = "1.0"
  spec.summary = "a gem for test-ruby-gems-on-demand.sh"
  spec.authors = ["milter-manager tests"]
  spec.files = ["lib/mm_fake_gem.rb"]
  spec.require_paths = ["lib"]
end
EOF
echo 'module MmFakeGem; NAME = "from-the-gem"; end' >"$gem_home/gems/mm-fake-gem-1.0/lib/mm_fake_gem.rb"

# configure LINE...: milter-manager.conf of LINES, then one milter
configure() {
  printf '%s\n' "$@" >"$conf/milter-manager.conf"
}
# show_config: --show-config into $tmp/out and $tmp/err, with the fake gem installed
show_config() {
  GEM_HOME="$gem_home" "$mm" -c "$conf" --show-config >"$tmp/out" 2>"$tmp/err"
}
# description: the description the configuration gave milter "probe"
description() {
  awk '/^define_milter\("probe"\)/ { on = 1 } on && /milter.description = / {
         sub(/^ *milter.description = "/, ""); sub(/"$/, ""); print; exit }' "$tmp/out"
}
# loaded RUBY: a configuration line recording whether RubyGems was loaded when it ran
loaded='$LOADED_FEATURES.any? {|feature| feature.end_with?("/rubygems.rb")}'

tap_plan 8

configure "define_milter(\"probe\") {|milter| milter.description = \"gems=#{$loaded}\"}"
if show_config && [ "$(description)" = "gems=false" ]; then
  tap_ok "a configuration that needs no gem runs without RubyGems"
else
  tap_not_ok "a configuration that needs no gem runs without RubyGems"
  tap_diag "description: $(description)" "$(cat "$tmp/err")"
fi

configure 'require "mm_fake_gem"' \
  "define_milter(\"probe\") {|milter| milter.description = \"#{MmFakeGem::NAME} gems=#{$loaded}\"}"
if show_config && [ "$(description)" = "from-the-gem gems=true" ]; then
  tap_ok "require of a library only a gem has loads RubyGems and the gem"
else
  tap_not_ok "require of a library only a gem has loads RubyGems and the gem"
  tap_diag "description: $(description)" "$(cat "$tmp/err")"
fi

configure 'gem "mm-fake-gem", ">= 1.0"' 'require "mm_fake_gem"' \
  'define_milter("probe") {|milter| milter.description = MmFakeGem::NAME}'
if show_config && [ "$(description)" = "from-the-gem" ]; then
  tap_ok "Kernel#gem loads RubyGems and activates the gem"
else
  tap_not_ok "Kernel#gem loads RubyGems and activates the gem"
  tap_diag "$(cat "$tmp/err")"
fi

configure 'define_milter("probe") {|milter| milter.description = Gem::Version.new("2.3").to_s}'
if show_config && [ "$(description)" = "2.3" ]; then
  tap_ok "the constant Gem loads RubyGems"
else
  tap_not_ok "the constant Gem loads RubyGems"
  tap_diag "$(cat "$tmp/err")"
fi

configure 'require "json"' \
  "define_milter(\"probe\") {|milter| milter.description = \"#{JSON.generate([1])} gems=#{$loaded}\"}"
if show_config && [ "$(description)" = "[1] gems=false" ]; then
  tap_ok "a standard library loads without RubyGems"
else
  tap_not_ok "a standard library loads without RubyGems"
  tap_diag "description: $(description)" "$(cat "$tmp/err")"
fi

configure 'manager.connection_spec = "inet:10025@127.0.0.1"' 'require "mm_no_such_library"'
if ! show_config &&
    grep -qF "milter-manager.conf:2: cannot load such file -- mm_no_such_library (LoadError)" \
      "$tmp/err"; then
  tap_ok "a library found nowhere is still a LoadError naming the configuration line"
else
  tap_not_ok "a library found nowhere is still a LoadError naming the configuration line"
  tap_diag "$(cat "$tmp/err")"
fi

# The ruby command loads did_you_mean with RubyGems; the daemon loads it for error messages.
if ruby -e 'require "did_you_mean"' 2>/dev/null; then
  configure 'Fille.read("x")'
  if ! show_config && grep -qF "Did you mean?  File" "$tmp/err"; then
    tap_ok "error messages still carry did_you_mean's suggestions"
  else
    tap_not_ok "error messages still carry did_you_mean's suggestions"
    tap_diag "$(cat "$tmp/err")"
  fi
else
  tap_skip "Ruby has no did_you_mean"
fi

# A gem bundled with Ruby (rexml in Ruby 3.1): only RubyGems finds it.
if ruby -e 'require "rexml/document"' 2>/dev/null; then
  configure 'require "rexml/document"' \
    'define_milter("probe") {|milter| milter.description = REXML::Document.new("<a>b</a>").root.text}'
  if show_config && [ "$(description)" = "b" ]; then
    tap_ok "a gem bundled with Ruby (rexml) loads"
  else
    tap_not_ok "a gem bundled with Ruby (rexml) loads"
    tap_diag "$(cat "$tmp/err")"
  fi
else
  tap_skip "Ruby has no rexml gem"
fi

