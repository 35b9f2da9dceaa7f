"""The export formats, their parity checks, and :func:`export`, which writes them into a model folder with its card.

Every format takes raw pixels 0-255: the 1/255 that zoo's loaders apply before ``model.keras``
(:func:`zoo.data.normalize`) is part of each exported graph, so that applications in any language feed the pixels
they have.

- ``savedmodel``: a TF SavedModel whose ``serving_default`` signature takes raw uint8 images
  ``images [batch, H, W, C]`` and returns ``probabilities [batch, classes]``, ``class_id [batch]`` and
  ``class_name [batch]``; ``serving_float`` takes the same pixels as float32 (0-255);
  ``class_names`` (no input) returns every class name; a model trained on images fitted to its size (a folder, or
  ``--image-size``) also has ``serving_image``, which takes encoded files (PNG, JPEG, BMP, GIF) of any size,
  ``image_bytes [batch]``, and fits them as its training images were (:mod:`zoo.images`).
- ``keras``: ``export.keras``, ``model.keras`` behind a 1/255 ``Rescaling`` input layer (Keras 3 format, raw pixels
  in, uint8 or float 0-255) for ``keras.saving.load_model``.
- ``tflite``: ``model.tflite``, float32 weights; input raw uint8 images, output probabilities.
- ``tflite_int8`` (``--format tflite --quantize int8``): ``model_int8.tflite``, full-integer int8 quantization
  calibrated on train images with activation ranges clipped at quantiles (``tflite.clip_ranges``); input uint8
  pixels, output uint8 probabilities (dequantize with the output's scale and zero point); its weights and
  activations are those of the model with BatchNorm and the input and logit scaling folded into the convolutions
  (``zoo.export.fold``).
- ``tflite_int16x8`` (``--quantize int16x8``): ``model_int16x8.tflite``, integer-only with int8 weights and int16
  activations (the same folding and calibration), float32 pixels in, float32 probabilities out: for models whose
  int8 export misses the parity rule; LiteRT runs it on reference kernels (25× slower than int8 for cifar_cnn).
- ``onnx``: ``model.onnx`` (opset 17) through tf2onnx's ``from_function`` on the same uint8 serving function;
  input ``images`` uint8, output ``probabilities``. Keras' own ``model.export(format="onnx")`` uses the same
  converter but exports the float input only.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from zoo import artifacts, atomic, data, extras
from zoo.atomic import sha256
from zoo.errors import UsageError, ZooError, first_line, raise_if_interrupted
from zoo.export.tflite import run_tflite, taking_raw_pixels, write_tflite, write_tflite_int8, write_tflite_int16x8
from zoo.images import decode
from zoo.pretrained import resolve, search_dirs

if TYPE_CHECKING:
    import keras

    from zoo.card import ModelCard


# Probabilities from a float export must match Keras' to this absolute tolerance.
FLOAT_TOLERANCE = 1e-4


def _uint8_function(model: keras.Model, card: ModelCard, outputs=None):
    """The model behind a raw-uint8-image input: ``images [batch, H, W, C] → outputs(probabilities)``
    (default ``{"probabilities": ...}``), the pixels scaled by 1/255 in the graph as zoo's loaders scale them."""
    import tensorflow as tf

    outputs = outputs or (lambda probabilities: {"probabilities": probabilities})

    @tf.function(input_signature=[tf.TensorSpec([None, *card.input_shape], tf.uint8, name="images")])
    def serve(images):
        return outputs(model(data.normalize(images), training=False))

    return serve


def write_savedmodel(model: keras.Model, card: ModelCard, dest: Path, data_dir: str | None = None) -> None:
    """A SavedModel with uint8 ``serving_default``, float ``serving_float`` and ``class_names`` signatures."""
    import keras
    import tensorflow as tf

    shape = [None, *card.input_shape]
    names = tf.constant(card.labels)

    def outputs(probabilities):
        class_id = tf.argmax(probabilities, axis=1, output_type=tf.int32)
        return {"probabilities": probabilities, "class_id": class_id, "class_name": tf.gather(names, class_id)}

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32, name="images")])
    def serving_float(images):  # the same raw pixels 0-255, as float32
        return outputs(model(data.normalize(images), training=False))

    @tf.function(input_signature=[])
    def class_names():
        return {"class_names": names}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", _uint8_function(model, card, outputs))
    archive.add_endpoint("serving_float", serving_float)
    archive.add_endpoint("class_names", class_names)
    if card.fits_images:  # trained on images fitted to its size: encoded files of any size in, fitted as in training
        h, w, c = card.input_shape

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
        def serving_image(image_bytes):
            images = tf.map_fn(
                lambda contents: decode(contents, c, (h, w)),
                image_bytes,
                fn_output_signature=tf.TensorSpec([h, w, c], tf.uint8),
            )
            return outputs(model(data.normalize(images), training=False))

        archive.add_endpoint("serving_image", serving_image)
    archive.write_out(str(dest), verbose=False)


def run_savedmodel(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    return lambda images: serve(images=tf.constant(images, tf.uint8))["probabilities"].numpy()


def write_keras(model: keras.Model, card: ModelCard, dest: Path, data_dir: str | None = None) -> None:
    taking_raw_pixels(model).save(dest)


def run_keras(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import keras

    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    return lambda images: model.predict(images, verbose=0)


def write_onnx(model: keras.Model, card: ModelCard, dest: Path, data_dir: str | None = None) -> None:
    """ONNX through tf2onnx, with the class names as JSON in the model's metadata (``class_names``)."""
    import json

    import onnx
    import tf2onnx

    serve = _uint8_function(model, card)
    tf2onnx_log = logging.getLogger("tf2onnx")
    level, tf2onnx_log.level = tf2onnx_log.level, logging.CRITICAL  # it reports Erfc as unsupported: rewritten below
    try:
        proto, _ = tf2onnx.convert.from_function(serve, input_signature=serve.input_signature, opset=17)
    finally:
        tf2onnx_log.setLevel(level)
    _erfc_as_erf(proto)
    entry = proto.metadata_props.add()
    entry.key, entry.value = "class_names", json.dumps(card.labels)
    onnx.save(proto, str(dest))


def _erfc_as_erf(proto) -> None:
    """Rewrite every ``Erfc(x)`` node (exact GELU, as TensorFlow writes it) as ``1 - Erf(x)``: tf2onnx passes
    Erfc through, but ONNX has no such operator."""
    import onnx
    from onnx import helper

    graph, rewritten = proto.graph, []
    one = "zoo_erfc_one"
    for node in graph.node:
        if node.op_type != "Erfc":
            rewritten.append(node)
            continue
        erf = f"{node.output[0]}_erf"
        rewritten.append(helper.make_node("Erf", [node.input[0]], [erf], name=f"{node.name}_erf"))
        rewritten.append(helper.make_node("Sub", [one, erf], [node.output[0]], name=f"{node.name}_sub"))
    if len(rewritten) != len(graph.node):
        graph.initializer.append(helper.make_tensor(one, onnx.TensorProto.FLOAT, [], [1.0]))
        del graph.node[:]
        graph.node.extend(rewritten)


def run_onnx(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda images: session.run(["probabilities"], {name: images.astype(np.uint8)})[0]


@dataclass(frozen=True)
class Format:
    """An export format: its file name in the model folder, writer, runner and parity rule."""

    name: str
    filename: str
    write: Callable[[keras.Model, ModelCard, Path, str | None], None]
    run: Callable[[Path], Callable[[np.ndarray], np.ndarray]]
    quantized: bool = False


# The packages each format needs beyond TensorFlow (to write it and to check it).
NEEDS = {"onnx": ("onnx", "tf2onnx", "onnxruntime")}

FORMATS: dict[str, Format] = {
    "savedmodel": Format("savedmodel", "savedmodel", write_savedmodel, run_savedmodel),
    "keras": Format("keras", "export.keras", write_keras, run_keras),
    "tflite": Format("tflite", "model.tflite", write_tflite, run_tflite),
    "tflite_int8": Format("tflite_int8", "model_int8.tflite", write_tflite_int8, run_tflite, quantized=True),
    "tflite_int16x8": Format(
        "tflite_int16x8", "model_int16x8.tflite", write_tflite_int16x8, run_tflite, quantized=True
    ),
    "onnx": Format("onnx", "model.onnx", write_onnx, run_onnx),
}


QUANTIZATIONS = ("int8", "int16x8")  # ``quantize=``: each adds the TFLite format ``tflite_<name>``


def format_names(formats: Sequence[str], quantize: str | Sequence[str] | None = None) -> list[str]:
    """CLI format words → export names: ``all`` is every float format; ``--quantize int8`` adds ``tflite_int8``,
    ``int16x8`` ``tflite_int16x8``."""
    quantized = {f"tflite_{q}" for q in QUANTIZATIONS}
    names = [n for n in FORMATS if n not in quantized] if "all" in formats else list(dict.fromkeys(formats))
    for q in [quantize] if isinstance(quantize, str) else quantize or []:
        if q not in QUANTIZATIONS:
            raise ValueError(f"`quantize` must be one of {', '.join(QUANTIZATIONS)}, got {q!r}")
        if "tflite" not in names:
            raise UsageError(f"`quantize='{q}'` applies to TFLite: add `format='tflite'` (or all)")
        names.append(f"tflite_{q}")
    return names


def parity(reference: np.ndarray, probs: np.ndarray, labels: np.ndarray | None, quantized: bool) -> dict[str, Any]:
    """How an export's probabilities compare with the Keras model's on the same images."""
    agree = float((probs.argmax(1) == reference.argmax(1)).mean())
    result: dict[str, Any] = {
        "images": int(len(probs)),
        "max_abs_diff": float(np.abs(probs - reference).max()),
        "top1_agreement": agree,
        "accuracy": float((probs.argmax(1) == labels).mean()) if labels is not None else None,
    }
    result["ok"] = agree >= 0.99 if quantized else result["max_abs_diff"] <= FLOAT_TOLERANCE
    result["rule"] = "top-1 agreement >= 99%" if quantized else f"max |dprob| <= {FLOAT_TOLERANCE:g}"
    return result


def parity_images(card: ModelCard, count: int = 1000, data_dir: str | None = None, seed: int = 0):
    """Up to ``count`` test images and labels of the card's dataset; random images where it is not prepared."""
    try:
        images, labels = data.test_arrays(data.source_for(card, None, data_dir), data_dir, limit=count)
        return images, labels, f"{card.dataset} test split"
    except ZooError:
        rng = np.random.default_rng(seed)
        return rng.integers(0, 256, (min(count, 256), *card.input_shape), dtype=np.uint8), None, "random images"


def export(
    model_dir: str | Path,
    formats: list[str],
    *,
    output: str | Path | None = None,
    data_dir: str | None = None,
    parity_count: int = 1000,
    log=print,
) -> dict[str, dict[str, Any]]:
    """Write each format into the model folder, check its parity and record it in the card. With ``output``
    (another folder), the exports go into a model folder there: a copy of ``model.keras``, its card (which records
    them) and its history; the model given, a pretrained tag's above all, is only read."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise UsageError(f"unknown export format {unknown[0]!r}; known: {', '.join(FORMATS)}, all")
    model_dir = resolve(model_dir)
    card = artifacts.read_card(model_dir)  # a missing or damaged folder fails here, before anything is written
    _check_packages(formats)
    if output is None and Path(model_dir).resolve().parent == search_dirs()[1]:
        raise UsageError(
            f"{model_dir} is a pretrained tag inside the installed zoo package; export it into a folder of yours "
            "with `output`"
        )
    out_dir = Path(output) if output else Path(model_dir)
    if out_dir.resolve() == Path(model_dir).resolve():
        if not os.access(model_dir, os.W_OK):
            raise UsageError(f"{model_dir} is not writable: the exports could not be recorded in its card")
        with atomic.writing(model_dir, log):  # one writer at a time: a `zoo train --overwrite` swap waits
            return _export(Path(model_dir), formats, data_dir, parity_count, log)
    if Path(model_dir).resolve() in out_dir.resolve().parents:
        raise UsageError(
            f"output {out_dir} is inside the model folder {model_dir}; export into the model folder itself "
            "(the default) or into a folder outside it"
        )
    model_sha = sha256(artifacts.readable(model_dir) / artifacts.MODEL_FILE)
    if (out_dir / artifacts.CARD_FILE).is_file():  # a model folder there: the same model's, exported again
        if sha256(out_dir / artifacts.MODEL_FILE) != model_sha:
            raise UsageError(f"output {out_dir} holds another model; name a new folder for the exports")
        with atomic.writing(out_dir, log):
            return _export(out_dir, formats, data_dir, parity_count, log)
    empty = atomic.is_real_dir(out_dir) and not any(out_dir.iterdir())
    artifacts.check_model_output(out_dir, overwrite=empty)
    log(f"Exporting into a new model folder {out_dir} (a copy of {model_dir}'s model and card)")
    with atomic.writing(out_dir, log), atomic.atomic_dir(out_dir, overwrite=empty) as tmp:
        source = artifacts.readable(model_dir)
        for name in (artifacts.MODEL_FILE, artifacts.HISTORY_FILE, "curves.png"):
            if (source / name).is_file():
                shutil.copyfile(source / name, tmp / name)
        if sha256(tmp / artifacts.MODEL_FILE) != model_sha:
            raise ZooError(f"{model_dir / artifacts.MODEL_FILE} changed while it was copied; nothing was written")
        card.exports = {}
        artifacts.write_card(tmp, card)
        return _export(tmp, formats, data_dir, parity_count, log, shown=out_dir)


def _check_packages(formats) -> None:
    for name in formats:
        if NEEDS.get(name):
            extras.require("export", f"the {name} export", NEEDS[name])


def _export(model_dir: Path, formats, data_dir, parity_count, log, shown: Path | None = None):
    """Export the model of ``model_dir`` (its writer, holding its lock) into it; ``shown``: the folder named in the
    log, where ``model_dir`` is its staging copy."""
    model, card = artifacts.load(model_dir)
    model_sha = sha256(model_dir / artifacts.MODEL_FILE)
    images, labels, source = parity_images(card, parity_count, data_dir)
    reference = model.predict(data.normalize(images), verbose=0)
    log(f"Parity on {len(images)} {source}")
    results = {}
    # Every format is written and checked in a staging folder first; then the ones that passed replace their files
    # and the card records them, together (artifacts.commit_with_card). A failure before that changes nothing.
    staging = atomic.staging_dir(model_dir, "export")
    try:
        for name in formats:
            fmt = FORMATS[name]
            staged = staging / fmt.filename
            try:
                fmt.write(model, card, staged, data_dir)
            except Exception as err:  # TensorFlow, the converters and a full disk raise many types
                raise_if_interrupted()
                first = first_line(err)
                raise ZooError(f"could not write the {name} export ({first}); nothing was changed") from None
            try:
                check = parity(reference, fmt.run(staged)(images), labels, fmt.quantized)
            except Exception as err:  # a runtime that cannot load or run what was written
                raise_if_interrupted()
                first = first_line(err)
                raise ZooError(f"the {name} export does not run ({first}); nothing was changed") from None
            results[name] = {"path": fmt.filename, "parity": check}
            kept = (
                ""
                if check["ok"]
                else ("; the previous one is kept" if (model_dir / fmt.filename).exists() else "; not written")
            )
            log(f"  {name:<14} {fmt.filename:<20} {_describe(check)}{kept}")
        passed = {name: result for name, result in results.items() if result["parity"]["ok"]}
        for name, result in passed.items():
            result["sha256"] = sha256(staging / FORMATS[name].filename)
        if sha256(model_dir / artifacts.MODEL_FILE) != model_sha:
            raise ZooError(f"{model_dir / artifacts.MODEL_FILE} changed while it was exported; nothing was changed")
        card.exports.update(passed)
        files = {FORMATS[name].filename: staging / FORMATS[name].filename for name in passed}
        artifacts.commit_with_card(model_dir, staging, files, card)
    except OSError as err:  # a full disk, a read-only card: the commit was undone
        raise ZooError(
            f"could not record the exports in {shown or model_dir} ({err.strerror or err}); nothing was changed"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return results


def _describe(check: dict[str, Any]) -> str:
    acc = f", accuracy {check['accuracy']:.4f}" if check["accuracy"] is not None else ""
    verdict = "ok" if check["ok"] else f"FAILED ({check['rule']})"
    return f"max|dprob| {check['max_abs_diff']:.2e}, top-1 agreement {check['top1_agreement']:.2%}{acc}: {verdict}"
