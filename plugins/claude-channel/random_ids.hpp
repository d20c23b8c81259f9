// Identifiers of one claude-channel session: UUIDs (Claude's --session-id,
// the relay run id) and hex tokens, from one generator per backend instance.
#pragma once

#include <random>
#include <string>

namespace avenor::claude_channel {

class RandomIds {
 public:
  RandomIds() : rng_(std::random_device{}()) {}
  explicit RandomIds(std::uint64_t seed) : rng_(seed) {}

  // A version-4 UUID, lower case.
  std::string uuid();
  // `n` lower-case hex characters.
  std::string hex(std::size_t n);

 private:
  std::mt19937_64 rng_;
};

}  // namespace avenor::claude_channel
