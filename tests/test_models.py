import numpy as np
import pytest

from zoo import models, tags
from zoo.errors import UnknownNameError, UsageError

SHAPES = [(28, 28, 1), (32, 32, 3)]


def test_registry_lists_the_classic_models():
    assert models.list_models() == ["alexnet", "cifar_cnn", "cifar_cnn_small", "lenet5", "mlp"]


@pytest.mark.parametrize("name", models.list_models())
def test_each_configs_parameter_count_is_what_its_builder_builds(name):
    """``zoo list`` prints the registered count without building; it must be the built model's."""
    config = models.get_config(name)
    assert models.create(name).count_params() == config.params
    default = tags.default_tag(name)
    assert default is None or default.dataset == config.default_dataset  # a model's first tag is on its dataset


def test_mlp_has_exactly_952410_parameters_on_mnist():
    model = models.create("mlp", input_shape=(28, 28, 1), num_classes=10)
    assert model.count_params() == 952_410 == 628_000 + 320_400 + 4_010
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [800, 400, 10]


def test_lenet5_has_61706_parameters_on_mnist():
    model = models.create("lenet5", input_shape=(28, 28, 1), num_classes=10)
    assert model.count_params() == 61_706
    conv = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert [(c.filters, c.kernel_size) for c in conv] == [(6, (5, 5)), (16, (5, 5))]


def test_cifar_cnn_has_batchnorm_and_dropout():
    kinds = {layer.__class__.__name__ for layer in models.create("cifar_cnn").layers}
    assert {"Conv2D", "BatchNormalization", "Dropout", "MaxPooling2D"} <= kinds


@pytest.mark.parametrize("name", models.list_models())
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("classes", [10, 3])
def test_every_model_builds_for_every_dataset_shape_and_class_count(name, shape, classes):
    side = max(shape[0], models.get_config(name).min_input_size)  # AlexNet needs 63x63 at least
    shape = (side, side, shape[2])
    model = models.create(name, input_shape=shape, num_classes=classes)
    probs = model(np.random.default_rng(0).random((2, *shape), dtype=np.float32)).numpy()
    assert probs.shape == (2, classes)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_cifar_cnn_small_is_cifar_cnn_at_half_width():
    small, full = models.create("cifar_cnn_small"), models.create("cifar_cnn")
    assert small.name == "cifar_cnn_small"
    assert [layer.name for layer in small.layers] == [layer.name for layer in full.layers]
    widths = [small.get_layer(f"block{i}_conv2").filters for i in (1, 2, 3)]
    assert widths == [full.get_layer(f"block{i}_conv2").filters // 2 for i in (1, 2, 3)] == [32, 128, 128]


def test_lenet5_classic_variant_tanh_average_pooling():
    import keras

    model = models.create("lenet5", activation="tanh", pooling="average")
    default = models.create("lenet5")
    assert model.count_params() == default.count_params() == 61_706
    for name in ("s2", "s4"):
        assert isinstance(model.get_layer(name), keras.layers.AveragePooling2D), name
        assert isinstance(default.get_layer(name), keras.layers.MaxPooling2D), name
    hidden = [layer for layer in model.layers if hasattr(layer, "activation") and layer.name != "predictions"]
    assert hidden and all(layer.activation is keras.activations.tanh for layer in hidden), [h.name for h in hidden]
    assert all(
        layer.activation is keras.activations.relu for layer in default.layers if layer.name in {h.name for h in hidden}
    )


def test_unknown_model_lists_the_known_ones():
    known = "alexnet, cifar_cnn, cifar_cnn_small, lenet5, mlp"
    with pytest.raises(UnknownNameError, match=f"unknown model 'resnet9'; known: {known}"):
        models.create("resnet9")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_shape": (8, 8, 1)}, "at least 12x12"),
        ({"input_shape": (28, 28)}, "H,W,C"),
        ({"num_classes": 1}, "at least 2"),
    ],
)
def test_bad_shapes_and_class_counts_are_clear_errors(kwargs, message):
    with pytest.raises(UsageError, match=message):
        models.create("lenet5", **kwargs)


def test_a_few_training_steps_lower_the_loss():
    import keras
    from conftest import synthetic_images

    keras.utils.set_random_seed(0)
    labels = np.arange(256) % 10
    images = synthetic_images((28, 28, 1), labels, seed=0)  # raw uint8 pixels
    model = models.create("lenet5")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    before = model.evaluate(images, labels, verbose=0)
    model.fit(images, labels, batch_size=32, epochs=3, verbose=0)
    after = model.evaluate(images, labels, verbose=0)
    assert after < 0.7 * before, (before, after)
