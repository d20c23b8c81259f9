#include "events/backend_event.hpp"

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/utf8.hpp>
#include <bit>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace avenor::host {
namespace {

namespace bj = boost::json;

// Whether any byte of `w` is below 0x20 (the classic SWAR "has less than").
bool has_control_byte(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHighs = 0x8080808080808080ull;
  return ((w - kOnes * 0x20) & ~w & kHighs) != 0;
}

// Bytes from `p` up to the first one that is not printable ASCII (below 0x20
// or above 0x7f), or to `end`: sixteen at a time with SSE2 (one signed
// compare flags both kinds), else eight.
const unsigned char* skip_printable_ascii(const unsigned char* p, const unsigned char* end) {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const int mask = _mm_movemask_epi8(_mm_cmplt_epi8(v, space));
    if (mask != 0) return p + std::countr_zero(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (end - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    if ((w & 0x8080808080808080ull) != 0 || has_control_byte(w)) break;
    p += 8;
  }
  while (p < end && *p >= 0x20 && *p < 0x80) ++p;
  return p;
}

// Valid UTF-8 without a byte below 0x20.
bool clean_text(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  for (;;) {
    p = skip_printable_ascii(p, end);
    if (p == end) return true;
    if (*p < 0x20) return false;
    const std::size_t len = sdk::utf8::sequence_length(p, end);
    if (len == 0) return false;
    p += len;
  }
}

std::string_view string_at(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

}  // namespace

bool is_trusted_event_body(std::string_view body) {
  if (body.size() < 2 || body.front() != '{' || body.back() != '}') return false;
  if (body.size() > std::numeric_limits<std::uint32_t>::max() / 2) return false;
  return clean_text(body);
}

BackendEvent BackendEvent::from_serialized(std::string_view body, std::string_view type,
                                           std::string_view session_id, std::string_view text,
                                           bool has_usage) {
  BackendEvent e;
  e.data_.reserve(body.size() + type.size() + session_id.size() + text.size());
  auto put = [&e](std::string_view s, std::uint32_t& at, std::uint32_t& size) {
    at = static_cast<std::uint32_t>(e.data_.size());
    size = static_cast<std::uint32_t>(s.size());
    e.data_.append(s);
  };
  std::uint32_t body_at = 0;
  put(body, body_at, e.body_size_);
  put(type, e.type_at_, e.type_size_);
  put(session_id, e.session_at_, e.session_size_);
  put(text, e.text_at_, e.text_size_);
  e.has_usage_ = has_usage;
  return e;
}

BackendEvent BackendEvent::from_object(bj::object event) {
  // The fields come from the object itself, so they cannot disagree with it.
  std::string_view text;
  if (const bj::object* content = sdk::json::find_object(event, "content"))
    text = string_at(*content, "text");
  if (text.empty()) text = string_at(event, "delta");
  const bj::value* usage = event.if_contains("usage");
  BackendEvent e = from_serialized({}, string_at(event, "event"), string_at(event, "session_id"),
                                   text, usage != nullptr && usage->is_object());
  e.object_ = std::move(event);
  return e;
}

bj::object& BackendEvent::object() {
  if (!object_) {
    // The bytes passed is_trusted_event_body (or came from the SDK); should
    // they still not parse, an event named by its type is better than none.
    boost::system::error_code ec;
    bj::value v = sdk::json::parse(body(), ec);
    if (!ec && v.is_object()) {
      object_ = std::move(v.get_object());
    } else {
      object_ = bj::object{{"event", type()}};
    }
  }
  return *object_;
}

}  // namespace avenor::host
