#!/usr/bin/env bash
# Fuzzes the service with libFuzzer and AddressSanitizer for a bounded time. Not part of the test
# command. Two targets (server/fuzz/):
#   http     the whole request path: HTTP parsing, multipart, option fields and JSON, image headers
#            and decoding, job routes; a 500 response counts as a crash
#   options  the option parser alone (form fields -> parse_job_request -> the method's check), with
#            a dictionary of every method's option names and choices; any error other than the 4xx
#            ones counts as a crash
# Usage: scripts/fuzz.sh [seconds per target (default 120)] [http|options|all (default all)] [libFuzzer flags]
# Crashes are written to build-fuzz/<target>-crash-*; the corpora grow in build-fuzz/corpus-<target>.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
shift || true
targets=${1:-all}
shift || true
[ "$targets" = all ] && targets="http options"
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
for t in $targets; do cmake --build build-fuzz --target "impasto_fuzz_$t" --parallel "$(nproc)"; done

# Seeds: a few well-formed requests (a job with small PNGs, a model request, reads of jobs).
mkdir -p build-fuzz/corpus-http build-fuzz/corpus-options
/usr/bin/python3 - build-fuzz/corpus-http build-fuzz/corpus-options <<'PY'
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
# The option target's records: name=value, separated by NUL; content/style/mask_N carry a fixed PNG.
option_seeds = {
    "gatys": [b"content=", b"style=", b"options={\"iterations\": 3, \"style_layers\": [\"relu1_1\"], \"style_scale\": 1.5}", b"image_size=32"],
    "fields": [b"content=", b"style=", b"style=", b"style_blend_weights=1,2", b"iterations=5", b"style_layers=relu1_1,relu2_1", b"format=jpeg"],
    "model": [b"content=", b"model=transformer_w4", b"strength=0.5"],
    "masks": [b"content=", b"style=", b"style=", b"mask_1=", b"mask_2="],
    "deep": [b"content=", b"style=", b"options=" + b"[" * 40 + b"]" * 40],
}
for name, records in option_seeds.items():
    open(f"{sys.argv[2]}/{name}", "wb").write(b"\0".join(records))
PY

for t in $targets; do
  if [ "$t" = options ]; then
    IMPASTO_FUZZ_DICT=build-fuzz/options.dict build-fuzz/impasto_fuzz_options -runs=0 >/dev/null 2>&1
    extra=(-dict=build-fuzz/options.dict -max_len=4096)
  else
    extra=(-max_len=65536)
  fi
  echo "== $t: ${seconds}s"
  IMPASTO_FUZZ_MODELS="$PWD/tests/fixtures/style_nets" \
    "build-fuzz/impasto_fuzz_$t" "build-fuzz/corpus-$t" -max_total_time="$seconds" "${extra[@]}" -timeout=20 \
    -rss_limit_mb=6144 -artifact_prefix="build-fuzz/$t-" -print_final_stats=1 "$@"
done
