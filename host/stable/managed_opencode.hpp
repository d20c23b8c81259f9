// Managed opencode servers for `avenor stable` (control.md §10.14): one
// shared `opencode serve` per absolute directory, started on first use,
// health-checked, restarted when it died, and stopped with the supervisor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace avenor::host {

class ManagedOpencodeServer;

class ManagedOpencodeServers {
 public:
  explicit ManagedOpencodeServers(boost::asio::io_context& io);
  ~ManagedOpencodeServers();  // kills what is left (process groups), no zombies

  ManagedOpencodeServers(const ManagedOpencodeServers&) = delete;
  ManagedOpencodeServers& operator=(const ManagedOpencodeServers&) = delete;

  // The base URL (http://127.0.0.1:<port>) of the shared `opencode serve` for
  // this absolute directory (its working directory), started on first use
  // (own process group; `opencode` looked up on PATH), health-polled at
  // GET <url>/global/health (backoff 50 ms → 500 ms, 30 s startup limit);
  // restarted on next use if it died or is unhealthy. Concurrent callers for
  // one directory share one start.
  // Throws std::runtime_error("start managed opencode server for <dir>: <why>").
  // By value: the coroutine starts later and must not hold a reference.
  boost::asio::awaitable<std::string> url_for(std::string absolute_dir);

  // SIGTERM every server's process group, SIGKILL after 3 s; completes when
  // all are reaped.
  boost::asio::awaitable<void> stop_all();

 private:
  boost::asio::io_context& io_;
  std::map<std::string, std::shared_ptr<ManagedOpencodeServer>> servers_;  // by normalized dir
  // Ports of live servers, so two servers never get the same "free" port.
  std::shared_ptr<std::set<unsigned short>> ports_;
  bool stopping_ = false;
};

}  // namespace avenor::host
