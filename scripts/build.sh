#!/usr/bin/env bash
# Installs the dependencies (idempotent) and builds everything into build/: the library, the
# `impasto` CLI (build/impasto), the test binary and the benchmark binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build --parallel "$(nproc)"
