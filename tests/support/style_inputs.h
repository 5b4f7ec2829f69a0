#pragma once
// Inputs shared by the stylization tests.
#include <cstdint>

#include "impasto/style/method.h"

namespace impasto::test {

// The built-in synthetic landscape (seed 1) as content and synthetic painting (seed 2) as the one
// style, both size x size.
StylizeInputs landscape_and_painting(int64_t size);

}  // namespace impasto::test
