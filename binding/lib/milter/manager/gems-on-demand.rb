# SPDX-License-Identifier: GPL-3.0-or-later
# gems-on-demand.rb: the daemon's Ruby starts without RubyGems (--disable-gems: some 2.4 MB
# less resident); RubyGems is loaded the first time a configuration needs it.

module Milter
  module Manager
    # RubyGems and the message helpers the ruby command loads at start, loaded when needed:
    # a require that finds nothing without RubyGems, Kernel#gem, the constant Gem, and
    # did_you_mean/error_highlight when an error message is formatted.
    module GemsOnDemand
      @loaded = false

      module_function

      # enabled? - whether the interpreter started without RubyGems (the hooks are in)
      def enabled?
        @enabled ? true : false
      end

      # install - the hooks, unless RubyGems is there already (RUBYOPT=--enable-gems)
      def install
        return if @enabled || Object.const_defined?(:Gem, false)
        @enabled = true
        Object.autoload(:Gem, "rubygems")
        Kernel.module_eval do
          alias_method :milter_manager_require_without_gems, :require
          private :milter_manager_require_without_gems

          # require - Ruby's require; when it finds nothing, load RubyGems and try again
          # (RubyGems then replaces this method with its own, which calls this one)
          def require(path)
            milter_manager_require_without_gems(path)
          rescue LoadError
            raise unless Milter::Manager::GemsOnDemand.load_rubygems
            require(path)
          end
          private :require

          # gem - Kernel#gem of RubyGems, loaded now; it replaces this method
          def gem(name, *requirements)
            Milter::Manager::GemsOnDemand.load_rubygems
            raise NotImplementedError, "RubyGems defines no Kernel#gem" if
              Milter::Manager::GemsOnDemand.own_gem_method?
            gem(name, *requirements)
          end
          private :gem
        end
        @gem_method = Kernel.instance_method(:gem)
      end

      # load_rubygems - require RubyGems if it is not loaded yet; true if it was loaded now
      def load_rubygems
        return false if !@enabled || @loaded
        @loaded = true
        # Through the autoload, so that Object forgets it.
        !Gem.nil?
      rescue LoadError, StandardError => error
        Manager.write_log("warning", "cannot load RubyGems: #{error.message}") if
          Manager.respond_to?(:write_log)
        false
      end

      # own_gem_method? - whether Kernel#gem is still the hook (RubyGems did not replace it)
      def own_gem_method?
        Kernel.instance_method(:gem) == @gem_method
      end

      # load_message_helpers - did_you_mean and error_highlight, which the ruby command
      # loads with RubyGems: they add "Did you mean?" and source snippets to messages
      def load_message_helpers
        return unless @enabled
        ["did_you_mean", "error_highlight"].each do |library|
          require library
        rescue LoadError
          nil
        end
      end
    end
  end
end

Milter::Manager::GemsOnDemand.install
