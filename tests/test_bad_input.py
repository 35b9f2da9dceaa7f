"""Every CLI argument's bad values: each is one line on stderr, a non-zero exit, no traceback, and nothing written.

Placeholders: {model} a trained LeNet-5 folder (mnist), {file} an ordinary file (so '{file}/x' cannot be created),
{empty} an empty data folder, {img} a PNG image, {missing} a path that does not exist, {tfds} a data folder not
yet made.
"""

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_line_error
from PIL import Image

CASES = [
    # train
    (["train", "resnet9"], 2, "unknown model 'resnet9'; known: alexnet, cifar_cnn, cifar_cnn_small, lenet5, mlp"),
    (["train", "lenet5", "-d", "imagenet"], 2, "tfds knows no dataset 'imagenet'; did you mean imagenet2012"),
    (["train", "alexnet", "-d", "mnist"], 2, "alexnet needs images of at least 63x63; mnist has 28x28"),
    (["train", "lenet5", "--epochs", "0"], 2, "'--epochs': 0 is not in the range 1<=x<=100000"),
    (["train", "lenet5", "--epochs", "-2"], 2, "'--epochs': -2 is not in the range 1<=x<=100000"),
    (["train", "lenet5", "--epochs", "ten"], 2, "'ten' is not a valid integer"),
    (["train", "lenet5", "--epochs", "2.5"], 2, "'2.5' is not a valid integer"),
    (["train", "lenet5", "--batch-size", "0"], 2, "'--batch-size': 0 is not in the range 1<=x<=2147483647"),
    (["train", "lenet5", "--batch-size", "-32"], 2, "-32 is not in the range 1<=x<=2147483647"),
    (["train", "lenet5", "--batch-size", "many"], 2, "'many' is not a valid integer"),
    (["train", "lenet5", "--lr", "0"], 2, "'--learning-rate' / '--lr': 0.0 is not in the range x>0"),
    (["train", "lenet5", "--lr", "-1e-3"], 2, "-0.001 is not in the range x>0"),
    (["train", "lenet5", "--lr", "fast"], 2, "'fast' is not a valid float"),
    (["train", "lenet5", "--lr", "nan"], 2, "'--learning-rate' / '--lr': 'nan' is not a finite number"),
    (["train", "lenet5", "--lr", "inf"], 2, "'--learning-rate' / '--lr': 'inf' is not a finite number"),
    (["train", "lenet5", "--seed", "-1"], 2, "'--seed': -1 is not in the range 0<=x<=4294967295"),
    (["train", "lenet5", "--seed", "x"], 2, "'x' is not a valid integer"),
    (["train", "lenet5", "--validation", "1"], 2, "'--validation': 1.0 is not in the range 0<=x<1"),
    (["train", "lenet5", "--validation", "-0.1"], 2, "'--validation': -0.1 is not in the range 0<=x<1"),
    (["train", "lenet5", "--validation", "nan"], 2, "'--validation': 'nan' is not a finite number"),
    (["train", "lenet5", "--augment", "wobble"], 2, "unknown augmentation 'wobble'; known: altflip, crop, distort"),
    # values that used to pass validation and fail after the run state was written
    (["train", "lenet5", "--seed", "4294967296"], 2, "4294967296 is not in the range 0<=x<=4294967295"),
    (["train", "lenet5", "--epochs", str(10**20)], 2, f"{10**20} is not in the range 1<=x<=100000"),
    (["train", "lenet5", "--batch-size", str(2**63)], 2, f"{2**63} is not in the range 1<=x<=2147483647"),
    (["train", "lenet5", "-o", "/", "--overwrite"], 2, "output / is the current folder or one above it"),
    (["train", "lenet5", "-o", ".", "--overwrite"], 2, "output . is the current folder or one above it"),
    (["train", "lenet5", "-o", "..", "--overwrite"], 2, "output .. is the current folder or one above it"),
    (["train", "lenet5", "-o", "{file}", "--overwrite"], 2, "output {file} is a file, not a model folder"),
    (["train", "lenet5", "-o", "{nonmodel}", "--overwrite"], 2, "is a folder that holds no zoo model (card.json)"),
    (["train", "lenet5", "--dataset", ""], 2, "--dataset must name a dataset (mnist, kmnist, ...) or a folder"),
    (["train", "lenet5", "-o", ""], 2, "the output folder must not be empty"),
    (
        ["train", "lenet5", "--recipe", "turbo"],
        2,
        "unknown recipe for lenet5 on mnist 'turbo'; known: default, finetune, probe, fast",
    ),
    (["train", "mlp", "--recipe", "fast"], 2, "unknown recipe for mlp on mnist 'fast'; known: default"),
    (["train", "lenet5", "--device", "tpu"], 2, "'tpu' is not one of 'auto', 'cpu', 'gpu'"),
    (["train", "lenet5", "--strategy", "ring"], 2, "'ring' is not one of 'auto', 'one', 'mirrored', 'multiworker'"),
    (["train", "lenet5", "--output", "{model}"], 2, "already exists; pass --overwrite to replace it"),
    (["train", "lenet5", "--output", "{file}/m"], 2, "cannot write to {file}/m: {file} is not a folder"),
    (["train", "lenet5", "--data-dir", "{empty}"], 1, "dataset 'mnist' is not prepared in {empty}"),
    (["train", "lenet5", "--data-dir", "{file}"], 2, "--data-dir {file} is not a folder"),
    (["train", "lenet5", "--bogus"], 2, "No such option '--bogus'"),
    # evaluate
    (["evaluate", "{missing}"], 1, "{missing} does not exist"),
    (["evaluate", "{file}"], 1, "{file} is a file, not a model folder"),
    (["evaluate", "{empty}"], 1, "{empty}/card.json is missing: {empty} is not a zoo model folder"),
    (["evaluate", "{model}", "-d", "fashion_mnist"], 2, "this lenet5 was trained on mnist, not fashion_mnist"),
    (["evaluate", "{model}", "-d", "cifar10"], 2, "expects 28x28x1 images and 10 classes, but cifar10 has 32x32x3"),
    (["evaluate", "{model}", "-d", "svhn"], 2, "tfds knows no dataset 'svhn'; did you mean svhn_cropped"),
    (["evaluate", "{model}", "--device", "npu"], 2, "'npu' is not one of"),
    (["evaluate", "{model}", "--data-dir", "{empty}"], 1, "dataset 'mnist' is not prepared in {empty}"),
    (["evaluate"], 2, "Missing argument 'MODEL_DIR'"),
    # export
    (["export", "{missing}"], 1, "{missing} does not exist"),
    (["export", "{model}", "--format", "pdf"], 2, "unknown export format 'pdf'"),
    (["export", "{model}", "--quantize", "int4"], 2, "'int4' is not one of 'int8', 'int16x8'"),
    (["export", "{model}", "--output", "{file}/exports"], 2, "cannot write to {file}/exports: {file} is not a folder"),
    # predict
    (["predict", "{model}"], 2, "Missing argument 'IMAGES...'"),
    (["predict", "{missing}", "{img}"], 1, "{missing} does not exist"),
    (["predict", "{model}", "{missing}"], 1, "{missing}: no such file"),
    (["predict", "{model}", "{file}"], 1, "{file}: not an image PIL can read"),
    (["predict", "{model}", "{img}", "--top-k", "0"], 2, "'--top-k' / '-k': 0 is not in the range x>=1"),
    (["predict", "{model}", "{img}", "--top-k", "11"], 2, "--top-k must be between 1 and 10 (the model's classes)"),
    (["predict", "{model}", "{img}", "--top-k", "three"], 2, "'three' is not a valid integer"),
    # summary
    (["summary", "vgg16"], 2, "unknown model 'vgg16'"),
    (["summary", "lenet5", "-d", "imagenet"], 2, "unknown dataset 'imagenet'"),
    (["summary", "lenet5", "--input-shape", "28,28"], 2, "input shape must be H,W,C with positive sizes, got (28, 28)"),
    (["summary", "lenet5", "--input-shape", "a,b,c"], 2, "--input-shape must be H,W,C integers like 32,32,3"),
    (["summary", "lenet5", "--input-shape", "0,28,1"], 2, "must be H,W,C with positive sizes, got (0, 28, 1)"),
    (["summary", "lenet5", "--input-shape", "8,8,1"], 2, "lenet5 needs images of at least 12x12; got 8x8"),
    (["summary", "lenet5", "--classes", "0"], 2, "'--classes': 0 is not in the range 2<=x<=100000"),
    (["summary", "lenet5", "--classes", "-4"], 2, "-4 is not in the range 2<=x<=100000"),
    (["summary", "mlp", "--input-shape", "1000000,1000000,3"], 2, "input images may be at most 4096x4096"),
    (["summary", "mlp", "--classes", "100000000000"], 2, "100000000000 is not in the range 2<=x<=100000"),
    # kernels
    (["kernels", "{missing}", "-k", "blur", "-o", "out.png"], 1, "{missing}: no such file"),
    (["kernels", "{img}", "-k", "wave", "-o", "out.png"], 2, "'wave' is not one of 'blur', 'edge'"),
    (["kernels", "{img}", "-k", "blur"], 2, "Missing option '--output'"),
    (["kernels", "{img}", "-k", "blur", "-o", "{file}/out.png"], 2, "cannot write to {file}/out.png"),
    (["kernels", "{img}", "-k", "blur", "-o", "{model}"], 2, "{model} is a folder; give a file name"),
    # visualize
    (["visualize", "{missing}", "-o", "viz"], 1, "{missing} does not exist"),
    (["visualize", "{model}", "--image", "{missing}", "-o", "viz"], 1, "{missing}: no such file"),
    (["visualize", "{model}", "--index", "-1", "-o", "viz"], 2, "'--index': -1 is not in the range x>=0"),
    (["visualize", "{model}", "--index", "x", "-o", "viz"], 2, "'x' is not a valid integer"),
    (["visualize", "{model}", "--image", "{img}", "-o", "{file}/viz"], 2, "cannot write to {file}/viz"),
    # plot
    (["plot", "{missing}"], 2, "{missing} has no history.csv: not a zoo run folder"),
    (["plot", "{model}", "-o", "{file}/c.png"], 2, "cannot write to {file}/c.png"),
    (["plot", "{model}", "-o", "{model}"], 2, "{model} is a folder; give a file name"),
    # data
    (["data", "import", "svhn", "--from", "{empty}"], 2, "unknown dataset 'svhn'"),
    (["data", "import", "mnist", "--from", "{missing}", "--data-dir", "{tfds}"], 2, "--from {missing}: no such file"),
    (["data", "import", "mnist", "--from", "{empty}", "--data-dir", "{tfds}"], 1, "{empty}: no train-images-idx3"),
    (["data", "import", "mnist"], 2, "Missing option '--from'"),
    (["data", "import", "mnist", "--from", "{empty}", "--data-dir", "{file}"], 2, "--data-dir {file} is not a folder"),
    (["data", "list", "--data-dir", "{file}"], 2, "--data-dir {file} is not a folder"),
]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.fixture
def workdir(trained_lenet, tmp_path, monkeypatch):
    """A working folder with a trained model, a file, an empty data folder and an image; tfds reports no network."""
    import shutil

    import zoo.datasets

    shutil.copytree(trained_lenet, tmp_path / "model")
    (tmp_path / "file").write_text("just a file\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("not a model\n")
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "digit.png")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(zoo.datasets, "_reachable", lambda host, timeout=5.0: False)
    return tmp_path


@pytest.mark.parametrize(("args", "code", "message"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_is_one_line_nonzero_and_writes_nothing(workdir, cli_runner, zoo_cli, args, code, message):
    names = {
        "model": "model",
        "file": "file",
        "empty": "empty",
        "img": "digit.png",
        "missing": "no/such/thing",
        "tfds": "tfds",
        "nonmodel": "notes",
    }
    paths = {k: str(workdir / v) for k, v in names.items()}
    before = snapshot(workdir)
    result = cli_runner.invoke(zoo_cli, [a.format(**paths) for a in args])
    assert_one_line_error(result, code, message.format(**paths))
    assert snapshot(workdir) == before, "a failed command wrote or changed files"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_unwritable_output_folder(workdir, cli_runner, zoo_cli):
    locked = workdir / "locked"
    locked.mkdir(mode=0o555)
    result = cli_runner.invoke(zoo_cli, ["train", "lenet5", "--output", str(locked / "m")])
    assert_one_line_error(result, 2, f"cannot write to {locked / 'm'}: {locked} is not writable")
