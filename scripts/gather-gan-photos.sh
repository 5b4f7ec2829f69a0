#!/bin/bash
# Gathers a small collection of real photographs (landscapes, nature, cities, a few close-ups) from
# Debian 12 packages, for training a GAN on real photos: the photographic desktop backgrounds of
# Debian's desktops (62 of them: Plasma, MATE, LXQt, the Ubuntu Touch contest wallpapers of Lomiri,
# Enlightenment; plus Palapeli's 5 puzzle photos), and, for the bulk of the set, the 720x360
# landscape and city photographs that Endless Sky shows on landing (249 of its images/land: public
# domain and CC-BY-SA photos, some cropped and tone-edited by the game's artists). Drawings, logos,
# abstract, vector and rendered art are left out by the per-package selection below, checked by eye
# on contact sheets of every picture in these packages.
#
#   scripts/gather-gan-photos.sh OUT_DIR [--side 256] [--skip PACKAGE]...
#
#   OUT_DIR/<package>--<name>.jpg  each photo, its shorter side scaled down to --side (default 256;
#                                  never up; the aspect is kept, nothing is cropped), JPEG quality 95
#   OUT_DIR/MANIFEST.tsv           file, package, version, path in the package, original WxH, license,
#                                  copyright holder (from the package's debian/copyright, or the
#                                  picture's own metadata where the package ships it; see license_of)
#   OUT_DIR/licenses/<package>.copyright   the package's debian/copyright
#
# One picture per wallpaper: of a KDE wallpaper's contents/images/WxH.* sizes, and of an
# Enlightenment .edj's embedded sizes, only the largest is kept; near-identical pictures (the same
# photo in two places) are dropped after the first, and named. --skip PACKAGE leaves a package out
# (enlightenment-data is a 383 MB download for its 14 photographs).
#
# OUT_DIR must not exist or be empty: the set is written beside it and moved into place when whole, so
# a failed run leaves nothing half-written; to gather again, remove OUT_DIR first.
# Needs apt-get download (no root; apt-get update must have been run) and python3-opencv (installed
# here when run as root). Never run at build or test time.
set -euo pipefail

usage() {
  echo "usage: scripts/gather-gan-photos.sh OUT_DIR [--side 256] [--skip PACKAGE]..." >&2
  exit 2
}
die() {
  echo "gather-gan-photos: $*" >&2
  exit 1
}

out="" side=256 skip=" "
while [ $# -gt 0 ]; do
  case $1 in
    --side) [ $# -ge 2 ] || usage; side=$2; shift 2 ;;
    --side=*) side=${1#--side=}; shift ;;
    --skip) [ $# -ge 2 ] || usage; skip="$skip$2 "; shift 2 ;;
    --skip=*) skip="$skip${1#--skip=} "; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) usage ;;
    *) [ -z "$out" ] || usage; out=$1; shift ;;
  esac
done
[ -n "$out" ] || usage
case $side in ''|*[!0-9]*) die "--side takes a whole number of pixels, not '$side'" ;; esac
[ "$side" -ge 16 ] || die "--side must be at least 16"

# The selection, one rule a line: PACKAGE reviewed VERSION | include GLOB... | keep NAME... | exclude NAME...
#   include  pictures to consider: globs relative to the package's root ('*' stays within one folder);
#            only .jpg/.jpeg/.png/.webp/.edj files are taken
#   keep     if given, only the pictures of these names; exclude: never these names (fnmatch globs).
#            A picture's name is its KDE wallpaper folder (…/NAME/contents/images/WxH.jpg), else its
#            file name without the extension.
#   reviewed the version whose every picture was looked at; another version gets a warning, since an
#            include+exclude rule would let its new pictures in unseen (keep rules would not).
# Left out, having been looked at (Debian 12): gnome-backgrounds (rendered/abstract), ukui-wallpapers
# and lomiri-wallpapers (abstract/vector), sway-backgrounds, xfdesktop4-data, lxde-common, fluxbox,
# desktop-base, propaganda-debian (logos, vector art, textures), mypaint-data-extras (paper
# textures), kphotoalbum's demo (small snapshots of people); and in each package kept, the pictures
# not named in its rules (e.g. Plasma's Altai, Autumn, Volna, MilkyWay; LXQt's origami and logo
# wallpapers; the Ubuntu contest's analogpattern and umang; Enlightenment's Dunes, Flat-*, Squiggle*,
# Paper-Flower, Sunset-Hills; Endless Sky's interiors (space*, station*, loc*), Juno's Jupiter (nasa8,
# nasa9) and photos recoloured to look alien (mountain2, valley7, desert3, hills4, valley1, water6)).
read -r -d '' selection <<'EOF' || true
plasma-workspace-wallpapers reviewed 4:5.27.5-2
plasma-workspace-wallpapers include usr/share/wallpapers/*/contents/images/*
plasma-workspace-wallpapers keep BytheWater ColdRipple ColorfulCups DarkestHour EveningGlow FallenLeaf Grey
plasma-workspace-wallpapers keep Kite OneStandsOut Path summer_1am

mate-backgrounds reviewed 1.26.0-1
mate-backgrounds include usr/share/backgrounds/mate/nature/*

lxqt-themes reviewed 1.2.0-1
lxqt-themes include usr/share/lxqt/wallpapers/*
lxqt-themes keep Butterfly-Kenneth-Wimer Valendas after-the-rain appleflower beam butterfly cloud drop
lxqt-themes keep flowers fog this-is-not-windows

lomiri-wallpapers-16.04 reviewed 20.04.0-2
lomiri-wallpapers-16.04 include usr/share/backgrounds/*
lomiri-wallpapers-16.04 keep Bridge_by_Sander_Klootwijk Dragonfly_by_Bolly Picture_0B_by_freespace
lomiri-wallpapers-16.04 keep Picture_1A_by_freespace Wine_by_Jakkub_Mede aitzgorri_by_Aitzol_Berasategi
lomiri-wallpapers-16.04 keep free_by_Peter_Nerlich friends_by_Aitzol_Berasategi greentock_by_Peter_Nerlich
lomiri-wallpapers-16.04 keep life_by_Aitzol_Berasategi picosdeeuropa_by_Aitzol_Berasategi
lomiri-wallpapers-16.04 keep seeding_by_Clements_Engelhardt sunset_by_Aitzol_Berasategi

lomiri-wallpapers-20.04 reviewed 20.04.0-2
lomiri-wallpapers-20.04 include usr/share/backgrounds/*
lomiri-wallpapers-20.04 keep Kleiber_by_Lukas_Baubkus

enlightenment-data reviewed 0.25.4-2
enlightenment-data include usr/share/enlightenment/data/backgrounds/*.edj
enlightenment-data keep Bamboo Foggy-Trees God-Rays Green-Maple Lichen-Branches Mountain Peaks Red-Maple
enlightenment-data keep Sea-of-Lanterns Snow-Trees Spruce-Needles Sunset-Clouds White-Flower Yellow-Flower

palapeli-data reviewed 4:22.12.3-1
palapeli-data include usr/share/palapeli/collection/*.jpg

endless-sky-data reviewed 0.9.8-1.2
endless-sky-data include usr/share/games/endless-sky/images/land/*.jpg
endless-sky-data exclude space* station* loc* nasa8 nasa9 mountain2 valley7 desert3 hills4 valley1 water6
EOF

packages=$(echo "$selection" | awk 'NF && $1 !~ /^#/ && !seen[$1]++ {print $1}')
for p in $skip; do
  echo "$packages" | grep -qx -- "$p" || die "--skip $p: not a package of the selection (${packages//$'\n'/ })"
done
packages=$(for p in $packages; do case $skip in *" $p "*) ;; *) echo "$p" ;; esac; done)
[ -n "$packages" ] || die "every package skipped: nothing to gather"

if [ -e "$out" ] && [ -n "$(ls -A "$out" 2>/dev/null || echo x)" ]; then
  if [ -f "$out/MANIFEST.tsv" ]; then
    die "$out already holds a gathered set ($(($(wc -l < "$out/MANIFEST.tsv") - 1)) photos in MANIFEST.tsv); remove it to gather again"
  fi
  die "$out exists and is not an empty folder; give a new or empty OUT_DIR"
fi

python=${PYTHON:-/usr/bin/python3}  # Debian's, where python3-opencv installs
if ! "$python" -c 'import cv2' 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-opencv
  else
    die "needs python3-opencv for $python (sudo apt-get install python3-opencv)"
  fi
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
  die "needs apt-get and dpkg-deb (Debian or a derivative)"
fi

work=$(mktemp -d)
partial=""
trap 'rm -rf "$work"; if [ -n "$partial" ]; then rm -rf "$partial"; fi' EXIT
mkdir "$work/debs"
# As root, apt downloads as the _apt user: let it write here (else it warns and downloads as root).
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chmod 711 "$work"; chown _apt "$work/debs"; fi

for p in $packages; do
  candidate=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    die "apt knows no installable '$p' (Debian 12 main has it): run 'apt-get update' (as root), check /etc/apt/sources.list*, or leave it out with --skip $p"
  fi
done
echo "gather-gan-photos: downloading ${packages//$'\n'/ }"
# shellcheck disable=SC2086  # one word a package
if ! (cd "$work/debs" && apt-get download $packages) > "$work/apt.log" 2>&1; then
  cat "$work/apt.log" >&2
  die "apt-get download failed (above); check the network and 'apt-get update', or leave a package out with --skip"
fi
grep -v '^Get:\|^Fetched' "$work/apt.log" >&2 || true

mkdir -p "$(dirname "$out")"
partial="${out%/}.partial.$$"
mkdir "$partial"
echo "$selection" > "$work/selection.txt"
# shellcheck disable=SC2086  # one word a package
"$python" - "$work" "$partial" "$side" $packages <<'PY'
import cv2, fnmatch, glob, json, os, re, shutil, subprocess, sys
import numpy as np

work, out, side, packages = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".edj")
DUPLICATE_BITS = 4  # difference hashes this close (of 64 bits) are one photo

rules = {}
for line in open(os.path.join(work, "selection.txt")):
    words = line.split()
    if len(words) < 3 or words[0].startswith("#"):
        continue
    rule = rules.setdefault(words[0], {"reviewed": None, "include": [], "keep": [], "exclude": []})
    if words[1] == "reviewed":
        rule["reviewed"] = words[2]
    else:
        rule[words[1]] += words[2:]

def warn(message):
    print("gather-gan-photos: warning:", message, file=sys.stderr)

# --- licenses ---------------------------------------------------------------------------------
def dep5_paragraphs(path):
    """(file patterns, license short name, first copyright line) of a machine-readable copyright."""
    paragraphs, fields, key = [], {}, None
    for line in open(path, encoding="utf-8", errors="replace").read().split("\n") + [""]:
        if not line.strip():
            if "Files" in fields and "License" in fields:
                paragraphs.append((fields["Files"].split(), fields["License"].split("\n")[0].strip(),
                                   fields.get("Copyright", "").strip().split("\n")[0].strip()))
            fields, key = {}, None
        elif line[0] in " \t" and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return paragraphs

def dep5_matches(paragraphs, path):
    """The (pattern, license, holder) of each paragraph that matches the installed path's tail
    (patterns are relative to the source tree, e.g. images/land/* for
    usr/share/games/endless-sky/images/land/x.jpg) or the file's name exactly (lomiri's 16.04/x.jpg
    is installed as usr/share/backgrounds/x.jpg), in the file's order: the last one rules."""
    parts = path.strip("/").split("/")
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    found = []
    for patterns, license, holder in paragraphs:
        for pattern in patterns:
            name = pattern.rsplit("/", 1)[-1]
            if any(fnmatch.fnmatchcase(t, pattern) for t in tails) or \
               (not any(c in name for c in "*?[") and name == parts[-1]):
                found.append((pattern, license, holder))
                break
    return found

SHORT = {"LGPLv3": "LGPL-3", "LGPLv2+": "LGPL-2+", "GPLv2+": "GPL-2+", "FDL": "GFDL",
         "GNU-FDL": "GFDL", "Public Domain": "public-domain"}

def license_of(package, root, path, paragraphs):
    """(license, copyright holder). debian/copyright is right for most; three packages say it better
    per picture: Plasma's wallpapers name author and license in metadata.json (debian/copyright has
    GPL-2+ for all), Palapeli's puzzles in their .desktop files (debian/copyright: GPL-2+ for all),
    and LXQt's wallpapers folder has its own License file (CC-BY-SA-3.0; debian/copyright: LGPL-2.1+)."""
    if package == "plasma-workspace-wallpapers":
        meta = os.path.join(root, path.split("/contents/")[0].lstrip("/"), "metadata.json")
        if os.path.exists(meta):
            plugin = json.load(open(meta)).get("KPlugin", {})
            authors = plugin.get("Authors") or [{}]
            return SHORT.get(plugin.get("License", ""), plugin.get("License", "unknown")), authors[0].get("Name", "")
    if package == "palapeli-data":
        desktop = os.path.join(root, os.path.splitext(path.lstrip("/"))[0] + ".desktop")
        if os.path.exists(desktop):
            entry = dict(l.rstrip("\n").split("=", 1) for l in open(desktop) if "=" in l)
            license = entry.get("X-KDE-PluginInfo-License", "unknown")
            return SHORT.get(license, license), entry.get("X-KDE-PluginInfo-Author", "")
    if package == "lxqt-themes" and "/lxqt/wallpapers/" in path:
        notice = os.path.join(root, "usr/share/lxqt/wallpapers/License")
        if os.path.exists(notice) and "by-sa/3.0" in open(notice).read():
            return "CC-BY-SA-3.0", "LXQt Project Team and contributors (wallpapers/License)"
    matches = dep5_matches(paragraphs, path) or [("", "unknown", "")]
    if package == "endless-sky-data":
        # Its contributors' photos are named NAMEn-CONTRIBUTOR.jpg and licensed by images/land/*-CONTRIBUTOR*
        # (CC-BY-SA), but the later list of public-domain Unsplash photos has patterns such as
        # images/land/fields1* and mountain1* that also catch fields11-sfiera.jpg or mountain19-harro.jpg:
        # the contributor's license is the one meant.
        by_contributor = [m for m in matches if m[0].startswith("images/land/*-")]
        if by_contributor:
            return by_contributor[-1][1:]
    return matches[-1][1:]

# --- pictures ---------------------------------------------------------------------------------
def picture_name(path):
    if "/contents/images/" in path:  # a KDE wallpaper: NAME/contents/images/WxH.ext
        return path.split("/contents/images/")[0].rsplit("/", 1)[-1]
    return os.path.splitext(os.path.basename(path))[0]

def jpeg_size(data, start):
    """(width, height) from the frame header of the JPEG starting at data[start], or None."""
    i = start + 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        if marker in (0x01,) or 0xD0 <= marker <= 0xD8:
            i += 2
            continue
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None

def load_edj(path):
    """The largest picture in an Enlightenment .edj (an Eet file whose backgrounds are stored as
    JPEGs at several sizes): find each JPEG's start, read its frame size, decode the largest."""
    data = open(path, "rb").read()
    best, start = None, data.find(b"\xff\xd8\xff")
    while start >= 0:
        size = jpeg_size(data, start)
        if size and (best is None or size[0] * size[1] > best[1][0] * best[1][1]):
            best = (start, size)
        start = data.find(b"\xff\xd8\xff", start + 3)
    if best is None:
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8, offset=best[0]), cv2.IMREAD_COLOR)

def pixel_count(path):
    m = re.fullmatch(r"(\d+)x(\d+)\.\w+", os.path.basename(path))
    if m:
        return int(m.group(1)) * int(m.group(2))
    image = cv2.imread(path, cv2.IMREAD_REDUCED_GRAYSCALE_8)  # cheap; only compares the sizes
    return 0 if image is None else image.shape[0] * image.shape[1]

def difference_hash(image):
    small = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (9, 8), interpolation=cv2.INTER_AREA)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)

rows, hashes, dropped, counts = [], [], [], {}
os.makedirs(os.path.join(out, "licenses"))
for package in packages:
    rule = rules[package]
    debs = glob.glob(os.path.join(work, "debs", package + "_*.deb"))
    if len(debs) != 1:
        sys.exit(f"gather-gan-photos: no downloaded .deb for {package}")
    version = subprocess.run(["dpkg-deb", "-f", debs[0], "Version"], check=True, capture_output=True,
                             text=True).stdout.strip()
    if rule["reviewed"] and version != rule["reviewed"]:
        warn(f"{package} {version}: the selection was reviewed on {rule['reviewed']}; look at this "
             "package's pictures in the contact sheet before training")
    root = os.path.join(work, "x", package)
    os.makedirs(root)
    subprocess.run(["dpkg-deb", "-x", debs[0], root], check=True)
    copyright_file = os.path.join(root, "usr/share/doc", package, "copyright")
    paragraphs = dep5_paragraphs(copyright_file) if os.path.exists(copyright_file) else []
    if os.path.exists(copyright_file):
        shutil.copy(copyright_file, os.path.join(out, "licenses", package + ".copyright"))

    groups = {}
    for pattern in rule["include"]:
        for f in sorted(glob.glob(os.path.join(root, pattern))):
            if not (os.path.isfile(f) and f.lower().endswith(IMAGE_EXTS)):
                continue
            path = f[len(root):]
            name = picture_name(path)
            if rule["keep"] and not any(fnmatch.fnmatchcase(name, k) for k in rule["keep"]):
                continue
            if any(fnmatch.fnmatchcase(name, x) for x in rule["exclude"]):
                continue
            groups.setdefault(name, []).append(path)
    for k in rule["keep"]:
        if not any(fnmatch.fnmatchcase(n, k) for n in groups):
            warn(f"{package} {version}: kept picture '{k}' is not in the package")

    counts[package] = 0
    for name in sorted(groups):
        sizes = groups[name]
        path = sizes[0] if len(sizes) == 1 else max(sizes, key=lambda p: pixel_count(root + p))  # the largest
        src = root + path
        image = load_edj(src) if src.endswith(".edj") else cv2.imread(src, cv2.IMREAD_COLOR)
        if image is None:
            warn(f"{package}: cannot read {path}; skipped")
            continue
        h, w = image.shape[:2]
        scale = side / min(h, w)
        if scale < 1:
            image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA)
        file = f"{package}--{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}.jpg"
        digest = difference_hash(image)
        twin = next((f for f, d in hashes if bin(d ^ digest).count("1") <= DUPLICATE_BITS), None)
        if twin:
            dropped.append(f"{file} (the same picture as {twin})")
            continue
        hashes.append((file, digest))
        cv2.imwrite(os.path.join(out, file), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        license, holder = license_of(package, root, path, paragraphs)
        rows.append([file, package, version, path, f"{w}x{h}", license, holder])
        counts[package] += 1
    shutil.rmtree(root)  # the extracted package; enlightenment-data alone is 400 MB

with open(os.path.join(out, "MANIFEST.tsv"), "w") as f:
    f.write("file\tpackage\tversion\tpath_in_package\toriginal_size\tlicense\tcopyright\n")
    for row in sorted(rows):
        f.write("\t".join(c.replace("\t", " ") for c in row) + "\n")

width = max(len(p) for p in counts)
print(f"gather-gan-photos: {len(rows)} photos, shorter side {side} px (smaller originals kept as they are):")
for package in packages:
    print(f"  {package:<{width}}  {counts[package]:4d}")
for d in dropped:
    print(f"  dropped as a duplicate: {d}")
by_license = {}
for row in rows:
    by_license[row[5]] = by_license.get(row[5], 0) + 1
print("  licenses: " + ", ".join(f"{n} {l}" for l, n in sorted(by_license.items(), key=lambda x: -x[1])))
PY
if [ -d "$out" ]; then rmdir "$out"; fi  # empty (checked above)
mv "$partial" "$out"
partial=""
echo "gather-gan-photos: wrote $out (MANIFEST.tsv lists each photo's package, path and license)"
