# SPDX-License-Identifier: GPL-3.0-or-later
# detector-apps.rb: the sockets milters keep in their own configuration files
# (clamav-milter.conf, greylist.conf, opendkim.conf, opendmarc.conf, enma.conf, rspamd's).

require "io/wait"
require "json"

module Milter
  module Manager
    module Detector
      # What one application configuration file says.
      AppConfig = Struct.new(:spec, :disabled_reason, :extra_timeout, :file)

      module Apps
        # rspamadm configdump is given this long before it is killed.
        RSPAMADM_TIMEOUT = 10
        RSPAMADM_MAX_OUTPUT = 16 * 1024 * 1024
        RSPAMD_DEFAULT_BIND = "localhost:11332"
        TARPIT_UNITS = {"" => 1, "s" => 1, "m" => 60, "h" => 3600, "d" => 86_400,
                        "w" => 604_800}.freeze

        module_function

        # read - what FILE of KIND says, nil when FILE is not there
        def read(kind, file, context)
          return rspamd(file, context) if kind == :rspamd
          text = context.fs.read_if_exist(file)
          return nil if text.nil?
          config = AppConfig.new(nil, nil, 0, file)
          case kind
          when :clamav then clamav(text, config)
          when :greylist then greylist(text, config)
          when :key_value then key_value(text, config, "Socket")
          when :enma then enma(text, config)
          else raise ArgumentError, "unknown application configuration kind #{kind}"
          end
          config
        end

        # clamav - "MilterSocket VALUE"; an uncommented "Example" line stops clamav-milter
        def clamav(text, config)
          text.each_line do |line|
            line = line.strip
            next if line.empty? || line.start_with?("#")
            key, value = line.split(/\s+/, 2)
            case key
            when "Example"
              config.disabled_reason = "the \"Example\" line is not commented out"
            when "MilterSocket"
              config.spec ||= Spec.normalize(value.to_s.strip)
            end
          end
        end

        # greylist - socket "PATH" [MODE]; the longest tarpit delays replies that long
        def greylist(text, config)
          text.each_line do |line|
            line = line.sub(/#.*/, "").strip
            if (match = /\Asocket\s+"([^"]*)"/.match(line) || /\Asocket\s+(\S+)/.match(line))
              config.spec = Spec.normalize(match[1])
            end
            line.scan(/\btarpit\s+(\d+)([smhdw]?)\b/) do |number, unit|
              seconds = number.to_i * TARPIT_UNITS[unit]
              config.extra_timeout = seconds if seconds > config.extra_timeout
            end
          end
        end

        # key_value - opendkim.conf / opendmarc.conf: "KEY VALUE", keys case-insensitive;
        # the first one counts, as in those milters
        def key_value(text, config, key)
          text.each_line do |line|
            line = line.sub(/#.*/, "").strip
            name, value = line.split(/\s+/, 2)
            next unless name && value && name.casecmp?(key)
            config.spec = Spec.normalize(value.strip)
            break
          end
        end

        # enma - "milter.socket: VALUE"
        def enma(text, config)
          text.each_line do |line|
            line = line.sub(/#.*/, "").strip
            if (match = /\Amilter\.socket\s*:\s*(\S+)/.match(line))
              config.spec = Spec.normalize(match[1])
            end
          end
        end

        # rspamd - the proxy worker in milter mode: rspamadm configdump when the command
        # is there (only on the running system), else the worker files under DIRECTORY
        def rspamd(directory, context)
          config = rspamd_configdump(directory, context) if context.fs.real_root?
          config || rspamd_files(directory, context)
        end

        # rspamd_configdump - run "rspamadm configdump --json worker" with a time limit
        def rspamd_configdump(directory, context)
          command = ["/usr/bin/rspamadm", "/usr/local/bin/rspamadm"].find do |path|
            File.executable?(path)
          end
          return nil if command.nil?
          output = run_with_timeout([command, "configdump", "--json", "worker"], RSPAMADM_TIMEOUT)
          return nil if output.nil?
          workers = JSON.parse(output)
          proxy = find_proxy(workers)
          if proxy.nil?
            context.log.warning("#{command} configdump", "no rspamd_proxy worker")
            return nil
          end
          config = AppConfig.new(nil, nil, 0, "#{command} configdump")
          unless [true, "yes", "true"].include?(proxy["milter"])
            config.disabled_reason = "rspamd_proxy is not in milter mode"
          end
          bind = Array(proxy["bind_socket"]).first || RSPAMD_DEFAULT_BIND
          config.spec = Spec.normalize(bind.to_s.split.first.to_s)
          config
        rescue JSON::ParserError, ParseError, SystemCallError => error
          context.log.error("#{command} configdump", error.message)
          nil
        end

        # find_proxy - the rspamd_proxy worker's settings, wherever configdump nests them
        def find_proxy(node)
          case node
          when Hash
            return node["rspamd_proxy"] if node["rspamd_proxy"].is_a?(Hash)
            if node["type"] == "rspamd_proxy" || node["worker"] == "rspamd_proxy"
              return node
            end
            node.each_value do |value|
              found = find_proxy(value)
              return found if found
            end
          when Array
            node.each do |value|
              found = find_proxy(value)
              return found if found
            end
          end
          nil
        end

        # rspamd_files - worker-proxy.inc (milter mode) and the bind_socket of local.d,
        # override.d or rspamd.conf's worker "rspamd_proxy" block
        def rspamd_files(directory, context)
          fs = context.fs
          main = File.join(directory, "rspamd.conf")
          return nil unless fs.file?(main)
          config = AppConfig.new(nil, nil, 0, main)
          bind = nil
          milter = nil
          block = fs.read(main)[/worker\s+"rspamd_proxy"\s*\{(.*?)\}/m, 1]
          bind = ucl_value(block, "bind_socket") if block
          ["worker-proxy.inc", "local.d/worker-proxy.inc",
           "override.d/worker-proxy.inc"].each do |name|
            file = File.join(directory, name)
            text = fs.read_if_exist(file)
            next if text.nil?
            value = ucl_value(text, "bind_socket")
            if value
              bind = value
              config.file = file
            end
            flag = ucl_value(text, "milter")
            milter = Shell.true_value?(flag) unless flag.nil?
          end
          config.disabled_reason = "rspamd_proxy is not in milter mode" unless milter
          # "PATH mode=0660 owner=USER": the socket is the first word
          config.spec = Spec.normalize((bind || RSPAMD_DEFAULT_BIND).split.first.to_s)
          config
        end

        # ucl_value - the last top-level "KEY = VALUE;" of a UCL text
        def ucl_value(text, key)
          value = nil
          text.each_line do |line|
            line = line.sub(/#.*/, "").strip
            if (match = /\A#{Regexp.escape(key)}\s*[=:]\s*("[^"]*"|[^;\s]+)/.match(line))
              value = Spec.unquote(match[1])
            end
          end
          value
        end

        # run_with_timeout - the standard output of COMMAND, or nil when it fails or
        # runs longer than SECONDS (it is killed then)
        def run_with_timeout(command, seconds)
          output = +""
          IO.popen(command, err: File::NULL) do |io|
            deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
            loop do
              remaining = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
              if remaining <= 0 || output.bytesize > RSPAMADM_MAX_OUTPUT
                Process.kill("KILL", io.pid)
                return nil
              end
              next unless io.wait_readable(remaining)
              chunk = io.read_nonblock(65_536, exception: false)
              break if chunk.nil?
              output << chunk unless chunk == :wait_readable
            end
          end
          $?.success? ? output : nil
        end
      end
    end
  end
end
