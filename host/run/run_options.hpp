// Everything `avenor run` was asked to do, after flag parsing (cli.md §3.1).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace avenor::host {

struct RunOptions {
  std::string prompt;
  std::string prompt_file;
  std::string loop_file;
  std::string backend = "opencode-acp";
  std::string agent;
  std::string model;
  std::string thinking;
  std::string label;
  std::string run_id;
  std::string dir = ".";
  std::string resume;
  std::string server_url;
  std::string on_event;
  std::string sentinel_file;
  std::string permission_handler;
  bool auto_approve = false;
  // Permission policies (new): the raw --permission-policy value (inline JSON
  // or a file), its shorthands, and the unanswered-request timeout.
  std::string permission_policy;
  bool approve_reads = false;
  bool deny_all = false;
  std::chrono::nanoseconds permission_timeout{0};
  std::string permission_timeout_action = "reject";  // reject | cancel
  std::string control_socket;
  std::string http_debug;
  std::string http_debug_token_file;  // (new) where to write the adapter's token, 0600
  std::chrono::nanoseconds timeout{0};
  std::chrono::nanoseconds progress_timeout{0};
  int max_retries = 0;
  std::chrono::nanoseconds permission_claim_timeout{0};
  std::string runtime_id;
  std::string agent_profile;
  std::optional<std::chrono::nanoseconds> parked_timeout;
};

}  // namespace avenor::host
