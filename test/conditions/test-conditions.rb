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

class TestS25RStringMatchers < Minitest::Test
  # The lowered String matchers are kept: case is still ignored, and a changed list counts.
  def test_case_and_changes
    s25r = Milter::Manager::S25R.new
    ipv4 = Milter::SocketAddress::IPv4.new("192.0.2.1", 25)
    s25r.add_blacklist("Client.Example.ORG")
    assert(s25r.dynamic?("CLIENT.example.org", ipv4))
    refute(s25r.dynamic?("x.client.example.org", ipv4))
    refute(s25r.dynamic?("mx1.GOOGLE.com", ipv4))
    s25r.whitelist << ".EXAMPLE.org"
    refute(s25r.dynamic?("client.example.org", ipv4))
    s25r.whitelist.pop
    assert(s25r.dynamic?("client.example.org", ipv4))
  end
end

class TestRemoteNetworkRanges < Minitest::Test
  SocketAddress = Milter::SocketAddress

  # The networks are compared as integer ranges, made again when the lists change.
  def test_lists
    network = Milter::Manager::RemoteNetwork.new
    client = SocketAddress.build("4", "192.0.2.10", 25)
    assert(network.remote?(client))
    network.add_local_address("192.0.2.0/24")
    refute(network.remote?(client))
    network.add_remote_address("192.0.2.8/29")
    assert(network.remote?(client))
    network.remote_addresses.clear
    refute(network.remote?(client))
    network.local_addresses.replace([IPAddr.new("2001:db8::/32")])
    assert(network.remote?(client))
    refute(network.remote?(SocketAddress.build("6", "2001:db8::1", 25)))
    refute(network.remote?(SocketAddress.build("4", "172.31.0.1", 25)))
    assert(network.remote?(SocketAddress.build("4", "172.32.0.1", 25)))
    assert(network.remote?(SocketAddress.build("4", "::1", 25))) # family 4, IPv6 text: as before
    refute(network.remote?(SocketAddress.build("L", "/run/x.sock", 0)))
    refute(network.remote?(SocketAddress.build("U", "", 0)))
  end

  def test_session_shares_the_address
    session = Milter::Manager::ApplicableSession.new(FakeSession.new)
    first = session.socket_address("4", "192.0.2.10", 25)
    assert_same(first, session.socket_address("4", "192.0.2.10", 25))
    other = session.socket_address("4", "192.0.2.11", 25)
    refute_same(first, other)
    assert_equal("192.0.2.11", other.address)
  end
end

class TestTrustAndDnsbl < Minitest::Test
  # Every way an envelope-from can be written, with or without a domain.
  def test_trust_addresses
    trust = Milter::Manager::Trust.new
    {"<a@gmail.com>" => true, " <a@GMAIL.com> " => true, "a@gmail.com>>" => false,
     "<a>@gmail.com>" => true, "<a@b@gmail.com>" => false, "@gmail.com" => true,
     "<@>" => false, "<>" => false, "" => false, nil => false, "<x@>" => false,
     "<<a@gmail.com>" => true}.each do |from, trusted|
      assert_equal(trusted, trust.trusted?(from), from.inspect)
    end
  end

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
