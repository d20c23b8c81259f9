// Permission policies (new; issue 13): rules that answer a permission request
// before the usual resolver chain (events.md §7.1) runs. A rule matches on the
// tool kind, a glob on the tool title or command line, and the option kinds
// the request offers; first match wins, no match → the policy's default.
// `ask` hands the request to the usual chain (auto-approve → control claim →
// file handler → none). Parsing, validation and matching only: the one I/O is
// reading a policy file.
#pragma once

#include <avenor/sdk/option_kinds.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::host {

enum class PolicyAction { allow, reject, ask };

std::string_view to_string(PolicyAction action);

// A policy that cannot be used. what() is the problem without a prefix,
// naming the JSON path: `rules[2].action: "maybe" is not one of allow,
// reject, ask`. Callers add their own (`--permission-policy: `).
class PolicyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PolicyRule {
  std::vector<std::string> tool_kinds;    // empty: any kind
  std::optional<std::string> title;       // glob on the tool title
  std::optional<std::string> command;     // glob on the command line
  std::vector<std::string> option_kinds;  // empty: any; else an offered option of one of these
  PolicyAction action = PolicyAction::ask;
  // How events name the rule: "rules[2]" (its place in the policy),
  // "approve_reads" or "deny_all" (the shorthands).
  std::string label;
};

struct PermissionPolicy {
  std::vector<PolicyRule> rules;
  PolicyAction default_action = PolicyAction::ask;

  // True when the policy can never answer a request (every request goes to ask).
  bool inert() const;
  // The policy as JSON that parses back to the same policy (for child
  // processes and follow-ups); `{}` for the empty policy. Shorthand rules
  // become plain rules: send the policy before the shorthands are added.
  boost::json::object to_json() const;
};

// Limits that keep a policy small and its matching cheap.
inline constexpr std::size_t kMaxPolicyBytes = 1024 * 1024;
inline constexpr std::size_t kMaxPolicyRules = 256;
inline constexpr std::size_t kMaxGlobBytes = 4096;
inline constexpr std::size_t kMaxPolicyDepth = 8;

// The policy in a JSON value / JSON text. Throws PolicyError.
PermissionPolicy parse_permission_policy(const boost::json::value& document);
PermissionPolicy parse_permission_policy_text(std::string_view text);

// The CLI form: a value starting with `{` is inline JSON, anything else the
// path of a regular file (at most kMaxPolicyBytes; FIFOs, devices and
// directories are refused without blocking) holding the same JSON. Throws
// PolicyError; problems inside a file are prefixed with its path.
PermissionPolicy load_permission_policy(std::string_view value);

// The shorthands: --approve-reads is a leading rule allowing the kinds read
// and search, --deny-all a final rule rejecting everything.
void add_approve_reads(PermissionPolicy& policy);
void add_deny_all(PermissionPolicy& policy);

// The policy a run's flags describe: --permission-policy (empty: none), with
// --approve-reads before its rules and --deny-all after them. Throws
// PolicyError naming the flag: `--permission-policy: rules[0]...`.
PermissionPolicy policy_from_flags(std::string_view value, bool approve_reads, bool deny_all);

// --permission-timeout-action: reject (default) or cancel.
inline bool valid_timeout_action(std::string_view action) {
  return action == "reject" || action == "cancel";
}

// What a rule can look at in one request (see permission_facts.hpp).
struct PermissionFacts {
  std::string tool_kind = "other";     // one of the ACP tool kinds
  std::string title;                   // empty when the request has none
  std::optional<std::string> command;  // the command line, when the request has one
};

struct PolicyDecision {
  PolicyAction action = PolicyAction::ask;
  std::string rule = "default";  // the matching rule's label, or "default"
  std::string option_id;         // allow/reject: the option to answer with
  sdk::OptionKind kind = sdk::OptionKind::unknown;
};

// Applies the policy to a request offering `options` ({optionId, kind}).
// An allow or reject with no option of that kind becomes ask.
PolicyDecision decide_permission(const PermissionPolicy& policy, const PermissionFacts& facts,
                                 const boost::json::array& options);

// `*` matches any run of bytes (also `/`), `?` one character (a UTF-8 code
// point); everything else matches itself. Case-sensitive, whole string.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace avenor::host
