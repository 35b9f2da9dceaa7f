"""The public Python API: real signatures, recipes as objects."""

import inspect

import zoo


def test_public_functions_have_real_signatures():
    for fn in (zoo.train, zoo.evaluate):
        params = inspect.signature(fn).parameters
        assert all(p.kind is not p.VAR_KEYWORD for p in params.values()), fn.__name__
    assert {"epochs", "batch_size", "learning_rate", "recipe", "output", "overwrite"} <= set(
        inspect.signature(zoo.train).parameters)
    assert "tta" in inspect.signature(zoo.evaluate).parameters


def test_train_takes_a_recipe_by_name_or_as_an_object(tiny_data, tmp_path):
    from zoo.recipes import Recipe

    quiet = {"device": "cpu", "verbose": 0, "log": lambda *a: None}
    result = zoo.train("mlp", "mnist", recipe=Recipe(epochs=1, batch_size=64, label_smoothing=0.1),
                       output=tmp_path / "m", **quiet)
    assert result.card["recipe"]["label_smoothing"] == 0.1 and result.card["recipe"]["name"] == "custom"
    result = zoo.train("lenet5", "mnist", recipe="fast", epochs=1, output=tmp_path / "f", **quiet)
    assert result.card["recipe"]["name"] == "fast" and result.card["recipe"]["beta_1"] == 0.7
