// Managed-server mode: `opencode serve` prints
// "opencode server listening on http://127.0.0.1:<port>" on stdout once it
// accepts connections (it may print other lines first, e.g. a warning about
// OPENCODE_SERVER_PASSWORD). This finds that URL in the raw stdout bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace avenor::opencode_http {

class ListeningLineScanner {
 public:
  // The URL once a complete line announcing it has been seen; later bytes
  // are ignored.
  std::optional<std::string> feed(std::string_view bytes);
  bool found() const { return found_; }
  // The last complete non-empty lines seen before the URL, for an error
  // message when the server exits without announcing it.
  const std::string& recent_output() const { return recent_; }

 private:
  void keep_recent(std::string_view line);

  std::string line_;
  std::string recent_;
  bool found_ = false;
};

// The URL in one stdout line, if the line announces the listening address.
std::optional<std::string> listening_url(std::string_view line);

}  // namespace avenor::opencode_http
