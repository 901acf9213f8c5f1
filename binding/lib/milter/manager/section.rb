# SPDX-License-Identifier: GPL-3.0-or-later
# section.rb: the objects behind package, security, log, manager, controller and database
# in configuration files: one getter and one validating setter per item of settings.rb.

module Milter
  module Manager
    # unknown_item - the error for an item no section or milter has, with a suggestion
    def self.unknown_item(prefix, name, candidates)
      full = prefix ? "#{prefix}.#{name}" : name.to_s
      message = "unknown item #{full} (undefined method `#{name}')"
      GemsOnDemand.load_message_helpers
      if defined?(DidYouMean::SpellChecker)
        setter = name.to_s.end_with?("=")
        dictionary = candidates.map(&:to_s).select {|known| known.end_with?("=") == setter}
        guesses = DidYouMean::SpellChecker.new(dictionary: dictionary).correct(name.to_s)
        unless guesses.empty?
          prefixed = guesses.map {|guess| prefix ? "#{prefix}.#{guess}" : guess}
          message << "; did you mean #{prefixed.join(' or ')}?"
        end
      end
      raise UnknownItem, message
    end

    class Section
      attr_reader :section_name

      def initialize(configuration, section_name)
        @configuration = configuration
        @section_name = section_name
      end

      def inspect
        @section_name
      end

      # method_missing - an item this section does not have
      def method_missing(name, *arguments, &block)
        Manager.unknown_item(@section_name, name, self.class.public_instance_methods(false))
      end

      def respond_to_missing?(name, include_private = false)
        false
      end

      # define_items - a getter, a "?" predicate for booleans and a setter per item
      def self.define_items(section_name)
        Settings::ITEMS.each do |item|
          next unless item.section == section_name
          key = item.key
          define_method(item.name) {@configuration.values[key]}
          if item.kind == :boolean
            define_method("#{item.name}?") {@configuration.values[key]}
          end
          define_method("#{item.name}=") do |value|
            normalized = item.check.call(key, value)
            @configuration.set(key, normalized, reset: value.nil?)
          end
        end
      end
    end

    class PackageSection < Section
      define_items("package")

      # options - the parsed "K=V,K=V" string, as 2.3's detectors read it
      def options
        text = @configuration.values["package.options"]
        return nil if text.nil?
        text.split(/\s*,\s*/).to_h do |option|
          name, value = option.split(/\s*=\s*/, 2)
          [name, value]
        end
      end
    end

    class SecuritySection < Section
      define_items("security")
    end

    class LogSection < Section
      define_items("log")
    end

    class ControllerSection < Section
      define_items("controller")
    end

    class ManagerSection < Section
      define_items("manager")

      # use_netstat_connection_checker - 2.3's checker; kept for the daemon to come
      def use_netstat_connection_checker(interval = 5)
        self.connection_check_interval = interval
        @configuration.connection_checkers["netstat"] = :netstat
      end

      # define_connection_checker - a block deciding whether the SMTP client is still there
      def define_connection_checker(name, &block)
        raise InvalidValue, "define_connection_checker(#{name.inspect}) needs a block" unless block
        @configuration.connection_checkers[name.to_s] = block
      end

      # report_memory_statistics - accepted for 2.3 files; the daemon logs its own statistics
      def report_memory_statistics
        @configuration.hooks[:report_memory_statistics] = true
      end

      # report_memory_profile - accepted for 2.3 files, as above
      def report_memory_profile
        @configuration.hooks[:report_memory_profile] = true
      end

      # maintained - a block run at each maintenance
      def maintained(&block)
        raise InvalidValue, "manager.maintained needs a block" unless block
        @configuration.hooks[:maintained] << block
      end

      # event_loop_created - a block run once the main loop exists
      def event_loop_created(&block)
        raise InvalidValue, "manager.event_loop_created needs a block" unless block
        @configuration.hooks[:event_loop_created] << block
      end
    end

    class DatabaseSection < Section
      define_items("database")

      # extra_options - adapter options beyond the named items
      def extra_options
        @configuration.database_extra_options
      end

      # extra_options= - replace the adapter options
      def extra_options=(options)
        unless options.is_a?(Hash)
          Types.invalid("database.extra_options", options, "must be a Hash")
        end
        @configuration.database_extra_options.replace(options)
      end

      # setup - 2.3 connected ActiveRecord here; we only remember the settings
      def setup
        nil
      end

      # load_models - remember model files for custom conditions (not loaded yet)
      def load_models(path)
        @configuration.database_model_paths << Types.check_string("database.load_models", path, nullable: false)
      end
    end
  end
end
