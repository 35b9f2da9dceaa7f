"""The builders, one family a module; importing this registers them all (and starts TensorFlow, quietly). Models
are built through the registry (``models.create``) or, by name or tag with pretrained weights, :mod:`zoo.factory`.

>>> from zoo import models
>>> models.create("lenet5", input_shape=(32, 32, 3), num_classes=10)   # a fresh, untrained model
"""

from __future__ import annotations

from zoo.quiet import import_tensorflow

import_tensorflow()  # the builders import Keras: start TensorFlow without its C++ chatter first

from zoo.models import alexnet, cifar_cnn, lenet, mlp  # noqa: E402,F401  (each registers its builder)
from zoo.registry import PREPROCESSING, ModelConfig, check_fits, create, get_config, list_models  # noqa: E402,F401
