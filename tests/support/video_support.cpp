#include "video_support.h"

#include "impasto/io/video.h"

namespace impasto::test {

int64_t count_frames(const std::string& path) {
  VideoReader reader(path);
  VideoFrame frame;
  int64_t n = 0;
  while (reader.next(frame)) ++n;
  return n;
}

}  // namespace impasto::test
