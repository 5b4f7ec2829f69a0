#pragma once
// Weight files without Python.
//
//  - PyTorch `.pth` files as torch.save writes them: the zip format (PyTorch >= 1.6) and the legacy
//    pre-1.6 format (magic number, protocol, sys info, pickled object, storage keys, raw storages).
//    The pickled object may be an OrderedDict state dict (with `_metadata`), a plain dict, nested
//    dicts (flattened with '.'), holding tensors or nn.Parameters; tensors are rebuilt from
//    torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter, and the oldest files'
//    `torch.FloatTensor` + Tensor.__setstate__ encoding. LibTorch's own torch::pickle_load cannot do
//    this (it asserts on OrderedDict and cannot read the legacy format), hence a small reader of the
//    pickle opcodes that torch.save emits (see io/pickle.h).
//  - impasto's own checkpoint: a zip (LibTorch's PyTorchStreamWriter) holding `impasto.json`
//    (format version, architecture name, free-form metadata, tensor table) and one raw record per
//    tensor.
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace impasto {

// Tensors by name, in file order.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

// Reads a torch.save file. FileError if missing; FormatError (naming the file and what was wrong)
// if it is not a torch.save file, uses an unsupported pickle feature, or is truncated.
// Names: dict keys (str or int) joined with '.', list/tuple entries by index; a file holding a single
// tensor gives one entry named "". Non-tensor leaves (numbers, strings, None, opaque objects such as
// argparse.Namespace) are skipped. Tensors are CPU, contiguous, in the stored dtype, and own their
// memory; one tensor object reachable under two names comes back as one tensor under both names.
StateDict load_pth(const std::string& path);

struct Checkpoint {
  std::string arch;       // architecture name, e.g. "vgg19"
  nlohmann::json meta;    // free-form (options, step, ...)
  StateDict tensors;
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
Checkpoint load_checkpoint(const std::string& path);

// True when `path` is an impasto checkpoint (as opposed to a torch.save file).
bool is_impasto_checkpoint(const std::string& path);

// Either format: impasto checkpoints give their tensors (arch in *arch when asked), .pth files a
// flattened state dict (arch left empty).
StateDict load_weights(const std::string& path, std::string* arch = nullptr);

// Looks up a tensor by name; nullptr when absent.
const at::Tensor* find_tensor(const StateDict& dict, const std::string& name);

}  // namespace impasto
