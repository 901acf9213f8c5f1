# SPDX-License-Identifier: GPL-3.0-or-later
# detector.rb: detection of the child milters installed on this machine: the file access
# helper every detector reads through, the log of what failed, and defining the results.

require "milter/manager/detector-spec"
require "milter/manager/detector-shell"
require "milter/manager/detector-apps"
require "milter/manager/detector-services"
require "milter/manager/detector-milters"
require "milter/manager/detector-platforms"

module Milter
  module Manager
    module Detector
      # Tests point detection at a fixture tree that copies a real system's layout.
      ROOT_ENV = "MILTER_MANAGER_DETECTION_ROOT"
      # Service and configuration files are small; anything bigger is not one of them.
      MAX_FILE_SIZE = 1024 * 1024

      # A file that is not what it should be: the message says why.
      class ParseError < StandardError; end

      # Every file a detector looks at goes through here: paths are the detected system's
      # ("/etc/opendkim.conf"); the root directory is put in front of them.
      class FileSystem
        attr_reader :root

        def initialize(root = nil)
          root = ENV[ROOT_ENV] if root.nil?
          @root = (root.nil? || root.empty?) ? "/" : File.expand_path(root)
        end

        # real_root? - whether this is the running system (commands may be run)
        def real_root?
          @root == "/"
        end

        # real_path - where PATH of the detected system is on this machine
        def real_path(path)
          real_root? ? path : File.join(@root, path)
        end

        # file? - a regular file (through symbolic links)
        def file?(path)
          File.file?(real_path(path))
        end

        # directory? - a directory (through symbolic links)
        def directory?(path)
          File.directory?(real_path(path))
        end

        # exist? - anything, even a dangling symbolic link (systemd's wants links point at
        # units that may live elsewhere in a fixture)
        def exist?(path)
          File.exist?(real_path(path)) || File.symlink?(real_path(path))
        end

        # executable? - a file that may be run
        def executable?(path)
          real = real_path(path)
          File.file?(real) && File.executable?(real)
        end

        # readlink - the target of a symbolic link, or nil
        def readlink(path)
          real = real_path(path)
          File.symlink?(real) ? File.readlink(real) : nil
        end

        # read - the text of PATH; ParseError when it is too big to be a configuration file
        def read(path)
          real = real_path(path)
          size = File.size(real)
          if size > MAX_FILE_SIZE
            raise ParseError, "#{size} bytes: larger than #{MAX_FILE_SIZE}"
          end
          text = File.read(real, mode: "rb")
          text.force_encoding(Encoding::UTF_8)
          text = text.scrub("?") unless text.valid_encoding?
          text
        end

        # read_if_exist - the text of PATH, or nil when there is no such file
        def read_if_exist(path)
          file?(path) ? read(path) : nil
        end

        # glob - the detected system's paths matching PATTERN, sorted
        def glob(pattern)
          matches = Dir.glob(real_path(pattern)).sort
          return matches if real_root?
          matches.map {|match| match.delete_prefix(@root)}
        end
      end

      # Where detection reports what it could not read; the daemon's log by default.
      class Log
        attr_reader :messages

        def initialize(&sink)
          @sink = sink
          @messages = []
        end

        # error - FILE could not be used, for REASON; detection goes on
        def error(file, reason)
          write("error", "[detector][error] #{file}: #{reason}")
        end

        # warning - something found that cannot become a milter definition
        def warning(file, reason)
          write("warning", "[detector][warning] #{file}: #{reason}")
        end

        # info - what was detected
        def info(message)
          write("info", "[detector][info] #{message}")
        end

        private

        # write - keep the line and hand it to the sink (or the daemon's log)
        def write(level, message)
          @messages << [level, message]
          if @sink
            @sink.call(level, message)
          elsif Manager.respond_to?(:write_log)
            Manager.write_log(level, message)
          else
            $stderr.puts(message)
          end
        end
      end

      # One detected child milter, ready to become a define_milter block.
      class Found
        attr_accessor :name, :spec, :enabled, :description, :detected_from
        attr_accessor :command, :command_options, :extra_timeout, :conditions

        def initialize(name)
          @name = name
          @spec = nil
          @enabled = false
          @description = nil
          @detected_from = nil
          @command = nil
          @command_options = nil
          @extra_timeout = 0
          @conditions = []
        end
      end

      # What a detector needs: the files, the log, the platform's package options.
      Context = Struct.new(:fs, :log, :options)

      TIMEOUT_ITEMS = ["reading_timeout", "end_of_message_timeout"].freeze

      module_function

      # detect - every milter found on PLATFORM ("debian", "redhat", "freebsd", "pkgsrc");
      # never raises: each candidate is detected under rescue
      def detect(platform, context)
        detector_class = PLATFORMS[platform.to_s.sub(/\d+\z/, "")]
        if detector_class.nil?
          context.log.info("no detector for platform #{platform.inspect}")
          return []
        end
        detector_class.new(context).detect_all
      end

      # run - detect on PLATFORM and define each milter in CONFIGURATION through LOADER;
      # a milter that cannot be defined is logged and left out
      def run(configuration, loader, platform, options: nil, fs: nil, log: nil)
        context = Context.new(fs || FileSystem.new, log || Log.new, options || {})
        detect(platform, context).each do |found|
          define(configuration, loader, found, context.log)
        end
        nil
      end

      # define - one define_milter block from FOUND; values the loader rejects are logged
      def define(configuration, loader, found, log)
        defaults = configuration.milter_defaults
        loader.define_milter(found.name) do |milter|
          milter.connection_spec = found.spec
          milter.description = found.description if found.description
          milter.enabled = found.enabled
          milter.command = found.command if found.command
          milter.command_options = found.command_options if found.command_options
          if found.extra_timeout.positive?
            TIMEOUT_ITEMS.each do |item|
              milter.send("#{item}=", defaults[item].to_f + found.extra_timeout)
            end
          end
          found.conditions.each do |condition|
            next unless configuration.conditions.key?(condition)
            milter.add_applicable_condition(condition)
          end
        end
        configuration.eggs[found.name].detected_from = found.detected_from
        log.info("#{found.name}: #{found.spec}, #{found.enabled ? 'enabled' : 'disabled'}, " \
                 "from #{found.detected_from}")
      rescue StandardError => error
        # define_milter keeps a new milter only once its block has run through.
        log.error(found.detected_from || found.name, "#{error.message} (#{error.class})")
      end
    end
  end
end
