// avenor's own diagnostics on stderr ("avenor: warning: …"), whatever command
// runs. spdlog writes them, from this one place: compiled header-only (its
// shared libraries cost every `avenor run` their loading, issue 15), it would
// otherwise double the compile time of every file that logs.
#pragma once

#include <string_view>

namespace avenor::host::diagnostics {

enum class Level { debug, info, warn, error };

// Once, first thing in main: warnings and errors to stderr; SPDLOG_LEVEL=debug
// in the environment shows the rest too.
void configure();

// Whether a message at `level` would be written: skips building a costly one.
bool enabled(Level level);
void write(Level level, std::string_view message);

inline void debug(std::string_view message) { write(Level::debug, message); }
inline void info(std::string_view message) { write(Level::info, message); }
inline void warn(std::string_view message) { write(Level::warn, message); }
inline void error(std::string_view message) { write(Level::error, message); }

}  // namespace avenor::host::diagnostics
