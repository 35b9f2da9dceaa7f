"""The GPU path: mixed precision and XLA. Runs on CPU (slowly, on tiny data) and, marked gpu, on a GPU.

On a machine with a GPU: ZOO_TEST_GPU=1 python -m pytest -m gpu tests/test_gpu_path.py
"""

import numpy as np
import pytest

from zoo import artifacts
from zoo.training import train


def _train(tmp_path, device, **kwargs):
    return train(
        "lenet5",
        "mnist",
        epochs=2,
        batch_size=32,
        learning_rate=3e-3,
        output=tmp_path / "m",
        device=device,
        verbose=0,
        log=lambda *a: None,
        **kwargs,
    )


def _check(result, mixed_precision, jit):
    import keras

    assert keras.mixed_precision.global_policy().name == "float32", "train() leaves the global policy as it was"
    assert result.card.runtime["mixed_precision"] is mixed_precision and result.card.runtime["jit_compile"] is jit
    assert result.card.metrics["test_accuracy"] > 0.3  # learned something (chance is 0.1)
    model, card = artifacts.load(result.model_dir)
    probs = model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    assert probs.dtype == np.float32 and np.allclose(probs.sum(1), 1, atol=1e-3)
    if mixed_precision:
        assert result.model.get_layer("c1").compute_dtype == "float16"
        assert result.model.get_layer("predictions").compute_dtype == "float32"  # float32 softmax


def test_mixed_precision_trains_with_a_float32_softmax_on_cpu(tiny_data, tmp_path):
    _check(_train(tmp_path, "cpu", mixed_precision=True), True, False)


def test_jit_compiles_the_training_step_on_cpu(tiny_data, tmp_path):
    result = _train(tmp_path, "cpu", jit=True)
    assert result.model.jit_compile is True, "Keras turns XLA off under op determinism; train() must not ask for both"
    _check(result, False, True)


@pytest.mark.gpu
@pytest.mark.parametrize(("mixed_precision", "jit"), [(True, False), (True, True), (False, True)])
def test_gpu_training_paths(tiny_data, tmp_path, mixed_precision, jit):
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        pytest.skip("no GPU visible (set ZOO_TEST_GPU=1 on a machine with one)")
    _check(_train(tmp_path, "gpu", mixed_precision=mixed_precision, jit=jit), mixed_precision, jit)
