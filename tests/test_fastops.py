"""zoo.fastops: BatchNorm's fused kernel and GELU's one-pass derivative give Keras' own results, and the model
stays stock Keras (config, saved file)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import fastops, models

X = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3)).astype(np.float32) / 255  # as the loaders give
Y = np.arange(16) % 10


def small(fast: bool, policy: str = "float32"):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.set_random_seed(0)
        model = models.create("cifar_cnn_small")
    finally:
        keras.mixed_precision.set_global_policy(previous)
    switched = fastops.use_fast_ops(model) if fast else 0
    return model, switched


def loss_and_grads(model):
    with tf.GradientTape() as tape:
        probs = model(X, training=True)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(Y, probs))
    return probs.numpy(), tape.gradient(loss, model.trainable_variables)


def test_fast_ops_train_exactly_as_keras_layers_do():
    stock, _ = small(False)
    fast, switched = small(True)
    assert switched == 13 and fastops.in_use(fast) and not fastops.in_use(stock)  # 7 BatchNorms, 6 GELUs
    p_stock, g_stock = loss_and_grads(stock)
    p_fast, g_fast = loss_and_grads(fast)
    np.testing.assert_allclose(p_fast, p_stock, atol=1e-6)
    for a, b, var in zip(g_fast, g_stock, stock.trainable_variables, strict=True):
        assert (a is None) == (b is None), var.path
        if a is not None:
            # float32 round-off here is up to 2e-5 of the largest gradient, depending on the CPU's kernels; a
            # slip in a derivative (GELU's tanh approximation instead of the exact one) is 6e-3
            scale = float(tf.reduce_max(tf.abs(b)))
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-4 * scale, err_msg=var.path)
    # the moving statistics moved alike (Keras averages the biased batch variance; the kernel returns the unbiased)
    moved = [v for v in stock.non_trainable_variables if "moving" in v.path]
    assert moved and any(not np.allclose(v.numpy(), 0.0) and not np.allclose(v.numpy(), 1.0) for v in moved)
    for a, b in zip(fast.non_trainable_variables, stock.non_trainable_variables, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=b.path)
    np.testing.assert_allclose(fast(X).numpy(), stock(X).numpy(), atol=1e-6)  # inference: the stock call


def test_a_model_with_fast_ops_saves_as_stock_keras(tmp_path):
    stock, _ = small(False)
    fast, _ = small(True)
    assert json.dumps(fast.get_config(), sort_keys=True) == json.dumps(stock.get_config(), sort_keys=True)
    fast.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)  # no custom objects needed
    assert not fastops.in_use(loaded)
    assert {type(layer).__module__.split(".")[0] for layer in loaded.layers} == {"keras"}


def test_a_frozen_batch_norm_keeps_its_statistics():
    fast, _ = small(True)
    layer = fast.get_layer("block1_bn1")
    layer.trainable = False
    before = layer.moving_mean.numpy().copy()
    fast(X, training=True)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), before)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_layers_keep_keras_own(policy):
    model, switched = small(True, policy)
    assert switched == 0 and not fastops.in_use(model)
