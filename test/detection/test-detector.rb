# SPDX-License-Identifier: GPL-3.0-or-later
# test-detector.rb: the detectors against the fixture trees of Debian 12, AlmaLinux 9 and
# FreeBSD 14 (enabled, disabled, socket forms), the socket forms, and failure isolation.

require "fileutils"
require "tmpdir"
require "milter/manager"
require "milter/manager/detector"

D = Milter::Manager::Detector
FIXTURES = File.expand_path(__dir__)

# A minimal TAP producer, so that the test needs no gem.
module Tap
  @n = 0
  @failed = false

  module_function

  def ok(condition, name, diagnostic = nil)
    @n += 1
    if condition
      puts "ok #{@n} - #{name}"
    else
      @failed = true
      puts "not ok #{@n} - #{name}"
      diagnostic.to_s.each_line {|line| puts "# #{line}"} if diagnostic
    end
  end

  def equal(expected, actual, name)
    ok(expected == actual, name, "expected: #{expected.inspect}\n  actual: #{actual.inspect}")
  end

  def finish
    puts "1..#{@n}"
    exit(@failed ? 1 : 0)
  end
end

# detect - [found list, log lines] for PLATFORM on the tree ROOT
def detect(platform, root, options = {})
  log = D::Log.new {|_level, _message|}
  found = D.detect(platform, D::Context.new(D::FileSystem.new(root), log, options))
  [found, log.messages.map(&:last)]
end

# summary - name => [spec, enabled, detected_from]
def summary(found)
  found.to_h {|f| [f.name, [f.spec, f.enabled, f.detected_from]]}
end

# ---------------------------------------------------------------------------------------
# Socket forms

{
  "/var/run/x.sock" => "unix:/var/run/x.sock",
  "unix:/run/a.sock" => "unix:/run/a.sock",
  "local:/run/opendkim/opendkim.sock" => "unix:/run/opendkim/opendkim.sock",
  "\"/quoted/path\"" => "unix:/quoted/path",
  "inet:8891@localhost" => "inet:8891@localhost",
  "inet:11125@[127.0.0.1]" => "inet:11125@[127.0.0.1]",
  "inet6:8891@[::1]" => "inet6:8891@[::1]",
  "inet:54321" => "inet:54321",
  "inet:localhost:8893" => "inet:8893@localhost",
  "inet:127.0.0.1:10025" => "inet:10025@127.0.0.1",
  "tcp:scanner.example.org:7357" => "inet:7357@scanner.example.org",
  "tcp:7357" => "inet:7357@localhost",
  "localhost:11332" => "inet:11332@localhost",
  "*:11332" => "inet:11332@localhost",
  "[::1]:11332" => "inet6:11332@[::1]",
}.each do |input, expected|
  Tap.equal(expected, D::Spec.normalize(input), "/spec/#{input}")
end

["inet:port@localhost", "inet:0@localhost", "inet:70000", "unix:relative", "",
 "smtp://x", "inet:8891@local host"].each do |input|
  error = begin
            D::Spec.normalize(input)
            nil
          rescue D::ParseError => e
            e
          end
  Tap.ok(error && error.message.include?(input.inspect) || (input.empty? && error),
         "/spec/rejects/#{input.inspect}", error&.message)
end

# ---------------------------------------------------------------------------------------
# Shell-like files

vars = D::Shell.assignments(<<~SH)
  # comment
  RUNDIR=/run/opendkim
  SOCKET=local:$RUNDIR/opendkim.sock
  export USER="opendkim" # trailing comment
  : ${name_enable="NO"}
  : ${name_socket:="/var/run/a.sock"}
  name_flags=${name_flags-"-p $name_socket \\
  -u mailnull"}
SH
Tap.equal("local:/run/opendkim/opendkim.sock", vars["SOCKET"], "/shell/expansion")
Tap.equal("opendkim", vars["USER"], "/shell/quotes-and-comment")
Tap.equal("NO", vars["name_enable"], "/shell/colon-default")
Tap.equal("-p /var/run/a.sock -u mailnull", vars["name_flags"], "/shell/continued-default")
preset = D::Shell.assignments(": ${name_enable=\"NO\"}\n", {"name_enable" => "YES"})
Tap.equal("YES", preset["name_enable"], "/shell/default-keeps-set-value")
Tap.equal("/s", D::Shell.option(["-f", "-p", "/s"], "-p"), "/shell/option-separate")
Tap.equal("/s", D::Shell.option(["-p/s"], "-p"), "/shell/option-attached")
Tap.equal(nil, D::Shell.option(["-p", "-f"], "-p"), "/shell/option-missing-value")

# ---------------------------------------------------------------------------------------
# Debian 12

debian = "#{FIXTURES}/debian12"
found, log = detect("debian", "#{debian}/enabled")
Tap.equal({
  "milter-greylist" => ["unix:/var/run/milter-greylist/milter-greylist.sock", true,
                        "/etc/milter-greylist/greylist.conf"],
  "clamav-milter" => ["unix:/var/run/clamav/clamav-milter.ctl", true,
                      "/etc/clamav/clamav-milter.conf"],
  "opendkim" => ["unix:/run/opendkim/opendkim.sock", true, "/etc/opendkim.conf"],
  "opendmarc" => ["unix:/run/opendmarc/opendmarc.sock", true, "/etc/opendmarc.conf"],
  "spamass-milter" => ["unix:/var/spool/postfix/spamass/spamass.sock", true,
                       "/etc/init.d/spamass-milter"],
  "rspamd" => ["inet:11332@localhost", true, "/etc/rspamd/rspamd.conf"],
}, summary(found), "/debian12/enabled")
Tap.equal([], log, "/debian12/enabled/nothing-logged")
greylist = found.find {|f| f.name == "milter-greylist"}
Tap.equal(30, greylist&.extra_timeout, "/debian12/enabled/greylist-tarpit")
Tap.equal(["Sendmail Compatible", "Stress Notify", "Trust", "Remote Network", "S25R",
           "Unauthenticated"], greylist&.conditions, "/debian12/enabled/greylist-conditions")
opendkim = found.find {|f| f.name == "opendkim"}
Tap.equal(["/usr/bin/systemctl", "start opendkim"],
          [opendkim&.command, opendkim&.command_options], "/debian12/enabled/systemd-command")
spamass = found.find {|f| f.name == "spamass-milter"}
Tap.equal(["/etc/init.d/spamass-milter", "start"],
          [spamass&.command, spamass&.command_options], "/debian12/enabled/init-command")

found, = detect("debian", "#{debian}/disabled")
Tap.equal(["milter-greylist", "clamav-milter", "opendkim", "opendmarc", "spamass-milter",
           "rspamd"], found.map(&:name), "/debian12/disabled/all-defined")
Tap.ok(found.none?(&:enabled), "/debian12/disabled/none-enabled",
       found.select(&:enabled).map(&:name).inspect)

found, = detect("debian", "#{debian}/sockets")
Tap.equal({
  "milter-greylist" => ["inet:11125@[127.0.0.1]", true,
                        "/etc/systemd/system/milter-greylist.service.d/override.conf"],
  "clamav-milter" => ["inet:7357@127.0.0.1", true, "/etc/clamav/clamav-milter.conf"],
  "opendkim" => ["inet:8891@localhost", true, "/etc/opendkim.conf"],
  "opendmarc" => ["unix:/var/spool/postfix/opendmarc/opendmarc.sock", true,
                  "/etc/default/opendmarc"],
  "spamass-milter" => ["unix:/var/spool/postfix/spamass/spamass-custom.sock", true,
                       "/etc/default/spamass-milter"],
  "rspamd" => ["inet:11332@localhost", true, "/etc/rspamd/local.d/worker-proxy.inc"],
}, summary(found), "/debian12/sockets")

# ---------------------------------------------------------------------------------------
# AlmaLinux 9

alma = "#{FIXTURES}/alma9"
found, log = detect("redhat", "#{alma}/enabled")
Tap.equal({
  "milter-greylist" => ["unix:/run/milter-greylist/milter-greylist.sock", true,
                        "/etc/mail/greylist.conf"],
  "clamav-milter" => ["unix:/run/clamav-milter/clamav-milter.socket", true,
                      "/etc/mail/clamav-milter.conf"],
  "spamass-milter" => ["unix:/run/spamass-milter/postfix/sock", true,
                       "/etc/sysconfig/spamass-milter"],
  "opendkim" => ["inet:8891@localhost", true, "/etc/opendkim.conf"],
  "rspamd" => ["unix:/run/rspamd/milter.sock", true, "/etc/rspamd/local.d/worker-proxy.inc"],
}, summary(found), "/alma9/enabled")
Tap.equal([], log, "/alma9/enabled/nothing-logged")
found, log = detect("redhat9", "#{alma}/disabled")
Tap.equal({
  "milter-greylist" => false, "clamav-milter" => false, "spamass-milter" => false,
  "opendkim" => false, "rspamd" => false,
}, found.to_h {|f| [f.name, f.enabled]}, "/alma9/disabled")
Tap.ok(log.any? {|line| line.include?("\"Example\" line")}, "/alma9/disabled/example-line-logged",
       log.join("\n"))
Tap.equal("inet:11120@localhost", found.find {|f| f.name == "spamass-milter"}&.spec,
          "/alma9/disabled/sysconfig-socket")

# ---------------------------------------------------------------------------------------
# FreeBSD 14

freebsd = "#{FIXTURES}/freebsd14"
found, log = detect("freebsd", "#{freebsd}/enabled")
Tap.equal({
  "milter-greylist" => ["unix:/var/milter-greylist/milter-greylist.sock", true,
                        "/usr/local/etc/rc.d/milter-greylist"],
  "clamav-milter" => ["unix:/var/run/clamav/clmilter.sock", true,
                      "/usr/local/etc/clamav-milter.conf"],
  "milter-opendkim" => ["inet:8891@localhost", true, "/usr/local/etc/mail/opendkim.conf"],
  "spamass-milter" => ["unix:/var/run/spamass-milter/spamass-milter.sock", true, "/etc/rc.conf"],
  "rspamd" => ["inet:11332@localhost", true, "/usr/local/etc/rspamd/rspamd.conf"],
}, summary(found), "/freebsd14/enabled")
Tap.equal([], log, "/freebsd14/enabled/nothing-logged")
Tap.equal(60, found.find {|f| f.name == "milter-greylist"}&.extra_timeout,
          "/freebsd14/enabled/greylist-tarpit")
found, = detect("freebsd", "#{freebsd}/disabled")
Tap.ok(found.size == 5 && found.none?(&:enabled), "/freebsd14/disabled",
       summary(found).inspect)
found, = detect("freebsd", "#{freebsd}/profiles")
Tap.equal({
  "milter-opendkim-sign" => ["unix:/var/run/milteropendkim/sign.sock", true,
                             "/etc/rc.conf.local"],
  "milter-opendkim-verify" => ["inet:8892@127.0.0.1", false, "/etc/rc.conf.local"],
}, summary(found.select {|f| f.name.start_with?("milter-opendkim")}), "/freebsd14/profiles")
Tap.equal("start sign", found.find {|f| f.name == "milter-opendkim-sign"}&.command_options,
          "/freebsd14/profiles/command")

# ---------------------------------------------------------------------------------------
# pkgsrc (a tree built here: NetBSD keeps the rc.d script in PREFIX/etc/rc.d)

Dir.mktmpdir("detector-pkgsrc") do |root|
  FileUtils.mkdir_p("#{root}/opt/pkg/etc/rc.d")
  File.write("#{root}/opt/pkg/etc/rc.d/milter-regex", <<~SH)
    #!/bin/sh
    name="milterregex"
    rcvar=$name
    command_args="-p ${milterregex_socket-/var/spool/milter-regex/sock}"
  SH
  File.write("#{root}/etc.rc.conf", "")
  FileUtils.mkdir_p("#{root}/etc")
  File.write("#{root}/etc/rc.conf", "milterregex=YES\nmilterregex_socket=unix:/var/run/regex.sock\n")
  found, = detect("pkgsrc", root, {"prefix" => "/opt/pkg"})
  Tap.equal({"milter-regex" => ["unix:/var/run/regex.sock", true, "/etc/rc.conf"]},
            summary(found), "/pkgsrc/prefix-and-rcvar")
end

# ---------------------------------------------------------------------------------------
# Failures are logged with the file and never stop detection

Dir.mktmpdir("detector-broken") do |root|
  FileUtils.cp_r("#{debian}/enabled/.", root)
  # a placeholder where a socket should be (milter-manager#154), and an oversized file
  File.write("#{root}/etc/clamav/clamav-milter.conf", "MilterSocket inet:port@localhost\n")
  File.write("#{root}/etc/opendmarc.conf", "#" * (D::MAX_FILE_SIZE + 1))
  found, log = detect("debian", root)
  Tap.ok(log.any? {|line| line.start_with?("[detector][error] /etc/clamav/clamav-milter.conf: ")},
         "/failure/unparsable-socket-logged-with-file", log.join("\n"))
  Tap.ok(log.any? {|line| line.start_with?("[detector][error] /etc/opendmarc.conf: ")},
         "/failure/oversized-file-logged", log.join("\n"))
  Tap.equal(["milter-greylist", "opendkim", "opendmarc", "spamass-milter", "rspamd"],
            found.map(&:name), "/failure/others-still-detected")
end

# A detector bug (2.3's rspamd detector raised TypeError at start) is logged, not raised.
module D::Apps
  class << self
    alias_method :original_read, :read
    def read(kind, file, context)
      raise TypeError, "no implicit conversion of nil into String" if kind == :rspamd
      original_read(kind, file, context)
    end
  end
end
found, log = detect("debian", "#{debian}/enabled")
Tap.ok(log.any? {|line| line.include?("TypeError")} && found.none? {|f| f.name == "rspamd"} &&
       found.size == 5, "/failure/bug-in-one-detector", log.join("\n"))
module D::Apps
  class << self
    alias_method :read, :original_read
  end
end

found, log = detect("solaris", "#{debian}/enabled")
Tap.ok(found.empty? && log.size == 1, "/failure/unknown-platform", log.inspect)

Tap.finish
