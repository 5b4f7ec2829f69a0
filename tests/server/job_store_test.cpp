// The job store's behaviour, the same tests for both stores: SQLite (one process) and PostgreSQL
// (many processes: here, several store instances on one database, each with its own connection, as
// separate `impasto serve` processes would have).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "postgres_support.h"
#include "server/api_keys.h"
#include "server/job_store.h"
#include "test_support.h"

namespace impasto::test {
namespace {

namespace fs = std::filesystem;
using server::JobRecord;
using server::JobState;

std::string read_binary(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      IMPASTO_REQUIRE_POSTGRES();
      spec_ = PostgresServer::get().fresh_database("store");
    }
    data_ = temp_dir("store_" + GetParam());
  }
  // Another process's view of the same store (PostgreSQL), or this one's (SQLite: one process).
  server::JobStore& open() {
    if (GetParam() == "sqlite" && !stores_.empty()) return *stores_.front();
    stores_.push_back(server::open_job_store(spec_, data_ + "/" + std::to_string(stores_.size())));
    return *stores_.back();
  }
  server::JobStore& first() { return stores_.empty() ? open() : *stores_.front(); }

  JobRecord job(const std::string& id, double created_at) {
    JobRecord j;
    j.id = id;
    j.method = "gatys";
    j.created_at = created_at;
    j.request = Json{{"content", "content.png"}};
    return j;
  }

  std::string spec_;  // "" = SQLite in the data folder
  std::string data_;
  std::vector<std::unique_ptr<server::JobStore>> stores_;
};

TEST_P(StoreTest, QueuesInOrderUpToItsCapacityWithTheFiles) {
  auto& store = first();
  const std::string photo = "photo bytes \x01\x02", style(100000, '\xff');  // binary, with NULs below
  const std::string with_nul("a\0b", 3);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(store.enqueue(job("job" + std::to_string(i), 10 - i),
                              {{"content.png", &photo}, {"style-1.jpg", &style}, {"mask-1.png", &with_nul}}, /*capacity=*/3));
  EXPECT_FALSE(store.enqueue(job("job3", 20), {{"content.png", &photo}}, 3));  // full: nothing stored
  EXPECT_FALSE(store.get("job3"));
  EXPECT_FALSE(store.read_file("job3", "content.png"));
  EXPECT_EQ(store.queued(), 3);
  EXPECT_EQ(store.queue_position(*store.get("job2")), 1);  // oldest first
  EXPECT_EQ(store.queue_position(*store.get("job0")), 3);
  EXPECT_EQ(*store.read_file("job1", "style-1.jpg"), style);
  EXPECT_EQ(*store.read_file("job1", "mask-1.png"), with_nul);
  EXPECT_FALSE(store.read_file("job1", "result.png"));

  const auto claimed = store.claim("node-a", 100, 30);
  ASSERT_TRUE(claimed);
  EXPECT_EQ(claimed->id, "job2");
  EXPECT_EQ(claimed->state, JobState::running);
  EXPECT_EQ(claimed->attempts, 1);
  EXPECT_EQ(claimed->node, "node-a");
  EXPECT_EQ(claimed->started_at, 100);
  EXPECT_EQ(store.queued(), 2);
  // The worker's folder holds the inputs; what it writes there is stored when it finishes.
  const std::string work = store.workspace("job2");
  EXPECT_EQ(read_binary(work + "/content.png"), photo);
  fs::create_directories(work + "/report/figures");
  std::ofstream(work + "/result.png", std::ios::binary) << "the result";
  std::ofstream(work + "/report/figures/loss.png", std::ios::binary) << "a figure";
  EXPECT_EQ(server::job_outputs(work), (std::vector<std::string>{"report/figures/loss.png", "result.png"}));
  EXPECT_TRUE(store.finish("job2", "node-a", JobState::succeeded, 101, "", Json{{"seconds", 1.5}}, server::job_outputs(work)));
  store.release_workspace("job2");
  auto& other = open();  // any process reads any job's files
  EXPECT_EQ(*other.read_file("job2", "result.png"), "the result");
  EXPECT_EQ(*other.read_file("job2", "report/figures/loss.png"), "a figure");
  EXPECT_EQ(other.get("job2")->summary["seconds"], 1.5);
  EXPECT_EQ(other.get("job2")->state, JobState::succeeded);
  EXPECT_EQ(other.count_by_state()[JobState::succeeded], 1);
  EXPECT_EQ(other.count_by_state()[JobState::queued], 2);
}

TEST_P(StoreTest, EveryJobIsClaimedByExactlyOneWorker) {
  const std::string bytes = "x";
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(first().enqueue(job("j" + std::to_string(i), i), {{"content.png", &bytes}}, 100));
  std::vector<server::JobStore*> stores;
  for (int w = 0; w < 4; ++w) stores.push_back(&open());
  std::mutex mutex;
  std::vector<std::string> claimed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&, w] {
      while (auto j = stores[w]->claim("node-" + std::to_string(w), 1, 30)) {
        std::lock_guard<std::mutex> lock(mutex);
        claimed.push_back(j->id);
      }
    });
  for (auto& t : workers) t.join();
  EXPECT_EQ(claimed.size(), 40u);
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), 40u);
  EXPECT_EQ(first().queued(), 0);
}

TEST_P(StoreTest, AnExpiredLeaseSendsTheJobBackAndItsOldHolderCannotFinishIt) {
  auto& a = first();
  auto& b = open();
  const std::string bytes = "x";
  ASSERT_TRUE(a.enqueue(job("slow", 1), {{"content.png", &bytes}}, 10));
  ASSERT_TRUE(a.claim("node-a", 2, /*lease_s=*/0.3));
  EXPECT_TRUE(a.renew("node-a", {"slow"}, 0.3).empty());
  EXPECT_EQ(a.renew("node-b", {"slow"}, 0.3), (std::vector<std::string>{"slow"}));  // not b's
  EXPECT_EQ(b.expire_leases(3, 3), 0);  // not yet
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(b.expire_leases(3, 3), 1);
  EXPECT_EQ(b.get("slow")->state, JobState::queued);
  const auto again = b.claim("node-b", 4, 30);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->attempts, 2);
  // node-a comes back from its pause: it no longer holds the job.
  EXPECT_EQ(a.renew("node-a", {"slow"}, 30), (std::vector<std::string>{"slow"}));
  EXPECT_FALSE(a.finish("slow", "node-a", JobState::failed, 5, "late", Json(), {}));
  EXPECT_EQ(b.get("slow")->state, JobState::running);
  EXPECT_TRUE(b.finish("slow", "node-b", JobState::succeeded, 6, "", Json(), {}));
  EXPECT_FALSE(b.finish("slow", "node-b", JobState::succeeded, 7, "", Json(), {}));  // once only

  // A job claimed max_attempts times whose lease runs out fails instead.
  ASSERT_TRUE(a.enqueue(job("killer", 10), {{"content.png", &bytes}}, 10));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_TRUE(a.claim("node-a", 11, 0.3));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    b.expire_leases(3, 12);
  }
  EXPECT_EQ(a.get("killer")->state, JobState::failed);
  EXPECT_NE(a.get("killer")->error.find("interrupted 3 times"), std::string::npos);
  EXPECT_FALSE(a.claim("node-a", 13, 30));
}

TEST_P(StoreTest, RestartOrShutdownPutsRunningJobsBack) {
  auto& a = first();
  const std::string bytes = "x";
  ASSERT_TRUE(a.enqueue(job("one", 1), {{"content.png", &bytes}}, 10));
  ASSERT_TRUE(a.enqueue(job("two", 2), {{"content.png", &bytes}}, 10));
  ASSERT_TRUE(a.claim("node-a", 3, 30));
  a.requeue("one", "node-b");  // not b's to put back
  EXPECT_EQ(a.get("one")->state, JobState::running);
  a.requeue("one", "node-a");  // shutdown
  EXPECT_EQ(a.get("one")->state, JobState::queued);
  ASSERT_TRUE(a.claim("node-a", 4, 30));
  // The process dies with "one" running. An unshared store's next process takes it back at once; a
  // shared store leaves it to its lease (others may be running it).
  auto& restarted = open();
  restarted.recover(3, 5);
  EXPECT_EQ(restarted.get("one")->state, restarted.shared() ? JobState::running : JobState::queued);
  EXPECT_EQ(restarted.get("one")->attempts, 2);
}

TEST_P(StoreTest, DeletionAndExpiryRemoveTheFilesAndReportEachJobOnce) {
  auto& a = first();
  auto& b = open();
  const std::string bytes = "x";
  for (const std::string id : {"gone", "old", "new"}) ASSERT_TRUE(a.enqueue(job(id, 1), {{"content.png", &bytes}}, 10));
  EXPECT_TRUE(b.remove("gone"));
  EXPECT_FALSE(b.remove("gone"));
  EXPECT_FALSE(a.get("gone"));
  EXPECT_FALSE(a.read_file("gone", "content.png"));
  for (int i = 0; i < 2; ++i) {
    const auto j = a.claim("n", 2, 30);
    ASSERT_TRUE(j);
    ASSERT_TRUE(a.finish(j->id, "n", JobState::succeeded, j->id == "old" ? 10 : 20, "", Json(), {}));
  }
  EXPECT_EQ(a.remove_finished_before(15), (std::vector<std::string>{"old"}));
  EXPECT_TRUE(b.remove_finished_before(15).empty());  // expired once, not once per process
  EXPECT_FALSE(b.read_file("old", "content.png"));
  EXPECT_TRUE(b.read_file("new", "content.png"));
}

TEST_P(StoreTest, KeysAreHashesAndRateLimitsHoldAcrossProcesses) {
  auto& a = first();
  auto& b = open();
  const int64_t id = a.add_key("alice", server::sha256_hex("k1"), /*rate_per_minute=*/2, 1);
  EXPECT_THROW(b.add_key("alice", server::sha256_hex("k2"), 2, 1), OptionError);
  EXPECT_EQ(b.find_key(server::sha256_hex("k1"))->name, "alice");
  EXPECT_FALSE(b.find_key(server::sha256_hex("k2")));
  EXPECT_EQ(b.active_key_count(), 1);
  // Two tokens a minute, taken through either process: the third waits about 30 s.
  EXPECT_EQ(a.take_token(id, 2), 0);
  EXPECT_EQ(b.take_token(id, 2), 0);
  EXPECT_NEAR(b.take_token(id, 2), 30, 1);
  EXPECT_EQ(a.take_token(id, 0), 0);  // 0 = unlimited
  EXPECT_TRUE(b.revoke_key("alice"));
  EXPECT_FALSE(a.find_key(server::sha256_hex("k1")));
  EXPECT_TRUE(a.keys().at(0).revoked);
}

TEST_P(StoreTest, AnotherProcessQueueingWakesTheIdleWorkers) {
  if (!first().shared()) GTEST_SKIP() << "one process: the service wakes its own workers";
  std::atomic<int> woken{0};
  first().on_work([&] { ++woken; });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // listening (one wake-up at connection)
  const int before = woken;
  const std::string bytes = "x";
  ASSERT_TRUE(open().enqueue(job("wake", 1), {{"content.png", &bytes}}, 10));
  for (int i = 0; i < 100 && woken == before; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GT(woken, before);
}

TEST(StoreSpec, BadSpecsAreNamedAndPasswordsNeverShown) {
  EXPECT_THROW(server::open_job_store("mysql://x/y", temp_dir("spec")), OptionError);
  EXPECT_EQ(server::redact_uri("postgresql://bob:secret@db.example:5432/jobs"), "postgresql://bob:***@db.example:5432/jobs");
  EXPECT_EQ(server::redact_uri("postgresql://bob@db/jobs"), "postgresql://bob@db/jobs");
  try {  // nothing listens there: a clear error within the connect timeout, without the password
    server::open_job_store("postgresql://bob:secret@127.0.0.1:1/jobs", temp_dir("spec"));
    FAIL() << "connected to port 1";
  } catch (const server::StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect to postgresql://bob:***@127.0.0.1:1/jobs"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace impasto::test
