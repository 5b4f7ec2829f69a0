#pragma once
// The method flags of `impasto stylize` and `impasto explain`, generated from the registered
// methods' option schemas (style/method.h): one flag per option name (--style-weight for
// style_weight), typed and helped as the schema says. A method registered in the library is
// offered here without a change to this folder.
#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

#include "impasto/core/json_options.h"

namespace impasto::cli {

// Method options given as flags, collected as JSON values (only the ones the user set, so the
// method's defaults fill in the rest), keyed by their JSON names.
using MethodFlags = std::map<std::string, Json>;

// Adds --method (the registered methods, described) writing into `method`, and a flag for every
// option of every registered method writing into `flags`.
void add_method_flags(CLI::App* command, std::string& method, MethodFlags& flags);

// The method options: the JSON object of `config_file` (when not empty; FileError / FormatError
// naming it) with the flags on top.
Json method_options(const std::string& config_file, const MethodFlags& flags);

// The method meant: `method` when --method was given, else the one the options name (see
// MethodRegistry::method_for: --model means the method with a model option).
std::string chosen_method(const CLI::App& command, const std::string& method, const Json& options);

}  // namespace impasto::cli
