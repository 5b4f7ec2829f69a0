#!/usr/bin/python3
"""Writes the AdaIN fixtures used by tests/golden/adain_golden_test.cpp and tests/unit/adain_test.cpp.

Re-run (from the repository root; needs Debian's python3-torch 1.13, nothing else, no torchvision):

    /usr/bin/python3 tools/make_adain_fixtures.py            # writes tests/fixtures/adain/
    /usr/bin/python3 tools/make_adain_fixtures.py --out DIR  # somewhere else

The reference is naoto0804/pytorch-AdaIN (Huang & Belongie 2017), re-written here from its published
layout and formulas (not copied):

  encoder   its `vgg` nn.Sequential (vgg_normalised.pth) cut after module 30 (relu4_1), as its test.py
            does. The weights are those of tests/fixtures/weights/vgg19_normalised_w8.pth (made by
            tools/make_weight_fixtures.py: every width divided by 8, random weights), which impasto's
            `vgg19-normalised` backbone already reads; it is not written again here.
  decoder   its `decoder` nn.Sequential of 29 modules (reflection pad before each 3x3 conv, ReLU
            after all but the last conv, nearest x2 upsampling after the 1st, 5th and 7th conv's
            ReLU), state-dict keys `N.weight` / `N.bias`, with every width divided by 8 like the
            encoder (512 -> 64 input channels), so that the file is small; impasto reads the widths
            from the file.
  AdaIN     its adaptive_instance_normalization: per sample and channel, mean over the positions and
            std = sqrt(unbiased variance + 1e-5), for both content and style features.
  transfer  its style_transfer: t = AdaIN(f(content), f(style)); with several styles and
            interpolation weights w (normalised to sum 1), t = sum_i w_i AdaIN(f(content), f(style_i));
            then t = alpha * t + (1 - alpha) * f(content), and the output is decoder(t), unclamped.

The decoder's weights are redrawn N(0, 2/fan_in) with biases in +-0.05 (kaiming, as the VGG fixtures),
and its last conv is then rescaled once so that the fixture content's reconstruction has mean 0.5 and
std 0.25: the outputs then lie mostly in [0,1] like a trained decoder's (a few percent outside, which
exercises the clamp of the canonical output).

Files (tests/fixtures/adain/, about 430 KB):

  decoder_w8.pth   the decoder's state dict (torch.save zip format), keys 1.weight .. 28.bias.
  adain_w8_ref.pth inputs, uint8 so that PNG files of them are exact (the canonical image is x / 255):
                     'content'  [1,3,48,64] (sides multiples of 8, not square)
                     'style_a'  [1,3,40,56] (style sizes need not be multiples of 8: ceil-mode pools)
                     'style_b'  [1,3,64,48]
                   reference outputs, float32, unclamped decoder outputs [1,3,48,64]:
                     'one'           style_a, alpha 1
                     'alpha05'       style_a, alpha 0.5
                     'interp'        style_a and style_b with interpolation weights 1, 3, alpha 1
                     'interp_alpha'  the same with alpha 0.7
                   and intermediate tensors:
                     'content_relu4_1'  f(content) [1,64,6,8]
                     'style_a_mean', 'style_a_std'  the statistics of f(style_a) [1,64,1,1]
                     'target_one'       AdaIN(f(content), f(style_a)) [1,64,6,8]
"""

import argparse
import os

import torch
import torch.nn as nn

SEED = 20261206
WIDTH_DIVISOR = 8
EPS = 1e-5


def reflect_conv(cin, cout):
    return [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(cin, cout, (3, 3))]


def build_encoder():
    """The normalised VGG19 of the anchor up to relu4_1 (modules 0..30), widths / WIDTH_DIVISOR."""
    d = WIDTH_DIVISOR
    blocks = [(64 // d, 2), (128 // d, 2), (256 // d, 4), (512 // d, 4), (512 // d, 4)]
    layers = [nn.Conv2d(3, 3, (1, 1))]
    cin = 3
    for b, (width, depth) in enumerate(blocks):
        for _ in range(depth):
            layers += reflect_conv(cin, width) + [nn.ReLU()]
            cin = width
        if b < 4:
            layers.append(nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True))
    full = nn.Sequential(*layers)
    assert len(full) == 53, len(full)
    return full


def build_decoder():
    c = 512 // WIDTH_DIVISOR
    convs = [(c, c // 2), (c // 2, c // 2), (c // 2, c // 2), (c // 2, c // 2), (c // 2, c // 4),
             (c // 4, c // 4), (c // 4, c // 8), (c // 8, c // 8), (c // 8, 3)]
    layers = []
    for k, (cin, cout) in enumerate(convs):
        layers += reflect_conv(cin, cout)
        if k == len(convs) - 1:
            break
        layers.append(nn.ReLU())
        if k in (0, 4, 6):
            layers.append(nn.UpsamplingNearest2d(scale_factor=2))
    dec = nn.Sequential(*layers)
    assert len(dec) == 29, len(dec)
    for m in dec.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            nn.init.uniform_(m.bias, -0.05, 0.05)
    return dec.eval()


def mean_std(feat):
    n, c = feat.shape[:2]
    flat = feat.reshape(n, c, -1)
    var = flat.var(dim=2) + EPS  # unbiased, as torch.var's default
    return flat.mean(dim=2).reshape(n, c, 1, 1), var.sqrt().reshape(n, c, 1, 1)


def adain(content_feat, style_feat):
    cm, cs = mean_std(content_feat)
    sm, ss = mean_std(style_feat)
    return (content_feat - cm) / cs * ss + sm


def transfer(encoder, decoder, content, styles, alpha, weights=None):
    fc = encoder(content)
    if weights is None:
        t = adain(fc, encoder(styles[0]))
    else:
        total = float(sum(weights))
        t = torch.zeros_like(fc)
        for w, s in zip(weights, styles):
            t = t + (w / total) * adain(fc, encoder(s))
    t = alpha * t + (1 - alpha) * fc
    return decoder(t)


def smooth_image(h, w, gen):
    """A photo-like uint8 image: coarse random colours upsampled bilinearly, plus fine noise."""
    coarse = torch.rand(1, 3, max(2, h // 8), max(2, w // 8), generator=gen)
    img = nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    img = img + 0.08 * torch.randn(1, 3, h, w, generator=gen)
    return (img.clamp(0, 1) * 255).round().to(torch.uint8)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "adain"))
    parser.add_argument("--vgg", default=os.path.join(here, "..", "tests", "fixtures", "weights",
                                                      "vgg19_normalised_w8.pth"))
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(SEED + 1)

    vgg = build_encoder()
    vgg.load_state_dict(torch.load(args.vgg))
    encoder = nn.Sequential(*list(vgg.children())[:31]).eval()
    decoder = build_decoder()

    content8 = smooth_image(48, 64, gen)
    style_a8 = smooth_image(40, 56, gen)
    style_b8 = smooth_image(64, 48, gen)
    content, style_a, style_b = (x.float() / 255 for x in (content8, style_a8, style_b8))

    with torch.no_grad():
        # Rescale the last conv: reconstruction of the content (its own statistics) to mean 0.5, std 0.25.
        recon = decoder(encoder(content))
        scale = 0.25 / recon.std().item()
        shift = recon.mean().item()
        last = decoder[28]
        last.weight.mul_(scale)
        last.bias.copy_((last.bias - shift) * scale + 0.5)

        ref = {"content": content8, "style_a": style_a8, "style_b": style_b8}
        ref["one"] = transfer(encoder, decoder, content, [style_a], 1.0)
        ref["alpha05"] = transfer(encoder, decoder, content, [style_a], 0.5)
        ref["interp"] = transfer(encoder, decoder, content, [style_a, style_b], 1.0, [1, 3])
        ref["interp_alpha"] = transfer(encoder, decoder, content, [style_a, style_b], 0.7, [1, 3])
        fc = encoder(content)
        fs = encoder(style_a)
        ref["content_relu4_1"] = fc
        ref["style_a_mean"], ref["style_a_std"] = mean_std(fs)
        ref["target_one"] = adain(fc, fs)

    torch.save(decoder.state_dict(), os.path.join(out, "decoder_w8.pth"))
    torch.save(ref, os.path.join(out, "adain_w8_ref.pth"))
    for name in ("one", "alpha05", "interp", "interp_alpha"):
        o = ref[name]
        outside = ((o < 0) | (o > 1)).float().mean().item()
        print(f"{name}: {tuple(o.shape)} range [{o.min().item():.3f}, {o.max().item():.3f}], "
              f"{100 * outside:.1f}% outside [0,1]")
    for f in sorted(os.listdir(out)):
        print(f, os.path.getsize(os.path.join(out, f)), "bytes")


if __name__ == "__main__":
    main()
