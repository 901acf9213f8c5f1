# SPDX-License-Identifier: GPL-3.0-or-later
# detector-spec.rb: the socket forms milters and their packages write (paths, local:,
# Postfix's inet:HOST:PORT, clamav's tcp:, rspamd's HOST:PORT) turned into our specs.

module Milter
  module Manager
    module Detector
      module Spec
        MAX_PORT = 65_535

        module_function

        # normalize - TEXT as unix:PATH, inet:PORT[@HOST] or inet6:PORT[@HOST];
        # ParseError naming TEXT when it is none of the known forms
        def normalize(text)
          raise ParseError, "empty socket" if text.nil?
          spec = unquote(text.to_s.strip)
          raise ParseError, "empty socket" if spec.empty?
          case spec
          when %r{\A/}
            "unix:#{spec}"
          when /\A(?:unix|local):(.+)\z/i
            path = Regexp.last_match(1)
            unless path.start_with?("/")
              raise ParseError, "socket #{text.inspect}: not an absolute path"
            end
            "unix:#{path}"
          when /\A(inet6?):(\d+)\z/i
            "#{Regexp.last_match(1).downcase}:#{port(Regexp.last_match(2), text)}"
          when /\A(inet6?):(\d+)@(.+)\z/i
            family = Regexp.last_match(1).downcase
            "#{family}:#{port(Regexp.last_match(2), text)}@#{host(Regexp.last_match(3), text)}"
          when /\A(?:inet|tcp):(\[[^\]]+\]):(\d+)\z/i
            "inet6:#{port(Regexp.last_match(2), text)}@#{Regexp.last_match(1)}"
          when /\A(?:inet|tcp):([^:@\s]+):(\d+)\z/i
            # Postfix's inet:HOST:PORT and clamav's tcp:HOST:PORT
            "inet:#{port(Regexp.last_match(2), text)}@#{host(Regexp.last_match(1), text)}"
          when /\Atcp:(\d+)\z/i
            "inet:#{port(Regexp.last_match(1), text)}@localhost"
          else
            host_port(spec, text)
          end
        end

        # host_port - rspamd's bind_socket forms: HOST:PORT, *:PORT, [ADDR]:PORT
        def host_port(spec, text)
          case spec
          when /\A\[([^\]]+)\]:(\d+)\z/
            address = Regexp.last_match(1)
            family = address.include?(":") ? "inet6" : "inet"
            "#{family}:#{port(Regexp.last_match(2), text)}@[#{address}]"
          when /\A\*(?:v4)?:(\d+)\z/
            # every address: connect through loopback
            "inet:#{port(Regexp.last_match(1), text)}@localhost"
          when /\A([A-Za-z0-9.\-]+):(\d+)\z/
            "inet:#{port(Regexp.last_match(2), text)}@#{Regexp.last_match(1)}"
          else
            raise ParseError, "socket #{text.inspect}: not unix:PATH, local:PATH, " \
                              "inet:PORT@HOST, inet:HOST:PORT, tcp:HOST:PORT or a path"
          end
        end

        # port - a decimal port within range
        def port(digits, text)
          value = digits.to_i
          if value < 1 || value > MAX_PORT
            raise ParseError, "socket #{text.inspect}: port must be from 1 to #{MAX_PORT}"
          end
          value
        end

        # host - a host name or a bracketed address; placeholders are not hosts
        def host(name, text)
          unless name.match?(/\A(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+)\z/)
            raise ParseError, "socket #{text.inspect}: bad host #{name.inspect}"
          end
          name
        end

        # unquote - drop one pair of surrounding quotes
        def unquote(text)
          if text.length >= 2 && ["\"", "'"].include?(text[0]) && text[-1] == text[0]
            text[1..-2]
          else
            text
          end
        end
      end
    end
  end
end
