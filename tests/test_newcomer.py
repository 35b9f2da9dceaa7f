"""A new user's first hour: the shipped weights are safe from a default `zoo train`, a wheel carries every tag's
weights, a clone folder named `zoo` does not hide the package, and missing data says where to point."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import assert_one_line_error, run

import zoo
from zoo import pretrained, tags
from zoo.errors import ModelFileError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def shipped_here(tmp_path, monkeypatch):
    """A copy of the shipped lenet5-mnist as the source tree's weights, the cwd a folder that also holds it."""
    source = tmp_path / "saved_models"
    shutil.copytree(ROOT / "saved_models" / "lenet5-mnist", source / "lenet5-mnist")
    monkeypatch.setattr(pretrained, "search_dirs", lambda: [tmp_path / "cache", tmp_path / "pkg", source])
    monkeypatch.chdir(tmp_path)
    return source / "lenet5-mnist"


def test_train_without_output_writes_runs_not_the_shipped_weights(tiny_data, shipped_here, cli_runner, zoo_cli):
    before = pretrained.sha256(shipped_here)
    result = run(cli_runner, zoo_cli, "train", "lenet5", "--dataset", "mnist", "--epochs", "1", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert (Path("runs") / "lenet5-mnist" / "model.keras").is_file()
    assert "1 epoch of batch" in result.output
    assert pretrained.sha256(shipped_here) == before


def test_a_tags_folder_is_replaced_only_when_named_and_with_overwrite(tiny_data, shipped_here, cli_runner, zoo_cli):
    before = pretrained.sha256(shipped_here)
    args = ["train", "lenet5", "--epochs", "1", "--device", "cpu", "-o", "saved_models/lenet5-mnist"]
    refused = run(cli_runner, zoo_cli, *args)
    assert_one_line_error(refused, 2, "shipped weights of the pretrained tag lenet5.mnist", "--overwrite")
    assert pretrained.sha256(shipped_here) == before
    replaced = run(cli_runner, zoo_cli, *args, "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert "git -C" in replaced.output and "checkout -- saved_models/lenet5-mnist" in replaced.output
    assert pretrained.sha256(shipped_here) != before


def test_a_default_output_that_is_a_tags_folder_is_refused_even_with_overwrite(tiny_data, shipped_here, monkeypatch):
    from zoo import training

    monkeypatch.setattr(training, "default_output", lambda model, dataset: shipped_here)
    with pytest.raises(ValueError, match="shipped weights of the pretrained tag lenet5.mnist; name another `output`"):
        zoo.train("lenet5", "mnist", epochs=1, overwrite=True, device="cpu")
    assert (shipped_here / "model.onnx").is_file()


def test_a_changed_shipped_file_says_how_to_restore_it(shipped_here, tmp_path):
    with open(shipped_here / "model.keras", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelFileError, match=r"git -C \S+ checkout -- saved_models/lenet5-mnist"):
        zoo.load("lenet5.mnist")
    cached = tmp_path / "cache" / "lenet5-mnist"
    shutil.copytree(shipped_here, cached)
    with pytest.raises(ModelFileError, match=f"remove this copy \\(rm -r {cached}\\)"):
        zoo.load("lenet5.mnist")


def test_a_folder_style_name_suggests_the_tag(cli_runner, zoo_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command in (["info"], ["evaluate"], ["predict"], ["export"]):
        args = [*command, "lenet5-mnist"] + (["x.png"] if command == ["predict"] else [])
        result = run(cli_runner, zoo_cli, *args)
        assert_one_line_error(result, 1, "lenet5-mnist does not exist", "did you mean the pretrained tag lenet5.mnist?")


def test_missing_data_names_the_data_dir_and_a_folder_one_level_off(tmp_path, cli_runner, zoo_cli):
    from zoo import datasets as data

    assert data._prepared_nearby("mnist", tmp_path) is None
    version = tmp_path / "copy" / "tensorflow_datasets" / "mnist" / "3.0.1"
    version.mkdir(parents=True)
    (version / "dataset_info.json").write_text("{}")
    assert data._prepared_nearby("mnist", tmp_path / "copy") == tmp_path / "copy" / "tensorflow_datasets"
    assert data._prepared_nearby("mnist", tmp_path / "copy" / "tensorflow_datasets" / "mnist") == version.parent.parent
    out = tmp_path / "m"
    plain = run(cli_runner, zoo_cli, "evaluate", str(ROOT / "saved_models" / "lenet5-mnist"), "--data-dir", tmp_path)
    assert_one_line_error(plain, 1, "not prepared", "--data-dir", "TFDS_DATA_DIR", "zoo data import mnist")
    off = run(cli_runner, zoo_cli, "train", "lenet5", "-o", out, "--data-dir", tmp_path / "copy")
    assert_one_line_error(off, 1, f"it is prepared in {tmp_path / 'copy' / 'tensorflow_datasets'}: pass --data-dir")
    assert not out.exists()


@pytest.mark.slow
def test_python_finds_the_package_from_the_folder_that_holds_a_clone_named_zoo(tmp_path):
    """`git clone URL` makes a folder named zoo; Python started beside it must still import the package."""
    (tmp_path / "zoo").symlink_to(ROOT, target_is_directory=True)
    code = "import zoo; print(zoo.__file__, callable(zoo.create_model), zoo.list_models())"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "True ['alexnet', 'cifar_cnn', 'cifar_cnn_small', 'lenet5', 'mlp']" in out.stdout
    cli = subprocess.run([sys.executable, "-m", "zoo", "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert cli.returncode == 0 and "zoo: train, evaluate" in cli.stdout, cli.stderr[-2000:]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """zoo's wheel, built offline from a copy of the source tree (building writes build/ beside the source)."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheels, source = tmp / "wheels", tmp / "source"
    ignore = shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", "runs", ".*_cache")
    shutil.copytree(ROOT, source, ignore=ignore)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheels, source],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PIP_NO_INDEX": "1"},
    )
    assert build.returncode == 0, build.stderr[-2000:]
    [built] = wheels.glob("zoo-*.whl")
    return built


def venv_with(folder: Path, wheel: Path, blocked: tuple[str, ...] = ()) -> tuple[Path, str]:
    """A fresh venv holding zoo's wheel, its dependencies taken from this environment (never the editable zoo);
    the modules in ``blocked`` cannot be imported there, as if they were not installed."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", folder], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True
    ).stdout.strip()
    # zoo's dependencies from this environment, without the editable zoo (a plain path entry runs no .pth files)
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    if blocked:  # a .pth line runs at start-up; a sitecustomize.py would lose to Debian's own in the stdlib folder
        Path(site, "zoo_test_blocked.py").write_text(
            "import sys\n"
            "class NotInstalled:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            f"        if name.split('.')[0] in {blocked!r}:\n"
            "            raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, NotInstalled())\n"
        )
        Path(site, "zoo_test_blocked.pth").write_text("import zoo_test_blocked\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    return python, site


@pytest.mark.slow
def test_the_core_install_trains_evaluates_and_exports_and_names_the_missing_extras(wheel, tmp_path):
    """The card's packages at the core; ONNX/LiteRT and zoo serve as extras, each missing one named in one line."""
    import zipfile

    from test_data_import import tiny_idx

    from zoo.data_import import import_dataset
    from zoo.extras import EXTRAS

    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith("METADATA"))).decode()
    core = {
        line.split(":", 1)[1].strip().split(">")[0].split(";")[0].strip().lower()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    card = {"tensorflow", "keras", "tensorflow-datasets", "click"}
    direct = {"numpy", "pillow", "matplotlib"}  # zoo's own imports
    undeclared = {"importlib-resources", "tensorboard"}  # tfds imports it undeclared; Keras' TensorBoard callback
    assert {c.replace("_", "-") for c in core} == card | direct | undeclared, core
    blocked = tuple(m for modules in EXTRAS.values() for m in modules) + ("httptools", "uvloop")
    python, _ = venv_with(tmp_path / "core", wheel, blocked)
    zoo_bin = str(python.parent / "zoo")
    tiny_idx(tmp_path / "src")
    import_dataset("mnist", tmp_path / "src", str(tmp_path / "tfds"), log=lambda m: None)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    data = ["--data-dir", str(tmp_path / "tfds")]

    def zoo_cmd(*args) -> subprocess.CompletedProcess:
        return subprocess.run([zoo_bin, *args], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)

    trained = zoo_cmd("train", "lenet5", "-d", "mnist", "--epochs", "1", "-o", "m", *data)
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert zoo_cmd("evaluate", "m", *data).returncode == 0
    exported = zoo_cmd("export", "m", "-f", "keras", "-f", "savedmodel")
    assert exported.returncode == 0 and (tmp_path / "m" / "export.keras").is_file(), exported.stderr[-2000:]
    for args, extra in ((["serve", "m"], "serve"), (["export", "m", "-f", "onnx"], "export")):
        answer = zoo_cmd(*args)
        assert answer.returncode == 2 and len(answer.stderr.strip().splitlines()) == 1, answer.stderr[-2000:]
        assert f"needs the {extra} extra" in answer.stderr and f"pip install 'zoo[{extra}]'" in answer.stderr


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_loads_every_tag_from_another_folder(wheel, tmp_path):
    """`pip install .` / `pip install git+URL` build a wheel: it must carry every tag's weights (SHA-256 checked)."""
    venv = tmp_path / "venv"
    python, site = venv_with(venv, wheel)
    code = (
        "import zoo, zoo.pretrained as p\n"
        "for tag in zoo.list_pretrained():\n"
        "    model, card = zoo.load(tag)\n"
        "    print(tag, p.locate(tag), card.model, model.count_params() == card.params)\n"
        "print('zoo from', zoo.__file__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [python, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env | {"ZOO_CACHE": ""}
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[-1].startswith(f"zoo from {site}"), lines[-1]
    for tag in tags.list_tags():
        [line] = [line for line in lines if line.startswith(tag + " ")]
        assert f"{site}/zoo/weights/{tags.get_tag(tag).weights} " in line and line.endswith(" True"), line
    info = subprocess.run(  # the wheel's own `zoo` command (cli:main); the wheel carries no exports
        [venv / "bin" / "zoo", "info", "lenet5.mnist"], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert info.returncode == 0 and "exports   none" in info.stdout, info.stdout + info.stderr[-2000:]
    export = subprocess.run(  # a tag inside the package is exported elsewhere only
        [venv / "bin" / "zoo", "export", "lenet5.mnist", "-f", "keras"], cwd=tmp_path, capture_output=True, text=True
    )
    assert export.returncode == 2 and "inside the installed zoo package" in export.stderr, export.stderr[-2000:]


def test_an_interrupted_train_says_that_the_same_command_resumes(monkeypatch, cli_runner, zoo_cli, tmp_path):
    from zoo import training

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train", interrupted)
    result = cli_runner.invoke(zoo_cli, ["train", "lenet5", "-o", str(tmp_path / "m")])
    assert result.exit_code == 130
    assert "zoo: interrupted; run `zoo " in result.stderr and "` again to resume" in result.stderr  # (its argv)


def test_a_run_with_other_settings_is_refused_with_the_command_that_resumes_it(tmp_path):
    from zoo.training import open_run_state

    (tmp_path / "run").mkdir()
    open_run_state(tmp_path / "run", {"epochs": 3}, False, "zoo train lenet5 --epochs 3")
    with pytest.raises(ValueError, match="rerun `zoo train lenet5 --epochs 3` to resume it, or pass `restart=True`"):
        open_run_state(tmp_path / "run", {"epochs": 4}, False, "zoo train lenet5 --epochs 4")
    open_run_state(tmp_path / "run", {"epochs": 3}, False, "zoo train lenet5 --epochs=3")  # the same run resumes


def test_help_list_and_json_say_what_the_library_knows(cli_runner, zoo_cli, trained_lenet, tiny_data):
    from zoo.data import AUGMENTATIONS

    helptext = " ".join(run(cli_runner, zoo_cli, "train", "--help").stdout.split())
    assert all(name in helptext for name in AUGMENTATIONS), helptext
    listing = run(cli_runner, zoo_cli, "list").stdout.splitlines()
    header = next(line for line in listing if line.startswith("pretrained tag"))
    assert "test acc" in header and "w/ TTA" in header
    card = zoo.load("cifar_cnn.cifar10")[1]
    row = next(line for line in listing if line.startswith("cifar_cnn.cifar10 "))
    assert row.split()[1:3] == [f"{card.metrics['test_accuracy']:.2%}", f"{card.metrics['test_accuracy_tta']:.2%}"], row
    assert zoo.evaluate(trained_lenet)["tta"] is None
