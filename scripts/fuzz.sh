#!/usr/bin/env bash
# Fuzzes the service's request path (HTTP parsing, multipart, option fields and JSON, image headers
# and decoding, job routes) with libFuzzer and AddressSanitizer for a bounded time. Not part of the
# test command. Usage: scripts/fuzz.sh [seconds (default 120)] [extra libFuzzer flags]
# Crashes are written to build-fuzz/crash-*; the corpus grows in build-fuzz/corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
shift || true
bash scripts/install-deps.sh
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || \
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$p"
done
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DIMPASTO_FUZZ=ON -DIMPASTO_BUILD_TESTS=OFF -DIMPASTO_BUILD_BENCH=OFF
fi
cmake --build build-fuzz --target impasto_fuzz_http --parallel "$(nproc)"

# Seeds: a few well-formed requests (a job with small PNGs, a model request, reads of jobs).
corpus=build-fuzz/corpus
mkdir -p "$corpus"
/usr/bin/python3 - "$corpus" <<'PY'
import struct, sys, zlib
def png(w, h):
    raw = b"".join(b"\0" + bytes(v for x in range(w) for v in (x * 40 % 256, y * 60 % 256, 128)) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
def request(line, headers, body=b""):
    head = line + "\r\nHost: x\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if body: head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body
def multipart(parts):
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += b"--B\r\nContent-Disposition: " + disposition.encode() + b"\r\n\r\n" + value + b"\r\n"
    return out + b"--B--\r\n"
form = {"Content-Type": "multipart/form-data; boundary=B"}
seeds = {
    "job": request("POST /v1/jobs HTTP/1.1", form, multipart([("content", png(4, 3), "p.png"), ("style", png(3, 3), "s.png"),
                   ("options", b'{"iterations": 1, "style_layers": ["s1_relu1"]}', None), ("image_size", b"8", None)])),
    "model": request("POST /v1/stylize HTTP/1.1", form, multipart([("content", png(5, 4), "p.png"), ("model", b"transformer_w4", None),
                     ("strength", b"0.5", None)])),
    "get-job": request("GET /v1/jobs/0123456789abcdef0123456789abcdef HTTP/1.1", {}),
    "models": request("GET /v1/models HTTP/1.1", {"X-API-Key": "imp_00"}),
    "preflight": request("OPTIONS /v1/jobs HTTP/1.1", {"Origin": "http://a"}),
}
for name, data in seeds.items():
    open(f"{sys.argv[1]}/{name}", "wb").write(data)
PY

IMPASTO_FUZZ_MODELS="$PWD/tests/fixtures/style_nets" \
  build-fuzz/impasto_fuzz_http "$corpus" -max_total_time="$seconds" -max_len=65536 -timeout=20 -rss_limit_mb=6144 \
  -artifact_prefix=build-fuzz/ -print_final_stats=1 "$@"
