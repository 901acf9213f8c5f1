# SPDX-License-Identifier: GPL-3.0-or-later
# configuration-dumper.rb: --show-config: the effective configuration as DSL text that
# loads back, each item preceded by "# default" or "# FILE:LINE" of the line that set it.

module Milter
  module Manager
    class ConfigurationDumper
      def initialize(configuration)
        @configuration = configuration
      end

      # dump - the whole text: sections, then conditions, then milters
      def dump
        @result = +""
        Settings::SECTIONS.each do |section|
          Settings::ITEMS.each do |item|
            next unless item.section == section
            value = @configuration.values[item.key]
            item_line(@configuration.locations[item.key], item.key,
                      Settings.format(item, value))
          end
          @result << "\n"
        end
        @configuration.conditions.each_value do |condition|
          dump_condition(condition)
          @result << "\n"
        end
        @configuration.eggs.each_value do |egg|
          dump_egg(egg)
          @result << "\n"
        end
        @result.rstrip + "\n"
      end

      private

      # location_line - the comment naming where an item was set
      def location_line(location, indent = "")
        @result << "#{indent}# #{location || 'default'}\n"
      end

      # item_line - the comment and the assignment
      def item_line(location, key, text, indent = "")
        location_line(location, indent)
        @result << "#{indent}#{key} = #{text}\n"
      end

      # dump_condition - one define_applicable_condition block (stoppers are code: not shown)
      def dump_condition(condition)
        location_line(condition.location)
        @result << "define_applicable_condition(#{condition.name.inspect}) do |condition|\n"
        item_line(condition.description_location, "condition.description",
                  condition.description.inspect, "  ")
        @result << "end\n"
      end

      # dump_egg - one define_milter block, items in 2.3's order
      def dump_egg(egg)
        location_line(egg.location)
        @result << "# detected: #{egg.detected_from}\n" if egg.detected_from
        @result << "define_milter(#{egg.name.inspect}) do |milter|\n"
        Settings::MILTER_ITEMS.each do |item|
          if item.name == "command"
            dump_egg_conditions(egg)
          end
          item_line(egg.locations[item.name], item.key,
                    Settings.format(item, egg.values[item.name]), "  ")
        end
        @result << "end\n"
      end

      # dump_egg_conditions - the list, each name with the line that added it
      def dump_egg_conditions(egg)
        if egg.conditions.empty?
          location_line(nil, "  ")
          @result << "  milter.applicable_conditions = []\n"
          return
        end
        @result << "  milter.applicable_conditions = [\n"
        egg.conditions.each do |name, location|
          location_line(location, "    ")
          @result << "    #{name.inspect},\n"
        end
        @result << "  ]\n"
      end
    end
  end
end
