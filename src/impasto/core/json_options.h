#pragma once
// Options structs <-> JSON. Reading is strict: a key the struct does not know is an OptionError
// naming it (a typo in a config or an API request must not be silently ignored).
#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "impasto/core/error.h"

namespace impasto {

using Json = nlohmann::json;

class JsonReader {
 public:
  explicit JsonReader(const Json& json) : json_(json) {
    if (!json_.is_object()) throw OptionError("options", "expected a JSON object, got " + std::string(json_.type_name()));
  }

  // Reads `key` into `value` when present; leaves the default otherwise.
  template <class T>
  JsonReader& get(const std::string& key, T& value) {
    known_.insert(key);
    auto it = json_.find(key);
    if (it == json_.end() || it->is_null()) return *this;
    try {
      value = it->template get<T>();
    } catch (const nlohmann::json::exception& e) {
      throw OptionError(key, std::string("wrong type: ") + e.what());
    }
    return *this;
  }

  // Throws for the first key that no get() asked for.
  void reject_unknown() const {
    for (auto it = json_.begin(); it != json_.end(); ++it) {
      if (!known_.count(it.key())) {
        std::string valid;
        for (const auto& k : known_) valid += (valid.empty() ? "" : ", ") + k;
        throw OptionError(it.key(), "unknown option; valid: " + valid);
      }
    }
  }

 private:
  const Json& json_;
  std::set<std::string> known_;
};

// JSON text for output that carries what users typed (paths, form fields, request lines): bytes that
// are not valid UTF-8 become U+FFFD instead of making nlohmann::json throw (found by fuzzing).
inline std::string json_text(const Json& json, int indent = -1) {
  return json.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace impasto
