#!/usr/bin/python3
"""PyTorch reference for build/impasto_bench's BM_FeedforwardTraining/vgg16: one training step of a
feed-forward style network (Johnson, Alahi, Fei-Fei 2016) as pytorch/examples' fast_neural_style
trains it:

  y = TransformerNet(x) for a batch of 4 content images of 256 x 256 in [0,255];
  features of y and of x through VGG16 (ImageNet-normalised inputs) at relu1_2, relu2_2, relu3_3,
  relu4_3; content loss = MSE at relu2_2 (weight 1e5); style loss = sum over the four layers of the
  MSE between the Gram matrices (normalised by C*H*W) of y and those of the style image (weight
  1e10); total.backward(); Adam(lr 1e-3).step().

TransformerNet is the definition of tools/make_style_net_fixtures.py (width 32, 5 residual blocks);
VGG16's features are written here in torchvision's layout with random weights (speed does not depend
on the values; no torchvision or download needed). Content images are fixed random batches: no data
loading is timed.

    /usr/bin/python3 bench/reference_feedforward_step.py [--threads 2] [--batch 4] [--size 256] [--seconds 60]

Needs Debian's python3-torch (a benchmark tool only).
"""
import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from make_style_net_fixtures import TransformerNet  # noqa: E402

from reference_timing import seconds_per_call  # noqa: E402

# VGG16's convolutions up to relu4_3 (0 = max pool), and the layers the losses read.
VGG16_TO_RELU4_3 = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512]
TAPS = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}  # indices in the Sequential


def vgg16_features():
    layers, channels = [], 3
    for width in VGG16_TO_RELU4_3:
        if width == 0:
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True)]
            channels = width
    return nn.Sequential(*layers)


class LossNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = vgg16_features()
        for p in self.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x255):
        x = (x255 / 255.0 - self.mean) / self.std
        out = {}
        last = max(TAPS.values())
        for i, layer in enumerate(self.features):
            x = layer(x)
            for name, index in TAPS.items():
                if index == i:
                    out[name] = x
            if i == last:
                break
        return out


def gram(f):
    b, c, h, w = f.shape
    f = f.reshape(b, c, h * w)
    return f.bmm(f.transpose(1, 2)) / (c * h * w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = TransformerNet()
    vgg = LossNetwork().eval()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    mse = nn.MSELoss()
    content_weight, style_weight = 1e5, 1e10
    style = torch.rand(1, 3, args.size * 2, args.size * 2) * 255
    with torch.no_grad():
        style_grams = {k: gram(v) for k, v in vgg(style).items()}
    x = torch.rand(args.batch, 3, args.size, args.size) * 255

    def step():
        opt.zero_grad()
        y = net(x)
        fy, fx = vgg(y), vgg(x)
        content = content_weight * mse(fy["relu2_2"], fx["relu2_2"])
        style_loss = 0.0
        for name, g in style_grams.items():
            style_loss = style_loss + mse(gram(fy[name]), g.expand(args.batch, -1, -1))
        total = content + style_weight * style_loss
        total.backward()
        opt.step()

    seconds, n = seconds_per_call(step, args.seconds)
    print(f"pytorch fast_neural_style step (TransformerNet + VGG16 to relu4_3) {args.size} px batch {args.batch}: "
          f"{seconds * 1000:.0f} ms/step, {args.batch / seconds:.2f} images/s ({n} steps, {args.threads} threads)", flush=True)


if __name__ == "__main__":
    main()
