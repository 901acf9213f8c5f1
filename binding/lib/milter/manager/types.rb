# SPDX-License-Identifier: GPL-3.0-or-later
# types.rb: validation and normalisation of setting values on assignment, so that a bad
# value is reported at the line that set it and the C side only sees clean values.

module Milter
  module Manager
    module Types
      UINT_MAX = 2**32 - 1
      MAX_UNIX_SOCKET_MODE = 0o7777
      MAX_N_WORKERS = 1000
      MAX_CHUNK_SIZE = 65_535
      MAX_BODY_MEMORY_LIMIT = 2**30
      MAX_PORT = 65_535
      FALLBACK_STATUSES = ["accept", "reject", "temporary-failure", "discard"].freeze
      LOG_LEVELS = ["all", "default", "none", "critical", "error", "warning",
                    "message", "info", "debug", "statistics", "profile"].freeze
      SYSLOG_FACILITIES = ["authpriv", "cron", "daemon", "kern",
                           "local0", "local1", "local2", "local3",
                           "local4", "local5", "local6", "local7",
                           "lpr", "mail", "news", "user", "uucp"].freeze
      EVENT_LOOP_BACKENDS = ["glib", "libev"].freeze
      MESSAGE_PHASES = ["sequential", "parallel"].freeze

      module_function

      # invalid - raise the one message format every setter uses
      def invalid(key, value, expectation)
        raise InvalidValue, "invalid #{key} #{value.inspect}: #{expectation}"
      end

      # alternatives - "a, b or c"
      def alternatives(values)
        return values.first.to_s if values.size == 1
        "#{values[0..-2].join(', ')} or #{values.last}"
      end

      # string_like - a String from a String, Symbol or Pathname, else nil
      def string_like(value)
        case value
        when String then value
        when Symbol then value.to_s
        else value.respond_to?(:to_path) ? value.to_path : nil
        end
      end

      # check_string - a string without NUL bytes (the C side keeps C strings)
      def check_string(key, value, nullable: true)
        return nil if value.nil? && nullable
        string = string_like(value)
        invalid(key, value, "must be a string") if string.nil?
        invalid(key, value, "must not contain NUL") if string.include?("\0")
        string.dup.freeze
      end

      # check_boolean - true or false ("true"/"false" as 2.3's XML loader passed them)
      def check_boolean(key, value)
        case value
        when true, "true" then true
        when false, "false" then false
        else invalid(key, value, "must be true or false")
        end
      end

      # check_uint - an integer between MIN and MAX; digits in a string are accepted
      def check_uint(key, value, min: 0, max: UINT_MAX, nil_value: nil, base: 10)
        return nil_value if value.nil? && !nil_value.nil?
        number = value
        if value.is_a?(String) && /\A\d+\z/.match?(value)
          number = Integer(value, base)
        end
        unless number.is_a?(Integer) && number >= min && number <= max
          invalid(key, value, "must be an integer from #{min} to #{max}")
        end
        number
      end

      # check_mode - a permission mode such as 0660 (strings are read as octal)
      def check_mode(key, value)
        mode = check_uint(key, value, max: MAX_UNIX_SOCKET_MODE, base: 8)
        mode
      rescue InvalidValue
        invalid(key, value, "must be a permission mode from 0 to 07777 such as 0660")
      end

      # check_status - one of the fallback statuses; "_" for "-" and symbols accepted
      def check_status(key, value)
        name = string_like(value)
        name = name.downcase.tr("_", "-") if name
        return name if FALLBACK_STATUSES.include?(name)
        invalid(key, value, "must be #{alternatives(FALLBACK_STATUSES)}")
      end

      # check_choice - one string of a fixed list
      def check_choice(key, value, choices)
        name = string_like(value)
        return name.dup.freeze if choices.include?(name)
        invalid(key, value, "must be #{alternatives(choices)}")
      end

      # check_log_level - "|"-separated level names; nil or "" mean "default"
      def check_log_level(key, value)
        return "default" if value.nil?
        text = string_like(value)
        invalid(key, value, "must be a string such as \"info|debug\"") if text.nil?
        return "default" if text.empty?
        names = text.split("|").map(&:strip)
        unknown = names.reject {|name| LOG_LEVELS.include?(name)}
        unless unknown.empty? && !names.empty?
          invalid(key, value, "levels must be #{alternatives(LOG_LEVELS)}")
        end
        names.join("|").freeze
      end

      # check_timeout - seconds, a positive finite number, kept as a Float
      def check_timeout(key, value)
        unless value.is_a?(Numeric) && value.real? && value.to_f.finite? && value > 0
          invalid(key, value, "must be a positive number of seconds")
        end
        value.to_f
      end

      # check_package_options - "K=V,K=V" or a Hash of the same
      def check_package_options(key, value)
        return nil if value.nil?
        if value.is_a?(Hash)
          value = value.map {|name, option| "#{name}=#{option}"}.join(",")
        end
        check_string(key, value)
      end

      # check_spec - a connection spec as milter manager writes them
      def check_spec(key, value, nullable: true)
        return nil if value.nil? && nullable
        spec = string_like(value)
        expectation = "must be unix:PATH, local:PATH, inet:PORT[@HOST] or inet6:PORT[@HOST]"
        invalid(key, value, expectation) if spec.nil? || spec.include?("\0")
        case spec
        when /\A(?:unix|local):(.+)\z/m
          # any non-empty path
        when /\Ainet6?:(\d+)(?:@(.+))?\z/m
          port = Regexp.last_match(1).to_i
          host = Regexp.last_match(2)
          if port > MAX_PORT
            invalid(key, value, "port must be from 0 to #{MAX_PORT}")
          end
          if host && host.start_with?("[") && !host.end_with?("]")
            invalid(key, value, "the address in [] is not closed")
          end
        else
          invalid(key, value, expectation)
        end
        spec.dup.freeze
      end

      # check_command_options - a string, or an array joined shell-escaped
      def check_command_options(key, value)
        if value.is_a?(Array)
          require "shellwords"
          value = value.map {|option| Shellwords.escape(option.to_s)}.join(" ")
        end
        check_string(key, value)
      end
    end
  end
end
