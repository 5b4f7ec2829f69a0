#!/usr/bin/python3
"""Time to quality for stylization by optimisation (issue 17 part 2), impasto beside PyTorch in one run.

For each backbone and size:
  1. the photo and the painting are resized once (longest side = size) and written as PNGs, so both
     programs read the same pixels; vgg19 gets a random torchvision state dict (seed 0, features only),
     random-multiscale is drawn from the same seeded generator as impasto's (nn/random_multiscale.cpp);
  2. the objective is checked to be the same: impasto's loss at the photo (one Adam step reports the
     point it steps from) against this script's, relative difference below 1e-4;
  3. the PyTorch reference: torch.optim.LBFGS as neural-style(-pt) runs it (lr 1, history 100, 300
     iterations in one step() call, no line search, tolerances off) on the same network and losses,
     with impasto's allocator/OpenMP settings (the fair reference) and out of the box; also with
     torch's own strong-Wolfe line search (the best torch.optim offers);
  4. impasto with its defaults (only --image-size, --backbone and --weights given), every step's loss
     and wall time from its losses.jsonl: the time at which its loss first reaches the reference's
     final loss at the output size. Issue 17's target: at most half the reference's time.
Every run's clock starts before the targets (content features, style Grams) are computed and
excludes process start-up and weight loading, in both programs.

    /usr/bin/python3 bench/time_to_quality.py [--sizes 256 512] [--backbones random-multiscale vgg19]
        [--content ../shared/data/images/content/tubingen.jpg] [--style .../starry_night.jpg]
        [--plot time_to_quality.png] [--impasto-args ...]

Writes a markdown table on stdout and a plot of loss against wall time (log scale) per case. Needs
build/impasto and Debian's python3-torch, python3-torchvision, python3-opencv, python3-numpy.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

IMPASTO_RUNTIME = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "1073741824", "OMP_WAIT_POLICY": "PASSIVE"}
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


# ---- the objective, as impasto's gatys method builds it (style/gatys.cpp, losses/losses.cpp) ------

def build_network(backbone, weights):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)

    if backbone == "random-multiscale":
        # impasto: four scales, each a 3x3 conv 3->64 and 64->128 with reflection padding and ReLUs,
        # weights N(0, 2/fan_in) from one CPU generator seeded 0 in construction order, zero biases.
        gen = torch.Generator().manual_seed(0)
        convs = []
        for _ in range(4):
            pair = [nn.Conv2d(3, 64, 3), nn.Conv2d(64, 128, 3)]
            with torch.no_grad():
                for c in pair:
                    fan_in = c.weight[0].numel()
                    c.weight.copy_(torch.randn(c.weight.shape, generator=gen) * math.sqrt(2.0 / fan_in))
                    c.bias.zero_()
            convs.append(pair)
        k1 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
        blur = torch.outer(k1, k1).expand(3, 1, 5, 5).contiguous()
        layers = [f"s{1 << s}_relu{k}" for s in range(4) for k in (1, 2)]

        def features(x):
            x = (x - mean) / std
            out = {}
            for s, (c1, c2) in enumerate(convs):
                if s > 0:
                    x = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), blur, stride=2, groups=3)
                h1 = F.relu(c1(F.pad(x, (1, 1, 1, 1), mode="reflect")))
                out[f"s{1 << s}_relu1"] = h1
                out[f"s{1 << s}_relu2"] = F.relu(c2(F.pad(h1, (1, 1, 1, 1), mode="reflect")))
            return out

        params = [p for pair in convs for c in pair for p in c.parameters()]
        recipe = dict(content={"s2_relu2": 1.0}, style={n: 1.0 for n in layers}, content_weight=0.01, style_weight=1.0)
    elif backbone == "vgg19":
        import torchvision
        net = torchvision.models.vgg19().features
        net.load_state_dict({k[len("features."):]: v for k, v in torch.load(weights).items()})
        names = {1: "relu1_1", 6: "relu2_1", 11: "relu3_1", 20: "relu4_1", 22: "relu4_2", 29: "relu5_1"}
        last = max(names)

        def features(x):
            x = (x - mean) / std
            out = {}
            for i, m in enumerate(net):
                x = m(x)
                if i in names:
                    out[names[i]] = x
                if i == last:
                    break
            return out

        params = list(net.parameters())
        recipe = dict(content={"relu4_2": 1.0}, style={n: 1.0 for n in ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")},
                      content_weight=1.0, style_weight=1.0)
    else:
        raise SystemExit(f"unknown backbone {backbone}")
    for p in params:
        p.requires_grad_(False)
    return features, recipe


def objective(features, recipe, content, style):
    """The energy-normalised objective (impasto's `energy`): each term |a - b|^2 / |b|^2."""
    import torch

    def gram(f):
        n, c, h, w = f.shape
        f = f.reshape(n, c, h * w)
        return torch.bmm(f, f.transpose(1, 2)) / (h * w)

    def energy(a, b):
        return (a - b).pow(2).sum() / b.pow(2).sum().clamp_min(1e-12)

    with torch.no_grad():
        content_targets = {k: v for k, v in features(content).items() if k in recipe["content"]}
        style_targets = {k: gram(v) for k, v in features(style).items() if k in recipe["style"]}

    def loss(x):
        f = features(x)
        total = 0
        for name, w in recipe["content"].items():
            total = total + recipe["content_weight"] * w * energy(f[name], content_targets[name])
        for name, w in recipe["style"].items():
            total = total + recipe["style_weight"] * w * energy(gram(f[name]), style_targets[name])
        return total

    return loss


def load_png(path):
    import cv2
    import torch
    img = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return (torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).float() / 255.0).contiguous()


def run_reference(args):
    """One PyTorch run (a subprocess, so the allocator/OpenMP environment applies from its start)."""
    import torch
    torch.set_num_threads(args.threads)
    features, recipe = build_network(args.backbone, args.weights)
    content, style = load_png(args.content_png), load_png(args.style_png)
    curve = []  # (seconds, loss at the point the iteration starts from)
    start = time.perf_counter()
    loss_fn = objective(features, recipe, content, style)
    x = content.clone().requires_grad_(True)
    if args.line_search:
        opt = torch.optim.LBFGS([x], lr=1, max_iter=args.iterations, max_eval=10 * args.iterations, history_size=100,
                                tolerance_grad=-1, tolerance_change=-1, line_search_fn="strong_wolfe")
    else:  # neural-style(-pt)'s call
        opt = torch.optim.LBFGS([x], lr=1, max_iter=args.iterations, history_size=100, tolerance_grad=-1, tolerance_change=-1)

    def closure():
        opt.zero_grad()
        loss = loss_fn(x)
        loss.backward()
        curve.append((time.perf_counter() - start, loss.item()))
        return loss

    opt.step(closure)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        final = loss_fn(x).item()  # torch's LBFGS does not evaluate the point its last iteration reaches
    start_loss = curve[0][1]
    json.dump({"start": start_loss, "final": final, "seconds": seconds, "evaluations": len(curve),
               "curve": curve + [(seconds, final)]}, sys.stdout)


# ---- the driver ---------------------------------------------------------------------------------

def fit_longest_side(h, w, longest):  # io/image_ops.cpp
    scale = longest / max(h, w)
    return max(1, int(math.floor(h * scale + 0.5))), max(1, int(math.floor(w * scale + 0.5)))


def prepare_image(src, size, dst):
    import cv2
    img = cv2.imread(src, cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f"cannot read {src}")
    h, w = fit_longest_side(img.shape[0], img.shape[1], size)
    cv2.imwrite(dst, cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA))


def random_vgg19(path):
    import torch
    import torchvision
    torch.manual_seed(0)
    net = torchvision.models.vgg19()
    torch.save({f"features.{k}": v for k, v in net.features.state_dict().items()}, path)


def reference(case, work, env, line_search=False):
    cmd = [sys.executable, os.path.abspath(__file__), "--reference", "--backbone", case["backbone"], "--threads", str(ARGS.threads),
           "--iterations", str(ARGS.iterations), "--content-png", case["content"], "--style-png", case["style"]]
    if case["weights"]:
        cmd += ["--weights", case["weights"]]
    if line_search:
        cmd.append("--line-search")
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def impasto(case, work, extra, stem):
    cmd = [ARGS.impasto, "stylize", "-q", "-c", case["content"], "-s", case["style"], "-o", os.path.join(work, stem + ".png"),
           "--image-size", str(case["size"]), "--backbone", case["backbone"]]
    if case["weights"]:
        cmd += ["--weights", case["weights"]]
    subprocess.run(cmd + extra, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(work, stem + ".losses.jsonl")) as f:
        records = [json.loads(line) for line in f]
    with open(os.path.join(work, stem + ".json")) as f:
        summary = json.load(f)
    return records, summary


def time_to_loss(curve, target):
    for seconds, loss in curve:
        if loss <= target:
            return seconds
    return None


def plot(cases, path):
    """Loss (log scale) against wall time, one panel per case: impasto and the references."""
    import cv2
    import numpy as np
    panel_w, panel_h, margin = 520, 360, 60
    img = np.full((panel_h * len(cases), panel_w, 3), 255, np.uint8)
    colours = {"impasto": (40, 40, 200), "PyTorch LBFGS": (200, 90, 30), "PyTorch LBFGS strong-Wolfe": (60, 160, 60)}
    for i, case in enumerate(cases):
        y0 = i * panel_h
        curves = case["curves"]
        t_max = max(c[-1][0] for c in curves.values())
        losses = [l for c in curves.values() for _, l in c if l > 0]
        # From the photo's loss down: a first trial step that overshoots would squash the rest.
        lo, hi = math.log10(min(losses)), math.log10(min(c[0][1] for c in curves.values()))
        hi = hi if hi > lo else lo + 1

        def xy(t, l):
            x = margin + (panel_w - margin - 20) * t / t_max
            y = y0 + 30 + (panel_h - 30 - margin) * (hi - min(hi, math.log10(max(l, 1e-30)))) / (hi - lo)
            return int(x), int(y)

        cv2.rectangle(img, (margin, y0 + 30), (panel_w - 20, y0 + panel_h - margin), (0, 0, 0), 1)
        cv2.putText(img, f"{case['backbone']} {case['size']} px: loss (log) against seconds", (margin, y0 + 20),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        for d in range(math.floor(lo), math.ceil(hi) + 1):
            if lo <= d <= hi:
                _, y = xy(0, 10.0 ** d)
                cv2.putText(img, f"1e{d}", (5, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(img, "0", (margin - 4, y0 + panel_h - margin + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(img, f"{t_max:.0f} s", (panel_w - 60, y0 + panel_h - margin + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (0, 0, 0), 1, cv2.LINE_AA)
        target = case["reference_final"]
        _, ty = xy(0, target)
        cv2.line(img, (margin, ty), (panel_w - 20, ty), (150, 150, 150), 1)
        for k, (name, c) in enumerate(curves.items()):
            pts = np.array([xy(t, l) for t, l in c if l > 0], np.int32)
            cv2.polylines(img, [pts], False, colours[name], 2, cv2.LINE_AA)
            cv2.putText(img, name, (margin + 10, y0 + panel_h - margin + 18 + 14 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                        colours[name], 1, cv2.LINE_AA)
    cv2.imwrite(path, img)


def main():
    global ARGS
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--backbones", nargs="+", default=["random-multiscale", "vgg19"])
    ap.add_argument("--content", default=os.path.join(root, "../shared/data/images/content/tubingen.jpg"))
    ap.add_argument("--style", default=os.path.join(root, "../shared/data/images/style/starry_night.jpg"))
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--impasto", default=os.path.join(root, "build/impasto"))
    ap.add_argument("--impasto-args", nargs=argparse.REMAINDER, default=[], help="more options for impasto's run (after the defaults)")
    ap.add_argument("--plot", default="time_to_quality.png")
    ap.add_argument("--no-out-of-box", action="store_true", help="skip PyTorch without impasto's runtime settings")
    ap.add_argument("--no-line-search", action="store_true", help="skip the strong-Wolfe PyTorch reference")
    # the reference subprocess
    ap.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--backbone", help=argparse.SUPPRESS)
    ap.add_argument("--weights", help=argparse.SUPPRESS)
    ap.add_argument("--content-png", help=argparse.SUPPRESS)
    ap.add_argument("--style-png", help=argparse.SUPPRESS)
    ap.add_argument("--line-search", action="store_true", help=argparse.SUPPRESS)
    ARGS = ap.parse_args()
    if ARGS.reference:
        run_reference(ARGS)
        return

    flags = subprocess.run([ARGS.impasto, "list"], check=True, capture_output=True, text=True).stdout
    print("\n".join(line for line in flags.splitlines() if line.startswith(("cpu", "  flags", "flags"))))
    fair_env = dict(os.environ, **IMPASTO_RUNTIME)
    plain_env = {k: v for k, v in os.environ.items() if k not in IMPASTO_RUNTIME}
    rows, cases = [], []
    with tempfile.TemporaryDirectory() as work:
        vgg_weights = None
        for backbone in ARGS.backbones:
            if backbone == "vgg19" and vgg_weights is None:
                vgg_weights = os.path.join(work, "vgg19-random.pth")
                random_vgg19(vgg_weights)
            for size in ARGS.sizes:
                case = {"backbone": backbone, "size": size, "weights": vgg_weights if backbone == "vgg19" else None,
                        "content": os.path.join(work, f"content{size}.png"), "style": os.path.join(work, f"style{size}.png")}
                prepare_image(ARGS.content, size, case["content"])
                prepare_image(ARGS.style, size, case["style"])
                ref = reference(case, work, fair_env)
                ref_plain = None if ARGS.no_out_of_box else reference(case, work, plain_env)
                ref_wolfe = None if ARGS.no_line_search else reference(case, work, fair_env, line_search=True)
                # The same objective? impasto's loss at the photo against the reference's.
                start_records, _ = impasto(case, work, ["--optimizer", "adam", "--iterations", "1"], "start")
                rel = abs(start_records[0]["total"] - ref["start"]) / ref["start"]
                if rel > 1e-4:
                    raise SystemExit(f"{backbone} {size}: the objectives differ: impasto {start_records[0]['total']:.6g} at the photo, "
                                     f"PyTorch {ref['start']:.6g} (relative {rel:.2e})")
                records, summary = impasto(case, work, ARGS.impasto_args, "run")
                last_level = max(r["scale"] for r in records)
                curve = [(r["elapsed_s"], r["total"]) for r in records if r["scale"] == last_level]
                target = ref["final"]
                reached = time_to_loss(curve, target)
                steps = next((r["step"] for r in records if r["scale"] == last_level and r["total"] <= target), None)
                ratio = f"{reached / ref['seconds']:.2f}" if reached is not None else "not reached"
                rows.append(f"| {backbone} | {size} | {target:.4g} | {ref['seconds']:.1f} | "
                            f"{ref_plain['seconds']:.1f} | " if ref_plain else f"| {backbone} | {size} | {target:.4g} | {ref['seconds']:.1f} | - | ")
                rows[-1] += (f"{reached:.1f} ({steps} steps) | {ratio} | {curve[-1][1]:.4g} in {summary['seconds']:.1f} s | " if reached is not None
                             else f"- | {ratio} | {curve[-1][1]:.4g} in {summary['seconds']:.1f} s | ")
                rows[-1] += (f"{ref_wolfe['final']:.4g} in {ref_wolfe['seconds']:.1f} s ({ref_wolfe['evaluations']} evaluations) |"
                             if ref_wolfe else "- |")
                curves = {"impasto": curve, "PyTorch LBFGS": ref["curve"]}
                if ref_wolfe:
                    curves["PyTorch LBFGS strong-Wolfe"] = ref_wolfe["curve"]
                cases.append({"backbone": backbone, "size": size, "reference_final": target, "curves": curves})
                print(f"{backbone} {size}: start {ref['start']:.6g} (impasto {start_records[0]['total']:.6g}, rel {rel:.1e}); "
                      f"reference {target:.4g} in {ref['seconds']:.1f} s; impasto reaches it at {reached} s", file=sys.stderr, flush=True)
    print(f"\nphoto {os.path.basename(ARGS.content)}, painting {os.path.basename(ARGS.style)}, {ARGS.iterations} reference iterations, "
          f"impasto options: defaults {' '.join(ARGS.impasto_args)}\n")
    print("| backbone | size | PyTorch LBFGS final loss | its seconds (impasto's settings) | out of the box | impasto reaches it at s | "
          "impasto / PyTorch | impasto's own final | PyTorch strong-Wolfe final |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    plot(cases, ARGS.plot)
    print(f"\nplot: {ARGS.plot}")


if __name__ == "__main__":
    main()
