#!/usr/bin/env bash
# Installs the dependencies (idempotent) and builds into build/: everything (the library, the
# `impasto` CLI build/impasto, the test binary and the benchmark binary), or only the CMake targets
# given as arguments (scripts/demo.sh builds the CLI alone). ccache, when installed, makes rebuilds
# of unchanged files nearly free.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build build --parallel "$(nproc)" "${targets[@]}"
