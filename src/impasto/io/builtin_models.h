#pragma once
// Files that ship with impasto (the models it trains itself, under models/ in the source tree): found
// at run time in $IMPASTO_MODELS_DIR when it is set (and only there), else where `cmake --install`
// put them (<prefix>/share/impasto/models), then in the source tree the binary was built from (so a
// fresh clone's build/impasto finds them with nothing installed).
#include <string>
#include <vector>

namespace impasto {

// The path of models/<relative>, or "" when no folder above holds it.
std::string find_builtin_model(const std::string& relative);
// The folders searched, in order (for messages).
std::vector<std::string> builtin_model_dirs();

}  // namespace impasto
