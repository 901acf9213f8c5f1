# SPDX-License-Identifier: GPL-3.0-or-later
# policy.rb: define_policy(name) { |policy| ... }: which milters apply to which clients,
# senders and recipients, gathered into the one condition "Policy".

module Milter
  module Manager
    # One define_policy block: the targeted milters and a matcher (anything with ===) per
    # stage; a targeted milter is stopped at a stage whose matcher is set and misses.
    class Policy
      CONDITION_NAME = "Policy"

      attr_reader :name
      attr_accessor :host, :address, :fqdn, :from, :recipient

      def initialize(name)
        @name = name
        @milters = []
        @host = @address = @fqdn = @from = @recipient = nil
      end

      def milters
        @milters
      end

      def milters=(names)
        @milters = Array(names).map(&:to_s)
      end

      def target?(context)
        @milters.include?(context.name)
      end

      # stop_on_connect? - host and address: either may match
      def stop_on_connect?(context, host, address)
        return false unless target?(context)
        return false if @host.nil? && @address.nil?
        !((@host && Policy.match?(@host, host)) ||
          (@address && Policy.match_address?(@address, address)))
      end

      def stop_on?(matcher_name, context, value)
        return false unless target?(context)
        matcher = instance_variable_get("@#{matcher_name}")
        return false if matcher.nil?
        !Policy.match?(matcher, value)
      end

      def self.match?(matcher, value)
        if matcher.is_a?(String) && value.is_a?(String)
          bare = value.delete_prefix("<").delete_suffix(">")
          return matcher.casecmp?(value) || matcher.casecmp?(bare)
        end
        (matcher === value) ? true : false
      end

      # match_address? - an IPAddr network, a String or anything with === on the address
      def self.match_address?(matcher, address)
        if matcher.is_a?(IPAddr)
          ip = address.to_ip_address
          return !ip.nil? && matcher.family == ip.family && matcher.include?(ip)
        end
        (matcher === address) || match?(matcher, address.address.to_s)
      end
    end

    # The policies of one configuration and the condition that runs them.
    class PolicySet
      def initialize
        @policies = []
      end

      def <<(policy)
        @policies << policy
      end

      def empty?
        @policies.empty?
      end

      def targeted_milters
        @policies.flat_map(&:milters).uniq
      end

      # define_condition - "Policy", through LOADER's define_applicable_condition
      def define_condition(loader)
        policies = @policies
        loader.define_applicable_condition(Policy::CONDITION_NAME) do |condition|
          condition.description = "Apply policies defined by define_policy"
          condition.define_connect_stopper do |context, host, address|
            policies.any? {|policy| policy.stop_on_connect?(context, host, address)}
          end
          condition.define_helo_stopper do |context, fqdn|
            policies.any? {|policy| policy.stop_on?(:fqdn, context, fqdn)}
          end
          condition.define_envelope_from_stopper do |context, from|
            policies.any? {|policy| policy.stop_on?(:from, context, from)}
          end
          condition.define_envelope_recipient_stopper do |context, recipient|
            policies.any? {|policy| policy.stop_on?(:recipient, context, recipient)}
          end
        end
      end
    end
  end
end
