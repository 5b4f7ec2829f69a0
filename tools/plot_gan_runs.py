#!/usr/bin/python3
"""Draws the evaluation curves of several GAN runs (impasto train gan --eval-every) against the
training time, side by side, for docs/gan-small-collections.md. Reads each run's log.jsonl (the
records holding "fid"), writes one PNG with a panel per figure (FID, KID, and where a run has a
digit classifier's figures, mean top-1 and exp(E KL)).

    tools/plot_gan_runs.py --max-seconds 900 -o docs/images/gan-small-fid.png "old recipe=runs/old" "small preset=runs/new"

Needs Debian's python3-opencv and python3-numpy (drawing only; no matplotlib on this machine)."""
import argparse
import json
import math

import cv2
import numpy as np

COLOURS = [(200, 90, 30), (40, 40, 220), (40, 160, 40), (160, 40, 160), (0, 140, 200), (90, 90, 90)]  # BGR


def read_evaluations(run, max_seconds):
    out = []
    with open(run + "/log.jsonl") as f:
        for line in f:
            record = json.loads(line)
            if "fid" in record and (max_seconds <= 0 or record["train_s"] <= max_seconds):
                out.append(record)
    if not out:
        raise SystemExit(f"{run}/log.jsonl holds no evaluation (train with --eval-every)")
    return out


def panel(series, key, title, log_y, width=560, height=360):
    image = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 70, 20, 34, 44
    points = [(label, [(r["train_s"], r[key]) for r in records if key in r]) for label, records in series]
    points = [(label, p) for label, p in points if p]
    cv2.putText(image, title, (left, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    if not points:
        return image
    xs = [x for _, p in points for x, _ in p]
    ys = [y for _, p in points for _, y in p if not log_y or y > 0]
    x_max = max(xs) * 1.02
    transform = (lambda v: math.log10(v)) if log_y else (lambda v: v)
    y_lo, y_hi = transform(min(ys)), transform(max(ys))
    if y_hi - y_lo < 1e-9:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    pad = 0.05 * (y_hi - y_lo)
    y_lo, y_hi = y_lo - pad, y_hi + pad

    def to_pixel(x, y):
        px = left + (width - left - right) * x / x_max
        py = height - bottom - (height - top - bottom) * (transform(y) - y_lo) / (y_hi - y_lo)
        return int(round(px)), int(round(py))

    cv2.rectangle(image, (left, top), (width - right, height - bottom), (0, 0, 0), 1)
    for i in range(5):
        value = y_lo + (y_hi - y_lo) * i / 4
        shown = 10 ** value if log_y else value
        y = int(round(height - bottom - (height - top - bottom) * i / 4))
        cv2.line(image, (left, y), (width - right, y), (225, 225, 225), 1)
        cv2.putText(image, f"{shown:.3g}", (4, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for i in range(5):
        value = x_max * i / 4
        x = int(round(left + (width - left - right) * i / 4))
        cv2.putText(image, f"{value:.0f}", (x - 10, height - bottom + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, "training seconds", (width // 2 - 60, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for index, (label, p) in enumerate(points):
        colour = COLOURS[index % len(COLOURS)]
        pixels = [to_pixel(x, y) for x, y in p if not log_y or y > 0]
        for a, b in zip(pixels, pixels[1:]):
            cv2.line(image, a, b, colour, 2, cv2.LINE_AA)
        for q in pixels:
            cv2.circle(image, q, 3, colour, -1, cv2.LINE_AA)
        cv2.putText(image, label, (left + 8, top + 18 + 18 * index), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
    return image


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="LABEL=RUN_FOLDER")
    parser.add_argument("-o", "--out", required=True, help="PNG to write")
    parser.add_argument("--max-seconds", type=float, default=0, help="leave out evaluations after this much training time")
    args = parser.parse_args()
    series = []
    for item in args.runs:
        label, _, run = item.partition("=")
        if not run:
            raise SystemExit(f"give LABEL=RUN_FOLDER, got '{item}'")
        series.append((label, read_evaluations(run, args.max_seconds)))
    panels = [panel(series, "fid", "FID (random-multiscale features), log scale", True),
              panel(series, "kid", "KID, log scale", True),
              panel(series, "top1", "digit classifier: mean top-1", False),
              panel(series, "score", "exp(E KL(p(y|x) || p(y)))", False)]
    has_classifier = any("top1" in r for _, records in series for r in records)
    grid = np.vstack([np.hstack(panels[:2]), np.hstack(panels[2:])]) if has_classifier else np.hstack(panels[:2])
    if not cv2.imwrite(args.out, grid):
        raise SystemExit(f"cannot write {args.out}")


if __name__ == "__main__":
    main()
