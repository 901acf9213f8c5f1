# SPDX-License-Identifier: GPL-3.0-or-later
# s25r.rb: the S25R (Selective SMTP Rejection) host name test behind the "S25R" condition,
# with the whitelist, blacklist and only_check_ipv4 tunables (s25r.add_whitelist ...).

module Milter
  module Manager
    class S25R
      # Reverse names that look like dynamic (end-user) addresses: the six S25R rules and
      # the generic dhcp/dialup/ppp/dsl names.
      DYNAMIC_PATTERNS = [
        /\A[^.]*\d[^\d.]+\d/,
        /\A[^.]*\d{5}/,
        /\A(?:[^.]+\.)?\d[^.]*\.[^.]+\..+\.[a-z]/i,
        /\A[^.]*\d\.[^.]*\d-\d/,
        /\A[^.]*\d\.[^.]*\d\.[^.]+\..+\./,
        /\A(?:dhcp|dialup|ppp|[achrsvx]?dsl)[^.]*\d/i,
      ].freeze

      # Large senders whose outgoing hosts look dynamic but are not.
      DEFAULT_WHITELIST = [".google.com", ".obsmtp.com", ".smtp-out.amazonses.com",
                           ".slack.com", ".mg.gitlab.com", ".sendgrid.net"].freeze

      # Lowered String matchers kept (lists changed at run time cannot grow it forever).
      MAX_LOWERED_MATCHERS = 1024
      DOT = ".".freeze

      attr_accessor :only_check_ipv4
      attr_reader :whitelist, :blacklist

      def initialize
        @whitelist = DEFAULT_WHITELIST.dup
        @blacklist = []
        @only_check_ipv4 = true
        @lowered = {}
      end

      # check_only_ipv4= - the name 2.3's documentation uses
      alias check_only_ipv4= only_check_ipv4=

      # add_whitelist - a String (".example.com" matches the domain's hosts, other
      # strings the whole name), a Regexp, or a block given the host name
      def add_whitelist(matcher = nil, &block)
        @whitelist << S25R.checked_matcher("s25r.add_whitelist", matcher, block)
      end

      # add_blacklist - hosts to treat as dynamic, with the same matchers
      def add_blacklist(matcher = nil, &block)
        @blacklist << S25R.checked_matcher("s25r.add_blacklist", matcher, block)
      end

      # dynamic? - whether the condition applies to a client HOST at ADDRESS: a dynamic
      # looking (or blacklisted) name that no whitelist entry matches
      def dynamic?(host, address)
        return false if @only_check_ipv4 && !address.is_a?(SocketAddress::IPv4)
        host = host.to_s
        name = nil
        @whitelist.each do |matcher|
          return false if matcher.is_a?(String) ? lowered_match?(matcher, name ||= host.downcase)
                                                : S25R.match?(matcher, host)
        end
        @blacklist.each do |matcher|
          return true if matcher.is_a?(String) ? lowered_match?(matcher, name ||= host.downcase)
                                               : S25R.match?(matcher, host)
        end
        # No PTR record: the MTA says "unknown" or the bracketed address.
        return true if host == "unknown" || host.start_with?("[")
        DYNAMIC_PATTERNS.any? {|pattern| pattern.match?(host)}
      end

      # lowered_match? - match? for a String MATCHER and the lowered host NAME; the lowered
      # matchers are kept by their text (no String a call per list entry)
      def lowered_match?(matcher, name)
        wanted = @lowered[matcher]
        if wanted.nil?
          @lowered.clear if @lowered.size >= MAX_LOWERED_MATCHERS
          wanted = @lowered[matcher] = matcher.downcase.freeze
        end
        wanted.start_with?(DOT) ? name.end_with?(wanted) : name == wanted
      end
      private :lowered_match?

      # checked_matcher - MATCHER or BLOCK, refused when neither or both
      def self.checked_matcher(what, matcher, block)
        if matcher.nil? == block.nil?
          raise InvalidValue, "#{what} needs a String, a Regexp or a block"
        end
        block || matcher
      end

      # match? - MATCHER against HOST, case-insensitively for strings
      def self.match?(matcher, host)
        case matcher
        when String
          wanted = matcher.downcase
          name = host.downcase
          wanted.start_with?(".") ? name.end_with?(wanted) : name == wanted
        when Proc
          matcher.call(host) ? true : false
        else
          (matcher === host) ? true : false
        end
      end
    end
  end
end
