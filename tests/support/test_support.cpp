#include "test_support.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
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

CommandResult run_cli_two_ranks(const std::string& args) {
  const std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_port()) + " WORLD_SIZE=2 ";
  const std::string cli = std::string(IMPASTO_CLI_PATH) + " " + args;
  return run_shell(env + "RANK=1 LOCAL_RANK=1 " + cli + " & " + env + "RANK=0 LOCAL_RANK=0 " + cli +
                   "; a=$?; wait $!; echo exit=$a,$?");
}

// Bind to port 0, read back what the kernel chose, close.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

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
