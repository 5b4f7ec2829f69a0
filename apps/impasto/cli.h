#pragma once
// The command line as one function: what main() calls, and what tests call to run a command in their
// own process (so a method they register is offered). Parses argv, runs the command and returns the
// exit code; messages go to stderr.
namespace impasto::cli {

int run(int argc, char** argv);

}  // namespace impasto::cli
