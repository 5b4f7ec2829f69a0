#include "test_support.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>

namespace impasto::test {

std::string temp_dir(const std::string& name) {
  static std::atomic<int> counter{0};
  const std::string dir = ::testing::TempDir() + "impasto_" + std::to_string(getpid()) + "_" + name + "_" +
                          std::to_string(counter++);
  std::system(("rm -rf '" + dir + "'").c_str());
  if (mkdir(dir.c_str(), 0755) != 0) ADD_FAILURE() << "cannot create " << dir;
  return dir;
}

CommandResult run_cli(const std::string& args) { return run_shell(std::string(IMPASTO_CLI_PATH) + " " + args); }

void expect_cli_failure(const std::string& args, const std::string& needle) {
  auto r = run_cli(args);
  EXPECT_NE(r.exit_code, 0) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << "expected '" << needle << "' in:\n" << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
}

CommandResult run_shell(const std::string& command_line) {
  CommandResult result;
  const std::string command = "(" + command_line + ") 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string fixture(const std::string& relative) { return std::string(IMPASTO_FIXTURES_DIR) + "/" + relative; }

}  // namespace impasto::test
