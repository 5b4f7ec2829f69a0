#!/usr/bin/env bash
# Load on the service over loopback with wrk (Debian's): synchronous POST /v1/stylize of a 256x256
# PNG through a small TransformerNet, first at the service's concurrency, then at 10x overload
# (20 connections for 2 synchronous slots): requests/s, p50/p99 latency, how many were refused (429),
# the server's peak RSS, and whether it is still healthy afterwards.
# Usage: bench/serve_load.sh [seconds per run (20)] [model: tiny|full (full)]
#   tiny: the 4-wide test fixture; full: fast_neural_style's widths (32-64-128, 5 residual blocks).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
which_model=${2:-full}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cli=build/impasto
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/models"
/usr/bin/python3 - "$work" <<'PY'
import struct, sys, zlib, math
w = h = 256
raw = b"".join(b"\0" + bytes(v for x in range(w) for v in (int(127 + 120 * math.sin(x / 9)), int(127 + 120 * math.cos(y / 13)), (x * y) % 256)) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
body = (b'--B\r\nContent-Disposition: form-data; name="content"; filename="p.png"\r\nContent-Type: image/png\r\n\r\n' + png +
        b'\r\n--B\r\nContent-Disposition: form-data; name="model"\r\n\r\nsmall\r\n--B--\r\n')
open(sys.argv[1] + "/body", "wb").write(body)
open(sys.argv[1] + "/style.png", "wb").write(png)
PY
if [ "$which_model" = tiny ]; then
  cp tests/fixtures/style_nets/transformer_w4.pth "$work/models/small.pth"
else  # a full-width TransformerNet after one training step: the architecture is what costs time
  "$cli" -q train feedforward --style "$work/style.png" --synthetic textures --image-size 32 --steps 1 --batch-size 1 \
    --out "$work/run"
  cp "$work/run/model.ckpt" "$work/models/small.ckpt"
fi
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
local f = io.open("$work/body", "rb")
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "multipart/form-data; boundary=B"
LUA

"$cli" serve --port 0 --data-dir "$work/data" --models-dir "$work/models" --sync-concurrency 2 --http-threads 32 \
  2> "$work/serve.log" &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$work/serve.log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -1)
curl -sf -o /dev/null -X POST -H 'Content-Type: multipart/form-data; boundary=B' --data-binary @"$work/body" "$url/v1/stylize" \
  || { echo "warm-up request failed" >&2; cat "$work/serve.log" >&2; exit 1; }

peak_rss() {  # samples the server's RSS every 0.2 s until the file $work/stop appears
  local peak=0 rss
  while [ ! -f "$work/stop" ]; do
    rss=$(awk '/VmRSS/ {print $2}' /proc/$server/status 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss
    sleep 0.2
  done
  echo "$peak"
}

run() {  # name connections
  rm -f "$work/stop"
  peak_rss > "$work/rss" &
  local sampler=$!
  wrk -t2 -c"$2" -d"${seconds}s" --timeout 30s --latency -s "$work/post.lua" "$url/v1/stylize" > "$work/wrk-$1.txt"
  touch "$work/stop"
  wait $sampler
  local rps p50 p99 refused total
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-$1.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk-$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk-$1.txt")
  total=$(awk '/requests in/ {print $1}' "$work/wrk-$1.txt")
  refused=$(awk '/Non-2xx or 3xx responses/ {print $5}' "$work/wrk-$1.txt")
  printf '%-9s connections %-3s requests %-6s req/s %-8s p50 %-9s p99 %-9s non-2xx %-6s peak RSS %s MiB\n' \
    "$1" "$2" "$total" "$rps" "$p50" "$p99" "${refused:-0}" "$(( $(cat "$work/rss") / 1024 ))"
}

echo "model: $which_model ($(du -h "$work"/models/* | cut -f1)), 256x256 PNG, ${seconds}s per run, server and wrk on the same 2 cores"
run nominal 2
run overload 20
health=$(curl -s "$url/v1/health")
echo "after the overload: /v1/health -> $health"
curl -s "$url/metrics" | grep -E '^impasto_(rejections_total|stylize_duration_seconds_count|http_requests_total)'
