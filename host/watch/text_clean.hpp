// Text helpers for watch's plain output (events.md §8.3, §8.6): rune-based
// cutting, the `\r\n\t` run collapsing and Unicode whitespace trimming, with
// the semantics of the Go implementation (unicode.IsSpace, invalid UTF-8 bytes
// read as U+FFFD one byte at a time).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace avenor::host::watch {

// `text` with every invalid UTF-8 byte replaced by U+FFFD (what a Go JSON
// decoder hands out); valid text is returned unchanged.
std::string valid_utf8(std::string_view text);

// Go's unicode.IsSpace.
bool is_unicode_space(char32_t rune);

// Every run of '\r', '\n', '\t' becomes one space.
std::string collapse_line_breaks(std::string_view text);

// The first `max_runes` code points of `text` (all of it when shorter).
std::string_view cut_runes(std::string_view text, std::size_t max_runes);

std::string_view trim_right_space(std::string_view text);
std::string_view trim_space(std::string_view text);

// Plain-format excerpt cleaning: collapse, cut to 120 runes, trim the right
// end (leading spaces are kept).
std::string clean_excerpt(std::string_view text);

// --accumulate cleaning: collapse and trim both ends; never cut.
std::string clean_accumulated(std::string_view text);

// Plain output goes to terminals, and a log is outside input: no character
// a terminal acts on may pass. C0 controls and DEL become their visible
// Unicode control pictures (ESC → U+241B "␛", BEL → U+2407, LF → U+240A),
// TAB becomes a space, C1 controls (U+0080-U+009F, among them the 8-bit CSI
// and OSC introducers) and invalid UTF-8 become U+FFFD. Everything else is
// kept as it is.
std::string terminal_safe(std::string_view text);

inline constexpr std::size_t kExcerptRunes = 120;

}  // namespace avenor::host::watch
