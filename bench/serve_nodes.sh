#!/usr/bin/env bash
# The service on one node and on two nodes sharing one PostgreSQL queue, on this machine:
# - requests/s: wrk reading a job's status (GET /v1/jobs/{id}: a database read per request), 8
#   connections in all (two nodes: 4 on each, run at the same time and summed);
# - stylized/s: 40 jobs of a full-width TransformerNet on a 256x256 PNG (POST /v1/jobs, spread over
#   the nodes), from the first submission until the last one succeeded.
# Configurations: SQLite, one node (--threads 2); PostgreSQL, one node (--threads 2); PostgreSQL,
# two nodes (--threads 1 each). The PostgreSQL server is started here in a temporary folder (as
# `nobody` when run as root), with fsync on (the default), on loopback.
# Usage: bench/serve_nodes.sh [seconds per wrk run (10)] [jobs (40)]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
jobs=${2:-40}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "PostgreSQL server binaries missing: apt-get install postgresql" >&2; exit 1; }
cli=$PWD/build/impasto
work=$(mktemp -d /tmp/impasto-nodes-XXXXXX)
chmod 755 "$work"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then chown 65534:65534 "$work"; as_pg=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"${as_pg[@]}" "$pgbin/initdb" -D "$work/pg" -U impasto -A trust -E UTF8 >/dev/null
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $pgport -c unix_socket_directories=$work" start >/dev/null
db_base="postgresql://impasto@127.0.0.1:$pgport"

mkdir -p "$work/models" && chmod 777 "$work/models"
python3 - "$work" <<'PY'
import struct, sys, zlib, math
w = h = 256
raw = b"".join(b"\0" + bytes(v for x in range(w) for v in (int(127 + 120 * math.sin(x / 9)), int(127 + 120 * math.cos(y / 13)), (x * y) % 256)) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1] + "/photo.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
# A full-width TransformerNet after one training step: the architecture is what costs time.
"$cli" -q train feedforward --style "$work/photo.png" --synthetic textures --image-size 32 --steps 1 --batch-size 1 --out "$work/run"
cp "$work/run/model.ckpt" "$work/models/small.ckpt"

start_node() {  # name store threads -> sets node_url, adds the pid to pids
  local log="$work/$1.log"
  "$cli" serve --port 0 --data-dir "$work/data-$1" --store "$2" --models-dir "$work/models" --workers 1 --threads "$3" \
    --queue 200 --no-reports --http-threads 16 > /dev/null 2> "$log" &
  pids+=($!)
  for _ in $(seq 200); do grep -q "listening on" "$log" && break; sleep 0.05; done
  node_url=$(grep -o 'http://[0-9.:]*' "$log" | head -1)
  [ -n "$node_url" ] || { echo "impasto serve ($1) did not start:" >&2; cat "$log" >&2; exit 1; }
}

# Submits $jobs jobs round-robin over the URLs and waits for all; prints jobs/s and one job's id.
stylize() {
  python3 - "$work/photo.png" "$jobs" "$@" <<'PY'
import json, sys, time, urllib.request, uuid
photo, n, urls = open(sys.argv[1], "rb").read(), int(sys.argv[2]), sys.argv[3:]
def post(url):
    b = uuid.uuid4().hex
    body = (f'--{b}\r\nContent-Disposition: form-data; name="content"; filename="p.png"\r\nContent-Type: image/png\r\n\r\n').encode() + photo + \
           f'\r\n--{b}\r\nContent-Disposition: form-data; name="model"\r\n\r\nsmall\r\n--{b}--\r\n'.encode()
    req = urllib.request.Request(url + "/v1/jobs", body, {"Content-Type": f"multipart/form-data; boundary={b}"})
    return json.load(urllib.request.urlopen(req))["id"]
t0 = time.time()
ids = [post(urls[i % len(urls)]) for i in range(n)]
pending = set(ids)
while pending:
    for i in list(pending):
        state = json.load(urllib.request.urlopen(f"{urls[0]}/v1/jobs/{i}"))["state"]
        if state == "failed": sys.exit(f"job {i} failed")
        if state == "succeeded": pending.discard(i)
    time.sleep(0.05)
print(f"{n / (time.time() - t0):.2f} {ids[0]}")
PY
}

read_rps() {  # id url... -> summed requests/s of one wrk per URL, run at the same time
  local id=$1; shift
  local per=$(( 8 / $# )) k=0
  for url in "$@"; do
    wrk -t1 -c"$per" -d"${seconds}s" "$url/v1/jobs/$id" > "$work/wrk-$k.txt" &
    k=$((k + 1))
  done
  wait
  cat "$work"/wrk-*.txt | awk '/Requests\/sec/ {s += $2} END {printf "%.0f", s}'
  rm -f "$work"/wrk-*.txt
}

report() {  # label urls...
  local label=$1; shift
  local result id rate
  result=$(stylize "$@")
  rate=${result% *}
  id=${result#* }
  printf '%-34s stylized/s %-6s status reads/s %s\n' "$label" "$rate" "$(read_rps "$id" "$@")"
}

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores;" \
     "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512_bf16|avx512_vnni|amx_bf16)$' | tr '\n' ' ')"
echo "PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on loopback; $jobs jobs of a 256x256 PNG; wrk ${seconds}s, 8 connections"

start_node sqlite "" 2
report "SQLite, 1 node (2 threads)" "$node_url"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

start_node pg1 "$db_base/postgres" 2
report "PostgreSQL, 1 node (2 threads)" "$node_url"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

"${as_pg[@]}" "$pgbin/psql" -q -h 127.0.0.1 -p "$pgport" -U impasto -d postgres -c "CREATE DATABASE two" >/dev/null
start_node pg2a "$db_base/two" 1
a=$node_url
start_node pg2b "$db_base/two" 1
b=$node_url
report "PostgreSQL, 2 nodes (1 thread each)" "$a" "$b"
ran_a=$(grep -c " succeeded in " "$work/pg2a.log" || true)
ran_b=$(grep -c " succeeded in " "$work/pg2b.log" || true)
echo "  jobs run by each node: $ran_a and $ran_b"
