# SPDX-License-Identifier: GPL-3.0-or-later
# child-context.rb: what a stopper's context argument is: one child milter as seen from one
# MTA session (macros, its last status, its siblings), and the per-session state behind it.

module Milter
  module Manager
    # The state of one MTA session for the conditions: a context per child and the DNSBL
    # answers. SESSION is the daemon's view of the MTA session (the C engine passes an
    # object usable only while a stopper runs; tests pass a plain Ruby object).
    class ApplicableSession
      attr_reader :session
      attr_accessor :dnsbl_results

      def initialize(session)
        @session = session
        @contexts = {}
        @dnsbl_results = nil
        @socket_address = nil
      end

      # socket_address - the connect stoppers' address object, made once for the children
      # of the session (the MTA gives every child the same client)
      def socket_address(family, address, port)
        known = @socket_address
        if known.nil? || known[0] != family || known[1] != address || known[2] != port
          known = @socket_address = [family, address, port,
                                     SocketAddress.build(family, address, port)]
        end
        known[3]
      end

      # context - the context of the child NAME, made on first use
      def context(name)
        @contexts[name] ||= ChildContext.new(self, name)
      end

      # transaction_end - forget every child's mail_transaction_shelf
      def transaction_end
        @contexts.each_value(&:clear_mail_transaction_shelf)
      end
    end

    # The siblings of a context: children["clamav-milter"].
    class ChildContexts
      def initialize(session)
        @session = session
      end

      def [](name)
        @session.context(name.to_s)
      end
    end

    class ChildContext
      # Frozen: the literals would make Strings on every macro lookup.
      OPEN_BRACE = "{".freeze
      CLOSE_BRACE = "}".freeze
      MACRO_V = "v".freeze
      POSTFIX = "Postfix".freeze
      MACRO_AUTH_TYPE = "auth_type".freeze
      MACRO_AUTH_AUTHEN = "auth_authen".freeze

      attr_reader :name

      def initialize(applicable_session, name)
        @applicable_session = applicable_session
        @name = name
        # Both made on first use: most stoppers never set a macro or shelve anything.
        @set_macros = nil
        @mail_transaction_shelf = nil
      end

      def inspect
        "#<#{self.class.name} #{@name}>"
      end

      # [] - a macro the MTA sent, or one a condition set for this child; "{name}" or "name"
      def [](macro)
        name = ChildContext.normalize_macro(macro)
        set_macros = @set_macros
        return set_macros[name] if set_macros&.key?(name)
        session.lookup_macro(name)
      end

      # []= - send this child NAME=VALUE with its next commands
      def []=(macro, value)
        name = ChildContext.normalize_macro(macro)
        value = value.to_s
        session.set_macro(@name, name, value)
        (@set_macros ||= {})[name] = value
      end

      # normalize_macro - the name without braces: "{auth_type}" and "auth_type" are one
      def self.normalize_macro(macro)
        name = macro.to_s
        name = name[1..-2] if name.start_with?(OPEN_BRACE) && name.end_with?(CLOSE_BRACE)
        name
      end

      # status - the child's last answer in this session ("accept", ... or "not-changed")
      def status
        session.child_status(@name)
      end

      def reject?
        status == "reject"
      end

      def temporary_failure?
        status == "temporary-failure"
      end

      def accept?
        status == "accept"
      end

      def discard?
        status == "discard"
      end

      def quitted?
        session.child_quitted?(@name)
      end

      # children - the other children of this MTA session, by name
      def children
        ChildContexts.new(@applicable_session)
      end

      def n_processing_sessions
        session.n_processing_sessions
      end

      # postfix? - the MTA says it is Postfix in macro v
      def postfix?
        self[MACRO_V].to_s.include?(POSTFIX)
      end

      # authenticated? - the client used SMTP AUTH
      def authenticated?
        !(self[MACRO_AUTH_TYPE].to_s.empty? && self[MACRO_AUTH_AUTHEN].to_s.empty?)
      end

      # mail_transaction_shelf - a Hash kept until the end of the message
      def mail_transaction_shelf
        @mail_transaction_shelf ||= {}
      end

      def clear_mail_transaction_shelf
        @mail_transaction_shelf&.clear
      end

      # dnsbl_results - {service => [addresses]} from the lookups made at CONNECT (nil:
      # none made, e.g. not IPv4)
      def dnsbl_results
        @applicable_session.dnsbl_results
      end

      # dnsbl_listed? - whether SERVICE (default any) listed the client with an expected
      # answer
      def dnsbl_listed?(service = nil)
        results = dnsbl_results
        return false if results.nil?
        results.any? do |domain, listed|
          (service.nil? || domain == service) && listed
        end
      end

      private

      def session
        @applicable_session.session
      end
    end
  end
end
