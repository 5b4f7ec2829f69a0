#!/usr/bin/python3
"""PyTorch reference for build/impasto_bench's BM_StyleNet: one forward pass of the fast_neural_style
TransformerNet (width 32, 5 residual blocks, input scaled to [0,255]) and of CycleGAN's
resnet_9blocks generator (ngf 64, instance norm, input mapped to [-1,1]) on a side x side image,
with the architectures of tools/make_style_net_fixtures.py (random weights); and BM_AdainBuiltin's
network: the normalised VGG19 up to relu4_1 and the AdaIN decoder of tools/make_adain_fixtures.py at a
quarter of the published widths (impasto's random-vgg19 encoder and the built-in decoder), one photo
encoded, AdaIN with a style's cached statistics, decoded.

    /usr/bin/python3 bench/reference_style_nets.py [--threads 2] [--seconds 3]

Needs Debian's python3-torch (a benchmark tool only).
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from make_style_net_fixtures import ResnetGenerator, TransformerNet  # noqa: E402
import make_adain_fixtures  # noqa: E402


def time_net(name, net, to_range, side, seconds, bf16=False):
    """bf16: under torch.autocast("cpu", bfloat16), PyTorch's own reduced precision (convolutions in
    bf16, reflection padding and instance norm converted back to float32 around them)."""
    image = torch.rand(1, 3, side, side)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        net(to_range(image))  # warm-up
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds or n == 0:
            net(to_range(image))
            n += 1
    mode = "bf16-autocast" if bf16 else "fp32"
    print(f"pytorch {name:16s} {side:5d} px {mode:13s} {(time.perf_counter() - start) / n * 1000:8.0f} ms/image  ({n} runs)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--nets-only", action="store_true", help="TransformerNet and resnet_9blocks only (fp32 and bf16)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    transformer = TransformerNet().eval()
    resnet = ResnetGenerator(3, 3, 64, "instance", False, 9).eval()
    for bf16 in (False, True):
        for side in (512, 1024):
            time_net("transformer_net", transformer, lambda x: x * 255, side, args.seconds, bf16)
        for side in (512, 1024):
            time_net("resnet_9blocks", resnet, lambda x: x * 2 - 1, side, args.seconds, bf16)
    if args.nets_only:
        return
    make_adain_fixtures.WIDTH_DIVISOR = 4
    encoder = make_adain_fixtures.build_encoder()[:31].eval()  # up to relu4_1
    decoder = make_adain_fixtures.build_decoder().eval()
    with torch.no_grad():
        style_mean, style_std = make_adain_fixtures.mean_std(encoder(torch.rand(1, 3, 512, 512)))

    def adain_pass(x):
        fc = encoder(x)
        mean, std = make_adain_fixtures.mean_std(fc)
        return decoder((fc - mean) / std * style_std + style_mean).clamp(0, 1)
    for side in (512, 1024):
        time_net("adain_builtin", adain_pass, lambda x: x, side, args.seconds)


if __name__ == "__main__":
    main()
