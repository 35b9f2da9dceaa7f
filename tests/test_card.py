"""The model card: one typed record with a schema version, read back exactly, old versions read too."""

import json

import pytest

from zoo.card import SCHEMA_VERSION, CardError, ModelCard


def make_card(**changes):
    return ModelCard(
        **{
            "model": "lenet5",
            "dataset": "mnist",
            "input_shape": [28, 28, 1],
            "num_classes": 10,
            "metrics": {"test_accuracy": 0.99, "test_accuracy_tta": 0.995},
            **changes,
        }
    )


def test_a_card_reads_back_as_it_was_written():
    card = make_card(exports={"onnx": {"path": "model.onnx"}}, preprocessing={"in_model": True})
    again = ModelCard.from_json(card.to_json())
    assert again == card and again.schema_version == SCHEMA_VERSION
    assert again.tag == "lenet5.mnist" and again.scored_accuracy == 0.995 and again.pixels_in_model


def test_a_card_without_a_version_is_schema_1_with_pixels_outside_the_model():
    data = make_card().to_dict()
    del data["schema_version"], data["preprocessing"]
    card = ModelCard.from_dict(data)
    assert card.schema_version == 1 and not card.pixels_in_model


@pytest.mark.parametrize(
    "change, message",
    [
        ({"schema_version": SCHEMA_VERSION + 1}, "is not one this zoo reads"),
        ({"num_classes": 1}, "'num_classes' must be an integer from 2"),
        ({"input_shape": [28, 28]}, "'input_shape' must be [H, W, C]"),
        ({"metrics": {"test_accuracy": "high"}}, "'metrics' must map names to numbers"),
        ({"exports": []}, "'exports' must be an object"),
    ],
)
def test_a_malformed_card_names_its_field(change, message):
    data = {**make_card().to_dict(), **change}
    with pytest.raises(CardError, match=message.replace("[", r"\[")):
        ModelCard.from_json(json.dumps(data))


def test_unknown_fields_are_ignored_not_fatal():
    data = {**make_card().to_dict(), "comment": "added by hand"}
    assert ModelCard.from_dict(data) == make_card()


def test_a_trained_cards_runtime_names_the_cpus_vector_instructions_and_precision(trained_lenet):
    """The card's ISA against what lscpu says of this CPU (not against the function that wrote it)."""
    import shutil
    import subprocess

    from zoo.pretrained import describe, read_card

    runtime = read_card(trained_lenet).runtime
    if shutil.which("lscpu"):
        flags = next(
            line.split(":", 1)[1].split()
            for line in subprocess.run(
                ["lscpu"], capture_output=True, text=True, env={"LC_ALL": "C"}
            ).stdout.splitlines()
            if line.startswith("Flags:")
        )
    else:
        flags = next(line.split(":", 1)[1].split() for line in open("/proc/cpuinfo") if line.startswith("flags"))
    expected = (
        "AVX-512 with BF16"
        if {"avx512_bf16", "amx_bf16"} & set(flags)
        else "AVX-512"
        if "avx512f" in flags
        else "AVX2, no AVX-512"
        if "avx2" in flags
        else "unknown"
    )
    assert runtime["cpu_isa"] == expected and runtime["precision"] == "float32"
    trained = next(line for line in describe(trained_lenet) if line.split()[0] == "trained")
    assert f"({expected})" in trained and "float32" in trained
