# SPDX-License-Identifier: GPL-3.0-or-later
# detector-services.rb: how a milter's service is installed and enabled: systemd units
# (with drop-ins and environment files), System V init scripts with rc links, BSD rc.d.

module Milter
  module Manager
    module Detector
      # One installed service: where it was found, whether it starts at boot, the
      # variables its start command sees, the start command's words; EXEC_TEXT (systemd
      # only) is the unexpanded command line: a variable it does not mention is not used.
      Service = Struct.new(:name, :file, :enabled, :vars, :args, :description,
                           :command, :command_options, :var_files, :exec_text,
                           :exec_file, :origins, keyword_init: true)

      class Service
        # origin - the file that set variable NAME last
        def origin(name)
          (origins || {})[name] || var_files&.last || file
        end

        # uses? - whether the start command sees variable NAME
        def uses?(name)
          exec_text.nil? || exec_text.match?(/\$\{?#{Regexp.escape(name)}\b/)
        end
      end

      module Systemd
        MAIN_SECTION = "Service"

        module_function

        # find - the unit NAME.service in the first of DIRS that has it, with its drop-ins
        # and environment files; nil when not installed
        def find(context, name, dirs)
          fs = context.fs
          unit = "#{name}.service"
          file = dirs.map {|dir| File.join(dir, unit)}.find {|path| fs.exist?(path)}
          return nil if file.nil?
          masked = fs.readlink(file) == "/dev/null" ||
                   (fs.file?(file) && fs.read(file).strip.empty?)
          if masked
            return Service.new(name: name, file: file, enabled: false, vars: {}, args: [],
                               var_files: [])
          end
          values = {}
          exec_file = file
          ([file] + drop_ins(fs, unit, dirs)).each do |path|
            parse(fs.read(path), values)
            exec_file = path if values.delete(:exec_start_seen)
          end
          vars = {}
          var_files = []
          origins = {}
          Array(values["EnvironmentFile"]).each do |entry|
            optional = entry.start_with?("-")
            path = entry.delete_prefix("-")
            text = fs.read_if_exist(path)
            if text.nil?
              context.log.warning(file, "EnvironmentFile #{path} is missing") unless optional
              next
            end
            Shell.assign_from(text, vars, origins, path)
            var_files << path
          end
          Array(values["Environment"]).each do |entry|
            Shell.words(entry).each do |assignment|
              key, value = assignment.split("=", 2)
              next if value.nil?
              vars[key] = value
              origins[key] = exec_file
            end
          end
          exec_start = Array(values["ExecStart"]).last.to_s.sub(/\A[-@+!:]+/, "")
          args = Shell.words(Shell.expand(exec_start, vars))
          Service.new(name: name, file: file, enabled: enabled?(fs, unit), vars: vars,
                      args: args, description: Array(values["Description"]).last,
                      command: systemctl(fs), command_options: "start #{name}",
                      var_files: var_files, exec_text: exec_start, exec_file: exec_file,
                      origins: origins)
        end

        # drop_ins - UNIT.d/*.conf of every directory, a name in an earlier directory
        # hiding the same name in a later one, in the order systemd applies them
        def drop_ins(fs, unit, dirs)
          chosen = {}
          dirs.each do |dir|
            fs.glob(File.join(dir, "#{unit}.d", "*.conf")).each do |path|
              chosen[File.basename(path)] ||= path
            end
          end
          chosen.keys.sort.map {|key| chosen[key]}
        end

        # parse - the keys of [Unit] and [Service] of TEXT into VALUES (lists); an empty
        # assignment resets the list, as systemd does
        def parse(text, values)
          section = nil
          Shell.logical_lines(text, " ").each do |line|
            line = line.strip
            next if line.empty? || line.start_with?("#", ";")
            if (match = /\A\[(.+)\]\z/.match(line))
              section = match[1]
              next
            end
            next unless section == MAIN_SECTION || section == "Unit"
            key, value = line.split("=", 2)
            next if value.nil?
            key = key.strip
            value = value.strip
            values[:exec_start_seen] = true if key == "ExecStart"
            if value.empty?
              values[key] = []
            else
              (values[key] ||= []) << value
            end
          end
          values
        end

        # enabled? - a link in some *.wants or *.requires directory of /etc/systemd/system
        def enabled?(fs, unit)
          ["wants", "requires"].any? do |kind|
            !fs.glob("/etc/systemd/system/*.#{kind}/#{unit}").empty?
          end
        end

        # systemctl - the command that starts a unit
        def systemctl(fs)
          ["/usr/bin/systemctl", "/bin/systemctl"].find {|path| fs.exist?(path)} ||
            "/usr/bin/systemctl"
        end
      end

      module InitScript
        RUNLEVELS = (2..5).freeze

        module_function

        # find - the System V script NAME in SCRIPT_DIR, its variables file in VARS_DIR,
        # enabled by S links in RC_DIRS (patterns with %d) unless ENABLED says no
        def find(context, name, script_dir:, vars_dir:, rc_dirs:)
          fs = context.fs
          file = File.join(script_dir, name)
          return nil unless fs.file?(file)
          script = fs.read(file)
          vars = {}
          var_files = []
          origins = {}
          vars_file = File.join(vars_dir, name)
          text = fs.read_if_exist(vars_file)
          if text
            Shell.assign_from(text, vars, origins, vars_file)
            var_files << vars_file
          end
          enabled = linked?(fs, name, rc_dirs)
          enabled = false if Shell.true_value?(vars["ENABLED"]) == false
          Service.new(name: name, file: file, enabled: enabled, vars: vars, args: [],
                      description: description(script), command: file,
                      command_options: "start", var_files: var_files, origins: origins)
        end

        # linked? - a start link in some multi-user runlevel
        def linked?(fs, name, rc_dirs)
          rc_dirs.any? do |pattern|
            RUNLEVELS.any? do |level|
              dir = format(pattern, level)
              !fs.glob(File.join(dir, "S[0-9][0-9]#{name}")).empty?
            end
          end
        end

        # description - LSB Short-Description, else DESC=
        def description(script)
          script[/^#\s*Short-Description:\s*(.+)$/, 1]&.strip ||
            Shell.assignments(script.each_line.grep(/\ADESC=/).join)["DESC"]
        end
      end

      module RcScript
        RC_CONF_FILES = ["/etc/defaults/rc.conf", "/etc/rc.conf", "/etc/rc.conf.local"].freeze

        module_function

        # find - the rc.d script NAME in the first of DIRS that has it; its variables are
        # rc.conf's and rc.conf.d's, then the script's defaults (": ${x=...}")
        def find(context, name, dirs)
          fs = context.fs
          file = dirs.map {|dir| File.join(dir, name)}.find {|path| fs.file?(path)}
          return nil if file.nil?
          script = fs.read(file)
          plain = Shell.assignments(script.each_line.grep(/\A\s*(?:name|rcvar)=/).join)
          var_name = plain["name"] || name.tr("-", "_")
          vars = {}
          var_files = []
          origins = {}
          conf_files = RC_CONF_FILES + ["/etc/rc.conf.d/#{var_name}", "/etc/rc.conf.d/#{name}"]
          if file.start_with?("/usr/local/")
            conf_files << "/usr/local/etc/rc.conf.d/#{var_name}"
          end
          conf_files.uniq.each do |path|
            text = fs.read_if_exist(path)
            next if text.nil?
            Shell.assign_from(text, vars, origins, path)
            var_files << path
          end
          Shell.assign_from(script, vars, origins, file)
          rcvar = rc_var(plain["rcvar"], var_name)
          Service.new(name: var_name, file: file, enabled: Shell.true_value?(vars[rcvar]) == true,
                      vars: vars, args: [], description: nil, command: file,
                      command_options: "start", var_files: var_files, origins: origins)
        end

        # rc_var - the variable that enables the script: rcvar=, or NAME_enable
        def rc_var(value, var_name)
          return "#{var_name}_enable" if value.nil? || value.empty? || value.include?("set_rcvar")
          value
        end
      end
    end
  end
end
