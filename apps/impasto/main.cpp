// impasto: the command line (cli.cpp). main only prepares the process: OpenMP's passive waiting (a
// re-exec when the environment does not set it yet) and the runtime's defaults.
#include "cli.h"
#include "impasto/core/runtime.h"

int main(int argc, char** argv) {
  impasto::reexec_with_passive_openmp(argv);
  impasto::configure_runtime(impasto::RuntimeOptions{});
  return impasto::cli::run(argc, argv);
}
