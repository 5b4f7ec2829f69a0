#!/bin/sh
# The contact sheet of docs/adain.md: photo | painting | adain (the built-in model) | gatys (the
# defaults), for each shared photo with one of the paintings held out of the built-in model's
# training data (scripts/gather-adain-data.sh), at 384 px, with each method's time on this machine.
#
#   scripts/adain-contact-sheet.sh [OUT_DIR]   (default docs/images; needs build/impasto)
# Writes OUT_DIR/adain-contact-sheet.jpg and prints the timings as a Markdown table (docs/adain.md).
set -eu
cd "$(dirname "$0")/.."
out="${1:-docs/images}"
images=../shared/data/images
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
pairs="tubingen:starry_night golden_gate:the_scream amber:woman-with-hat-matisse hoovertowernight:candy"
for pair in $pairs; do
  photo=${pair%%:*}
  painting=${pair#*:}
  for method in adain gatys; do
    build/impasto stylize --method "$method" -c "$images/content/$photo.jpg" -s "$images/style/$painting.jpg" \
      --image-size 384 --threads 2 -o "$work/$photo-$method.png" >/dev/null 2>&1
  done
done
/usr/bin/python3 - "$images" "$work" "$out" "$pairs" <<'PY'
import json, sys, cv2, numpy as np
images, work, out, pairs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
cell = 256
def fit(img):
    h, w = img.shape[:2]
    s = cell / max(h, w)
    img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    canvas = np.full((cell, cell, 3), 255, np.uint8)
    y, x = (cell - img.shape[0]) // 2, (cell - img.shape[1]) // 2
    canvas[y:y + img.shape[0], x:x + img.shape[1]] = img
    return canvas
def label(img, text):
    band = np.full((24, img.shape[1], 3), 255, np.uint8)
    cv2.putText(band, text, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (40, 40, 40), 1, cv2.LINE_AA)
    return np.vstack([band, img])
rows, table = [], ["| photo | painting | adain | gatys |", "|---|---|---|---|"]
for pair in pairs:
    photo, painting = pair.split(":")
    seconds = {m: json.load(open(f"{work}/{photo}-{m}.json"))["seconds"] for m in ("adain", "gatys")}
    cells = [label(fit(cv2.imread(f"{images}/content/{photo}.jpg")), photo),
             label(fit(cv2.imread(f"{images}/style/{painting}.jpg")), painting),
             label(fit(cv2.imread(f"{work}/{photo}-adain.png")), f"adain {seconds['adain']:.2f} s"),
             label(fit(cv2.imread(f"{work}/{photo}-gatys.png")), f"gatys {seconds['gatys']:.0f} s")]
    rows.append(np.hstack([np.pad(c, ((4, 4), (4, 4), (0, 0)), constant_values=255) for c in cells]))
    table.append(f"| {photo} | {painting} | {seconds['adain']:.2f} s | {seconds['gatys']:.1f} s |")
cv2.imwrite(f"{out}/adain-contact-sheet.jpg", np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 88])
print("\n".join(table))
print(f"wrote {out}/adain-contact-sheet.jpg")
PY
