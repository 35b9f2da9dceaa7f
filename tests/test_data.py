import numpy as np
import pytest

from zoo import data
from zoo.errors import DataNotFoundError, UnknownNameError


def test_load_splits_and_batches_pixels_over_255(tiny_data):
    splits = data.load("mnist", batch_size=32, seed=0)
    assert (splits.num_train, splits.num_val, splits.num_test) == (360, 40, 120)
    images, labels = next(iter(splits.train))
    assert images.shape == (32, 28, 28, 1) and images.dtype.name == "float32"
    assert 0.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1.0  # the loaders do the /255
    assert float(images.numpy().max()) > 0.5
    assert labels.dtype.name == "int64"
    assert splits.info.input_shape == (28, 28, 1) and splits.info.num_classes == 10
    assert len(splits.info.class_names) == 10


def test_validation_is_the_deterministic_tail_of_train(tiny_data):
    x, y = data.load_arrays("cifar10", "train")
    splits = data.load("cifar10", batch_size=1000)
    val_x, val_y = next(iter(splits.val))
    np.testing.assert_array_equal(val_y.numpy(), y[-40:])
    np.testing.assert_array_equal(val_x.numpy(), data.normalize(x[-40:]))  # pixels / 255, as every model takes


def test_normalize_is_the_one_uint8_to_unit_step_for_arrays_and_tensors():
    import tensorflow as tf

    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    array, tensor = data.normalize(pixels), data.normalize(tf.constant(pixels))
    assert isinstance(array, np.ndarray) and array.dtype == np.float32 and array.min() == 0 and array.max() == 1
    np.testing.assert_array_equal(array, tensor.numpy())
    np.testing.assert_allclose(array.ravel(), np.arange(256) / 255, rtol=1e-6)


def test_every_pipeline_yields_unit_pixels_augmented_before_the_scaling(tiny_data):
    """Augmentations work on 0-255 pixels (bilinear and reflected, so the scaling after them commutes) and the
    stream zoo train uses yields float32 in [0, 1] too."""
    x, y = data.load_arrays("mnist", "train")
    stream = data.make_epoch_stream(x, y, 64, seed=0, first_epoch=0, epochs=1, augment=("translate", "distort"))
    images, _ = next(iter(stream))
    assert images.dtype.name == "float32" and 0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1
    plain, _ = next(iter(data.make_epoch_stream(x, y, 64, seed=0, first_epoch=0, epochs=1)))
    sums = {float(s) for s in np.asarray(x, np.float64).reshape(len(x), -1).sum(1) / 255}
    assert all(min(abs(float(s) - t) for t in sums) < 1e-2 for s in plain.numpy().reshape(64, -1).sum(1))


def test_train_is_reshuffled_each_epoch_but_reproducible(tiny_data):
    def order(seed):
        ds = data.load("mnist", batch_size=400, seed=seed).train
        return [next(iter(ds))[1].numpy() for _ in range(2)]

    first, second = order(7)
    assert not np.array_equal(first, second)
    again = order(7)
    np.testing.assert_array_equal(first, again[0])


def test_an_unknown_dataset_suggests_the_close_names_tfds_knows():
    with pytest.raises(KeyError, match="tfds knows no dataset 'imagenet'; did you mean imagenet2012"):
        data.load("imagenet")
    with pytest.raises(UnknownNameError, match="unknown dataset 'imagenet'; known: cifar10, fashion_mnist, mnist"):
        data.get_info("imagenet")  # the facts zoo keeps without tfds: the three datasets


def test_no_internet_gives_one_line_telling_how_to_prepare(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    def offline(self, *args, **kwargs):
        raise ConnectionError("Failed to resolve 'storage.googleapis.com'\nmore detail")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(DataNotFoundError) as err:
        data.load("mnist", data_dir=str(tmp_path))
    message = str(err.value)
    assert "\n" not in message
    assert "not prepared" in message and "zoo data import mnist" in message and str(tmp_path) in message


def test_epoch_stream_replays_shuffles_and_augmentations_from_any_epoch():
    from conftest import synthetic_split

    images, labels = synthetic_split("mnist", "train")
    kwargs = {"seed": 7, "epochs": 3, "augment": ("translate", "distort", "flip")}
    full = [x.numpy() for x, _ in data.make_epoch_stream(images, labels, 100, first_epoch=0, **kwargs)]
    resumed = [x.numpy() for x, _ in data.make_epoch_stream(images, labels, 100, first_epoch=2, **kwargs)]
    assert len(full) == 12 and len(resumed) == 4
    assert all(np.array_equal(a, b) for a, b in zip(full[8:], resumed, strict=True))
    assert not np.array_equal(full[0], full[4]), "each epoch draws new orders and augmentations"
    plain = next(iter(data.make_epoch_stream(images, labels, 100, seed=7, first_epoch=0, epochs=1)))[0].numpy()
    assert not np.array_equal(plain, full[0]) and 0.0 <= full[0].min() and full[0].max() <= 255.0  # raw pixels
