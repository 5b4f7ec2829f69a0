#!/usr/bin/env bash
# Does optimisation reach the style on real pairs with the defaults? For every photo x painting of a
# folder pair (default: ../shared/data/images, which tests never need), `impasto stylize` with the
# defaults (gatys, random-multiscale, L-BFGS, 300 iterations, 512 px) and a markdown table: the style
# loss of the photo itself (the start: one Adam step reports the point it steps from), after the run,
# their ratio (issue 17's target: below 5% for every pair), objective evaluations and seconds.
# Usage: bench/optimiser_pairs.sh [content dir] [style dir] [image size (512)] [iterations (300)]
set -euo pipefail
cd "$(dirname "$0")/.."
contents=${1:-../shared/data/images/content}
styles=${2:-../shared/data/images/style}
size=${3:-512}
iterations=${4:-300}
cli=build/impasto
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grep -o -wE 'avx2|avx512f|avx512_bf16|avx512_vnni|amx_bf16|fma' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/^/CPU flags: /'
echo
echo "image size $size, $iterations iterations, other options the defaults"
echo
echo "| photo | painting | start style loss | final style loss | final / start | evaluations | seconds |"
echo "|---|---|---|---|---|---|---|"
for c in "$contents"/*.jpg; do
  for s in "$styles"/*.jpg; do
    name=$(basename "$c" .jpg)_$(basename "$s" .jpg)
    "$cli" stylize -q -c "$c" -s "$s" -o "$work/$name.start.png" --image-size "$size" --optimizer adam --iterations 1 >/dev/null
    "$cli" stylize -q -c "$c" -s "$s" -o "$work/$name.png" --image-size "$size" --iterations "$iterations" >/dev/null
    row=$(/usr/bin/python3 - "$work/$name" <<'PY'
import json, sys
stem = sys.argv[1]
start = json.loads(open(stem + ".start.losses.jsonl").readline())["style"]
summary = json.load(open(stem + ".json"))
final = summary["final"]["style"]
print(f"{start:.4g} | {final:.4g} | {final / start:.2e} | {summary.get('evaluations', '')} | {summary['seconds']:.0f}")
PY
)
    echo "| $(basename "$c" .jpg) | $(basename "$s" .jpg) | $row |"
  done
done
