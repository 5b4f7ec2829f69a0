// A restart loses no accepted job: the real `impasto serve` process is killed (SIGKILL, like a crash)
// with jobs queued and one running; a new process on the same data folder runs them all.
#include <gtest/gtest.h>

#include "server_support.h"
#include "test_support.h"

namespace impasto::test {
namespace {

TEST(ServerRestart, KilledServerResumesEveryAcceptedJob) {
  const std::string data = temp_dir("restart_data");
  const std::string args = "--data-dir '" + data + "' --workers 1 --threads 1";
  std::vector<std::string> ids;
  {
    ServeProcess serve(args);
    ASSERT_GT(serve.port(), 0);
    httplib::Client client("127.0.0.1", serve.port());
    client.set_read_timeout(60, 0);
    for (int i = 0; i < 3; ++i) {
      auto res = client.Post("/v1/jobs", optimisation_job(/*iterations=*/40, /*image_size=*/32, /*seed=*/i, 24, 32));
      ASSERT_TRUE(res);
      ASSERT_EQ(res->status, 202) << res->body;
      ids.push_back(Json::parse(res->body)["id"]);
    }
    // Kill it while the first job runs (or right away if it is already further).
    for (int k = 0; k < 400; ++k) {
      auto res = client.Get("/v1/jobs/" + ids[0]);
      if (res && Json::parse(res->body)["state"] != "queued") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    serve.kill_hard();
  }
  ServeProcess again(args);
  ASSERT_GT(again.port(), 0);
  EXPECT_NE(again.output().find("resuming"), std::string::npos) << again.output();
  httplib::Client client("127.0.0.1", again.port());
  client.set_read_timeout(60, 0);
  for (const auto& id : ids) {
    const Json job = wait_for_job(client, id, 120);
    EXPECT_EQ(job["state"], "succeeded") << job.dump();
    auto result = client.Get("/v1/jobs/" + id + "/result");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
  }
  // SIGTERM stops it cleanly.
  EXPECT_EQ(again.stop(), 0) << again.output();
}

}  // namespace
}  // namespace impasto::test
