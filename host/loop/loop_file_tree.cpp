#include "loop/loop_file_tree.hpp"

#include <algorithm>
#include <map>
#include <memory>

#include "loop/load_limits.hpp"
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

  std::size_t size() const { return entries_.size(); }

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

std::string too_deep_error(const LoopPhase& phase) {
  return std::string(kPrefix) + where_of(phase) + "loop_file nesting deeper than " +
         std::to_string(kMaxLoopFileNesting) + " files";
}

class Loader {
 public:
  std::shared_ptr<const LoopConfig> load(const fs::path& file) {
    const fs::path key = identity(file);
    const FileStack::Entry entry(stack_, key, file);
    LoopConfig config = parse_loop_file(file, budget_);
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
    // Each level is a few stack frames; a chain of distinct files must not
    // reach the stack's end.
    if (stack_.size() >= static_cast<std::size_t>(kMaxLoopFileNesting))
      throw LoopConfigError(too_deep_error(phase));
    try {
      return load(phase.loop_file);
    } catch (const LoopConfigError& e) {
      throw LoopConfigError(std::string(kPrefix) + where_of(phase) +
                            std::string(without_prefix(e.what())));
    }
  }

  FileStack stack_;
  LoadBudget budget_;                                             // one for the whole tree
  std::map<fs::path, std::shared_ptr<const LoopConfig>> loaded_;  // a file nested twice loads once
};

// Every file once, depth-first; then the cycles, found on the graph of
// loop_file edges: a file is on a cycle when a file it names leads back to
// it, and each such phase is an error of that file (`run` could load none of
// the files on a cycle, whichever is the top).
class Checker {
 public:
  void visit(const fs::path& file, std::size_t depth = 1) {
    const fs::path key = identity(file);
    if (!slots_.emplace(key, results_.size()).second) return;
    const std::size_t slot = results_.size();
    results_.push_back({file, {}});
    edges_.emplace_back();
    LoopConfig config;
    try {
      config = parse_loop_file(file, budget_);
    } catch (const LoopConfigError& e) {
      results_[slot].errors.emplace_back(e.what());
      return;
    }
    for_each_nested(config, [&](const LoopPhase& phase) {
      edges_[slot].push_back({phase.name, phase.loop_file, identity(phase.loop_file)});
      if (depth >= static_cast<std::size_t>(kMaxLoopFileNesting)) {
        if (!slots_.contains(edges_[slot].back().target))
          results_[slot].errors.push_back(too_deep_error(phase));
        return;
      }
      visit(phase.loop_file, depth + 1);
    });
  }

  std::vector<LoopFileCheck> take() {
    for (std::size_t slot = 0; slot < results_.size(); ++slot)
      for (const Edge& edge : edges_[slot])
        if (const std::string chain = cycle_from(slot, edge); !chain.empty())
          results_[slot].errors.push_back(std::string(kPrefix) + "phase[name " + edge.phase +
                                          "]: loop_file " + edge.path.string() +
                                          ": nested loop_file cycle: " + chain);
    return std::move(results_);
  }

 private:
  struct Edge {
    std::string phase;
    fs::path path;    // as the phase names it
    fs::path target;  // its identity
  };

  // "a.json -> b.yaml -> a.json" when `edge` of file `slot` leads back to it
  // (the shortest way, taking edges in phase order), else empty.
  std::string cycle_from(std::size_t slot, const Edge& edge) const {
    const auto first = slots_.find(edge.target);
    if (first == slots_.end()) return {};
    std::vector<std::size_t> came_from(results_.size(), results_.size());
    std::vector<std::size_t> queue{first->second};
    came_from[first->second] = first->second;
    for (std::size_t i = 0; i < queue.size() && came_from[slot] == results_.size(); ++i)
      for (const Edge& next : edges_[queue[i]])
        if (const auto it = slots_.find(next.target);
            it != slots_.end() && came_from[it->second] == results_.size()) {
          came_from[it->second] = queue[i];
          queue.push_back(it->second);
        }
    if (came_from[slot] == results_.size()) return {};
    // Walk back from `slot` to the edge's target, then print it forwards.
    std::vector<std::size_t> way{slot};
    for (std::size_t at = slot; at != first->second;) way.push_back(at = came_from[at]);
    std::string chain = name_of(slot);
    for (auto it = way.rbegin(); it != way.rend(); ++it) chain += " -> " + name_of(*it);
    return chain;
  }

  std::string name_of(std::size_t slot) const { return results_[slot].path.filename().string(); }

  LoadBudget budget_;                      // one for the whole tree, as a run has
  std::map<fs::path, std::size_t> slots_;  // identity → index in results_
  std::vector<LoopFileCheck> results_;
  std::vector<std::vector<Edge>> edges_;  // per slot, in phase order
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
