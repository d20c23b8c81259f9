// item/started and item/completed → avenor events (backends.md §3.4, D11).
// Every item gets avenor.item.start / avenor.item.end; by type, commands, file
// changes and MCP calls become tool.call / tool.call_update, and a finished
// agent message or reasoning item becomes a text chunk unless its text was
// already streamed as deltas. userMessage items are never output.
#pragma once

#include <boost/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace avenor::codex {

// Where an item lives: the session (codex thread) and turn ids.
struct ItemContext {
  std::string session_id, turn_id;
};

class ItemMapper {
 public:
  using Events = std::vector<boost::json::object>;

  // `item_id` is item.id, else the notification's itemId.
  Events started(const ItemContext& where, const boost::json::object& item,
                 std::string_view item_id) const;
  Events completed(const ItemContext& where, const boost::json::object& item,
                   std::string_view item_id);

  // A delta notification carried text for this item: its completion must not
  // repeat that text.
  void note_streamed(std::string_view item_id) { streamed_.emplace(item_id); }
  void clear() { streamed_.clear(); }

 private:
  std::set<std::string, std::less<>> streamed_;
};

// The changed paths of a fileChange item, joined with ", ".
std::string changed_paths(const boost::json::object& item);

}  // namespace avenor::codex
