#!/usr/bin/python3
"""PyTorch reference for build/impasto_bench's BM_DcganTraining: one GAN training step on DCGAN-64
(pytorch/examples' layout: z 100, ngf = ndf = 64, batch norm; Radford et al. 2015) with the
nonsaturating objective on logits, Adam (2e-4, betas 0.5/0.999), in the same order as impasto's
trainer: a D update on a real batch and G(z) made without gradients, then a G update on fresh noise.

    /usr/bin/python3 bench/reference_dcgan_step.py [--threads 2] [--batch 64] [--seconds 20]

--reuse-fake times pytorch/examples' own ordering instead, where the G update reuses the fake batch
of the D update (one G forward fewer per step). Real images are a fixed random batch: no data
loading is timed. Needs Debian's python3-torch (a benchmark tool only).
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F

from reference_timing import seconds_per_call


def generator(nz=100, ngf=64, nc=3):
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())


def discriminator(ndf=64, nc=3):
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False))  # logits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--reuse-fake", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    G, D = generator(), discriminator()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(args.batch, 3, 64, 64) * 2 - 1
    b = args.batch

    def step():
        z = torch.randn(b, 100, 1, 1)
        if args.reuse_fake:
            fake = G(z)
            loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
        else:
            with torch.no_grad():
                fake = G(z)
            loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        if not args.reuse_fake:
            fake = G(torch.randn(b, 100, 1, 1))
        loss_g = F.softplus(-D(fake)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    seconds, n = seconds_per_call(step, args.seconds, warmup=3)
    order = "examples order (fake reused)" if args.reuse_fake else "impasto order"
    print(f"pytorch DCGAN-64 batch {b}, {order}: {seconds * 1000:.0f} ms/step, "
          f"{b / seconds:.1f} images/s ({n} steps, {args.threads} threads)", flush=True)


if __name__ == "__main__":
    main()
