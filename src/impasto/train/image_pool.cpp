#include "impasto/train/image_pool.h"

#include <torch/torch.h>

#include "impasto/core/error.h"

namespace impasto {

ImagePool::ImagePool(int64_t capacity) : capacity_(capacity) {
  if (capacity < 0) throw OptionError("pool_size", "must be >= 0 (0 = no pool), got " + std::to_string(capacity));
}

at::Tensor ImagePool::query(const at::Tensor& images, at::Generator& generator) {
  const at::Tensor fresh = images.detach();
  if (capacity_ == 0) return fresh;
  const int64_t n = fresh.size(0);
  // Drawn up front for the whole batch, used or not: the stream never depends on the pool's state.
  const at::Tensor coins = at::rand({n}, generator, at::kDouble);
  const at::Tensor picks = at::randint(capacity_, {n}, generator, at::kLong);
  const auto coin = coins.accessor<double, 1>();
  const auto pick = picks.accessor<int64_t, 1>();
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor image = fresh[i].clone();
    if (size() < capacity_) {
      images_.push_back(image);
      out.push_back(image);
    } else if (coin[i] > 0.5) {
      // util/image_pool.py: return a stored image and keep the new one in its place.
      at::Tensor& slot = images_[static_cast<size_t>(pick[i])];
      out.push_back(slot);
      slot = image;
    } else {
      out.push_back(image);
    }
  }
  return at::stack(out);
}

at::Tensor ImagePool::contents() const {
  if (images_.empty()) return {};
  return at::stack(images_);
}

void ImagePool::restore(const at::Tensor& contents) {
  images_.clear();
  if (!contents.defined()) return;
  if (contents.dim() != 4)
    throw SourceError("image pool", "stored images should be [K,C,H,W], got shape " + c10::str(contents.sizes()));
  if (contents.size(0) > capacity_)
    throw SourceError("image pool", "holds " + std::to_string(contents.size(0)) + " images, more than its capacity " +
                                        std::to_string(capacity_));
  for (int64_t i = 0; i < contents.size(0); ++i) images_.push_back(contents[i].clone());
}

}  // namespace impasto
