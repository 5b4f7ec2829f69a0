#include "impasto/io/builtin_models.h"

#include <cstdlib>
#include <filesystem>

namespace impasto {

std::vector<std::string> builtin_model_dirs() {
  if (const char* env = std::getenv("IMPASTO_MODELS_DIR"); env && *env) return {env};
  std::vector<std::string> dirs;
#ifdef IMPASTO_INSTALLED_MODELS_DIR
  dirs.emplace_back(IMPASTO_INSTALLED_MODELS_DIR);
#endif
#ifdef IMPASTO_SOURCE_MODELS_DIR
  dirs.emplace_back(IMPASTO_SOURCE_MODELS_DIR);
#endif
  return dirs;
}

std::string find_builtin_model(const std::string& relative) {
  for (const std::string& dir : builtin_model_dirs()) {
    const std::filesystem::path path = std::filesystem::path(dir) / relative;
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return path.string();
  }
  return "";
}

}  // namespace impasto
