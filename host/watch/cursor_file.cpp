#include "watch/cursor_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <system_error>

#include "util/atomic_file.hpp"
#include "util/unique_fd.hpp"

namespace avenor::host::watch {
namespace {

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// Go's %q for the cursor text in diagnostics.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7F) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

CursorRead parse_cursor(std::string_view content, const std::filesystem::path& path) {
  CursorRead result;
  std::string_view text = content;
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  const std::string prefix = "invalid cursor file " + path.string() + ": ";
  // strconv.ParseInt(s, 10, 64): an optional sign, then decimal digits only.
  std::string_view digits = text;
  bool negative = false;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  const bool all_digits =
      !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
  if (!all_digits) {
    result.error = prefix + "parsing " + quoted(text) + ": invalid syntax";
    return result;
  }
  std::uint64_t magnitude = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  const std::uint64_t limit = negative ? (std::uint64_t{1} << 63) : (std::uint64_t{1} << 63) - 1;
  if (ec != std::errc() || end != digits.data() + digits.size() || magnitude > limit) {
    result.error = prefix + "parsing " + quoted(text) + ": value out of range";
    return result;
  }
  if (negative && magnitude != 0) {
    result.error = prefix + "negative offset " + std::string(text);
    return result;
  }
  result.offset = static_cast<std::int64_t>(magnitude);
  return result;
}

CursorRead read_cursor(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return CursorRead{};
    return CursorRead{0, "read cursor file " + path.string() + ": " + errno_text(errno)};
  }
  std::string content;
  std::array<char, 4096> buf{};
  while (true) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return CursorRead{0, "read cursor file " + path.string() + ": " + errno_text(errno)};
    }
    content.append(buf.data(), static_cast<std::size_t>(n));
  }
  return parse_cursor(content, path);
}

std::string check_cursor_against_log(std::int64_t offset, std::int64_t log_size,
                                     const std::filesystem::path& log_path,
                                     const std::filesystem::path& cursor_path) {
  if (offset <= log_size) return "";
  return "log " + log_path.filename().string() + " shorter than cursor (offset " +
         std::to_string(offset) + " > size " + std::to_string(log_size) + ") (cursor " +
         cursor_path.string() + ")";
}

std::string write_cursor(const std::filesystem::path& path, std::int64_t offset) {
  const std::string tmp = path.string() + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return "write cursor tmp " + tmp + ": " + errno_text(errno);
  try {
    // Exactly 0644 whatever the umask or the mode of a stale temp file.
    if (::fchmod(fd.get(), 0644) != 0)
      throw std::system_error(errno, std::generic_category(), "chmod " + tmp);
    write_all(fd.get(), std::to_string(offset) + "\n", "write cursor tmp " + tmp);
    if (::close(fd.release()) != 0)
      throw std::system_error(errno, std::generic_category(), "close " + tmp);
  } catch (const std::system_error& e) {
    fd.reset();
    ::unlink(tmp.c_str());
    return e.what();
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    return "rename cursor " + tmp + " -> " + path.string() + ": " + errno_text(error);
  }
  return "";
}

}  // namespace avenor::host::watch
