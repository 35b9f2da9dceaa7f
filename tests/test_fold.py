"""Folding affine layers into convolutions for int8 export: the same function, fewer layers to quantize."""

import keras
import numpy as np
import pytest

from zoo import models
from zoo.export.fold import fold
from zoo.export.tflite import taking_raw_pixels


def _with_trained_statistics(model: keras.Model, seed: int = 0) -> keras.Model:
    """Give every BatchNorm moving statistics and biases away from their initial values, as training would."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.5, n).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.2, 3.0, n).astype(np.float32))
            layer.beta.assign(rng.normal(0, 0.3, n).astype(np.float32))
    return model


def test_folded_cifar_cnn_computes_the_same_probabilities_with_no_affine_layers_left():
    keras.utils.set_random_seed(0)
    model = _with_trained_statistics(models.create("cifar_cnn", input_shape=(16, 16, 3), num_classes=10))
    model.get_layer("whiten").bias.assign(np.linspace(-0.5, 0.5, 24).astype(np.float32))
    folded = fold(model)
    kinds = {type(layer).__name__ for layer in folded.layers}
    assert not kinds & {"BatchNormalization", "Rescaling", "Dropout"}, kinds
    assert len([layer for layer in folded.layers if isinstance(layer, keras.layers.Conv2D)]) == 7
    images = np.random.default_rng(1).integers(0, 256, (8, 16, 16, 3)).astype(np.float32) / 255
    expected, got = model.predict(images, verbose=0), folded.predict(images, verbose=0)
    assert np.abs(got - expected).max() < 1e-5
    assert (got.argmax(1) == expected.argmax(1)).all()


def _same(model: keras.Model, folded: keras.Model, shape) -> None:
    x = np.random.default_rng(2).normal(size=(4, *shape)).astype(np.float32)
    assert np.abs(folded.predict(x, verbose=0) - model.predict(x, verbose=0)).max() < 1e-5


def test_fold_keeps_what_it_cannot_fold_exactly():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(2, 3, use_bias=False)(inputs)
    x = keras.layers.MaxPooling2D()(x)
    bn = keras.layers.BatchNormalization()
    model = keras.Model(inputs, bn(x))
    bn.gamma.assign(np.array([1.0, -1.0], np.float32))  # max-pool does not commute with a negative scale
    folded = fold(model)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    _same(model, folded, (8, 8, 1))

    offset_into_padding = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Rescaling(2.0, 1.0), keras.layers.Conv2D(1, 3, padding="same")]
    )
    folded = fold(offset_into_padding)
    assert any(isinstance(layer, keras.layers.Rescaling) for layer in folded.layers)
    _same(offset_into_padding, folded, (4, 4, 1))

    # the exports' raw-pixel models: their /255 stays before MLP's Flatten, folds into LeNet's 'same' conv with ReLU
    mlp = taking_raw_pixels(models.create("mlp", input_shape=(28, 28, 1), num_classes=10))
    _same(mlp, fold(mlp), (28, 28, 1))
    lenet = taking_raw_pixels(models.create("lenet5", input_shape=(28, 28, 1), num_classes=10))
    assert lenet.layers[1].name == "rescale" and len(lenet.layers) == 10, "one chain: the /255, then LeNet's layers"
    folded = fold(lenet)
    assert not any(isinstance(layer, keras.layers.Rescaling) for layer in folded.layers)
    _same(lenet, folded, (28, 28, 1))

    activated = keras.Sequential(  # an affine map after an activation is not the activation's input: kept
        [keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, activation="relu"), keras.layers.BatchNormalization()]
    )
    _with_trained_statistics(activated)
    folded = fold(activated)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    _same(activated, folded, (6, 6, 1))
    scaled = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, activation="relu"), keras.layers.Rescaling(-2.0)]
    )
    _same(scaled, fold(scaled), (3,))

    two = keras.Input((3,))
    branched = keras.Model(two, keras.layers.Add()([keras.layers.Dense(2)(two), keras.layers.Dense(2)(two)]))
    with pytest.raises(ValueError, match="not a chain"):
        fold(branched)
