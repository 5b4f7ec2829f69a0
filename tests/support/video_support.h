#pragma once
// Small helpers of the video tests.
#include <cstdint>
#include <string>

namespace impasto::test {

// The frames a video file holds, counted by decoding it (io/video.h VideoReader).
int64_t count_frames(const std::string& path);

}  // namespace impasto::test
