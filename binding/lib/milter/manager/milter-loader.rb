# SPDX-License-Identifier: GPL-3.0-or-later
# milter-loader.rb: the objects define_milter and define_applicable_condition yield: the
# milter's items with validating setters, and the condition's description and stoppers.

module Milter
  module Manager
    # What `define_milter(name) do |milter|` sees.
    class MilterLoader
      def initialize(configuration, egg)
        @configuration = configuration
        @egg = egg
      end

      def inspect
        "milter(#{@egg.name.inspect})"
      end

      # name - read-only
      def name
        @egg.name
      end

      Settings::MILTER_ITEMS.each do |item|
        name = item.name
        define_method(name) {@egg.values[name]}
        define_method("#{name}?") {@egg.values[name]} if item.kind == :boolean
        define_method("#{name}=") do |value|
          normalized = item.check.call(item.key, value)
          if value.nil?
            # nil restores the default, as the location "default" says
            @egg.values[name] = @configuration.milter_defaults[name]
            @egg.locations.delete(name)
          else
            @egg.values[name] = normalized
            @egg.locations[name] = @configuration.caller_location
          end
        end
      end

      # applicable_conditions - the condition names, in order
      def applicable_conditions
        @egg.conditions.map(&:first)
      end

      # applicable_conditions= - replace the list; every name must be defined already
      def applicable_conditions=(names)
        names = [] if names.nil?
        names = [names] unless names.is_a?(Array)
        names = names.map {|name| condition_name(name)}
        names.each {|name| check_condition(name)}
        location = @configuration.caller_location
        @egg.conditions.replace(names.uniq.map {|name| [name, location]})
      end

      # add_applicable_condition - append one defined condition
      def add_applicable_condition(name)
        name = condition_name(name)
        check_condition(name)
        @egg.conditions.reject! {|known, _location| known == name}
        @egg.conditions << [name, @configuration.caller_location]
      end

      def method_missing(name, *arguments, &block)
        Manager.unknown_item("milter", name, self.class.public_instance_methods(false))
      end

      def respond_to_missing?(name, include_private = false)
        false
      end

      private

      # condition_name - a name given as string, symbol or condition object
      def condition_name(name)
        name = name.name if name.is_a?(ApplicableCondition)
        Types.check_string("milter.applicable_conditions", name, nullable: false)
      end

      # check_condition - the 2.3 rule: a milter can only use a defined condition
      def check_condition(name)
        return if @configuration.conditions.key?(name)
        known = @configuration.conditions.keys
        expectation = if known.empty?
                        "no applicable condition is defined"
                      else
                        "must be #{Types.alternatives(known.map(&:inspect))}"
                      end
        Types.invalid("milter.applicable_condition", name, expectation)
      end
    end

    # What `define_applicable_condition(name) do |condition|` sees.
    class ApplicableConditionLoader
      def initialize(configuration, condition)
        @configuration = configuration
        @condition = condition
      end

      def inspect
        "condition(#{@condition.name.inspect})"
      end

      # name - read-only
      def name
        @condition.name
      end

      # description - the text shown by --show-config
      def description
        @condition.description
      end

      # description= - set the text shown by --show-config
      def description=(text)
        @condition.description = Types.check_string("condition.description", text)
        @condition.description_location = text.nil? ? nil : @configuration.caller_location
      end

      ApplicableCondition::STAGES.each do |stage|
        define_method("define_#{stage}_stopper") do |&block|
          unless block
            raise InvalidValue, "define_#{stage}_stopper needs a block"
          end
          @condition.stoppers[stage] << block
          nil
        end
      end

      def method_missing(name, *arguments, &block)
        Manager.unknown_item("condition", name, self.class.public_instance_methods(false))
      end

      def respond_to_missing?(name, include_private = false)
        false
      end
    end
  end
end
