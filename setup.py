"""Packaging beyond pyproject.toml: a built wheel carries every pretrained tag's weights.

``python -m build``, ``pip install .`` and ``pip install git+URL`` copy ``saved_models/<tag>/model.keras`` and
``card.json`` (not the exports) into the package as ``zoo/weights/<tag>/``, where :mod:`zoo.pretrained` finds them
with no network. An editable install (``pip install -e .``) reads the source tree's ``saved_models/`` instead.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WEIGHT_FILES = ("model.keras", "card.json")


class BuildWithWeights(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        root = Path(__file__).resolve().parent / "saved_models"
        for folder in sorted(p for p in root.iterdir() if all((p / f).is_file() for f in WEIGHT_FILES)):
            dest = Path(self.build_lib) / "zoo" / "weights" / folder.name
            dest.mkdir(parents=True, exist_ok=True)
            for name in WEIGHT_FILES:
                shutil.copyfile(folder / name, dest / name)


setup(cmdclass={"build_py": BuildWithWeights})
