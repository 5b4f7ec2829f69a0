#!/usr/bin/python3
"""PyTorch reference for build/impasto_bench's BM_GatysStep: the same optimisation step (features of
the current image, content + Gram style losses on the same layers with energy normalisation,
backward) on the same machine, for comparing impasto with a plain PyTorch implementation.

    /usr/bin/python3 bench/reference_gatys_step.py [--threads 2] [--seconds 3] [--whole-run]

Needs Debian's python3-torch and python3-torchvision (a benchmark tool only; not needed to build,
test or run impasto). Weights are random (speed does not depend on their values).
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from reference_timing import seconds_per_call

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def gram(f):
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return torch.bmm(f, f.transpose(1, 2)) / (h * w)


def energy(a, b):
    return (a - b).pow(2).sum() / b.pow(2).sum()


class RandomMultiscale(nn.Module):
    """Same architecture as impasto's random-multiscale backbone (values differ: random)."""

    def __init__(self):
        super().__init__()
        self.nets = nn.ModuleList(nn.ModuleList([nn.Conv2d(3, 64, 3), nn.Conv2d(64, 128, 3)]) for _ in range(4))
        k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
        self.register_buffer("blur", torch.outer(k, k).expand(3, 1, 5, 5).contiguous())

    def forward(self, x):
        x = (x - MEAN) / STD
        out = {}
        for s, (c1, c2) in enumerate(self.nets):
            if s > 0:
                x = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), self.blur, stride=2, groups=3)
            h1 = F.relu(c1(F.pad(x, (1, 1, 1, 1), mode="reflect")))
            h2 = F.relu(c2(F.pad(h1, (1, 1, 1, 1), mode="reflect")))
            out[f"s{1 << s}_relu1"], out[f"s{1 << s}_relu2"] = h1, h2
        return out


class Vgg(nn.Module):
    NAMES = {"vgg19": {1: "relu1_1", 6: "relu2_1", 11: "relu3_1", 20: "relu4_1", 22: "relu4_2", 29: "relu5_1"},
             "vgg16": {1: "relu1_1", 6: "relu2_1", 11: "relu3_1", 18: "relu4_1", 20: "relu4_2", 25: "relu5_1"}}

    def __init__(self, arch):
        super().__init__()
        self.features = getattr(torchvision.models, arch)().features
        self.names = self.NAMES[arch]
        self.last = max(self.names)

    def forward(self, x):
        x = (x - MEAN) / STD
        out = {}
        for i, m in enumerate(self.features):
            x = m(x)
            if i in self.names:
                out[self.names[i]] = x
            if i == self.last:
                break
        return out


def bench(name, net, content_layers, style_layers, size, seconds):
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    content, style = torch.rand(1, 3, size, size), torch.rand(1, 3, size, size)
    with torch.no_grad():
        ct = net(content)
        st = {k: gram(v) for k, v in net(style).items()}
    x = content.clone().requires_grad_(True)

    def step():
        x.grad = None
        f = net(x)
        loss = sum(energy(f[l], ct[l]) for l in content_layers) + sum(energy(gram(f[l]), st[l]) for l in style_layers)
        loss.backward()

    per_step, n = seconds_per_call(step, seconds, warmup=1)
    ms = per_step * 1000
    print(f"pytorch {name:18s} {size:4d} px  {ms:9.1f} ms/step  ({n} steps)", flush=True)


def whole_run(net, layers, content_layer, steps=150):
    """The default job's shape: 256x192 output, init from content, `steps` L-BFGS iterations."""
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    content, style = torch.rand(1, 3, 192, 256), torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        ct = net(content)
        st = {k: gram(v) for k, v in net(style).items()}
    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=1, history_size=100)

    def closure():
        opt.zero_grad()
        f = net(x)
        loss = 0.01 * energy(f[content_layer], ct[content_layer]) + sum(energy(gram(f[l]), st[l]) for l in layers)
        loss.backward()
        return loss

    start = time.perf_counter()
    for _ in range(steps):
        opt.step(closure)
    print(f"pytorch whole default run (256x192, {steps} L-BFGS steps, random-multiscale): "
          f"{time.perf_counter() - start:.1f} s", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--whole-run", action="store_true", help="also time the whole default job (150 steps)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rm = RandomMultiscale()
    rm_layers = [f"s{f}_relu{k}" for f in (1, 2, 4, 8) for k in (1, 2)]
    vgg_style = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    if args.whole_run:
        whole_run(rm, rm_layers, "s2_relu2")
    for size in (256, 512):
        bench("random-multiscale", rm, ["s2_relu2"], rm_layers, size, args.seconds)
        bench("vgg19", Vgg("vgg19"), ["relu4_2"], vgg_style, size, args.seconds)
        bench("vgg16", Vgg("vgg16"), ["relu4_2"], vgg_style, size, args.seconds)


if __name__ == "__main__":
    main()
