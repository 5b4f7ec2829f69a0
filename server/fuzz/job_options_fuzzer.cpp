// libFuzzer target: the option parser alone, far faster than through HTTP. Each input is a list of
// form fields, "name=value" records separated by NUL bytes; a field named content, style or mask_N
// carries a small fixed PNG whatever its value (the images have their own target: the HTTP one).
// The fields go through parse_job_request (field rules, options JSON and its depth check, text
// fields as option values, each method's schema, the server's limits and the sizes that multiply),
// and an accepted request through its method's own strict check, as Service::submit does.
//
// The oracle besides AddressSanitizer: every refusal must be one of the errors the HTTP layer turns
// into a 4xx (OptionError, LimitError, FormatError); anything else escaping would be a 500 and is
// reported as a crash. With IMPASTO_FUZZ_DICT=FILE the target first writes a libFuzzer dictionary
// of every method's and option's name and choice (scripts/fuzz.sh does, then fuzzes with it).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "impasto/core/error.h"
#include "impasto/style/method.h"
#include "server/job_request.h"

namespace {

using namespace impasto;
using namespace impasto::server;

// A 4x3 RGB PNG, so little time goes into decoding images here.
std::string tiny_png() {
  static const unsigned char bytes[] = {
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
      0x04, 0x00, 0x00, 0x00, 0x03, 0x08, 0x02, 0x00, 0x00, 0x00, 0x3b, 0x96, 0x39, 0x91, 0x00, 0x00, 0x00, 0x27, 0x49,
      0x44, 0x41, 0x54, 0x78, 0xda, 0x0d, 0xc7, 0x31, 0x01, 0x00, 0x30, 0x0c, 0xc3, 0x30, 0x03, 0x0b, 0x92, 0x20, 0xe9,
      0x69, 0x50, 0x01, 0xb8, 0xe9, 0x13, 0x60, 0xf0, 0x70, 0x08, 0x35, 0xf5, 0xea, 0xfa, 0x33, 0x33, 0x6f, 0x6e, 0x3e,
      0xe8, 0xcb, 0x0e, 0x71, 0x47, 0xed, 0xd3, 0xea, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60,
      0x82};
  return std::string(reinterpret_cast<const char*>(bytes), sizeof bytes);
}

const ServerOptions& limits() {
  static const ServerOptions o = [] {
    ServerOptions s;
    s.max_side = 64;
    s.max_iterations = 10;
    s.max_pixels = 64 * 64;
    s.max_request_pixels = 4 * 64 * 64;
    return s;
  }();
  return o;
}

// A libFuzzer dictionary: the words the parser compares against.
void write_dictionary(const char* path) {
  std::set<std::string> words = {"content", "style", "mask_1", "mask_2", "model", "method", "options", "format",
                                 "style_blend_weights", "png", "jpeg", "webp", "mp4", "null", "true", "false"};
  for (const auto& m : method_registry().methods()) {
    words.insert(m->name());
    for (const OptionSpec& spec : m->description().options.options()) {
      words.insert(spec.name);
      for (const auto& c : spec.choices) words.insert(c);
      for (const auto& c : spec.service_choices) words.insert(c);
    }
  }
  std::ofstream out(path);
  for (const auto& w : words) {
    out << '"';
    for (const char c : w) {
      if (c == '"' || c == '\\') out << '\\';
      out << c;
    }
    out << "\"\n";
  }
}

std::vector<FormField> fields_of(const std::string& input) {
  std::vector<FormField> fields;
  size_t start = 0;
  while (start <= input.size()) {
    size_t end = input.find('\0', start);
    if (end == std::string::npos) end = input.size();
    const std::string record = input.substr(start, end - start);
    start = end + 1;
    if (record.empty()) continue;
    const size_t eq = record.find('=');
    FormField f;
    f.name = record.substr(0, eq);
    f.content = eq == std::string::npos ? "" : record.substr(eq + 1);
    if (f.name == "content" || f.name == "style" || f.name.rfind("mask_", 0) == 0) {
      f.filename = "f.png";
      f.content_type = "image/png";
      f.content = tiny_png();
    }
    fields.push_back(std::move(f));
  }
  return fields;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dict = std::getenv("IMPASTO_FUZZ_DICT")) write_dictionary(dict);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<FormField> fields = fields_of(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const JobRequest request = parse_job_request(fields, limits());
    method_registry().get(request.method).check(request.options);
  } catch (const OptionError&) {
  } catch (const SourceError&) {  // FormatError, LimitError
  }
  return 0;
}
