#include "http_debug/debug_address.hpp"

#include <algorithm>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/system/error_code.hpp>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace avenor::host {

namespace ip = boost::asio::ip;

namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::uint16_t parse_port(std::string_view port, std::string_view address) {
  if (port.empty()) throw std::runtime_error("missing port in address " + quoted(address));
  unsigned value = 0;
  bool digits = std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (!digits || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    throw std::runtime_error("invalid port " + quoted(port) + " in address " + quoted(address));
  return static_cast<std::uint16_t>(value);
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Binding a v4-mapped address would open an IPv6 socket whose peers show up
// as ::ffff:127.0.0.1, which the peer check refuses; bind the IPv4 form.
ip::address unmapped(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

}  // namespace

DebugHostPort parse_debug_address(std::string_view address) {
  DebugHostPort out;
  std::string_view host;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    auto close = address.find(']');
    if (close == std::string_view::npos)
      throw std::runtime_error("missing ']' in address " + quoted(address));
    host = address.substr(1, close - 1);
    std::string_view rest = address.substr(close + 1);
    if (rest.empty() || rest.front() != ':')
      throw std::runtime_error("missing port in address " + quoted(address));
    port = rest.substr(1);
    if (host.empty()) throw std::runtime_error("missing host in address " + quoted(address));
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string_view::npos)
      throw std::runtime_error("missing port in address " + quoted(address));
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      throw std::runtime_error("too many colons in address " + quoted(address) +
                               " (write an IPv6 address as [addr]:port)");
    if (host.find_first_of("[]") != std::string_view::npos)
      throw std::runtime_error("unexpected bracket in address " + quoted(address));
    if (host.empty()) host = "127.0.0.1";
  }
  out.port = parse_port(port, address);
  out.host = std::string(host);
  return out;
}

bool is_loopback_address(const ip::address& a) {
  ip::address u = unmapped(a);
  if (u.is_v4()) return (u.to_v4().to_uint() >> 24) == 127;
  return u.to_v6().is_loopback();
}

DebugHostLookup system_host_lookup(boost::asio::io_context& io) {
  return [&io](const std::string& host) {
    ip::tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto results = resolver.resolve(host, "0", ip::tcp::resolver::numeric_service, ec);
    if (ec) throw std::runtime_error("resolve host " + quoted(host) + ": " + ec.message());
    std::vector<ip::address> out;
    for (const auto& r : results) out.push_back(r.endpoint().address());
    return out;
  };
}

ip::tcp::endpoint resolve_debug_address(std::string_view address, const DebugHostLookup& lookup) {
  DebugHostPort hp = parse_debug_address(address);
  if (iequals(hp.host, "localhost")) return {ip::address_v4::loopback(), hp.port};

  boost::system::error_code ec;
  ip::address numeric = ip::make_address(hp.host, ec);
  if (!ec) {
    if (!is_loopback_address(numeric))
      throw std::runtime_error("address " + hp.host + " is not a loopback address");
    return {unmapped(numeric), hp.port};
  }

  std::vector<ip::address> found = lookup(hp.host);
  if (found.empty()) throw std::runtime_error("resolve host " + quoted(hp.host) + ": no addresses");
  for (const auto& a : found)
    if (!is_loopback_address(a))
      throw std::runtime_error("host " + quoted(hp.host) + " resolves to non-loopback address " +
                               a.to_string());
  const ip::address preferred = ip::address_v4::loopback();
  bool has_preferred = std::any_of(found.begin(), found.end(),
                                   [&](const ip::address& a) { return unmapped(a) == preferred; });
  return {has_preferred ? preferred : unmapped(found.front()), hp.port};
}

}  // namespace avenor::host
