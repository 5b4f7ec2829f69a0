#!/usr/bin/env bash
# Installs every build, test and run-time dependency of impasto from Debian 12's packages.
# Idempotent: re-running it installs nothing new. Needs root (or sudo). No other downloads.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ccache   # ccache: rebuilds reuse earlier compiles
  libtorch-dev            # LibTorch 1.13 (oneDNN, gloo)
  libgloo-dev             # c10d Gloo headers (distributed training)
  libdnnl-dev             # oneDNN's headers (LibTorch's own libdnnl.so.2): Winograd convolutions
  libopenblas0-pthread    # takes over libblas.so.3: 16-40x faster matmuls than reference BLAS
  libopencv-dev           # image codecs and resizing (core, imgproc, imgcodecs, videoio), DIS optical flow (video), FreeType text (freetype)
  fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf  # TrueType faces of the digits-ttf set (a second digit renderer)
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev  # video files: streaming, rotation, audio copy
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcpp-httplib-dev libsqlite3-dev libssl-dev  # the service: HTTP, its job database, key hashing
  libpq-dev postgresql    # the shared store for many servers; the tests start their own PostgreSQL
  wrk                     # bench/: HTTP load for the service's requests/s
  chromium                # the web page's browser test (tests/browser, driven by playwright-core)
  libgtest-dev libgmock-dev libbenchmark-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node.js runs the browser test; machines of this project have it, others get Debian's.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# playwright-core for the browser test, from the npm registry at the version package-lock.json pins
# (it drives /usr/bin/chromium; it downloads no browser).
browser_test="$(dirname "$0")/../tests/browser"
if ! cmp -s "$browser_test/package-lock.json" "$browser_test/node_modules/.installed-lock.json" 2>/dev/null; then
  (cd "$browser_test" && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.installed-lock.json)
fi
