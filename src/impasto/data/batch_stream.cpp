#include "impasto/data/batch_stream.h"

#include <torch/torch.h>

#include <algorithm>

namespace impasto::data_detail {

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void write_planar(const float* hwc, int height, int width, int in_channels, int channels, float* out) {
  const int64_t plane = int64_t(height) * width;
  if (in_channels == channels) {
    for (int64_t p = 0; p < plane; ++p)
      for (int c = 0; c < channels; ++c) out[c * plane + p] = hwc[p * in_channels + c];
  } else if (in_channels == 3 && channels == 1) {
    for (int64_t p = 0; p < plane; ++p) out[p] = (hwc[3 * p] + hwc[3 * p + 1] + hwc[3 * p + 2]) / 3.0f;
  } else {  // 1 -> 3
    for (int64_t p = 0; p < plane; ++p) out[p] = out[plane + p] = out[2 * plane + p] = hwc[p];
  }
}

BatchStream::BatchStream(const DatasetOptions& options, std::unique_ptr<SampleSource> source)
    : source_(std::move(source)),
      batch_size_(options.batch_size),
      rank_(options.rank),
      world_size_(options.world_size),
      workers_(options.workers),
      queue_batches_(options.queue_batches) {}

BatchStream::~BatchStream() { stop_workers(); }

void BatchStream::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  space_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  stop_ = false;
}

void BatchStream::start(int64_t first_batch) {
  stop_workers();
  std::lock_guard<std::mutex> lock(mutex_);
  done_.clear();
  next_claim_ = next_deliver_ = std::max<int64_t>(0, first_batch);
  failed_ = false;
  error_ = nullptr;
  produced_ = delivered_ = max_buffered_ = 0;
  started_ = true;
  for (int i = 0; i < workers_; ++i) threads_.emplace_back(&BatchStream::worker_loop, this);
}

Batch BatchStream::make_batch(int64_t b, const std::atomic<bool>* stop) {
  std::vector<int64_t> shape = source_->sample_shape();
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  shape.insert(shape.begin(), batch_size_);
  Batch batch;
  batch.samples = at::empty(shape, at::TensorOptions().dtype(at::kFloat));
  std::vector<int64_t> labels(size_t(batch_size_), 0);
  float* out = batch.samples.data_ptr<float>();
  // Global batch b holds indices [b*B*W, (b+1)*B*W); this rank takes its slice of B.
  const int64_t first = (b * world_size_ + rank_) * batch_size_;
  for (int64_t i = 0; i < batch_size_; ++i) {
    if (stop && stop->load()) return batch;
    source_->fill(first + i, out + i * numel, &labels[size_t(i)]);
  }
  if (source_->num_classes() > 0) {
    batch.labels = at::empty({batch_size_}, at::TensorOptions().dtype(at::kLong));
    std::copy(labels.begin(), labels.end(), batch.labels.data_ptr<int64_t>());
  }
  return batch;
}

void BatchStream::worker_loop() {
  for (;;) {
    int64_t b = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_.wait(lock, [&] { return stop_ || (!failed_ && next_claim_ < next_deliver_ + queue_batches_); });
      if (stop_) return;
      b = next_claim_++;
    }
    Result result;
    try {
      result.batch = make_batch(b, &stop_);
    } catch (...) {
      result.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_) return;
      if (result.error) failed_ = true;
      done_[b] = std::move(result);
      ++produced_;
      max_buffered_ = std::max<int64_t>(max_buffered_, int64_t(done_.size()));
    }
    ready_.notify_all();
  }
}

Batch BatchStream::next() {
  if (!started_) start(0);
  if (workers_ == 0) {  // synchronous: render on the caller's thread
    if (error_) std::rethrow_exception(error_);
    Batch batch;
    try {
      batch = make_batch(next_deliver_, nullptr);
    } catch (...) {
      error_ = std::current_exception();
      throw;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ++next_deliver_;
    ++produced_;
    ++delivered_;
    return batch;
  }
  Result result;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (error_) std::rethrow_exception(error_);
    ready_.wait(lock, [&] { return done_.count(next_deliver_) > 0; });
    auto it = done_.find(next_deliver_);
    result = std::move(it->second);
    done_.erase(it);
    if (result.error) {
      error_ = result.error;
      std::rethrow_exception(error_);
    }
    ++next_deliver_;
    ++delivered_;
  }
  space_.notify_all();
  return std::move(result.batch);
}

DatasetStats BatchStream::stats() const {
  DatasetStats s = source_->stats();
  std::lock_guard<std::mutex> lock(mutex_);
  s.produced = produced_;
  s.delivered = delivered_;
  s.max_buffered = max_buffered_;
  return s;
}

}  // namespace impasto::data_detail
