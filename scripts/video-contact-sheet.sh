#!/bin/sh
# The figure of docs/video.md: four consecutive frames of a real clip (opencv-doc's tree.avi, a slow
# pan) as input, stylized frame by frame (--consistency 0) and stylized consistently (the default),
# each stylized row with the flicker under it: |V_t - W(V_{t+1})| on the non-occluded pixels (the
# warping error's term, Lai et al. 2018), brighter = more flicker.
#
#   scripts/video-contact-sheet.sh [OUT_DIR]   (default docs/images; needs build/impasto and
#                                               /usr/bin/python3 with python3-opencv)
# The clip comes from opencv-doc's .deb (apt-get download; no root), as in bench/video_consistency.sh.
set -eu
cd "$(dirname "$0")/.."
out="${1:-docs/images}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
(cd "$work" && apt-get download opencv-doc >/dev/null 2>&1 && dpkg -x opencv-doc_*.deb doc)
clip="$work/doc/usr/share/doc/opencv-doc/examples/data/tree.avi"
style=server/web/styles/starry_night.jpg
for c in 0 0.6; do
  build/impasto -q stylize --method adain --image-size 320 -c "$clip" --start 30 --frames 4 -s "$style" \
    --consistency "$c" -o "$work/c$c"
done
/usr/bin/python3 - "$clip" "$work" "$out" <<'PY'
import sys, cv2, numpy as np
clip, work, out = sys.argv[1:4]
cap = cv2.VideoCapture(clip)
cap.set(cv2.CAP_PROP_POS_FRAMES, 30)
inputs = [cap.read()[1] for _ in range(4)]
def frames(name):
    return [cv2.imread(f"{work}/{name}/frame_{i:06d}.png") for i in range(1, 5)]
per_frame, consistent = frames("c0"), frames("c0.6")
h, w = per_frame[0].shape[:2]
inputs = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in inputs]
grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in inputs]
dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
def flicker(row):
    maps = []
    for t in range(3):
        f = dis.calc(grey[t], grey[t + 1], None)
        b = dis.calc(grey[t + 1], grey[t], None)
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        mx, my = xs + f[..., 0], ys + f[..., 1]
        warped = cv2.remap(row[t + 1].astype(np.float32), mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        bw = cv2.remap(b, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        s = f + bw
        ok = (s ** 2).sum(2) <= 0.01 * ((f ** 2).sum(2) + (bw ** 2).sum(2)) + 0.5
        d = np.sqrt(((row[t].astype(np.float32) - warped) ** 2).sum(2)) * ok
        maps.append(cv2.applyColorMap(np.clip(d * 2, 0, 255).astype(np.uint8), cv2.COLORMAP_INFERNO))
    maps.append(np.zeros_like(row[0]))
    return maps
pad = 4
def strip(row):
    cells = []
    for img in row:
        cells += [img, np.full((h, pad, 3), 255, np.uint8)]
    return np.hstack(cells[:-1])
def label(text):
    bar = np.full((22, strip(inputs).shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return bar
rows = [label("input frames t .. t+3 (tree.avi)"), strip(inputs),
        label("adain, every frame on its own (--consistency 0)"), strip(per_frame),
        label("  flicker |V_t - W(V_t+1)| on non-occluded pixels"), strip(flicker(per_frame)),
        label("adain, consistent (default --consistency 0.6)"), strip(consistent),
        label("  flicker |V_t - W(V_t+1)| on non-occluded pixels"), strip(flicker(consistent))]
cv2.imwrite(f"{out}/video-consistency.jpg", np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 88])
print(f"wrote {out}/video-consistency.jpg")
PY
