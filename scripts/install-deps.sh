#!/usr/bin/env bash
# Installs every build, test and run-time dependency of impasto from Debian 12's packages.
# Idempotent: re-running it installs nothing new. Needs root (or sudo). No other downloads.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev            # LibTorch 1.13 (oneDNN, gloo)
  libgloo-dev             # c10d Gloo headers (distributed training)
  libopenblas0-pthread    # takes over libblas.so.3: 16-40x faster matmuls than reference BLAS
  libopencv-dev           # image codecs and resizing (core, imgproc, imgcodecs, videoio)
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcpp-httplib-dev libsqlite3-dev  # the service (issue 6) builds on these
  libgtest-dev libgmock-dev libbenchmark-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
