# SPDX-License-Identifier: GPL-3.0-or-later
# configuration.rb: the state one load builds: setting values with the FILE:LINE that set
# them, child milter definitions (eggs) and applicable conditions, in definition order.

module Milter
  module Manager
    # One define_milter block's result.
    class Egg
      attr_reader :name, :values, :locations, :conditions
      attr_accessor :location
      # the file detection found this milter in (detector.rb), or nil
      attr_accessor :detected_from

      def initialize(name, defaults)
        @name = name
        @values = defaults.dup
        @locations = {}
        @conditions = []
        @location = nil
        @detected_from = nil
      end
    end

    # One define_applicable_condition block's result; the stoppers are kept for the
    # session code that will call them.
    class ApplicableCondition
      STAGES = [:connect, :helo, :envelope_from, :envelope_recipient, :data,
                :header, :end_of_header, :body, :end_of_message].freeze

      attr_reader :name, :stoppers
      attr_accessor :description, :description_location, :location

      def initialize(name)
        @name = name
        @description = nil
        @description_location = nil
        @location = nil
        @stoppers = STAGES.to_h {|stage| [stage, []]}
      end

      # have_stopper? - whether any stage needs Ruby at all
      def have_stopper?
        @stoppers.values.any? {|blocks| !blocks.empty?}
      end
    end

    class Configuration
      attr_reader :directories, :values, :locations, :eggs, :conditions
      attr_reader :milter_defaults, :hooks, :connection_checkers
      attr_reader :database_extra_options, :database_model_paths

      def initialize(directories, defaults, milter_defaults)
        @directories = directories.map {|dir| File.expand_path(dir)}.uniq.freeze
        @values = {}
        Settings::ITEMS.each do |item|
          unless item.c
            @values[item.key] = nil
            next
          end
          unless defaults.key?(item.key)
            raise ArgumentError, "no default for #{item.key} from the daemon"
          end
          @values[item.key] = defaults[item.key]
        end
        unknown = defaults.keys - @values.keys
        raise ArgumentError, "unknown defaults: #{unknown.join(', ')}" unless unknown.empty?
        @milter_defaults = {}
        Settings::MILTER_ITEMS.each do |item|
          unless milter_defaults.key?(item.name)
            raise ArgumentError, "no default for #{item.key} from the daemon"
          end
          @milter_defaults[item.name] = milter_defaults[item.name]
        end
        @locations = {}
        @eggs = {}
        @conditions = {}
        @hooks = {maintained: [], event_loop_created: []}
        @connection_checkers = {}
        @database_extra_options = {}
        @database_model_paths = []
        @loading = []
        @loaded = {}
      end

      # loading - files being loaded, innermost last
      def loading
        @loading
      end

      # loaded_file? - whether PATH is a configuration file of this load
      def loaded_file?(path)
        @loaded.key?(path)
      end

      # with_file - run the block while PATH counts as the file being loaded
      def with_file(path)
        @loaded[path] = true
        @loading.push(path)
        yield
      ensure
        @loading.pop
      end

      # caller_location - "FILE:LINE" of the innermost configuration file line that is
      # running now, so that settings made through helpers still point at the user's line
      def caller_location
        frame = caller_locations.find {|location| loaded_file?(location.path)}
        frame && "#{frame.path}:#{frame.lineno}"
      end

      # set - store a validated value; nil resets the location to "default" like 2.3
      def set(key, value, reset: false)
        @values[key] = value
        if reset
          @locations.delete(key)
        else
          @locations[key] = caller_location
        end
      end

      # export - plain arrays the C side converts without calling back into Ruby
      def export
        globals = Settings::ITEMS.select(&:c).map {|item| [item.key, @values[item.key]]}
        milters = @eggs.values.map do |egg|
          values = Settings::MILTER_ITEMS.map do |item|
            [item.name, egg.values[item.name]]
          end
          values << ["detected_from", egg.detected_from]
          [egg.name, values, egg.conditions.map(&:first)]
        end
        [globals, milters]
      end

      # dump - the --show-config text
      def dump
        ConfigurationDumper.new(self).dump
      end
    end
  end
end
