#pragma once
// Helpers shared by the tests: temporary folders and running the CLI.
#include <gtest/gtest.h>

#include <exception>
#include <string>

#include "impasto/core/error.h"

namespace impasto::test {

// A fresh, empty folder under the test temp dir (unique per call).
std::string temp_dir(const std::string& name);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line; stdout and stderr captured together.
CommandResult run_shell(const std::string& command);
// Runs `impasto <args>` (the built CLI).
CommandResult run_cli(const std::string& args);
// Runs `impasto <args>` as ranks 1 and 0 of a two-process data-parallel run on this machine, started
// with the variables torchrun sets (a free loopback port); the output ends with
// "exit=<rank 0's exit code>,<rank 1's>".
CommandResult run_cli_two_ranks(const std::string& args);
// A loopback port nobody listens on right now.
int free_port();
// Runs `impasto <args>` and expects it to fail with `needle` in its output, and not as an internal error.
void expect_cli_failure(const std::string& args, const std::string& needle);

std::string fixture(const std::string& relative);  // absolute path of tests/fixtures/<relative>

// Runs f and expects it to throw E; returns the message (a test failure and "" otherwise).
template <class E, class F>
std::string expect_error(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception thrown";
  return "";
}

// Runs f and expects it to throw an OptionError; returns the option it names ("" and a test failure
// otherwise).
template <class F>
std::string failing_option(F&& f) {
  try {
    f();
  } catch (const OptionError& e) {
    return e.option();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception thrown";
  return "";
}

}  // namespace impasto::test
