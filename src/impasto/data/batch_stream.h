#pragma once
// Internal to data/: the machinery behind every Dataset. A SampleSource renders one sample as a
// pure function of its global index; a BatchStream turns a source into ordered batches, decoded
// ahead by worker threads into a bounded queue.
#include <ATen/core/Tensor.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "impasto/core/log.h"
#include "impasto/data/dataset.h"

namespace impasto::data_detail {

// A small RNG whose every draw is specified here, not by the standard library's distributions
// (whose algorithms differ between implementations): samples are the same on every platform.
class SampleRng {
 public:
  explicit SampleRng(uint64_t seed) : engine_(seed) {}
  uint64_t bits() { return engine_(); }
  // Uniform in [0,1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n) (n >= 1); the modulo bias is below 2^-40 for any n used here.
  int64_t below(int64_t n) { return static_cast<int64_t>(engine_() % static_cast<uint64_t>(n)); }
  bool chance(double p) { return uniform() < p; }
  // Standard normal (Box-Muller; one value per call, the pair's second half is discarded).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0,1], so log is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::mt19937_64 engine_;
};

// splitmix64's output function.
uint64_t mix64(uint64_t z);

// One sample per global index. fill() is called from several worker threads at once.
class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual std::vector<int64_t> sample_shape() const = 0;  // {C,H,W} or {D}
  virtual int64_t num_classes() const = 0;                 // 0 = no labels
  // Writes the sample with global index `index` (prod(sample_shape) floats) and its label.
  virtual void fill(int64_t index, float* out, int64_t* label) = 0;
  virtual DatasetStats stats() const { return {}; }  // files, skipped
  virtual std::string describe() const = 0;
};

// Ordered batches from a source: workers claim batch numbers in order and render whole batches;
// a worker may only claim batch k while k < (next batch to deliver) + queue_batches, so finished
// and in-progress batches together never exceed queue_batches.
class BatchStream final : public Dataset {
 public:
  BatchStream(const DatasetOptions& options, std::unique_ptr<SampleSource> source);
  ~BatchStream() override;

  void start(int64_t first_batch) override;
  Batch next() override;
  std::vector<int64_t> sample_shape() const override { return source_->sample_shape(); }
  int64_t num_classes() const override { return source_->num_classes(); }
  DatasetStats stats() const override;
  std::string describe() const override { return source_->describe(); }

 private:
  struct Result {
    Batch batch;
    std::exception_ptr error;
  };
  // Renders batch b; returns early (an incomplete batch, discarded) when stopping.
  Batch make_batch(int64_t b, const std::atomic<bool>* stop);
  void worker_loop();
  void stop_workers();

  std::unique_ptr<SampleSource> source_;
  int64_t batch_size_;
  int64_t rank_;
  int64_t world_size_;
  int workers_;
  int64_t queue_batches_;

  mutable std::mutex mutex_;
  std::condition_variable space_;  // workers wait here for room in the queue
  std::condition_variable ready_;  // the consumer waits here for its batch
  std::map<int64_t, Result> done_;  // finished batches not yet delivered
  int64_t next_claim_ = 0;          // next batch a worker will take
  int64_t next_deliver_ = 0;        // next batch next() returns
  bool started_ = false;
  bool failed_ = false;             // a worker failed: no more claims until start()
  std::exception_ptr error_;        // rethrown by every next() after a failed batch
  std::atomic<bool> stop_{false};
  int64_t produced_ = 0, delivered_ = 0, max_buffered_ = 0;
  std::vector<std::thread> threads_;
};

// synthetic_sets.cpp: ring8 | digits | textures (options already validated).
std::unique_ptr<SampleSource> make_synthetic_source(const DatasetOptions& options);

// Planar float samples: HWC float image (1 or 3 channels, RGB order) -> CHW `out` with `channels`
// channels; RGB -> grey takes the mean of the channels (as to_single_channel in io/image_ops.h),
// grey -> RGB repeats it.
void write_planar(const float* hwc, int height, int width, int in_channels, int channels, float* out);

}  // namespace impasto::data_detail
