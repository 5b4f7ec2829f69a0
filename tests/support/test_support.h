#pragma once
// Helpers shared by the tests: temporary folders and running the CLI.
#include <string>

namespace impasto::test {

// A fresh, empty folder under the test temp dir (unique per call).
std::string temp_dir(const std::string& name);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `impasto <args>` (the built CLI) with a shell; output captured.
CommandResult run_cli(const std::string& args);

std::string fixture(const std::string& relative);  // absolute path of tests/fixtures/<relative>

}  // namespace impasto::test
