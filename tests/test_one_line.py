"""What an unlucky user meets is one line, not a traceback, and a terminal is never driven by a file's text:
damaged images among good ones, a link loop as a cache folder, the API's argument types, escapes in a card."""

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, damaged_png, run
from PIL import Image

import zoo

ROOT = Path(__file__).resolve().parent.parent


def test_a_damaged_image_among_good_ones_is_one_line_and_the_good_one_is_answered(tmp_path, cli_runner, zoo_cli):
    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(good)
    bad.write_bytes(damaged_png())
    result = run(cli_runner, zoo_cli, "predict", "lenet5.mnist", good, bad)
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(f"{good}: ") and "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"zoo: error: {bad}: unreadable image (SyntaxError")


def test_a_link_loop_as_a_cache_tag_folder_is_one_line(tmp_path, cli_runner, zoo_cli, monkeypatch):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "lenet5-mnist").symlink_to("lenet5-mnist")
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    result = run(cli_runner, zoo_cli, "info", "lenet5.mnist")
    assert_one_line_error(result, 1, "lenet5-mnist is a loop of symbolic links")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"top_k": 1.5}, TypeError, "`top_k` must be a whole number of classes, got 1.5"),
        ({"top_k": True}, TypeError, "`top_k` must be a whole number of classes, got True"),
        ({"images": None}, TypeError, "`images` must be an image"),
        ({"images": []}, TypeError, "`images` must be an image"),
    ],
    ids=["top_k=1.5", "top_k=True", "images=None", "images=[]"],
)
def test_predict_arguments_of_the_wrong_type_are_named(kwargs, error, message):
    args = {"images": [np.zeros((28, 28), np.uint8)], **kwargs}
    with pytest.raises(error, match=message.replace("[", r"\[")):
        zoo.predict("lenet5.mnist", **args)


def test_predict_takes_one_image_as_the_bytes_of_its_file():
    buf = io.BytesIO()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(buf, "PNG")
    [result] = zoo.predict("lenet5.mnist", buf.getvalue())
    assert result.error is None and len(result.top_k) == 3


ESCAPES = "\x1b[2J\x1b]0;owned\x07\rforged line\n"


def test_a_cards_escapes_are_printed_escaped(tmp_path, cli_runner, zoo_cli):
    folder = tmp_path / "m"
    shutil.copytree(ROOT / "saved_models" / "lenet5-mnist", folder, ignore=shutil.ignore_patterns("savedmodel"))
    card = json.loads((folder / "card.json").read_text())
    card["class_names"] = [f"{ESCAPES}{i}" for i in range(10)]
    card["command"] = f"zoo train {ESCAPES}"
    (folder / "card.json").write_text(json.dumps(card))
    image = tmp_path / "d.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(image)
    for args in (["info", folder], ["predict", folder, image]):
        result = run(cli_runner, zoo_cli, *args)
        assert result.exit_code == 0, result.output
        assert not any(c in result.output.replace("\n", "") for c in "\x1b\x07\r"), repr(result.output)
        assert "\\x1b[2J" in result.output and "forged line\\n" in result.output
