#!/usr/bin/env bash
# Video: the flicker of per-frame stylization against impasto's consistent output, on real clips.
#
#   bench/video_consistency.sh [CLIP ...]        (default: the clips of Debian's opencv-doc)
#
# For each method and clip: `impasto stylize` with --consistency 0 (every frame on its own) and with
# the default, then `impasto eval --video` on both: the warping error (Lai et al. 2018), the mean
# style distance to the painting and content distance to the input frames (random-multiscale), and
# frames/s. Prints a Markdown table (the one in docs/benchmarks.md) and writes the videos and JSON
# into $OUT (default /tmp/impasto-video-bench). The clips come from opencv-doc's .deb (apt-get
# download, no root), unpacked into $OUT; nothing else is downloaded.
#
# Environment: IMPASTO (the CLI, default build/impasto), SIZES (default "256 512"), FRAMES (default
# 40; gatys takes GATYS_FRAMES, default 6), METHODS (default "adain gatys").
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
impasto=${IMPASTO:-$here/build/impasto}
out=${OUT:-/tmp/impasto-video-bench}
sizes=${SIZES:-256 512}
frames=${FRAMES:-40}
gatys_frames=${GATYS_FRAMES:-6}
methods=${METHODS:-adain gatys}
style=$here/server/web/styles/starry_night.jpg
mkdir -p "$out"

clips=("$@")
if [ ${#clips[@]} -eq 0 ]; then
  data=$out/opencv-doc/usr/share/doc/opencv-doc/examples/data
  if [ ! -f "$data/vtest.avi" ]; then
    (cd "$out" && apt-get download opencv-doc >/dev/null && dpkg -x opencv-doc_*.deb opencv-doc)
  fi
  clips=("$data/vtest.avi" "$data/tree.avi")
fi

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores;" \
     "flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512_bf16|avx512_vnni|amx_bf16)$' | tr '\n' ' ')"
echo
echo "| clip | method | size | frames | E_warp per frame | E_warp consistent | ratio | style dist. per frame | consistent | change | content dist. per frame | consistent | frames/s per frame | consistent |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for clip in "${clips[@]}"; do
  name=$(basename "$clip" | sed 's/\.[^.]*$//')
  for method in $methods; do
    n=$frames
    [ "$method" = gatys ] && n=$gatys_frames
    for size in $sizes; do
      row=()
      for c in 0 default; do
        video=$out/${name}_${method}_${size}_c$c.mp4
        flag=""
        [ "$c" = 0 ] && flag="--consistency 0"
        "$impasto" -q stylize --method "$method" --image-size "$size" -c "$clip" --frames "$n" -s "$style" -o "$video" $flag
        "$impasto" -q eval --video "$video" --content "$clip" --frames "$n" --style "$style" --json "${video%.mp4}.eval.json" >/dev/null
        row+=("$(/usr/bin/python3 - "${video%.mp4}.json" "${video%.mp4}.eval.json" <<'EOF'
import json, sys
run, ev = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(ev["warping_error"], ev["style_distance"], ev["content_distance"], run["frames_per_second"])
EOF
)")
      done
      /usr/bin/python3 - "$name" "$method" "$size" "$n" "${row[0]}" "${row[1]}" <<'EOF'
import sys
name, method, size, n = sys.argv[1:5]
a = [float(x) for x in sys.argv[5].split()]
b = [float(x) for x in sys.argv[6].split()]
print(f"| {name} | {method} | {size} | {n} | {a[0]:.5f} | {b[0]:.5f} | {b[0]/a[0]:.2f} | {a[1]:.3f} | {b[1]:.3f} | "
      f"{100*(b[1]/a[1]-1):+.1f}% | {a[2]:.3f} | {b[2]:.3f} | {a[3]:.2f} | {b[3]:.2f} |")
EOF
    done
  done
done
