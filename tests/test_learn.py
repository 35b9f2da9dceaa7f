"""The course's formulas and worked examples, reproduced by zoo.arith, zoo summary, zoo kernels and AlexNet."""

import numpy as np
import pytest
from PIL import Image

from zoo import arith, kernels, models, summary
from zoo.errors import UsageError


def test_conv_arithmetic_of_the_course():
    assert arith.conv_output_size(32, 5, 1, 2) == 32
    assert arith.conv_params(5, 3, 10) == 760
    assert arith.same_padding(5) == 2 and arith.same_padding(3) == 1
    assert arith.conv_output_size(227, 11, 4, 0) == 55


def test_a_stride_that_does_not_fit_is_explained():
    with pytest.raises(UsageError, match=r"\(7 − 3 \+ 2·0\)/3 \+ 1 = 2.33 is not a whole number"):
        arith.conv_output_size(7, 3, 3, 0)
    with pytest.raises(UsageError, match="odd kernel"):
        arith.same_padding(4)


def test_summary_shows_the_worked_example_checked_against_keras():
    import keras

    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(10, 5, padding="same", name="conv")(inputs))
    row = summary.summarize(model)[1]
    assert row.output_shape[1:] == (32, 32, 10) and row.params == 760
    assert "(32 − 5 + 2·2)/1 + 1 = 32" in row.formula and "(5·5·3 + 1)·10 = 760" in row.formula


def test_summary_explains_a_floored_pooling_window():
    text = summary.render(models.create("cifar_cnn", input_shape=(28, 28, 1)))
    assert "(27 − 2 + 2·0)/2 + 1 = 13.50, not whole: Keras floors it to 13" in text


def test_summary_cli(cli_runner, zoo_cli):
    result = cli_runner.invoke(zoo_cli, ["summary", "lenet5", "--dataset", "cifar10"])
    assert result.exit_code == 0, result.output
    assert "(32 − 5 + 2·2)/1 + 1 = 32" in result.stdout and "(5·5·3 + 1)·6 = 456" in result.stdout
    result = cli_runner.invoke(zoo_cli, ["summary", "alexnet"])
    assert "(227 − 11 + 2·0)/4 + 1 = 55" in result.stdout and "62,378,344" in result.stdout
    bad = cli_runner.invoke(zoo_cli, ["summary", "lenet5", "--input-shape", "32x32"])
    assert bad.exit_code == 2 and "H,W,C" in bad.stderr


def test_alexnet_has_62378344_parameters_and_lrn():
    model = models.create("alexnet")
    assert model.count_params() == 62_378_344
    lrn = model.get_layer("lrn1")
    assert (lrn.k, lrn.n, lrn.alpha, lrn.beta) == (2.0, 5, 1e-4, 0.75)
    assert [model.get_layer(f"conv{i}").filters for i in range(1, 6)] == [96, 256, 384, 384, 256]
    assert [model.get_layer(n).units for n in ("fc6", "fc7", "predictions")] == [4096, 4096, 1000]


@pytest.mark.parametrize("shape", [(63, 63, 3), (64, 64, 1), (100, 80, 3)])
def test_alexnet_builds_for_small_inputs_and_any_class_count(shape):
    model = models.create("alexnet", input_shape=shape, num_classes=7)
    assert model(np.zeros((1, *shape), np.float32)).shape == (1, 7)
    with pytest.raises(UsageError, match="at least 63x63"):
        models.create("alexnet", input_shape=(62, 62, 3))


def test_local_response_normalization_matches_the_formula():
    from zoo.models.alexnet import LocalResponseNormalization

    x = np.random.default_rng(0).random((1, 2, 2, 8)).astype(np.float32) * 10
    y = LocalResponseNormalization()(x).numpy()
    c = 4
    expected = x[..., c] / (2 + 1e-4 * (x[..., c - 2 : c + 3] ** 2).sum(-1)) ** 0.75
    np.testing.assert_allclose(y[..., c], expected, rtol=1e-5)


def test_sobel_x_worked_examples():
    patch = [[221, 198, 149], [205, 147, 173], [149, 170, 222]]
    assert kernels.convolve(patch, kernels.KERNELS["sobel-x"]).tolist() == [[-63]]
    image = [[0, 50, 0, 29], [0, 80, 31, 2], [33, 90, 0, 75], [0, 9, 0, 95]]
    assert kernels.convolve(image, kernels.KERNELS["sobel-x"]).tolist() == [[29, -192], [-35, -22]]


def test_convolution_relu_and_max_pooling_worked_examples():
    image = np.array([[1, 3, -1, 0], [2, -2, 0, 5], [4, 1, -1, 3], [-3, 0, 1, 2]])
    feature = kernels.convolve(image, [[1, 0], [2, -1]])
    assert feature.tolist() == [[7, -1, -6], [9, 1, -5], [-2, 0, -1]]
    assert kernels.relu(feature).tolist() == [[7, 0, 0], [9, 1, 0], [0, 0, 0]]
    assert kernels.max_pool(image).tolist() == [[3, 5], [4, 3]]
    assert kernels.max_pool([[4, 6, 1, 1], [1, 3, 1, 3], [4, 0, 0, 8], [8, 5, 4, 0]]).tolist() == [[6, 3], [8, 8]]


def test_the_course_kernels_do_what_they_are_named_for():
    flat = np.full((5, 5), 7.0)
    assert np.allclose(kernels.convolve(flat, kernels.KERNELS["edge"]), 0)  # a flat image has no edges
    assert np.allclose(kernels.convolve(flat, kernels.KERNELS["sharpen"]), 7)  # and nothing to sharpen
    assert np.allclose(kernels.convolve(flat, kernels.KERNELS["blur"]), 7)  # and averages to itself
    impulse = np.zeros((5, 5))
    impulse[2, 2] = 9
    assert np.allclose(kernels.convolve(impulse, kernels.KERNELS["blur"]), 1)  # one bright pixel spread over 3x3
    cross = [[0, -9, 0], [-9, 36, -9], [0, -9, 0]]
    assert kernels.convolve(impulse, kernels.KERNELS["edge"]).tolist() == cross  # bright centre, dark ring
    assert kernels.convolve(impulse, kernels.KERNELS["sharpen"]).tolist() == [[0, -9, 0], [-9, 45, -9], [0, -9, 0]]


def test_kernels_cli_writes_a_filtered_png(tmp_path, cli_runner, zoo_cli):
    src = tmp_path / "step.png"
    pixels = np.zeros((20, 30), np.uint8)
    pixels[:, 15:] = 200
    Image.fromarray(pixels).save(src)
    out_path = str(tmp_path / "o.png")
    result = cli_runner.invoke(zoo_cli, ["kernels", str(src), "--kernel", "sobel-x", "--output", out_path])
    assert result.exit_code == 0, result.output
    out = np.asarray(Image.open(tmp_path / "o.png"))
    assert out.shape == (20, 30)
    assert out[10, 14] == 255 and out[10, 15] == 255 and out[10, 5] == 0 and out[10, 25] == 0  # the vertical edge
    bad = cli_runner.invoke(zoo_cli, ["kernels", str(src), "--kernel", "emboss", "-o", str(tmp_path / "x.png")])
    assert bad.exit_code == 2 and "'emboss' is not one of" in bad.stderr


def test_training_writes_curves_and_plot_overlays_runs(trained_lenet, copy_of_trained, tmp_path, cli_runner, zoo_cli):
    with Image.open(trained_lenet / "curves.png") as img:
        assert img.format == "PNG" and img.size == (1000, 400)
    out = tmp_path / "both.png"
    result = cli_runner.invoke(zoo_cli, ["plot", str(trained_lenet), str(copy_of_trained), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out) as img:
        assert img.format == "PNG"
    bad = cli_runner.invoke(zoo_cli, ["plot", str(tmp_path), "-o", str(out)])
    assert bad.exit_code == 2 and "no history.csv" in bad.stderr


def test_visualize_writes_filter_and_activation_grids(tiny_data, trained_lenet, tmp_path, cli_runner, zoo_cli):
    from zoo.plots import grid_shape

    result = cli_runner.invoke(zoo_cli, ["visualize", str(trained_lenet), "--index", "3", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    expected = {"filters_c1.png": 6, "activations_c1.png": 6, "activations_c3.png": 16}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected)
    for name, n in expected.items():
        rows, cols = grid_shape(n)
        with Image.open(tmp_path / name) as img:
            assert img.format == "PNG" and img.size == (cols * 120, rows * 120 + 60), name


def test_summary_counts_multiply_adds():
    from zoo import models
    from zoo.summary import render, summarize

    rows = {r.name: r.macs for r in summarize(models.create("lenet5"))}
    assert rows["c1"] == 28 * 28 * 5 * 5 * 1 * 6 and rows["c3"] == 10 * 10 * 5 * 5 * 6 * 16
    assert sum(rows.values()) == 117_600 + 240_000 + 400 * 120 + 120 * 84 + 84 * 10
    assert "multiply-adds per image: 416,520" in render(models.create("lenet5"))
