#!/usr/bin/python3
"""Writes the GAN fixtures used by tests/golden/gan_losses_golden_test.cpp,
tests/golden/spectral_norm_golden_test.cpp and tests/golden/gan_nets_golden_test.cpp.

Re-run (from the repository root; needs Debian's python3-torch 1.13, nothing else):

    /usr/bin/python3 tools/make_gan_fixtures.py            # writes tests/fixtures/gan/
    /usr/bin/python3 tools/make_gan_fixtures.py --out DIR  # somewhere else

Everything is seeded (torch.manual_seed), so the tensors are identical on every run. All files are
torch.save zip files holding (nested) dicts of tensors; impasto's load_pth flattens nested dicts with
'.'. Reference values that do not come out of a network are computed in float64 from the float32
inputs, with formulas written independently of impasto's (BCEWithLogitsLoss, logsigmoid, mse_loss,
clamp), and checked against the textbook forms (log(sigmoid(x)) etc.) where those are finite.

Files (tests/fixtures/gan/, about 340 KB in total; a third of it is G_eval):

  losses.pth               'real', 'fake': float32 [16] discriminator outputs, including +-30 and +-15
                           (saturated sigmoids) and values near 0; for each objective O in minimax,
                           nonsaturating, lsgan, wgan, wgangp, hinge (float64):
                             O.d_loss, O.d_grad_real, O.d_grad_fake   D's loss and its gradients
                             O.g_loss, O.g_grad_fake                  G's loss and its gradient
  gradient_penalty.pth     'critic.*': state dict of Sequential(Conv2d(3,4,3,1,1), LeakyReLU(0.2),
                           Flatten, Linear(256,1)) (keys critic.0.weight, critic.0.bias,
                           critic.3.weight, critic.3.bias); 'real', 'fake' [4,3,8,8]; 'eps' [4];
                           'penalty' = 10 * mean((||grad_x D(x_hat)|| - 1)^2) with
                           x_hat = eps*real + (1-eps)*fake; 'grad_norms' [4]; 'grads.*' the
                           gradients of the penalty w.r.t. the critic's parameters (same keys).
  r1_penalty.pth           'critic.*': state dict of Sequential(Conv2d(3,4,3,1,1), LeakyReLU(0.2),
                           Flatten, Linear(256,1)); 'real' [4,3,8,8]; 'penalty' = 5 / 2 *
                           mean(||grad_x D(x)||^2) over the real samples (gamma 5, Mescheder et al.
                           2018 eq. 9); 'grad_norms' [4]; 'grads.*' the penalty's gradients w.r.t. the
                           critic's parameters. 'pack.*' the same for a packing critic (PacGAN, pack
                           2): Conv2d(6,4,3,1,1) ... on real.view(2,6,8,8), one norm per pack [2].
  spectral_norm.pth        'conv.initial.*': state dict (bias, weight_orig, weight_u, weight_v) of
                           torch.nn.utils.spectral_norm(Conv2d(3,5,3)) with weight_u set to a seeded
                           unit vector; 'conv.x' [2,3,6,6]; after ONE training-mode forward:
                           'conv.train.output', 'conv.train.weight_u', 'conv.train.weight_v',
                           'conv.train.sigma' (= u.W v with the updated u, v),
                           'conv.train.grad_weight_orig', 'conv.train.grad_bias' (of output.sum());
                           then in eval mode 'conv.eval.output'.
                           'linear.*': the same for spectral_norm(Linear(6,4)) (x [3,6]).
                           'linear5.*': spectral_norm(Linear(6,4), n_power_iterations=5): initial
                           state, and after one training forward 'linear5.weight' (= W / sigma),
                           'linear5.weight_u', 'linear5.weight_v'.
  dcgan64_w4_G.pth         netG of pytorch/examples dcgan/main.py at imageSize 64 with nz=8, ngf=4,
                           nc=3 (keys main.0.weight, main.1.{weight,bias,running_mean,running_var,
                           num_batches_tracked}, ... main.12.weight), as its netG_epoch_N.pth:
                           torch.manual_seed(SEED), construction, weights_init (conv N(0,0.02), BN
                           weight N(1,0.02), bias 0); then, standing in for training, every conv
                           weight redrawn N(0, 2/fan_in), BN weights N(1, 0.2) and biases N(0, 0.2),
                           and ten train-mode forwards on seeded noise so that the running
                           statistics are not trivial.
  dcgan64_w4_D.pth         netD likewise (ndf=4; torch.manual_seed(SEED+1)).
  dcgan64_w4_ref.pth       'z' [2,8]; 'G_eval' = netG(z) in eval mode [2,3,64,64]; 'D_eval_logits' =
                           netD without its Sigmoid on G_eval, eval mode [2]; 'D_train_logits' the
                           same in train mode (batch statistics; on a copy of netD, so the file's
                           running statistics are those the eval outputs used);
                           'seed_G', 'seed_D' (int64 scalars) the seeds used before construction;
                           'init.G.<key>', 'init.D.<key>' (sum, sum of squares, first element) of each
                           floating-point state-dict entry right after weights_init, before the
                           weights were redrawn (see above).
  dcgan32_w4_snD.pth       impasto's dcgan D at size 32 with spectral norm and no norm layers
                           (d_norm none), ndf=4: Sequential 'main' = SN-Conv(3,4,4,2,1), LReLU(0.2),
                           SN-Conv(4,8,4,2,1), LReLU, SN-Conv(8,16,4,2,1), LReLU, SN-Conv(16,1,4,1,0);
                           every conv bias=False under torch.nn.utils.spectral_norm;
                           torch.manual_seed(SEED+2), construction, weights_init.
  dcgan32_w4_snD_ref.pth   'x' [2,3,32,32] in [-1,1]; 'train_logits' of one training-mode forward;
                           'after.*' the weight_u/weight_v buffers after it (keys as the state dict);
                           'eval_logits' in eval mode afterwards; 'seed' (int64 scalar).
"""

import argparse
import collections
import copy
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20240612


def size_of(path):
    return os.path.getsize(path)


# ---- losses -----------------------------------------------------------------------------------------

def loss_scores():
    g = torch.Generator().manual_seed(SEED)
    extremes_real = torch.tensor([30.0, -30.0, 15.0, -15.0, 0.0, 1e-3, 2.5, -0.4])
    extremes_fake = torch.tensor([-30.0, 30.0, -15.0, 15.0, 0.0, -1e-3, -2.5, 0.6])
    real = torch.cat([extremes_real, torch.randn(8, generator=g) * 3])
    fake = torch.cat([extremes_fake, torch.randn(8, generator=g) * 3])
    # Hinge's relu has a kink at +-1; keep clear of it so that the gradients are well defined.
    assert ((real - 1).abs() > 1e-2).all() and ((fake + 1).abs() > 1e-2).all()
    return real.float(), fake.float()


def reference_d_loss(name, r, f):
    ones, zeros = torch.ones_like(r), torch.zeros_like(f)
    if name in ("minimax", "nonsaturating"):
        bce = nn.BCEWithLogitsLoss()
        return bce(r, ones) + bce(f, zeros)
    if name == "lsgan":
        return 0.5 * F.mse_loss(r, ones) + 0.5 * F.mse_loss(f, zeros)
    if name in ("wgan", "wgangp"):
        return f.mean() - r.mean()
    if name == "hinge":
        return torch.clamp(1 - r, min=0).mean() + torch.clamp(1 + f, min=0).mean()
    raise ValueError(name)


def reference_g_loss(name, f):
    if name == "minimax":
        return F.logsigmoid(-f).mean()  # log(1 - sigmoid(f))
    if name == "nonsaturating":
        return nn.BCEWithLogitsLoss()(f, torch.ones_like(f))  # -log sigmoid(f)
    if name == "lsgan":
        return 0.5 * F.mse_loss(f, torch.ones_like(f))
    if name in ("wgan", "wgangp", "hinge"):
        return -f.mean()
    raise ValueError(name)


def check_textbook_forms(r, f):
    """The probabilistic losses equal the papers' log/sigmoid forms where those are finite."""
    m = (r.abs() < 10) & (f.abs() < 10)
    r, f = r[m], f[m]
    d = -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean())
    assert torch.allclose(d, reference_d_loss("minimax", r, f), atol=1e-12)
    assert torch.allclose(torch.log(1 - torch.sigmoid(f)).mean(), reference_g_loss("minimax", f), atol=1e-12)
    assert torch.allclose(-torch.log(torch.sigmoid(f)).mean(), reference_g_loss("nonsaturating", f), atol=1e-12)


def make_losses():
    real, fake = loss_scores()
    out = {"real": real, "fake": fake}
    check_textbook_forms(real.double(), fake.double())
    for name in ["minimax", "nonsaturating", "lsgan", "wgan", "wgangp", "hinge"]:
        r = real.double().requires_grad_(True)
        f = fake.double().requires_grad_(True)
        d = reference_d_loss(name, r, f)
        gr, gf = torch.autograd.grad(d, [r, f])
        f2 = fake.double().requires_grad_(True)
        g = reference_g_loss(name, f2)
        (gg,) = torch.autograd.grad(g, [f2])
        out[name] = {"d_loss": d.detach(), "d_grad_real": gr, "d_grad_fake": gf,
                     "g_loss": g.detach(), "g_grad_fake": gg}
    return out


# ---- gradient penalty -------------------------------------------------------------------------------

def make_gradient_penalty():
    torch.manual_seed(SEED + 10)
    critic = nn.Sequential(nn.Conv2d(3, 4, 3, 1, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(4 * 8 * 8, 1))
    real = torch.rand(4, 3, 8, 8) * 2 - 1
    fake = torch.randn(4, 3, 8, 8) * 0.5
    eps = torch.rand(4)
    # Reference in float64 on the same (float32-rounded) values.
    c64 = nn.Sequential(nn.Conv2d(3, 4, 3, 1, 1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(4 * 8 * 8, 1)).double()
    c64.load_state_dict({k: v.double() for k, v in critic.state_dict().items()})
    e = eps.double().view(-1, 1, 1, 1)
    x_hat = (e * real.double() + (1 - e) * fake.double()).requires_grad_(True)
    scores = c64(x_hat)
    (grad,) = torch.autograd.grad(scores, x_hat, grad_outputs=torch.ones_like(scores), create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    penalty = 10.0 * ((norms - 1) ** 2).mean()
    penalty.backward()
    return {"critic": dict(critic.state_dict()), "real": real, "fake": fake, "eps": eps,
            "penalty": penalty.detach(), "grad_norms": norms.detach(),
            # Parameters the penalty does not reach (the biases: grad_x D does not depend on them) get zeros.
            "grads": {k: (p.grad.clone() if p.grad is not None else torch.zeros_like(p)) for k, p in
                      c64.named_parameters()}}


# ---- R1 penalty -------------------------------------------------------------------------------------

def r1_case(in_channels, real, packed, gamma):
    critic = nn.Sequential(nn.Conv2d(in_channels, 4, 3, 1, 1), nn.LeakyReLU(0.2), nn.Flatten(),
                           nn.Linear(4 * 8 * 8, 1))
    c64 = copy.deepcopy(critic).double()
    x = real.double().requires_grad_(True)
    scores = c64(x.view(packed))
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    squared = (grad.reshape(packed[0], -1) ** 2).sum(dim=1)
    penalty = gamma / 2 * squared.mean()
    penalty.backward()
    return {"critic": dict(critic.state_dict()), "penalty": penalty.detach(), "grad_norms": squared.detach().sqrt(),
            "grads": {k: (p.grad.clone() if p.grad is not None else torch.zeros_like(p)) for k, p in
                      c64.named_parameters()}}


def make_r1_penalty():
    torch.manual_seed(SEED + 11)
    real = torch.rand(4, 3, 8, 8) * 2 - 1
    out = r1_case(3, real, (4, 3, 8, 8), 5.0)
    out["real"] = real
    out["pack"] = r1_case(6, real, (2, 6, 8, 8), 5.0)
    return out


# ---- spectral norm ----------------------------------------------------------------------------------

def sn_case(layer, x, iterations=1):
    """One training-mode forward of a spectral-normed layer, then one in eval mode."""
    layer = nn.utils.spectral_norm(layer, n_power_iterations=iterations)
    g = torch.Generator().manual_seed(SEED + 21)
    with torch.no_grad():  # a known initial u (PyTorch draws it from the global generator)
        layer.weight_u.copy_(F.normalize(torch.randn(layer.weight_u.shape[0], generator=g), dim=0))
    initial = {k: v.clone() for k, v in layer.state_dict().items()}
    layer.train()
    out = layer(x)
    out.sum().backward()
    w_mat = layer.weight_orig.detach().reshape(layer.weight_orig.shape[0], -1)
    sigma = torch.dot(layer.weight_u, torch.mv(w_mat, layer.weight_v))
    train = {"output": out.detach(), "weight_u": layer.weight_u.clone(), "weight_v": layer.weight_v.clone(),
             "sigma": sigma, "weight": layer.weight.detach().clone(),
             "grad_weight_orig": layer.weight_orig.grad.clone()}
    if layer.bias is not None:
        train["grad_bias"] = layer.bias.grad.clone()
    layer.eval()
    u_before = layer.weight_u.clone()
    with torch.no_grad():
        ev = layer(x)
    assert torch.equal(u_before, layer.weight_u)  # no power iteration in eval mode
    return {"initial": initial, "x": x, "train": train, "eval": {"output": ev}}


def make_spectral_norm():
    torch.manual_seed(SEED + 20)
    conv = sn_case(nn.Conv2d(3, 5, 3), torch.randn(2, 3, 6, 6))
    assert sorted(conv["initial"].keys()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    linear = sn_case(nn.Linear(6, 4), torch.randn(3, 6))
    l5 = sn_case(nn.Linear(6, 4), torch.randn(3, 6), iterations=5)
    linear5 = {"initial": l5["initial"], "x": l5["x"], "weight": l5["train"]["weight"],
               "weight_u": l5["train"]["weight_u"], "weight_v": l5["train"]["weight_v"]}
    return {"conv": conv, "linear": linear, "linear5": linear5}


# ---- DCGAN ------------------------------------------------------------------------------------------

def weights_init(m):
    # pytorch/examples dcgan/main.py's initialisation (Radford et al. sec. 4).
    name = m.__class__.__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class ExampleG(nn.Module):
    """The layer list of pytorch/examples dcgan/main.py's Generator (imageSize 64)."""

    def __init__(self, nz, ngf, nc):
        super().__init__()
        c = [ngf * 8, ngf * 4, ngf * 2, ngf]
        layers = [nn.ConvTranspose2d(nz, c[0], 4, 1, 0, bias=False), nn.BatchNorm2d(c[0]), nn.ReLU(True)]
        for a, b in zip(c[:-1], c[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z):
        return self.main(z)


class ExampleD(nn.Module):
    """The layer list of pytorch/examples dcgan/main.py's Discriminator (imageSize 64)."""

    def __init__(self, ndf, nc):
        super().__init__()
        c = [ndf, ndf * 2, ndf * 4, ndf * 8]
        layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        for a, b in zip(c[:-1], c[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)

    def logits(self, x):  # the output before the Sigmoid, flattened to [N]
        return self.main[:-1](x).view(-1)


def make_dcgan64(nz=8, width=4):
    torch.manual_seed(SEED)
    netG = ExampleG(nz, width, 3)
    netG.apply(weights_init)
    torch.manual_seed(SEED + 1)
    netD = ExampleD(width, 3)
    netD.apply(weights_init)
    init = {"G": fingerprints(netG), "D": fingerprints(netD)}
    g = torch.Generator().manual_seed(SEED + 3)
    with torch.no_grad():
        # Radford's N(0, 0.02) leaves a fresh net with near-constant outputs, a weak test; stand in
        # for training by redrawing every weight at the scale of a trained net (He et al. 2015 for
        # the activation that follows) and the affine BN parameters around (1, 0).
        for m in list(netG.modules()) + list(netD.modules()):
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                # A stride-2 4x4 transposed conv reaches each output pixel through 2x2 taps per input channel.
                fan_in = m.weight[0].numel() if isinstance(m, nn.Conv2d) else m.weight.shape[0] * 4
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
        # Running statistics away from (0, 1).
        for _ in range(10):
            fake = netG(torch.randn(8, nz, 1, 1, generator=g) * 1.5 + 0.5)
            netD(fake * 0.8 + 0.1 * torch.randn(fake.shape, generator=g))
    z = torch.randn(2, nz, generator=g)
    netG.eval()
    netD.eval()
    with torch.no_grad():
        img = netG(z.view(2, nz, 1, 1))
        d_eval = netD.logits(img)
        # On a copy: a train-mode forward updates the running statistics that the file holds.
        d_copy = copy.deepcopy(netD).train()
        d_train = d_copy.logits(img)
    # The example checkpoint format: the module's state_dict (OrderedDict with _metadata).
    return netG.state_dict(), netD.state_dict(), {
        "z": z, "G_eval": img, "D_eval_logits": d_eval, "D_train_logits": d_train,
        "seed_G": torch.tensor(SEED), "seed_D": torch.tensor(SEED + 1), "init": init}


def fingerprints(module):
    """(sum, sum of squares, first element) of every parameter, float64: compares a seeded init."""
    return {k: torch.stack([v.double().sum(), v.double().pow(2).sum(), v.double().flatten()[0]])
            for k, v in module.state_dict().items() if v.is_floating_point()}


def sn_dcgan32_d(ndf=4, nc=3):
    """impasto's dcgan D at size 32, spectral norm, d_norm none (see the header of gan_nets.h)."""
    sn = nn.utils.spectral_norm
    return nn.Sequential(
        sn(nn.Conv2d(nc, ndf, 4, 2, 1, bias=False)), nn.LeakyReLU(0.2),
        sn(nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False)), nn.LeakyReLU(0.2),
        sn(nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False)), nn.LeakyReLU(0.2),
        sn(nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False)))


class Wrap(nn.Module):
    def __init__(self, main):
        super().__init__()
        self.main = main


def make_sn_dcgan32():
    torch.manual_seed(SEED + 2)
    d = Wrap(sn_dcgan32_d())
    d.apply(weights_init)
    state = {k: v.clone() for k, v in d.state_dict().items()}
    g = torch.Generator().manual_seed(SEED + 4)
    x = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    d.train()
    with torch.no_grad():
        train = d.main(x).view(-1)
    after = {k: v.clone() for k, v in d.state_dict().items() if not k.endswith("weight_orig")}
    d.eval()
    with torch.no_grad():
        ev = d.main(x).view(-1)
    return collections.OrderedDict(state), {"x": x, "train_logits": train, "after": after, "eval_logits": ev,
                                            "seed": torch.tensor(SEED + 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "gan"))
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    def p(name):
        return os.path.join(out, name)

    torch.save(make_losses(), p("losses.pth"))
    torch.save(make_gradient_penalty(), p("gradient_penalty.pth"))
    torch.save(make_r1_penalty(), p("r1_penalty.pth"))
    torch.save(make_spectral_norm(), p("spectral_norm.pth"))
    g_state, d_state, ref = make_dcgan64()
    torch.save(g_state, p("dcgan64_w4_G.pth"))
    torch.save(d_state, p("dcgan64_w4_D.pth"))
    torch.save(ref, p("dcgan64_w4_ref.pth"))
    sn_state, sn_ref = make_sn_dcgan32()
    torch.save(sn_state, p("dcgan32_w4_snD.pth"))
    torch.save(sn_ref, p("dcgan32_w4_snD_ref.pth"))

    # Round trip of the example checkpoints through torch.load into the example's modules.
    netG = ExampleG(8, 4, 3)
    netG.load_state_dict(torch.load(p("dcgan64_w4_G.pth")))
    netD = ExampleD(4, 3)
    netD.load_state_dict(torch.load(p("dcgan64_w4_D.pth")))

    total = 0
    for name in sorted(os.listdir(out)):
        if name.endswith(".pth"):
            total += size_of(p(name))
            print(f"{name:28s} {size_of(p(name)):9d} bytes")
    print(f"{'total':28s} {total:9d} bytes")


if __name__ == "__main__":
    sys.exit(main())
