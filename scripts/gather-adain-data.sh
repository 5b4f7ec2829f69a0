#!/bin/sh
# Gathers the training images of the built-in AdaIN model from Debian packages (photographs and
# artwork shipped in Debian main, so free to use), resized so that the shorter side is at most 512 px
# (the recipe's load size; decoding 5K wallpapers for every crop would cost more than the training
# step), into
#
#   OUT/content/   photographs: desktop backgrounds (MATE, KDE Plasma), OpenCV's and scikit-image's sample photos
#   OUT/style/     artwork: the public-domain paintings of ../shared/data/images/style except those held out
#                  for the contact sheet in docs/, abstract desktop backgrounds, natural textures
#   OUT/DATA.txt   the data list: every file with its package, version, path in the package and sha256
#
# Usage: scripts/gather-adain-data.sh OUT [PAINTINGS_DIR]   (PAINTINGS_DIR: ../shared/data/images/style)
# Needs apt-get download (no root) and python3 with python3-opencv (installed here when run as root).
# Never run at build or test time.
set -eu
out=${1:?usage: scripts/gather-adain-data.sh OUT [PAINTINGS_DIR]}
here=$(cd "$(dirname "$0")/.." && pwd)
paintings=${2:-$here/../shared/data/images/style}
# Held out of training: the contact sheet in docs/ shows them (with the shared photos, never trained on).
held_out_paintings="candy.jpg starry_night.jpg the_scream.jpg woman-with-hat-matisse.jpg"

python=${PYTHON:-/usr/bin/python3}  # Debian's, where python3-opencv installs
if ! "$python" -c 'import cv2' 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-opencv
  else
    echo "gather-adain-data: needs python3-opencv (sudo apt-get install python3-opencv)" >&2
    exit 1
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
packages="mate-backgrounds plasma-workspace-wallpapers opencv-doc python3-skimage"
(cd "$work" && apt-get download $packages)
for deb in "$work"/*.deb; do
  name=$(dpkg-deb -f "$deb" Package)
  mkdir -p "$work/x/$name"
  dpkg-deb -x "$deb" "$work/x/$name"
  dpkg-deb -f "$deb" Version > "$work/x/$name.version"
done

mkdir -p "$out/content" "$out/style"
list="$work/list.txt"   # role package path-in-package
: > "$list"
add() {  # role package glob...
  role=$1 package=$2
  shift 2
  for pattern in "$@"; do
    for f in "$work/x/$package"/$pattern; do
      if [ -f "$f" ]; then echo "$role $package ${f#"$work/x/$package"}" >> "$list"; fi
    done
  done
}
ocv=usr/share/doc/opencv-doc/examples/data
ski=usr/lib/python3/dist-packages/skimage/data
add content mate-backgrounds 'usr/share/backgrounds/mate/nature/*.jpg'
# One picture per Plasma wallpaper: its 1920x1080 (or nearest) photograph.
for dir in "$work"/x/plasma-workspace-wallpapers/usr/share/wallpapers/*/contents/images; do
  best=$(ls "$dir" | grep -E '^(1920x1080|2560x1440|3840x2160|5120x2880)\.(jpg|png)$' | head -1 || true)
  if [ -n "$best" ]; then echo "content plasma-workspace-wallpapers ${dir#"$work/x/plasma-workspace-wallpapers"}/$best" >> "$list"; fi
done
for photo in aero1 aero3 apple baboon building butterfly fruits home leuvenA messi5 orange squirrel_cls stuff HappyFish \
             basketball1 aloeL; do
  add content opencv-doc "$ocv/$photo.jpg" "$ocv/$photo.png"
done
for photo in rubberwhale1 smarties; do add content opencv-doc "$ocv/$photo.png"; done
for photo in astronaut coffee chelsea motorcycle_left; do add content python3-skimage "$ski/$photo.png"; done
add content python3-skimage "$ski/rocket.jpg" "$ski/hubble_deep_field.jpg"
add style mate-backgrounds 'usr/share/backgrounds/mate/abstract/*.png' 'usr/share/backgrounds/mate/abstract/Elephants.jpg'
for texture in gravel brick grass; do add style python3-skimage "$ski/$texture.png"; done
add style opencv-doc "$ocv/graf1.png"

"$python" - "$work" "$list" "$out" "$paintings" "$held_out_paintings" <<'PY'
import cv2, hashlib, os, sys
work, listing, out, paintings, held_out = sys.argv[1:6]
held_out = set(held_out.split())
MAX_SHORT_SIDE = 512

def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()

def put(src, role, name, origin):
    image = cv2.imread(src, cv2.IMREAD_COLOR)
    if image is None:
        print("skipped (unreadable):", src, file=sys.stderr)
        return None
    h, w = image.shape[:2]
    scale = MAX_SHORT_SIDE / min(h, w)
    if scale < 1:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    dst = os.path.join(out, role, name + ".jpg")
    cv2.imwrite(dst, image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return f"{role}/{name}.jpg  {image.shape[1]}x{image.shape[0]}  {origin}  sha256 {sha256(src)}"

rows = []
for line in open(listing):
    role, package, path = line.split(" ", 2)
    path = path.strip()
    version = open(os.path.join(work, "x", package + ".version")).read().strip()
    parts = [p for p in path.split("/") if p]
    # A readable, unique name: the wallpaper's folder for Plasma, else the file's stem.
    stem = parts[-4] if package == "plasma-workspace-wallpapers" else os.path.splitext(parts[-1])[0]
    row = put(os.path.join(work, "x", package) + path, role, f"{package.split('-')[0]}-{stem}", f"{package} {version} {path}")
    if row:
        rows.append(row)
for name in sorted(os.listdir(paintings)):
    if name in held_out or not name.lower().endswith((".jpg", ".png")):
        continue
    row = put(os.path.join(paintings, name), "style", "painting-" + os.path.splitext(name)[0],
              f"../shared/data/images/style/{name}")
    if row:
        rows.append(row)
with open(os.path.join(out, "DATA.txt"), "w") as f:
    f.write("# The built-in AdaIN model's training data, as scripts/gather-adain-data.sh gathers it.\n")
    f.write("# file  size  origin (Debian package, version, path; or the shared folder)  sha256 of the original\n")
    f.write(f"# held out of training (the docs' contact sheet): {' '.join(sorted(held_out))}\n")
    for row in sorted(rows):
        f.write(row + "\n")
print(f"{sum(r.startswith('content/') for r in rows)} content and {sum(r.startswith('style/') for r in rows)} style images in {out}")
PY
