"""Magenta's two arbitrary-style networks, from a TFLite pair or a SavedModel, behind one interface.

Ghiasi et al., "Exploring the structure of a real-time, arbitrary neural artistic stylization network"
(https://arxiv.org/abs/1705.06830; Magenta, Apache-2.0). The *style prediction* network maps a painting
(``(1, 256, 256, 3)`` in [0, 1]) to a style vector ``(1, 1, 1, 100)``; the *style transfer* network paints
a photo with that vector in one pass. Two kinds of files hold them:

* **TFLite pair** (TensorFlow Lite's examples, Kaggle Models' ``tfLite`` variations):
  ``style_predict_*_256.tflite`` + ``style_transfer_*_384.tflite``. The transfer network is declared for
  384×384 inputs and its three upsampling layers have their output sizes stored as constants, so merely
  resizing its input tensor gives a wrong picture; :class:`TFLitePair` rewrites those constants for each
  requested size (multiples of 4) and keeps the interpreters of the last few sizes. One pass over the whole
  picture was chosen over overlapping 384-px tiles: it is faster (no overlap computed twice) and keeps one
  set of instance-norm statistics for the whole image, where tiles each get their own and show as patches
  of different colour (measured in ``benchmarks/README.md``).
* **SavedModel** ``magenta/arbitrary-image-stylization-v1-256`` (TF Hub / Kaggle Models, a folder with
  ``saved_model.pb``): one call ``model(content, style) -> [image]``. :class:`SavedModelPair` splits its
  graph at the style bottleneck (the tensor named ``…/mobilenet_conv/Conv/BiasAdd``, else the one
  ``(?, 1, 1, N)`` tensor fed by the style image alone) so vectors can be cached and blended; a module it
  cannot split still paints one painting at full strength.

The TFLite runtime is ``ai_edge_litert`` (``pip install "stx_tf[instant]"``), else TensorFlow's own
``tf.lite.Interpreter`` (deprecated, still in TF 2.20/2.21). Both run float32 kernels (XNNPACK).
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

from stx_tf import settings

log = settings.get_logger("stx_tf.arbitrary")

#: The TF Hub handle of the SavedModel (downloaded by ``tensorflow_hub`` where there is internet).
HUB_HANDLE = "https://tfhub.dev/google/magenta/arbitrary-image-stylization-v1-256/2"
#: Name ending of Magenta's style bottleneck (the TFLite predictor's output has the same name).
BOTTLENECK = "mobilenet_conv/Conv/BiasAdd"
HOW_TO_GET = (
    "put style_predict_*_256.tflite + style_transfer_*_384.tflite (TensorFlow Lite's Magenta example) or the "
    "SavedModel magenta/arbitrary-image-stylization-v1-256 (Kaggle Models / TF Hub) in a folder and set "
    "STX_ARBITRARY_MODEL to it, or pip install tensorflow-hub where there is internet"
)


class ModelNotFoundError(ValueError):
    """No arbitrary-style model was found (the message says how to get one)."""


class StyleNetworks:
    """The interface of both sources: ``style_vector`` and ``transfer`` on float32 arrays in [0, 1].

    Attributes:
        style_size: side of the square style image the predictor takes (256).
        multiple: content sides must be multiples of this (the transfer net's total stride).
        splits: False when vectors are not reachable (a SavedModel that could not be split): then only
            :meth:`stylize` (one painting, full strength) works.
        name: where the model came from (messages, cache keys).
    """

    style_size = 256
    multiple = 4
    splits = True
    name = "model"

    def style_vector(self, style: np.ndarray) -> np.ndarray:
        """``(style_size, style_size, 3)`` -> style vector ``(N,)`` float32."""
        raise NotImplementedError

    def transfer(self, content: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` (``H``, ``W`` multiples of :attr:`multiple`) and ``(N,)`` -> ``(H, W, 3)``."""
        raise NotImplementedError

    def stylize(self, content: np.ndarray, style: np.ndarray) -> np.ndarray:
        """One call, content and style image: the fallback of models that cannot be split."""
        return self.transfer(content, self.style_vector(style))


# ------------------------------------------------------------------------------------------ TFLite
def interpreter_class():
    """``ai_edge_litert``'s Interpreter, else ``tf.lite.Interpreter``; a one-line error without both."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    except ImportError:
        pass
    try:
        import tensorflow as tf

        return tf.lite.Interpreter
    except (ImportError, AttributeError):
        raise ImportError('TFLite models need a TFLite runtime: pip install "stx_tf[instant]"') from None


def _schema():
    """The TFLite flatbuffer schema module (read and patch model files)."""
    for name in ("ai_edge_litert.schema_py_generated", "tensorflow.lite.python.schema_py_generated"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError('reading TFLite files needs ai-edge-litert: pip install "stx_tf[instant]"')


def resize_transfer_model(data: bytes, height: int, width: int) -> bytes:
    """A copy of a transfer model's flatbuffer whose constant upsampling sizes suit ``height × width``.

    Every ``RESIZE_NEAREST_NEIGHBOR`` / ``RESIZE_BILINEAR`` with a constant size gets it scaled by
    ``height / H0`` and ``width / W0`` (``H0 × W0``: the declared input size).
    """
    schema = _schema()
    buf = bytearray(data)
    model = schema.Model.GetRootAsModel(buf, 0)
    graph = model.Subgraphs(0)
    h0, w0 = (int(n) for n in graph.Tensors(graph.Inputs(0)).ShapeAsNumpy()[1:3])
    resizes = {schema.BuiltinOperator.RESIZE_NEAREST_NEIGHBOR, schema.BuiltinOperator.RESIZE_BILINEAR}
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) not in resizes:
            continue
        size = model.Buffers(graph.Tensors(op.Inputs(1)).Buffer()).DataAsNumpy()
        if isinstance(size, int):  # no constant: the size is computed in the graph
            continue
        size = size.view(np.int32)  # a view into ``buf``: written in place
        new = (int(size[0]) * height // h0, int(size[1]) * width // w0)
        if new[0] * h0 != int(size[0]) * height or new[1] * w0 != int(size[1]) * width:
            raise ValueError(f"{height}x{width} does not suit the transfer model's upsampling layers")
        size[:] = new
    return bytes(buf)


class TFLitePair(StyleNetworks):
    """The TFLite predictor + transfer network (thread-safe; see the module docstring).

    Args:
        predict: path of ``style_predict_*.tflite``.
        transfer: path of ``style_transfer_*.tflite``.
        threads: interpreter threads (default: all cores).
        keep: transfer interpreters kept, one per input size.
    """

    def __init__(self, predict, transfer, threads: int | None = None, keep: int = 4):
        self.paths = (Path(predict), Path(transfer))
        self.name = f"{self.paths[0]}+{self.paths[1].name}"
        self.threads = threads
        self.keep = keep
        self._lock = threading.Lock()
        self._sized: OrderedDict[tuple[int, int], object] = OrderedDict()  # interpreters by input size
        self._predict = self._interpreter(self.paths[0].read_bytes(), self.paths[0])
        inputs = self._predict.get_input_details()
        if len(inputs) != 1 or len(inputs[0]["shape"]) != 4:
            raise ValueError(f"{self.paths[0]}: not a style prediction model (one image input expected)")
        self.style_size = int(inputs[0]["shape"][1])
        self._transfer_bytes = self.paths[1].read_bytes()
        try:  # read the file's inputs without building an interpreter (one is built per size, on use)
            graph = _schema().Model.GetRootAsModel(self._transfer_bytes, 0).Subgraphs(0)
            inputs = graph.InputsLength()
        except Exception as err:  # a flatbuffer that is not one fails in many ways
            raise ValueError(f"{self.paths[1]}: not a readable TFLite model ({err})") from None
        if inputs != 2:
            raise ValueError(f"{self.paths[1]}: not a style transfer model (content + style vector inputs)")

    def _interpreter(self, data: bytes, path: Path, shape=None):
        try:
            with warnings.catch_warnings():  # tf.lite.Interpreter's deprecation notice
                warnings.simplefilter("ignore")
                interpreter = interpreter_class()(model_content=data, num_threads=self.threads)
            if shape is not None:
                interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], shape)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise ValueError(f"{path}: not a readable TFLite model ({str(err).splitlines()[0]})") from None
        return interpreter

    @staticmethod
    def _run(interpreter, *arrays) -> np.ndarray:
        for detail, array in zip(interpreter.get_input_details(), arrays):
            interpreter.set_tensor(detail["index"], np.ascontiguousarray(array, np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])

    def style_vector(self, style):
        with self._lock:
            return self._run(self._predict, style[None]).reshape(-1)

    def transfer(self, content, vector):
        shape = content.shape[:2]
        with self._lock:
            if shape not in self._sized:
                data = resize_transfer_model(self._transfer_bytes, *shape)
                self._sized[shape] = self._interpreter(data, self.paths[1], [1, *shape, 3])
                while len(self._sized) > self.keep:
                    self._sized.popitem(last=False)
            self._sized.move_to_end(shape)
            interpreter = self._sized[shape]
            # The style input's declared shape: (1, 1, 1, N) in Magenta's files.
            vector = vector.reshape(interpreter.get_input_details()[1]["shape"])
            return self._run(interpreter, content[None], vector)[0]


# -------------------------------------------------------------------------------------- SavedModel
class SavedModelPair(StyleNetworks):
    """A SavedModel called ``model(content, style)``, split at its style bottleneck when possible.

    Args:
        folder: the SavedModel folder (``saved_model.pb`` + ``variables/``).
    """

    def __init__(self, folder):
        import tensorflow as tf

        self.folder = Path(folder)
        self.name = str(self.folder)
        try:
            self.module = tf.saved_model.load(str(self.folder))
        except Exception as err:  # TF raises many kinds for broken protobufs / missing variables
            raise ValueError(
                f"{self.folder}: not a readable SavedModel ({str(err).splitlines()[0]})"
            ) from None
        self._call = self._one_call()
        self.splits = False
        try:
            self._style_fn, self._transfer_fn = self._split()
            self.splits = True
        except (ValueError, KeyError, TypeError, ImportError) as err:
            log.info("%s: style vectors not reachable (%s): one painting at full strength only", folder, err)

    def _one_call(self):
        """The concrete function ``(content, style) -> image`` (``__call__`` or the only signature)."""
        import tensorflow as tf

        if callable(self.module) and hasattr(self.module.__call__, "get_concrete_function"):
            spec = tf.TensorSpec([1, None, None, 3], tf.float32)
            return self.module.__call__.get_concrete_function(spec, spec)
        signatures = dict(getattr(self.module, "signatures", {}))
        if len(signatures) != 1:
            raise ValueError(f"{self.folder}: no __call__ and {len(signatures)} signatures; expected one")
        return next(iter(signatures.values()))

    def _split(self):
        """Two pruned functions of the frozen graph: style image -> vector, (content, vector) -> image."""
        import tensorflow as tf
        from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

        frozen = convert_variables_to_constants_v2(self._call)
        graph_def = frozen.graph.as_graph_def()
        content_in, style_in = (t.name for t in frozen.inputs[:2])
        output = frozen.outputs[0].name
        wrapped = tf.compat.v1.wrap_function(lambda: tf.graph_util.import_graph_def(graph_def, name=""), [])
        graph = wrapped.graph
        content, style = graph.get_tensor_by_name(content_in), graph.get_tensor_by_name(style_in)
        for name in _bottlenecks(graph, content_in, style_in):  # the last one that cuts the graph in two
            bottleneck = graph.get_tensor_by_name(name)
            try:
                transfer = wrapped.prune([content, bottleneck], graph.get_tensor_by_name(output))
            except Exception:  # the output still depends on the style image another way: not a cut
                continue
            return wrapped.prune(style, bottleneck), transfer
        raise ValueError("no (?, 1, 1, N) tensor carries all of the style image's influence")

    def style_vector(self, style):
        if not self.splits:
            raise ValueError(f"{self.name}: style vectors are not reachable in this SavedModel")
        import tensorflow as tf

        return np.asarray(self._style_fn(tf.constant(style[None], tf.float32))).reshape(-1)

    def transfer(self, content, vector):
        import tensorflow as tf

        if not self.splits:
            raise ValueError(f"{self.name}: style vectors are not reachable in this SavedModel")
        shape = [1, *[int(d or 1) for d in self._transfer_fn.inputs[1].shape[1:]]]
        out = self._transfer_fn(
            tf.constant(content[None], tf.float32), tf.constant(vector.reshape(shape), tf.float32)
        )
        return np.asarray(out)[0]

    def stylize(self, content, style):
        if self.splits:
            return super().stylize(content, style)
        import tensorflow as tf

        inputs = tf.constant(content[None], tf.float32), tf.constant(style[None], tf.float32)
        args, kwargs = self._call.structured_input_signature
        if kwargs and not args:  # a signature takes keywords; TF Hub's: placeholder (content), placeholder_1
            out = self._call(**dict(zip(sorted(kwargs), inputs)))
        else:
            out = self._call(*inputs)
        out = (
            out[0]
            if isinstance(out, list | tuple)
            else next(iter(out.values()))
            if isinstance(out, dict)
            else out
        )
        return np.asarray(out)[0]


def _bottlenecks(graph, content_in: str, style_in: str) -> list[str]:
    """Candidate style bottlenecks, most likely first: ``…/mobilenet_conv/Conv/BiasAdd``, then every
    ``(?, 1, 1, N)`` float tensor that depends on the style input and not on the content input, last first."""
    ops = graph.get_operations()
    named = [op.outputs[0].name for op in ops if op.name.endswith(BOTTLENECK) and op.outputs]
    depends: dict[str, set[str]] = {}
    for op in ops:  # import_graph_def keeps the GraphDef's topological order
        seen = set().union(*(depends.get(t.op.name, set()) for t in op.inputs))
        depends[op.name] = seen | ({t.name for t in op.outputs} & {content_in, style_in})
    shaped = [
        op.outputs[0].name
        for op in ops
        if op.outputs
        and depends[op.name] == {style_in}
        and op.outputs[0].dtype.is_floating
        and op.outputs[0].shape.rank == 4
        and [int(d or 0) for d in op.outputs[0].shape[1:3]] == [1, 1]
        and (op.outputs[0].shape[3] or 0) > 1
    ]
    return named + shaped[::-1]


# -------------------------------------------------------------------------------------- discovery
_PREFERRED = ("f16", "fp16", "float", "int8", "quant")  # transfer files: float16 weights first


def _pair_in(folder: Path) -> tuple[Path, Path] | None:
    """The TFLite (predict, transfer) files in ``folder`` (searched two levels deep), or ``None``."""
    files = sorted(p for p in folder.rglob("*.tflite") if len(p.relative_to(folder).parts) <= 4)
    predict = [p for p in files if "predict" in str(p.relative_to(folder)).lower()]
    transfer = [p for p in files if "transfer" in str(p.relative_to(folder)).lower()]
    if not predict or not transfer:
        return None

    def rank(path: Path) -> int:
        text = str(path).lower()
        return next((i for i, key in enumerate(_PREFERRED) if key in text), len(_PREFERRED))

    return min(predict, key=rank), min(transfer, key=rank)


def _saved_model_in(folder: Path) -> Path | None:
    found = sorted(p.parent for p in folder.rglob("saved_model.pb") if len(p.relative_to(folder).parts) <= 5)
    found = [p for p in found if "arbitrary" in str(p).lower() or p == folder] or found
    return found[0] if found else None


def find_model(path=None, download: bool = True) -> Path:
    """Where the arbitrary-style model is: a folder holding the TFLite pair or the SavedModel.

    Looked for in this order: ``path``; ``STX_ARBITRARY_MODEL``; ``magenta_arbitrary_style`` /
    ``arbitrary*`` folders in the models folder (``STX_MODELS_DIR``) and the cache; Kaggle inputs
    (``/kaggle/input/*arbitrary*``); then, with ``download`` and ``tensorflow_hub`` installed, the SavedModel
    from TF Hub (needs internet).

    Raises:
        ModelNotFoundError: nothing found (the message says how to get the files).
    """
    explicit = path if path is not None else settings.arbitrary_model()
    if explicit is not None:
        explicit = Path(explicit).expanduser()
        if not explicit.exists():
            raise ModelNotFoundError(f"{explicit}: no such file or folder (the arbitrary-style model)")
        return explicit.parent if explicit.is_file() else explicit
    roots = [settings.models_dir(), settings.cache_dir(), settings.kaggle_input()]
    for root in roots:
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and "arbitrary" in p.name.lower()):
            if _pair_in(folder) or _saved_model_in(folder):
                return folder
    if download and importlib.util.find_spec("tensorflow_hub") is not None:
        import tensorflow_hub as hub

        try:
            return Path(hub.resolve(HUB_HANDLE))
        except Exception as err:  # no internet, blocked host, ...
            raise ModelNotFoundError(
                f"no arbitrary-style model; download failed ({err}); {HOW_TO_GET}"
            ) from None
    raise ModelNotFoundError(f"no arbitrary-style model found: {HOW_TO_GET}")


_LOADED: dict[str, StyleNetworks] = {}
_LOAD_LOCK = threading.Lock()


def load_model(source=None, download: bool = True) -> StyleNetworks:
    """The networks at ``source`` (a folder, a ``.tflite`` file of the pair, a SavedModel folder, an
    already loaded :class:`StyleNetworks`, or ``None``: :func:`find_model`), loaded once per process.

    Raises:
        ModelNotFoundError: no model found; ValueError: a file that is not a model.
    """
    if isinstance(source, StyleNetworks):
        return source
    folder = find_model(source, download=download)
    key = str(folder.resolve())
    with _LOAD_LOCK:
        if key not in _LOADED:
            if (folder / "saved_model.pb").is_file():
                _LOADED[key] = SavedModelPair(folder)
            elif pair := _pair_in(folder):
                _LOADED[key] = TFLitePair(*pair)
            elif saved := _saved_model_in(folder):
                _LOADED[key] = SavedModelPair(saved)
            else:
                raise ModelNotFoundError(f"{folder}: holds no arbitrary-style model; {HOW_TO_GET}")
            log.info("arbitrary style: %s", _LOADED[key].name)
        return _LOADED[key]
