#!/usr/bin/python3
"""Writes the style-network fixtures used by tests/golden/style_nets_golden_test.cpp and
tests/unit/style_nets_test.cpp.

Re-run (from the repository root; needs Debian's python3-torch 1.13, nothing else, no torchvision):

    /usr/bin/python3 tools/make_style_net_fixtures.py            # writes tests/fixtures/style_nets/
    /usr/bin/python3 tools/make_style_net_fixtures.py --out DIR  # somewhere else

Everything is seeded (torch.manual_seed / torch.Generator), so every run writes the same tensors.
The reference architectures below are written from the published layouts, with the same module
names, so their state dicts have the published checkpoints' keys:

  TransformerNet      pytorch/examples fast_neural_style/neural_style/transformer_net.py
                      (Johnson, Alahi, Fei-Fei 2016): conv1 (ConvLayer: ReflectionPad2d(k//2) +
                      Conv2d as `conv2d`), in1..in5 (InstanceNorm2d, affine), res1..res5
                      (ResidualBlock: conv1, in1, relu, conv2, in2, + input), deconv1/deconv2
                      (UpsampleConvLayer: nearest x2, reflection pad, conv), deconv3; inputs in
                      [0,255], output not clamped.
  ResnetGenerator,    junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py: a Sequential `model`;
  UnetGenerator,      norm 'instance' = InstanceNorm2d(affine=False, track_running_stats=False),
  NLayerDiscriminator,'batch' = BatchNorm2d(affine=True); convs before a norm have a bias only with
  PixelDiscriminator  instance norm (use_bias); the pixel discriminator's Sequential is `net`.

The networks are width-reduced (impasto infers the widths from a checkpoint's shapes) to keep the
fixtures small; every conv weight is redrawn N(0, 2/fan_in) and every bias and norm affine parameter
around (0, 1) so that the tests see non-trivial weights (PyTorch's default init would do too, but
its outputs are nearly constant after a tanh of small values); batch-norm running statistics are set
by a few train-mode forwards on seeded noise. Reference outputs come from eval mode.

Files (tests/fixtures/style_nets/, about 600 KB in total; sizes chosen to keep them small, e.g. the
U-Net needs a 128x128 input, so it has ngf 1 and one output channel):

  input32.pth             'image' float32 [2,3,32,32] in [0,1] (the canonical image every 32x32 case uses)
  input128.pth            'image' uint8 [1,3,128,128]; the canonical image is image.float() / 255
  transformer_w4.pth      TransformerNet with base width 4 (4, 8, 16 channels), 5 residual blocks, saved
                          in the LEGACY (pre-1.6, non-zip) torch.save format and, like the published
                          candy/mosaic/udnie/rain_princess .pth files, with the deprecated InstanceNorm
                          keys inN.running_mean / inN.running_var (also resK.inN.*) that PyTorch >= 0.4
                          rejects (neural_style.py deletes them before load_state_dict).
  transformer_w4_ref.pth  'raw' = net(255 * image) [2,3,32,32] (the reference forward, unclamped; the
                          last conv is scaled so that it spans [0,255] and a few percent fall outside);
                          'image' = clamp(raw / 255, 0, 1), the canonical output;
                          'conv3' = relu(in3(conv3(...))) and 'res5' (the last block's output) [2,16,8,8].
  resnet6_ngf2_instance_G.pth      ResnetGenerator(3, 3, ngf=2, n_blocks=6, instance norm, no dropout):
                                   a CycleGAN 'resnet_6blocks' latest_net_G.pth (zip format).
  resnet6_ngf2_instance_G_ref.pth  'image' = (G(2 * image - 1) + 1) / 2 [2,3,32,32]; 'skip2' = the same
                                   with residual block 2 (1-based) replaced by the identity; 'down' =
                                   the activation entering block 1, 'block3' = block 3's output [2,8,8,8].
  resnet2_ngf2_batch_dropout_G.pth ResnetGenerator(3, 3, ngf=2, n_blocks=2, batch norm, dropout 0.5)
                                   (the dropout shifts each block's second conv to conv_block.6), saved
                                   as PyTorch < 0.4.1 did: legacy format, no num_batches_tracked keys.
  resnet2_ngf2_batch_dropout_G_ref.pth  'image' canonical output, eval mode.
  unet128_ngf1_batch_G.pth       UnetGenerator(3, 1, num_downs=7, ngf=1, batch norm, dropout): pix2pix
                                 'unet_128' with one output channel (keys model.model.1.model.3...).
  unet128_ngf1_batch_G_ref.pth   'image' canonical output [1,1,128,128] of the input128 image, eval mode.
  basic_ndf2_instance_D.pth      NLayerDiscriminator(3, ndf=2, n_layers=3, instance norm) ('basic').
  basic_ndf2_instance_D_ref.pth  'patches' = D(2 * image - 1) [2,1,2,2] (the per-patch logits).
  n2_ndf4_batch_D.pth            NLayerDiscriminator(3, ndf=4, n_layers=2, batch norm) ('n_layers').
  n2_ndf4_batch_D_ref.pth        'patches' [2,1,6,6].
  pixel_ndf8_batch_D.pth         PixelDiscriminator(3, ndf=8, batch norm) ('pixel', keys net.N).
  pixel_ndf8_batch_D_ref.pth     'patches' [2,1,32,32].
  param_counts.json              sum(p.numel() for p in net.parameters()) of the nets at their default
                                 widths (TransformerNet; resnet_9blocks, resnet_6blocks, unet_256,
                                 unet_128 with ngf 64; basic and pixel with ndf 64), per norm.

All files but the two legacy ones are torch.save zip files; the legacy ones are written through
save_legacy, which makes them byte-for-byte reproducible (see there).
"""

import argparse
import collections
import functools
import json
import os
import re
import sys

import torch
import torch.nn as nn

SEED = 20240707


# ---- TransformerNet (pytorch/examples fast_neural_style) --------------------------------------------

class ConvLayer(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(k // 2)
        self.conv2d = nn.Conv2d(cin, cout, k, stride)

    def forward(self, x):
        return self.conv2d(self.reflection_pad(x))


class UpsampleConvLayer(nn.Module):
    def __init__(self, cin, cout, k, stride, upsample):
        super().__init__()
        self.upsample_layer = nn.Upsample(mode="nearest", scale_factor=upsample)
        self.reflection_pad = nn.ReflectionPad2d(k // 2)
        self.conv2d = nn.Conv2d(cin, cout, k, stride)

    def forward(self, x):
        return self.conv2d(self.reflection_pad(self.upsample_layer(x)))


class ResidualBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = ConvLayer(c, c, 3, 1)
        self.in1 = nn.InstanceNorm2d(c, affine=True)
        self.conv2 = ConvLayer(c, c, 3, 1)
        self.in2 = nn.InstanceNorm2d(c, affine=True)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.in2(self.conv2(self.relu(self.in1(self.conv1(x))))) + x


class TransformerNet(nn.Module):
    def __init__(self, width=32, blocks=5):
        super().__init__()
        w = width
        self.conv1 = ConvLayer(3, w, 9, 1)
        self.in1 = nn.InstanceNorm2d(w, affine=True)
        self.conv2 = ConvLayer(w, 2 * w, 3, 2)
        self.in2 = nn.InstanceNorm2d(2 * w, affine=True)
        self.conv3 = ConvLayer(2 * w, 4 * w, 3, 2)
        self.in3 = nn.InstanceNorm2d(4 * w, affine=True)
        self.blocks = blocks
        for i in range(1, blocks + 1):
            setattr(self, "res%d" % i, ResidualBlock(4 * w))
        self.deconv1 = UpsampleConvLayer(4 * w, 2 * w, 3, 1, 2)
        self.in4 = nn.InstanceNorm2d(2 * w, affine=True)
        self.deconv2 = UpsampleConvLayer(2 * w, w, 3, 1, 2)
        self.in5 = nn.InstanceNorm2d(w, affine=True)
        self.deconv3 = ConvLayer(w, 3, 9, 1)
        self.relu = nn.ReLU()

    def forward(self, x, features=None):
        y = self.relu(self.in1(self.conv1(x)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        if features is not None:
            features["conv3"] = y
        for i in range(1, self.blocks + 1):
            y = getattr(self, "res%d" % i)(y)
            if features is not None:
                features["res%d" % i] = y
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)


# ---- CycleGAN / pix2pix (junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py) --------------------

def norm_layer(kind):
    if kind == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if kind == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    raise ValueError(kind)


class ResnetBlock(nn.Module):
    def __init__(self, dim, norm, dropout, bias):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=bias), norm(dim), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=bias), norm(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    def __init__(self, cin, cout, ngf, norm_kind, dropout, n_blocks):
        super().__init__()
        norm = norm_layer(norm_kind)
        bias = norm_kind == "instance"
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(cin, ngf, 7, padding=0, bias=bias), norm(ngf), nn.ReLU(True)]
        for i in range(2):
            m = 2 ** i
            layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, stride=2, padding=1, bias=bias), norm(ngf * m * 2),
                       nn.ReLU(True)]
        for _ in range(n_blocks):
            layers.append(ResnetBlock(ngf * 4, norm, dropout, bias))
        for i in range(2):
            m = 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, stride=2, padding=1, output_padding=1,
                                          bias=bias), norm(ngf * m // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, cout, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.n_blocks = n_blocks

    def forward(self, x, skip=(), features=None):
        """skip: 0-based indices of residual blocks replaced by the identity."""
        for i, layer in enumerate(self.model):
            b = i - 10
            if 0 <= b < self.n_blocks and b in skip:
                pass
            else:
                x = layer(x)
            if features is not None:
                if i == 9:
                    features["down"] = x
                if 0 <= b < self.n_blocks:
                    features["block%d" % (b + 1)] = x
        return x


class UnetSkipConnectionBlock(nn.Module):
    def __init__(self, outer, inner, cin=None, sub=None, outermost=False, innermost=False, norm=None,
                 dropout=False, bias=False):
        super().__init__()
        self.outermost = outermost
        cin = outer if cin is None else cin
        downconv = nn.Conv2d(cin, inner, 4, stride=2, padding=1, bias=bias)
        if outermost:
            upconv = nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1)
            layers = [downconv, sub, nn.ReLU(True), upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), downconv, nn.ReLU(True), upconv, norm(outer)]
        else:
            upconv = nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), downconv, norm(inner), sub, nn.ReLU(True), upconv, norm(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    def __init__(self, cin, cout, num_downs, ngf, norm_kind, dropout):
        super().__init__()
        norm = norm_layer(norm_kind)
        bias = norm_kind == "instance"
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, norm=norm, bias=bias)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, sub=block, norm=norm, dropout=dropout, bias=bias)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, sub=block, norm=norm, bias=bias)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, sub=block, norm=norm, bias=bias)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, sub=block, norm=norm, bias=bias)
        self.model = UnetSkipConnectionBlock(cout, ngf, cin=cin, sub=block, outermost=True, norm=norm, bias=bias)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    def __init__(self, cin, ndf, n_layers, norm_kind):
        super().__init__()
        norm = norm_layer(norm_kind)
        bias = norm_kind == "instance"
        layers = [nn.Conv2d(cin, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=2, padding=1, bias=bias), norm(ndf * mult),
                       nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=1, padding=1, bias=bias), norm(ndf * mult),
                   nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class PixelDiscriminator(nn.Module):
    def __init__(self, cin, ndf, norm_kind):
        super().__init__()
        norm = norm_layer(norm_kind)
        bias = norm_kind == "instance"
        self.net = nn.Sequential(
            nn.Conv2d(cin, ndf, 1, stride=1, padding=0), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, stride=1, padding=0, bias=bias), norm(ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, stride=1, padding=0, bias=bias))

    def forward(self, x):
        return self.net(x)


# ---- weights ------------------------------------------------------------------------------------------

def randomise(net, g, bias_scale=0.1):
    """Conv weights N(0, 2/fan_in) (He et al. 2015; for a transposed conv of stride s the fan-in of an
    output pixel is C_in * k^2 / s^2), biases N(0, bias_scale), norm affine parameters N(1, 0.2) and N(0, 0.2)."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, nn.ConvTranspose2d):
                fan_in = m.weight.shape[0] * m.weight.shape[2] * m.weight.shape[3] / (m.stride[0] * m.stride[1])
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.affine:
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
                continue
            else:
                continue
            if m.bias is not None:
                m.bias.copy_(bias_scale * torch.randn(m.bias.shape, generator=g))


def warm_up_batch_norm(net, g, shape, steps=5):
    """Running statistics away from (0, 1): train-mode forwards on seeded noise (no gradients)."""
    net.train()
    with torch.no_grad():
        for _ in range(steps):
            net(torch.rand(shape, generator=g) * 2.4 - 1.1)
    net.eval()


def save_legacy(obj, path):
    """torch.save in the pre-1.6 (non-zip) format, byte-for-byte reproducible.

    The legacy writer names each storage str(storage._cdata), i.e. its memory address, and writes the
    storages sorted by that name, so two runs give different bytes for the same tensors. While saving,
    str() inside torch.serialization is replaced by one that turns those addresses into 0, 1, 2, ... in
    order of first use (the only integers that module passes to str() when saving); the file is
    otherwise exactly what torch.save writes."""
    import builtins
    names = {}

    class StrType(type):  # isinstance(x, str) keeps working inside torch.serialization
        def __instancecheck__(cls, x):
            return isinstance(x, builtins.str)

    class stable_str(metaclass=StrType):
        def __new__(cls, x=""):
            if isinstance(x, int) and not isinstance(x, bool):
                return names.setdefault(x, builtins.str(len(names)))
            return builtins.str(x)

    torch.serialization.str = stable_str
    try:
        torch.save(obj, path, _use_new_zipfile_serialization=False)
    finally:
        del torch.serialization.str


def state_dict_of(net):
    return net.state_dict()  # the OrderedDict (with _metadata) that torch.save(net.state_dict()) writes


def param_count(net):
    return sum(p.numel() for p in net.parameters())


# ---- fixtures -----------------------------------------------------------------------------------------

def make_inputs(g):
    # A smooth gradient plus noise, so both flat and busy regions occur; values in [0,1].
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    base = torch.stack([xx, yy, 1 - xx * yy])[None].repeat(2, 1, 1, 1)
    image32 = (0.6 * base + 0.4 * torch.rand(2, 3, 32, 32, generator=g)).clamp(0, 1)
    image128 = torch.randint(0, 256, (1, 3, 128, 128), generator=g, dtype=torch.uint8)
    return image32.float().contiguous(), image128


def make_transformer(g, image):
    torch.manual_seed(SEED + 1)
    net = TransformerNet(width=4, blocks=5)
    randomise(net, g)
    with torch.no_grad():
        # Scale the last conv so the output spans the [0,255] range of a trained net (a bit beyond it,
        # so that the clamp to [0,1] is exercised too) instead of a few units around 0.
        net.deconv3.conv2d.weight.mul_(75.0)
        net.deconv3.conv2d.bias.copy_(torch.tensor([120.0, 130.0, 125.0]))
    net.eval()
    features = {}
    with torch.no_grad():
        raw = net(image * 255.0, features)
    ref = {"raw": raw, "image": (raw / 255.0).clamp(0, 1)}
    for name in ("conv3", "res5"):
        ref[name] = features[name]
    clamped = ((raw < 0) | (raw > 255)).float().mean().item()
    assert 0.01 < clamped < 0.3, clamped  # some, not most, of the output is clamped
    # The published files' layout: every InstanceNorm also carries running_mean / running_var
    # (PyTorch < 0.4 InstanceNorm buffers), right after its weight and bias.
    state = collections.OrderedDict()
    for key, value in net.state_dict().items():
        state[key] = value
        parts = key.split(".")
        if parts[-1] == "bias" and parts[-2].startswith("in"):
            prefix = ".".join(parts[:-1])
            state[prefix + ".running_mean"] = torch.randn(value.shape, generator=g) * 0.1
            state[prefix + ".running_var"] = 1 + torch.rand(value.shape, generator=g)
    # Round trip through the example's loading rule (neural_style.py stylize()).
    check = TransformerNet(width=4, blocks=5)
    check.load_state_dict({k: v for k, v in state.items() if not re.search(r"in\d+\.running_(mean|var)$", k)})
    return state, ref


def cyclegan_resnet(g, image, ngf, n_blocks, norm, dropout, seed):
    torch.manual_seed(seed)
    net = ResnetGenerator(3, 3, ngf, norm, dropout, n_blocks)
    randomise(net, g)
    if norm == "batch":
        warm_up_batch_norm(net, g, (4, 3, 32, 32))
    net.eval()
    x = image * 2 - 1
    features = {}
    with torch.no_grad():
        out = net(x, features=features)
        skip2 = net(x, skip=(1,))
    return net, out, skip2, features


def make_resnet6(g, image):
    net, out, skip2, features = cyclegan_resnet(g, image, ngf=2, n_blocks=6, norm="instance", dropout=False,
                                                seed=SEED + 2)
    ref = {"image": (out + 1) / 2, "skip2": (skip2 + 1) / 2,
           "down": features["down"], "block3": features["block3"]}
    assert (ref["image"] - ref["skip2"]).abs().max() > 1e-2  # skipping a block changes the output
    return net, ref


def make_resnet2_batch(g, image):
    net, out, _, _ = cyclegan_resnet(g, image, ngf=2, n_blocks=2, norm="batch", dropout=True, seed=SEED + 3)
    assert "model.10.conv_block.6.weight" in net.state_dict()
    return net, {"image": (out + 1) / 2}


def make_unet128(g, image_u8):
    torch.manual_seed(SEED + 4)
    net = UnetGenerator(3, 1, 7, 1, "batch", True)
    randomise(net, g)
    warm_up_batch_norm(net, g, (2, 3, 128, 128))
    net.eval()
    with torch.no_grad():
        out = net(image_u8.float() / 255 * 2 - 1)
    return net, {"image": (out + 1) / 2}


def make_discriminator(g, image, net, batch, seed):
    randomise(net, g)
    if batch:
        warm_up_batch_norm(net, g, (4, 3, 32, 32))
    net.eval()
    with torch.no_grad():
        patches = net(image * 2 - 1)
    return net, {"patches": patches}


def param_counts():
    counts = {"transformer_net": param_count(TransformerNet())}
    for norm in ("instance", "batch"):
        counts["resnet_9blocks/" + norm] = param_count(ResnetGenerator(3, 3, 64, norm, False, 9))
        counts["resnet_6blocks/" + norm] = param_count(ResnetGenerator(3, 3, 64, norm, False, 6))
        counts["unet_256/" + norm] = param_count(UnetGenerator(3, 3, 8, 64, norm, False))
        counts["unet_128/" + norm] = param_count(UnetGenerator(3, 3, 7, 64, norm, False))
        counts["basic/" + norm] = param_count(NLayerDiscriminator(3, 64, 3, norm))
        counts["pixel/" + norm] = param_count(PixelDiscriminator(3, 64, norm))
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "style_nets"))
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)

    def p(name):
        return os.path.join(out, name)

    g = torch.Generator().manual_seed(SEED)
    image32, image128 = make_inputs(g)
    torch.save({"image": image32}, p("input32.pth"))
    torch.save({"image": image128}, p("input128.pth"))

    state, ref = make_transformer(g, image32)
    save_legacy(state, p("transformer_w4.pth"))
    torch.save(ref, p("transformer_w4_ref.pth"))

    net, ref = make_resnet6(g, image32)
    torch.save(state_dict_of(net), p("resnet6_ngf2_instance_G.pth"))
    torch.save(ref, p("resnet6_ngf2_instance_G_ref.pth"))

    net, ref = make_resnet2_batch(g, image32)
    # As PyTorch < 0.4.1 wrote batch-norm checkpoints: legacy format, no num_batches_tracked (PyTorch's
    # BatchNorm loader fills it in for such files).
    old = collections.OrderedDict((k, v) for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked"))
    ResnetGenerator(3, 3, 2, "batch", True, 2).load_state_dict(old)  # strict: PyTorch accepts it
    save_legacy(old, p("resnet2_ngf2_batch_dropout_G.pth"))
    torch.save(ref, p("resnet2_ngf2_batch_dropout_G_ref.pth"))

    net, ref = make_unet128(g, image128)
    torch.save(state_dict_of(net), p("unet128_ngf1_batch_G.pth"))
    torch.save(ref, p("unet128_ngf1_batch_G_ref.pth"))

    discriminators = [
        ("basic_ndf2_instance_D", NLayerDiscriminator, (3, 2, 3, "instance"), False, SEED + 5),
        ("n2_ndf4_batch_D", NLayerDiscriminator, (3, 4, 2, "batch"), True, SEED + 6),
        ("pixel_ndf8_batch_D", PixelDiscriminator, (3, 8, "batch"), True, SEED + 7),
    ]
    for name, cls, cargs, batch, seed in discriminators:
        torch.manual_seed(seed)
        net, ref = make_discriminator(g, image32, cls(*cargs), batch, seed)
        torch.save(state_dict_of(net), p(name + ".pth"))
        torch.save(ref, p(name + "_ref.pth"))

    with open(p("param_counts.json"), "w") as f:
        json.dump(param_counts(), f, indent=2, sort_keys=True)
        f.write("\n")

    total = 0
    for name in sorted(os.listdir(out)):
        size = os.path.getsize(p(name))
        total += size
        print(f"{name:40s} {size:9d} bytes")
    print(f"{'total':40s} {total:9d} bytes")


if __name__ == "__main__":
    sys.exit(main())
