# SPDX-License-Identifier: GPL-3.0-or-later
# applicable-engine.rb: runs the applicable conditions of a loaded configuration for the
# daemon (stopper stages per milter, one stop decision, logs), and the DSL helpers of the
# shipped conditions (s25r, remote_network, stress, trust, dnsbl, define_policy, ...).

# Only conditions at connect need it, and it loads IPAddr and socket (0.7 MB resident).
module Milter; autoload :SocketAddress, "milter/manager/socket-address"; end
require "milter/manager/child-context"
require "milter/manager/s25r"
require "milter/manager/applicable-settings"
require "milter/manager/policy"

module Milter
  module Manager
    # Where the engine's log lines go; the daemon replaces emit and enabled? with its log.
    module ApplicableLog
      @lines = []

      class << self
        attr_reader :lines

        def emit(level, message)
          @lines << [level, message]
          @lines.shift while @lines.size > 1000
        end

        def enabled?(_level)
          true
        end
      end
    end

    # The configuration's tunables of the shipped conditions.
    class ApplicableSettings
      attr_reader :s25r, :remote_network, :stress, :trust, :dnsbl, :policies

      def initialize
        @s25r = S25R.new
        @remote_network = RemoteNetwork.new
        @stress = Stress.new
        @trust = Trust.new
        @dnsbl = Dnsbl.new
        @policies = PolicySet.new
      end
    end

    class Configuration
      # applicable_settings - made on first use, one per load
      def applicable_settings
        @applicable_settings ||= ApplicableSettings.new
      end
    end

    class ApplicableCondition
      # dnsbl - whether the stoppers read DNSBL answers (context.dnsbl_listed?)
      attr_accessor :dnsbl
    end

    class ApplicableConditionLoader
      # use_dnsbl - look the client up in the dnsbl services at CONNECT before running the
      # connect stoppers of this condition
      def use_dnsbl
        @condition.dnsbl = true
        nil
      end
    end

    class ConfigurationLoader
      def s25r
        @configuration.applicable_settings.s25r
      end

      def remote_network
        @configuration.applicable_settings.remote_network
      end

      def stress
        @configuration.applicable_settings.stress
      end

      def trust
        @configuration.applicable_settings.trust
      end

      def dnsbl
        @configuration.applicable_settings.dnsbl
      end

      # define_policy - a policy for some milters; see policy.rb
      def define_policy(name)
        name = Types.check_string("define_policy name", name, nullable: false)
        raise InvalidValue, "define_policy(#{name.inspect}) needs a block" unless block_given?
        policies = @configuration.applicable_settings.policies
        policies.define_condition(self) if policies.empty?
        policy = Policy.new(name)
        yield(policy)
        policies << policy
        nil
      end

      # apply_policies - give "Policy" to the milters the policies target; run once the
      # whole configuration is loaded, as milters may be defined after their policy
      def apply_policies
        policies = @configuration.applicable_settings.policies
        return if policies.empty?
        policies.targeted_milters.each do |name|
          next unless @configuration.eggs.key?(name)
          define_milter(name) do |milter|
            milter.add_applicable_condition(Policy::CONDITION_NAME)
          end
        end
      end

      # restrict_accounts_generic - a condition applying MILTERS (default: all defined
      # now) only to messages whose every recipient the block accepts
      def restrict_accounts_generic(options = {}, &accept)
        raise InvalidValue, "restrict_accounts_generic needs a block" unless accept
        condition_name = options[:condition_name] || "Restrict Accounts"
        milters = options[:milters] || defined_milters
        key = "restrict-accounts: #{condition_name}"
        define_applicable_condition(condition_name) do |condition|
          condition.description = "Restrict milters to specified accounts"
          condition.define_envelope_recipient_stopper do |context, recipient|
            next false if accept.call(context, recipient)
            context.mail_transaction_shelf[key] = true
            true
          end
          condition.define_data_stopper do |context|
            context.mail_transaction_shelf[key] ? true : false
          end
        end
        Array(milters).each do |name|
          define_milter(name) do |milter|
            milter.add_applicable_condition(condition_name)
          end
        end
        condition_name
      end

      # restrict_accounts_by_list - restrict_accounts_generic for accounts given as
      # strings (the whole address, case ignored) or anything with ===
      def restrict_accounts_by_list(*accounts, **options)
        # 2.3 files may pass the options as a braced Hash, which Ruby 3 keeps positional.
        options = accounts.pop.merge(options) if accounts.last.is_a?(Hash)
        options[:condition_name] ||= "Restrict Accounts by List: #{accounts.inspect}"
        restrict_accounts_generic(options) do |_context, recipient|
          address = recipient.to_s.strip.delete_prefix("<").delete_suffix(">")
          accounts.any? do |account|
            account.is_a?(String) ? account.casecmp?(address) : (account === address)
          end
        end
      end
    end

    # The engine of one loaded configuration.
    class ApplicableEngine
      STAGES = ApplicableCondition::STAGES
      # "envelope-from", ... as the log lines name the stages
      STAGE_LABELS = STAGES.to_h {|stage| [stage, stage.to_s.tr("_", "-").freeze]}.freeze
      NO_PLAN = [].freeze
      # A stopper running longer than this blocks every session: it is logged.
      SLOW_STOPPER_SECONDS = 1.0

      def initialize(configuration)
        @settings = configuration.applicable_settings
        @milters = {}
        configuration.eggs.each_value do |egg|
          @milters[egg.name] = egg.conditions.map do |name, _location|
            configuration.conditions[name]
          end.compact
        end
        # What stop runs, worked out once: per milter, per stage index, the conditions
        # with stoppers there as [condition, stoppers, "<name>" "at stage" log parts].
        @plans = @milters.transform_values do |conditions|
          STAGES.map do |stage|
            conditions.reject {|condition| condition.stoppers[stage].empty?}.map do |condition|
              [condition, condition.stoppers[stage],
               "<#{condition.name}> at #{STAGE_LABELS[stage]}".freeze]
            end.freeze
          end.freeze
        end
      end

      def milter_names
        @milters.keys
      end

      # stopper_stages - bit (1 << stage index) set for each stage MILTER has stoppers at
      def stopper_stages(milter)
        mask = 0
        (@milters[milter] || []).each do |condition|
          STAGES.each_with_index do |stage, index|
            mask |= 1 << index unless condition.stoppers[stage].empty?
          end
        end
        mask
      end

      def dnsbl_milter?(milter)
        (@milters[milter] || []).any?(&:dnsbl)
      end

      def dnsbl_services
        @settings.dnsbl.services.map(&:first)
      end

      def dnsbl_name_servers
        @settings.dnsbl.name_servers
      end

      def dnsbl_timeout
        @settings.dnsbl.timeout
      end

      def session_begin(session)
        ApplicableSession.new(session)
      end

      # dnsbl_answered - the addresses each service answered ({domain => [address]})
      def dnsbl_answered(applicable_session, answers)
        applicable_session.dnsbl_results = @settings.dnsbl.listed(answers)
        nil
      end

      def transaction_end(applicable_session)
        applicable_session.transaction_end
        nil
      end

      # stop - whether some condition of MILTER stops it at stage STAGE_INDEX; ARGUMENTS
      # are the stage's (connect: host, family, address, port)
      def stop(applicable_session, milter, stage_index, *arguments)
        stage = STAGES.fetch(stage_index)
        plans = @plans[milter]
        plan = plans ? plans[stage_index] : NO_PLAN
        return false if plan.empty?
        context = applicable_session.context(milter)
        arguments = stopper_arguments(applicable_session, stage, arguments)
        # Asked once a call, and the lines made only when they are written.
        debug = ApplicableLog.enabled?(:debug)
        # One clock reading a stopper: each one's end is the next one's start.
        started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        plan.each do |condition, stoppers, label|
          stoppers.each do |stopper|
            stopped = run_stopper(condition, stopper, milter, stage, context, arguments)
            finished = Process.clock_gettime(Process::CLOCK_MONOTONIC)
            if finished - started > SLOW_STOPPER_SECONDS
              log_slow(condition, stopper, milter, stage, finished - started)
            end
            started = finished
            next unless stopped
            ApplicableLog.emit(:debug, "[applicable-condition][stop] <#{milter}> stopped by " \
                                       "#{label}") if debug
            return true
          end
          ApplicableLog.emit(:debug, "[applicable-condition][apply] <#{milter}> allowed by " \
                                     "#{label}") if debug
        end
        false
      end

      private

      def stopper_arguments(applicable_session, stage, arguments)
        case stage
        when :connect
          host, family, address, port = arguments
          [host, applicable_session.socket_address(family, address, port)]
        when :data, :end_of_header, :end_of_message
          NO_PLAN
        else
          arguments
        end
      end

      def stage_label(stage)
        STAGE_LABELS[stage]
      end

      def log(level, message)
        ApplicableLog.emit(level, message) if ApplicableLog.enabled?(level)
      end

      # run_stopper - the stopper's answer; one that raises does not stop
      def run_stopper(condition, stopper, milter, stage, context, arguments)
        # Spelled out: a splat would copy the arguments a call.
        stopped = case arguments.size
                  when 0 then stopper.call(context)
                  when 1 then stopper.call(context, arguments[0])
                  when 2 then stopper.call(context, arguments[0], arguments[1])
                  else stopper.call(context, *arguments)
                  end
        stopped ? true : false
      rescue Exception => error # rubocop:disable Lint/RescueException
        raise if error.is_a?(NoMemoryError) || error.is_a?(SystemExit)
        log(:error, "[applicable-condition][error] <#{condition.name}> " \
                    "#{stage_label(stage)} stopper of <#{milter}> raised " \
                    "at #{error_location(stopper, error)}: " \
                    "#{error.message} (#{error.class}); the milter applies")
        false
      end

      # log_slow - a stopper ran ELAPSED seconds, blocking every session meanwhile
      def log_slow(condition, stopper, milter, stage, elapsed)
        file, line = stopper.source_location
        log(:warning, "[applicable-condition][slow] <#{condition.name}> " \
                      "#{stage_label(stage)} stopper (#{file}:#{line}) of <#{milter}> " \
                      "took #{format('%.2f', elapsed)}s; stoppers block every session")
      end

      # error_location - the line of the stopper's file that raised, else the stopper's
      def error_location(stopper, error)
        file, line = stopper.source_location
        frame = (error.backtrace_locations || []).find {|location| location.path == file}
        frame ? "#{frame.path}:#{frame.lineno}" : "#{file}:#{line}"
      end
    end
  end
end
