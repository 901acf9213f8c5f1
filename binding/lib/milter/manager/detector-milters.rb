# SPDX-License-Identifier: GPL-3.0-or-later
# detector-milters.rb: the table of milters detection knows, per platform: service name,
# description, the application file that holds the socket, the packaged default socket.

module Milter
  module Manager
    module Detector
      # One milter a platform's packages install.
      #   service:   systemd unit / init script / rc.d script name
      #   app:       [kind, file] of the application's own configuration (detector-apps.rb)
      #   default:   the socket the package uses when nothing is configured (or a lambda
      #              of the FileSystem, for defaults that depend on the system)
      #   app_first: the application file wins over the service's variables (the service's
      #              variable only names the socket for clean-up, e.g. FreeBSD clamav-milter)
      #   conditions: applicable conditions 2.3 gives it, when they are defined
      Candidate = Struct.new(:service, :description, :app, :default, :app_first, :conditions,
                             keyword_init: true)

      # candidate - a table row with defaults
      def self.candidate(service, description, app: nil, default: nil, app_first: false,
                         conditions: [])
        Candidate.new(service: service, description: description, app: app,
                      default: default, app_first: app_first, conditions: conditions).freeze
      end

      # 2.3's data/defaults/*.conf: greylisting only for remote, unauthenticated, dynamic
      # looking clients, with the macros its ACLs use; content filters of the spam/SPF kind
      # only for remote unauthenticated clients and not under stress. Anti-virus, DKIM,
      # DMARC and amavis milters get none: they must see every message.
      GREYLIST_CONDITIONS = ["Sendmail Compatible", "Stress Notify", "Trust", "Remote Network",
                             "S25R", "Unauthenticated"].freeze
      SPAM_CONDITIONS = ["Remote Network", "Unauthenticated", "No Stress"].freeze
      GREYLIST = "milter-greylist: greylisting"
      CLAMAV = "clamav-milter: ClamAV anti-virus"
      SPAMASS = "spamass-milter: SpamAssassin"
      OPENDKIM = "OpenDKIM: DKIM signing and verifying"
      OPENDMARC = "OpenDMARC: DMARC verifying"
      RSPAMD = "rspamd: proxy worker in milter mode"

      # spamass_debian_default - Debian's init script listens in Postfix's spool when
      # Postfix is installed
      SPAMASS_DEBIAN_DEFAULT = lambda do |fs|
        if fs.executable?("/usr/sbin/postfix")
          "/var/spool/postfix/spamass/spamass.sock"
        else
          "/var/run/spamass/spamass.sock"
        end
      end

      # Debian 12 / Ubuntu (packages' own files; milter-greylist from bullseye).
      DEBIAN_MILTERS = [
        candidate("milter-greylist", GREYLIST,
                  app: [:greylist, "/etc/milter-greylist/greylist.conf"],
                  default: "/var/run/milter-greylist/milter-greylist.sock",
                  conditions: GREYLIST_CONDITIONS),
        candidate("spfmilter", "spfmilter: SPF", default: "/var/run/spfmilter/spfmilter.sock",
                  conditions: SPAM_CONDITIONS),
        candidate("clamav-milter", CLAMAV, app: [:clamav, "/etc/clamav/clamav-milter.conf"],
                                           app_first: true),
        candidate("dkim-filter", "dkim-filter: DKIM",
                  app: [:key_value, "/etc/dkim-filter.conf"]),
        candidate("opendkim", OPENDKIM, app: [:key_value, "/etc/opendkim.conf"],
                                        default: "local:/run/opendkim/opendkim.sock"),
        candidate("opendmarc", OPENDMARC, app: [:key_value, "/etc/opendmarc.conf"],
                                          default: "local:/run/opendmarc/opendmarc.sock"),
        candidate("spamass-milter", SPAMASS, default: SPAMASS_DEBIAN_DEFAULT,
                  conditions: SPAM_CONDITIONS),
        candidate("amavisd-new-milter", "amavisd-new milter",
                  default: "/var/lib/amavis/amavisd-new-milter.sock"),
        candidate("mimedefang", "MIMEDefang", default: "/var/spool/MIMEDefang/mimedefang.sock"),
        candidate("rspamd", RSPAMD, app: [:rspamd, "/etc/rspamd"], app_first: true,
                  conditions: SPAM_CONDITIONS),
      ].freeze

      # AlmaLinux / Red Hat (EPEL packages).
      REDHAT_MILTERS = [
        candidate("milter-greylist", GREYLIST, app: [:greylist, "/etc/mail/greylist.conf"],
                                               default: "/run/milter-greylist/milter-greylist.sock",
                                               conditions: GREYLIST_CONDITIONS),
        candidate("clamav-milter", CLAMAV, app: [:clamav, "/etc/mail/clamav-milter.conf"],
                                           app_first: true),
        candidate("enma", "ENMA: SPF and Sender ID", app: [:enma, "/etc/enma.conf"],
                  conditions: SPAM_CONDITIONS),
        candidate("spamass-milter", SPAMASS,
                  default: "/run/spamass-milter/spamass-milter.sock",
                  conditions: SPAM_CONDITIONS),
        candidate("amavisd", "amavisd-new milter"),
        candidate("opendkim", OPENDKIM, app: [:key_value, "/etc/opendkim.conf"]),
        candidate("opendmarc", OPENDMARC, app: [:key_value, "/etc/opendmarc.conf"]),
        candidate("mimedefang", "MIMEDefang", default: "/run/mimedefang/mimedefang.sock"),
        candidate("rspamd", RSPAMD, app: [:rspamd, "/etc/rspamd"], app_first: true,
                  conditions: SPAM_CONDITIONS),
      ].freeze

      FREEBSD_ETC = "/usr/local/etc"

      # FreeBSD ports / packages (rc.d scripts under /usr/local/etc/rc.d).
      FREEBSD_MILTERS = [
        candidate("milter-greylist", GREYLIST,
                  app: [:greylist, "#{FREEBSD_ETC}/mail/greylist.conf"],
                  conditions: GREYLIST_CONDITIONS),
        candidate("milter-enma", "ENMA: SPF and Sender ID",
                  app: [:enma, "#{FREEBSD_ETC}/enma.conf"],
                  conditions: SPAM_CONDITIONS),
        candidate("milter-sid", "sid-milter: Sender ID", conditions: SPAM_CONDITIONS),
        candidate("clamav-milter", CLAMAV,
                  app: [:clamav, "#{FREEBSD_ETC}/clamav-milter.conf"], app_first: true,
                  default: "/var/run/clamav/clmilter.sock"),
        candidate("milter-dkim", "dkim-milter: DKIM"),
        candidate("milter-opendkim", OPENDKIM,
                  app: [:key_value, "#{FREEBSD_ETC}/mail/opendkim.conf"]),
        candidate("opendmarc", OPENDMARC, app: [:key_value, "#{FREEBSD_ETC}/mail/opendmarc.conf"]),
        candidate("spamass-milter", SPAMASS, default: "/var/run/spamass-milter.sock",
                  conditions: SPAM_CONDITIONS),
        candidate("amavis-milter", "amavisd-new milter"),
        candidate("milter-regex", "milter-regex",
                  default: "/var/spool/milter-regex/sock",
                  conditions: SPAM_CONDITIONS),
        candidate("mimedefang", "MIMEDefang"),
        candidate("rspamd", RSPAMD, app: [:rspamd, "#{FREEBSD_ETC}/rspamd"], app_first: true,
                  conditions: SPAM_CONDITIONS),
      ].freeze

      PKGSRC_ETC = "/usr/pkg/etc"

      # NetBSD / DragonFly pkgsrc (rc.d scripts under PREFIX/etc/rc.d or /etc/rc.d).
      PKGSRC_MILTERS = [
        candidate("milter-greylist", GREYLIST,
                  app: [:greylist, "#{PKGSRC_ETC}/mail/greylist.conf"],
                  conditions: GREYLIST_CONDITIONS),
        candidate("mimedefang", "MIMEDefang"),
        candidate("enma", "ENMA: SPF and Sender ID", app: [:enma, "#{PKGSRC_ETC}/enma.conf"],
                  conditions: SPAM_CONDITIONS),
        candidate("dkmilter", "dk-milter: DomainKeys", default: "local:/tmp/.dkmilter.sock"),
        candidate("dkim-filter", "dkim-filter: DKIM"),
        candidate("opendkim", OPENDKIM, app: [:key_value, "#{PKGSRC_ETC}/opendkim.conf"]),
        candidate("spamass-milter", SPAMASS, conditions: SPAM_CONDITIONS),
        candidate("amavismilter", "amavisd-new milter"),
        candidate("milter-regex", "milter-regex", default: "/var/spool/milter-regex/sock",
                  conditions: SPAM_CONDITIONS),
      ].freeze

      # Variables that name the socket outright, in the order they are tried.
      SOCKET_VARIABLES = ["SOCKET", "SOCKFILE", "SOCKET_ADDRESS", "MILTER_SOCKET",
                          "CONNECTION_SPEC"].freeze
      # Variables holding arguments that may carry "-p SOCKET".
      ARGUMENT_VARIABLES = ["OPTARGS", "DAEMON_ARGS", "PARAMS", "OPTIONS", "DAEMON_OPTS",
                            "EXTRA_FLAGS"].freeze
      # rc.d variable suffixes, as SOCKET_VARIABLES and ARGUMENT_VARIABLES.
      RC_SOCKET_SUFFIXES = ["socket", "sockfile", "connection_spec"].freeze
      RC_ARGUMENT_SUFFIXES = ["flags"].freeze
    end
  end
end
