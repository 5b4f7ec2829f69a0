#!/usr/bin/python3
"""PyTorch reference for build/impasto_bench's BM_StyleNet: one forward pass of the fast_neural_style
TransformerNet (width 32, 5 residual blocks, input scaled to [0,255]) and of CycleGAN's
resnet_9blocks generator (ngf 64, instance norm, input mapped to [-1,1]) on a side x side image,
with the architectures of tools/make_style_net_fixtures.py (random weights); and BM_AdainBuiltin's
network: the normalised VGG19 up to relu4_1 and the AdaIN decoder of tools/make_adain_fixtures.py at a
quarter of the published widths (impasto's random-vgg19 encoder and the built-in decoder), one photo
encoded, AdaIN with a style's cached statistics, decoded.

    /usr/bin/python3 bench/reference_style_nets.py [--threads 2] [--seconds 3] [--int8]

--int8 adds PyTorch's own int8 TransformerNet on the same quantised engine (onednn): every layer
quantised as a PyTorch user would write it from LibTorch's quantised operators (quint8 activations
over min/max ranges observed on calibration pictures, per-channel qint8 weights, quantised instance
norm, reflection pad, upsampling and add), and its PSNR against fp32.

Needs Debian's python3-torch (a benchmark tool only).
"""
import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from make_style_net_fixtures import ResnetGenerator, TransformerNet  # noqa: E402
import make_adain_fixtures  # noqa: E402


def time_net(name, net, to_range, side, seconds, bf16=False, mode=None):
    """bf16: under torch.autocast("cpu", bfloat16), PyTorch's own reduced precision (convolutions in
    bf16, reflection padding and instance norm converted back to float32 around them)."""
    image = torch.rand(1, 3, side, side)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        net(to_range(image))  # warm-up
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds or n == 0:
            net(to_range(image))
            n += 1
    mode = mode or ("bf16-autocast" if bf16 else "fp32")
    print(f"pytorch {name:16s} {side:5d} px {mode:13s} {(time.perf_counter() - start) / n * 1000:8.0f} ms/image  ({n} runs)", flush=True)


def quantized_transformer(net, calibration):
    """PyTorch's int8 TransformerNet (see the module doc): returns a function on [0,255] images."""
    import torch.nn.functional as F
    torch.backends.quantized.engine = "onednn"
    ranges = {}

    def observe(name, t):
        lo, hi = ranges.get(name, (0.0, 0.0))
        ranges[name] = (min(lo, t.min().item()), max(hi, t.max().item()))
        return t

    def params(name):
        lo, hi = ranges[name]
        scale = (hi - lo) / 255 or 1.0
        return scale, int(min(max(round(-lo / scale), 0), 255))

    def layers():
        yield "c1", net.conv1, net.in1
        yield "c2", net.conv2, net.in2
        yield "c3", net.conv3, net.in3

    def float_pass(x):
        y = observe("input", x)
        for name, conv, norm in layers():
            y = F.relu(observe(name + ".in", norm(observe(name, conv(y)))))
        for i in range(1, net.blocks + 1):
            r = getattr(net, "res%d" % i)
            t = F.relu(observe("r%d.in1" % i, r.in1(observe("r%d.c1" % i, r.conv1(y)))))
            t = observe("r%d.in2" % i, r.in2(observe("r%d.c2" % i, r.conv2(t))))
            y = observe("r%d.sum" % i, y + t)
        y = F.relu(observe("d1.in", net.in4(observe("d1", net.deconv1(y)))))
        y = F.relu(observe("d2.in", net.in5(observe("d2", net.deconv2(y)))))
        return observe("d3", net.deconv3(y))

    with torch.no_grad():
        for image in calibration:
            float_pass(image)
    packed = {}

    def conv_q(layer, x, name):
        c = layer.conv2d
        if name not in packed:
            w = c.weight.detach()
            scales = w.abs().amax((1, 2, 3)).clamp_min(1e-12).double() / 127
            qw = torch.quantize_per_channel(w, scales, torch.zeros(len(scales), dtype=torch.long), 0, torch.qint8)
            packed[name] = torch.ops.quantized.conv2d_prepack(qw, c.bias.detach(), list(c.stride), [0, 0], [1, 1], 1)
        if hasattr(layer, "upsample_layer"):
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        p = c.kernel_size[0] // 2
        x = F.pad(x, (p, p, p, p), mode="reflect").contiguous(memory_format=torch.channels_last)
        return torch.ops.quantized.conv2d(x, packed[name], *params(name))

    def norm_q(norm, x, name):
        return torch.ops.quantized.instance_norm(x, norm.weight.detach(), norm.bias.detach(), norm.eps, *params(name))

    def forward(x):
        y = torch.quantize_per_tensor(x.contiguous(memory_format=torch.channels_last), *params("input"), torch.quint8)
        for name, conv, norm in layers():
            y = torch.relu(norm_q(norm, conv_q(conv, y, name), name + ".in"))
        for i in range(1, net.blocks + 1):
            r = getattr(net, "res%d" % i)
            t = torch.relu(norm_q(r.in1, conv_q(r.conv1, y, "r%d.c1" % i), "r%d.in1" % i))
            t = norm_q(r.in2, conv_q(r.conv2, t, "r%d.c2" % i), "r%d.in2" % i)
            y = torch.ops.quantized.add(y, t, *params("r%d.sum" % i))
        y = torch.relu(norm_q(net.in4, conv_q(net.deconv1, y, "d1"), "d1.in"))
        y = torch.relu(norm_q(net.in5, conv_q(net.deconv2, y, "d2"), "d2.in"))
        return conv_q(net.deconv3, y, "d3").dequantize()
    return forward


def psnr(a, b):
    mse = ((a.clamp(0, 255) - b.clamp(0, 255)) ** 2).mean().item()
    return float("inf") if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--nets-only", action="store_true", help="TransformerNet and resnet_9blocks only (fp32 and bf16)")
    ap.add_argument("--int8", action="store_true", help="also PyTorch's int8 TransformerNet (see the module doc)")
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
    if args.int8:
        # The last layer scaled so the output spans the image range, as the impasto bench does.
        with torch.no_grad():
            probe = transformer(torch.rand(1, 3, 256, 256) * 255)
            transformer.deconv3.conv2d.weight.mul_(64.0 / probe.std().item())
        smooth = [torch.nn.functional.interpolate(torch.rand(1, 3, 8, 10), size=(256, 320), mode="bicubic").clamp(0, 1) * 255
                  for _ in range(4)]
        int8 = quantized_transformer(transformer, smooth)
        for side in (512, 1024):
            picture = torch.nn.functional.interpolate(torch.rand(1, 3, 16, 16), size=(side, side), mode="bicubic").clamp(0, 1) * 255
            with torch.no_grad():
                quality = psnr(int8(picture), transformer(picture))
            time_net("transformer_net", int8, lambda x: x * 255, side, args.seconds, mode="int8")
            print(f"pytorch transformer_net {side:5d} px int8: all layers int8, {quality:.1f} dB against fp32", flush=True)
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
