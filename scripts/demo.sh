#!/usr/bin/env bash
# The main job on its built-in default: synthesises a photo and a painting, stylizes one with the
# other on the random-weight backbone (no download, no input files) and writes demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh impasto_cli   # only what the demo runs: no tests, no benchmarks
build/impasto demo -o demo-out "$@"
