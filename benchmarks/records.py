"""Helpers for the benchmark records (no dependencies: the PyTorch reference imports this too)."""

from __future__ import annotations

from pathlib import Path


def file_name_only(arg: str) -> str:
    """A command-line argument with any path in it cut to its file name (records name files, not folders)."""
    key, sep, value = arg.rpartition("=")
    return key + sep + Path(value).name if "/" in value else arg
