#include "server_client.hpp"

#include <avenor/sdk/json.hpp>
#include <avenor/sdk/utf8_cut.hpp>
#include <utility>

namespace avenor::opencode_http {

std::string http_status_error(std::string_view what, int status, std::string_view body) {
  std::string_view shown = sdk::utf8_prefix(body, ServerClient::kMaxErrorBody);
  std::string text = std::string(what) + ": HTTP " + std::to_string(status);
  if (!shown.empty()) text += ": " + std::string(shown);
  return text;
}

sdk::HttpRequest ServerClient::request(std::string_view method, std::string_view path) const {
  sdk::HttpRequest r;
  r.method = std::string(method);
  r.url = address_->url(path);
  if (!address_->authorization().empty()) r.headers["authorization"] = address_->authorization();
  return r;
}

sdk::CallId ServerClient::get(std::string_view path, std::chrono::milliseconds timeout, Done done) {
  sdk::HttpRequest r = request("GET", path);
  r.headers["accept"] = "application/json";
  r.timeout = timeout;
  return send(std::move(r), "GET " + std::string(path), std::move(done));
}

sdk::CallId ServerClient::post(std::string_view path, const boost::json::value& body,
                               std::chrono::milliseconds timeout, Done done) {
  sdk::HttpRequest r = request("POST", path);
  r.headers["accept"] = "application/json";
  r.headers["content-type"] = "application/json";
  r.body = sdk::json::dump(body);
  r.timeout = timeout;
  return send(std::move(r), "POST " + std::string(path), std::move(done));
}

sdk::CallId ServerClient::send(sdk::HttpRequest request, std::string what, Done done) {
  return host_.services().http(
      request, [what = std::move(what), done = std::move(done)](sdk::Outcome<sdk::HttpResponse> r) {
        ServerReply reply;
        if (!r.ok()) {
          reply.error = what + ": " + (r.cancelled ? std::string("cancelled") : r.error);
        } else {
          reply.status = r->status;
          if (r->status >= 200 && r->status < 300)
            reply.body = std::move(r->body);
          else
            reply.error = http_status_error(what, r->status, r->body);
        }
        if (done) done(std::move(reply));
      });
}

}  // namespace avenor::opencode_http
