# SPDX-License-Identifier: GPL-3.0-or-later
# socket-address.rb: the SMTP client's address as connect stoppers see it:
# Milter::SocketAddress::IPv4, IPv6, Unix and Unknown, with local? for Remote Network.

require "ipaddr"

module Milter
  module SocketAddress
    # Networks 2.3 calls local: loopback, RFC 1918 and IPv6 loopback / link-local.
    LOCAL_IPV4_NETWORKS = ["127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12",
                           "192.168.0.0/16"].map {|cidr| IPAddr.new(cidr)}.freeze
    LOCAL_IPV6_NETWORKS = ["::1/128", "fe80::/10"].map {|cidr| IPAddr.new(cidr)}.freeze

    # range_of - [family, first, last] as integers: IPAddr#include? made of integer
    # comparisons (include? builds four IPAddr objects a call)
    def self.range_of(ip)
      range = ip.to_range
      [ip.family, range.begin.to_i, range.end.to_i].freeze
    end

    # range_include? - whether the range NETWORK ([family, first, last]) holds all of IP's
    def self.range_include?(network, ip)
      network[0] == ip[0] && network[1] <= ip[1] && ip[2] <= network[2]
    end

    LOCAL_IPV4_RANGES = LOCAL_IPV4_NETWORKS.map {|network| range_of(network)}.freeze
    LOCAL_IPV6_RANGES = LOCAL_IPV6_NETWORKS.map {|network| range_of(network)}.freeze

    module_function

    # build - the object for the connect arguments the proxy passed (family is one of
    # "4", "6", "L", "U" as in the milter protocol)
    def build(family, address, port)
      case family
      when "4" then IPv4.new(address, port)
      when "6" then IPv6.new(address, port)
      when "L" then Unix.new(address)
      else Unknown.new
      end
    end

    # Common to the two IP families.
    class IP
      attr_reader :address, :port

      def initialize(address, port)
        @address = address
        @port = port
        @ip_address = begin
                        IPAddr.new(address.to_s.delete_prefix("IPv6:"))
                      rescue IPAddr::Error
                        nil
                      end
        @ip_range = nil
        @local = nil
      end

      # to_ip_address - an IPAddr, or nil when the text was not an address
      def to_ip_address
        @ip_address
      end

      # ip_range - the address as [family, first, last] (see SocketAddress.range_of)
      def ip_range
        return nil if @ip_address.nil?
        @ip_range ||= SocketAddress.range_of(@ip_address)
      end

      # local? - on a network 2.3 treats as local; the address does not change, so the
      # answer is kept (a session's connect stoppers share one address)
      def local?
        return false if @ip_address.nil?
        return @local unless @local.nil?
        ip = ip_range
        @local = local_ranges.any? {|network| SocketAddress.range_include?(network, ip)}
      end

      def path
        nil
      end

      def ==(other)
        other.class == self.class && other.address == address && other.port == port
      end

      def to_s
        "#{address}:#{port}"
      end

      def inspect
        "#<#{self.class.name} #{self}>"
      end
    end

    class IPv4 < IP
      def local_networks
        LOCAL_IPV4_NETWORKS
      end

      def local_ranges
        LOCAL_IPV4_RANGES
      end
    end

    class IPv6 < IP
      def local_networks
        LOCAL_IPV6_NETWORKS
      end

      def local_ranges
        LOCAL_IPV6_RANGES
      end

      def to_s
        "[#{address}]:#{port}"
      end
    end

    # A UNIX domain socket client: always local.
    class Unix
      attr_reader :path

      def initialize(path)
        @path = path
      end

      def address
        @path
      end

      def port
        nil
      end

      def local?
        true
      end

      def to_ip_address
        nil
      end

      def ==(other)
        other.is_a?(Unix) && other.path == path
      end

      def to_s
        "unix:#{path}"
      end

      def inspect
        "#<#{self.class.name} #{self}>"
      end
    end

    # The MTA did not know the client's address.
    class Unknown
      def address
        nil
      end

      def port
        nil
      end

      def path
        nil
      end

      def local?
        false
      end

      def to_ip_address
        nil
      end

      def ==(other)
        other.is_a?(Unknown)
      end

      def to_s
        "unknown"
      end

      def inspect
        "#<#{self.class.name}>"
      end
    end
  end
end
