#include "permissions/permission_policy.hpp"

#include <algorithm>
#include <array>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include "util/read_file.hpp"
#include "util/utf8.hpp"

namespace avenor::host {

namespace bj = boost::json;

namespace {

constexpr std::array<std::string_view, 3> kActions{"allow", "reject", "ask"};
constexpr std::array<std::string_view, 10> kToolKinds{"read",        "edit",    "delete", "move",
                                                      "search",      "execute", "think",  "fetch",
                                                      "switch_mode", "other"};
constexpr std::array<std::string_view, 6> kOptionKinds{"allow",  "allow_once",  "allow_always",
                                                       "reject", "reject_once", "reject_always"};
constexpr std::array<std::string_view, 5> kRuleKeys{"tool_kind", "title", "command", "option_kind",
                                                    "action"};
constexpr std::size_t kMaxListEntries = 32;

template <std::size_t N>
std::string joined(const std::array<std::string_view, N>& words) {
  std::string out;
  for (auto w : words) {
    if (!out.empty()) out += ", ";
    out += w;
  }
  return out;
}

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& words, std::string_view w) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

// A value as the message shows it: strings quoted, anything else as JSON.
std::string shown(const bj::value& v) {
  std::string text = bj::serialize(v);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

std::string quoted(std::string_view s) { return shown(bj::value(s)); }

PolicyAction parse_action(const bj::value& v, const std::string& where) {
  if (!v.is_string() || !one_of(kActions, std::string_view(v.get_string())))
    throw PolicyError(where + ": " + shown(v) + " is not one of " + joined(kActions));
  const std::string_view s = v.get_string();
  return s == "allow"    ? PolicyAction::allow
         : s == "reject" ? PolicyAction::reject
                         : PolicyAction::ask;
}

// A string or a non-empty array of strings, each from `words`.
template <std::size_t N>
std::vector<std::string> parse_words(const bj::value& v, const std::string& where,
                                     const std::array<std::string_view, N>& words) {
  auto one = [&](const bj::value& item, const std::string& at) {
    if (!item.is_string() || !one_of(words, std::string_view(item.get_string())))
      throw PolicyError(at + ": " + shown(item) + " is not one of " + joined(words));
    return std::string(item.get_string());
  };
  std::vector<std::string> out;
  if (!v.is_array()) {
    out.push_back(one(v, where));
    return out;
  }
  const bj::array& a = v.get_array();
  if (a.empty()) throw PolicyError(where + ": must not be an empty array");
  if (a.size() > kMaxListEntries)
    throw PolicyError(where + ": more than " + std::to_string(kMaxListEntries) + " entries");
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::string w = one(a[i], where + "[" + std::to_string(i) + "]");
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(std::move(w));
  }
  return out;
}

std::string parse_glob(const bj::value& v, const std::string& where) {
  if (!v.is_string())
    throw PolicyError(where + ": " + shown(v) + " is not a string (a glob with * and ?)");
  if (v.get_string().size() > kMaxGlobBytes)
    throw PolicyError(where + ": longer than " + std::to_string(kMaxGlobBytes) + " bytes");
  return std::string(v.get_string());
}

// The option kind a rule names, as the request spells it: lowercased and
// trimmed, deny_* read as reject_* (events.md §7.3).
std::string option_kind_name(std::string_view raw) {
  std::string k;
  for (char c : raw) k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!k.empty() && space(static_cast<unsigned char>(k.back()))) k.pop_back();
  k.erase(0, std::find_if_not(k.begin(), k.end(), space) - k.begin());
  if (k.starts_with("deny")) k.replace(0, 4, "reject");
  return k;
}

sdk::OptionKind class_of(std::string_view rule_kind) {
  return rule_kind.starts_with("allow") ? sdk::OptionKind::allow : sdk::OptionKind::reject;
}

PolicyRule parse_rule(const bj::value& v, const std::string& where) {
  const bj::object* o = v.if_object();
  if (!o) throw PolicyError(where + ": " + shown(v) + " is not an object");
  PolicyRule rule;
  bool has_action = false;
  for (const auto& [key, value] : *o) {
    const std::string at = where + "." + std::string(key);
    if (key == "tool_kind") {
      rule.tool_kinds = parse_words(value, at, kToolKinds);
    } else if (key == "title") {
      rule.title = parse_glob(value, at);
    } else if (key == "command") {
      rule.command = parse_glob(value, at);
    } else if (key == "option_kind") {
      rule.option_kinds = parse_words(value, at, kOptionKinds);
    } else if (key == "action") {
      rule.action = parse_action(value, at);
      has_action = true;
    } else {
      throw PolicyError(where + ": unknown key " + quoted(key) + " (known: " + joined(kRuleKeys) +
                        ")");
    }
  }
  if (!has_action) throw PolicyError(where + ": \"action\" is required (allow, reject or ask)");
  rule.label = where;
  // An allow can only choose an allow option: a rule naming only the other
  // class could never answer, which is a mistake worth saying at start.
  if (rule.action != PolicyAction::ask) {
    const auto wanted =
        rule.action == PolicyAction::allow ? sdk::OptionKind::allow : sdk::OptionKind::reject;
    for (const auto& k : rule.option_kinds) {
      if (class_of(k) != wanted)
        throw PolicyError(where + ".option_kind: " + quoted(std::string_view(k)) +
                          " cannot be chosen by action " + std::string(to_string(rule.action)));
    }
  }
  return rule;
}

bool rule_matches_facts(const PolicyRule& rule, const PermissionFacts& facts) {
  if (!rule.tool_kinds.empty() && std::find(rule.tool_kinds.begin(), rule.tool_kinds.end(),
                                            facts.tool_kind) == rule.tool_kinds.end())
    return false;
  if (rule.title && !glob_match(*rule.title, facts.title)) return false;
  if (rule.command && (!facts.command || !glob_match(*rule.command, *facts.command))) return false;
  return true;
}

bool option_has_kind(const bj::object& option, const std::vector<std::string>& kinds) {
  const auto* raw = option.if_contains("kind");
  if (!raw || !raw->is_string()) return false;
  const std::string name = option_kind_name(raw->get_string());
  const auto cls = sdk::normalize_option_kind(name);
  for (const auto& k : kinds) {
    if (k == "allow" || k == "reject" ? cls == class_of(k) : name == k) return true;
  }
  return false;
}

struct Choice {
  bool offered = true;  // the rule's option kinds are among the offered ones
  const bj::object* option = nullptr;
};

// The option an action answers with: with option kinds, the first offered
// option of those kinds; else the first of the action's class, an allow
// preferring a one-time option over allow_always.
Choice choose_option(const PolicyRule* rule, PolicyAction action, const bj::array& options) {
  Choice c;
  const auto wanted =
      action == PolicyAction::allow ? sdk::OptionKind::allow : sdk::OptionKind::reject;
  if (rule && !rule->option_kinds.empty()) {
    c.offered = false;
    for (const auto& v : options) {
      const auto* o = v.if_object();
      if (!o || !option_has_kind(*o, rule->option_kinds)) continue;
      if (!c.offered) c.offered = true;
      if (action != PolicyAction::ask && !c.option) c.option = o;
    }
    return c;
  }
  if (action == PolicyAction::ask) return c;
  const bj::object* fallback = nullptr;
  for (const auto& v : options) {
    const auto* o = v.if_object();
    if (!o) continue;
    const auto* raw = o->if_contains("kind");
    if (!raw || !raw->is_string()) continue;
    const std::string name = option_kind_name(raw->get_string());
    if (sdk::normalize_option_kind(name) != wanted) continue;
    if (!fallback) fallback = o;
    if (wanted == sdk::OptionKind::reject || name != "allow_always") {
      c.option = o;
      return c;
    }
  }
  c.option = fallback;
  return c;
}

// The policy file's bytes: a regular file of at most kMaxPolicyBytes, opened
// without blocking so a FIFO or a device cannot hang the start.
std::string read_policy_file(const std::string& path) {
  try {
    return read_regular_file(path, kMaxPolicyBytes);
  } catch (const FileReadError& e) {
    throw PolicyError(e.what());
  }
}

}  // namespace

std::string_view to_string(PolicyAction action) {
  switch (action) {
    case PolicyAction::allow:
      return "allow";
    case PolicyAction::reject:
      return "reject";
    case PolicyAction::ask:
      break;
  }
  return "ask";
}

bool PermissionPolicy::inert() const {
  if (default_action != PolicyAction::ask) return false;
  return std::all_of(rules.begin(), rules.end(),
                     [](const PolicyRule& r) { return r.action == PolicyAction::ask; });
}

bj::object PermissionPolicy::to_json() const {
  auto words = [](const std::vector<std::string>& list) {
    bj::array a;
    for (const auto& w : list) a.emplace_back(w);
    return a;
  };
  bj::object out;
  if (!rules.empty()) {
    bj::array list;
    for (const auto& r : rules) {
      bj::object o;
      if (!r.tool_kinds.empty()) o["tool_kind"] = words(r.tool_kinds);
      if (r.title) o["title"] = *r.title;
      if (r.command) o["command"] = *r.command;
      if (!r.option_kinds.empty()) o["option_kind"] = words(r.option_kinds);
      o["action"] = to_string(r.action);
      list.emplace_back(std::move(o));
    }
    out["rules"] = std::move(list);
  }
  if (default_action != PolicyAction::ask) out["default"] = to_string(default_action);
  return out;
}

PermissionPolicy parse_permission_policy(const bj::value& document) {
  const bj::object* top = document.if_object();
  if (!top) throw PolicyError("the policy must be a JSON object, not " + shown(document));
  PermissionPolicy policy;
  for (const auto& [key, value] : *top) {
    if (key == "default") {
      policy.default_action = parse_action(value, "default");
    } else if (key == "rules") {
      const bj::array* rules = value.if_array();
      if (!rules) throw PolicyError("rules: " + shown(value) + " is not an array");
      if (rules->size() > kMaxPolicyRules)
        throw PolicyError("rules: more than " + std::to_string(kMaxPolicyRules) + " rules");
      for (std::size_t i = 0; i < rules->size(); ++i)
        policy.rules.push_back(parse_rule((*rules)[i], "rules[" + std::to_string(i) + "]"));
    } else {
      throw PolicyError("unknown key " + quoted(key) + " (known: rules, default)");
    }
  }
  return policy;
}

PermissionPolicy parse_permission_policy_text(std::string_view text) {
  if (text.size() > kMaxPolicyBytes)
    throw PolicyError("larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
  bj::parse_options options;
  options.max_depth = kMaxPolicyDepth;
  bj::stream_parser parser({}, options);
  boost::system::error_code ec;
  const std::size_t used = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) throw PolicyError("invalid JSON at byte " + std::to_string(used) + ": " + ec.message());
  return parse_permission_policy(parser.release());
}

PermissionPolicy load_permission_policy(std::string_view value) {
  if (value.starts_with('{')) return parse_permission_policy_text(value);
  if (value.empty()) throw PolicyError("empty value (inline JSON or a file path)");
  const std::string path(value);
  const std::string text = read_policy_file(path);
  try {
    return parse_permission_policy_text(text);
  } catch (const PolicyError& e) {
    throw PolicyError(path + ": " + e.what());
  }
}

void add_approve_reads(PermissionPolicy& policy) {
  PolicyRule rule;
  rule.tool_kinds = {"read", "search"};
  rule.action = PolicyAction::allow;
  rule.label = "approve_reads";
  policy.rules.insert(policy.rules.begin(), std::move(rule));
}

void add_deny_all(PermissionPolicy& policy) {
  PolicyRule rule;
  rule.action = PolicyAction::reject;
  rule.label = "deny_all";
  policy.rules.push_back(std::move(rule));
}

PermissionPolicy policy_from_flags(std::string_view value, bool approve_reads, bool deny_all) {
  PermissionPolicy policy;
  if (!value.empty()) {
    try {
      policy = load_permission_policy(value);
    } catch (const PolicyError& e) {
      throw PolicyError(std::string("--permission-policy: ") + e.what());
    }
  }
  if (approve_reads) add_approve_reads(policy);
  if (deny_all) add_deny_all(policy);
  return policy;
}

PolicyDecision decide_permission(const PermissionPolicy& policy, const PermissionFacts& facts,
                                 const bj::array& options) {
  PolicyDecision d;
  const PolicyRule* matched = nullptr;
  Choice choice;
  for (const PolicyRule& rule : policy.rules) {
    if (!rule_matches_facts(rule, facts)) continue;
    choice = choose_option(&rule, rule.action, options);
    if (!choice.offered) continue;  // the option kinds it names are not offered
    matched = &rule;
    d.rule = rule.label;
    break;
  }
  d.action = matched ? matched->action : policy.default_action;
  if (!matched) choice = choose_option(nullptr, d.action, options);
  if (d.action == PolicyAction::ask) return d;
  if (!choice.option) {
    d.action = PolicyAction::ask;  // nothing of the needed kind to answer with
    return d;
  }
  const auto* id = choice.option->if_contains("optionId");
  d.option_id = id && id->is_string() ? std::string(id->get_string()) : std::string();
  d.kind = d.action == PolicyAction::allow ? sdk::OptionKind::allow : sdk::OptionKind::reject;
  return d;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Iterative matching with one backtrack point (the last `*`): linear in
  // practice, O(pattern × text) at worst, never exponential.
  auto char_len = [](std::string_view s, std::size_t at) -> std::size_t {
    return std::min(utf8_lead_length(static_cast<unsigned char>(s[at])), s.size() - at);
  };
  std::size_t p = 0, t = 0;
  std::optional<std::size_t> star_p;
  std::size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = ++p;
      star_t = t;
    } else if (p < pattern.size() && pattern[p] == '?') {
      ++p;
      t += char_len(text, t);
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star_p) {
      p = *star_p;
      star_t += char_len(text, star_t);
      t = star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace avenor::host
