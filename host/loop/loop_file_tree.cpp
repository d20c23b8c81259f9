#include "loop/loop_file_tree.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "loop/loop_config.hpp"

namespace avenor::host {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "loop config: ";

// Two spellings of one file (./a.json, ../d/a.json, a symlink) are one file.
fs::path identity(const fs::path& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) absolute = path;
  fs::path canonical = fs::weakly_canonical(absolute, ec);
  return ec ? absolute.lexically_normal() : canonical;
}

std::string where_of(const LoopPhase& phase) {
  return "phase[name " + phase.name + "]: loop_file " + phase.loop_file.string() + ": ";
}

std::string_view without_prefix(std::string_view message) {
  if (message.starts_with(kPrefix)) message.remove_prefix(kPrefix.size());
  return message;
}

template <typename F>
void for_each_nested(const LoopConfig& config, F&& f) {
  for (const auto* phases : {&config.pre, &config.loop, &config.post})
    for (const LoopPhase& phase : *phases)
      if (!phase.loop_file.empty()) f(phase);
}

// The files being loaded, outermost first: a nested file already on it
// closes a cycle.
class FileStack {
 public:
  class Entry {
   public:
    Entry(FileStack& stack, fs::path key, fs::path path) : stack_(stack) {
      stack_.entries_.push_back({std::move(key), std::move(path)});
    }
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    ~Entry() { stack_.entries_.pop_back(); }

   private:
    FileStack& stack_;
  };

  // "a.json -> b.yaml -> a.json" when `key` is on the stack, else empty.
  std::string cycle_through(const fs::path& key) const {
    const auto first = std::find_if(entries_.begin(), entries_.end(),
                                    [&](const auto& e) { return e.first == key; });
    if (first == entries_.end()) return {};
    std::string chain;
    for (auto it = first; it != entries_.end(); ++it)
      chain += it->second.filename().string() + " -> ";
    return chain + first->second.filename().string();
  }

 private:
  std::vector<std::pair<fs::path, fs::path>> entries_;  // identity, path as opened
};

std::string cycle_error(const LoopPhase& phase, const std::string& chain) {
  return std::string(kPrefix) + where_of(phase) + "nested loop_file cycle: " + chain;
}

class Loader {
 public:
  std::shared_ptr<const LoopConfig> load(const fs::path& file) {
    const fs::path key = identity(file);
    const FileStack::Entry entry(stack_, key, file);
    LoopConfig config = parse_loop_file(file);
    for (auto* phases : {&config.pre, &config.loop, &config.post})
      for (LoopPhase& phase : *phases)
        if (!phase.loop_file.empty()) phase.nested = load_nested(phase);
    auto loaded = std::make_shared<const LoopConfig>(std::move(config));
    loaded_.emplace(key, loaded);
    return loaded;
  }

 private:
  std::shared_ptr<const LoopConfig> load_nested(const LoopPhase& phase) {
    const fs::path key = identity(phase.loop_file);
    if (const std::string chain = stack_.cycle_through(key); !chain.empty())
      throw LoopConfigError(cycle_error(phase, chain));
    if (const auto it = loaded_.find(key); it != loaded_.end()) return it->second;
    try {
      return load(phase.loop_file);
    } catch (const LoopConfigError& e) {
      throw LoopConfigError(std::string(kPrefix) + where_of(phase) +
                            std::string(without_prefix(e.what())));
    }
  }

  FileStack stack_;
  std::map<fs::path, std::shared_ptr<const LoopConfig>> loaded_;  // a file nested twice loads once
};

class Checker {
 public:
  void visit(const fs::path& file) {
    const fs::path key = identity(file);
    if (!seen_.insert(key).second) return;
    const std::size_t slot = results_.size();
    results_.push_back({file, {}});
    LoopConfig config;
    try {
      config = parse_loop_file(file);
    } catch (const LoopConfigError& e) {
      results_[slot].errors.emplace_back(e.what());
      return;
    }
    const FileStack::Entry entry(stack_, key, file);
    for_each_nested(config, [&](const LoopPhase& phase) {
      if (const std::string chain = stack_.cycle_through(identity(phase.loop_file));
          !chain.empty()) {
        results_[slot].errors.push_back(cycle_error(phase, chain));
        return;
      }
      visit(phase.loop_file);
    });
  }

  std::vector<LoopFileCheck> take() { return std::move(results_); }

 private:
  FileStack stack_;
  std::set<fs::path> seen_;
  std::vector<LoopFileCheck> results_;
};

}  // namespace

std::shared_ptr<const LoopConfig> load_loop_config(const fs::path& file) {
  return Loader().load(file);
}

std::vector<LoopFileCheck> check_loop_files(const fs::path& file) {
  Checker checker;
  checker.visit(file);
  return checker.take();
}

}  // namespace avenor::host
