"""zoo: the classic convolutional networks for Keras/TensorFlow, trained, scored and exported.

The public API (each import is lazy, so ``import zoo`` does not start TensorFlow):

    zoo.list_models()                       registered model names
    zoo.list_pretrained()                   pretrained tags: "lenet5.mnist", "cifar_cnn.cifar10", ...
    zoo.create_model("lenet5", pretrained=True)      → keras.Model with the trained weights (pixels / 255 in)
    zoo.create_model("lenet5", input_shape=(32, 32, 3), num_classes=10)   → a fresh, untrained model
    zoo.train(model, dataset, epochs=...)   → TrainResult (model_dir, card, history, model)
    zoo.evaluate(model_dir_or_tag)          → metrics dict
    zoo.load(model_dir_or_tag)              → (keras.Model, card)
    zoo.predict(model_dir_or_tag, images)   → top-k per image (file paths, PIL images or arrays)
    zoo.data.normalize(uint8_images)        → float32 in [0, 1]: what every model takes (model.predict(...))
"""

from __future__ import annotations

import importlib
import os
import sys as _sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and IDEs: the names __getattr__ imports on first use
    from zoo.evaluation import evaluate
    from zoo.factory import create_model
    from zoo.models import list_models
    from zoo.prediction import predict
    from zoo.pretrained import load
    from zoo.tags import list_tags as list_pretrained
    from zoo.training import train

# Set before TensorFlow first starts (a value the user set wins; the CLI and every library path import zoo first):
# - oneDNN kernels: TensorFlow turns them on by itself only on CPUs with AVX-512 VNNI/BF16, AVX-VNNI or AMX
#   (tensorflow/core/util/port.cc); elsewhere (most AVX2 laptops) it runs Eigen kernels that train LeNet-5 about
#   3x slower. ``zoo.device.onednn_enabled()`` tells what TensorFlow actually runs with.
# - TensorFlow's C++ chatter (CUDA probes, thread-pool notes) is muted; ZOO_VERBOSE_TF=1 brings it back.
ONEDNN_SET_BY_ZOO = "tensorflow" not in _sys.modules and "TF_ENABLE_ONEDNN_OPTS" not in os.environ
if ONEDNN_SET_BY_ZOO:
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
if not os.environ.get("ZOO_VERBOSE_TF"):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"

from zoo.quiet import import_tensorflow  # noqa: E402  (after the environment above is set)

# The public API, each name imported from the module that defines it on first use (PEP 562), so that
# ``import zoo`` stays light and each function has one signature, in one place.
_API = {
    "list_models": "zoo.models",  # registered model names
    "list_pretrained": ("zoo.tags", "list_tags"),  # pretrained tags, with no TensorFlow
    "create_model": "zoo.factory",
    "train": "zoo.training",
    "evaluate": "zoo.evaluation",
    "load": "zoo.pretrained",
    "predict": "zoo.prediction",
}
__all__ = ["list_models", "list_pretrained", "create_model", "train", "evaluate", "load", "predict", "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'zoo' has no attribute {name!r}")
    module, attribute = _API[name] if isinstance(_API[name], tuple) else (_API[name], name)
    if module != "zoo.tags":
        import_tensorflow()  # before Keras, so that TensorFlow starts without its C++ chatter
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
