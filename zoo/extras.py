"""The optional parts of zoo and the extra that installs each: the core (training, evaluation, the Keras and
SavedModel exports) needs only the design card's packages; ONNX and LiteRT exports and ``zoo serve`` need more."""

from __future__ import annotations

import importlib.util

from zoo.errors import UsageError

# extra → the modules it installs (import names)
EXTRAS = {
    "export": ("onnx", "tf2onnx", "onnxruntime", "ai_edge_litert"),
    "serve": ("starlette", "uvicorn", "python_multipart"),
}


class MissingExtraError(UsageError):
    """A part of zoo whose extra is not installed; the message gives the ``pip install`` that adds it."""


def missing(modules: tuple[str, ...] | list[str]) -> list[str]:
    """The modules of ``modules`` that are not installed."""
    return [m for m in modules if not _installed(m)]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # an import hook that refuses it, a broken install
        return False


def require(extra: str, what: str, modules: tuple[str, ...] | list[str] | None = None) -> None:
    """Fail in one line, before any work, where ``modules`` (default: all of ``extra``'s) are not installed."""
    absent = missing(EXTRAS[extra] if modules is None else modules)
    if absent:
        raise MissingExtraError(
            f"{what} needs the {extra} extra ({', '.join(absent)} missing): pip install 'zoo[{extra}]'"
        )
