#!/usr/bin/python3
"""Writes the weight-file fixtures used by tests/unit/weights_test.cpp (and by the VGG golden tests).

Re-run (from the repository root; needs Debian's python3-torch 1.13 and python3-torchvision):

    /usr/bin/python3 tools/make_weight_fixtures.py            # writes tests/fixtures/weights/
    /usr/bin/python3 tools/make_weight_fixtures.py --out DIR  # somewhere else

Everything is seeded (torch.manual_seed(SEED)), so tensor values are identical on every run; the
legacy files' bytes differ between runs only in their storage keys (torch uses object addresses).

Files (all in tests/fixtures/weights/; about 6.4 MB in total, of which the four full VGG weight files
are 1.1-1.5 MB each; the plain/nested variants hold a subset to stay small):

  vgg19_w8.pth                 torch.save (zip format) of the state dict (OrderedDict with _metadata)
                               of torchvision's VGG-19 with every conv width divided by 8
                               (8,8,M,16,16,M,32x4,M,64x4,M,64x4,M) and `classifier` replaced by a
                               small Sequential(Linear(64*7*7,16), ReLU, Dropout, Linear(16,16), ReLU,
                               Dropout, Linear(16,10)) so `classifier.{0,3,6}.{weight,bias}` exist.
                               Conv weights kaiming-normal (fan_in, relu), Linear weights N(0, 0.05),
                               all biases U(-0.05, 0.05).
  vgg19_w8_legacy.pth          the same state dict, legacy format (_use_new_zipfile_serialization=False).
  vgg16_w8.pth                 the same for VGG-16 (zip).
  vgg19_normalised_w8.pth      the layout of naoto0804/pytorch-AdaIN's `vgg` nn.Sequential
                               (vgg_normalised.pth): 0 = Conv2d(3,3,1), then ReflectionPad2d(1) +
                               Conv2d(3x3, padding 0) + ReLU blocks and MaxPool2d(2,2,0,ceil_mode=True);
                               conv indices 0,2,5,9,12,16,19,22,25,29,32,35,38,42,45,48,51; widths /8
                               except the leading 1x1 conv (3->3); 53 modules, ending at relu5_4 (no
                               final pool); same initialisation. A plain dict of tensors, legacy format.
  vgg19_w8_params_plain.pth    vgg19_w8's tensors of at most 10000 elements (all biases, conv1_1 ..
                               conv3_4 weights, classifier.3/6 weights; state-dict order), as a plain
                               dict of nn.Parameter objects (zip).
  vgg19_w8_nested.pth          {'state_dict': <the same subset as an OrderedDict with _metadata>,
                               'epoch': 3, 'name': 'x'} (zip).
  setstate_old.pth             handcrafted legacy-format file whose tensors use the oldest encoding
                               (GLOBAL 'torch FloatTensor', EMPTY_TUPLE, REDUCE, then BUILD with the
                               state tuple (storage, offset, size, stride)):
                                 'a'             [[1,2,3],[4,5,6]]
                                 'b'             [0.5,-1.5,2.25,0.001]
                                 'meta.strided'  root storage r = arange(12)*0.5-1 (key 'r'), viewed
                                                 through a legacy storage view (view_metadata
                                                 ('rv', 2, 8)), tensor offset 1, size (3,2),
                                                 stride (1,3): value[i][j] = r[3+i+3j]
                                 'meta.note' = 'hello', 'meta.n' = 7 (non-tensor leaves)
  views.pth, views_legacy.pth, views_proto4.pth
                               strided views, shared storages and every storage dtype (zip; legacy;
                               zip with pickle protocol 4, i.e. FRAME/STACK_GLOBAL/MEMOIZE):
                                 'base'          arange(24, float32).reshape(4,6)
                                 'transposed'    base.t()                (stride (1,6), shared storage)
                                 'sliced'        base[1:, 2:5]           (offset 8, stride (6,1))
                                 'expanded'      tensor([1,2,3]).expand(4,3)   (stride (0,1))
                                 'channels_last' arange(24).reshape(2,3,2,2) in channels_last memory
                                 'scalar'        tensor(3.5)             (0-dim)
                                 'empty'         zeros(0,3)
                                 'f64'  arange(6)*1.5-2 (float64)   'f16'  arange(6)*0.25-0.5 (float16)
                                 'bf16' arange(6)*0.5-1 (bfloat16)  'i64'  arange(6)*1000000007-3
                                 'i32'  arange(6)*-7+1              'i16'  arange(6)*300-900
                                 'i8'   arange(6)*-20+50            'u8'   arange(6)*40+10
                                 'bool' arange(6)%2==1
  vgg19_w8_ref.pth, vgg16_w8_ref.pth
                               reference features (zip, plain dict): 'input' = a seeded [1,3,32,32]
                               image in [0,1]; the VGG features of (input - imagenet_mean)/imagenet_std
                               at relu1_1, relu1_2, relu2_1, ... (every ReLU, named reluB_L) and
                               conv4_2 (the conv before relu4_2), with max pooling; and the same set
                               prefixed 'avg/' with every MaxPool2d replaced by AvgPool2d(2,2).
  vgg19_normalised_w8_ref.pth  'input' as above and relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 of
                               vgg19_normalised_w8 applied to the raw [0,1] input.
"""

import argparse
import collections
import io
import os
import pickle
import struct
import sys

import torch
import torch.nn as nn
import torchvision.models.vgg as tvvgg

SEED = 20240611
WIDTH_DIVISOR = 8
SUBSET_MAX_NUMEL = 10000
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

# Legacy torch.save constants (torch/serialization.py).
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001


def divided_cfg(name):
    return [v if v == "M" else v // WIDTH_DIVISOR for v in tvvgg.cfgs[name]]


def init_module(module):
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            nn.init.uniform_(m.bias, -0.05, 0.05)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.05)
            nn.init.uniform_(m.bias, -0.05, 0.05)


def make_torchvision_vgg(cfg_name):
    features = tvvgg.make_layers(divided_cfg(cfg_name), batch_norm=False)
    # init_weights=False: skip initialising the full-size classifier that is replaced below.
    model = tvvgg.VGG(features, num_classes=10, init_weights=False)
    last = divided_cfg(cfg_name)[-2]
    model.classifier = nn.Sequential(
        nn.Linear(last * 7 * 7, 16), nn.ReLU(True), nn.Dropout(),
        nn.Linear(16, 16), nn.ReLU(True), nn.Dropout(),
        nn.Linear(16, 10))
    init_module(model)
    return model.eval()


def make_vgg_normalised():
    """naoto0804/pytorch-AdaIN's `vgg` layout with conv widths divided by 8 (except the 1x1 conv)."""
    layers = [nn.Conv2d(3, 3, (1, 1))]
    channels = 3
    for v in divided_cfg("E"):
        if v == "M":
            layers.append(nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True))
        else:
            layers += [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(channels, v, (3, 3)), nn.ReLU()]
            channels = v
    layers = layers[:-1]  # the reference ends at relu5_4, without the final pool
    model = nn.Sequential(*layers)
    assert len(model) == 53, len(model)
    init_module(model)
    return model.eval()


def layer_names(features):
    """Names for torchvision-style `features`: convB_L, reluB_L, poolB."""
    names, block, layer = [], 1, 1
    for m in features:
        if isinstance(m, nn.Conv2d):
            names.append(f"conv{block}_{layer}")
        elif isinstance(m, nn.ReLU):
            names.append(f"relu{block}_{layer}")
            layer += 1
        elif isinstance(m, nn.MaxPool2d):
            names.append(f"pool{block}")
            block, layer = block + 1, 1
        else:
            names.append(None)
    return names


def features_of(features, x, avg_pool):
    out = {}
    names = layer_names(features)
    with torch.no_grad():
        for name, m in zip(names, features):
            if avg_pool and isinstance(m, nn.MaxPool2d):
                m = nn.AvgPool2d(2, 2)
            x = m(x)
            if name is not None and (name.startswith("relu") or name == "conv4_2"):
                out[name] = x.clone()  # clone: torchvision's ReLUs are in-place
    return out


def make_input():
    g = torch.Generator().manual_seed(SEED + 1)
    return torch.rand(1, 3, 32, 32, generator=g)


def torchvision_reference(model):
    x = make_input()
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    xn = (x - mean) / std
    ref = {"input": x}
    ref.update(features_of(model.features, xn, avg_pool=False))
    ref.update({"avg/" + k: v for k, v in features_of(model.features, xn, avg_pool=True).items()})
    return ref


def normalised_reference(model):
    x = make_input()
    ref = {"input": x}
    # relu1_1 = index 3, relu2_1 = 10, relu3_1 = 17, relu4_1 = 30, relu5_1 = 43.
    wanted = {3: "relu1_1", 10: "relu2_1", 17: "relu3_1", 30: "relu4_1", 43: "relu5_1"}
    with torch.no_grad():
        h = x
        for i, m in enumerate(model):
            h = m(h)
            if i in wanted:
                ref[wanted[i]] = h.clone()
            if i == max(wanted):
                break
    return ref


# ---- the handcrafted oldest-format file -------------------------------------------------------

class StorageMarker:
    """Stands for a storage in the handcrafted pickle; pickled through persistent_id."""

    def __init__(self, key, values, view=None):
        self.key, self.values, self.view = key, values, view


class OldTensor:
    """Pickled the oldest way: torch.FloatTensor(), then BUILD with (storage, offset, size, stride)."""

    def __init__(self, storage, offset, size, stride):
        self.state = (storage, offset, tuple(size), tuple(stride))


class OldPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StorageMarker):
            return ("storage", torch.FloatStorage, obj.key, "cpu", len(obj.values), obj.view)
        return None

    def reducer_override(self, obj):
        if isinstance(obj, OldTensor):
            return (torch.FloatTensor, (), obj.state)
        return NotImplemented


def write_setstate_old(path):
    r = [i * 0.5 - 1 for i in range(12)]
    s_a = StorageMarker("a", [1, 2, 3, 4, 5, 6])
    s_b = StorageMarker("b", [0.5, -1.5, 2.25, 1e-3])
    s_rv = StorageMarker("r", r, view=("rv", 2, 8))  # a legacy storage view: r[2:10]
    obj = {
        "a": OldTensor(s_a, 0, (2, 3), (3, 1)),
        "b": OldTensor(s_b, 0, (4,), (1,)),
        "meta": {"strided": OldTensor(s_rv, 1, (3, 2), (1, 3)), "note": "hello", "n": 7},
    }
    buf = io.BytesIO()
    pickle.dump(LEGACY_MAGIC, buf, protocol=2)
    pickle.dump(LEGACY_PROTOCOL_VERSION, buf, protocol=2)
    pickle.dump({"protocol_version": LEGACY_PROTOCOL_VERSION, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, buf, protocol=2)
    OldPickler(buf, protocol=2).dump(obj)
    storages = {"a": s_a.values, "b": s_b.values, "r": r}
    keys = sorted(storages)
    pickle.dump(keys, buf, protocol=2)
    for key in keys:
        values = storages[key]
        buf.write(struct.pack("<q", len(values)))
        buf.write(struct.pack(f"<{len(values)}f", *values))
    with open(path, "wb") as f:
        f.write(buf.getvalue())

    # Check with torch's own loader that the handcrafted file means what the docstring says.
    loaded = torch.load(path)
    assert torch.equal(loaded["a"], torch.tensor([[1.0, 2, 3], [4, 5, 6]]))
    assert torch.equal(loaded["b"], torch.tensor([0.5, -1.5, 2.25, 1e-3]))
    rt = torch.tensor(r)
    expect = torch.stack([torch.stack([rt[3 + i + 3 * j] for j in range(2)]) for i in range(3)])
    assert torch.equal(loaded["meta"]["strided"], expect), (loaded["meta"]["strided"], expect)
    assert not loaded["meta"]["strided"].is_contiguous()
    assert loaded["meta"]["note"] == "hello" and loaded["meta"]["n"] == 7


def make_views():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    ar = torch.arange(6)
    d = {
        "base": base,
        "transposed": base.t(),
        "sliced": base[1:, 2:5],
        "expanded": torch.tensor([1.0, 2.0, 3.0]).expand(4, 3),
        "channels_last": torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2)
                              .contiguous(memory_format=torch.channels_last),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
        "f64": ar.double() * 1.5 - 2,
        "f16": (ar.float() * 0.25 - 0.5).half(),
        "bf16": (ar.float() * 0.5 - 1).bfloat16(),
        "i64": ar * 1000000007 - 3,
        "i32": (ar * -7 + 1).int(),
        "i16": (ar * 300 - 900).short(),
        "i8": (ar * -20 + 50).to(torch.int8),
        "u8": (ar * 40 + 10).to(torch.uint8),
        "bool": ar % 2 == 1,
    }
    assert not d["transposed"].is_contiguous() and d["sliced"].storage_offset() == 8
    return d


def size_of(path):
    return os.path.getsize(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "weights"))
    args = parser.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)  # noqa: E731

    torch.manual_seed(SEED)
    torch.set_num_threads(1)

    vgg19 = make_torchvision_vgg("E")
    vgg16 = make_torchvision_vgg("D")
    normalised = make_vgg_normalised()

    sd19 = vgg19.state_dict()
    assert isinstance(sd19, collections.OrderedDict) and hasattr(sd19, "_metadata")
    torch.save(sd19, p("vgg19_w8.pth"))
    torch.save(sd19, p("vgg19_w8_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(vgg16.state_dict(), p("vgg16_w8.pth"))
    torch.save(dict(normalised.state_dict()), p("vgg19_normalised_w8.pth"),
               _use_new_zipfile_serialization=False)
    # The plain and nested variants hold the smaller tensors only (every tensor of at most
    # SUBSET_MAX_NUMEL elements, in state-dict order), to keep the fixtures small.
    small = collections.OrderedDict((k, v) for k, v in sd19.items() if v.numel() <= SUBSET_MAX_NUMEL)
    small._metadata = sd19._metadata
    torch.save({k: nn.Parameter(v.clone()) for k, v in small.items()}, p("vgg19_w8_params_plain.pth"))
    torch.save({"state_dict": small, "epoch": 3, "name": "x"}, p("vgg19_w8_nested.pth"))

    write_setstate_old(p("setstate_old.pth"))
    views = make_views()
    torch.save(views, p("views.pth"))
    torch.save(views, p("views_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(views, p("views_proto4.pth"), pickle_protocol=4)

    torch.save(torchvision_reference(vgg19), p("vgg19_w8_ref.pth"))
    torch.save(torchvision_reference(vgg16), p("vgg16_w8_ref.pth"))
    torch.save(normalised_reference(normalised), p("vgg19_normalised_w8_ref.pth"))

    # Round-trip check through torch.load.
    for name in ["vgg19_w8.pth", "vgg19_w8_legacy.pth"]:
        loaded = torch.load(p(name))
        assert list(loaded.keys()) == list(sd19.keys())
        assert all(torch.equal(loaded[k], sd19[k]) for k in sd19)
    for name in ["views.pth", "views_legacy.pth", "views_proto4.pth"]:
        loaded = torch.load(p(name))
        assert all(torch.equal(loaded[k], views[k]) for k in views)

    total = 0
    for name in sorted(os.listdir(out)):
        if name.endswith(".pth"):
            total += size_of(p(name))
            print(f"{name:32s} {size_of(p(name)):9d} bytes")
    print(f"{'total':32s} {total:9d} bytes")


if __name__ == "__main__":
    sys.exit(main())
