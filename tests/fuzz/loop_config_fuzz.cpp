// Loop files (host/loop): JSON, YAML or TOML text through the structured-text
// converters and the strict loop-file validator, as `run --loop-file` and
// `verify` load them, nested loop_file resolution included (a file naming
// itself is a cycle). The first byte picks the
// format: 'y' YAML, 't' TOML, anything else JSON; the rest is the file.
// Only the documented exceptions may come out.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "fuzz_text.hpp"
#include "loop/loop_config.hpp"
#include "loop/loop_file_tree.hpp"
#include "loop/structured_text.hpp"
#include "scratch_dir.hpp"

namespace {

namespace fs = std::filesystem;
using avenor::host::TextFormat;

// A private directory for the file under test, removed when the fuzzer exits.
const fs::path& scratch() {
  static const avenor::fuzz::ScratchDir dir("avenor-loop-fuzz",
                                            "loop.");  // one per fuzzing process
  return dir.path();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const TextFormat format = data[0] == 'y'   ? TextFormat::yaml
                            : data[0] == 't' ? TextFormat::toml
                                             : TextFormat::json;
  std::string_view text = avenor::fuzz::as_text(data + 1, size - 1);

  const char* name = format == TextFormat::yaml   ? "loop.yaml"
                     : format == TextFormat::toml ? "loop.toml"
                                                  : "loop.json";
  const fs::path file = scratch() / name;
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  // Each call parses the file once: a YAML alias bomb at its budget costs
  // seconds per parse in this build, so only the two entry points run —
  // `run --loop-file` (load_loop_config) and `verify` (check_loop_files).
  try {
    (void)avenor::host::load_loop_config(file);
  } catch (const avenor::host::LoopConfigError& e) {
    avenor::fuzz::require(std::string_view(e.what()).starts_with("loop config: "),
                          "a loop config error does not start with \"loop config: \"", e.what());
  }
  for (const auto& check : avenor::host::check_loop_files(file))
    for (const std::string& error : check.errors)
      avenor::fuzz::require(error.starts_with("loop config: "),
                            "a verify error does not start with \"loop config: \"", error);
  return 0;
}
