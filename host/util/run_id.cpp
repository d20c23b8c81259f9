#include "util/run_id.hpp"

#include "util/random_hex.hpp"

namespace avenor::host {

// OS entropy, not a time-seeded PRNG: two runs started in the same instant
// must still get different ids.
std::string generate_run_id() { return random_hex(8); }

}  // namespace avenor::host
