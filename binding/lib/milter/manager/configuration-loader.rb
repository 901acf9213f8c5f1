# SPDX-License-Identifier: GPL-3.0-or-later
# configuration-loader.rb: the top-level DSL configuration files are evaluated in (load,
# load_if_exist, load_default, define_milter, ...) and the resolution of load() paths.

module Milter
  module Manager
    class ConfigurationLoader
      # A file loading itself, directly or not, stops here instead of exhausting the stack.
      MAX_LOAD_DEPTH = 32
      GLOB_CHARACTERS = /[*?\[{]/.freeze

      attr_reader :package, :security, :log, :manager, :controller, :database

      def initialize(configuration)
        @configuration = configuration
        @package = PackageSection.new(configuration, "package")
        @security = SecuritySection.new(configuration, "security")
        @log = LogSection.new(configuration, "log")
        @manager = ManagerSection.new(configuration, "manager")
        @controller = ControllerSection.new(configuration, "controller")
        @database = DatabaseSection.new(configuration, "database")
      end

      def inspect
        "configuration"
      end

      # load - every file PATH names: a file, a glob, or a directory (all its files);
      # a relative PATH is looked up in every configuration directory
      def load(path)
        files = resolve_path(path)
        if files.empty? && !GLOB_CHARACTERS.match?(path.to_s)
          raise NonexistentPath.new(path, @configuration.directories)
        end
        files.each {|file| load_file(file)}
        nil
      end

      # load_if_exist - load(PATH), but a PATH that is not there is no error
      def load_if_exist(path)
        load(path)
      rescue NonexistentPath => error
        raise unless error.path == path
        nil
      end

      # load_default - the packaged defaults of package.platform, if shipped
      def load_default
        platform = @package.platform
        load_if_exist("defaults/#{platform}.conf") if platform
        nil
      end

      # define_milter - define a child milter, or change one defined before
      def define_milter(name)
        name = Types.check_string("define_milter name", name, nullable: false)
        Types.invalid("define_milter name", name, "must not be empty") if name.empty?
        raise InvalidValue, "define_milter(#{name.inspect}) needs a block" unless block_given?
        eggs = @configuration.eggs
        egg = eggs[name] || Egg.new(name, @configuration.milter_defaults)
        egg.location = @configuration.caller_location
        yield(MilterLoader.new(@configuration, egg))
        # 2.3 removes and appends a redefined milter: it moves to the end of the order.
        eggs.delete(name)
        eggs[name] = egg
        nil
      end

      # detect_milters - define the child milters installed on PLATFORM (default
      # package.platform) from their service and configuration files (doc/detection.md)
      def detect_milters(platform = @package.platform)
        require "milter/manager/detector"
        Detector.run(@configuration, self, platform, options: @package.options)
      end

      # remove_milter - forget a child milter (no error if it was never defined)
      def remove_milter(name)
        @configuration.eggs.delete(name.to_s)
        nil
      end

      # defined_milters - the names of the defined milters, in order
      def defined_milters
        @configuration.eggs.keys
      end

      # define_applicable_condition - define a condition, or extend one defined before
      def define_applicable_condition(name)
        name = Types.check_string("define_applicable_condition name", name, nullable: false)
        unless block_given?
          raise InvalidValue, "define_applicable_condition(#{name.inspect}) needs a block"
        end
        conditions = @configuration.conditions
        condition = conditions[name] || ApplicableCondition.new(name)
        condition.location = @configuration.caller_location
        yield(ApplicableConditionLoader.new(@configuration, condition))
        conditions.delete(name)
        conditions[name] = condition
        nil
      end

      def method_missing(name, *arguments, &block)
        candidates = self.class.public_instance_methods(false) - [:inspect]
        Manager.unknown_item(nil, name, candidates)
      end

      def respond_to_missing?(name, include_private = false)
        false
      end

      # load_file - evaluate one configuration file in this object
      def load_file(file)
        if @configuration.loading.size >= MAX_LOAD_DEPTH
          raise InvalidValue, "load nesting deeper than #{MAX_LOAD_DEPTH}: " \
                              "does #{file} load itself?"
        end
        content = File.read(file, mode: "rb")
        content.force_encoding(Encoding::UTF_8)
        @configuration.with_file(file) do
          instance_eval(content, file, 1)
        end
      end

      private

      # resolve_path - the files PATH names, in a stable order
      def resolve_path(path)
        path = Types.check_string("load path", path, nullable: false)
        bases = if File.absolute_path?(path)
                  [path]
                else
                  @configuration.directories.map {|dir| File.join(dir, path)}
                end
        files = []
        bases.each do |base|
          Dir.glob(base).sort.each do |match|
            if File.directory?(match)
              Dir.children(match).sort.each do |child|
                full = File.join(match, child)
                files << full if File.file?(full)
              end
            elsif File.file?(match)
              files << match
            end
          end
        end
        files.uniq
      end
    end
  end
end
