"""Device choice (cpu | gpu | auto) and the facts about the machine that results are recorded with."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys

from zoo.errors import UsageError

DEVICES = ("auto", "cpu", "gpu")
# Compute precisions of a training run (Keras dtype policies); "auto" picks one with choose_precision().
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


def use_device(device: str = "auto") -> str:
    """Make TensorFlow run on ``device`` and return a one-line description of what it runs on.

    ``cpu`` hides every GPU (before TensorFlow starts, where it has not yet); ``gpu`` fails clearly when
    there is none; ``auto`` takes a GPU when there is one.
    """
    if device not in DEVICES:
        raise UsageError(f"unknown device {device!r}; known: {', '.join(DEVICES)}")
    if device == "cpu" and "tensorflow" not in sys.modules:
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if device == "cpu" and gpus:
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError as err:  # TensorFlow's runtime already started
            raise UsageError(f"cannot hide the GPUs any more in this process ({err})") from None
        gpus = []
    if device == "gpu" and not gpus:
        raise UsageError(
            "`device='gpu'`: no GPU is visible to TensorFlow (check the CUDA driver, or use `device='cpu'`)"
        )
    if gpus:
        return "GPU: " + ", ".join(gpu_names())
    return f"CPU: {cpu_name()} ({os.cpu_count()} cores)"


def gpu_names() -> list[str]:
    """Each visible GPU as 'GPU:0 (its model name)'."""
    import tensorflow as tf

    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        names.append(f"{gpu.name.replace('/physical_device:', '')} ({details.get('device_name', 'GPU')})")
    return names


def cpu_name() -> str:
    """The processor's model name, from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def vector_isa() -> str:
    """The CPU's widest vector instructions (from /proc/cpuinfo), which decide how fast TensorFlow's CPU kernels
    are: "AVX-512 with BF16" (native bfloat16), "AVX-512", "AVX2, no AVX-512", or "unknown"."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), set())
    except OSError:
        flags = set()
    return isa_of(flags)


def isa_of(flags: set[str] | list[str]) -> str:
    """:func:`vector_isa` of a CPU's flags (as /proc/cpuinfo names them)."""
    if "avx512_bf16" in flags or "amx_bf16" in flags:
        return "AVX-512 with BF16"
    if "avx512f" in flags:
        return "AVX-512"
    return "AVX2, no AVX-512" if "avx2" in flags else "unknown"


def is_cpu(device_name: str) -> bool:
    """Whether ``device_name`` (from :func:`use_device`) is a CPU."""
    return device_name.startswith("CPU")


def choose_precision(precision: str, device_name: str, cpu_bfloat16: bool) -> str:
    """The Keras dtype policy a run trains in. ``"auto"`` is ``mixed_bfloat16`` on a CPU with native bfloat16
    (AVX512_BF16 or AMX) when the recipe says so (``cpu_bfloat16``: set where it was measured faster at equal
    accuracy), float32 everywhere else (GPUs included: ``mixed_float16`` is asked for by name)."""
    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    native = is_cpu(device_name) and vector_isa() == "AVX-512 with BF16"
    return "mixed_bfloat16" if cpu_bfloat16 and native else "float32"


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its oneDNN CPU kernels in this process (zoo turns them on unless the user set
    ``TF_ENABLE_ONEDNN_OPTS``; see ``zoo/__init__.py``)."""
    from tensorflow.python.util import _pywrap_util_port  # the flag TensorFlow itself reads (IsMklEnabled)

    return bool(_pywrap_util_port.IsMklEnabled())


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on."""
    import keras
    import numpy
    import tensorflow as tf
    import tensorflow_datasets as tfds

    try:
        zoo_version = importlib.metadata.version("zoo")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that is not installed
        zoo_version = "unknown"
    return {
        "zoo": zoo_version,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tensorflow_datasets": tfds.__version__,
        "numpy": numpy.__version__,
    }
