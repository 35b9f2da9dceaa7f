"""A folder zoo reads never changes files outside it: crafted journals, linked run-state siblings, archive and
pickle bombs, a tag exported elsewhere. Each case puts the attacker's files in place and checks that nothing
outside the folder changed (and, for a read, nothing inside either)."""

import io
import json
import os
import pickle
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error, run

from zoo import artifacts, atomic
from zoo.atomic import sha256

ROOT = Path(__file__).resolve().parent.parent


def tree_state(folder: Path) -> dict[str, str]:
    """Every entry under ``folder`` (links as links, hidden files too) with its content's SHA-256."""
    state = {}
    for p in sorted(folder.rglob("*")):
        key = str(p.relative_to(folder))
        state[key] = f"link:{os.readlink(p)}" if p.is_symlink() else sha256(p) if p.is_file() else "dir"
    return state


@pytest.fixture
def victim(tmp_path):
    """Files outside every model folder that a crafted folder tries to replace or delete."""
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (outside / "precious.txt").write_text("the user's own file")
    (outside / "folder" / "work.txt").write_text("the user's own work")
    return outside


def plant_journal(model_dir: Path, victim: Path, marked: bool = True) -> Path:
    """A dead process's export staging folder whose journal names paths outside ``model_dir``: rolled back as the
    old code did, it replaced precious.txt with the folder's file and deleted folder/."""
    work = model_dir / ".export.999999.crafted.tmp"  # pid 999999: no such process
    work.mkdir()
    if marked:
        (work / atomic.STAGING_MARKER).touch()
    (work / "card.json.new").write_text("{}")
    (work / "old.0").write_text("the attacker's file")
    journal = {
        "card": str(model_dir / "card.json"),
        "new_card": str(work / "card.json.new"),
        "moves": [
            {"dest": str(victim / "precious.txt"), "new": str(work / "n0"), "old": str(work / "old.0")},
            {"dest": str(victim / "folder"), "new": str(work / "n1"), "old": str(work / "old.1")},
        ],
    }
    (work / "commit.json").write_text(json.dumps(journal))
    return work


def test_a_crafted_journal_is_never_followed_by_a_read_or_a_write(
    tiny_data, copy_of_trained, victim, tmp_path, cli_runner, zoo_cli
):
    plant_journal(copy_of_trained, victim)
    outside, inside = tree_state(victim), tree_state(copy_of_trained)
    image = tmp_path / "digit.png"
    from PIL import Image

    Image.fromarray(np.zeros((28, 28), np.uint8)).save(image)
    for args in (["info", copy_of_trained], ["predict", copy_of_trained, image], ["evaluate", copy_of_trained]):
        result = run(cli_runner, zoo_cli, *args)
        assert result.exit_code == 0, result.output
        assert tree_state(victim) == outside and tree_state(copy_of_trained) == inside, args  # a read never writes
    result = run(cli_runner, zoo_cli, "export", copy_of_trained, "-f", "keras")  # a writer: it refuses, in a line
    assert_one_line_error(result, 1, "commit.json names files outside", "will not follow it")
    assert tree_state(victim) == outside and tree_state(copy_of_trained) == inside


def test_an_unmarked_staging_folder_is_not_zoos_and_is_left_alone(tiny_data, copy_of_trained, victim):
    from zoo.export import export

    work = plant_journal(copy_of_trained, victim, marked=False)
    outside = tree_state(victim)
    export(copy_of_trained, ["keras"], log=lambda *a: None)
    assert tree_state(victim) == outside
    assert (work / "commit.json").is_file(), "a folder zoo did not make is not deleted"


def test_a_cached_tag_folder_with_a_crafted_journal_changes_nothing(tmp_path, victim, cli_runner, zoo_cli, monkeypatch):
    """A tag folder in ZOO_CACHE whose model and card pass the tag's SHA-256 checks is still only read."""
    cache = tmp_path / "cache"
    shutil.copytree(ROOT / "saved_models" / "lenet5-mnist", cache / "lenet5-mnist")
    plant_journal(cache / "lenet5-mnist", victim)
    monkeypatch.setenv("ZOO_CACHE", str(cache))
    outside, inside = tree_state(victim), tree_state(cache)
    result = run(cli_runner, zoo_cli, "info", "lenet5.mnist")
    assert result.exit_code == 0 and str(cache / "lenet5-mnist") in result.output, result.output
    assert tree_state(victim) == outside and tree_state(cache) == inside


def test_a_read_of_a_folder_left_mid_swap_sees_the_new_version_and_moves_nothing(tmp_path):
    dest = tmp_path / "model"
    work = tmp_path / ".model.abc.tmp"
    (work / atomic.SWAP_OLD).mkdir(parents=True)
    (work / "model").mkdir()
    card = {"model": "lenet5", "dataset": "mnist", "input_shape": [28, 28, 1], "num_classes": 10, "seed": 2}
    (work / "model" / "card.json").write_text(json.dumps(card))
    before = tree_state(tmp_path)
    assert artifacts.read_card(dest).seed == 2
    assert tree_state(tmp_path) == before
    with atomic.writing(dest):  # a writer finishes the swap
        pass
    assert artifacts.read_card(dest).seed == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_linked_swap_folder_never_moves_files_in(tmp_path, victim):
    """``.model.x.tmp`` as a link to a folder holding ``.old`` and ``model``: not zoo's swap, nothing moves."""
    (victim / atomic.SWAP_OLD).mkdir()
    (victim / "model").mkdir()
    (tmp_path / ".model.x.tmp").symlink_to(victim)
    outside = tree_state(victim)
    with atomic.writing(tmp_path / "model"):
        pass
    assert tree_state(victim) == outside and not (tmp_path / "model").exists()


# --- run-state siblings --------------------------------------------------------------------------------------


def train_args(out: Path, *extra):
    return ["train", "lenet5", "-d", "mnist", "--epochs", "1", "--batch-size", "64", "-o", out, *extra]


@pytest.mark.parametrize("restart", [False, True])
def test_a_linked_run_state_sibling_is_refused(tiny_data, tmp_path, victim, cli_runner, zoo_cli, restart):
    """``runs/.X.run -> ..`` made `zoo train --restart` delete the repository's files."""
    runs = tmp_path / "runs"
    runs.mkdir()
    (victim / "epoch-00001.weights.h5").write_text("not zoo's")
    (runs / ".lenet5-mnist.run").symlink_to(victim)
    outside = tree_state(victim)
    result = run(cli_runner, zoo_cli, *train_args(runs / "lenet5-mnist", *(["--restart"] if restart else [])))
    assert_one_line_error(result, 2, ".lenet5-mnist.run is a symbolic link")
    assert tree_state(victim) == outside and not (runs / "lenet5-mnist").exists()


def test_restart_deletes_only_the_files_zoo_wrote(tiny_data, tmp_path, cli_runner, zoo_cli):
    out = tmp_path / "runs" / "m"
    run_dir = out.with_name(".m.run")
    (run_dir / "mine").mkdir(parents=True)
    (run_dir / "mine" / "notes.txt").write_text("the user's")
    (run_dir / "notes.txt").write_text("the user's")
    (run_dir / "state.json").write_text("{damaged")
    result = run(cli_runner, zoo_cli, *train_args(out, "--restart"))
    assert result.exit_code == 0, result.output
    assert (out / "model.keras").is_file()
    assert sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*")) == ["mine", "mine/notes.txt", "notes.txt"]


@pytest.mark.parametrize("kind", ["fifo", "link"])
def test_a_special_run_state_lock_is_one_line_naming_it(tiny_data, tmp_path, victim, cli_runner, zoo_cli, kind):
    out = tmp_path / "runs" / "m"
    run_dir = out.with_name(".m.run")
    run_dir.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(run_dir / "lock")
    else:
        (run_dir / "lock").symlink_to(victim / "precious.txt")
    outside = tree_state(victim)
    result = run(cli_runner, zoo_cli, *train_args(out))
    assert_one_line_error(result, 2, str(run_dir / "lock"))
    assert tree_state(victim) == outside


# --- archives and pickles that ask for more than they hold -------------------------------------------------------


def rewrite_archive(path: Path, change) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    change(members)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def dense_units(members):
    config = json.loads(members["config.json"])
    for layer in reversed(config["config"]["layers"]):  # the classifier: the config stays consistent
        if layer["class_name"] == "Dense":
            layer["config"]["units"] = 2_500_000
            break
    members["config.json"] = json.dumps(config).encode()


CRAFTED_ARCHIVES = {
    "an extra member": (lambda m: m.update({"assets/blob.bin": b"\0" * (1 << 20)}), "holds 'assets/blob.bin'"),
    "weights inflating past the model": (
        lambda m: m.update({"model.weights.h5": m["model.weights.h5"] + b"\0" * (8 << 20)}),
        "model.weights.h5 inflates to",
    ),
    "a config asking for Dense(2_500_000)": (dense_units, "its config makes"),
}


@pytest.mark.parametrize("case", CRAFTED_ARCHIVES, ids=list(CRAFTED_ARCHIVES))
def test_a_crafted_archive_is_refused_before_keras_builds_it(tiny_data, copy_of_trained, cli_runner, zoo_cli, case):
    change, message = CRAFTED_ARCHIVES[case]
    rewrite_archive(copy_of_trained / "model.keras", change)
    result = run(cli_runner, zoo_cli, "evaluate", copy_of_trained)
    assert_one_line_error(result, 1, "is refused", message)


def test_the_stateless_parameter_count_makes_no_weights(copy_of_trained):
    """The count behind the Dense(2_500_000) refusal: 210 million parameters, with none of them allocated."""
    rewrite_archive(copy_of_trained / "model.keras", dense_units)
    with zipfile.ZipFile(copy_of_trained / "model.keras") as archive:
        config = json.loads(archive.read("config.json"))
    assert artifacts.config_params(config, copy_of_trained) > 200_000_000


def test_a_pickle_repeating_one_row_millions_of_times_is_refused(tmp_path, cli_runner, zoo_cli):
    """A 10 KB archive whose pickle repeats one row 5,000,000 times: refused before any array is built."""
    row = np.zeros(3072, np.uint8)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
            data = pickle.dumps({b"data": [row] * 5_000_000, b"labels": [0] * 5_000_000}, protocol=4)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert archive.stat().st_size < 1 << 20
    result = run(cli_runner, zoo_cli, "data", "import", "cifar10", "--from", archive, "--data-dir", tmp_path / "tfds")
    assert_one_line_error(result, 1, "more than 200,000 list or dict items")


# --- a tag exported elsewhere ------------------------------------------------------------------------------------


def test_exporting_a_tag_elsewhere_writes_a_model_folder_there_and_never_the_tags(tmp_path, cli_runner, zoo_cli):
    shipped = ROOT / "saved_models" / "lenet5-mnist"
    before = tree_state(shipped)
    out = tmp_path / "mine"
    result = run(cli_runner, zoo_cli, "export", "lenet5.mnist", "-f", "keras", "-o", out)
    assert result.exit_code == 0, result.output
    assert tree_state(shipped) == before
    card = json.loads((out / "card.json").read_text())
    assert card["exports"]["keras"]["path"] == "export.keras" and (out / "export.keras").is_file()
    assert sha256(out / "model.keras") == sha256(shipped / "model.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"], "no lock or staging folder left beside it"
    again = run(cli_runner, zoo_cli, "export", "lenet5.mnist", "-f", "keras", "-o", out)  # the same model: again
    assert again.exit_code == 0, again.output


def test_info_lists_only_the_exports_the_folder_holds(tmp_path, cli_runner, zoo_cli, monkeypatch):
    """A wheel carries a tag's model and card, not the exports its card records."""
    cache = tmp_path / "cache" / "lenet5-mnist"
    cache.mkdir(parents=True)
    for name in ("model.keras", "card.json"):
        shutil.copyfile(ROOT / "saved_models" / "lenet5-mnist" / name, cache / name)
    monkeypatch.setenv("ZOO_CACHE", str(cache.parent))
    result = run(cli_runner, zoo_cli, "info", "lenet5.mnist")
    assert "exports   none" in result.output, result.output
