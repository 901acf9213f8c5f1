# SPDX-License-Identifier: GPL-3.0-or-later
# test-conditions.rb: Ruby-level tests of the condition helpers (socket addresses, S25R,
# Remote Network, Trust, DNSBL answers, the context) without the daemon; minitest.

require "minitest/autorun"
require "tmpdir"
require "milter/manager"

# The daemon's view of an MTA session, in Ruby.
class FakeSession
  attr_reader :sent
  attr_accessor :macros, :statuses, :n_processing_sessions

  def initialize
    @macros = {}
    @sent = {}
    @statuses = {}
    @n_processing_sessions = 1
  end

  def lookup_macro(name)
    @macros[name]
  end

  def set_macro(child, name, value)
    @sent[[child, name]] = value
  end

  def child_status(child)
    @statuses.fetch(child, "not-changed")
  end

  def child_quitted?(child)
    false
  end
end

class TestSocketAddress < Minitest::Test
  SocketAddress = Milter::SocketAddress

  def test_ipv4
    address = SocketAddress.build("4", "192.168.0.9", 25)
    assert_instance_of(SocketAddress::IPv4, address)
    assert_equal(["192.168.0.9", 25, nil], [address.address, address.port, address.path])
    assert(address.local?)
    refute(SocketAddress.build("4", "8.8.8.8", 25).local?)
    assert_equal(IPAddr.new("8.8.8.8"), SocketAddress.build("4", "8.8.8.8", 25).to_ip_address)
  end

  def test_ipv6
    assert(SocketAddress.build("6", "fe80::1", 25).local?)
    assert(SocketAddress.build("6", "IPv6:::1", 25).local?)
    refute(SocketAddress.build("6", "2001:db8::1", 25).local?)
  end

  def test_unix_and_unknown
    unix = SocketAddress.build("L", "/run/smtpd.sock", 0)
    assert_equal("/run/smtpd.sock", unix.path)
    assert(unix.local?)
    assert_nil(unix.to_ip_address)
    refute(SocketAddress.build("U", "", 0).local?)
  end

  def test_garbage_address
    address = SocketAddress.build("4", "not an address", 25)
    assert_nil(address.to_ip_address)
    refute(address.local?)
  end
end

class TestS25R < Minitest::Test
  def setup
    @s25r = Milter::Manager::S25R.new
    @ipv4 = Milter::SocketAddress::IPv4.new("192.0.2.1", 25)
  end

  def test_rules
    ["host1-2.example.com", "h12345.example.com", "x.1b.example.ne.jp", "a1.b2-3.example.com",
     "a1.b2.example.co.jp", "ppp-tokyo9.isp.net", "unknown", "[192.0.2.1]"].each do |host|
      assert(@s25r.dynamic?(host, @ipv4), host)
    end
    refute(@s25r.dynamic?("mail.example.com", @ipv4))
  end

  def test_lists
    refute(@s25r.dynamic?("mail-ua1-x123.google.com", @ipv4))
    @s25r.add_blacklist(/\Asmtp\./)
    assert(@s25r.dynamic?("smtp.example.com", @ipv4))
    @s25r.add_whitelist {|host| host.start_with?("smtp.")}
    refute(@s25r.dynamic?("smtp.example.com", @ipv4))
    assert_raises(Milter::Manager::InvalidValue) {@s25r.add_whitelist}
  end
end

class TestTrustAndDnsbl < Minitest::Test
  def test_trust_file
    trust = Milter::Manager::Trust.new
    trust.clear
    Dir.mktmpdir do |dir|
      path = File.join(dir, "domains")
      File.write(path, "example.com # ours\n/\\.example\\.net\\z/\n")
      trust.load_envelope_from_domains(path)
    end
    assert(trust.trusted?("<a@EXAMPLE.com>"))
    assert(trust.trusted?("<a@mx.example.net>"))
    refute(trust.trusted?("<a@gmail.com>"))
    refute(trust.trusted?("<>"))
  end

  def test_dnsbl_listed
    dnsbl = Milter::Manager::Dnsbl.new
    dnsbl.clear_services
    dnsbl.add_service("a.test", "127.0.0.2")
    dnsbl.add_service("b.test")
    assert_equal({"a.test" => false, "b.test" => true},
                 dnsbl.listed("a.test" => ["127.0.0.3"], "b.test" => ["127.0.0.9"]))
    assert_raises(Milter::Manager::InvalidValue) {dnsbl.timeout = 0}
  end
end

class TestChildContext < Minitest::Test
  def setup
    @fake = FakeSession.new
    @session = Milter::Manager::ApplicableSession.new(@fake)
    @context = @session.context("greylist")
  end

  def test_macros
    @fake.macros["auth_type"] = "PLAIN"
    assert_equal("PLAIN", @context["{auth_type}"])
    assert(@context.authenticated?)
    @context["{trusted_domain}"] = "yes"
    assert_equal({["greylist", "trusted_domain"] => "yes"}, @fake.sent)
    assert_equal("yes", @context["trusted_domain"])
  end

  def test_statuses_and_children
    @fake.statuses["clamav"] = "reject"
    assert(@context.children["clamav"].reject?)
    refute(@context.reject?)
    assert_same(@session.context("clamav"), @context.children["clamav"])
  end

  def test_shelf
    @context.mail_transaction_shelf[:x] = 1
    @session.transaction_end
    assert_empty(@context.mail_transaction_shelf)
  end
end
