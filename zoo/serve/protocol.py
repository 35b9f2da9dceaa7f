"""TensorFlow Serving's REST shapes, as ``zoo serve`` speaks them: what is served (:class:`Served`), the requests it
takes (refused in one line, :class:`RequestError`) and the answers it gives.

    GET  /v1/models/NAME              the model's status
    GET  /v1/models/NAME/metadata     its serving signature: input ``images`` uint8 [-1, H, W, C]; outputs
    POST /v1/models/NAME:predict      {"instances": [...]} → {"predictions": [...]}; {"inputs": ...} → {"outputs": ...}

Sizes are checked before anything is decoded.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zoo import pretrained, tags
from zoo.card import ModelCard
from zoo.data import normalize
from zoo.errors import first_line

MAX_BODY_BYTES = 8 << 20  # a request body over this is refused (413) before it is read further
MAX_INSTANCES = 1024  # images in one request
TOP_K = 3


class RequestError(Exception):
    """A request the server refuses: its status and one line for ``{"error": ...}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Served:
    """One served model: its name, Keras model, card, and the compiled functions the server calls."""

    name: str
    model: Any
    card: ModelCard
    run: Callable[[np.ndarray], np.ndarray]  # uint8 [N, H, W, C] → probabilities [N, classes]
    features: Callable[[np.ndarray], np.ndarray] | None  # the first conv layer's maps, where there is one
    batcher: Any = None  # its zoo.serve.batching.Batcher while the app runs

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.card.input_shape)

    @property
    def class_names(self) -> list[str]:
        return self.card.labels


def load_served(model: str) -> Served:
    """Load a model folder or tag for serving: named by its tag, or by its folder's name."""
    import keras
    import tensorflow as tf

    keras_model, card = pretrained.load(model)
    name = model if model in tags.list_tags() else Path(model).resolve().name
    spec = tf.TensorSpec([None, *card.input_shape], tf.uint8)

    def compiled(net) -> Callable[[np.ndarray], np.ndarray]:  # one graph for every batch size: no retracing
        graph = tf.function(lambda x: net(normalize(x), training=False), input_signature=[spec])
        return lambda images: graph(images).numpy()

    convs = [layer for layer in keras_model.layers if isinstance(layer, keras.layers.Conv2D)]
    probe = keras.Model(keras_model.inputs, convs[0].output) if convs else None
    return Served(name, keras_model, card, compiled(keras_model), compiled(probe) if probe else None)


# --- requests ---------------------------------------------------------------------------------------------------


def _no_constants(name: str):
    raise RequestError(400, f"the body is not valid JSON: {name} is not a number JSON allows")


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_no_constants)
    except (ValueError, RecursionError) as err:
        raise RequestError(400, f"the body is not valid JSON ({first_line(err, 120)})") from None


def _holds_bool(value: Any) -> bool:
    """Whether a parsed JSON value holds ``true`` or ``false`` anywhere (NumPy would take them as 1 and 0)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            return True
        if isinstance(item, list):
            stack.extend(item)
    return False


def images_of(request: Any, served: Served, has_booleans: bool = True) -> tuple[np.ndarray, bool]:
    """The uint8 images [N, H, W, C] of a TensorFlow Serving predict request, and whether it was columnar
    (``has_booleans``: whether the body may hold a JSON boolean; the scan for one is skipped where it cannot)."""
    if not isinstance(request, dict):
        raise RequestError(400, 'the body must be a JSON object with "instances" (rows) or "inputs" (columns)')
    signature = request.get("signature_name", "serving_default")
    if signature != "serving_default":
        raise RequestError(400, f"unknown signature_name {str(signature)[:40]!r}; this model has serving_default")
    if ("instances" in request) == ("inputs" in request):
        raise RequestError(400, 'give exactly one of "instances" (rows) or "inputs" (columns)')
    columnar = "inputs" in request
    data = request["inputs"] if columnar else request["instances"]
    if columnar and isinstance(data, dict):
        data = _named(data)
    elif not columnar and isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        data = [_named(row) for row in data]
    if not isinstance(data, list) or not data:
        raise RequestError(400, "no images: give a non-empty list of images [H][W][C] of raw pixels 0-255")
    if len(data) > MAX_INSTANCES:
        raise RequestError(400, f"{len(data):,} images in one request; at most {MAX_INSTANCES:,}")
    try:
        array = np.array(data)
    except (ValueError, TypeError):
        raise RequestError(400, "images of different shapes or wrong nesting: each must be [H][W][C]") from None
    if array.dtype.kind not in "iuf" or (has_booleans and _holds_bool(data)):
        raise RequestError(400, "pixels must be numbers 0-255 (uint8), not strings, booleans or null")
    wanted = (len(data), *served.shape)
    if array.shape != wanted:
        shape = "[N, " + ", ".join(map(str, served.shape)) + "]"
        raise RequestError(400, f"images of shape {list(array.shape)}; {served.name} takes {shape} (uint8)")
    if array.dtype.kind == "f" and not (np.isfinite(array).all() and (array == np.round(array)).all()):
        raise RequestError(400, "pixels must be whole numbers 0-255 (uint8), not fractions, NaN or infinity")
    if array.min() < 0 or array.max() > 255:
        raise RequestError(400, f"pixels must be 0-255 (uint8); got {array.min():g} to {array.max():g}")
    return array.astype(np.uint8), columnar


def _named(value: dict) -> Any:
    if set(value) != {"images"}:
        raise RequestError(400, f'the input is named "images"; got {", ".join(map(str, value))[:60]}')
    return value["images"]


def predictions(served: Served, probs: np.ndarray, columnar: bool) -> dict[str, Any]:
    """TensorFlow Serving's response for the serving signature's three outputs, rows or columns."""
    ids = probs.argmax(axis=1)
    names = [served.class_names[i] for i in ids]
    if columnar:
        return {"outputs": {"probabilities": probs.tolist(), "class_id": ids.tolist(), "class_name": names}}
    rows = zip(probs.tolist(), ids.tolist(), names, strict=True)
    return {"predictions": [{"probabilities": p, "class_id": i, "class_name": n} for p, i, n in rows]}


def status(served: Served) -> dict[str, Any]:
    return {
        "model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
        ]
    }


def metadata(served: Served) -> dict[str, Any]:
    """The serving signature as TensorFlow Serving's metadata endpoint shows it."""

    def tensor(dtype: str, dims: list[int], name: str) -> dict[str, Any]:
        shape = {"dim": [{"size": str(d), "name": ""} for d in dims], "unknown_rank": False}
        return {"dtype": dtype, "tensor_shape": shape, "name": name}

    classes = served.card.num_classes
    signature = {
        "inputs": {"images": tensor("DT_UINT8", [-1, *served.shape], "serving_default_images:0")},
        "outputs": {
            "probabilities": tensor("DT_FLOAT", [-1, classes], "StatefulPartitionedCall:0"),
            "class_id": tensor("DT_INT32", [-1], "StatefulPartitionedCall:1"),
            "class_name": tensor("DT_STRING", [-1], "StatefulPartitionedCall:2"),
        },
        "method_name": "tensorflow/serving/predict",
    }
    return {
        "model_spec": {"name": served.name, "signature_name": "", "version": "1"},
        "metadata": {"signature_def": {"signature_def": {"serving_default": signature}}},
    }


def feature_png(maps: np.ndarray) -> str:
    """The first conv layer's maps [H, W, K] as one grayscale PNG grid (each map scaled to its own range), as a
    data URL for the page."""
    from PIL import Image

    k = maps.shape[-1]
    cols = math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    h, w = maps.shape[:2]
    grid = np.full((rows * (h + 2), cols * (w + 2)), 255, np.uint8)
    for i in range(k):
        m = maps[..., i]
        lo, hi = float(m.min()), float(m.max())
        cell = ((m - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(m)).astype(np.uint8)
        r, c = divmod(i, cols)
        grid[r * (h + 2) + 1 : r * (h + 2) + 1 + h, c * (w + 2) + 1 : c * (w + 2) + 1 + w] = cell
    buf = io.BytesIO()
    Image.fromarray(grid).resize((grid.shape[1] * 4, grid.shape[0] * 4), Image.Resampling.NEAREST).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
