"""The training features behind the CIFAR-10 recipe, each on tiny data: label smoothing, weight averaging,
the warm-up/linear schedule, BatchNorm-bias learning rate, alternating flip, pad-and-crop, TTA, whitening."""

import keras
import numpy as np
import pytest

from zoo import data, models
from zoo.evaluation import TTA_VIEWS, predict_probs
from zoo.optim import WarmupLinear, make_loss, make_optimizer
from zoo.recipes import Recipe
from zoo.training import _bias_schedule


def tiny_model(num_classes=3):
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Conv2D(2, 3, padding="same", use_bias=False, name="conv")(inputs)
    x = keras.layers.BatchNormalization(scale=False, name="bn")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="dense")(x)
    return keras.Model(inputs, outputs)


def test_label_smoothing_targets_the_smoothed_distribution():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], np.float32)
    labels = np.array([0, 2])
    plain = make_loss(Recipe(), 3)
    assert plain == "sparse_categorical_crossentropy"
    smoothed = make_loss(Recipe(label_smoothing=0.3), 3)
    target = np.full((2, 3), 0.3 / 3) + 0.7 * np.eye(3)[labels]
    expected = np.mean(-np.sum(target * np.log(probs), axis=1))
    assert float(smoothed(labels, probs)) == pytest.approx(expected, rel=1e-5)
    unsmoothed = np.mean(-np.log(probs[[0, 1], labels]))
    assert float(smoothed(labels, probs)) > unsmoothed  # confident right answers cost more when smoothed


def test_warmup_linear_schedule_points():
    schedule = WarmupLinear(2.0, total_steps=100, warmup_steps=20, start=0.2, end=0.07)
    values = [float(schedule(s)) for s in (0, 10, 20, 60, 100, 150)]
    assert values == pytest.approx([0.4, 1.2, 2.0, 2.0 * (1 - 0.93 * 0.5), 0.14, 0.14], rel=1e-5)
    lr = make_optimizer(
        Recipe(schedule="linear", warmup=0.2, start_lr=0.2, end_lr=0.07, epochs=10, learning_rate=2.0), 10
    ).learning_rate
    assert float(lr) == pytest.approx(0.4)  # the optimizer's learning rate at step 0


def test_saved_weights_are_the_exponential_moving_average():
    keras.utils.set_random_seed(0)
    model = tiny_model()
    recipe = Recipe(optimizer="sgd", learning_rate=0.5, schedule="constant", ema=0.6, epochs=1)
    model.compile(optimizer=make_optimizer(recipe, 4), loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(16, 4, 4, 1)).astype(np.float32)
    y = np.arange(16) % 3
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append([w.numpy().copy() for w in model.trainable_weights])

    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[Record()])
    average = seen[0]  # Keras' EMA starts at the first step's weights, then w_avg = m * w_avg + (1 - m) * w
    for step in seen[1:]:
        average = [0.6 * a + 0.4 * w for a, w in zip(average, step, strict=True)]
    final = [w.numpy() for w in model.trainable_weights]
    assert all(np.allclose(f, a, atol=1e-6) for f, a in zip(final, average, strict=True))
    assert not all(np.allclose(f, s) for f, s in zip(final, seen[-1], strict=True)), "not just the last weights"


def test_bn_bias_learning_rate_multiplier_scales_only_the_bias_step():
    steps = {}
    for factor in (1.0, 64.0):
        keras.utils.set_random_seed(0)
        model = tiny_model()
        before = {w.path: w.numpy().copy() for w in model.trainable_weights}
        recipe = Recipe(optimizer="sgd", momentum=0.0, learning_rate=0.01, schedule="constant", bn_bias_lr=factor)
        model.compile(optimizer=make_optimizer(recipe, 1, model), loss="sparse_categorical_crossentropy")
        x = np.random.default_rng(1).normal(size=(8, 4, 4, 1)).astype(np.float32)
        model.fit(x, np.arange(8) % 3, batch_size=8, epochs=1, verbose=0)
        steps[factor] = {w.path: w.numpy() - before[w.path] for w in model.trainable_weights}
    for path, step in steps[64.0].items():
        ratio = 64.0 if path == "bn/beta" else 1.0
        assert np.allclose(step, ratio * steps[1.0][path], rtol=1e-4, atol=1e-7), path


def test_lookahead_averages_the_weights_and_the_batchnorm_statistics():
    """Every 2nd step the average moves towards the live values by 1 - 0.95**2 * (step/total)**3 and is copied
    back, the BatchNorm statistics included; the last step leaves the average in the model."""
    keras.utils.set_random_seed(0)
    model = tiny_model()
    bn = model.get_layer("bn")
    recipe = Recipe(optimizer="sgd", momentum=0.0, learning_rate=0.1, schedule="constant", lookahead=2, epochs=1)
    optimizer = make_optimizer(recipe, 5, model)  # 5 steps in all
    weights = list(model.trainable_variables)
    optimizer.build(weights)
    tracked = [*weights, bn.moving_mean, bn.moving_variance]
    live = [v.numpy().copy() for v in tracked]
    average = [np.zeros_like(v) for v in live]
    rng = np.random.default_rng(0)
    for step in range(1, 6):
        grads = [rng.normal(size=w.shape).astype(np.float32) for w in weights]
        stats = [rng.uniform(0.5, 2.0, size=v.shape).astype(np.float32) for v in (bn.moving_mean, bn.moving_variance)]
        for var, value in zip((bn.moving_mean, bn.moving_variance), stats, strict=True):
            var.assign(value)  # what a forward pass in training mode would leave there
        optimizer.apply(grads, weights)
        live = [w - 0.1 * g for w, g in zip(live[: len(weights)], grads, strict=True)] + stats
        if step % 2 == 0:
            decay = 0.95**2 * (step / 5) ** 3
            average = [a + (1 - decay) * (v - a) for a, v in zip(average, live, strict=True)]
            live = [a.copy() for a in average]
        if step == 5:
            live = [a.copy() for a in average]  # the last step leaves the average
        for var, expected in zip(tracked, live, strict=True):
            assert np.allclose(var.numpy(), expected, atol=1e-5), (step, var.path)
    assert not np.allclose(bn.moving_mean.numpy(), stats[0]), "the statistics are the averaged ones"


def test_the_whitening_bias_trains_in_its_first_epochs_only():
    """The bias of the layer named "whiten" learns in the first epochs, then neither learns nor decays."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Conv2D(2, 2, name="whiten")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    model.get_layer("whiten").kernel.trainable = False
    recipe = Recipe(optimizer="sgd", learning_rate=0.1, schedule="constant", weight_decay=0.5, epochs=4)
    model.compile(optimizer=make_optimizer(recipe, 2, model), loss="sparse_categorical_crossentropy")
    biases = []

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            biases.append(model.get_layer("whiten").bias.numpy().copy())

    x = np.random.default_rng(0).normal(size=(16, 4, 4, 1)).astype(np.float32)
    kernel = model.get_layer("whiten").kernel.numpy().copy()
    callbacks = [_bias_schedule(model, "whiten", 2), Record()]
    model.fit(x, np.arange(16) % 3, batch_size=8, epochs=4, verbose=0, callbacks=callbacks)
    assert not np.allclose(biases[0], 0) and not np.allclose(biases[1], biases[0]), "learns in epochs 1-2"
    assert np.array_equal(biases[3], biases[1]) and np.array_equal(biases[2], biases[1]), "frozen from epoch 3"
    assert np.array_equal(model.get_layer("whiten").kernel.numpy(), kernel), "the kernel never trains"


def test_alternating_flip_shows_each_image_both_ways_over_two_epochs():
    images = np.arange(6 * 2 * 3, dtype=np.uint8).reshape(6, 2, 3, 1)
    labels = np.arange(6)
    stream = data.make_epoch_stream(images, labels, 6, seed=0, first_epoch=0, epochs=4, augment=("altflip",))
    flipped_by_epoch = []
    for x, y in stream:
        original = images[y.numpy()].astype(np.float32) / 255  # the stream yields pixels / 255
        flipped = np.isclose(x.numpy(), original[:, :, ::-1]).all(axis=(1, 2, 3))
        assert (flipped | np.isclose(x.numpy(), original).all(axis=(1, 2, 3))).all()
        flipped_by_epoch.append(dict(zip(y.numpy().tolist(), flipped.tolist(), strict=True)))
    assert 0 < sum(flipped_by_epoch[0].values()) < 6, "epoch 0 flips a random half"
    for e in range(1, 4):
        assert all(flipped_by_epoch[e][i] == (flipped_by_epoch[0][i] != (e % 2 == 1)) for i in range(6))


def test_crop_translates_by_whole_pixels_with_reflected_edges():
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(1, 8, 8, 1)).astype(np.float32)
    batch = np.repeat(image, 64, axis=0)
    out = data.augment_batch(batch, np.array([0, 7], np.int64), ("crop",)).numpy()
    padded = np.pad(image[0, :, :, 0], 2, mode="reflect")  # airbench's F.pad(..., "reflect"): edge not repeated
    shifts = set()
    for view in out[..., 0]:
        match = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if np.allclose(view, padded[2 - dy : 10 - dy, 2 - dx : 10 - dx])
        ]
        assert match, "every view is the image shifted by whole pixels, edges reflected"
        shifts.add(match[0])
    assert len(shifts) > 10


def test_tta_averages_the_named_views_logits():
    keras.utils.set_random_seed(0)
    logits = keras.Sequential([keras.Input((5, 5, 1)), keras.layers.Flatten(), keras.layers.Dense(4)])
    model = keras.Sequential([logits, keras.layers.Softmax()])
    images = np.random.default_rng(0).integers(0, 256, size=(3, 5, 5, 1)).astype(np.uint8)
    x = images.astype(np.float32) / 255  # the views are of pixels / 255, as every zoo model takes them
    pad = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    views = {"identity": x, "up-left": pad[:, :5, :5], "down-right": pad[:, 2:, 2:]}
    views.update({f"{k} mirror" if k != "identity" else "mirror": v[:, :, ::-1] for k, v in list(views.items())})
    mean_logits = sum(w * logits.predict(views[name], verbose=0) for name, w in TTA_VIEWS)
    assert sum(w for _, w in TTA_VIEWS) == pytest.approx(1.0)
    got = predict_probs(model, images, np.zeros(3, np.int64), tta=True)
    assert np.allclose(got, keras.ops.convert_to_numpy(keras.ops.softmax(mean_logits)), atol=1e-6)
    mean_probs = sum(w * model.predict(views[name], verbose=0) for name, w in TTA_VIEWS)
    assert not np.allclose(got, mean_probs, atol=1e-4), "logits are averaged, as airbench does, not probabilities"
    assert not np.allclose(got, predict_probs(model, images, np.zeros(3, np.int64)), atol=1e-4)


def test_whitening_layer_is_computed_from_data_and_frozen():
    from zoo.models.cifar_cnn import CIFAR10_MEAN, CIFAR10_STD, init_whitening

    model = models.create("cifar_cnn", input_shape=(16, 16, 3), num_classes=10, widths=(8, 16, 16))
    layer = model.get_layer("whiten")
    trainable = [w.path for w in model.trainable_weights]
    assert layer.kernel.path not in trainable and layer.bias.path in trainable  # its bias trains (first epochs)
    rng = np.random.default_rng(0)
    base = rng.uniform(size=(200, 16, 16, 1))
    images = np.concatenate([base, 0.5 * base + 0.5 * rng.uniform(size=base.shape), base**2], -1) * 255
    images = images.astype(np.uint8)
    init_whitening(model, images / 255.0)  # as the model takes them
    kernel = layer.kernel.numpy().reshape(12, 24)
    assert np.allclose(kernel[:, 12:], -kernel[:, :12])
    x = (images / 255.0 - np.array(CIFAR10_MEAN)) / np.array(CIFAR10_STD)  # as the layer sees them
    patches = np.stack([x[:, i : i + 15, j : j + 15] for i in range(2) for j in range(2)], 3).reshape(-1, 12)
    covariance = patches.T @ patches / len(patches)
    whitened = kernel[:, :12].T @ covariance @ kernel[:, :12]
    eigen = np.sort(np.linalg.eigvalsh(covariance))[::-1]
    assert np.allclose(whitened, np.diag(eigen / (eigen + 5e-4)), atol=1e-4)  # decorrelated, unit variance


def test_cifar_cnn_convs_start_as_identity_on_their_first_channels():
    model = models.create("cifar_cnn", input_shape=(16, 16, 3), num_classes=10, widths=(8, 16, 16))
    kernel = model.get_layer("block2_conv1").kernel.numpy()  # 8 -> 16 channels
    assert np.array_equal(
        kernel[:, :, :, :8],
        np.eye(8)[None, None] * (np.arange(3)[:, None, None, None] == 1) * (np.arange(3)[None, :, None, None] == 1),
    )
    assert np.abs(kernel[:, :, :, 8:]).sum() > 0, "the other output channels stay random"
    assert any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)


@pytest.mark.parametrize("steps", [1, 2, 3])
def test_every_schedule_builds_for_a_run_of_a_few_steps(steps):
    """`zoo train lenet5 --epochs 1` on 30 images is one step: its one-cycle schedule raised "decay_steps must be
    > 0" (a traceback)."""
    from zoo.optim import SCHEDULES, learning_rate
    from zoo.recipes import Recipe

    for schedule in SCHEDULES:
        rate = learning_rate(Recipe(schedule=schedule, learning_rate=1e-3), steps)
        value = float(rate(0) if callable(rate) else rate)
        assert 0 < value <= 1e-3 * (1 + 1e-6), (schedule, value)
