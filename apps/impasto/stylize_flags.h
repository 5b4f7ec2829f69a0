#pragma once
// The method flags of `impasto stylize` (--backbone, --style-weight, --model, ...), shared with
// `impasto explain`, which runs the same stylization before explaining it.
#include <CLI/CLI.hpp>

#include <map>
#include <string>

#include "impasto/core/json_options.h"

namespace impasto::cli {

// Method options given as flags, collected as JSON values (only the ones the user set, so the
// backbone's recipe fills in the rest), keyed by their JSON names (`style_weight` for --style-weight).
using MethodFlags = std::map<std::string, Json>;

// Adds every method flag of stylize to `command`, writing into `flags`.
void add_stylize_method_flags(CLI::App* command, MethodFlags& flags);

// The method options: the JSON object of `config_file` (when not empty; FileError / FormatError
// naming it) with the flags on top.
Json method_options(const std::string& config_file, const MethodFlags& flags);

}  // namespace impasto::cli
