// One loop file → LoopConfig (events.md §9.1). The file's format only decides
// how it becomes JSON; every rule below is checked on that JSON, so JSON, YAML
// and TOML files are held to exactly the same rules and messages.
#include "loop/loop_config.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <system_error>

#include "loop/load_limits.hpp"
#include "loop/structured_text.hpp"
#include "util/read_file.hpp"

namespace avenor::host {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "loop config: ";
constexpr std::string_view kInitialPhase = "(initial)";
constexpr int kDefaultMaxIterations = 10;

// `where` names the place ("phase[name X]"); empty for the top level.
[[noreturn]] void fail(std::string_view where, std::string_view what) {
  std::string message(kPrefix);
  if (!where.empty()) message.append(where).append(": ");
  message.append(what);
  throw LoopConfigError(message);
}

std::string json_quoted(std::string_view text) { return bj::serialize(bj::string_view(text)); }

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

bool blank(std::string_view text) {
  return text.find_first_not_of(" \t\n\r\f\v") == std::string_view::npos;
}

const char* kind_of(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::object:
      return "object";
    case bj::kind::array:
      return "array";
    case bj::kind::string:
      return "string";
    case bj::kind::bool_:
      return "boolean";
    case bj::kind::null:
      return "null";
    default:
      return "number";
  }
}

// The members of one object, matched case-insensitively against the known
// field names (as Go's encoding/json does). An unknown field, or one given
// twice in different cases, is an error.
class Fields {
 public:
  Fields(const bj::object& object, std::span<const std::string_view> known,
         std::string_view where) {
    for (const auto& member : object) {
      const auto name = std::find_if(known.begin(), known.end(),
                                     [&](std::string_view k) { return iequals(k, member.key()); });
      if (name == known.end()) fail(where, "unknown field " + json_quoted(member.key()));
      if (!values_.emplace(*name, &member.value()).second)
        fail(where, "duplicate field " + json_quoted(member.key()));
    }
  }

  bool present(std::string_view name) const { return values_.count(name) > 0; }

  // The value, or nullptr when the field is absent or null (null means unset).
  const bj::value* get(std::string_view name) const {
    const auto it = values_.find(name);
    return it == values_.end() || it->second->is_null() ? nullptr : it->second;
  }

 private:
  std::map<std::string_view, const bj::value*, std::less<>> values_;
};

// The value looked up case-insensitively without judging the other members:
// a phase's name is needed to name the phase in the other fields' errors.
const bj::value* find_field(const bj::object& object, std::string_view name) {
  for (const auto& member : object)
    if (iequals(member.key(), name)) return &member.value();
  return nullptr;
}

std::string optional_string(const Fields& fields, std::string_view name, std::string_view where) {
  const bj::value* v = fields.get(name);
  if (v == nullptr) return {};
  if (!v->is_string()) fail(where, std::string(name) + " must be a string");
  return std::string(v->get_string());
}

PromptTemplate parse_prompt(std::string_view text, std::string_view where,
                            std::string_view source) {
  try {
    return PromptTemplate::parse(text);
  } catch (const TemplateError& e) {
    fail(where, std::string(source) + ": " + e.what());
  }
}

int max_iterations_of(const Fields& fields) {
  const bj::value* v = fields.get("max_iterations");
  if (v == nullptr) return 0;
  constexpr auto kMin = std::numeric_limits<int>::min();
  constexpr auto kMax = std::numeric_limits<int>::max();
  if (v->is_int64()) {
    const std::int64_t n = v->get_int64();
    if (n < kMin || n > kMax) fail("", "max_iterations is out of range");
    return static_cast<int>(n);
  }
  if (v->is_uint64()) fail("", "max_iterations is out of range");
  // YAML and TOML may spell a whole number as 3.0; a fraction is no count.
  if (v->is_double() && std::trunc(v->get_double()) == v->get_double()) {
    const double d = v->get_double();
    if (d < kMin || d > kMax) fail("", "max_iterations is out of range");
    return static_cast<int>(d);
  }
  fail("", "max_iterations must be an integer");
}

constexpr std::array<std::string_view, 10> kPhaseFields{
    "name",  "prompt", "prompt_file", "loop_file", "resume_from_previous",
    "agent", "model",  "conditional", "requires",  "on_incomplete"};
constexpr std::array<std::string_view, 3> kRejectedPhaseFields{"agent", "model", "conditional"};
constexpr std::array<std::string_view, 4> kTopFields{"max_iterations", "pre", "loop", "post"};

// The phase's validated name; errors name the phase by its place.
std::string phase_name(const bj::object& phase, std::string_view index_where) {
  const bj::value* v = find_field(phase, "name");
  if (v == nullptr || v->is_null()) fail(index_where, "name must not be empty");
  if (!v->is_string()) fail(index_where, "name must be a string");
  const std::string name(v->get_string());
  if (blank(name)) fail(index_where, "name must not be empty");
  if (name == kInitialPhase) fail(index_where, "name \"(initial)\" is reserved");
  return name;
}

// The reason in "read <path>: <reason>": the errno's text, or why the file
// was refused without being read (a device or FIFO would block or never end).
std::string read_failure(const std::system_error& e, const fs::path& path, std::size_t max) {
  if (e.code() == FileProblem::too_large) return "larger than " + std::to_string(max) + " bytes";
  if (e.code() == FileProblem::not_regular) {
    std::error_code ec;
    if (fs::is_directory(path, ec))
      return std::make_error_code(std::errc::is_a_directory).message();
    return "not a regular file";
  }
  return e.code().message();
}

LoopPhase parse_phase(const bj::value& value, std::string_view section, std::size_t index,
                      const fs::path& dir, LoadBudget& budget) {
  const std::string index_where =
      std::string(section) + " phase[index " + std::to_string(index) + "]";
  const bj::object* object = value.if_object();
  if (object == nullptr)
    fail(index_where, std::string("phase must be an object, got ") + kind_of(value));

  LoopPhase phase;
  phase.name = phase_name(*object, index_where);
  const std::string where = "phase[name " + phase.name + "]";
  const Fields fields(*object, kPhaseFields, where);
  for (std::string_view rejected : kRejectedPhaseFields)
    if (fields.present(rejected))
      fail(where, std::string(rejected) +
                      " is not supported in loop configs (phases use the run-level identity)");

  const std::string prompt = optional_string(fields, "prompt", where);
  const std::string prompt_file = optional_string(fields, "prompt_file", where);
  const std::string loop_file = optional_string(fields, "loop_file", where);
  if (const bj::value* v = fields.get("resume_from_previous")) {
    if (!v->is_bool()) fail(where, "resume_from_previous must be a boolean");
    phase.resume_from_previous = v->get_bool();
  }
  // requires and on_incomplete are accepted whatever they hold and ignored.

  if (!prompt.empty() && !prompt_file.empty())
    fail(where, "prompt and prompt_file are mutually exclusive");
  if (!loop_file.empty()) {
    if (!prompt.empty() || !prompt_file.empty())
      fail(where, "loop_file is exclusive with prompt and prompt_file");
    phase.loop_file = dir / loop_file;
    return phase;
  }
  if (!prompt_file.empty()) {
    const fs::path path = dir / prompt_file;
    const std::string source = "prompt_file " + path.string();
    std::string text;
    try {
      text = read_regular_file(path, kMaxLoopInputBytes);
    } catch (const std::system_error& e) {
      fail(where, source + ": " + read_failure(e, path, kMaxLoopInputBytes));
    }
    if (std::string problem = budget.charge_text(text.size()); !problem.empty())
      fail(where, source + ": " + problem);
    if (blank(text)) fail(where, source + " is empty");
    phase.prompt = parse_prompt(text, where, source);
    return phase;
  }
  if (blank(prompt))
    fail(where, "prompt must not be empty (set prompt, prompt_file, or loop_file)");
  phase.prompt = parse_prompt(prompt, where, "prompt");
  return phase;
}

std::vector<LoopPhase> parse_phases(const Fields& fields, std::string_view section,
                                    const fs::path& dir, std::set<std::string>& names,
                                    LoadBudget& budget) {
  std::vector<LoopPhase> phases;
  const bj::value* v = fields.get(section);
  if (v == nullptr) return phases;
  const bj::array* items = v->if_array();
  if (items == nullptr) fail("", std::string(section) + " must be an array of phases");
  for (std::size_t i = 0; i < items->size(); ++i) {
    LoopPhase phase = parse_phase((*items)[i], section, i, dir, budget);
    if (!names.insert(phase.name).second)
      fail("", "duplicate phase name: " + json_quoted(phase.name));
    phases.push_back(std::move(phase));
  }
  return phases;
}

LoopConfig config_from_json(const bj::value& root, const fs::path& dir, LoadBudget& budget) {
  const bj::object* object = root.if_object();
  if (object == nullptr) fail("", std::string("top level must be an object, got ") + kind_of(root));
  const Fields fields(*object, kTopFields, "");

  LoopConfig config;
  config.max_iterations = max_iterations_of(fields);
  std::set<std::string> names;  // unique across pre, loop and post
  config.pre = parse_phases(fields, "pre", dir, names, budget);
  config.loop = parse_phases(fields, "loop", dir, names, budget);
  config.post = parse_phases(fields, "post", dir, names, budget);

  if (config.pre.empty() && config.loop.empty())
    fail("", "at least one of pre or loop must be non-empty");
  if (config.max_iterations == 0) config.max_iterations = kDefaultMaxIterations;
  if (!config.loop.empty() && config.max_iterations < 1)
    fail("", "max_iterations must be >= 1 when loop phases are present");
  return config;
}

}  // namespace

LoopConfig parse_loop_file(const fs::path& file, LoadBudget& budget) {
  bj::value root;
  try {
    root = parse_structured_file(file, budget);
  } catch (const std::system_error& e) {
    fail("", "read " + file.string() + ": " +
                 read_failure(e, file, max_structured_text_bytes(text_format_for(file))));
  } catch (const StructuredTextError& e) {
    fail("", "parse " + file.string() + ": " + e.what());
  }
  LoopConfig config = config_from_json(root, file.parent_path(), budget);
  config.path = file;
  return config;
}

LoopConfig parse_loop_file(const fs::path& file) {
  LoadBudget budget;
  return parse_loop_file(file, budget);
}

void insert_initial_phase(LoopConfig& config, const std::string& prompt) {
  LoopPhase phase;
  phase.name = std::string(kInitialPhase);
  phase.prompt = parse_prompt(prompt, "phase[name (initial)]", "prompt");
  config.pre.insert(config.pre.begin(), std::move(phase));
}

}  // namespace avenor::host
