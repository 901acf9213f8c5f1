# SPDX-License-Identifier: GPL-3.0-or-later
# detector-platforms.rb: one detector per platform (Debian, Red Hat, FreeBSD, pkgsrc):
# find each candidate's service, then its socket in the order the service really uses.

module Milter
  module Manager
    module Detector
      class PlatformDetector
        def initialize(context)
          @context = context
          @fs = context.fs
          @log = context.log
        end

        # detect_all - every installed candidate; one candidate's failure is logged with
        # the file being read and does not stop the others
        def detect_all
          milters.flat_map do |candidate|
            @file = nil
            begin
              detect_candidate(candidate)
            rescue StandardError => error
              @log.error(@file || candidate.service, "#{error.message} (#{error.class})")
              []
            end
          end
        end

        private

        # build - a Found for CANDIDATE's SERVICE, or nil (logged) when no socket is known
        def build(candidate, service, name: candidate.service, explicit: nil)
          found = Found.new(name)
          found.description = candidate.description
          found.enabled = service.enabled ? true : false
          found.command = service.command
          found.command_options = service.command_options
          found.conditions = candidate.conditions
          explicit ||= service_socket(service)
          app = app_config(candidate)
          found.extra_timeout = app.extra_timeout if app
          app_source = app&.spec ? [app.spec, app.file] : nil
          sources = candidate.app_first ? [app_source, explicit] : [explicit, app_source]
          sources << default_socket(candidate, service)
          spec, file = sources.compact.first
          if spec.nil?
            @log.warning(service.file, "#{name}: no socket found; not defined")
            return nil
          end
          @file = file
          found.spec = Spec.normalize(spec)
          found.detected_from = file
          if app&.disabled_reason && found.enabled
            @log.info("#{name}: disabled: #{app.file}: #{app.disabled_reason}")
            found.enabled = false
          end
          found
        end

        # app_config - what the candidate's own configuration file says, or nil; a file
        # that cannot be parsed is logged and ignored
        def app_config(candidate)
          return nil if candidate.app.nil?
          kind, file = candidate.app
          file = app_file(file)
          @file = file
          Apps.read(kind, file, @context)
        rescue ParseError => error
          @log.error(file, error.message)
          nil
        end

        # app_file - where an application file is on this system (pkgsrc prefixes move it)
        def app_file(file)
          file
        end

        # default_socket - the package's default, attributed to the service file
        def default_socket(candidate, service)
          value = candidate.default
          value = value.call(@fs) if value.respond_to?(:call)
          value ? [value, service.file] : nil
        end

        # service_socket - [socket, file] from the service's start command and variables
        def service_socket(service)
          value = Shell.option(service.args, "-p")
          return [value, exec_origin(service)] if value && !value.empty?
          socket_variables(service).each do |name|
            next unless service.uses?(name)
            value = service.vars[name]
            return [value, service.origin(name)] if value && !value.strip.empty?
          end
          argument_variables(service).each do |name|
            next unless service.uses?(name)
            text = service.vars[name]
            next if text.nil? || text.empty?
            value = Shell.option(Shell.words(text), "-p")
            return [value, service.origin(name)] if value && !value.empty?
          end
          nil
        end

        # exec_origin - the file that gave ExecStart's -p: the variable's file when the
        # option is written as $VARIABLE and a file set it, else the unit or drop-in
        def exec_origin(service)
          raw = Shell.option(Shell.words(service.exec_text.to_s), "-p")
          Shell.variable_names(raw).each do |name|
            return service.origins[name] if service.origins&.key?(name)
          end
          service.exec_file || service.file
        end

        def socket_variables(_service)
          SOCKET_VARIABLES
        end

        def argument_variables(_service)
          ARGUMENT_VARIABLES
        end
      end

      # Debian and Ubuntu: systemd units first, else init.d scripts with /etc/default.
      class DebianDetector < PlatformDetector
        UNIT_DIRS = ["/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system",
                     "/usr/lib/systemd/system"].freeze

        private

        def milters
          DEBIAN_MILTERS
        end

        # detect_candidate - the unit, or the init script when there is no unit
        def detect_candidate(candidate)
          @file = candidate.service
          service = Systemd.find(@context, candidate.service, UNIT_DIRS) ||
                    InitScript.find(@context, candidate.service, script_dir: "/etc/init.d",
                                                                 vars_dir: "/etc/default",
                                                                 rc_dirs: ["/etc/rc%d.d"])
          return [] if service.nil?
          @file = service.file
          [build(candidate, service)].compact
        end
      end

      # Red Hat, CentOS, AlmaLinux: units under /usr/lib/systemd/system, else init scripts
      # with /etc/sysconfig and chkconfig's rc links.
      class RedHatDetector < PlatformDetector
        UNIT_DIRS = ["/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system",
                     "/lib/systemd/system"].freeze

        private

        def milters
          REDHAT_MILTERS
        end

        def detect_candidate(candidate)
          @file = candidate.service
          service = Systemd.find(@context, candidate.service, UNIT_DIRS)
          ["/etc/rc.d/init.d", "/etc/init.d"].each do |dir|
            service ||= InitScript.find(@context, candidate.service,
                                        script_dir: dir, vars_dir: "/etc/sysconfig",
                                        rc_dirs: ["/etc/rc.d/rc%d.d", "/etc/rc%d.d"])
          end
          return [] if service.nil?
          @file = service.file
          [build(candidate, service)].compact
        end
      end

      # FreeBSD: rc.d scripts, rc.conf, rc.conf.local, rc.conf.d; NAME_enable; OpenDKIM's
      # profiles become one milter each (milter-opendkim-PROFILE).
      class FreeBSDDetector < PlatformDetector
        private

        def milters
          FREEBSD_MILTERS
        end

        def rc_dirs
          ["/usr/local/etc/rc.d", "/etc/rc.d"]
        end

        def detect_candidate(candidate)
          @file = candidate.service
          service = RcScript.find(@context, candidate.service, rc_dirs)
          return [] if service.nil?
          @file = service.file
          profiles = service.vars["#{service.name}_profiles"].to_s.split
          return [build(candidate, service)].compact if profiles.empty?
          profiles.map {|profile| build_profile(candidate, service, profile)}.compact
        end

        # build_profile - one profile of a script that takes profiles
        def build_profile(candidate, service, profile)
          prefix = "#{service.name}_#{profile}"
          vars = service.vars
          enabled = vars["#{prefix}_enable"] || vars["#{service.name}_enable"]
          profiled = service.dup
          profiled.enabled = Shell.true_value?(enabled) == true
          profiled.command_options = "start #{profile}"
          socket = vars["#{prefix}_socket"]
          explicit = socket && !socket.empty? ? [socket, service.origin("#{prefix}_socket")] : nil
          build(candidate, profiled, name: "#{candidate.service}-#{profile}", explicit: explicit)
        end

        def socket_variables(service)
          RC_SOCKET_SUFFIXES.map {|suffix| "#{service.name}_#{suffix}"}
        end

        def argument_variables(service)
          RC_ARGUMENT_SUFFIXES.map {|suffix| "#{service.name}_#{suffix}"} + ["command_args"]
        end
      end

      # NetBSD and DragonFly pkgsrc: rc.d scripts under PREFIX/etc/rc.d (package.options
      # rcddir= or prefix=) or /etc/rc.d; the script's rcvar (its name) = YES.
      class PkgsrcDetector < FreeBSDDetector
        DEFAULT_PREFIX = "/usr/pkg"

        private

        def milters
          PKGSRC_MILTERS
        end

        def prefix
          @context.options["prefix"] || DEFAULT_PREFIX
        end

        def rc_dirs
          [@context.options["rcddir"], File.join(prefix, "etc/rc.d"), "/etc/rc.d"].compact.uniq
        end

        def app_file(file)
          file.sub(%r{\A#{Regexp.escape(DEFAULT_PREFIX)}/}, "#{prefix}/")
        end
      end

      PLATFORMS = {
        "debian" => DebianDetector,
        "ubuntu" => DebianDetector,
        "redhat" => RedHatDetector,
        "freebsd" => FreeBSDDetector,
        "pkgsrc" => PkgsrcDetector,
      }.freeze
    end
  end
end
