#pragma once
// A history of generated images for the discriminator (Shrivastava et al. 2017, "Learning from
// Simulated and Unsupervised Images through Adversarial Training", sec. 2.3), as CycleGAN uses it
// (Zhu et al. 2017, sec. 4: a buffer of the 50 most recently generated images; the reference's
// util/image_pool.py). D then sees fakes from earlier generators too, which damps the oscillation
// between G and D.
//
// For each image of a batch, in order: while the pool holds fewer than `capacity` images, the image
// is stored and returned itself; once it is full, with probability 1/2 a uniformly chosen stored
// image is returned and the new one takes its place, otherwise the new image is returned and the
// pool is left alone. Capacity 0 passes every batch through.
//
// The randomness comes from the caller's generator, two draws per image whether they are used or
// not (a uniform for the coin, an index), so a run that restores the contents and seeds the
// generator as before continues exactly.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace impasto {

class ImagePool {
 public:
  // OptionError("pool_size") for a negative capacity.
  explicit ImagePool(int64_t capacity = 50);

  // images [N,C,H,W] -> [N,C,H,W]: each row the image itself or one from the history (see above).
  // The images are stored detached; the result carries no gradient.
  at::Tensor query(const at::Tensor& images, at::Generator& generator);

  int64_t capacity() const { return capacity_; }
  int64_t size() const { return static_cast<int64_t>(images_.size()); }

  // The stored images as one tensor [K,C,H,W] in storage order (undefined when empty), for
  // checkpoints; restore() takes it back (an undefined tensor empties the pool). SourceError when
  // it holds more than `capacity` images or is not 4-d.
  at::Tensor contents() const;
  void restore(const at::Tensor& contents);

 private:
  int64_t capacity_;
  std::vector<at::Tensor> images_;  // each [C,H,W]
};

}  // namespace impasto
