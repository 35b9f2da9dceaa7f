"""Text from files (cards, file names, class names) made safe to print on a terminal."""

from __future__ import annotations

import re

# C0 controls but tab, DEL and C1 controls: ESC starts ANSI/OSC sequences (clear the screen, retitle the window,
# hyperlinks), CR and newlines forge lines; each is shown escaped instead, as Python's repr would show it.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character (ANSI/OSC escapes, newlines, bidi overrides) written as ``\\xNN``."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(text))
