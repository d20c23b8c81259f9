// `watch --classify` (events.md §8.5): MILESTONE, FINDING or ACTIVITY for one
// event, by the rules in the spec's order.
#pragma once

#include <boost/json/object.hpp>
#include <string_view>

namespace avenor::host::watch {

inline constexpr std::string_view kMilestone = "MILESTONE";
inline constexpr std::string_view kFinding = "FINDING";
inline constexpr std::string_view kActivity = "ACTIVITY";

std::string_view classify(const boost::json::object& event);

// Rule 5 on an already lowercased chunk text: FINDING when it holds one of
// the finding phrases or a `confidence:` of 60 or more.
bool text_is_finding(std::string_view lowered_text);

}  // namespace avenor::host::watch
