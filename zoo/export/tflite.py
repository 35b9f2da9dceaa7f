"""The TFLite exports (LiteRT): float32, full-integer int8 with activation ranges clipped at quantiles, and int16x8
(int8 weights, int16 activations); each quantized model is the Keras model behind its /255 step with BatchNorm,
the scaling and the logit scale folded in (:mod:`zoo.export.fold`), calibrated on train images."""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo import data
from zoo.errors import ZooError
from zoo.quiet import muted_stderr

if TYPE_CHECKING:
    import keras

    from zoo.card import ModelCard


def taking_raw_pixels(model: keras.Model, dtype: str = "float32") -> keras.Model:
    """``model`` behind an input of raw pixels 0-255 (``dtype``; the layer casts them) and a 1/255 ``Rescaling``
    layer named ``rescale``: where ``model`` is one chain of layers, a new chain of copies of its layers (the same
    weights), which :func:`zoo.export.fold.fold` can fold the scaling into; else ``model`` nested behind the layer."""
    import keras

    images = keras.Input(shape=model.input_shape[1:], dtype=dtype, name="images")
    x = keras.layers.Rescaling(data.SCALE, name="rescale")(images)
    layers = model.layers[1:]
    linked = all(a.output is b.input for a, b in zip(model.layers, layers, strict=False))
    if not (layers and linked and layers[-1].output is model.output):
        return keras.Model(images, model(x), name=model.name)
    for layer in layers:
        copy = layer.__class__.from_config(layer.get_config())
        x = copy(x)
        copy.set_weights(layer.get_weights())
    return keras.Model(images, x, name=model.name)


@contextmanager
def _converters(model: keras.Model, input_shape: Sequence[int], dtype: str) -> Iterator[Callable[[], Any]]:
    """A factory of TFLite converters of ``model`` (one that takes raw pixels: :func:`taking_raw_pixels`) behind an
    input of ``dtype``, each reading one temporary SavedModel (variables frozen, Keras quiet) that lasts as long as
    the ``with``."""
    import keras
    import tensorflow as tf

    images = keras.Input(shape=input_shape, dtype=dtype, name="images")
    wrapped = keras.Model(images, model(keras.ops.cast(images, "float32")))
    with tempfile.TemporaryDirectory() as tmp:
        wrapped.export(tmp, verbose=False)
        yield lambda: tf.lite.TFLiteConverter.from_saved_model(tmp)


def _convert(converter) -> bytes:
    with muted_stderr():  # the converter's MLIR notes ("fully_quantize: 0, ...")
        return converter.convert()


def write_tflite(model: keras.Model, card: ModelCard, dest: Path, data_dir: str | None = None) -> None:
    with _converters(taking_raw_pixels(model), card.input_shape, "uint8") as converter:
        dest.write_bytes(_convert(converter()))


@contextmanager
def quantizing_converters(
    model: keras.Model, card: ModelCard, data_dir: str | None = None, images: np.ndarray | None = None
) -> Iterator[Callable[[], Any]]:
    """A factory of TFLite converters set up as the quantized exports are (integer types left to the caller):
    ``model`` with its BatchNorm, input scaling and logit scale folded into its convolutions and dense layers
    (:mod:`zoo.export.fold`: the same function, fewer roundings), float32 pixels in, calibrated on ``images``
    (default: up to 500 train images of the card's dataset, :func:`calibration_images`)."""
    import tensorflow as tf

    from zoo.export.fold import fold

    model = taking_raw_pixels(model)
    try:
        model = fold(model)
    except ValueError:  # not a chain of layers: quantized as it is
        pass
    images = calibration_images(card, data_dir) if images is None else images
    with _converters(model, card.input_shape, "float32") as plain:

        def converter():
            c = plain()
            c.optimizations = [tf.lite.Optimize.DEFAULT]
            c.representative_dataset = lambda: ([img[None].astype(np.float32)] for img in images)
            return c

        yield converter


# int8 activation ranges. LiteRT calibrates each tensor's range as the min and max over the calibration images, so
# a few outliers set the rounding step of every value; clipping the range at these quantiles of the calibration
# activations instead (percentile calibration) halves cifar_cnn's int8 disagreements. Chosen on cifar_cnn's top-1
# agreement with Keras on 5,000 train images outside the calibration set: min/max 99.48 %, 1e-4 99.64 %,
# 3e-5 99.72 %, 1e-5 99.64 %, 3e-6 99.66 %, 1e-6 99.58 %.
INT8_CLIP_QUANTILE = 3e-5
INT8_CLIP_IMAGES = 200  # calibration images whose activations give the quantiles
# LiteRT offers no percentile calibration: it is patched into its private calibrator, on the versions it was tested
# on; elsewhere the ranges stay min/max (and the parity rule still judges the export).
CLIP_TESTED_TF = ("2.21.",)


class TailQuantiles:
    """``np.quantile`` at ``quantile`` and ``1 - quantile`` of ``total`` values fed in pieces (:meth:`add`),
    keeping only the few values at either end in memory."""

    def __init__(self, total: int, quantile: float) -> None:
        self.position = quantile * (total - 1)
        self.keep = min(total, int(self.position) + 2)
        self.low = self.high = np.empty(0, np.float64)

    def add(self, values: np.ndarray) -> None:
        self.low = np.concatenate([self.low, values.ravel()])
        self.high = np.concatenate([self.high, values.ravel()])
        if len(self.low) > self.keep:
            self.low = np.partition(self.low, self.keep - 1)[: self.keep]
            self.high = -np.partition(-self.high, self.keep - 1)[: self.keep]

    def result(self) -> tuple[float, float]:
        j, frac = int(self.position), self.position - int(self.position)

        def at(tail: np.ndarray) -> float:  # linear interpolation between order statistics, as np.quantile's default
            return float(tail[j] + frac * (tail[min(j + 1, len(tail) - 1)] - tail[j]))

        return at(np.sort(self.low)), at(np.sort(self.high)[::-1])


def clip_ranges(calibrated: bytes, images: np.ndarray, quantile: float) -> bytes:
    """A calibrated TFLite model (float, with each tensor's min/max recorded) with every activation range between
    its input and output narrowed to the ``quantile`` and ``1 - quantile`` of its values on ``images`` (0 stays
    inside the range)."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(calibrated)
    graph = model.subgraphs[0]
    ends = {*graph.inputs, *graph.outputs}
    ranges = {i: t.quantization for i, t in enumerate(graph.tensors) if i not in ends and t.quantization is not None}
    ranges = {i: q for i, q in ranges.items() if q.min is not None and np.size(q.min) == 1}
    with warnings.catch_warnings():  # every tensor kept on purpose: their values are what is measured
        warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors")
        interpreter = tflite_interpreter(model_content=calibrated, experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    tails: dict[int, TailQuantiles] = {}
    for image in images:
        interpreter.set_tensor(graph.inputs[0], image[None].astype(np.float32))
        interpreter.invoke()
        for i in ranges:
            values = interpreter.get_tensor(i)
            if i not in tails:  # sized from the first image's output
                tails[i] = TailQuantiles(len(images) * values.size, quantile)
            tails[i].add(values)
    for i, q in ranges.items():
        low, high = tails[i].result()
        q.min = np.array([max(float(q.min[0]), min(low, 0.0))], np.float32)
        q.max = np.array([min(float(q.max[0]), max(high, 0.0))], np.float32)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


@contextmanager
def _clipped_ranges(images: np.ndarray, quantile: float) -> Iterator[None]:
    """While converting, LiteRT's calibration results pass through :func:`clip_ranges` (where tested)."""
    import tensorflow as tf

    try:
        from tensorflow.lite.python.optimize import calibrator
    except ImportError:
        calibrator = None
    if calibrator is None or not tf.__version__.startswith(CLIP_TESTED_TF) or not quantile:
        yield
        return
    original = calibrator.Calibrator.calibrate

    def calibrate(self, dataset_gen):
        return clip_ranges(original(self, dataset_gen), images, quantile)

    calibrator.Calibrator.calibrate = calibrate
    try:
        yield
    finally:
        calibrator.Calibrator.calibrate = original


def _quantized_tflite(
    model: keras.Model, card: ModelCard, data_dir: str | None, configure, clip_quantile: float = 0.0
) -> bytes:
    """:func:`quantizing_converters`' conversion, ``configure(converter)`` picking the integer types, with the
    activation ranges clipped at ``clip_quantile`` (:func:`clip_ranges`; 0: min/max)."""
    images = calibration_images(card, data_dir)
    with (
        quantizing_converters(model, card, data_dir, images) as converters,
        _clipped_ranges(images[:INT8_CLIP_IMAGES], clip_quantile),
    ):
        converter = converters()
        configure(converter)
        return _convert(converter)


def write_tflite_int8(model: keras.Model, card: ModelCard, dest: Path, data_dir: str | None = None) -> None:
    """Full-integer int8 (weights and activations, their ranges clipped at :data:`INT8_CLIP_QUANTILE`), uint8 in
    and out."""
    import tensorflow as tf

    def int8(converter) -> None:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8

    dest.write_bytes(_quantized_tflite(model, card, data_dir, int8, INT8_CLIP_QUANTILE))


def write_tflite_int16x8(model: keras.Model, card: ModelCard, dest: Path, data_dir: str | None = None) -> None:
    """Integer-only with int8 weights and int16 activations (LiteRT's 16x8 mode), float32 in and out: 256× finer
    activations than int8 for the models whose int8 export misses the parity rule, but no XNNPACK kernels (slower)."""
    import tensorflow as tf

    def int16x8(converter) -> None:
        ops = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        converter.target_spec.supported_ops = [ops]

    dest.write_bytes(_quantized_tflite(model, card, data_dir, int16x8))


def calibration_images(card: ModelCard, data_dir: str | None = None, count: int = 500) -> np.ndarray:
    """Train images for int8 calibration (random ones where the dataset is not prepared)."""
    try:
        source = data.source_for(card, None, data_dir)
        images, _ = data.part_arrays(source, ("train", 0, source.counts["train"]), data_dir)
        return images[np.random.default_rng(0).permutation(len(images))[:count]]
    except ZooError:
        return np.random.default_rng(0).integers(0, 256, (count, *card.input_shape), dtype=np.uint8)


def tflite_interpreter(**kwargs):
    """LiteRT's interpreter (``ai-edge-litert``), or TensorFlow's own (deprecated) where LiteRT is missing."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter  # noqa: N806
    return Interpreter(**kwargs)


def run_tflite(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """Run a .tflite file with LiteRT (``ai-edge-litert``), or TensorFlow's own interpreter where it is missing."""
    with muted_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        interpreter = tflite_interpreter(model_path=str(path))
        interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]

    def predict(images: np.ndarray) -> np.ndarray:
        results = []
        for image in images:  # both models are converted with a batch of 1
            x = image[None]
            if inp["dtype"] == np.float32:
                x = x.astype(np.float32)
            elif inp["quantization"][0]:
                scale, zero = inp["quantization"]
                info = np.iinfo(inp["dtype"])
                x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(inp["dtype"])
            interpreter.set_tensor(inp["index"], x)
            interpreter.invoke()
            y = interpreter.get_tensor(out["index"])
            if out["dtype"] != np.float32:
                scale, zero = out["quantization"]
                y = (y.astype(np.float32) - zero) * scale
            results.append(y[0])
        return np.stack(results)

    return predict
