"""The README and docs stay in sync with the code: every `zoo` command in their shell blocks parses against the
CLI as written (options, choices, value checks), every Python block compiles, and the README's API example runs."""

import ast
import re
import shlex
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page.read_text(), flags=re.S)


def zoo_commands(page: Path) -> list[list[str]]:
    """Each `zoo ...` invocation in the page's bash blocks, as argv (comments and environment prefixes dropped)."""
    commands = []
    for block in blocks(page, "bash"):
        for line in block.splitlines():
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split, segment = True, []
            for token in [*lexer, ";"]:
                if token in (";", "&&", "||", "|", "&"):
                    while segment and re.fullmatch(r"[A-Z_]+=\S*", segment[0]):  # CUDA_VISIBLE_DEVICES=0,1 zoo
                        segment = segment[1:]
                    if segment[:1] == ["zoo"]:
                        commands.append(segment[1:])
                    segment = []
                else:
                    segment.append(token)
    return commands


def parse(args: list[str]) -> click.Command:
    """Parse ``zoo ARGS`` down to its (sub)command, as click would before running it; nothing runs."""
    from cli import cli

    command, ctx = cli, None
    while True:
        ctx = command.make_context(command.name or "zoo", list(args), parent=ctx, resilient_parsing=False)
        if not isinstance(command, click.Group):
            return command
        name, command, args = command.resolve_command(ctx, ctx._protected_args + ctx.args)


CASES = [(page.relative_to(ROOT), args) for page in PAGES for args in zoo_commands(page)]


def test_the_readme_shows_commands():
    assert sum(1 for page, _ in CASES if page.name == "README.md") >= 6


@pytest.mark.parametrize(("page", "args"), CASES, ids=[f"{p}: zoo {' '.join(a)}" for p, a in CASES])
def test_every_documented_command_parses(page, args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # option callbacks check output folders here, and write nothing
    assert isinstance(parse(args), click.Command)
    assert list(tmp_path.iterdir()) == []


def test_a_command_out_of_sync_fails_to_parse():
    with pytest.raises(click.UsageError, match="--epochz"):
        parse(["train", "lenet5", "--epochz", "3"])
    with pytest.raises(click.BadParameter):
        parse(["train", "lenet5", "--strategy", "everywhere"])
    with pytest.raises(click.UsageError, match="importt"):
        parse(["data", "importt", "mnist", "--from", "x"])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_block_compiles(page):
    for block in blocks(page, "python"):
        ast.parse(block)


def test_the_readme_api_example_runs(tiny_data, tmp_path, monkeypatch):
    """The README's Python API block, run as written on tiny synthetic data."""
    [api] = [b for b in blocks(ROOT / "README.md", "python") if "zoo.list_models()" in b]
    monkeypatch.chdir(tmp_path)
    exec(compile(api, "README.md", "exec"), {})  # noqa: S102
    assert (tmp_path / "runs" / "lenet5-quick" / "model.keras").is_file()
    assert (tmp_path / "runs" / "lenet5-ls" / "card.json").is_file()
