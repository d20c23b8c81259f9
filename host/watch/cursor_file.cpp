#include "watch/cursor_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <system_error>

#include "util/atomic_file.hpp"
#include "util/read_file.hpp"
#include "util/replaceable_path.hpp"
#include "util/unique_fd.hpp"

namespace avenor::host::watch {
namespace {

// A cursor is one decimal int64 and a newline; anything much longer is not one.
constexpr std::size_t kMaxCursorBytes = 4096;

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
  std::string content;
  try {
    // A FIFO or device given as the cursor must not hang watch or feed it
    // without end; a real cursor is one short line. A link is refused here
    // already, as write_cursor would refuse to replace it at the end.
    content = read_regular_file(path, kMaxCursorBytes, Symlinks::refuse);
  } catch (const FileReadError& e) {
    if (e.missing()) return CursorRead{};
    return CursorRead{0, "read cursor file " + path.string() + ": " + e.code().message()};
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
  // Only a regular file is replaced (a FIFO or link at the path is not ours).
  if (auto refusal = replace_refusal(path)) return "write cursor: " + *refusal;
  const std::string tmp = path.string() + ".tmp";
  // `<path>.tmp` is the documented temp name, so a regular file there is a
  // leftover of ours and is reused; anything else is left alone. No O_TRUNC
  // before that check, and O_NONBLOCK so a FIFO cannot block the open.
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644));
  if (!fd) {
    // ELOOP: a link; ENXIO: a FIFO nobody reads.
    if (errno == ELOOP || errno == ENXIO) return "write cursor tmp " + tmp + ": not a regular file";
    return "write cursor tmp " + tmp + ": " + errno_text(errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return "write cursor tmp " + tmp + ": " + errno_text(errno);
  if (!S_ISREG(st.st_mode)) return "write cursor tmp " + tmp + ": not a regular file";
  try {
    if (::ftruncate(fd.get(), 0) != 0)
      throw std::system_error(errno, std::generic_category(), "write cursor tmp " + tmp);
    // Exactly 0644 whatever the umask or the mode of a stale temp file.
    if (::fchmod(fd.get(), 0644) != 0)
      throw std::system_error(errno, std::generic_category(), "chmod " + tmp);
    write_all(fd.get(), std::to_string(offset) + "\n", "write cursor tmp " + tmp);
    if (::close(fd.release()) != 0)
      throw std::system_error(errno, std::generic_category(), "close " + tmp);
  } catch (const std::system_error& e) {
    fd.reset();
    (void)remove_regular_file(tmp);
    return e.what();
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    (void)remove_regular_file(tmp);
    return "rename cursor " + tmp + " -> " + path.string() + ": " + errno_text(error);
  }
  return "";
}

}  // namespace avenor::host::watch
