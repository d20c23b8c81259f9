// The --http-debug listen address (control.md §9): parsed, resolved and
// checked to be loopback before anything binds. Error messages carry no
// "avenor: --http-debug: " prefix; the caller adds it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::host {

struct DebugHostPort {
  std::string host;  // brackets removed; ":port" gives "127.0.0.1"
  std::uint16_t port = 0;
};

// Splits `host:port` / `[v6]:port` / `:port`; a port is required. Throws
// std::runtime_error.
DebugHostPort parse_debug_address(std::string_view address);

// 127.0.0.0/8, ::1, and IPv4-mapped 127.0.0.0/8.
bool is_loopback_address(const boost::asio::ip::address& a);

// Resolves a host name to its addresses; throws std::runtime_error.
using DebugHostLookup = std::function<std::vector<boost::asio::ip::address>(const std::string&)>;

// The system resolver (getaddrinfo through Asio), blocking: it runs once at
// startup, before the loop serves anything.
DebugHostLookup system_host_lookup(boost::asio::io_context& io);

// The endpoint to bind for `address`: numeric IPs must be loopback,
// "localhost" (any case) is 127.0.0.1 without DNS, other names go through
// `lookup` and every result must be loopback (127.0.0.1 if among them, else
// the first). Throws std::runtime_error.
boost::asio::ip::tcp::endpoint resolve_debug_address(std::string_view address,
                                                     const DebugHostLookup& lookup);

}  // namespace avenor::host
