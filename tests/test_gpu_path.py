"""Training precisions and XLA: mixed_float16 (the GPU path), mixed_bfloat16 (CPUs with native bfloat16), XLA.
Each runs on CPU (slowly, on tiny data) and, marked gpu, on a GPU.

On a machine with a GPU: ZOO_TEST_GPU=1 python -m pytest -m gpu tests/test_gpu_path.py
"""

import numpy as np
import pytest

from zoo import artifacts, device
from zoo.errors import UsageError
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


def _check(result, precision, jit):
    import keras

    assert keras.mixed_precision.global_policy().name == "float32", "train() leaves the global policy as it was"
    assert result.card.runtime["precision"] == precision and result.card.runtime["jit_compile"] is jit
    assert result.card.metrics["test_accuracy"] > 0.3  # learned something (chance is 0.1)
    model, card = artifacts.load(result.model_dir)
    # Whatever the training computed in, the saved model (and so every export) computes in float32.
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    assert {layer.dtype_policy.name for layer in result.model.layers} == {"float32"}, "scored as saved"
    probs = model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    assert probs.dtype == np.float32 and np.allclose(probs.sum(1), 1, atol=1e-3)
    x = np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), result.model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_trains_and_saves_a_float32_model_on_cpu(tiny_data, tmp_path, precision):
    _check(_train(tmp_path, "cpu", precision=precision), precision, False)


def test_a_mixed_precision_run_records_the_xla_its_training_compiled(tiny_data, tmp_path):
    _check(_train(tmp_path, "cpu", precision="mixed_bfloat16", jit=True), "mixed_bfloat16", True)


def test_jit_compiles_the_training_step_on_cpu(tiny_data, tmp_path):
    result = _train(tmp_path, "cpu", jit=True)
    assert result.model.jit_compile is True, "Keras turns XLA off under op determinism; train() must not ask for both"
    _check(result, "float32", True)


def test_an_unknown_precision_fails_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="precision must be one of auto, float32, mixed_bfloat16, mixed_float16"):
        _train(tmp_path, "cpu", precision="float16")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("isa", "device_name", "cpu_bfloat16", "chosen"),
    [
        ("AVX-512 with BF16", "CPU: AMD EPYC (2 cores)", True, "mixed_bfloat16"),
        ("AVX-512 with BF16", "CPU: AMD EPYC (2 cores)", False, "float32"),  # the recipe was not measured with it
        ("AVX-512", "CPU: Intel Xeon (4 cores)", True, "float32"),  # no native bfloat16: emulated, slower
        ("AVX2, no AVX-512", "CPU: AMD EPYC (2 cores)", True, "float32"),
        ("AVX-512 with BF16", "GPU: GPU:0 (NVIDIA H200)", True, "float32"),  # mixed_float16 only when asked for
    ],
)
def test_auto_precision_is_bfloat16_only_on_cpus_with_it_and_recipes_measured_with_it(
    monkeypatch, isa, device_name, cpu_bfloat16, chosen
):
    monkeypatch.setattr(device, "vector_isa", lambda: isa)
    assert device.choose_precision("auto", device_name, cpu_bfloat16) == chosen
    assert device.choose_precision("float32", device_name, cpu_bfloat16) == "float32"  # a named one is kept
    assert device.choose_precision("mixed_float16", device_name, cpu_bfloat16) == "mixed_float16"
    with pytest.raises(UsageError, match="unknown precision 'half'"):
        device.choose_precision("half", device_name, cpu_bfloat16)


@pytest.mark.gpu
@pytest.mark.parametrize(("precision", "jit"), [("mixed_float16", False), ("mixed_float16", True), ("float32", True)])
def test_gpu_training_paths(tiny_data, tmp_path, precision, jit):
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        pytest.skip("no GPU visible (set ZOO_TEST_GPU=1 on a machine with one)")
    _check(_train(tmp_path, "gpu", precision=precision, jit=jit), precision, jit)


@pytest.mark.parametrize(("isa", "chosen"), [("AVX-512 with BF16", "mixed_bfloat16"), ("AVX2, no AVX-512", "float32")])
def test_train_picks_bfloat16_by_itself_only_for_a_recipe_measured_with_it_on_a_cpu_with_it(
    tiny_data, tmp_path, monkeypatch, isa, chosen
):
    from zoo.tags import get_recipe

    monkeypatch.setattr(device, "vector_isa", lambda: isa)
    measured = get_recipe("lenet5", "mnist").override(cpu_bfloat16=True)
    assert _train(tmp_path / "a", "cpu", recipe=measured).card.runtime["precision"] == chosen
    unmeasured = _train(tmp_path / "b", "cpu")  # lenet5's own recipe: float32 on every CPU
    assert unmeasured.card.runtime["precision"] == "float32" and unmeasured.card.recipe["cpu_bfloat16"] is False


def test_an_interrupted_mixed_precision_run_resumes_only_in_its_precision(tiny_data, tmp_path, monkeypatch):
    from zoo import training

    real_fit = training.fit

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "fit", killed)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path, "cpu", precision="mixed_bfloat16")
    monkeypatch.setattr(training, "fit", real_fit)
    with pytest.raises(ValueError, match="holds an unfinished run with other settings"):
        _train(tmp_path, "cpu", precision="float32")
    _check(_train(tmp_path, "cpu", precision="mixed_bfloat16"), "mixed_bfloat16", False)
