# SPDX-License-Identifier: GPL-3.0-or-later
# settings.rb: the table of every setting (key, kind, validation), in --show-config order;
# the C side supplies the defaults of the keys it knows, so they live in one place.

module Milter
  module Manager
    # One setting: KIND decides how --show-config writes the value; C is false for the
    # items the daemon does not read (database.*), which default to nil here.
    Item = Struct.new(:key, :kind, :check, :c) do
      # name - the key without its section
      def name
        key.split(".", 2).last
      end

      # section - the part before the dot
      def section
        key.split(".", 2).first
      end
    end

    module Settings
      T = Types

      # item - a setting with its checker
      def self.item(key, kind, c: true, &check)
        Item.new(key, kind, check, c).freeze
      end

      string = ->(key, value) {T.check_string(key, value)}
      boolean = ->(key, value) {T.check_boolean(key, value)}
      uint = ->(key, value) {T.check_uint(key, value)}
      uint_or_nil = ->(key, value) {T.check_uint(key, value, nil_value: 0)}
      mode = ->(key, value) {T.check_mode(key, value)}
      spec = ->(key, value) {T.check_spec(key, value)}
      status = ->(key, value) {T.check_status(key, value)}
      any = ->(key, value) do
        case value
        when nil, Integer then value
        else T.check_string(key, value)
        end
      end

      ITEMS = [
        item("package.platform", :string, &string),
        item("package.options", :string) {|k, v| T.check_package_options(k, v)},

        item("security.privilege_mode", :boolean, &boolean),
        item("security.effective_user", :string, &string),
        item("security.effective_group", :string, &string),

        item("log.level", :string) {|k, v| T.check_log_level(k, v)},
        item("log.path", :string, &string),
        item("log.use_syslog", :boolean, &boolean),
        item("log.syslog_facility", :string) do |k, v|
          T.check_choice(k, v, T::SYSLOG_FACILITIES)
        end,

        item("manager.connection_spec", :string, &spec),
        item("manager.unix_socket_mode", :mode, &mode),
        item("manager.unix_socket_group", :string, &string),
        item("manager.remove_unix_socket_on_create", :boolean, &boolean),
        item("manager.remove_unix_socket_on_close", :boolean, &boolean),
        item("manager.daemon", :boolean, &boolean),
        item("manager.pid_file", :string, &string),
        item("manager.maintenance_interval", :zero_is_nil, &uint_or_nil),
        item("manager.suspend_time_on_unacceptable", :integer, &uint),
        item("manager.max_connections", :integer, &uint),
        item("manager.max_file_descriptors", :integer, &uint),
        item("manager.max_pending_finished_sessions", :integer, &uint),
        item("manager.custom_configuration_directory", :string, &string),
        item("manager.fallback_status", :string, &status),
        item("manager.fallback_status_at_disconnect", :string, &status),
        item("manager.event_loop_backend", :string) do |k, v|
          T.check_choice(k, v, T::EVENT_LOOP_BACKENDS)
        end,
        item("manager.n_workers", :integer) do |k, v|
          T.check_uint(k, v, max: T::MAX_N_WORKERS)
        end,
        item("manager.packet_buffer_size", :integer, &uint),
        item("manager.connection_check_interval", :integer, &uint_or_nil),
        item("manager.chunk_size", :integer) do |k, v|
          T.check_uint(k, v, min: 1, max: T::MAX_CHUNK_SIZE)
        end,
        item("manager.message_phase", :string) do |k, v|
          T.check_choice(k, v, T::MESSAGE_PHASES)
        end,
        item("manager.body_memory_limit", :integer) do |k, v|
          T.check_uint(k, v, max: T::MAX_BODY_MEMORY_LIMIT)
        end,
        item("manager.defer_message_replies", :boolean, &boolean),

        item("controller.connection_spec", :string, &spec),
        item("controller.unix_socket_mode", :mode, &mode),
        item("controller.unix_socket_group", :string, &string),
        item("controller.remove_unix_socket_on_create", :boolean, &boolean),
        item("controller.remove_unix_socket_on_close", :boolean, &boolean),

        item("database.type", :string, c: false, &string),
        item("database.name", :string, c: false, &string),
        item("database.host", :string, c: false, &string),
        item("database.port", :string, c: false, &any),
        item("database.path", :string, c: false, &string),
        item("database.user", :string, c: false, &string),
        item("database.password", :string, c: false, &string),
      ].freeze

      SECTIONS = ["package", "security", "log", "manager", "controller", "database"].freeze

      MILTER_ITEMS = [
        item("milter.connection_spec", :string, &spec),
        item("milter.description", :string, &string),
        item("milter.enabled", :boolean, &boolean),
        item("milter.fallback_status", :string, &status),
        item("milter.evaluation_mode", :boolean, &boolean),
        item("milter.command", :string, &string),
        item("milter.command_options", :string) {|k, v| T.check_command_options(k, v)},
        item("milter.user_name", :string, &string),
        item("milter.connection_timeout", :float) {|k, v| T.check_timeout(k, v)},
        item("milter.writing_timeout", :float) {|k, v| T.check_timeout(k, v)},
        item("milter.reading_timeout", :float) {|k, v| T.check_timeout(k, v)},
        item("milter.end_of_message_timeout", :float) {|k, v| T.check_timeout(k, v)},
      ].freeze

      # format - a value as --show-config writes it, so that it loads back the same
      def self.format(item, value)
        case item.kind
        when :mode then Kernel.format("0%o", value)
        when :zero_is_nil then value.zero? ? "nil" : value.to_s
        when :float then value.to_f.to_s
        else value.inspect
        end
      end
    end
  end
end
