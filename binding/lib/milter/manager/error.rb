# SPDX-License-Identifier: GPL-3.0-or-later
# error.rb: the exceptions the configuration DSL raises for bad input, and the one that
# carries "FILE:LINE: message" back to the C side.

module Milter
  module Manager
    # Raised by a setter for a value it does not accept.
    class InvalidValue < StandardError
    end

    # Raised by load() for a path that matches nothing in any configuration directory.
    class NonexistentPath < StandardError
      attr_reader :path

      def initialize(path, directories)
        @path = path
        super("#{path} doesn't exist in #{directories.join(', ')}")
      end
    end

    # Raised for an unknown item. Not a NoMethodError: Ruby would decorate the message
    # with a snippet of the DSL's own source.
    class UnknownItem < StandardError
    end

    # What leaves the loader: the configuration file and line that caused the error,
    # Ruby's message, and a backtrace limited to configuration files.
    class ConfigurationError < StandardError
    end
  end
end
