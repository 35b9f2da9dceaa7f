"""The hand formulas of convolution arithmetic, as taught: W2 = (W1 − F + 2P)/S + 1, params = (F·F·D1 + 1)·K."""

from __future__ import annotations

from fractions import Fraction

from zoo.errors import UsageError


def _fmt(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{float(x):.2f}"


def conv_output_size(w: int, f: int, s: int = 1, p: int = 0) -> int:
    """Output width of a convolution or pooling window: (W − F + 2P)/S + 1, which must be a whole number ≥ 1."""
    if min(w, f, s) < 1 or p < 0:
        raise UsageError(f"sizes must be positive and padding non-negative, got W={w}, F={f}, S={s}, P={p}")
    out = Fraction(w - f + 2 * p, s) + 1
    if out.denominator != 1:
        raise UsageError(
            f"({w} − {f} + 2·{p})/{s} + 1 = {_fmt(out)} is not a whole number: "
            f"a {f}-wide window with stride {s} and padding {p} does not tile a {w}-wide input"
        )
    if out < 1:
        raise UsageError(f"({w} − {f} + 2·{p})/{s} + 1 = {_fmt(out)}: the {f}-wide window is larger than the input")
    return int(out)


def same_padding(f: int) -> int:
    """Padding that keeps the size at stride 1: P = (F − 1)/2, whole only for odd F."""
    if f < 1 or f % 2 == 0:
        raise UsageError(f"(F − 1)/2 = ({f} − 1)/2 is not a whole number: 'same' padding needs an odd kernel size")
    return (f - 1) // 2


def conv_params(f: int, d1: int, k: int, bias: bool = True) -> int:
    """Parameters of a conv layer with K filters of F×F×D1: (F·F·D1 + 1)·K (without the +1 when there is no bias)."""
    return (f * f * d1 + int(bias)) * k
