"""TensorFlow started without its start-up chatter, on every zoo path (the CLI and the Python API).

TensorFlow prints its oneDNN, CUDA-probe and CPU-feature lines from C++ before any log setting applies, so stderr
is muted at the file-descriptor level while it is imported. Python errors still propagate. ``ZOO_VERBOSE_TF=1``
brings the lines back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def muted_stderr() -> Iterator[None]:
    """Mute file descriptor 2 (C++ libraries write there directly) unless ZOO_VERBOSE_TF is set; Python errors
    still propagate, with their message."""
    if os.environ.get("ZOO_VERBOSE_TF"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow() -> None:
    """Import TensorFlow (once) with its C++ start-up lines muted."""
    if "tensorflow" in sys.modules:
        return
    with muted_stderr():
        import tensorflow  # noqa: F401
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)  # tfds' notes on folder layout are not for users
        logging.getLogger("urllib3").setLevel(logging.ERROR)  # download retries end in one zoo error line
