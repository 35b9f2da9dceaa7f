"""``python -m zoo``: the ``zoo`` command."""

from cli import main

main()
