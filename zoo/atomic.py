"""Atomic changes to files and folders, and their recovery: what makes zoo's writes all-or-nothing.

- :func:`atomic_write_bytes` / :func:`atomic_write_text`: a file written under a temporary name, flushed, renamed;
- :func:`atomic_path` / :func:`atomic_dir` / :func:`atomic_file`: a file or folder built beside its destination and
  swapped in (a folder in two renames; :func:`recover` finishes a swap a kill interrupted);
- :func:`commit`: several files and a card replaced together through a journal of base names, rolled back by
  :func:`sweep_staging` where a kill came before the card's rename;
- :func:`writing`: one writer at a time for a folder, through a lock file beside it; the writer, and only a writer,
  :func:`repair` s what a killed one left. Nothing is followed through a link, and only what zoo made is deleted.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from zoo.errors import ModelFileError, UsageError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename (never over a folder)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name to write (an existing file is replaced)")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; a saved model is for others to read
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and contents, in sorted order), in 1 MiB reads."""
    path, digest = Path(path), hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            digest.update(str(f.relative_to(path)).encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def writing(model_dir: str | os.PathLike, log=None) -> Iterator[None]:
    """One writer at a time for a model folder: ``zoo train``'s swap and ``zoo export`` hold an exclusive lock on
    ``.<name>.lock`` beside it (not inside: the folder itself is swapped); a second writer waits for the first.
    The lock file is removed by its holder, so none is left behind; a waiter that then holds a removed file's lock
    sees that and takes the new one. Holding the lock, the writer first finishes or undoes what a killed writer
    left (:func:`repair`): only writers repair, a read never changes a folder."""
    model_dir = Path(model_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    path = model_dir.parent / f".{model_dir.name}.lock"
    waited = False
    while True:
        fd = open_lock_file(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if log and not waited:
                log(f"Waiting for another zoo command that writes {model_dir} to finish")
            waited = True
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_ino == os.lstat(path).st_ino:
                break  # the lock of the file that is there now
        except FileNotFoundError:
            pass
        os.close(fd)  # its holder removed that file: take the lock of the one there now
    try:
        repair(model_dir)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # while still held, so that no one can take this one after us
        os.close(fd)


def open_lock_file(path: Path) -> int:
    """A lock file's descriptor, made if missing; never through a link, and only a regular file (a FIFO, a device
    or a link in its place is refused in one line naming it)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as err:
        why = "it is a symbolic link" if err.errno == errno.ELOOP else err.strerror
        raise UsageError(f"cannot use the lock file {path} ({why}); remove it if no zoo command is running") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UsageError(f"the lock file {path} is not a regular file (a FIFO, device or folder); remove it")
    return fd


def repair(model_dir: str | os.PathLike) -> None:
    """Finish or undo what a killed writer left in and beside ``model_dir``: a half-done folder swap, an export's
    commit, staging folders of dead processes. Called by writers only, holding the folder's lock."""
    model_dir = Path(model_dir)
    recover(model_dir)
    if is_real_dir(model_dir):
        sweep_staging(model_dir)
        for entry in model_dir.iterdir():  # a folder export (savedmodel/) killed mid-swap
            if entry.name.startswith(".") and entry.name.endswith(".tmp") and is_real_dir(entry):
                swapped = entry.name[1:].rsplit(".", 2)[0]
                if swapped and _plain_name(swapped):
                    recover(model_dir / swapped)


def is_real_dir(path: Path) -> bool:
    """A folder that is not a link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name and "\0" not in name


STAGING_MARKER = ".zoo-staging"  # in every staging folder zoo makes: only folders with it (or empty) are swept


def staging_dir(folder: Path, kind: str) -> Path:
    """A fresh hidden folder in ``folder`` for work under way, named with this process's id so that a later run
    can tell a dead process's leftovers from live work (:func:`sweep_staging`), and marked as zoo's."""
    work = Path(tempfile.mkdtemp(dir=folder, prefix=f".{kind}.{os.getpid()}.", suffix=".tmp"))
    (work / STAGING_MARKER).touch()
    return work


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


COMMIT_JOURNAL = "commit.json"
MAX_JOURNAL_BYTES = 1 << 20  # a journal lists a few file names


def _made_by_zoo(work: Path) -> bool:
    """A staging folder zoo made: a real folder (not a link) holding zoo's marker, or empty (a kill came between
    its making and its marker)."""
    return is_real_dir(work) and (os.path.lexists(work / STAGING_MARKER) or not any(work.iterdir()))


def sweep_staging(folder: str | os.PathLike, kind: str = "export") -> None:
    """Finish or undo what a killed process left in ``folder`` (a writer's job, under the folder's lock): a commit
    it had begun (its journal) is rolled back, unless its card was already in place; the staging folders of dead
    processes are removed. Only folders zoo made are touched, and a journal moves files only inside ``folder``."""
    folder = Path(folder)
    for work in folder.glob(f".{kind}.*.tmp"):
        pid = work.name.split(".")[2]
        if pid.isdigit() and process_alive(int(pid)) and int(pid) != os.getpid():
            continue  # another live process's work
        if not _made_by_zoo(work):
            continue  # not zoo's: left as it is
        journal = work / COMMIT_JOURNAL
        if os.path.lexists(journal):
            check_regular_file(journal, MAX_JOURNAL_BYTES)
            try:
                entries = json.loads(journal.read_text())
            except (OSError, ValueError, RecursionError):
                entries = None  # a journal cut short by the kill: written before any file moved
            if entries is not None:
                _finish_commit(_checked_journal(entries, folder, work), folder, work)
        shutil.rmtree(work, ignore_errors=True)


def commit(model_dir: Path, work: Path, files: dict[str, Path], card_text: str, card_name: str) -> None:
    """Replace files or folders and the model folder's card together: either all change or none does.

    ``files`` maps each destination, a name in ``model_dir``, to its staged version inside ``work`` (a staging
    folder in ``model_dir``). The new card is written first (a full disk fails here, before anything moved); a
    journal of base names then lists the moves; each old version moves aside into ``work`` and the new one into
    place; the card's rename is the commit. A failure before it (a read-only card, a full disk) moves everything
    back; a kill before it is rolled back by the next writer's :func:`sweep_staging`.
    """
    new_card = work / "card.json.new"
    atomic_write_text(new_card, card_text)
    moves = [{"dest": dest, "new": new.name, "old": f"old.{i}"} for i, (dest, new) in enumerate(files.items())]
    journal = {"moves": moves}
    _checked_journal(journal, model_dir, work)
    atomic_write_text(work / COMMIT_JOURNAL, json.dumps(journal))
    try:
        for move in moves:
            if os.path.lexists(model_dir / move["dest"]):
                os.replace(model_dir / move["dest"], work / move["old"])
            os.replace(work / move["new"], model_dir / move["dest"])
        os.replace(new_card, model_dir / card_name)
    except BaseException:
        _finish_commit(journal, model_dir, work)  # the card did not move: undo the file moves
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(work / COMMIT_JOURNAL)


def _checked_journal(journal: object, folder: Path, work: Path) -> dict:
    """A commit journal whose every name is a plain file name, so that its moves stay inside ``folder`` and
    ``work``: anything else (an absolute path, ``..``, a separator, a journal of an older zoo) is refused in one
    line, and nothing moves."""
    moves = journal.get("moves") if isinstance(journal, dict) else None
    ok = isinstance(moves, list) and all(
        isinstance(m, dict) and all(isinstance(m.get(k), str) and _plain_name(m[k]) for k in ("dest", "new", "old"))
        for m in moves
    )
    if ok:
        resolved = folder.resolve()
        ok = all((folder / m["dest"]).parent.resolve() == resolved for m in moves)
    if not ok:
        raise ModelFileError(
            f"{work / COMMIT_JOURNAL} names files outside {folder}; zoo did not write it and will not follow it: "
            f"remove {work} if no zoo command is running"
        )
    return journal


def _finish_commit(journal: dict, folder: Path, work: Path) -> None:
    """A commit that did not reach its card's rename is undone: new files out, old ones back."""
    if not os.path.lexists(work / "card.json.new"):
        return  # the card was renamed into place: the commit is complete
    for move in reversed(journal["moves"]):
        dest, new, old = folder / move["dest"], work / move["new"], work / move["old"]
        if os.path.lexists(old):
            if os.path.lexists(dest) and not os.path.lexists(new):
                os.replace(dest, new)  # the new version moves back to staging, to be removed with it
            os.replace(old, dest)
        elif os.path.lexists(dest) and not os.path.lexists(new):
            os.replace(dest, new)  # there was no old version: the destination did not exist before


SWAP_OLD = ".old"  # inside a swap folder: the previous version, moved aside; its presence marks a swap under way


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``dest`` to write a file or folder at; on success it replaces
    ``dest`` (the old one is removed only after the swap), on failure it is removed and ``dest`` is untouched.

    A folder cannot be replaced by one rename, so the swap is two: the old folder moves into the temporary folder
    (``.old``), then the new one moves to ``dest``. A process killed between the two leaves the complete new
    version in the temporary folder: :func:`recover` (run by every zoo command that opens ``dest``) finishes it.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    recover(dest)
    work = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp"))
    try:
        tmp = work / dest.name
        yield tmp
        if dest.is_dir() and not dest.is_symlink():
            os.replace(dest, work / SWAP_OLD)  # a folder cannot be replaced by rename in one step
            try:
                os.replace(tmp, dest)
            except OSError:
                os.replace(work / SWAP_OLD, dest)  # put the previous version back
                raise
        else:
            os.replace(tmp, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _swaps(dest: Path) -> Iterator[Path]:
    """The swap folders beside ``dest`` that a killed process left mid-swap: real folders (not links) holding the
    previous version (``.old``) and the complete new one."""
    for work in dest.parent.glob(f".{glob.escape(dest.name)}.*.tmp"):
        if is_real_dir(work) and os.path.lexists(work / SWAP_OLD) and os.path.lexists(work / dest.name):
            yield work


def pending_swap(dest: str | os.PathLike) -> Path | None:
    """Where a read finds ``dest`` when a killed writer left it mid-swap (the new version, complete, still in its
    swap folder), without moving anything; None when ``dest`` is there or no swap was under way."""
    dest = Path(dest)
    if os.path.lexists(dest):
        return None
    return next((work / dest.name for work in _swaps(dest)), None)


def recover(dest: str | os.PathLike) -> None:
    """Finish a folder swap into ``dest`` that a killed process left half done (see :func:`atomic_path`); a
    writer's job, holding ``dest``'s lock."""
    dest = Path(dest)
    for work in _swaps(dest):
        if not os.path.lexists(dest):
            os.replace(work / dest.name, dest)  # the new version was complete: the swap had begun
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(dest: str | os.PathLike) -> Iterator[Path]:
    """:func:`atomic_path` for a file: an existing file at ``dest`` is replaced, a folder never is."""
    check_file_output(dest)
    with atomic_path(dest) as tmp:
        yield tmp


def check_file_output(dest: str | os.PathLike) -> Path:
    """``dest`` may be written as a file: not an existing folder, and its parent can be made and written."""
    dest = Path(dest)
    if dest.is_dir():
        raise UsageError(f"{dest} is a folder; give a file name to write (an existing file is replaced)")
    return check_writable(dest, overwrite=True)


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``dest`` on success; an existing ``dest`` needs ``overwrite``."""
    if Path(dest).exists() and not overwrite:
        raise UsageError(f"{dest} already exists; pass `overwrite=True` to replace it")
    with atomic_path(dest) as tmp:
        tmp.mkdir(mode=0o777 & ~_umask())
        yield tmp


def check_writable(dest: str | os.PathLike, overwrite: bool) -> Path:
    """Fail early, before any work, if ``dest`` exists (without ``overwrite``) or cannot be created."""
    dest = Path(dest)
    if (dest.exists() or pending_swap(dest)) and not overwrite:
        raise UsageError(f"{dest} already exists; pass `overwrite=True` to replace it")
    parent = dest.parent
    while not parent.exists() and not parent.is_symlink():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"cannot write to {dest}: {parent} is not a folder")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"cannot write to {dest}: {parent} is not writable")
    return dest


NAME_MAX = 255  # characters in one file name on Linux and macOS file systems
SIBLING_NAME_EXTRA = len(".") + len(".run.worker999") + 8  # the longest hidden sibling a model folder gets


def file_problem(path: Path, max_bytes: int | None = None) -> str | None:
    """Why ``path`` is not a regular file (a FIFO, a device, a folder, unreadable) of at most ``max_bytes``, or None
    where it is one: checked before anything reads it."""
    try:
        info = path.stat()
    except OSError as err:
        return f"cannot be read ({err.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a device, pipe or folder)"
    if max_bytes is not None and info.st_size > max_bytes:
        return f"is {info.st_size:,} bytes, more than the {max_bytes:,} zoo reads"
    return None


def check_regular_file(path: Path, max_bytes: int | None = None) -> None:
    """``path`` is a regular file of at most ``max_bytes`` (:func:`file_problem`), or a one-line error."""
    problem = file_problem(path, max_bytes)
    if problem:
        raise ModelFileError(f"{path} {problem}")
