// Loop phase prompts (host/loop/prompt_template): the Go text/template subset
// parsed and rendered from arbitrary text. A bad template must be a
// TemplateError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_text.hpp"
#include "loop/prompt_template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using avenor::host::PromptTemplate;
  using avenor::host::TemplateValues;
  std::string_view text = avenor::fuzz::as_text(data, size);
  try {
    PromptTemplate t = PromptTemplate::parse(text);
    TemplateValues values;
    (void)t.render(values);  // every condition false
    values = TemplateValues{"run", "build", 2, 10, "/w", "abc123", "1 file changed", "a.cpp"};
    (void)t.render(values);  // every condition true
    (void)t.uses(&TemplateValues::diff_stat);
    (void)t.uses(&TemplateValues::changed_files);
    (void)t.empty();
  } catch (const avenor::host::TemplateError& e) {
    avenor::fuzz::require(std::string_view(e.what()).starts_with("template: "),
                          "a template error does not start with \"template: \"");
  }
  return 0;
}
