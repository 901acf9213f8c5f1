# SPDX-License-Identifier: GPL-3.0-or-later
# manager.rb: the configuration DSL of milter-manager as the daemon calls it: load a fresh
# configuration from milter-manager.conf, export it to C, dump it, describe errors.

require "milter/manager/gems-on-demand"
require "milter/manager/error"
require "milter/manager/types"
require "milter/manager/settings"
require "milter/manager/configuration"
require "milter/manager/section"
require "milter/manager/milter-loader"
require "milter/manager/configuration-loader"
require "milter/manager/configuration-dumper"
require "milter/manager/applicable-engine"

module Milter
  module Manager
    # Errors whose message is already meant for the administrator.
    KNOWN_ERRORS = [InvalidValue, NonexistentPath, UnknownItem, SyntaxError].freeze

    module_function

    # load_configuration - a new Configuration: DEFAULTS (from the daemon), then FILE;
    # any failure becomes one ConfigurationError naming the configuration file line
    def load_configuration(file, directories, defaults, milter_defaults)
      configuration = Configuration.new(directories, defaults, milter_defaults)
      loader = ConfigurationLoader.new(configuration)
      begin
        loader.load_file(file)
        # Policies name milters that may be defined after them.
        loader.apply_policies
      rescue Exception => error # rubocop:disable Lint/RescueException
        raise configuration_error(configuration, error)
      end
      configuration
    end

    # configuration_error - ERROR restated as "FILE:LINE: message" with a backtrace of
    # configuration file lines only (the DSL's own frames help nobody)
    def configuration_error(configuration, error)
      GemsOnDemand.load_message_helpers
      frames = (error.backtrace_locations || []).select do |location|
        configuration.loaded_file?(location.path)
      end
      lines = frames.map {|location| "#{location.path}:#{location.lineno}"}
      message = error.message.to_s
      message = error.class.name if message.empty?
      unless KNOWN_ERRORS.any? {|known| error.is_a?(known)}
        message = "#{message} (#{error.class})"
      end
      if error.is_a?(SyntaxError) || lines.empty?
        # A syntax error's message already starts with its file and line.
        text = message
      else
        text = "#{lines.shift}: #{message}"
      end
      result = ConfigurationError.new(text)
      result.set_backtrace(collapse(lines))
      result
    end

    # collapse - runs of one line as "LINE (N times)", for files that load themselves
    def collapse(lines)
      lines.chunk_while {|a, b| a == b}.map do |run|
        run.size == 1 ? run.first : "#{run.first} (#{run.size} times)"
      end
    end

    # format_exception - message and backtrace of any exception, for the C side's GError
    def format_exception(error)
      GemsOnDemand.load_message_helpers
      text = +error.message.to_s
      text = +error.class.name if text.empty?
      backtrace = error.backtrace || []
      backtrace.each {|line| text << "\n  from #{line}"}
      text
    end
  end
end
