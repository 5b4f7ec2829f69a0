#!/usr/bin/env bash
# Builds everything and runs every test (unit, golden, end-to-end) through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure --parallel "$(nproc)" --timeout 900
