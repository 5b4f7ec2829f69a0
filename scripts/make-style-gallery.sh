#!/bin/sh
# Writes the web page's gallery of built-in styles (server/web/styles/*.jpg, served by `impasto serve`
# at /styles/) from the public-domain paintings among the shared images: each scaled to a longest
# side of 512 px and saved as JPEG (quality 88) with Debian's python3-opencv. The titles, painters,
# years and why each is in the public domain are in server/web/styles/styles.json (written by hand).
#
#   scripts/make-style-gallery.sh [SOURCE_DIR]   (default ../shared/data/images/style)
set -eu
cd "$(dirname "$0")/.."
src="${1:-../shared/data/images/style}"
out=server/web/styles
mkdir -p "$out"
/usr/bin/python3 - "$src" "$out" <<'PY'
import sys, cv2
src, out = sys.argv[1], sys.argv[2]
for name in ["starry_night", "the_scream", "shipwreck", "udnie", "woman-with-hat-matisse"]:
    image = cv2.imread(f"{src}/{name}.jpg", cv2.IMREAD_COLOR)
    if image is None:
        sys.exit(f"cannot read {src}/{name}.jpg")
    h, w = image.shape[:2]
    scale = 512 / max(h, w)
    if scale < 1:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    cv2.imwrite(f"{out}/{name}.jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"{out}/{name}.jpg {image.shape[1]}x{image.shape[0]}")
PY
