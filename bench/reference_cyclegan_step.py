#!/usr/bin/python3
"""PyTorch reference for build/impasto_bench's BM_CycleGanTraining: one CycleGAN training step
(Zhu et al. 2017) at 256 px with the reference implementation's defaults, in the order of its
optimize_parameters and of impasto's trainer:

  fake_B = G_A(real_A), rec_A = G_B(fake_B), fake_A = G_B(real_B), rec_B = G_A(fake_A);
  G update (Ds frozen): lsgan adversarial terms + 10 * L1 cycle terms + 0.5 * 10 * L1 identity terms;
  D update: (MSE(D(real), 1) + MSE(D(pooled fake), 0)) / 2 for each D, pools of 50.

Nets (written here from the layout described in src/impasto/nn/cyclegan_nets.h): a ResNet generator
with 9 residual blocks (ngf 64, instance norm without affine parameters, reflection padding) and
the basic 70x70 PatchGAN (ndf 64, 3 stride-2 layers). Adam 2e-4, betas (0.5, 0.999), one optimizer
over both Gs and one over both Ds. Real images are fixed random batches: no data loading is timed.

    /usr/bin/python3 bench/reference_cyclegan_step.py [--threads 2] [--batch 1] [--size 256] [--seconds 60]

Needs Debian's python3-torch (a benchmark tool only).
"""
import argparse
import itertools
import random

import torch
import torch.nn as nn

from reference_timing import seconds_per_call


def instance_norm(channels):
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=True), instance_norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=True), instance_norm(channels))

    def forward(self, x):
        return x + self.body(x)


def resnet_generator(blocks=9, ngf=64, channels=3):
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(channels, ngf, 7, bias=True), instance_norm(ngf), nn.ReLU(True)]
    width = ngf
    for _ in range(2):  # two stride-2 downsamplings, doubling the width
        layers += [nn.Conv2d(width, width * 2, 3, stride=2, padding=1, bias=True), instance_norm(width * 2), nn.ReLU(True)]
        width *= 2
    layers += [ResidualBlock(width) for _ in range(blocks)]
    for _ in range(2):  # and back up
        layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1, bias=True),
                   instance_norm(width // 2), nn.ReLU(True)]
        width //= 2
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, channels, 7, bias=True), nn.Tanh()]
    return nn.Sequential(*layers)


def patch_discriminator(n_layers=3, ndf=64, channels=3):
    layers = [nn.Conv2d(channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
    width = ndf
    for n in range(1, n_layers + 1):
        stride = 2 if n < n_layers else 1  # the last widening conv keeps the resolution
        new = ndf * min(2 ** n, 8)
        layers += [nn.Conv2d(width, new, 4, stride=stride, padding=1, bias=True), instance_norm(new), nn.LeakyReLU(0.2, True)]
        width = new
    layers += [nn.Conv2d(width, 1, 4, stride=1, padding=1)]  # one logit per patch
    return nn.Sequential(*layers)


class History:
    """Past fakes for D: stored while filling; then half the time swapped for a stored one."""

    def __init__(self, capacity=50):
        self.capacity, self.images = capacity, []

    def __call__(self, batch):
        out = []
        for image in batch.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.capacity:
                self.images.append(image)
                out.append(image)
            elif random.random() > 0.5:
                k = random.randrange(self.capacity)
                out.append(self.images[k].clone())
                self.images[k] = image
            else:
                out.append(image)
        return torch.cat(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    random.seed(0)
    G_A, G_B = resnet_generator(), resnet_generator()
    D_A, D_B = patch_discriminator(), patch_discriminator()
    opt_g = torch.optim.Adam(itertools.chain(G_A.parameters(), G_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
    pool_A, pool_B = History(), History()
    real_A = torch.rand(args.batch, 3, args.size, args.size) * 2 - 1
    real_B = torch.rand(args.batch, 3, args.size, args.size) * 2 - 1
    l1, mse = nn.L1Loss(), nn.MSELoss()
    lam, lam_idt = 10.0, 0.5

    def step():
        fake_B = G_A(real_A)
        rec_A = G_B(fake_B)
        fake_A = G_B(real_B)
        rec_B = G_A(fake_A)
        for p in itertools.chain(D_A.parameters(), D_B.parameters()):
            p.requires_grad_(False)
        opt_g.zero_grad()
        pred_B, pred_A = D_A(fake_B), D_B(fake_A)
        loss_g = (mse(pred_B, torch.ones_like(pred_B)) + mse(pred_A, torch.ones_like(pred_A))
                  + lam * l1(rec_A, real_A) + lam * l1(rec_B, real_B)
                  + lam * lam_idt * l1(G_A(real_B), real_B) + lam * lam_idt * l1(G_B(real_A), real_A))
        loss_g.backward()
        opt_g.step()
        for p in itertools.chain(D_A.parameters(), D_B.parameters()):
            p.requires_grad_(True)
        opt_d.zero_grad()
        loss_d = 0
        for D, real, fake in ((D_A, real_B, pool_B(fake_B)), (D_B, real_A, pool_A(fake_A))):
            pr, pf = D(real), D(fake)
            loss_d = loss_d + 0.5 * (mse(pr, torch.ones_like(pr)) + mse(pf, torch.zeros_like(pf)))
        loss_d.backward()
        opt_d.step()

    seconds, n = seconds_per_call(step, args.seconds)
    print(f"pytorch CycleGAN resnet_9blocks/basic {args.size} px batch {args.batch}: {seconds * 1000:.0f} ms/step, "
          f"{args.batch / seconds:.3f} images/s ({n} steps, {args.threads} threads)", flush=True)


if __name__ == "__main__":
    main()
