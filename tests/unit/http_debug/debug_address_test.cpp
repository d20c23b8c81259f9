#include "http_debug/debug_address.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <stdexcept>
#include <string>

namespace avenor::host {
namespace {

namespace ip = boost::asio::ip;

// A lookup that fails the test: names it must never resolve.
std::vector<ip::address> no_dns(const std::string& host) {
  ADD_FAILURE() << "unexpected DNS lookup of " << host;
  return {};
}

DebugHostLookup fixed(std::vector<std::string> addresses) {
  return [addresses](const std::string&) {
    std::vector<ip::address> out;
    for (const auto& a : addresses) out.push_back(ip::make_address(a));
    return out;
  };
}

std::string error_of(const std::string& address, const DebugHostLookup& lookup = no_dns) {
  try {
    auto ep = resolve_debug_address(address, lookup);
    return "resolved to " + ep.address().to_string();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
}

ip::tcp::endpoint resolve(const std::string& address, const DebugHostLookup& lookup = no_dns) {
  return resolve_debug_address(address, lookup);
}

TEST(HttpDebugAddress, AcceptedAddresses) {
  struct Case {
    const char* address;
    const char* bound;
    unsigned short port;
  };
  for (const Case& c :
       {Case{":8080", "127.0.0.1", 8080}, Case{"localhost:1", "127.0.0.1", 1},
        Case{"LOCALHOST:1", "127.0.0.1", 1}, Case{"LocalHost:65535", "127.0.0.1", 65535},
        Case{"127.0.0.1:0", "127.0.0.1", 0}, Case{"127.0.0.2:1", "127.0.0.2", 1},
        Case{"127.255.255.254:1", "127.255.255.254", 1}, Case{"[::1]:1", "::1", 1},
        Case{"[::ffff:127.0.0.1]:1", "127.0.0.1", 1}}) {
    SCOPED_TRACE(c.address);
    auto ep = resolve(c.address);
    EXPECT_EQ(ep.address().to_string(), c.bound);
    EXPECT_EQ(ep.port(), c.port);
  }
}

TEST(HttpDebugAddress, NonLoopbackNumericAddressesAreRefused) {
  EXPECT_EQ(error_of("0.0.0.0:1"), "address 0.0.0.0 is not a loopback address");
  EXPECT_EQ(error_of("10.0.0.1:1"), "address 10.0.0.1 is not a loopback address");
  EXPECT_EQ(error_of("128.0.0.1:1"), "address 128.0.0.1 is not a loopback address");
  EXPECT_EQ(error_of("[::]:1"), "address :: is not a loopback address");
  EXPECT_EQ(error_of("[::2]:1"), "address ::2 is not a loopback address");
}

TEST(HttpDebugAddress, PortIsRequiredAndChecked) {
  EXPECT_EQ(error_of("localhost"), "missing port in address \"localhost\"");
  EXPECT_EQ(error_of("127.0.0.1"), "missing port in address \"127.0.0.1\"");
  EXPECT_EQ(error_of("localhost:"), "missing port in address \"localhost:\"");
  EXPECT_EQ(error_of(":"), "missing port in address \":\"");
  EXPECT_EQ(error_of(""), "missing port in address \"\"");
  EXPECT_EQ(error_of("[::1]"), "missing port in address \"[::1]\"");
  EXPECT_EQ(error_of("localhost:http"), "invalid port \"http\" in address \"localhost:http\"");
  EXPECT_EQ(error_of("localhost:65536"), "invalid port \"65536\" in address \"localhost:65536\"");
  EXPECT_EQ(error_of("localhost:-1"), "invalid port \"-1\" in address \"localhost:-1\"");
  EXPECT_EQ(error_of("localhost:+1"), "invalid port \"+1\" in address \"localhost:+1\"");
  EXPECT_EQ(error_of("localhost:1 "), "invalid port \"1 \" in address \"localhost:1 \"");
}

TEST(HttpDebugAddress, MalformedHosts) {
  EXPECT_EQ(error_of("::1:80"),
            "too many colons in address \"::1:80\" (write an IPv6 address as [addr]:port)");
  EXPECT_EQ(error_of("[::1:80"), "missing ']' in address \"[::1:80\"");
  EXPECT_EQ(error_of("[]:80"), "missing host in address \"[]:80\"");
  EXPECT_EQ(error_of("[::1]x:80"), "missing port in address \"[::1]x:80\"");
}

TEST(HttpDebugAddress, ResolvedNamesMustBeLoopbackEverywhere) {
  EXPECT_EQ(resolve("box:9", fixed({"::1", "127.0.0.1"})).address().to_string(), "127.0.0.1");
  EXPECT_EQ(resolve("box:9", fixed({"::1", "127.0.0.5"})).address().to_string(), "::1");
  EXPECT_EQ(resolve("box:9", fixed({"127.0.0.5", "127.0.0.1"})).address().to_string(), "127.0.0.1");
  EXPECT_EQ(resolve("box:9", fixed({"127.0.0.5"})).port(), 9);
  EXPECT_EQ(error_of("box:9", fixed({"127.0.0.1", "10.0.0.1"})),
            "host \"box\" resolves to non-loopback address 10.0.0.1");
  EXPECT_EQ(error_of("box:9", fixed({})), "resolve host \"box\": no addresses");
}

TEST(HttpDebugAddress, SystemResolver) {
  boost::asio::io_context io;
  auto lookup = system_host_lookup(io);
  // getaddrinfo reads the short numeric forms without DNS.
  EXPECT_EQ(resolve("127.1:5", lookup).address().to_string(), "127.0.0.1");
  EXPECT_EQ(error_of("10.1:5", lookup), "host \"10.1\" resolves to non-loopback address 10.0.0.1");
  // .invalid never resolves (RFC 6761).
  EXPECT_TRUE(
      error_of("example.invalid:1", lookup).starts_with("resolve host \"example.invalid\": "))
      << error_of("example.invalid:1", lookup);
}

TEST(HttpDebugAddress, LoopbackClassification) {
  EXPECT_TRUE(is_loopback_address(ip::make_address("127.0.0.1")));
  EXPECT_TRUE(is_loopback_address(ip::make_address("127.9.8.7")));
  EXPECT_TRUE(is_loopback_address(ip::make_address("::1")));
  EXPECT_TRUE(is_loopback_address(ip::make_address("::ffff:127.0.0.3")));
  EXPECT_FALSE(is_loopback_address(ip::make_address("::ffff:10.0.0.1")));
  EXPECT_FALSE(is_loopback_address(ip::make_address("126.255.255.255")));
  EXPECT_FALSE(is_loopback_address(ip::make_address("::")));
}

}  // namespace
}  // namespace avenor::host
