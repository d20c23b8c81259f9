#include "control_client/rpc_client.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/system/system_error.hpp>
#include <cctype>
#include <thread>

#include "util/json_text.hpp"

namespace avenor::host::control_client {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
using stream = asio::local::stream_protocol;

std::string timeout_text(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

// A response id equal to ours. The server echoes the number we sent, which
// Boost.JSON parses back as int64 (uint64 only above INT64_MAX).
bool same_id(const bj::value& id, std::int64_t ours) {
  if (id.is_int64()) return id.get_int64() == ours;
  if (id.is_uint64()) return ours >= 0 && id.get_uint64() == static_cast<std::uint64_t>(ours);
  if (id.is_double()) return id.get_double() == static_cast<double>(ours);
  return false;
}

}  // namespace

std::string describe_error(const boost::system::error_code& ec) {
  std::string text = ec.message();
  // Go's syscall errors are lower case; strerror capitalizes the first word.
  if (text.size() > 1 && std::isupper(static_cast<unsigned char>(text[0])) &&
      std::islower(static_cast<unsigned char>(text[1])))
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

RpcClient::RpcClient(const std::string& socket_path, std::chrono::milliseconds timeout)
    : socket_(io_) {
  const std::string prefix = "dial unix " + socket_path + ": ";
  stream::endpoint endpoint;
  try {
    endpoint = stream::endpoint(socket_path);
  } catch (const boost::system::system_error& e) {  // path longer than sun_path
    throw TransportError(prefix + describe_error(e.code()));
  }
  boost::system::error_code result = asio::error::would_block;
  socket_.async_connect(endpoint, [&](const boost::system::error_code& ec) { result = ec; });
  if (!run(Clock::now() + timeout))
    throw TransportError(prefix + "connect: timeout after " + timeout_text(timeout));
  if (result) {
    close_socket();
    throw TransportError(prefix + "connect: " + describe_error(result), result);
  }
}

std::unique_ptr<RpcClient> dial_when_accepting(const std::string& socket_path,
                                               std::chrono::nanoseconds wait) {
  constexpr std::chrono::milliseconds kRetryEvery{25};
  const RpcClient::Clock::time_point deadline = RpcClient::Clock::now() + wait;
  while (true) {
    try {
      return std::make_unique<RpcClient>(socket_path);
    } catch (const TransportError& e) {
      const boost::system::error_code& ec = e.dial_error();
      const bool not_up_yet = ec == boost::system::errc::no_such_file_or_directory ||
                              ec == boost::system::errc::connection_refused;
      if (!not_up_yet || wait <= std::chrono::nanoseconds::zero()) throw;
      const RpcClient::Clock::time_point now = RpcClient::Clock::now();
      if (now >= deadline) return nullptr;
      std::this_thread::sleep_for(
          std::min<RpcClient::Clock::duration>(kRetryEvery, deadline - now));
    }
  }
}

bool RpcClient::run(std::optional<Clock::time_point> deadline) {
  io_.restart();
  if (!deadline) {
    io_.run();
    return true;
  }
  io_.run_until(*deadline);
  if (io_.stopped()) return true;  // ran out of work: every operation completed
  close_socket();                  // aborts the pending operation...
  io_.restart();
  io_.run();  // ...and lets its handler see operation_aborted
  return false;
}

void RpcClient::close_socket() {
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(stream::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void RpcClient::close_from_any_thread() {
  // Posted, because the socket may only be touched by the thread running io_.
  asio::post(io_, [this] { close_socket(); });
}

RpcClient::ReadResult RpcClient::read_line(std::optional<Clock::time_point> deadline) {
  // Lines are cut out of the buffer by offset; consumed bytes are dropped only when the
  // buffer holds no complete line, so a burst of events costs O(bytes), not O(bytes x lines).
  constexpr std::size_t kReadChunk = 64 * 1024;
  while (true) {
    const std::size_t newline = read_buffer_.find('\n', scan_from_);
    if (newline != std::string::npos) {
      ReadResult result{LineStatus::line, read_buffer_.substr(line_start_, newline - line_start_)};
      line_start_ = scan_from_ = newline + 1;
      return result;
    }
    if (read_buffer_.size() - line_start_ > kMaxLineBytes) {
      close_socket();
      throw TransportError("read: line exceeds " + std::to_string(kMaxLineBytes >> 20) + " MiB");
    }
    if (closed_) return {};
    read_buffer_.erase(0, line_start_);
    line_start_ = 0;
    scan_from_ = read_buffer_.size();

    const std::size_t old_size = read_buffer_.size();
    read_buffer_.resize(old_size + kReadChunk);
    boost::system::error_code error;
    std::size_t got = 0;
    socket_.async_read_some(asio::buffer(read_buffer_.data() + old_size, kReadChunk),
                            [&](const boost::system::error_code& ec, std::size_t n) {
                              error = ec;
                              got = n;
                            });
    const bool completed = run(deadline);
    read_buffer_.resize(old_size + got);
    if (!completed) return {LineStatus::timed_out, {}};
    if (!error) continue;
    // A partial line left at end of stream is a frame cut off by the close; it carries
    // nothing a caller could use.
    close_socket();
    if (error == asio::error::eof || error == asio::error::connection_reset ||
        error == asio::error::operation_aborted || error == asio::error::bad_descriptor)
      return {};
    throw TransportError("read: " + describe_error(error));
  }
}

bool RpcClient::dispatch(const std::string& line, std::optional<std::int64_t> id,
                         bj::object* response) {
  boost::system::error_code ec;
  bj::value frame = bj::parse(line, ec);
  if (ec || !frame.is_object()) {
    close_socket();
    throw TransportError("invalid frame from server: " +
                         (ec ? describe_error(ec) : std::string("not a JSON object")));
  }
  bj::object& object = frame.get_object();
  if (const bj::value* method = object.if_contains("method")) {
    // Notifications other than events (none are defined today) are skipped.
    const bj::value* params = object.if_contains("params");
    if (method->is_string() && method->get_string() == "event" && params != nullptr &&
        params->is_object())
      events_.push_back(std::move(params->get_object()));
    return false;
  }
  if (!id) return false;
  const bj::value* frame_id = object.if_contains("id");
  const bj::value* error = object.if_contains("error");
  // id:null with an error is the server's answer to a line it could not
  // read; requests go one at a time, so that line was ours.
  const bool ours =
      frame_id != nullptr &&
      (same_id(*frame_id, *id) || (frame_id->is_null() && error != nullptr && !error->is_null()));
  if (!ours) return false;  // a stale response to an earlier, timed-out call
  *response = std::move(object);
  return true;
}

bj::value RpcClient::call(std::string_view method, const std::optional<bj::object>& params,
                          std::optional<std::chrono::milliseconds> timeout) {
  std::optional<Clock::time_point> deadline;
  if (timeout) deadline = Clock::now() + *timeout;
  if (closed_) throw TransportError("connection is closed");
  const std::int64_t id = next_id_++;
  bj::object request;
  request["jsonrpc"] = "2.0";
  request["id"] = id;
  request["method"] = method;
  if (params) request["params"] = *params;
  std::string frame = to_compact_json(request);
  frame += '\n';

  boost::system::error_code write_error = asio::error::would_block;
  asio::async_write(socket_, asio::buffer(frame),
                    [&](const boost::system::error_code& ec, std::size_t) { write_error = ec; });
  if (!run(deadline))
    throw TransportError("timeout after " + timeout_text(*timeout) + " writing the request");
  if (write_error) {
    close_socket();
    throw TransportError("write: " + describe_error(write_error));
  }

  bj::object response;
  while (true) {
    ReadResult read = read_line(deadline);
    if (read.status == LineStatus::timed_out)
      throw TransportError("timeout after " + timeout_text(*timeout) + " waiting for the response");
    if (read.status == LineStatus::closed)
      throw TransportError("connection closed before the response arrived");
    if (dispatch(read.line, id, &response)) break;
  }

  const bj::value* error = response.if_contains("error");
  if (error == nullptr || error->is_null()) {
    const bj::value* result = response.if_contains("result");
    return result != nullptr ? *result : bj::value(nullptr);
  }
  const bj::object* error_object = error->if_object();
  const bj::value* code = error_object ? error_object->if_contains("code") : nullptr;
  const bj::value* message = error_object ? error_object->if_contains("message") : nullptr;
  if (code == nullptr || !(code->is_int64() || code->is_uint64() || code->is_double()) ||
      (message != nullptr && !message->is_string()))
    throw TransportError("malformed error response: " + to_compact_json(*error));
  boost::system::error_code number_error;
  const auto code_value = code->to_number<std::int64_t>(number_error);
  if (number_error) throw TransportError("malformed error response: " + to_compact_json(*error));
  const bj::value* data = error_object->if_contains("data");
  throw CallError(code_value,
                  message != nullptr ? std::string(message->get_string()) : std::string(),
                  data != nullptr ? *data : bj::value(nullptr));
}

std::optional<bj::object> RpcClient::next_event() {
  while (events_.empty()) {
    ReadResult read = read_line(std::nullopt);
    if (read.status != LineStatus::line) return std::nullopt;
    dispatch(read.line, std::nullopt, nullptr);
  }
  bj::object event = std::move(events_.front());
  events_.pop_front();
  return event;
}

}  // namespace avenor::host::control_client
