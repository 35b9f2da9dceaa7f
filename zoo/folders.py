"""A folder of the user's own images, ``ROOT/<split>/<class>/*.png``, checked before anything is read into a model.

tensorflow-datasets' ``ImageFolder`` reads the folder (:mod:`zoo.sources`); this module walks it first, reading
only, so that what would fail half-way through an epoch fails at once in one line: a missing ``train/``, a class
with no images, a single class, a link that leads out of the folder, an image too large to decode (by its header),
an unreadable or truncated one (named and counted; ``skip_bad`` trains without them). Files that are not images
are ignored and counted.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from zoo.errors import DataNotFoundError, UsageError, first_line, plural
from zoo.images import MAX_PIXELS, SUFFIXES
from zoo.text import printable

SPLITS = ("train", "test")  # what a folder may hold; other folders at its top are ignored (and said)
SHOWN = 3  # bad files named in a message (all of them are counted)


@dataclass
class FolderScan:
    """What a folder holds: per split, its good images as (path relative to the root, class); the classes (from
    ``train/``, sorted as ImageFolder sorts them); the bad images with why; what was ignored."""

    root: Path
    images: dict[str, list[tuple[str, str]]]
    classes: list[str]
    bad: list[tuple[str, str]] = field(default_factory=list)
    ignored: int = 0  # files that are not images
    ignored_folders: list[str] = field(default_factory=list)
    sizes: Counter = field(default_factory=Counter)  # (height, width) → images
    colour: bool = False  # any image in colour (else every one is grey)

    @property
    def bad_paths(self) -> set[str]:
        return {path for path, _ in self.bad}

    def counts(self) -> dict[str, int]:
        return {split: len(items) for split, items in self.images.items()}


def _inside(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a link loop
        return False


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as err:
        raise DataNotFoundError(f"{folder}: cannot be read ({first_line(err, 100)})") from None


def _check_image(path: Path) -> tuple[tuple[int, int] | None, bool, str | None]:
    """(height, width), whether in colour, and what is wrong (None for a good image): the header first, so that
    an image too large is refused before it is decoded; then a full decode, which finds truncated files."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            if img.format not in ("PNG", "JPEG", "BMP", "GIF", "MPO"):
                return None, False, f"a {img.format} file, not PNG, JPEG, BMP or GIF"
            if img.width * img.height > MAX_PIXELS:
                return (
                    None,
                    False,
                    f"{img.width}x{img.height} pixels, over {MAX_PIXELS // 1_000_000} megapixels: not decoded",
                )
            colour = img.mode not in ("1", "L", "LA", "I", "I;16", "F") and not (
                img.mode == "P" and img.palette is not None and img.palette.mode == "L"
            )
            img.load()
            return (img.height, img.width), colour, None
    except Image.DecompressionBombError:
        return None, False, f"its header claims over {MAX_PIXELS // 1_000_000} megapixels: not decoded"
    except Exception as err:  # noqa: BLE001  (PIL's decoders raise many types on a damaged file)
        return None, False, first_line(err, 80) or type(err).__name__


def scan(
    root: str | os.PathLike,
    *,
    suffixes: tuple[str, ...] = SUFFIXES,
    log: Callable[[str], object] | None = None,
) -> FolderScan:
    """Walk ``root`` (reading only) and check it; a folder that cannot be used raises one line saying why. Files
    whose names end otherwise than ``suffixes`` are not images (ignored and counted)."""
    given = Path(root).expanduser()
    if not given.is_dir():
        raise DataNotFoundError(f"{given}: no such folder of images")
    top = given.resolve()
    splits = {e.name: Path(e.path) for e in _entries(given) if e.is_dir()}
    if "train" not in splits:
        raise DataNotFoundError(
            f"{given} has no train/ folder; a folder dataset is ROOT/train/<class>/*.png (also .jpg, .jpeg, .bmp, "
            "and .gif), with ROOT/test/<class>/ optional"
        )
    scan = FolderScan(given, {}, [], ignored_folders=sorted(n for n in splits if n not in SPLITS))
    for split in (s for s in SPLITS if s in splits):
        if not _inside(top, splits[split]):
            raise UsageError(f"{given}/{split} links outside {given}; copy the images in instead")
        scan.images[split] = []
        classes = [e for e in _entries(splits[split]) if e.is_dir()]
        scan.ignored += sum(1 for e in _entries(splits[split]) if not e.is_dir())
        for entry in classes:
            label, folder = entry.name, Path(entry.path)
            if not _inside(top, folder):
                raise UsageError(f"{given}/{split}/{label} links outside {given}; copy the images in instead")
            count = 0
            for file in _entries(folder):
                rel = f"{split}/{label}/{file.name}"
                if not file.name.lower().endswith(suffixes) or file.is_dir():
                    scan.ignored += 1
                    continue
                if not _inside(top, Path(file.path)):
                    raise UsageError(f"{given}/{rel} links outside {given}; copy the image in instead")
                size, colour, problem = _check_image(Path(file.path))
                if problem:
                    scan.bad.append((rel, problem))
                    continue
                scan.sizes[size] += 1
                scan.colour |= colour
                scan.images[split].append((rel, label))
                count += 1
            if not count and not any(b.startswith(f"{split}/{label}/") for b, _ in scan.bad):
                raise DataNotFoundError(
                    f"{given}/{split}/{printable(label)} has no images ({', '.join(suffixes)}); "
                    "remove the folder or put images in it"
                )
        if split == "train":
            scan.classes = sorted(e.name for e in classes)
    if len(scan.classes) < 2:
        found = f"only {printable(scan.classes[0])!r}" if scan.classes else "none"
        raise UsageError(f"{given}/train needs at least 2 class folders to learn from; found {found}")
    extra = sorted({label for _, label in scan.images.get("test", [])} - set(scan.classes))
    if extra:
        raise UsageError(f"{given}/test/{printable(extra[0])} is a class with no train/{printable(extra[0])} folder")
    if log and (scan.ignored or scan.ignored_folders):
        folders = f", and the folders {', '.join(scan.ignored_folders)}/" if scan.ignored_folders else ""
        log(f"Ignored {plural(scan.ignored, 'non-image file')}{folders} in {given}")
    return scan


def check_bad(scan: FolderScan, skip_bad: bool, log: Callable[[str], object]) -> None:
    """Bad images stop the run with one line naming them, or, with ``skip_bad``, are left out (and said)."""
    if not scan.bad:
        return
    shown = "; ".join(f"{printable(path)} ({why})" for path, why in scan.bad[:SHOWN])
    more = f"; and {len(scan.bad) - SHOWN} more" if len(scan.bad) > SHOWN else ""
    count = plural(len(scan.bad), "unreadable image")
    if not skip_bad:
        raise UsageError(f"{count} in {scan.root}: {shown}{more}; fix or remove them, or pass `skip_bad=True`")
    log(f"Skipping {count} in {scan.root}: {shown}{more}")
