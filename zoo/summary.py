"""A layer table where every conv and pooling layer shows its hand arithmetic, checked against Keras."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from zoo import arith, data
from zoo.errors import UsageError, ZooError

if TYPE_CHECKING:
    import keras


@dataclass
class Row:
    name: str
    kind: str
    output_shape: tuple
    params: int
    formula: str = ""
    macs: int = 0  # multiply-adds for one image (conv and dense layers)


def multiply_adds(layer, in_shape: tuple, out_shape: tuple) -> int:
    """Multiply-adds of one image through ``layer``: out H·W·(kh·kw·C_in)·filters for a conv, in·units for a dense
    layer; 0 for the rest (their adds and comparisons are small beside these)."""
    kind = layer.__class__.__name__
    if kind == "Conv2D":
        kh, kw = layer.kernel_size
        return out_shape[1] * out_shape[2] * kh * kw * in_shape[-1] * out_shape[-1]
    if kind == "Dense":
        return math.prod(in_shape[1:]) * out_shape[-1]
    return 0


def _window_formula(layer, in_shape: tuple, out_shape: tuple) -> str:
    """The size formula of a conv or pooling layer and, for a conv, its parameter formula."""
    window = getattr(layer, "kernel_size", None) or layer.pool_size
    (_, w1, d1), f, s = in_shape[1:], window[1], layer.strides[1]
    filters = getattr(layer, "filters", None)
    if layer.padding == "valid":
        try:
            w2 = arith.conv_output_size(w1, f, s, 0)
            size = f"W2 = ({w1} − {f} + 2·0)/{s} + 1 = {w2}"
        except UsageError:  # Keras floors: the window does not reach the last row/column
            w2 = (w1 - f) // s + 1
            size = (
                f"W2 = ({w1} − {f} + 2·0)/{s} + 1 = {(w1 - f) / s + 1:.2f}, not whole: Keras floors it to {w2} "
                f"and drops the last {(w1 - f) % s} column(s)"
            )
    elif s == 1:
        p = arith.same_padding(f) if f % 2 else (f - 1) / 2
        w2 = w1
        size = f"W2 = ({w1} − {f} + 2·{p})/{s} + 1 = {w2}  ('same': P = (F − 1)/2)"
    else:  # 'same' with a stride pads as needed: out = ceil(W1 / S)
        w2 = math.ceil(w1 / s)
        size = f"W2 = ceil({w1}/{s}) = {w2}  ('same' with stride {s})"
    if w2 != out_shape[2]:
        raise ZooError(f"{layer.name}: the formula gives width {w2} but Keras built {out_shape[2]} (a bug)")
    if filters is None:  # pooling
        return size
    bias = bool(getattr(layer, "use_bias", True))
    params = arith.conv_params(f, d1, filters, bias)
    if params != layer.count_params():
        raise ZooError(f"{layer.name}: the formula gives {params} params but Keras built {layer.count_params()}")
    count = f"params = ({f}·{f}·{d1}{' + 1' if bias else ''})·{filters} = {params:,}"
    return f"{size};  {count}"


def summarize(model: keras.Model) -> list[Row]:
    """One row per layer; conv and pooling rows carry their formulas (raises if a formula disagrees with Keras)."""
    rows = []
    for layer in model.layers:
        kind = layer.__class__.__name__
        if kind == "InputLayer":
            rows.append(Row(layer.name, kind, tuple(layer.output.shape), 0))
            continue
        out_shape = tuple(layer.output.shape)
        formula = ""
        if hasattr(layer, "kernel_size") or hasattr(layer, "pool_size"):  # pooling windows: the same formula
            formula = _window_formula(layer, tuple(layer.input.shape), out_shape)
        macs = multiply_adds(layer, tuple(layer.input.shape), out_shape)
        rows.append(Row(layer.name, kind, out_shape, layer.count_params(), formula, macs))
    return rows


def render(model: keras.Model) -> str:
    rows = summarize(model)
    lines = [f"{'layer':<14} {'type':<20} {'output shape':<14} {'params':>11} {'mult-adds':>13}  arithmetic"]
    for r in rows:
        shape = "x".join(str(d) for d in r.output_shape[1:])
        macs = f"{r.macs:,}" if r.macs else ""
        lines.append(f"{r.name:<14} {r.kind:<20} {shape:<14} {r.params:>11,} {macs:>13}  {r.formula}")
    lines.append(
        f"total parameters: {model.count_params():,}; multiply-adds per image: "
        f"{sum(r.macs for r in rows):,} (training costs about 3x that per image: forward and backward)"
    )
    return "\n".join(lines)


def summary_of(
    name: str,
    dataset: str | None = None,
    input_shape: str | tuple[int, int, int] | None = None,
    num_classes: int | None = None,
) -> str:
    """:func:`render` of model ``name`` built for ``dataset``'s images and classes, or for ``input_shape``
    (``(32, 32, 3)`` or ``"32,32,3"``); ``num_classes`` overrides either."""
    from zoo import models  # builds with Keras: imported here so that `zoo summary --help` stays light

    if isinstance(input_shape, str):
        try:
            input_shape = tuple(int(v) for v in input_shape.split(","))
        except ValueError:
            raise UsageError(f"`input_shape` must be H,W,C integers like 32,32,3, got {input_shape!r}") from None
    elif input_shape is None and dataset is not None:
        info = data.get_info(dataset)
        input_shape, num_classes = info.input_shape, info.num_classes if num_classes is None else num_classes
    return render(models.create(name, input_shape=input_shape, num_classes=num_classes))
