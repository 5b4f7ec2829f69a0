// Slow clients (slowloris): connections that send a request a byte at a time, or never finish a
// body, are cut off at the request deadline, so a handful of them cannot hold every HTTP thread.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "server_support.h"
#include "test_support.h"

namespace impasto::test {
namespace {

int connect_to(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// True when the server closed the connection (EOF, reset, or a response followed by EOF).
bool closed_by_server(int fd) {
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n <= 0 || closed_by_server(fd);
}

TEST(SlowClients, AreCutOffAtTheRequestDeadlineAndOthersAreServed) {
  auto options = test_server_options("slow");
  options.http_threads = 3;
  options.request_deadline_s = 1.5;
  TestServer server(options);

  // As many slow connections as HTTP threads: headers a byte at a time, and a body that never ends.
  const std::string header = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  const std::string post = "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n--B";
  std::vector<int> slow;
  for (int i = 0; i < 3; ++i) {
    const int fd = connect_to(server.port());
    ASSERT_GE(fd, 0);
    if (i == 2) ASSERT_EQ(send(fd, post.data(), post.size(), MSG_NOSIGNAL), static_cast<ssize_t>(post.size()));
    slow.push_back(fd);
  }
  const auto start = std::chrono::steady_clock::now();
  std::vector<bool> cut(slow.size(), false);
  size_t next_byte = 0;
  bool all_cut = false;
  while (!all_cut && std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
    all_cut = true;
    for (size_t i = 0; i < slow.size(); ++i) {
      if (cut[i]) continue;
      cut[i] = closed_by_server(slow[i]);
      if (!cut[i]) {  // one more byte, as a slow client would
        const char byte = i == 2 ? 'x' : header[next_byte % header.size()];
        if (send(slow[i], &byte, 1, MSG_NOSIGNAL) < 0) cut[i] = true;
      }
      all_cut = all_cut && cut[i];
    }
    ++next_byte;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (size_t i = 0; i < slow.size(); ++i) EXPECT_TRUE(cut[i]) << "slow connection " << i << " still open after " << took << " s";
  for (int fd : slow) close(fd);

  // Every thread is free again: an ordinary request is answered.
  auto client = server.client();
  client.set_read_timeout(10, 0);
  auto health = client.Get("/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const std::string metrics = client.Get("/metrics")->body;
  EXPECT_NE(metrics.find("impasto_rejections_total{reason=\"request_deadline\"} 3"), std::string::npos) << metrics;
}

TEST(SlowClients, KeepAliveStillServesManyRequestsOnOneConnection) {
  auto options = test_server_options("keepalive");
  options.request_deadline_s = 2;
  TestServer server(options);
  auto client = server.client();
  client.set_keep_alive(true);
  for (int i = 0; i < 20; ++i) {  // more than one deadline's worth of time in total
    auto res = client.Get("/v1/health");
    ASSERT_TRUE(res) << i;
    EXPECT_EQ(res->status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
}

}  // namespace
}  // namespace impasto::test
