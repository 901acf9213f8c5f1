# SPDX-License-Identifier: GPL-3.0-or-later
# applicable-settings.rb: the tunables of the shipped conditions other than S25R, one object
# per configuration: remote_network, stress, trust and dnsbl.

autoload :IPAddr, "ipaddr" # with socket 0.7 MB resident: loaded for address settings only

module Milter
  module Manager
    # remote_network.add_local_address / add_remote_address ("Remote Network").
    class RemoteNetwork
      attr_reader :local_addresses, :remote_addresses

      def initialize
        @local_addresses = []
        @remote_addresses = []
        @ranges = nil
      end

      def add_local_address(address)
        @local_addresses << RemoteNetwork.network("remote_network.add_local_address", address)
      end

      def add_remote_address(address)
        @remote_addresses << RemoteNetwork.network("remote_network.add_remote_address", address)
      end

      # remote? - a client the condition applies to: an IP address not on a local network
      # (remote addresses win over local ones); UNIX clients are local, unknown ones not
      # applied
      def remote?(address)
        ip = address.to_ip_address
        return false if ip.nil?
        remote, local = ranges
        unless remote.empty? && local.empty?
          range = address.is_a?(SocketAddress::IP) ? address.ip_range : SocketAddress.range_of(ip)
          return true if remote.any? {|network| SocketAddress.range_include?(network, range)}
          return false if local.any? {|network| SocketAddress.range_include?(network, range)}
        end
        !address.local?
      end

      def self.network(what, address)
        IPAddr.new(address.to_s)
      rescue IPAddr::Error, ArgumentError => error
        raise InvalidValue, "invalid #{what} #{address.inspect}: #{error.message}"
      end

      def self.include?(network, ip)
        network.family == ip.family && network.include?(ip)
      end

      private

      # ranges - the remote and local networks as integer ranges, made again only when
      # the lists changed (add_*, or the arrays themselves: they are readable)
      def ranges
        known = @ranges
        if known && RemoteNetwork.same?(known[0], @remote_addresses) &&
           RemoteNetwork.same?(known[1], @local_addresses)
          return known[2]
        end
        lists = [@remote_addresses, @local_addresses]
        compiled = lists.map {|list| list.map {|network| SocketAddress.range_of(network)}}
        @ranges = [@remote_addresses.dup, @local_addresses.dup, compiled]
        compiled
      end

      # same? - whether the arrays hold the very same objects in the same order
      def self.same?(a, b)
        return false unless a.size == b.size
        a.each_with_index do |item, i|
          return false unless item.equal?(b[i])
        end
        true
      end
    end

    # stress.threshold_n_connections: when a session counts as "stressed".
    class Stress
      DEFAULT_POSTFIX_PROCESS_LIMIT = 100
      POSTCONF_TIMEOUT_SECONDS = 5

      attr_accessor :root_directory, :postconf_command

      def initialize
        @threshold_n_connections = nil
        @root_directory = "/"
        @postconf_command = "postconf"
      end

      # threshold_n_connections= - sessions in progress from which the MTA is stressed;
      # 0 disables, nil detects it again from Postfix
      def threshold_n_connections=(value)
        @threshold_n_connections =
          value.nil? ? nil : Types.check_uint("stress.threshold_n_connections", value)
      end

      # threshold_n_connections - the setting, else Postfix's smtpd process limit, else 0
      def threshold_n_connections
        @threshold_n_connections ||= detect_threshold
      end

      # stressed? - whether CONTEXT's process runs as many sessions as the threshold
      def stressed?(context)
        threshold = threshold_n_connections
        threshold.positive? && context.n_processing_sessions >= threshold
      end

      private

      def postfix_directory
        File.join(@root_directory, "etc", "postfix")
      end

      # detect_threshold - maxproc of the smtp inet service in master.cf; "-" means
      # default_process_limit; no master.cf (not Postfix) means 0
      def detect_threshold
        master_cf = File.join(postfix_directory, "master.cf")
        return 0 unless File.file?(master_cf)
        File.foreach(master_cf) do |line|
          fields = line.split
          next unless fields[0] == "smtp" && fields[1] == "inet"
          maxproc = fields[6]
          return Integer(maxproc, 10) if maxproc&.match?(/\A\d+\z/)
          return default_process_limit
        end
        0
      rescue SystemCallError
        0
      end

      # default_process_limit - "postconf -h default_process_limit", else main.cf's line,
      # else Postfix's default
      def default_process_limit
        value = postconf_value("default_process_limit") || main_cf_value("default_process_limit")
        return Integer(value, 10) if value&.match?(/\A\d+\z/)
        DEFAULT_POSTFIX_PROCESS_LIMIT
      end

      # postconf_value - postconf's answer, nil when it cannot tell in time. No IO.popen
      # or Process.wait: they sleep until Ruby's SIGCHLD handler runs, and this must not
      # depend on which process (master, worker, launcher) runs it.
      def postconf_value(name)
        reader, writer = IO.pipe
        pid = Process.spawn(@postconf_command, "-c", postfix_directory, "-h", name,
                            out: writer, err: File::NULL, in: File::NULL)
        writer.close
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + POSTCONF_TIMEOUT_SECONDS
        output = +""
        loop do
          remaining = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
          break if remaining <= 0 || !reader.wait_readable(remaining)
          chunk = reader.read_nonblock(4096, exception: false)
          break if chunk.nil?
          output << chunk if chunk.is_a?(String)
        end
        status = reap(pid, deadline)
        status&.success? ? output.strip : nil
      rescue SystemCallError
        nil
      ensure
        reader&.close
        writer&.close unless writer&.closed?
      end

      # reap - the exit status of PID by polling (see postconf_value); killed at DEADLINE
      def reap(pid, deadline)
        loop do
          _, status = Process.waitpid2(pid, Process::WNOHANG)
          return status if status
          if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
            Process.kill(:KILL, pid)
            deadline = Float::INFINITY
          end
          sleep(0.005)
        end
      end

      def main_cf_value(name)
        File.foreach(File.join(postfix_directory, "main.cf")) do |line|
          key, value = line.split("=", 2).map(&:strip)
          return value if key == name
        end
        nil
      rescue SystemCallError
        nil
      end
    end

    # trust.add_envelope_from_domain ... ("Trust").
    class Trust
      DEFAULT_DOMAINS = ["gmail.com", "hotmail.com", "msn.com", "yahoo.co.jp",
                         "softbank.ne.jp", "ezweb.ne.jp", "docomo.ne.jp",
                         "clear-code.com"].freeze

      # Frozen: the literals would make a String each trusted? call.
      AT = "@".freeze
      CLOSE_BRACKET = ">".freeze

      attr_reader :envelope_from_domains

      def initialize
        @envelope_from_domains = DEFAULT_DOMAINS.dup
      end

      def add_envelope_from_domain(domain)
        unless domain.is_a?(Regexp)
          domain = Types.check_string("trust.add_envelope_from_domain", domain,
                                      nullable: false).downcase
        end
        @envelope_from_domains << domain
      end

      def clear
        @envelope_from_domains.clear
      end

      # load_envelope_from_domains - a file of domains, one a line, or /regexp/; "#"
      # starts a comment
      def load_envelope_from_domains(path)
        File.foreach(path.to_s) do |line|
          line = line.sub(/#.*/, "").strip
          next if line.empty?
          if line.start_with?("/") && line.end_with?("/") && line.size > 1
            add_envelope_from_domain(Regexp.new(line[1..-2], Regexp::IGNORECASE))
          else
            add_envelope_from_domain(line)
          end
        end
      end

      # trusted? - whether the envelope-from FROM ("<user@domain>") has a listed domain
      def trusted?(from)
        # What follows the first "@" of the address without its "<" ">".
        address = from.to_s.strip
        at = address.index(AT)
        return false if at.nil?
        domain = address[at + 1, address.length].delete_suffix(CLOSE_BRACKET)
        return false if domain.empty?
        domain = domain.downcase
        @envelope_from_domains.any? do |matcher|
          matcher.is_a?(Regexp) ? matcher.match?(domain) : matcher == domain
        end
      end
    end

    # dnsbl.add_service / name_servers / timeout ("DNSBL Listed", "Not DNSBL Listed"). The
    # queries run in the daemon's event loop, at CONNECT, for IPv4 clients.
    class Dnsbl
      DEFAULT_SERVICES = [
        ["zen.spamhaus.org", ["127.0.0.10", "127.0.0.11"]],
        ["dnsbl.sorbs.net", ["127.0.0.10"]],
        ["bl.spamcop.net", ["127.0.0.2"]],
        ["b.barracudacentral.org", ["127.0.0.2"]],
      ].freeze
      DEFAULT_TIMEOUT_SECONDS = 5.0
      MAX_TIMEOUT_SECONDS = 60.0

      attr_reader :services, :name_servers, :timeout

      def initialize
        @services = DEFAULT_SERVICES.map {|domain, expected| [domain, expected.dup]}
        @name_servers = []
        @timeout = DEFAULT_TIMEOUT_SECONDS
      end

      # add_service - query DOMAIN too; EXPECTED (an address or a list) are the answers
      # that mean "listed", nil any answer
      def add_service(domain, expected = nil)
        domain = Types.check_string("dnsbl.add_service", domain, nullable: false)
        expected = Array(expected).map {|address| address.to_s}
        @services.reject! {|known, _| known == domain}
        @services << [domain, expected]
      end

      def clear_services
        @services.clear
      end

      # name_servers= - "address" or "address:port" (IPv4); empty: those of resolv.conf
      def name_servers=(servers)
        @name_servers = Array(servers).map do |server|
          Types.check_string("dnsbl.name_servers", server, nullable: false)
        end
      end

      def name_server=(server)
        self.name_servers = [server]
      end

      def timeout=(seconds)
        unless seconds.is_a?(Numeric) && seconds.positive? && seconds <= MAX_TIMEOUT_SECONDS
          Types.invalid("dnsbl.timeout", seconds,
                        "must be a number of seconds above 0 up to #{MAX_TIMEOUT_SECONDS}")
        end
        @timeout = seconds.to_f
      end

      # listed - {domain => listed?} from ANSWERS {domain => [addresses]}
      def listed(answers)
        @services.to_h do |domain, expected|
          addresses = answers[domain] || []
          listed = if expected.empty?
                     !addresses.empty?
                   else
                     addresses.any? {|address| expected.include?(address)}
                   end
          [domain, listed]
        end
      end
    end
  end
end
