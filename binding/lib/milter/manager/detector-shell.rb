# SPDX-License-Identifier: GPL-3.0-or-later
# detector-shell.rb: reading shell-like files without running them: variable assignments
# of /etc/default, /etc/sysconfig, rc.conf and rc.d scripts, words, and the -p option.

require "shellwords"

module Milter
  module Manager
    module Detector
      module Shell
        NAME = /[A-Za-z_][A-Za-z0-9_]*/.freeze
        # Expansion stops here, so that self-referencing values cannot grow without end.
        MAX_EXPANSION_DEPTH = 8
        TRUE_WORDS = ["yes", "true", "on", "1"].freeze
        FALSE_WORDS = ["no", "false", "off", "0"].freeze

        module_function

        # assignments - VARS updated with the assignments of TEXT in order:
        #   NAME=value, export NAME=value, : ${NAME=value}, : ${NAME:=value},
        #   NAME=${NAME-value}, NAME=${NAME:-value}
        # Conditionals are not evaluated: the last assignment wins (as the file's default
        # path would); command substitutions are left alone.
        def assignments(text, vars = {})
          logical_lines(text).each do |line|
            line = line.strip
            next if line.empty? || line.start_with?("#")
            if (match = /\A:\s+\$\{(#{NAME})(:?)=(.*)\}\s*(?:#.*)?\z/.match(line))
              name, colon, value = match.captures
              next if vars.key?(name) && !(colon == ":" && vars[name].empty?)
              vars[name] = value_of(value, vars)
            elsif (match = /\A(?:export\s+|readonly\s+)?(#{NAME})=(.*)\z/.match(line))
              name, value = match.captures
              vars[name] = value_of(strip_comment(value), vars)
            end
          end
          vars
        end

        # assign_from - assignments(TEXT, VARS), recording FILE in ORIGINS for every
        # variable it set or changed
        def assign_from(text, vars, origins, file)
          before = vars.dup
          assignments(text, vars)
          vars.each do |name, value|
            origins[name] = file if !before.key?(name) || before[name] != value
          end
          vars
        end

        # variable_names - the variables TEXT mentions ($X, ${X}, ${X:-...})
        def variable_names(text)
          text.to_s.scan(/\$\{?(#{NAME})/).flatten
        end

        # value_of - the value of the right-hand side RAW: quotes removed, ${X-default}
        # and $X expanded from VARS
        def value_of(raw, vars, depth = 0)
          raw = raw.strip
          if (match = /\A"?\$\{(#{NAME})(:?)[-=](.*)\}"?\z/m.match(raw))
            name, colon, default = match.captures
            current = vars[name]
            if current.nil? || (colon == ":" && current.empty?)
              return value_of(default, vars, depth + 1)
            end
            return current
          end
          words = begin
                    Shellwords.split(raw)
                  rescue ArgumentError
                    [raw]
                  end
          value = words.first.nil? ? "" : words.join(" ")
          value = raw[1..-2] if raw.start_with?("'") && raw.end_with?("'") && raw.length >= 2
          return value if raw.start_with?("'")
          expand(value, vars, depth)
        end

        # expand - $NAME and ${NAME} (and ${NAME:-default}) from VARS; unknown ones vanish
        # like the shell's
        def expand(text, vars, depth = 0)
          return text if depth >= MAX_EXPANSION_DEPTH
          text.gsub(/\$\{(#{NAME})(?::?-([^}]*))?\}|\$(#{NAME})/) do
            name = Regexp.last_match(1) || Regexp.last_match(3)
            default = Regexp.last_match(2)
            value = vars[name]
            value = expand(default, vars, depth + 1) if (value.nil? || value.empty?) && default
            value.to_s
          end
        end

        # words - TEXT split like the shell does; ParseError on unbalanced quotes
        def words(text)
          Shellwords.split(text.to_s)
        rescue ArgumentError => error
          raise ParseError, "cannot split #{text.inspect}: #{error.message}"
        end

        # option - the value of OPTION ("-p") in WORDS: "-p VALUE" or "-pVALUE"
        def option(words, option)
          words.each_with_index do |word, i|
            if word == option
              value = words[i + 1]
              return value if value && !value.start_with?("-")
            elsif word.start_with?(option) && word.length > option.length &&
                  !word.start_with?("--")
              return word[option.length..]
            end
          end
          nil
        end

        # true_value? - a shell "yes"; nil when VALUE says neither yes nor no
        def true_value?(value)
          word = value.to_s.strip.downcase
          return true if TRUE_WORDS.include?(word)
          return false if FALSE_WORDS.include?(word)
          nil
        end

        # logical_lines - lines with backslash continuations joined: the shell drops
        # them, systemd turns them into JOINER " "
        def logical_lines(text, joiner = "")
          text.gsub(/\\\r?\n/, joiner).each_line.map(&:chomp)
        end

        # strip_comment - VALUE without a trailing " # comment" outside quotes
        def strip_comment(value)
          quote = nil
          value.each_char.with_index do |char, i|
            if quote
              quote = nil if char == quote
            elsif char == "\"" || char == "'"
              quote = char
            elsif char == "#" && i.positive? && value[i - 1].match?(/\s/)
              return value[0...i]
            end
          end
          value
        end
      end
    end
  end
end
