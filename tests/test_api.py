"""The public Python API: real signatures, recipes as objects."""

import inspect

import zoo


def test_public_functions_have_real_signatures():
    for fn in (zoo.train, zoo.evaluate):
        params = inspect.signature(fn).parameters
        assert all(p.kind is not p.VAR_KEYWORD for p in params.values()), fn.__name__
    assert {"epochs", "batch_size", "learning_rate", "recipe", "output", "overwrite"} <= set(
        inspect.signature(zoo.train).parameters
    )
    assert "tta" in inspect.signature(zoo.evaluate).parameters


def test_train_takes_a_recipe_by_name_or_as_an_object(tiny_data, tmp_path):
    from zoo.recipes import Recipe

    quiet = {"device": "cpu", "verbose": 0, "log": lambda *a: None}
    result = zoo.train(
        "mlp", "mnist", recipe=Recipe(epochs=1, batch_size=64, label_smoothing=0.1), output=tmp_path / "m", **quiet
    )
    assert result.card.recipe["label_smoothing"] == 0.1 and result.card.recipe["name"] == "custom"
    result = zoo.train("lenet5", "mnist", recipe="fast", epochs=1, output=tmp_path / "f", **quiet)
    assert result.card.recipe["name"] == "fast" and result.card.recipe["beta_1"] == 0.7


def test_library_errors_are_builtin_exceptions_in_python_words(tiny_data, trained_lenet):
    import pytest

    from zoo.errors import for_cli

    with pytest.raises(ValueError, match="`epochs` must be between 1 and 100,000, got 0") as err:
        zoo.train("lenet5", "mnist", epochs=0)
    assert for_cli(str(err.value)) == "--epochs must be between 1 and 100,000, got 0"
    with pytest.raises(ValueError, match="pass `overwrite=True` to replace it") as err:
        zoo.train("lenet5", "mnist", output=trained_lenet)
    assert for_cli(str(err.value)).endswith("pass --overwrite to replace it")
    with pytest.raises(KeyError) as err:
        zoo.create_model("resnet9")
    known = "alexnet, cifar_cnn, cifar_cnn_small, lenet5, mlp"
    assert str(err.value) == f"unknown model 'resnet9'; known: {known}"  # not quoted
    with pytest.raises(ValueError, match="`top_k` must be positive"):
        zoo.predict(trained_lenet, [], top_k=0)


def test_for_cli_spells_arguments_as_flags():
    from zoo.errors import for_cli

    assert for_cli("`batch_size` must be at most 9") == "--batch-size must be at most 9"
    assert for_cli("use `device='cpu'` or pass `restart=True`") == "use --device cpu or pass --restart"
    assert for_cli("`source` /tmp/epochs_dir: no such file") == "--from /tmp/epochs_dir: no such file"
    assert for_cli("a path /data/epochs/x stays as it is") == "a path /data/epochs/x stays as it is"


def test_every_train_argument_is_checked_before_anything_is_written(tiny_data, tmp_path):
    import pytest

    out = tmp_path / "m"
    cases = [
        ({"epochs": True}, TypeError, "`epochs` must be a whole number, got True"),
        ({"epochs": 1.5}, TypeError, "`epochs` must be a whole number, got 1.5"),
        ({"epochs": "1"}, TypeError, "`epochs` must be a whole number, got '1'"),
        ({"batch_size": 0}, ValueError, "`batch_size` must be between 1"),
        ({"seed": -1}, ValueError, "`seed` must be between 0"),
        ({"learning_rate": float("nan")}, ValueError, "`learning_rate` must be a finite number"),
        ({"learning_rate": "0.1"}, TypeError, "`learning_rate` must be a number"),
        ({"augment": "flip,spin"}, KeyError, "unknown augmentation 'spin'"),
        ({"augment": 3}, TypeError, "`augment` must be a string like 'flip,crop'"),
        ({"recipe": 3}, TypeError, "`recipe` must be str or Recipe"),
        ({"dataset": "imagenet"}, KeyError, "tfds knows no dataset 'imagenet'; did you mean imagenet2012"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            zoo.train("lenet5", **{"dataset": "mnist", **kwargs}, output=out)
        assert list(tmp_path.iterdir()) == [], kwargs


def test_augment_takes_a_comma_string_a_list_or_none():
    from zoo.data import parse_augment

    assert parse_augment("flip") == ("flip",)  # not the letters f, l, i, p
    assert parse_augment("flip, crop") == parse_augment(["flip", "crop"]) == ("flip", "crop")
    assert parse_augment("none") == parse_augment("") == ()
    assert parse_augment(None) is None


def test_evaluate_checks_its_batch_size(trained_lenet):
    import pytest

    with pytest.raises(ValueError, match="`batch_size` must be between 1"):
        zoo.evaluate(trained_lenet, batch_size=0)
    with pytest.raises(TypeError, match="`batch_size` must be a whole number"):
        zoo.evaluate(trained_lenet, batch_size=2.5)


def test_the_package_face_is_lazy_and_names_each_function_once():
    import subprocess
    import sys

    import zoo.training

    assert zoo.train is zoo.training.train  # one signature, defined once
    assert set(zoo.__all__) == {*zoo._API, "__version__"}
    code = "import sys, zoo; print('tensorflow' in sys.modules, sorted(zoo.list_pretrained())[0])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "cifar_cnn.cifar10"], out.stderr[-2000:]
