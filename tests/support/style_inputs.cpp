#include "style_inputs.h"

#include "impasto/data/synthetic.h"

namespace impasto::test {

StylizeInputs landscape_and_painting(int64_t size) {
  StylizeInputs in;
  in.content.rgb = synthetic_landscape(size, size, 1);
  StyleInput s;
  s.name = "painting";
  s.image = synthetic_painting(size, size, 2);
  in.styles.push_back(s);
  return in;
}

}  // namespace impasto::test
