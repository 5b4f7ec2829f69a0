// The database failing under a running service (disk full, I/O error, connection lost): the job
// being finished fails with a message naming the cause, requests answer 503, and the workers and
// the server go on serving once the database answers again. The faults are injected by a store that
// wraps the real SQLite store and throws StoreError where told.
#include <gtest/gtest.h>

#include <atomic>

#include "server_support.h"
#include "test_support.h"

namespace impasto::test {
namespace {

using server::JobRecord;
using server::JobState;
using server::StoreError;

class FaultyStore final : public server::JobStore {
 public:
  explicit FaultyStore(std::unique_ptr<server::JobStore> real) : real_(std::move(real)) {}
  std::atomic<int> failing_finishes{0};     // the next N finish() calls throw
  std::atomic<bool> failing_progress{false};
  std::atomic<bool> failing_reads{false};   // get() and queued() throw

  std::string describe() const override { return real_->describe(); }
  bool shared() const override { return real_->shared(); }
  bool enqueue(const JobRecord& j, const std::vector<server::JobFile>& f, int64_t c) override { return real_->enqueue(j, f, c); }
  std::optional<JobRecord> get(const std::string& id) const override {
    if (failing_reads) throw StoreError("disk I/O error");
    return real_->get(id);
  }
  std::vector<JobRecord> list(std::optional<int64_t> k, int n) const override { return real_->list(k, n); }
  int64_t queued() const override {
    if (failing_reads) throw StoreError("disk I/O error");
    return real_->queued();
  }
  int64_t queue_position(const JobRecord& j) const override { return real_->queue_position(j); }
  std::map<JobState, int64_t> count_by_state() const override { return real_->count_by_state(); }
  bool remove(const std::string& id) override { return real_->remove(id); }
  std::vector<std::string> remove_finished_before(double b) override { return real_->remove_finished_before(b); }
  std::optional<std::string> read_file(const std::string& id, const std::string& n) const override { return real_->read_file(id, n); }
  std::optional<JobRecord> claim(const std::string& node, double now, double lease) override { return real_->claim(node, now, lease); }
  std::vector<std::string> renew(const std::string& node, const std::vector<std::string>& ids, double lease) override {
    return real_->renew(node, ids, lease);
  }
  int64_t expire_leases(int m, double now) override { return real_->expire_leases(m, now); }
  void recover(int m, double now) override { real_->recover(m, now); }
  void update_progress(const std::string& id, const std::string& node, const Json& p) override {
    if (failing_progress) throw StoreError("database or disk is full");
    real_->update_progress(id, node, p);
  }
  std::string workspace(const std::string& id) override { return real_->workspace(id); }
  void release_workspace(const std::string& id) override { real_->release_workspace(id); }
  bool finish(const std::string& id, const std::string& node, JobState s, double now, const std::string& e, const Json& sum,
              const std::vector<std::string>& out) override {
    if (failing_finishes > 0) {
      --failing_finishes;
      throw StoreError("database or disk is full");
    }
    return real_->finish(id, node, s, now, e, sum, out);
  }
  void requeue(const std::string& id, const std::string& node) override { real_->requeue(id, node); }
  int64_t add_key(const std::string& n, const std::string& h, double r, double now) override { return real_->add_key(n, h, r, now); }
  std::optional<server::ApiKeyRecord> find_key(const std::string& h) const override { return real_->find_key(h); }
  std::vector<server::ApiKeyRecord> keys() const override { return real_->keys(); }
  bool revoke_key(const std::string& n) override { return real_->revoke_key(n); }
  int64_t active_key_count() const override { return real_->active_key_count(); }
  double take_token(int64_t k, double r) override { return real_->take_token(k, r); }

 private:
  std::unique_ptr<server::JobStore> real_;
};

httplib::MultipartFormDataItems model_job() {
  return {file_field("content", png_bytes(24, 32), "p.png"), text_field("model", "tiny")};
}

TEST(StoreFaults, ADatabaseErrorFailsTheJobClearlyAndTheServiceGoesOn) {
  auto options = test_server_options("faults");
  auto owned = std::make_unique<FaultyStore>(server::open_job_store("", options.data_dir));
  FaultyStore& store = *owned;
  TestServer server(options, std::move(owned));
  auto client = server.client();

  // The result cannot be recorded (disk full): the job fails, saying why.
  store.failing_finishes = 1;
  const std::string first = body_json(client.Post("/v1/jobs", model_job()))["id"];
  const Json failed = wait_for_job(client, first);
  EXPECT_EQ(failed["state"], "failed") << failed.dump();
  EXPECT_NE(failed["error"].get<std::string>().find("could not be stored"), std::string::npos) << failed.dump();
  EXPECT_NE(failed["error"].get<std::string>().find("disk is full"), std::string::npos) << failed.dump();
  expect_error(client.Get("/v1/jobs/" + first + "/result"), 409, "not_ready");

  // Progress that cannot be saved does not stop a job.
  store.failing_progress = true;
  auto res = client.Post("/v1/jobs", optimisation_job(/*iterations=*/30, /*image_size=*/40));
  const Json second = wait_for_job(client, body_json(res)["id"]);
  EXPECT_EQ(second["state"], "succeeded") << second.dump();
  store.failing_progress = false;

  // While the database cannot be read, requests answer 503 (with Retry-After), not 500, not a hang.
  store.failing_reads = true;
  auto unavailable = client.Get("/v1/jobs/" + first);
  expect_error(unavailable, 503, "store_unavailable");
  EXPECT_EQ(unavailable->get_header_value("Retry-After"), "5");
  expect_error(client.Get("/v1/health"), 503, "store_unavailable");
  store.failing_reads = false;

  // And the same worker takes the next job.
  const Json third = wait_for_job(client, body_json(client.Post("/v1/jobs", model_job()))["id"]);
  EXPECT_EQ(third["state"], "succeeded") << third.dump();
  bool logged = false;
  for (const auto& line : server.log_lines()) logged = logged || line.find("progress not saved") != std::string::npos;
  EXPECT_TRUE(logged);
}

}  // namespace
}  // namespace impasto::test
