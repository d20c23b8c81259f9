#include "services/file_services.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <avenor/sdk/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "util/atomic_file.hpp"
#include "util/unique_fd.hpp"
#include "util/utf8.hpp"

namespace avenor::host {
namespace {

namespace json = sdk::json;
namespace fs = std::filesystem;

constexpr std::uint64_t kMaxReadBytes = std::uint64_t{16} << 20;

std::string required_path(const boost::json::object& request) {
  std::string path = json::string_or(request, "path");
  if (path.empty()) throw std::runtime_error("path is required");
  return path;
}

[[noreturn]] void fail_errno(const std::string& what, int err) {
  throw std::runtime_error(what + ": " + std::strerror(err));
}

boost::json::object read_file(const boost::json::object& request) {
  const std::string path = required_path(request);
  const auto offset = static_cast<std::uint64_t>(json::find_int(request, "offset").value_or(0));
  auto max = static_cast<std::uint64_t>(json::find_int(request, "max_bytes").value_or(1 << 20));
  if (max == 0 || max > kMaxReadBytes) max = kMaxReadBytes;

  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT)
      return {{"exists", false}, {"size", 0}, {"data", ""}, {"next_offset", offset}};
    fail_errno("read " + path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail_errno("read " + path, errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::string data;
  if (offset < size) {
    data.resize(static_cast<std::size_t>(std::min(max, size - offset)));
    ssize_t n = ::pread(fd.get(), data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) fail_errno("read " + path, errno);
    data.resize(static_cast<std::size_t>(n));
  }
  if (json::bool_or(request, "whole_lines")) {
    auto nl = data.rfind('\n');
    data.resize(nl == std::string::npos ? 0 : nl + 1);
  }
  const std::uint64_t next = offset + data.size();
  return {{"exists", true}, {"size", size}, {"data", to_valid_utf8(data)}, {"next_offset", next}};
}

boost::json::object write_file(const boost::json::object& request) {
  const std::string path = required_path(request);
  const std::string data = json::string_or(request, "data");
  const auto mode = static_cast<mode_t>(json::find_int(request, "mode").value_or(0644));
  try {
    if (json::bool_or(request, "atomic", true)) {
      const std::string prefix = "." + fs::path(path).filename().string() + ".";
      write_file_atomically(path, data, prefix, mode);
      return {};
    }
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd) fail_errno("write " + path, errno);
    write_all(fd.get(), data, "write " + path);
  } catch (const std::system_error& e) {
    throw std::runtime_error(e.what());
  }
  return {};
}

boost::json::object remove_path(const boost::json::object& request) {
  const std::string path = required_path(request);
  std::error_code ec;
  bool removed =
      json::bool_or(request, "recursive") ? fs::remove_all(path, ec) > 0 : fs::remove(path, ec);
  if (ec) throw std::runtime_error("remove " + path + ": " + ec.message());
  return {{"removed", removed}};
}

boost::json::object make_temp_dir(const boost::json::object& request) {
  std::string prefix = json::string_or(request, "prefix", "avenor-");
  if (prefix.find('/') != std::string::npos)
    throw std::runtime_error("temp dir prefix must not contain '/'");
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) fail_errno("make temp dir " + pattern, errno);
  return {{"path", std::string(buf.data())}};
}

}  // namespace

bool is_file_service(std::string_view service) {
  return service == "file.read" || service == "file.write" || service == "file.remove" ||
         service == "file.temp_dir";
}

boost::json::object run_file_service(std::string_view service, const boost::json::object& request) {
  if (service == "file.read") return read_file(request);
  if (service == "file.write") return write_file(request);
  if (service == "file.remove") return remove_path(request);
  if (service == "file.temp_dir") return make_temp_dir(request);
  throw std::runtime_error("unknown file service " + std::string(service));
}

}  // namespace avenor::host
