"""The house: every import between zoo's modules runs down its floors (no circle, no arrow up), function-level
imports included, and each builder imports only the registry. A new module must be given its floor here."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Bottom floor first. A module may import only from floors below its own.
FLOORS = [
    ["zoo.errors", "zoo.quiet", "zoo.card", "zoo.text"],  # words, messages and the card record
    [  # plain data and single concerns
        "zoo.checks",
        "zoo.extras",
        "zoo.recipes",
        "zoo.arith",
        "zoo.device",
        "zoo.distribute",
        "zoo.registry",
        "zoo.atomic",
        "zoo.fastops",
        "zoo.images",
    ],
    # the model folder (its files, card and safe loading, written through zoo.atomic); the three datasets' tfds
    # builders; a folder of images, checked
    ["zoo.artifacts", "zoo.datasets", "zoo.folders"],
    ["zoo.sources"],  # any dataset: a name or a folder, read through tfds
    ["zoo.data", "zoo.tags", "zoo.models.alexnet", "zoo.models.cifar_cnn", "zoo.models.lenet", "zoo.models.mlp"],
    ["zoo.optim", "zoo.runstate", "zoo.data_import"],
    ["zoo.pretrained"],  # a folder or a tag, resolved once
    ["zoo.models", "zoo.evaluation", "zoo.prediction", "zoo.export.fold", "zoo.finetune"],
    ["zoo.factory", "zoo.catalog"],  # one door to a model; what zoo holds, as rows
    ["zoo.export.tflite"],
    ["zoo.export.formats"],
    ["zoo.export"],  # the package face: its formats and export()
    ["zoo.kernels", "zoo.plots", "zoo.summary", "zoo.serve.protocol"],
    ["zoo.serve.batching"],
    ["zoo.serve.app"],
    ["zoo.serve"],  # the package: its docstring only
    ["zoo.training"],
    ["zoo.bench"],  # times the training path: its model built and cast to float32 as zoo.training does
    ["zoo"],  # the package face: the public API, imported lazily
    ["cli.options"],  # the command line: what its commands share, then one module per group of commands
    ["cli.catalog", "cli.train", "cli.use", "cli.serve", "cli.data", "cli.learn"],
    ["cli"],
    ["zoo.__main__"],  # `python -m zoo`: the one arrow from zoo to cli
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for package in ("zoo", "cli") for p in (ROOT / package).rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """The zoo modules ``name`` imports anywhere in its file (inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names
            ]
        else:
            continue
        found |= {t for t in targets if t.split(".")[0] in ("zoo", "cli") and t != name}
    return found


def test_every_module_has_a_floor():
    placed = [m for floor in FLOORS for m in floor]
    assert sorted(placed) == sorted(MODULES), set(MODULES) ^ set(placed)


def test_every_import_runs_down():
    floor_of = {m: i for i, floor in enumerate(FLOORS) for m in floor}
    upward = [
        f"{name} (floor {floor_of[name]}) imports {target} (floor {floor_of[target]})"
        for name in MODULES
        for target in imports_of(name)
        if floor_of[target] >= floor_of[name]
    ]
    assert not upward, "\n".join(upward)


def test_builders_import_only_the_registry():
    for name in (m for m in MODULES if m.startswith("zoo.models.")):
        assert imports_of(name) == {"zoo.registry"}, name


def test_the_walk_sees_function_level_imports():
    assert "zoo.training" in imports_of("cli.train")  # imported inside `zoo train` only
