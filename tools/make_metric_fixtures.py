#!/usr/bin/python3
"""Writes the metric fixtures used by tests/golden/metrics_golden_test.cpp.

Re-run (from the repository root; needs Debian's python3-torch 1.13 and python3-torchvision, and
numpy; nothing else):

    /usr/bin/python3 tools/make_metric_fixtures.py            # writes tests/fixtures/metrics/
    /usr/bin/python3 tools/make_metric_fixtures.py --out DIR  # somewhere else

Everything is seeded, so the tensors are identical on every run. All files are torch.save zip files
holding (nested) dicts of tensors; impasto's load_pth flattens nested dicts with '.'.

scipy and scikit-image are not installed on this machine (Debian's python3-scipy / python3-skimage
are absent), so the references that pytorch-fid and scikit-image would compute with them are computed
here with code written out below, in float64:
  - FID: pytorch-fid takes tr sqrtm(C1 C2) with scipy.linalg.sqrtm (a Schur-based square root of the
    non-symmetric product). Here: the Denman-Beavers iteration (Denman & Beavers 1976), another
    general matrix square root of the non-symmetric product C1 C2, run to convergence in float64, and
    cross-checked against sum(sqrt(eigvals(C1 C2))). Only full-rank cases are given to it.
  - SSIM: scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1) filters with scipy.ndimage's Gaussian (truncate 3.5,
    i.e. radius 5, 11 taps, weights exp(-x^2 / (2 sigma^2)) normalised to sum 1) and then crops 5
    pixels on every side before averaging, so its result does not depend on the padding mode. Here
    the same windowed sums are written as explicit loops over the valid window positions.

Files (tests/fixtures/metrics/):

  inception_w16.pth        state dict (OrderedDict, zip) of pytorch-fid's FID Inception
                           (fid_inception_v3(): torchvision's Inception3 with num_classes=1008,
                           aux_logits=False, transform_input=False, and FIDInceptionA/C/E_1/E_2 in
                           Mixed_5b-d, 6b-e, 7b, 7c), re-written below with every channel width
                           divided by 16 (32->2, 64->4, 80->5, 192->12, 48->3, 96->6, 384->24,
                           320->20, 448->28, channels_7x7 128/160/192 -> 8/10/12; pool3 has 128
                           features) and a 64-way fc instead of the 1008-way one (516 KB saved; the
                           class count is read from fc.weight like every width). Keys as in
                           pytorch-fid's pt_inception-2015-12-05-6726825d.pth
                           (Conv2d_1a_3x3.conv.weight, Conv2d_1a_3x3.bn.{weight,bias,running_mean,
                           running_var,num_batches_tracked}, Mixed_5b.branch1x1.conv.weight, ...,
                           fc.weight, fc.bias). Conv weights kaiming-normal (fan_in, relu), BN
                           weights U(0.5, 1.5), biases U(-0.2, 0.2); running statistics from one
                           train-mode pass (momentum None) over 4 seeded smooth random 80x80 images
                           (resized to 299), so activations stay O(1) through the 11 blocks; fc
                           weights N(0, 0.05), bias U(-0.05, 0.05).
                           Before writing it, the script checks the topology: with widths divided
                           by 1 the model has exactly the keys and shapes of torchvision's
                           Inception3(num_classes=1008, aux_logits=False) and, with torchvision's
                           pooling, every block type computes what torchvision's block computes.
  inception_w16_ref.pth    'input' [2,3,64,64] seeded smooth images in [0,1]; after pytorch-fid's
                           preprocessing (F.interpolate to 299x299, bilinear, align_corners=False,
                           then 2x-1): 'Mixed_7c' [2,128,8,8], 'pool3' [2,128] (the adaptive
                           average pool after Mixed_7c) and 'logits' [2,64] (fc of pool3; dropout
                           is the identity in eval mode).
  metrics_ref.pth          float64 everywhere.
    fid.a [200,8], fid.b [200,8]   seeded Gaussian features with different means and covariances
    fid.value                      FID(a, b) (unbiased covariances, as numpy.cov)
    fid.small.a [40,6], .b, .value a second pair (b = a mixed linearly, shifted)
    kid.a [60,5], kid.b [50,5]     seeded features
    kid.s<size>.mean / .std        KID over 7 subsets of <size> (size 20 and 50): for subset i, in
                                   order, torch.randperm(len(a), generator=g)[:size] picks rows of
                                   a, then torch.randperm(len(b), generator=g)[:size] rows of b,
                                   with g = torch.Generator().manual_seed(KID_SEED); kernel
                                   (x.y/d + 1)^3; mean and population std (numpy.std) of the 7
                                   estimates, as torch-fidelity reports them.
    kid.full                       the unbiased MMD^2 estimate on a[:50] and b (one subset of all 50).
    is.logits [50,10]              seeded logits
    is.split<k>.mean / .std        Inception Score of softmax(logits) over k contiguous splits
                                   (k = 1, 5, 10), as torch-fidelity's isc (without its shuffle)
    ssim.<case>.x, .y              image pairs [1,3,H,W] in [0,1] (float32)
    ssim.<case>.lum_valid          SSIM on BT.601 luminance (0.299 R + 0.587 G + 0.114 B),
                                   valid region (skimage's crop)
    ssim.<case>.rgb_valid          SSIM per channel, averaged (skimage's channel_axis)
    ssim.<case>.lum_same           SSIM on luminance over the whole image with the statistics of
                                   symmetric ('half-sample', numpy 'symmetric', ndimage 'reflect')
                                   padding by 5 pixels
    cases: 'noisy' (32x32, smooth image + noise 0.1), 'blurred' (24x40, box-blurred copy),
           'unrelated' (33x33, two independent images)
"""

import argparse
import collections
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20240807
KID_SEED = 11
WIDTH_DIVISOR = 16
NUM_CLASSES = 1008          # pytorch-fid's fc (the TF graph's 1008-way softmax)
FIXTURE_CLASSES = 64        # the fixture's fc: fewer classes keep the file small


# ---- pytorch-fid's FID Inception, widths divided -------------------------------------------------

class BasicConv2d(nn.Module):
    """torchvision's BasicConv2d: conv without bias, BatchNorm(eps=0.001), ReLU."""

    def __init__(self, cin, cout, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def w(c):
    assert c % WIDTH_DIVISOR == 0, c
    return c // WIDTH_DIVISOR


def side_pool(x, fid, use_max=False):
    """The branch_pool input: FID blocks average without the padded zeros (TF semantics) and E_2
    max-pools; torchvision's blocks average with count_include_pad=True."""
    if use_max:
        return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=not fid)


class BlockA(nn.Module):  # InceptionA / FIDInceptionA
    def __init__(self, cin, pool_features, fid=True):
        super().__init__()
        self.fid = fid
        self.branch1x1 = BasicConv2d(cin, w(64), kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, w(48), kernel_size=1)
        self.branch5x5_2 = BasicConv2d(w(48), w(64), kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, w(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(side_pool(x, self.fid))
        return torch.cat([b1, b5, b3, bp], 1)


class BlockB(nn.Module):  # InceptionB (Mixed_6a), unchanged in pytorch-fid
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, w(384), kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, w(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, bd, bp], 1)


class BlockC(nn.Module):  # InceptionC / FIDInceptionC
    def __init__(self, cin, channels_7x7, fid=True):
        super().__init__()
        self.fid = fid
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(cin, w(192), kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, w(192), kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, w(192), kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, w(192), kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for m in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = m(bd)
        bp = self.branch_pool(side_pool(x, self.fid))
        return torch.cat([b1, b7, bd, bp], 1)


class BlockD(nn.Module):  # InceptionD (Mixed_7a), unchanged in pytorch-fid
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, w(192), kernel_size=1)
        self.branch3x3_2 = BasicConv2d(w(192), w(320), kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, w(192), kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(w(192), w(192), kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(w(192), w(192), kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(w(192), w(192), kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_1(x)
        for m in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = m(b7)
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, bp], 1)


class BlockE(nn.Module):  # InceptionE / FIDInceptionE_1 (use_max False) / FIDInceptionE_2 (True)
    def __init__(self, cin, use_max, fid=True):
        super().__init__()
        self.fid, self.use_max = fid, use_max
        self.branch1x1 = BasicConv2d(cin, w(320), kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, w(384), kernel_size=1)
        self.branch3x3_2a = BasicConv2d(w(384), w(384), kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(w(384), w(384), kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, w(448), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(448), w(384), kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(w(384), w(384), kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(w(384), w(384), kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, w(192), kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        bp = self.branch_pool(side_pool(x, self.fid, use_max=self.fid and self.use_max))
        return torch.cat([b1, b3, bd, bp], 1)


class FidInception(nn.Module):
    """fid_inception_v3() with widths / WIDTH_DIVISOR; module names as torchvision's Inception3."""

    def __init__(self, fid=True, num_classes=NUM_CLASSES):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, w(32), kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(w(32), w(32), kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(w(32), w(64), kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(w(64), w(80), kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(w(80), w(192), kernel_size=3)
        self.Mixed_5b = BlockA(w(192), pool_features=w(32), fid=fid)
        self.Mixed_5c = BlockA(w(256), pool_features=w(64), fid=fid)
        self.Mixed_5d = BlockA(w(288), pool_features=w(64), fid=fid)
        self.Mixed_6a = BlockB(w(288))
        self.Mixed_6b = BlockC(w(768), channels_7x7=w(128), fid=fid)
        self.Mixed_6c = BlockC(w(768), channels_7x7=w(160), fid=fid)
        self.Mixed_6d = BlockC(w(768), channels_7x7=w(160), fid=fid)
        self.Mixed_6e = BlockC(w(768), channels_7x7=w(192), fid=fid)
        self.Mixed_7a = BlockD(w(768))
        self.Mixed_7b = BlockE(w(1280), use_max=False, fid=fid)
        self.Mixed_7c = BlockE(w(2048), use_max=True, fid=fid)
        self.fc = nn.Linear(w(2048), num_classes)

    def forward(self, x, taps=None):
        """x in [-1,1] at 299x299; returns (pool3, logits, {tap: tensor})."""
        out = {}
        x = self.Conv2d_1a_3x3(x)
        x = self.Conv2d_2a_3x3(x)
        x = self.Conv2d_2b_3x3(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # maxpool1
        x = self.Conv2d_3b_1x1(x)
        x = self.Conv2d_4a_3x3(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # maxpool2
        out["maxpool2"] = x
        for name in ["Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                     "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"]:
            x = getattr(self, name)(x)
            out[name] = x
        pool3 = F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)  # dropout: identity in eval mode
        return pool3, self.fc(pool3), out


def preprocess(images):
    """pytorch-fid's InceptionV3.forward: resize to 299 (bilinear, align_corners=False), 2x-1."""
    x = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
    return 2 * x - 1


def smooth_images(n, h, w_, generator):
    """Smooth random images in [0,1]: low-resolution noise upsampled bicubically, plus fine noise."""
    coarse = torch.rand(n, 3, max(h // 8, 2), max(w_ // 8, 2), generator=generator)
    img = F.interpolate(coarse, size=(h, w_), mode="bicubic", align_corners=False)
    img = img + 0.05 * torch.randn(n, 3, h, w_, generator=generator)
    return img.clamp(0, 1)


def check_topology_against_torchvision():
    """With WIDTH_DIVISOR 1 the model must have exactly the keys and shapes of torchvision's
    Inception3(num_classes=1008, aux_logits=False) (which pytorch-fid patches), and with
    torchvision's pooling each block must compute what torchvision's block computes."""
    global WIDTH_DIVISOR
    import torchvision.models.inception as tvi
    saved, WIDTH_DIVISOR = WIDTH_DIVISOR, 1
    try:
        torch.manual_seed(0)
        ours = FidInception(fid=False).eval()
        theirs = tvi.Inception3(num_classes=NUM_CLASSES, aux_logits=False, init_weights=False).eval()
        sd_ours, sd_theirs = ours.state_dict(), theirs.state_dict()
        assert list(sd_ours.keys()) == list(sd_theirs.keys()), "key lists differ"
        for k in sd_ours:
            assert sd_ours[k].shape == sd_theirs[k].shape, k
        theirs.load_state_dict(sd_ours)
        with torch.no_grad():
            for name, shape in [("Mixed_5b", (1, 192, 9, 9)), ("Mixed_6b", (1, 768, 7, 7)),
                                ("Mixed_6a", (1, 288, 9, 9)), ("Mixed_7a", (1, 768, 9, 9)),
                                ("Mixed_7b", (1, 1280, 5, 5)), ("Mixed_7c", (1, 2048, 5, 5))]:
                x = torch.randn(shape)
                a, b = getattr(ours, name)(x), getattr(theirs, name)(x)
                assert torch.allclose(a, b, atol=1e-5), name
    finally:
        WIDTH_DIVISOR = saved


def make_inception():
    torch.manual_seed(SEED)
    model = FidInception(num_classes=FIXTURE_CLASSES)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.2, 0.2)
            m.momentum = None  # cumulative average: running stats = the one calibration batch's
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.05)
            nn.init.uniform_(m.bias, -0.05, 0.05)
    g = torch.Generator().manual_seed(SEED + 2)
    model.train()
    with torch.no_grad():
        model(preprocess(smooth_images(4, 80, 80, g)))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1
    return model.eval()


def inception_reference(model):
    g = torch.Generator().manual_seed(SEED + 1)
    x = smooth_images(2, 64, 64, g)
    with torch.no_grad():
        pool3, logits, taps = model(preprocess(x))
    return {"input": x, "pool3": pool3, "logits": logits, "Mixed_7c": taps["Mixed_7c"]}


# ---- FID, KID, IS references (float64) -----------------------------------------------------------

def sqrtm_denman_beavers(a, iterations=100):
    """Principal square root of a matrix without real non-positive eigenvalues (Denman & Beavers
    1976): Y0 = A, Z0 = I; Y <- (Y + Z^-1)/2, Z <- (Z + Y^-1)/2; Y -> sqrt(A), Z -> sqrt(A)^-1."""
    y, z = a.copy(), np.eye(a.shape[0])
    for _ in range(iterations):
        y_next = 0.5 * (y + np.linalg.inv(z))
        z = 0.5 * (z + np.linalg.inv(y))
        y = y_next
    assert np.allclose(y @ y, a, rtol=1e-9, atol=1e-9 * np.abs(a).max()), "sqrtm did not converge"
    return y


def fid_reference(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    tr_sqrt = np.trace(sqrtm_denman_beavers(c1 @ c2))
    eig = np.linalg.eigvals(c1 @ c2)
    assert abs(np.sqrt(eig.real.clip(0)).sum() - tr_sqrt) < 1e-9 * max(1.0, tr_sqrt)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(c1) + np.trace(c2) - 2 * tr_sqrt)


def mmd2_unbiased(x, y):
    """Unbiased MMD^2 (Binkowski et al. 2018, eq. in section 3) with k(x,y) = (x.y/d + 1)^3; both sets
    of size m: sum over i != j of k(x_i,x_j) and k(y_i,y_j) / (m(m-1)), minus 2 mean k(x_i,y_j)."""
    m, d = x.shape
    assert y.shape == (m, d)
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    off = lambda k: k.sum() - np.trace(k)  # noqa: E731
    return float((off(kxx) + off(kyy)) / (m * (m - 1)) - 2 * kxy.sum() / (m * m))


def kid_reference(a, b, subsets, size):
    g = torch.Generator().manual_seed(KID_SEED)
    values = []
    for _ in range(subsets):
        ia = torch.randperm(len(a), generator=g)[:size].numpy()
        ib = torch.randperm(len(b), generator=g)[:size].numpy()
        values.append(mmd2_unbiased(a[ia], b[ib]))
    return float(np.mean(values)), float(np.std(values))


def inception_score_reference(logits, splits):
    p = torch.softmax(torch.from_numpy(logits), 1).numpy()
    n = len(p)
    scores = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        py = part.mean(0, keepdims=True)
        kl = (part * (np.log(part) - np.log(py))).sum(1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


# ---- SSIM reference (float64, explicit windows) -------------------------------------------------

def gaussian_taps(sigma=1.5, radius=5):
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    t = np.exp(-0.5 * x * x / (sigma * sigma))
    return t / t.sum()


def ssim_map_valid(x, y, k1=0.01, k2=0.03, data_range=1.0):
    """SSIM (Wang et al. 2004, eq. 13) at every position whose 11x11 window lies inside the image;
    Gaussian-weighted means, population (co)variances."""
    win = np.outer(gaussian_taps(), gaussian_taps())
    h, w_ = x.shape
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    out = np.zeros((h - 10, w_ - 10))
    for i in range(h - 10):
        for j in range(w_ - 10):
            px, py = x[i:i + 11, j:j + 11], y[i:i + 11, j:j + 11]
            mx, my = (win * px).sum(), (win * py).sum()
            vx = (win * px * px).sum() - mx * mx
            vy = (win * py * py).sum() - my * my
            cxy = (win * px * py).sum() - mx * my
            out[i, j] = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return out


def ssim_reference(x, y, mode):
    """x, y: float arrays [3,H,W]. mode: lum_valid | rgb_valid | lum_same."""
    lum = lambda im: 0.299 * im[0] + 0.587 * im[1] + 0.114 * im[2]  # noqa: E731
    if mode == "lum_valid":
        return float(ssim_map_valid(lum(x), lum(y)).mean())
    if mode == "rgb_valid":
        return float(np.mean([ssim_map_valid(x[c], y[c]).mean() for c in range(3)]))
    if mode == "lum_same":
        pad = lambda im: np.pad(im, 5, mode="symmetric")  # noqa: E731
        return float(ssim_map_valid(pad(lum(x)), pad(lum(y))).mean())
    raise ValueError(mode)


def metric_references():
    rng = np.random.RandomState(SEED)
    ref = {}
    # FID: two Gaussian sets with different means and covariances.
    d = 8
    la = rng.randn(d, d) / np.sqrt(d)
    lb = rng.randn(d, d) / np.sqrt(d) + 0.3 * np.eye(d)
    a = rng.randn(200, d) @ la.T + 0.5
    b = rng.randn(200, d) @ lb.T + rng.randn(d) * 0.2
    ref["fid"] = {"a": torch.from_numpy(a), "b": torch.from_numpy(b),
                  "value": torch.tensor(fid_reference(a, b), dtype=torch.float64)}
    a2 = rng.randn(40, 6) * np.array([1.0, 2.0, 0.5, 1.5, 0.1, 3.0])
    b2 = a2 @ (np.eye(6) + 0.2 * rng.randn(6, 6)) + 1.0
    ref["fid"]["small"] = {"a": torch.from_numpy(a2), "b": torch.from_numpy(b2),
                           "value": torch.tensor(fid_reference(a2, b2), dtype=torch.float64)}
    # KID.
    ka = rng.rand(60, 5) * 2
    kb = rng.rand(50, 5) * 2 + 0.3 * rng.randn(50, 5)
    kid = {"a": torch.from_numpy(ka), "b": torch.from_numpy(kb),
           "full": torch.tensor(mmd2_unbiased(ka[:50], kb), dtype=torch.float64)}
    for size in (20, 50):
        mean, std = kid_reference(ka, kb, subsets=7, size=size)
        kid[f"s{size}"] = {"mean": torch.tensor(mean, dtype=torch.float64),
                           "std": torch.tensor(std, dtype=torch.float64)}
    ref["kid"] = kid
    # Inception Score.
    logits = rng.randn(50, 10) * 2.0 + np.linspace(0, 1, 10)
    iscore = {"logits": torch.from_numpy(logits)}
    for k in (1, 5, 10):
        mean, std = inception_score_reference(logits, k)
        iscore[f"split{k}"] = {"mean": torch.tensor(mean, dtype=torch.float64),
                               "std": torch.tensor(std, dtype=torch.float64)}
    ref["is"] = iscore
    # SSIM.
    g = torch.Generator().manual_seed(SEED + 3)
    cases = {}
    x = smooth_images(1, 32, 32, g)
    cases["noisy"] = (x, (x + 0.1 * torch.randn(x.shape, generator=g)).clamp(0, 1))
    x = smooth_images(1, 24, 40, g)
    cases["blurred"] = (x, F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1))
    cases["unrelated"] = (smooth_images(1, 33, 33, g), smooth_images(1, 33, 33, g))
    ssim = {}
    for name, (x, y) in cases.items():
        x, y = x.float().contiguous(), y.float().contiguous()
        xn, yn = x[0].double().numpy(), y[0].double().numpy()
        entry = {"x": x, "y": y}
        for mode in ("lum_valid", "rgb_valid", "lum_same"):
            entry[mode] = torch.tensor(ssim_reference(xn, yn, mode), dtype=torch.float64)
        ssim[name] = entry
    ref["ssim"] = ssim
    return ref


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "metrics"))
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)  # noqa: E731
    torch.set_num_threads(1)

    check_topology_against_torchvision()

    model = make_inception()
    sd = model.state_dict()
    assert isinstance(sd, collections.OrderedDict)
    torch.save(sd, p("inception_w16.pth"))
    torch.save(inception_reference(model), p("inception_w16_ref.pth"))
    torch.save(metric_references(), p("metrics_ref.pth"))

    ref = torch.load(p("inception_w16_ref.pth"))
    print("pool3 range", ref["pool3"].min().item(), ref["pool3"].max().item(),
          "logits std", ref["logits"].std().item())
    total = 0
    for name in sorted(os.listdir(out)):
        if name.endswith(".pth"):
            size = os.path.getsize(p(name))
            total += size
            print(f"{name:28s} {size:9d} bytes")
    print(f"{'total':28s} {total:9d} bytes")


if __name__ == "__main__":
    sys.exit(main())
